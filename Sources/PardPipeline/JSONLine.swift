import Foundation

/// Builds one JSON object as a single line, keys in the order written (events read best in schema
/// order), numbers formatted deterministically so the same input gives byte-identical output.
public struct JSONLine {
    private var text = "{"
    private var first = true

    public init() {}

    private mutating func key(_ k: String) {
        if !first { text += "," }
        first = false
        text += JSONLine.quote(k) + ":"
    }

    public mutating func add(_ k: String, _ v: String) { key(k); text += JSONLine.quote(v) }
    public mutating func add(_ k: String, _ v: Int) { key(k); text += String(v) }
    public mutating func add(_ k: String, _ v: Bool) { key(k); text += v ? "true" : "false" }
    /// A number with at most `decimals` decimals (trailing zeros dropped).
    public mutating func add(_ k: String, _ v: Double, decimals: Int) { key(k); text += JSONLine.number(v, decimals: decimals) }
    /// A number in its shortest round-trip form.
    public mutating func add(_ k: String, _ v: Float) { key(k); text += JSONLine.number(v) }
    public mutating func add(_ k: String, floats: [Float]) { key(k); text += "[" + floats.map(JSONLine.number).joined(separator: ",") + "]" }
    public mutating func add(_ k: String, doubles: [Double], decimals: Int) {
        key(k); text += "[" + doubles.map { JSONLine.number($0, decimals: decimals) }.joined(separator: ",") + "]"
    }
    public mutating func add(_ k: String, strings: [String]) { key(k); text += "[" + strings.map(JSONLine.quote).joined(separator: ",") + "]" }
    /// A nested object, already built.
    public mutating func add(_ k: String, object: JSONLine) { key(k); text += object.string }
    public mutating func addNull(_ k: String) { key(k); text += "null" }

    /// The object, without a newline.
    public var string: String { text + "}" }

    /// `v` rounded to `decimals` places, shortest form, always a valid JSON number: when `v` scaled
    /// by 10^decimals is beyond the Double range (|v| near 1e308), `v` unrounded in its shortest
    /// round-trip form (`1e+308`). Non-finite values become `null`.
    public static func number(_ v: Double, decimals: Int) -> String {
        guard v.isFinite else { return "null" }
        let p = pow(10.0, Double(decimals))
        let scaled = v * p
        let r = scaled.isFinite && p.isFinite && p > 0 ? scaled.rounded() / p : v
        guard r.isFinite else { return shortest(v) }
        return shortest(r)
    }

    /// A finite Double in its shortest round-trip form; integers below 10^15 without `.0`.
    private static func shortest(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    /// Shortest round-trip form of a Float; non-finite values become `null`.
    public static func number(_ v: Float) -> String {
        guard v.isFinite else { return "null" }
        return "\(v)"
    }

    /// A JSON string literal.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
