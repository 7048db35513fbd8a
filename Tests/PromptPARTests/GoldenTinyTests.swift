import Foundation
import PardCheckpoint
import PardTestSupport
import Testing
@testable import PromptPAR

/// The official code's outputs on `promptpar-tiny` (random weights in the released layout): text
/// features, visual tokens and logits within 1e-4 absolute, max over all elements.
@Suite struct GoldenTinyTests {
    static let dir = "promptpar-tiny"

    /// Token ids of the PA100k sentences as the official tokenizer made them (tokens.json).
    static func pa100kTokens() throws -> [[Int32]] {
        let data = try Data(contentsOf: Fixtures.url("\(dir)/tokens.json"))
        let lists = try JSONDecoder().decode([String: [[Int32]]].self, from: data)
        return try #require(lists["pa100k_pad"])
    }

    static func npy(_ name: String) throws -> NPYArray { try NPY.read(Fixtures.url("\(dir)/\(name)").path) }

    static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func source() throws -> any TensorSource {
        try TorchCheckpoint(path: Fixtures.url("\(dir)/checkpoint.pth").path).withPrefixes(ModelFile.checkpointPrefixes)
    }

    @Test func configIsDerivedFromShapes() throws {
        let model = try PromptPARModel(source: try Self.source(), tokens: try Self.pa100kTokens())
        let c = model.config
        #expect(c.visionWidth == 128 && c.visionLayers == 4 && c.promptDepth == 4 && c.prompts == 50 && c.regions == 4)
        #expect(c.textWidth == 64 && c.textLayers == 2 && c.embedWidth == 64)
        #expect(c.fusionWidth == 96 && c.fusionLayers == 1 && c.attributes == 26 && c.tokens == 311)
    }

    @Test func textFeaturesMatch() throws {
        let features = try PromptPARModel.textFeatures(source: try Self.source(), tokens: try Self.pa100kTokens())
        let expected = try Self.npy("text_features.npy")
        #expect(expected.shape == [26, 64])
        let diff = Self.maxAbsDiff(features, expected.values)
        print("promptpar-tiny text features: max |diff| = \(diff)")
        #expect(diff < 1e-4, "text features max |diff| \(diff)")
    }

    @Test func visualTokensAndLogitsMatch() throws {
        let model = try PromptPARModel(source: try Self.source(), tokens: try Self.pa100kTokens())
        let inputs = try Self.npy("inputs.npy")
        let tokens = try Self.npy("visual_tokens.npy"), logits = try Self.npy("logits.npy")
        #expect(inputs.shape == [13, 3, 224, 224] && tokens.shape == [13, 311, 64] && logits.shape == [13, 26])
        let session = InferenceSession(model: model, maxBatch: 5)
        let per = model.imageFloats, t = 311 * 64
        // Batches of 5, 5, 3: the batch size must not change anything.
        var worstTokens: Float = 0
        var start = 0
        while start < 13 {
            let n = min(5, 13 - start)
            inputs.values.withUnsafeBufferPointer { session.runVision(images: $0.baseAddress! + start * per, count: n) }
            let got = session.visualTokens(count: n)
            worstTokens = max(worstTokens, Self.maxAbsDiff(got, Array(tokens.values[(start * t)..<((start + n) * t)])))
            start += n
        }
        print("promptpar-tiny visual tokens: max |diff| = \(worstTokens)")
        #expect(worstTokens < 1e-4, "visual tokens max |diff| \(worstTokens)")
        let got = try session.logits(images: inputs.values)
        let diff = Self.maxAbsDiff(got, logits.values)
        print("promptpar-tiny logits: max |diff| = \(diff)")
        #expect(diff < 1e-4, "logits max |diff| \(diff)")
    }
}
