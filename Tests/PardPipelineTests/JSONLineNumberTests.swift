import Foundation
import PardPipeline
import Testing

/// `JSONLine` numbers: whatever the value, the writer emits a valid JSON number (or `null`).
@Suite struct JSONLineNumberTests {
    static let extremes: [Double] = [
        1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, 1e307, 9.999e305,
        5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 0, -0.0, 1, -1, 0.5, 123456.789,
        1e15, 1e16, -1e17, 9.2233720368547758e18, 1e300 / 3, Double(Float.greatestFiniteMagnitude),
    ]

    /// `text` as a JSON value, through Foundation's parser.
    func parsed(_ text: String) throws -> Double? {
        let value = try JSONSerialization.jsonObject(with: Data("[\(text)]".utf8)) as? [Any]
        return (value?.first as? NSNumber)?.doubleValue
    }

    @Test("every number(_:decimals:) output parses as JSON, near 1e308 as well (no inf, no nan)")
    func doublesWithDecimals() throws {
        for value in Self.extremes {
            for decimals in [0, 1, 2, 4, 6, 17, 300, 400] {
                let text = JSONLine.number(value, decimals: decimals)
                #expect(!text.contains("inf") && !text.contains("nan"), "\(value) \(decimals): \(text)")
                let back = try #require(try parsed(text), "\(value) \(decimals): \(text)")
                #expect(back.isFinite)
                // Rounded to `decimals` places, or the value itself when the scaled value overflows.
                #expect(abs(back - value) <= max(0.5 * pow(10, -Double(min(decimals, 300))), abs(value) * 1e-15),
                        "\(value) \(decimals): \(text)")
            }
        }
        #expect(JSONLine.number(1e308, decimals: 2) == "1e+308")
        #expect(JSONLine.number(-1.7976931348623157e308, decimals: 4) == "-1.7976931348623157e+308")
        #expect(JSONLine.number(1.23456, decimals: 2) == "1.23", "ordinary values as before")
        #expect(JSONLine.number(35.0, decimals: 4) == "35")
        #expect(JSONLine.number(.infinity, decimals: 2) == "null" && JSONLine.number(.nan, decimals: 0) == "null")
    }

    @Test("Float numbers in shortest form parse as JSON; non-finite Floats are null")
    func floats() throws {
        for value: Float in [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude,
                             .leastNormalMagnitude, 1e38, 0.1, 0, -0.0] {
            let text = JSONLine.number(value)
            let back = try #require(try parsed(text), "\(value): \(text)")
            #expect(Float(back) == value, "\(value): \(text)")
        }
        #expect(JSONLine.number(Float.infinity) == "null" && JSONLine.number(Float.nan) == "null")
    }

    @Test("a whole line with extreme values is one JSON object")
    func wholeLine() throws {
        var line = JSONLine()
        line.add("w", 1e308, decimals: 2)
        line.add("d", doubles: Self.extremes, decimals: 4)
        line.add("f", floats: [.greatestFiniteMagnitude, .leastNonzeroMagnitude])
        let object = try JSONSerialization.jsonObject(with: Data(line.string.utf8)) as? [String: Any]
        #expect((object?["w"] as? NSNumber)?.doubleValue == 1e308, "\(line.string)")
        #expect((object?["d"] as? [Any])?.count == Self.extremes.count)
    }
}
