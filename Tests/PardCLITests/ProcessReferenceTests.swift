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

    /// Whether this CPU can run OpenBLAS's `SkylakeX` kernel (AVX-512 F, BW, VL), the one the reference
    /// was recorded with: the bytes of fp32 sums depend on the kernel's order of additions, and a
    /// machine's environment may force another (`OPENBLAS_CORETYPE=Haswell` was set on an AMD EPYC
    /// Zen 4, where OpenBLAS itself picks `Cooperlake`; neither gives the recorded bytes).
    static var runsSkylakeX: Bool {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let flags = Set(line.split(separator: " ").map(String.init))
        return ["avx512f", "avx512bw", "avx512vl"].allSatisfy(flags.contains)
    }

    /// With OpenBLAS's fp32 products on the kernel the reference was made with, the same bytes.
    @Test(.enabled(if: runsSkylakeX, "no AVX-512: OpenBLAS cannot run the SkylakeX kernel the reference bytes come from (eventsWithOpenBLASOnThisCPUMatchTheReference holds it within 1e-4)"),
          arguments: ["vtest_first100_det", "vtest_first100_tracks"])
    func eventsAreByteIdenticalToTheReference(detections: String) throws {
        let (gotLines, expectedLines) = try Self.run(detections, environment: ["PARD_FP32_GEMM": "openblas", "OPENBLAS_CORETYPE": "SkylakeX"])
        let firstDifference = zip(expectedLines, gotLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(gotLines == expectedLines,
                "\(gotLines.count) lines vs \(expectedLines.count); first different line: \(firstDifference.map { "\($0 + 1)" } ?? "none")")
    }

    /// OpenBLAS's fp32 products on whichever kernel this machine gives it (its environment's
    /// `OPENBLAS_CORETYPE`, or OpenBLAS's own pick): every event the reference's, probabilities within 1e-4.
    @Test(arguments: ["vtest_first100_det", "vtest_first100_tracks"])
    func eventsWithOpenBLASOnThisCPUMatchTheReference(detections: String) throws {
        let (gotLines, expectedLines) = try Self.run(detections, environment: ["PARD_FP32_GEMM": "openblas"])
        try Self.expectWithin1e4(gotLines, expectedLines)
    }

    /// The default fp32 products (oneDNN where it has brgemm kernels, else OpenBLAS): every event the
    /// reference's but for its probabilities, each within 1e-4.
    @Test func eventsWithTheDefaultProductsMatchTheReference() throws {
        let (gotLines, expectedLines) = try Self.run("vtest_first100_det", environment: [:])
        try Self.expectWithin1e4(gotLines, expectedLines)
    }

    /// Every line's keys and values the reference's, but for the probabilities: each within 1e-4.
    static func expectWithin1e4(_ gotLines: [Substring], _ expectedLines: [Substring]) throws {
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
