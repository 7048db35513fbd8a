import Foundation
import PardCheckpoint
import PardTestSupport

/// The tiny PromptPAR checkpoint (torch.save of the released layout, fp16 CLIP linears).
let fixturePath = Fixtures.url("promptpar-tiny/checkpoint.pth").path
let fixtureURL = Fixtures.url("promptpar-tiny/checkpoint.pth")

/// `Tests/Fixtures/checkpoint-reference/reference.json`, made by `make_reference.py` with torch.
struct Reference: Decodable {
    struct Tensor: Decodable {
        let dtype: String
        let shape: [Int]
        let head: [Double]
        let tail: [Double]
        let sum: Double
        let sumOfSquares: Double
    }
    let epoch: Int
    let names: [String]
    let tensors: [String: Tensor]

    static func load() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Fixtures.url("checkpoint-reference/reference.json")))
    }
}

/// Row-major transpose of a `[rows, cols]` matrix.
func transpose(_ m: [Float], rows: Int, cols: Int) -> [Float] {
    var t = [Float](repeating: 0, count: m.count)
    for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = m[r * cols + c] } }
    return t
}

/// Writes `bytes` to `path`.
func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
