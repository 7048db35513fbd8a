import Foundation

/// Durations as the configuration writes them (`2`, `0.5`, `"500ms"`, `"2s"`, `"1m"`, `"1h"`) and as pard
/// prints them (`2s`, `200ms`).
enum DurationText {
    /// Seconds for `text`, or nil when it is not a duration. A bare number counts only when
    /// `plainNumberAllowed` (quoted "2" is refused: say "2s").
    static func seconds(_ text: String, plainNumberAllowed: Bool) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (unit, scale) in units where trimmed.hasSuffix(unit) {
            let number = trimmed.dropLast(unit.count).trimmingCharacters(in: .whitespaces)
            // `ms` must not be read as `m` followed by garbage, and `2ms` must not be read as minutes.
            guard let value = decimal(number) else { continue }
            return value * scale
        }
        return plainNumberAllowed ? decimal(trimmed) : nil
    }

    /// A plain decimal number (`-1`, `0.5`, `.5`), nothing YAML-exotic.
    static func decimal(_ text: String) -> Double? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCIIDigit || "+-.".contains($0) }),
              let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// `10s`, `0.2s`, `1.5s`; under a second, whole milliseconds: `200ms`.
    static func format(seconds: Double) -> String {
        let milliseconds = seconds * 1000
        if seconds > 0 && seconds < 1, abs(milliseconds - milliseconds.rounded()) < 1e-6 {
            return "\(Int(milliseconds.rounded()))ms"
        }
        return format(number: seconds) + "s"
    }

    /// A number without a needless `.0`.
    static func format(number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int(number)) }
        return String(number)
    }
}
