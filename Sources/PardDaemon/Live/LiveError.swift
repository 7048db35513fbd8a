import Foundation

/// What can go wrong in a live stream or a detection receiver. `description` is one line naming the
/// stream, the URL (credentials redacted), the socket path or the line, e.g.
/// `cam1: detections unix:/run/pard/cam1.sock: cannot bind: Address already in use`.
public enum LiveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stream's source could not be opened or stopped delivering (`url` is redacted; `reason` is
    /// FFmpeg's message, scrubbed of credentials, or "no data for 5 s").
    case streamFailed(stream: String, url: String, reason: String)
    /// A detection source could not be set up: `step` is the system call or check that failed
    /// (`socket`, `bind`, `listen`, `chmod`, `open`), `source` its spec (`unix:/run/pard/cam1.sock`).
    case sourceSetupFailed(stream: String, source: String, step: String, reason: String)
    /// A Unix socket path is in use by another live listener (a second pard?), or is not a socket
    /// and so is not removed.
    case socketPathInUse(stream: String, path: String, reason: String)
    /// A TCP detection source asked for a non-loopback address (detections are not authenticated).
    case notLoopback(stream: String, address: String)
    /// One line a producer sent is not a detection line (1-based `line` within its connection).
    case malformedLine(stream: String, source: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .streamFailed(stream, url, reason):
            return "\(stream): \(url): \(reason)"
        case let .sourceSetupFailed(stream, source, step, reason):
            return "\(stream): detections \(source): \(step) failed: \(reason)"
        case let .socketPathInUse(stream, path, reason):
            return "\(stream): detections unix:\(path): \(reason)"
        case let .notLoopback(stream, address):
            return "\(stream): detections tcp:\(address): only loopback addresses are allowed"
        case let .malformedLine(stream, source, line, reason):
            return "\(stream): detections \(source): line \(line): \(reason)"
        }
    }
}

/// `strerror(errno)` for messages.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
