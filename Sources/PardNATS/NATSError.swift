import CNATS

/// A NATS or JetStream operation that failed: what was attempted, on which server, subject and stream,
/// and the client library's status (with JetStream's error code when the server gave one). One line.
public struct NATSError: Error, Sendable, CustomStringConvertible {
    /// What was attempted: `connect`, `publish`, `fetch`, `create stream`, `subscribe`, `ack`, ...
    public let operation: String
    /// The server URL(s) as configured (never with a password: pard takes none in the URL).
    public let server: String
    public let subject: String?
    public let stream: String?
    /// The client library's status text (`timeout`, `No server available for connection`, ...).
    public let status: String
    /// The libnats status code.
    public let code: Int
    /// JetStream's error code (10059: stream not found, ...), 0 when none.
    public let jetStreamCode: Int

    public init(operation: String, server: String, subject: String? = nil, stream: String? = nil, status: String,
                code: Int = -1, jetStreamCode: Int = 0) {
        (self.operation, self.server, self.subject, self.stream) = (operation, server, subject, stream)
        (self.status, self.code, self.jetStreamCode) = (status, code, jetStreamCode)
    }

    init(_ operation: String, server: String, subject: String? = nil, stream: String? = nil, _ s: natsStatus,
         jsCode: jsErrCode = jsErrCode(0)) {
        let text = natsStatus_GetText(s).map { String(cString: $0) } ?? "status \(s.rawValue)"
        self.init(operation: operation, server: server, subject: subject, stream: stream, status: text, code: Int(s.rawValue),
                  jetStreamCode: Int(jsCode.rawValue))
    }

    /// A timeout (nothing came within the time given): not a fault for a fetch.
    public var isTimeout: Bool { code == Int(NATS_TIMEOUT.rawValue) }

    public var description: String {
        var text = "NATS \(server): \(operation)"
        if let stream { text += " stream \(stream)" }
        if let subject { text += " subject \(subject)" }
        text += ": \(status)"
        if jetStreamCode != 0 { text += " (JetStream error \(jetStreamCode))" }
        return text
    }
}
