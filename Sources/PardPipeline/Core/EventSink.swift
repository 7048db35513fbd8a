/// The kinds of event line (the `type` field).
public enum EventType: String, Sendable, CaseIterable {
    case attributes
    case track
}

/// One event on its way to the sinks: the schema-1 JSON object as one line (no newline), and what a
/// sink needs to route it without parsing it (a broker's topic, say).
public struct Event: Sendable {
    public let type: EventType
    /// The stream's name (the event's `stream` field).
    public let stream: String
    public let line: String

    public init(type: EventType, stream: String, line: String) {
        (self.type, self.stream, self.line) = (type, stream, line)
    }
}

/// Where events go: the JSON-lines file (`EventWriter`), and any sink added beside it. Called on the
/// result stage's thread only.
public protocol EventSink: AnyObject {
    /// Takes one event (buffered until `flush`).
    func emit(_ event: Event)
    /// Makes what was emitted durable; called after each batch. Throws only when the caller must stop
    /// (`pard process`); a service's sink keeps what it cannot deliver and says so otherwise.
    func flush() throws
}

/// Several sinks fed the same events, in the order given.
public final class EventSinks: EventSink {
    public let sinks: [EventSink]

    public init(_ sinks: [EventSink]) { self.sinks = sinks }

    public func emit(_ event: Event) { for sink in sinks { sink.emit(event) } }

    /// Flushes every sink, then throws the first failure.
    public func flush() throws {
        var failure: Error?
        for sink in sinks {
            do { try sink.flush() } catch { if failure == nil { failure = error } }
        }
        if let failure { throw failure }
    }
}

extension EventWriter: EventSink {
    public func emit(_ event: Event) { write(event.line) }
}
