import CMosquitto
import Foundation

/// One connection to the broker through libmosquitto (MQTT 3.1.1), driven by the sink's thread alone:
/// `mosquitto_connect_async` (the TCP connect does not block) and `mosquitto_loop`, never libmosquitto's
/// own thread, so its callbacks run inside `loop` on the same thread and only record what happened. A new
/// connection is made for each attempt: the spool, not libmosquitto's memory, holds what is unacknowledged.
final class MQTTConnection {
    private let mosq: OpaquePointer
    /// The broker's CONNACK code, once it answered (0: accepted).
    fileprivate(set) var connack: Int32?
    /// libmosquitto's reason, once the connection ended.
    fileprivate(set) var disconnected: Int32?
    /// Message ids acknowledged (QoS 1) or sent (QoS 0) since the last `takeAcknowledged()`.
    fileprivate var acknowledged: [Int32] = []

    private static let library: Int32 = mosquitto_lib_init()

    /// A client for `settings`' broker with its session (fixed client id, clean_session false), last will
    /// (`<prefix>/available` = `offline`, retained), credentials and TLS. Not connected yet (`start`).
    init(settings: MQTTSettings, password: String?) throws(MQTTError) {
        _ = MQTTConnection.library
        guard let mosq = mosquitto_new(settings.clientID, false, nil) else {
            throw .client(broker: settings.broker, reason: "cannot create the client: \(String(cString: strerror(errno)))")
        }
        self.mosq = mosq
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        func check(_ rc: Int32, _ what: String) throws(MQTTError) {
            guard rc == MQTTConnection.success else { throw .client(broker: settings.broker, reason: "\(what): \(MQTTConnection.describe(rc))") }
        }
        try check(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311), "protocol version")
        try check(mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1), "TCP_NODELAY")
        try check(mosquitto_max_inflight_messages_set(mosq, UInt32(settings.window)), "in-flight window")
        if let username = settings.username {
            try check(mosquitto_username_pw_set(mosq, username, password), "username")
        }
        let offline = Array("offline".utf8)
        try check(mosquitto_will_set(mosq, settings.availabilityTopic, Int32(offline.count), offline, 1, true), "last will")
        if settings.tls {
            try check(mosquitto_tls_set(mosq, settings.caFile, settings.caFile == nil ? "/etc/ssl/certs" : nil, nil, nil, nil), "TLS")
        }
        mosquitto_connect_callback_set(mosq) { _, context, code in
            guard let context else { return }
            Unmanaged<MQTTConnection>.fromOpaque(context).takeUnretainedValue().connack = code
        }
        mosquitto_disconnect_callback_set(mosq) { _, context, code in
            guard let context else { return }
            Unmanaged<MQTTConnection>.fromOpaque(context).takeUnretainedValue().disconnected = code
        }
        mosquitto_publish_callback_set(mosq) { _, context, mid in
            guard let context else { return }
            Unmanaged<MQTTConnection>.fromOpaque(context).takeUnretainedValue().acknowledged.append(mid)
        }
    }

    deinit { mosquitto_destroy(mosq) }

    static let success = Int32(MOSQ_ERR_SUCCESS.rawValue)

    /// Starts connecting (non-blocking); nil, or why it could not even start.
    func start(_ settings: MQTTSettings) -> String? {
        let rc = mosquitto_connect_async(mosq, settings.host, Int32(settings.port), Int32(settings.keepalive))
        return rc == Self.success ? nil : Self.describe(rc)
    }

    /// Reads and writes what the socket allows, waiting at most `milliseconds`; nil, or why the
    /// connection is over.
    func loop(milliseconds: Int32) -> String? {
        let rc = mosquitto_loop(mosq, milliseconds, 1)
        if rc != Self.success { return Self.describe(rc) }
        if let disconnected { return disconnected == 0 ? "disconnected" : Self.describe(disconnected) }
        return nil
    }

    /// Queues one message; its message id, or why it could not be queued.
    func publish(topic: String, payload: String, qos: Int, retain: Bool) -> Result<Int32, MQTTPublishFailure> {
        var mid: Int32 = 0
        var text = payload
        let rc = text.withUTF8 { bytes in
            mosquitto_publish(mosq, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain)
        }
        return rc == Self.success ? .success(mid) : .failure(MQTTPublishFailure(reason: Self.describe(rc)))
    }

    /// The message ids acknowledged since the last call.
    func takeAcknowledged() -> [Int32] {
        defer { acknowledged.removeAll(keepingCapacity: true) }
        return acknowledged
    }

    /// Sends DISCONNECT (the broker then does not publish the last will).
    func disconnect() { _ = mosquitto_disconnect(mosq) }

    /// libmosquitto's text for an error code (the system's for `MOSQ_ERR_ERRNO`).
    static func describe(_ rc: Int32) -> String {
        let code = errno
        if rc == Int32(MOSQ_ERR_CONN_REFUSED.rawValue) || (rc == Int32(MOSQ_ERR_ERRNO.rawValue) && code == ECONNREFUSED) {
            return "connection refused"
        }
        return rc == Int32(MOSQ_ERR_ERRNO.rawValue) ? String(cString: strerror(code)) : String(cString: mosquitto_strerror(rc))
    }

    /// The broker's text for a CONNACK refusal ("not authorised", ...).
    static func describeConnack(_ code: Int32) -> String {
        let text = String(cString: mosquitto_connack_string(code))
        return text.hasPrefix("Connection Refused: ") ? String(text.dropFirst(20)) : text
    }
}

/// Why libmosquitto would not queue a message.
struct MQTTPublishFailure: Error {
    let reason: String
}
