import Foundation
import Yams

/// A node of the configuration document together with the key path that leads to it, so that every
/// problem found in it can be reported with file, line and key path.
///
/// Scalars are read by pard's own, strict rules rather than YAML 1.1's: a boolean is `true` or `false`,
/// numbers are plain (unquoted) decimal numbers, and `~`, `null` or nothing mean "not given".
struct ConfigValue {
    /// The node itself.
    let node: Node
    /// `streams[1].detections`; empty for the document.
    let path: String
    /// The file, for errors.
    let file: String

    /// The node's 1-based line.
    var line: Int? { node.mark?.line }

    /// An error about this value.
    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, keyPath: path, message: message)
    }

    /// Whether the value is YAML's null (an absent value).
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string) && scalar.tag.description != Tag.Name.str.rawValue
    }

    /// What the value is, for "expected X, got Y" messages (URLs redacted, long text cut).
    var shown: String {
        switch node {
        case .scalar(let scalar):
            if isNull { return "nothing" }
            var text = URLRedaction.redact(scalar.string)
            if text.count > 60 { text = String(text.prefix(57)) + "..." }
            return "\"\(text)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The text of a scalar; `expected` names what was wanted, for the error.
    func scalarText(_ expected: String) throws(ConfigError) -> (text: String, quoted: Bool) {
        guard case .scalar(let scalar) = node, !isNull else { throw error("expected \(expected), got \(shown)") }
        let quoted = !(scalar.style == .plain || scalar.style == .any) || scalar.tag.description == Tag.Name.str.rawValue
        return (scalar.string, quoted)
    }

    /// A string (any non-null scalar).
    func string() throws(ConfigError) -> String {
        let (text, _) = try scalarText("a string")
        return text
    }

    /// A non-empty string.
    func nonEmptyString() throws(ConfigError) -> String {
        let text = try string()
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw error("must not be empty") }
        return text
    }

    /// `true` or `false`.
    func bool() throws(ConfigError) -> Bool {
        let (text, quoted) = try scalarText("true or false")
        switch quoted ? "" : text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw error("expected true or false, got \(shown)")
        }
    }

    /// A whole number within `range`.
    func integer(in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let (text, quoted) = try scalarText("a whole number")
        guard !quoted, let value = Int(text) else { throw error("expected a whole number, got \(shown)") }
        guard range.contains(value) else { throw error("must be \(Self.describe(range)), got \(value)") }
        return value
    }

    /// A finite decimal number within `range`.
    func number(in range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let (text, quoted) = try scalarText("a number")
        guard !quoted, let value = Double(text), value.isFinite, text.first.map({ $0.isNumber || "+-.".contains($0) }) == true else {
            throw error("expected a number, got \(shown)")
        }
        guard range.contains(value) else { throw error("must be \(Self.describe(range)), got \(text)") }
        return value
    }

    /// A duration in seconds: a plain number (`2`, `0.5`) or a string with a unit (`500ms`, `2s`, `1m`, `1h`).
    /// Negative durations are refused; `positive` also refuses zero.
    func duration(positive: Bool) throws(ConfigError) -> TimeInterval {
        let (text, quoted) = try scalarText("a duration")
        guard let seconds = DurationText.seconds(text, plainNumberAllowed: !quoted) else {
            throw error("expected a duration (seconds, or a number with ms, s, m or h such as \"500ms\"), got \(shown)")
        }
        if seconds < 0 { throw error("must not be negative, got \(text)") }
        if positive && seconds == 0 { throw error("must be more than 0 seconds") }
        return seconds
    }

    /// A mapping whose keys must all be among `keys`; an unknown key is an error at its own line.
    func mapping(keys: [String]) throws(ConfigError) -> ConfigMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping (key: value lines), got \(shown)") }
        return try ConfigMapping(mapping: mapping, of: self, keys: keys)
    }

    /// The items of a list, each with its index in the key path (`streams[0]`).
    func sequence() throws(ConfigError) -> [ConfigValue] {
        guard case .sequence(let sequence) = node else { throw error("expected a list (\"- \" items), got \(shown)") }
        return sequence.enumerated().map { ConfigValue(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// `at least 1`, `between 1 and 256`, `within 0...1`.
    static func describe(_ range: ClosedRange<Int>) -> String {
        range.upperBound == .max ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
    }

    static func describe(_ range: ClosedRange<Double>) -> String {
        if range.upperBound == .greatestFiniteMagnitude { return "at least \(DurationText.format(number: range.lowerBound))" }
        return "within \(DurationText.format(number: range.lowerBound))...\(DurationText.format(number: range.upperBound))"
    }
}
