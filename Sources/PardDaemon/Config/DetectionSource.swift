/// Where a stream's detections come from: JSON lines (the format of `pard process`) pushed by the
/// detector. Several producers may connect to a socket at once.
public enum DetectionSource: Hashable, Sendable, CustomStringConvertible {
    /// A Unix stream socket pard creates and listens on (`unix:/run/pard/cam1.sock`).
    case unix(path: String)
    /// A TCP port pard listens on, loopback only (`tcp:127.0.0.1:9101`): detections are not
    /// authenticated, so other machines must not be able to send them.
    case tcp(ListenAddress)
    /// A regular file or FIFO that pard follows like `tail -f` (any other text).
    case file(path: String)

    /// The longest path a Unix socket address holds (`sun_path` is 108 bytes with its terminating NUL).
    public static let maximumSocketPathBytes = 107

    /// The phrase every detection-source error ends with.
    static let expected = "expected \"unix:PATH\", \"tcp:127.0.0.1:PORT\" or a file path"

    /// `unix:/run/pard/cam1.sock`, `tcp:127.0.0.1:9101`, or the file's path.
    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let address): return "tcp:\(address)"
        case .file(let path): return path
        }
    }

    /// Reads a specification, resolving relative paths against `directory`; the error message on failure.
    static func parse(_ text: String, relativeTo directory: String?) -> Result<DetectionSource, ValueProblem> {
        // Credentials have no place here, and a path with them would be printed.
        if URLRedaction.redact(text) != text {
            return .failure(ValueProblem("\(expected), got \"\(URLRedaction.redact(text))\", which has what looks like a user and password before an \"@\""))
        }
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { return .failure(ValueProblem("\(expected): the socket path is empty")) }
            let resolved = ConfigPaths.resolve(path, relativeTo: directory)
            guard resolved.utf8.count <= maximumSocketPathBytes else {
                return .failure(ValueProblem("the socket path \(resolved) is \(resolved.utf8.count) bytes; Unix socket paths hold at most \(maximumSocketPathBytes)"))
            }
            return .success(.unix(path: resolved))
        }
        if text.hasPrefix("tcp:") {
            switch ListenAddress.parse(String(text.dropFirst("tcp:".count))) {
            case .failure(let problem):
                return .failure(ValueProblem("\(expected): \(problem.explanation)"))
            case .success(let address):
                guard address.isLoopback else {
                    return .failure(ValueProblem("\(text): only loopback addresses (127.0.0.1, [::1], localhost) are accepted: detections are not authenticated"))
                }
                return .success(.tcp(address))
            }
        }
        // Something like `udp:...` or `http://...`: a scheme we do not have, not a file name.
        if let colon = text.firstIndex(of: ":"), !text.hasPrefix("/"), !text.hasPrefix("."),
           text[..<colon].allSatisfy({ $0.isLetter }), !text[..<colon].isEmpty {
            let shown = URLRedaction.redact(text)
            let hint = text.contains("://") ? "" : " (write ./\(shown) for a file of that name)"
            return .failure(ValueProblem("\(expected), got \"\(shown)\"\(hint)"))
        }
        guard !text.isEmpty else { return .failure(ValueProblem(expected)) }
        return .success(.file(path: ConfigPaths.resolve(text, relativeTo: directory)))
    }
}

/// Paths in a configuration file: relative ones are relative to the file's folder.
enum ConfigPaths {
    /// `path` if absolute (or when there is no folder), else `directory/path`, without `.` components.
    static func resolve(_ path: String, relativeTo directory: String?) -> String {
        guard !path.hasPrefix("/"), let directory, !directory.isEmpty else { return path }
        var components: [Substring] = []
        for part in (directory + "/" + path).split(separator: "/") where part != "." { components.append(part) }
        return (directory.hasPrefix("/") ? "/" : "") + components.joined(separator: "/")
    }
}

/// Why a value was refused: the message of the `ConfigError` the parser raises at the value.
struct ValueProblem: Error {
    /// The message.
    let message: String

    init(_ message: String) { self.message = message }
}
