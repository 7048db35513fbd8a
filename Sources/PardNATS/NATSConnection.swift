import CNATS
import Foundation

/// One connection to a NATS server (or cluster) with JetStream, through libnats: it is tried again
/// forever every `reconnectWait` seconds, at start as after a loss, and libnats buffers what is published
/// while it is down (up to 8 MB). Streams and durable consumers are made idempotently, so any edge or
/// worker may start first and a restarted server (JetStream file storage) keeps both.
///
/// libnats is thread-safe; pard uses each connection from one thread (an edge's remote loop, a worker's
/// fetch loop) plus libnats' own threads, which call `onState`.
public final class NATSConnection: @unchecked Sendable {  // libnats objects are thread-safe; `events` is immutable
    /// What the connection tells as its state changes (on a libnats thread).
    public enum Event: Sendable {
        case disconnected
        case reconnected
        case closed
    }

    /// The server URL(s) as configured (`nats://host:4222`, comma-separated for a cluster).
    public let server: String
    private let connection: OpaquePointer
    private let jetStream: OpaquePointer
    private let events: EventBox

    /// Connects to `url` (a comma-separated list for a cluster) as `name`, retrying in the background when
    /// the server is not up yet. `requestTimeout`: seconds a JetStream request (a publish's
    /// acknowledgement, a stream lookup) may take.
    /// - Throws: `NATSError` naming the server when the options are refused (a malformed URL, ...).
    public init(url: String, name: String, reconnectWait: Double = 0.25, requestTimeout: Double = 5,
                onEvent: @escaping @Sendable (Event) -> Void = { _ in }) throws(NATSError) {
        server = url
        events = EventBox(onEvent)
        var options: OpaquePointer?
        var s = natsOptions_Create(&options)
        guard s == NATS_OK, let options else { throw NATSError("connect", server: url, s) }
        defer { natsOptions_Destroy(options) }
        // libnats may call back after this object has gone (the closed callback comes from its own thread
        // once `natsConnection_Close` returned): the box is kept for the process's life (a few bytes per
        // connection; a process makes one), in `EventBox.kept`.
        EventBox.keep(events)
        let closure = Unmanaged.passUnretained(events).toOpaque()
        for step in [
            { Self.withCStrings(url) { natsOptions_SetServers(options, $0, $1) } },
            { natsOptions_SetName(options, name) },
            { natsOptions_SetMaxReconnect(options, -1) },
            { natsOptions_SetReconnectWait(options, Int64(reconnectWait * 1000)) },
            { natsOptions_SetReconnectBufSize(options, 8 * 1024 * 1024) },
            { natsOptions_SetTimeout(options, 2000) },
            { natsOptions_SetPingInterval(options, 2000) },
            { natsOptions_SetMaxPingsOut(options, 3) },
            { natsOptions_SetRetryOnFailedConnect(options, true, nil, nil) },
            { natsOptions_SetDisconnectedCB(options, { _, c in c.map { Unmanaged<EventBox>.fromOpaque($0).takeUnretainedValue().send(.disconnected) } }, closure) },
            { natsOptions_SetReconnectedCB(options, { _, c in c.map { Unmanaged<EventBox>.fromOpaque($0).takeUnretainedValue().send(.reconnected) } }, closure) },
            { natsOptions_SetClosedCB(options, { _, c in c.map { Unmanaged<EventBox>.fromOpaque($0).takeUnretainedValue().send(.closed) } }, closure) },
        ] as [() -> natsStatus] {
            s = step()
            guard s == NATS_OK else { throw NATSError("connect", server: url, s) }
        }
        var nc: OpaquePointer?
        s = natsConnection_Connect(&nc, options)
        // NATS_NOT_YET_CONNECTED: the server is not up; libnats goes on trying in the background.
        guard s == NATS_OK || s == NATS_NOT_YET_CONNECTED, let nc else { throw NATSError("connect", server: url, s) }
        var jsOptions = jsOptions()
        jsOptions_Init(&jsOptions)
        jsOptions.Wait = Int64(requestTimeout * 1000)
        var js: OpaquePointer?
        s = natsConnection_JetStream(&js, nc, &jsOptions)
        guard s == NATS_OK, let js else {
            natsConnection_Destroy(nc)
            throw NATSError("JetStream context", server: url, s)
        }
        connection = nc
        jetStream = js
    }

    deinit {
        jsCtx_Destroy(jetStream)
        natsConnection_Close(connection)
        natsConnection_Destroy(connection)
    }

    /// Whether the connection is up now.
    public var isConnected: Bool { natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED }

