import Foundation
import PardCheckpoint
import PardTestSupport
import Testing

/// `--precision` and `--fp32-layers` as a user gives them: the arithmetic is logged at start, bad
/// lists are refused naming the item, and int8 stays within 0.02 of the official probabilities.
@Suite struct PrecisionCommandTests {
    static let dir = "Tests/Fixtures/promptpar-tiny"

    @Test func int8ClassifyLogsItsArithmeticAndStaysClose() throws {
        let run = try PardProcess.run(["classify", "--checkpoint", "\(Self.dir)/checkpoint.pth", "--npy", "\(Self.dir)/inputs.npy",
                                       "--precision", "int8", "--fp32-layers", "first", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("pard: model \(Self.dir)/checkpoint.pth: int8 (oneDNN "), "\(run.stderr)")
        #expect(run.stderr.contains("fp32 layers first"), "\(run.stderr)")
        let probs = try run.jsonLines().flatMap { try #require($0["probs"] as? [Double]).map(Float.init) }
        let expected = try NPY.read(Fixtures.url("promptpar-tiny/probs.npy").path).values
        #expect(probs.count == expected.count)
        let diff = zip(probs, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(diff < 0.02, "max |prob diff| \(diff)")
    }

    @Test func autoSaysWhatItPicked() throws {
        let run = try PardProcess.run(["classify", "--checkpoint", "\(Self.dir)/checkpoint.pth", "--npy", "\(Self.dir)/inputs.npy",
                                       "--precision", "auto", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("(asked auto; "), "\(run.stderr)")
    }

    @Test func aBadLayerListIsRefusedNamingTheItem() throws {
        let run = try PardProcess.run(["classify", "--checkpoint", "\(Self.dir)/checkpoint.pth", "--npy", "\(Self.dir)/inputs.npy",
                                       "--precision", "int8", "--fp32-layers", "c_proj,fc9"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--fp32-layers") && run.stderr.contains("\"fc9\""), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    /// `model.precision` and `model.fp32_layers` in the service: the arithmetic is logged at start, and
    /// the int8 model classifies.
    @Test func theServiceRunsAndLogsTheConfiguredPrecision() throws {
        let pard = try RunningPard(model: "precision: int8\nfp32_layers: [last]")
        #expect(RunCommandTests.waitUntil(60) { pard.log.contains("model loaded") }, "\(pard.log)")
        let loaded = pard.log.split(separator: "\n").first { $0.contains("model loaded") } ?? ""
        #expect(loaded.contains("arithmetic=int8 (oneDNN ") && loaded.contains("fp32 layers last"), "\(loaded)")
        #expect(pard.waitForFrames(3), "\(pard.log)")
        try pard.push((5...8).map { RunCommandTests.detection(frame: $0, id: 1) })
        #expect(try RunCommandTests.waitUntil(30) { try RunCommandTests.eventLines(pard.events).count >= 4 }, "\(pard.log)")
        #expect(pard.stop() == 0)
    }
}
