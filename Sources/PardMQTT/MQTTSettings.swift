import Foundation
import PardPipeline

/// Everything the MQTT sink needs: the broker, the session, the topics and the spool. Built from
/// `output.mqtt` of `pard run`'s configuration or from `pard process --mqtt URL`.
public struct MQTTSettings: Sendable, Hashable {
    /// The broker's host name or IP address (IPv6 without brackets).
    public var host: String
    /// The broker's TCP port. Default 1883 (`mqtt://`), 8883 (`mqtts://`).
    public var port: Int
    /// TLS (`mqtts://`).
    public var tls: Bool
    /// PEM file of the certificate authorities that signed the broker's certificate (`mqtts://`); nil:
    /// the system's store.
    public var caFile: String?
    /// The fixed client id of the persistent session (`clean_session` false).
    public var clientID: String
    public var username: String?
    /// A file holding the password (its first line); the password itself is never printed.
    public var passwordFile: String?
    /// The first topic level(s): `<prefix>/<stream>/attributes`, ... Default `pard`.
    public var topicPrefix = "pard"
    /// 0 or 1. Default 1 (at least once: the spool keeps an event until the broker acknowledged it).
    public var qos = 1
    /// Seconds between keepalive pings. Default 30.
    public var keepalive = 30
    /// Where unacknowledged events wait (survives a restart of pard).
    public var spoolDirectory: String
    /// Bytes of unacknowledged events the spool holds at most.
    public var spoolMaxBytes: Int
    /// First wait before a new connection attempt after a failure, doubled up to `reconnectMax`, seconds.
    public var reconnectInitial = 1.0
    public var reconnectMax = 30.0
    /// Seconds a connection attempt may take (TCP, TLS and the broker's CONNACK) before it counts as failed.
    public var connectTimeout = 10.0
    /// QoS 1 messages sent and not yet acknowledged, at most.
    public var window = 100

    public init(host: String, port: Int, tls: Bool, clientID: String, spoolDirectory: String, spoolMaxBytes: Int) {
        self.host = host
        self.port = port
        self.tls = tls
        self.clientID = clientID
        self.spoolDirectory = spoolDirectory
        self.spoolMaxBytes = spoolMaxBytes
    }

    /// The broker as shown in logs and errors: `mqtt://host:port` (no user, no password).
    public var broker: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(tls ? "mqtts" : "mqtt")://\(shownHost):\(port)"
    }

    /// Topic of events of `type` from `stream`.
    public func topic(_ type: EventType, stream: String) -> String {
        "\(topicPrefix)/\(stream)/\(type == .attributes ? "attributes" : "tracks")"
    }

    /// `<prefix>/<stream>/state` (retained up or down).
    public func stateTopic(stream: String) -> String { "\(topicPrefix)/\(stream)/state" }

    /// `<prefix>/available` (retained `online`; `offline` as the last will and at shutdown).
    public var availabilityTopic: String { "\(topicPrefix)/available" }

    /// The broker of `url`: `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (IPv6 as `[::1]`), nothing after
    /// the port but an optional `/`. A failure's text never quotes the URL (it may hold a password).
    public static func parseURL(_ url: String) -> Result<(tls: Bool, host: String, port: Int), MQTTError> {
        let tls: Bool
        let rest: Substring
        if url.hasPrefix("mqtt://") { tls = false; rest = url.dropFirst(7) }
        else if url.hasPrefix("mqtts://") { tls = true; rest = url.dropFirst(8) }
        else { return .failure(.badURL("expected a URL such as mqtt://broker.lan:1883 or mqtts://broker.lan:8883")) }
        var authority = rest
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        if authority.contains("@") {
            return .failure(.badURL("no user or password in the URL: use username and password_file"))
        }
        if authority.contains("/") || authority.contains("?") || authority.contains("#") {
            return .failure(.badURL("nothing may follow the host and port (topics are set by topic_prefix)"))
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(.badURL("an IPv6 address lacks its closing ]")) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.badURL("expected :PORT after the IPv6 address")) }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return .failure(.badURL("no host")) }
        var port = tls ? 8883 : 1883
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                return .failure(.badURL("the port must be a number between 1 and 65535"))
            }
            port = value
        }
        return .success((tls, String(host), port))
    }

    /// Why `prefix` cannot start topics, or nil: empty, a wildcard (`+`, `#`), an empty level, NUL.
    public static func topicPrefixProblem(_ prefix: String) -> String? {
        if prefix.isEmpty { return "must not be empty" }
        if prefix.contains("+") || prefix.contains("#") { return "must not contain the MQTT wildcards + or #" }
        if prefix.contains("\0") { return "must not contain NUL" }
        if prefix.hasPrefix("/") || prefix.hasSuffix("/") || prefix.contains("//") { return "must not have an empty level (a leading, trailing or double /)" }
        if prefix.utf8.count > 1000 { return "is too long" }
        return nil
    }
}
