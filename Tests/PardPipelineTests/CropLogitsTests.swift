import Foundation
import PardCheckpoint
import PardTestSupport
import PardVideo
import PromptPAR
import Testing

/// Crops cut by pard from the real clip, through the model, against the official code's logits for the
/// crops it cut (rows 3-12 of promptpar-tiny).
@Suite struct CropLogitsTests {
    struct CropCase: Decodable {
        let name: String
        let frame: Int
        let box: [Double]
        let rect: [Int]
    }

    @Test func cropsFromTheClipGiveTheOfficialLogits() throws {
        let cases = try JSONDecoder().decode([CropCase].self, from: Data(contentsOf: Fixtures.url("promptpar-tiny/crops.json")))
        let source = try TorchCheckpoint(path: Fixtures.url("promptpar-tiny/checkpoint.pth").path).withPrefixes(ModelFile.checkpointPrefixes)
        let tokens = try JSONDecoder().decode([String: [[Int32]]].self, from: Data(contentsOf: Fixtures.url("promptpar-tiny/tokens.json")))
        let model = try PromptPARModel(source: source, tokens: try #require(tokens["pa100k_pad"]))
        let expected = try NPY.read(Fixtures.url("promptpar-tiny/logits.npy").path)

        // Decode the clip once, cutting the boxes of the frames named in crops.json.
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        let extractor = CropExtractor()
        var images = [Float](repeating: 0, count: cases.count * model.imageFloats)
        while let frame = try decoder.nextFrame() {
            for (i, c) in cases.enumerated() where c.frame == frame.number {
                let box = Box(x: c.box[0], y: c.box[1], w: c.box[2], h: c.box[3])
                let rect = try images.withUnsafeMutableBufferPointer { buffer in
                    try extractor.crop(box, from: frame, into: UnsafeMutableBufferPointer(rebasing: buffer[(i * model.imageFloats)..<((i + 1) * model.imageFloats)]))
                }
                #expect([rect.x0, rect.y0, rect.x1, rect.y1] == c.rect, "\(c.name)")
            }
        }
        let session = InferenceSession(model: model, maxBatch: 4)
        let logits = try session.logits(images: images)
        var worst: Float = 0
        for i in 0..<cases.count {
            for a in 0..<26 { worst = max(worst, abs(logits[i * 26 + a] - expected.values[(3 + i) * 26 + a])) }
        }
        print("crops cut by pard: logits max |diff| vs official = \(worst)")
        #expect(worst < 3e-3)
    }
}
