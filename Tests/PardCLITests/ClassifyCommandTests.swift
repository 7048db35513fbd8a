import Foundation
import PardCheckpoint
import PardTestSupport
import Testing

/// `pard classify` and `pard convert` as a user runs them, against the official code's outputs.
@Suite struct ClassifyCommandTests {
    func logits(of run: PardProcess) throws -> [Float] {
        try run.jsonLines().flatMap { line -> [Float] in
            let values = try #require(line["logits"] as? [Double])
            return values.map(Float.init)
        }
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// The second fixture (other widths and depths, vis_depth < layers, 25 prompts, two fusion blocks,
    /// PETA), through the command line.
    @Test func classifySecondFixtureMatchesOfficialLogits() throws {
        let dir = "Tests/Fixtures/promptpar-small"
        let run = try PardProcess.run(["classify", "--checkpoint", "\(dir)/checkpoint.pth", "--attributes", "PETA",
                                       "--npy", "\(dir)/inputs.npy"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.jsonLines()
        #expect(lines.count == 6)
        #expect(lines.map { $0["index"] as? Int } == Array(0..<6))
        #expect((lines.first?["input"] as? String) == "\(dir)/inputs.npy[0]")
        let attributes = try #require(lines.first?["attributes"] as? [String: Double])
        #expect(attributes.count == 35 && attributes["male"] != nil)
        let expected = try NPY.read(Fixtures.url("promptpar-small/logits.npy").path)
        let diff = maxAbsDiff(try logits(of: run), expected.values)
        print("promptpar-small via pard classify: logits max |diff| = \(diff)")
        #expect(diff < 1e-4)
        let probs = try NPY.read(Fixtures.url("promptpar-small/probs.npy").path)
        let gotProbs = try lines.flatMap { try #require($0["probs"] as? [Double]).map(Float.init) }
        #expect(maxAbsDiff(gotProbs, probs.values) < 1e-4)
    }

    @Test func thirtyFiveHeadsWithoutAttributesListsTheCandidates() throws {
        let run = try PardProcess.run(["classify", "--checkpoint", "Tests/Fixtures/promptpar-small/checkpoint.pth",
                                       "--npy", "Tests/Fixtures/promptpar-small/inputs.npy"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("PETA and PETAzs"), "\(run.stderr)")
    }

    /// The `.safetensors` made by `pard convert` gives the same logits as the `.pth`.
    @Test func convertedModelGivesTheSameLogits() throws {
        let tmp = try TemporaryDirectory("pard-convert")
        let out = tmp.path("tiny.safetensors")
        let convert = try PardProcess.run(["convert", "Tests/Fixtures/promptpar-tiny/checkpoint.pth", "-o", out])
        #expect(convert.status == 0, "\(convert.stderr)")
        let file = try SafetensorsFile(path: out)
        #expect(file.metadata["pard.format"] == "promptpar/1")
        #expect(file.contains("text_features") && !file.contains("token_embedding.weight"))
        let npy = "Tests/Fixtures/promptpar-tiny/inputs.npy"
        let fromPth = try PardProcess.run(["classify", "--checkpoint", "Tests/Fixtures/promptpar-tiny/checkpoint.pth", "--npy", npy])
        // No vocabulary needed for pard's own file: point the search at nothing.
        let fromSafetensors = try PardProcess.run(["classify", "--checkpoint", out, "--npy", npy, "--vocabulary", "/nonexistent"])
        #expect(fromPth.status == 0 && fromSafetensors.status == 0, "\(fromPth.stderr) \(fromSafetensors.stderr)")
        let a = try logits(of: fromPth), b = try logits(of: fromSafetensors)
        #expect(a.count == 13 * 26)
        #expect(a == b)
        let expected = try NPY.read(Fixtures.url("promptpar-tiny/logits.npy").path)
        #expect(maxAbsDiff(b, expected.values) < 1e-4)
    }
}

/// Image files go through the same letterboxing as the crops of `pard process`.
@Suite struct ClassifyImageTests {
    @Test func dumpedCropsClassifyLikeTheOfficialCrops() throws {
        let tmp = try TemporaryDirectory("pard-images")
        // Frame 1's two boxes are rows 3 and 4 of promptpar-tiny (crops.json).
        let dets = tmp.path("dets.txt")
        try "1,-1,498.27,151.7,35.47,90.6,1\n1,-1,246.13,215.87,41.07,105.6,1\n".write(toFile: dets, atomically: true, encoding: .utf8)
        let dump = try PardProcess.run(["process", "Tests/Fixtures/video/vtest_first100_h264.mp4", "--detections", dets,
                                        "--no-model", "--dump-crops", tmp.path("crops")])
        #expect(dump.status == 0, "\(dump.stderr)")
        let run = try PardProcess.run(["classify", "--checkpoint", "Tests/Fixtures/promptpar-tiny/checkpoint.pth",
                                       tmp.path("crops/f000001_b00.png"), tmp.path("crops/f000001_b01.png")])
        #expect(run.status == 0, "\(run.stderr)")
        let got = try run.jsonLines().flatMap { try #require($0["logits"] as? [Double]).map(Float.init) }
        let expected = try NPY.read(Fixtures.url("promptpar-tiny/logits.npy").path).values[(3 * 26)..<(5 * 26)]
        #expect(got.count == 52)
        let diff = zip(got, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(diff < 3e-3, "max |diff| \(diff)")
    }
}
