import Foundation

/// A configuration that cannot be used: where (file, line, key path) and why, in one line.
///
/// The description reads like a compiler diagnostic, e.g.
/// `pard.yaml:23: streams[1].detections: expected "unix:PATH", "tcp:127.0.0.1:PORT" or a file path`.
/// Messages never contain stream credentials: whatever looks like `user:password@` in the key path or
/// the message is redacted when the error is made (`URLRedaction.redactCredentials(in:)`), and again in
/// `description`.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The configuration file as it was named (or `<string>` for text parsed directly).
    public var file: String
    /// The 1-based line the problem is on, when it is known.
    public var line: Int?
    /// Where in the document, e.g. `streams[1].detections` (empty for the document as a whole).
    public var keyPath: String
    /// What is wrong, and what would be right.
    public var message: String

    /// An error at `keyPath` on `line` of `file`; credentials in `keyPath` and `message` are redacted.
    public init(file: String, line: Int?, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.keyPath = URLRedaction.redactCredentials(in: keyPath)
        self.message = URLRedaction.redactCredentials(in: message)
    }

    /// `file:line: key.path: message` (the line and key path left out when unknown); always one line.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !keyPath.isEmpty { text += keyPath + ": " }
        text += message
        return URLRedaction.redactCredentials(in: text.replacingOccurrences(of: "\n", with: " "))
    }

    /// The same as `description`, for Foundation's error reporting.
    public var errorDescription: String? { description }
}
