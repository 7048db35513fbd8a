import Logging

/// A `LogHandler` that passes every message and metadata value through
/// `URLRedaction.redactCredentials(in:)` before the handler it wraps writes it: whatever part of pard (or
/// FFmpeg, or a library) logs a URL with `user:password@`, the password is not written.
public struct RedactingLogHandler: LogHandler {
    /// The handler that writes.
    public var wrapped: any LogHandler

    /// Wraps `handler`.
    public init(_ handler: any LogHandler) { wrapped = handler }

    /// Redacts the message and the metadata (the event's and the handler's), then logs through `wrapped`.
    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: URLRedaction.redactCredentials(in: event.message.description))
        event.metadata = event.metadata.map(Self.redact)
        var handler = wrapped
        handler.metadata = Self.redact(handler.metadata)
        handler.log(event: event)
    }

    /// `metadata` with every value's text redacted.
    static func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.mapValues(redact)
    }

    static func redact(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let text): return .string(URLRedaction.redactCredentials(in: text))
        case .stringConvertible(let item): return .string(URLRedaction.redactCredentials(in: item.description))
        case .array(let items): return .array(items.map(redact))
        case .dictionary(let items): return .dictionary(redact(items))
        @unknown default: return .string(URLRedaction.redactCredentials(in: "\(value)"))
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }
}
