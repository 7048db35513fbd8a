import CNATS

/// One message taken from a JetStream pull consumer: its bytes (copied), how often the server has
/// delivered it, and the acknowledgements. Owns the libnats message until it goes away. Used by one
/// thread at a time.
public final class NATSMessage: @unchecked Sendable {
    private let message: OpaquePointer
    /// The payload.
    public let data: [UInt8]
    /// The subject it was published to.
    public let subject: String
    /// 1 on the first delivery, 2... after the ack wait ran out (or a nak) and the server delivered it again.
    public let delivered: Int

    init(_ message: OpaquePointer) {
        self.message = message
        let count = Int(natsMsg_GetDataLength(message))
        if count > 0, let bytes = natsMsg_GetData(message) {
            data = bytes.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
        } else {
            data = []
        }
        subject = natsMsg_GetSubject(message).map { String(cString: $0) } ?? ""
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&meta, message) == NATS_OK, let meta {
            delivered = Int(meta.pointee.NumDelivered)
            jsMsgMetaData_Destroy(meta)
        } else {
            delivered = 1
        }
    }

    deinit { natsMsg_Destroy(message) }

    /// Done: the server removes it from the work queue. False when the ack could not be sent (then the
    /// server delivers it again after the ack wait).
    @discardableResult public func ack() -> Bool { natsMsg_Ack(message, nil) == NATS_OK }

    /// Never deliver it again (work that can never be done here or elsewhere).
    @discardableResult public func term() -> Bool { natsMsg_Term(message, nil) == NATS_OK }

    /// Deliver it again, to any consumer, now.
    @discardableResult public func nak() -> Bool { natsMsg_Nak(message, nil) == NATS_OK }

    /// Still working on it: restarts the ack wait.
    @discardableResult public func inProgress() -> Bool { natsMsg_InProgress(message, nil) == NATS_OK }
}
