import Foundation
import PardTestSupport
import Testing

/// Bad checkpoints fail with one line naming the problem, and nothing in them is executed.
@Suite struct MalformedCheckpointTests {
    static let tiny = Fixtures.url("promptpar-tiny/checkpoint.pth")

    func classify(_ checkpoint: String) throws -> PardProcess {
        try PardProcess.run(["classify", "--checkpoint", checkpoint, "--npy", "Tests/Fixtures/promptpar-tiny/inputs.npy"])
    }

    func expectFailure(_ run: PardProcess, mentions parts: [String]) {
        #expect(run.status != 0)
        #expect(run.stdout.isEmpty)
        let message = run.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!message.contains("\n"), "one line: \(message)")
        for part in parts { #expect(message.contains(part), "\(message) should mention \(part)") }
    }

    @Test func truncated() throws {
        let tmp = try TemporaryDirectory("pard-bad")
        let path = tmp.path("truncated.pth")
        try CheckpointSurgery.truncatedCopy(of: Self.tiny, keeping: 4_000_000, to: path)
        expectFailure(try classify(path), mentions: [path, "truncated"])
    }

    @Test func wrongMagic() throws {
        let tmp = try TemporaryDirectory("pard-bad")
        let path = tmp.path("magic.pth")
        try CheckpointSurgery.wrongMagicCopy(of: Self.tiny, to: path)
        expectFailure(try classify(path), mentions: [path, "not a zip"])
    }

    @Test func osSystemIsNotExecuted() throws {
        let tmp = try TemporaryDirectory("pard-bad")
        let path = tmp.path("evil.pth"), marker = tmp.path("executed")
        try CheckpointSurgery.writeOSSystemCheckpoint(command: "touch \(marker)", to: path)
        expectFailure(try classify(path), mentions: [path, "system"])
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func missingTensor() throws {
        let tmp = try TemporaryDirectory("pard-bad")
        let path = tmp.path("missing.pth")
        try CheckpointSurgery.removingTensor("ViT_model.visual.proj", from: Self.tiny, to: path)
        expectFailure(try classify(path), mentions: [path, "missing tensor 'visual.proj'"])
    }

    @Test func wrongShape() throws {
        let tmp = try TemporaryDirectory("pard-bad")
        let path = tmp.path("shape.pth")
        try CheckpointSurgery.changingShape(of: "ViT_model.visual.transformer.resblocks.2.mlp.c_fc.weight", to: [512, 64],
                                            from: Self.tiny, to: path)
        expectFailure(try classify(path), mentions: [path, "visual.transformer.resblocks.2.mlp.c_fc.weight", "[512, 64]", "[512, 128]"])
    }

    @Test func attributeCountThatDoesNotMatch() throws {
        let run = try PardProcess.run(["classify", "--checkpoint", Self.tiny.path, "--attributes", "WIDER",
                                       "--npy", "Tests/Fixtures/promptpar-tiny/inputs.npy"])
        expectFailure(run, mentions: ["WIDER", "14", "26"])
    }
}
