/// What stops the MQTT sink from starting, or what a finished `pard process` could not deliver. Every case
/// names its input: the broker as shown in logs (scheme, host and port: never a user or password) or the
/// file. Failures while running (broker gone, refused, slow) are not errors: they are logged, retried
/// and the events spooled.
public enum MQTTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The broker URL cannot be used (`url` is already redacted by the caller, or left out).
    case badURL(String)
    /// The spool folder cannot be created, listed or written.
    case spool(directory: String, reason: String)
    /// A spool file cannot be read or written.
    case spoolFile(file: String, reason: String)
    /// `password_file` cannot be read.
    case passwordFile(file: String, reason: String)
    /// `ca_file` cannot be read.
    case caFile(file: String, reason: String)
    /// libmosquitto refused a setting (client id, credentials, TLS) for this broker.
    case client(broker: String, reason: String)
    /// Events still not acknowledged by the broker when the sink had to close (`pard process`).
    case notDelivered(broker: String, count: Int)

    public var description: String {
        switch self {
        case .badURL(let problem): return "MQTT broker URL: \(problem)"
        case .spool(let directory, let reason): return "MQTT spool \(directory): \(reason)"
        case .spoolFile(let file, let reason): return "MQTT spool file \(file): \(reason)"
        case .passwordFile(let file, let reason): return "MQTT password_file \(file): \(reason)"
        case .caFile(let file, let reason): return "MQTT ca_file \(file): \(reason)"
        case .client(let broker, let reason): return "MQTT client for \(broker): \(reason)"
        case .notDelivered(let broker, let count):
            return "\(count) event\(count == 1 ? "" : "s") not acknowledged by \(broker) in time (the event file has every event)"
        }
    }
}