    /// The largest message the server accepts, bytes (0 while not connected).
    public var maxPayload: Int { Int(natsConnection_GetMaxPayload(connection)) }

    /// Makes the work-queue stream `name` over `subjects` (file storage, duplicates detected for
    /// `duplicateWindow` seconds by message id) unless it exists. An existing stream is used as it is if
    /// it covers `subjects`.
    /// - Throws: `NATSError` naming the stream when it cannot be looked up or made, or covers other subjects.
    public func ensureWorkQueueStream(_ name: String, subjects: [String], duplicateWindow: Double = 120) throws(NATSError) {
        var jerr = jsErrCode(0)
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var s = js_GetStreamInfo(&info, jetStream, name, nil, &jerr)
        if s == NATS_OK, let info {
            defer { jsStreamInfo_Destroy(info) }
            let config = info.pointee.Config.pointee
            let have = Set((0..<Int(config.SubjectsLen)).compactMap { config.Subjects[$0].map { String(cString: $0) } })
            let missing = subjects.filter { !have.contains($0) }
            guard missing.isEmpty else {
                throw NATSError(operation: "check stream", server: server, subject: missing.joined(separator: ","), stream: name,
                                status: "the stream exists without these subjects (it has \(have.sorted().joined(separator: ", ")))")
            }
            return
        }
        guard s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr else { throw NATSError("look up", server: server, stream: name, s, jsCode: jerr) }
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        let subjectPointers = subjects.map { strdup($0) }
        defer { subjectPointers.forEach { free($0) } }
        var constSubjects: [UnsafePointer<CChar>?] = subjectPointers.map { UnsafePointer($0) }
        s = name.withCString { cName in
            constSubjects.withUnsafeMutableBufferPointer { list in
                config.Name = cName
                config.Subjects = list.baseAddress
                config.SubjectsLen = Int32(list.count)
                config.Retention = js_WorkQueuePolicy
                config.Storage = js_FileStorage
                config.Duplicates = Int64(duplicateWindow * 1e9)
                var made: UnsafeMutablePointer<jsStreamInfo>?
                let status = js_AddStream(&made, jetStream, &config, nil, &jerr)
                if let made { jsStreamInfo_Destroy(made) }
                return status
            }
        }
        // Another process made it at the same moment: fine.
        guard s == NATS_OK || jerr == JSStreamNameExistErr else { throw NATSError("create", server: server, stream: name, s, jsCode: jerr) }
    }

    /// Publishes `data` to `subject` in JetStream and waits for the server to store it. `messageID`: the
    /// stream drops a second message with the same id (a retried publish) within its duplicate window.
    /// - Throws: `NATSError` naming the subject (not connected, timeout, no stream for the subject, too large).
    public func publish(_ data: [UInt8], to subject: String, messageID: String? = nil, timeout: Double? = nil) throws(NATSError) {
        let limit = maxPayload
        if limit > 0, data.count > limit {
            throw NATSError(operation: "publish", server: server, subject: subject,
                            status: "\(data.count) bytes is over the server's max_payload of \(limit) bytes")
        }
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        if let timeout { options.MaxWait = Int64(timeout * 1000) }
        var jerr = jsErrCode(0)
        var ack: UnsafeMutablePointer<jsPubAck>?
        let s = (messageID ?? "").withCString { id in
            if messageID != nil { options.MsgId = id }
            return data.withUnsafeBytes { js_Publish(&ack, jetStream, subject, $0.baseAddress, Int32($0.count), &options, &jerr) }
        }
        if let ack { jsPubAck_Destroy(ack) }
        guard s == NATS_OK else { throw NATSError("publish", server: server, subject: subject, s, jsCode: jerr) }
    }

    /// A pull subscription on `subject` through the durable consumer `durable` of `stream` (made unless it
    /// exists; explicit acks, redelivered after `ackWait` seconds, at most `maxDeliver` times, at most
    /// `maxAckPending` unacknowledged at once across all its subscribers).
    /// - Throws: `NATSError` naming the subject and stream.
    public func pullSubscribe(subject: String, durable: String, stream: String, ackWait: Double, maxDeliver: Int,
                              maxAckPending: Int) throws(NATSError) -> NATSPullSubscription {
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        var jerr = jsErrCode(0)
        var sub: OpaquePointer?
        let s = stream.withCString { cStream in
            options.Stream = cStream
            options.Config.AckPolicy = js_AckExplicit
            options.Config.AckWait = Int64(ackWait * 1e9)
            options.Config.MaxDeliver = Int64(maxDeliver)
            options.Config.MaxAckPending = Int64(maxAckPending)
            return js_PullSubscribe(&sub, jetStream, subject, durable, nil, &options, &jerr)
        }
        guard s == NATS_OK, let sub else {
            throw NATSError("subscribe (durable \(durable))", server: server, subject: subject, stream: stream, s, jsCode: jerr)
        }
        return NATSPullSubscription(sub, connection: self, subject: subject)
    }

