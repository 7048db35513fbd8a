import Foundation
import PardTestSupport
import Testing

/// `pard process` gives the same bytes as before the pipeline core was shared with `pard run`
/// (`Tests/Fixtures/process-reference`, made by the earlier code with OpenBLAS's fp32 products), and
/// the same events within 1e-4 a probability with the fp32 products on oneDNN (`ReducedKind.f32`,
/// where this CPU's oneDNN has brgemm fp32 kernels: another order of sums, other last bits).
@Suite struct ProcessReferenceTests {
    static func run(_ detections: String, environment: [String: String]) throws -> (got: [Substring], expected: [Substring]) {
        let tmp = try TemporaryDirectory("pard-reference")
        let out = tmp.path("events.jsonl")
        let run = try PardProcess.run(["process", "Tests/Fixtures/video/vtest_first100_h264.mp4",
                                       "--detections", "Tests/Fixtures/video/\(detections).txt",
                                       "--checkpoint", "Tests/Fixtures/promptpar-tiny/checkpoint.pth",
                                       "--batch", "4", "--out", out], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try Data(contentsOf: Fixtures.url("process-reference/\(detections).events.jsonl"))
        let got = try Data(contentsOf: URL(fileURLWithPath: out))
        return (String(decoding: got, as: UTF8.self).split(separator: "\n"), String(decoding: expected, as: UTF8.self).split(separator: "\n"))
    }

    @Test(arguments: ["vtest_first100_det", "vtest_first100_tracks"])
    func eventsAreByteIdenticalToTheReference(detections: String) throws {
        let (gotLines, expectedLines) = try Self.run(detections, environment: ["PARD_FP32_GEMM": "openblas"])
        let firstDifference = zip(expectedLines, gotLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(gotLines == expectedLines,
                "\(gotLines.count) lines vs \(expectedLines.count); first different line: \(firstDifference.map { "\($0 + 1)" } ?? "none")")
    }

    /// The default fp32 products (oneDNN where it has brgemm kernels, else OpenBLAS): every event the
    /// reference's but for its probabilities, each within 1e-4.
    @Test func eventsWithTheDefaultProductsMatchTheReference() throws {
        let (gotLines, expectedLines) = try Self.run("vtest_first100_det", environment: [:])
        #expect(gotLines.count == expectedLines.count && !gotLines.isEmpty)
        var worst = 0.0
        for (index, (got, expected)) in zip(gotLines, expectedLines).enumerated() {
            let g = try #require(try JSONSerialization.jsonObject(with: Data(got.utf8)) as? [String: Any])
            let e = try #require(try JSONSerialization.jsonObject(with: Data(expected.utf8)) as? [String: Any])
            #expect(Set(g.keys) == Set(e.keys), "line \(index + 1)")
            for key in e.keys where key != "attributes" {
                #expect(NSDictionary(dictionary: [key: g[key] ?? NSNull()]) == NSDictionary(dictionary: [key: e[key] ?? NSNull()]),
                        "line \(index + 1): \(key)")
            }
            guard let ga = g["attributes"] as? [String: Double], let ea = e["attributes"] as? [String: Double] else {
                #expect(g["attributes"] == nil && e["attributes"] == nil, "line \(index + 1): attributes")
                continue
            }
            #expect(Set(ga.keys) == Set(ea.keys), "line \(index + 1)")
            for (name, p) in ea { worst = max(worst, abs((ga[name] ?? .infinity) - p)) }
        }
        // Probabilities are printed with 4 decimals: 1e-4 is one step of the last digit.
        #expect(worst <= 1.0001e-4, "max |probability - reference| = \(worst)")
    }
}
