/// Quoting input in messages, bounded: a message never carries more than `limit` bytes of what the
/// user gave, however long that was.
public enum InputExcerpt {
    /// The most bytes of an input quoted in one message.
    public static let limit = 200

    /// `text` in double quotes, control characters escaped (`\n`, `\r`, `\t`, `\u{1b}`, ...); when
    /// longer than `limit` UTF-8 bytes, its first `limit` bytes (cut at a character boundary)
    /// followed by `...` and the whole size: `"12345678..."... (10485760 bytes)`.
    public static func quoted<S: StringProtocol>(_ text: S, limit: Int = InputExcerpt.limit) -> String {
        let total = text.utf8.count
        var kept = 0
        var out = "\""
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            if kept + size > limit { break }
            kept += size
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += scalar.escaped(asASCII: true)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        if kept < total { out += "... (\(total) bytes)" }
        return out
    }
}