    /// `body` with `url` split at commas as C strings (libnats copies them).
    private static func withCStrings<R>(_ url: String, _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, Int32) -> R) -> R {
        let parts = url.split(separator: ",").map { strdup($0.trimmingCharacters(in: .whitespaces)) }
        defer { parts.forEach { free($0) } }
        var list: [UnsafePointer<CChar>?] = parts.map { $0.map { UnsafePointer($0) } }
        return list.withUnsafeMutableBufferPointer { body($0.baseAddress!, Int32($0.count)) }
    }
}

/// A durable pull consumer's subscription: batches of messages on request.
public final class NATSPullSubscription: @unchecked Sendable {  // libnats subscriptions are thread-safe
    private let subscription: OpaquePointer
    /// Kept: the subscription is destroyed before its connection.
    private let connection: NATSConnection
    public let subject: String

    init(_ subscription: OpaquePointer, connection: NATSConnection, subject: String) {
        self.subscription = subscription
        self.connection = connection
        self.subject = subject
    }

    public var server: String { connection.server }

    deinit { natsSubscription_Destroy(subscription) }

    /// Up to `max` messages: waits at most `timeout` seconds for the first, then for each next one at most
    /// `linger` seconds (nil: until the `timeout` deadline). Fewer, or none, when that runs out.
    ///
    /// One message per pull request: libnats 3.4's `natsSubscription_Fetch` writes past its message array
    /// when asked for a batch of B while the subscription already holds c >= B/2 messages (deliveries of an
    /// earlier request that came after the caller stopped waiting, as after a reconnection), which crashed
    /// workers with "free(): invalid next size" (fixed upstream in nats.c #749, v3.8.2; Debian 12 has 3.4.1).
    /// A batch of 1 cannot overrun; it costs a round trip per message that is not already here.
    /// - Throws: `NATSError` naming the subject when the connection is down or the consumer is gone and
    ///   no message was taken.
    public func fetch(max: Int, timeout: Double, linger: Double? = nil) throws(NATSError) -> [NATSMessage] {
        let deadline = ContinuousClock.now + .milliseconds(Swift.max(1, Int64(timeout * 1000)))
        var messages: [NATSMessage] = []
        while messages.count < Swift.max(1, max) {
            let untilDeadline = ContinuousClock.now.duration(to: deadline)
            var wait = Double(untilDeadline.components.seconds) + Double(untilDeadline.components.attoseconds) * 1e-18
            if !messages.isEmpty, let linger { wait = Swift.min(wait, linger) }
            guard wait > 0 || messages.isEmpty else { break }
            do {
                guard let message = try fetchOne(timeout: Swift.max(0.001, wait)) else { break }
                messages.append(message)
            } catch {
                if messages.isEmpty { throw error }
                break  // what was taken is handed out (and acknowledged by the caller)
            }
        }
        return messages
    }

    /// One message within `timeout` seconds (nil when none came).
    private func fetchOne(timeout: Double) throws(NATSError) -> NATSMessage? {
        var list = natsMsgList()
        var jerr = jsErrCode(0)
        let s = natsSubscription_Fetch(&list, subscription, 1, Swift.max(1, Int64(timeout * 1000)), &jerr)
        var message: NATSMessage?
        if s == NATS_OK, let msgs = list.Msgs, list.Count > 0, let m = msgs[0] {
            msgs[0] = nil  // ours now: natsMsgList_Destroy leaves it alone
            message = NATSMessage(m)
        }
        natsMsgList_Destroy(&list)
        if s == NATS_OK || s == NATS_TIMEOUT { return message }
        throw NATSError("fetch", server: server, subject: subject, s, jsCode: jerr)
    }
}

/// The connection's `onEvent`, kept alive as libnats' callback closure.
final class EventBox: @unchecked Sendable {  // immutable
    let body: @Sendable (NATSConnection.Event) -> Void
    init(_ body: @escaping @Sendable (NATSConnection.Event) -> Void) { self.body = body }
    func send(_ event: NATSConnection.Event) { body(event) }

    /// Every box made, for the process's life (libnats may call back after its connection is gone).
    nonisolated(unsafe) private static var kept: [EventBox] = []
    private static let lock = NSLock()
    static func keep(_ box: EventBox) { lock.withLock { kept.append(box) } }
}
