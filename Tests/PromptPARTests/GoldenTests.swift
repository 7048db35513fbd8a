import Foundation
import PardCheckpoint
import PardTestSupport
import Testing
@testable import PromptPAR

/// A golden fixture made by the official code: random weights in the released layout, and its outputs.
struct Golden: Sendable, CustomStringConvertible {
    let dir: String
    /// The key of the attribute list in `promptpar-tiny/tokens.json`.
    let tokenList: String
    let images: Int, tokens: Int, embed: Int, attributes: Int
    var description: String { dir }

    static let tiny = Golden(dir: "promptpar-tiny", tokenList: "pa100k_pad", images: 13, tokens: 311, embed: 64, attributes: 26)
    /// Other widths and depths, `vis_depth < layers`, 25 prompts, two fusion blocks, PETA.
    static let small = Golden(dir: "promptpar-small", tokenList: "peta_pad", images: 6, tokens: 286, embed: 96, attributes: 35)

    /// Token ids of the sentences as the official tokenizer made them (tiny's tokens.json holds every list).
    func tokenIDs() throws -> [[Int32]] {
        let data = try Data(contentsOf: Fixtures.url("promptpar-tiny/tokens.json"))
        let lists = try JSONDecoder().decode([String: [[Int32]]].self, from: data)
        return try #require(lists[tokenList])
    }

    func npy(_ name: String) throws -> NPYArray { try NPY.read(Fixtures.url("\(dir)/\(name)").path) }

    func source() throws -> any TensorSource {
        try TorchCheckpoint(path: Fixtures.url("\(dir)/checkpoint.pth").path).withPrefixes(ModelFile.checkpointPrefixes)
    }
}

/// The official code's outputs: text features, visual tokens and logits within 1e-4 absolute, max over
/// all elements, for both fixtures.
@Suite struct GoldenTests {

    static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    @Test func configIsDerivedFromShapes() throws {
        let tiny = try PromptPARModel(source: try Golden.tiny.source(), tokens: try Golden.tiny.tokenIDs()).config
        #expect(tiny.visionWidth == 128 && tiny.visionLayers == 4 && tiny.promptDepth == 4 && tiny.prompts == 50 && tiny.regions == 4)
        #expect(tiny.textWidth == 64 && tiny.textLayers == 2 && tiny.embedWidth == 64)
        #expect(tiny.fusionWidth == 96 && tiny.fusionLayers == 1 && tiny.attributes == 26 && tiny.tokens == 311)
        let small = try PromptPARModel(source: try Golden.small.source(), tokens: try Golden.small.tokenIDs()).config
        #expect(small.visionWidth == 192 && small.visionLayers == 6 && small.promptDepth == 3 && small.prompts == 25)
        #expect(small.textWidth == 128 && small.textLayers == 3 && small.embedWidth == 96)
        #expect(small.fusionWidth == 120 && small.fusionLayers == 2 && small.attributes == 35 && small.tokens == 286)
    }

    @Test(arguments: [Golden.tiny, .small])
    func textFeaturesMatch(_ g: Golden) throws {
        let features = try PromptPARModel.textFeatures(source: try g.source(), tokens: try g.tokenIDs())
        let expected = try g.npy("text_features.npy")
        #expect(expected.shape == [g.attributes, g.embed])
        let diff = Self.maxAbsDiff(features, expected.values)
        print("\(g) text features: max |diff| = \(diff)")
        #expect(diff < 1e-4, "text features max |diff| \(diff)")
    }

    @Test(arguments: [Golden.tiny, .small])
    func visualTokensAndLogitsMatch(_ g: Golden) throws {
        let model = try PromptPARModel(source: try g.source(), tokens: try g.tokenIDs())
        let inputs = try g.npy("inputs.npy")
        let tokens = try g.npy("visual_tokens.npy"), logits = try g.npy("logits.npy")
        #expect(inputs.shape == [g.images, 3, 224, 224] && tokens.shape == [g.images, g.tokens, g.embed])
        #expect(logits.shape == [g.images, g.attributes])
        let session = InferenceSession(model: model, maxBatch: 5)
        let per = model.imageFloats, t = g.tokens * g.embed
        // Batches of 5, 5, 3 (tiny) or 5, 1 (small): the batch size must not change anything.
        var worstTokens: Float = 0
        var start = 0
        while start < g.images {
            let n = min(5, g.images - start)
            inputs.values.withUnsafeBufferPointer { session.runVision(images: $0.baseAddress! + start * per, count: n) }
            let got = session.visualTokens(count: n)
            worstTokens = max(worstTokens, Self.maxAbsDiff(got, Array(tokens.values[(start * t)..<((start + n) * t)])))
            start += n
        }
        print("\(g) visual tokens: max |diff| = \(worstTokens)")
        #expect(worstTokens < 1e-4, "visual tokens max |diff| \(worstTokens)")
        let got = try session.logits(images: inputs.values)
        let diff = Self.maxAbsDiff(got, logits.values)
        print("\(g) logits: max |diff| = \(diff)")
        #expect(diff < 1e-4, "logits max |diff| \(diff)")
    }
}
