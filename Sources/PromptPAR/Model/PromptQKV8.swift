/// The q, k and v of one layer's prompt rows, quantised as `OneDNNAttention.PackedQKV8.store` makes them
/// in an int8 block with int8 attention products.
///
/// Before every layer `l < V` the prompt groups of layer `l` take their positions (spec §2.6): those rows
/// are the same for every image, and so are their LayerNorm, qkv products and quantised q, k and v,
/// computed here once at load with the block's own kernels (the same bits: every step works row by row).
/// A block given them computes LayerNorm 1 and qkv for the other rows only: 50 of 311 rows of qkv's
/// products in each of ViT-L/14's 24 blocks.
final class PromptQKV8: @unchecked Sendable {
    /// Their positions in the sequence, ascending, `[P]`.
    let positions: [Int]
    /// The rows of the sequence that are not prompts (`LiveRows.beforePrompts`): those a block computes.
    let others: LiveRows
    /// One sequence of the `P` prompt rows (token `i` is `positions[i]`), in `base`.
    private let packed: OneDNNAttention.PackedQKV8
    private let base: UnsafeMutableRawPointer

    /// Those of `prompts` (`[P, width]`, at `others`' dead positions) through `block` (int8 layers).
    init(block: TransformerBlock, prompts: UnsafePointer<Float>, others: LiveRows) {
        let w = block.width, heads = block.heads, d = block.headDim
        positions = (0..<others.seq).filter { others.index[$0] < 0 }
        self.others = others
        let p = positions.count
        precondition(p > 0, "PromptQKV8: no prompt rows")
        var normed = [Float](repeating: 0, count: p * w), qkv = [Float](repeating: 0, count: p * 3 * w)
        normed.withUnsafeMutableBufferPointer { block.norm1.apply(prompts, rows: p, into: $0.baseAddress!) }
        normed.withUnsafeBufferPointer { n in
            qkv.withUnsafeMutableBufferPointer { block.qkv.apply(n.baseAddress!, rows: p, into: $0.baseAddress!) }
        }
        base = .allocate(byteCount: OneDNNAttention.PackedQKV8.bytes(batch: 1, seq: p, heads: heads, headDim: d), alignment: 64)
        packed = OneDNNAttention.PackedQKV8(base, batch: 1, seq: p, heads: heads, headDim: d)
        qkv.withUnsafeBufferPointer { rows in
            for i in 0..<p { packed.store(rows.baseAddress! + i * 3 * w, row: i, qmax: Int8Quant.weightQMax) }
        }
    }

    deinit { base.deallocate() }

    /// Copies them into sequence `b` of `target`: k and v at their positions, q where the position is one
    /// of `target`'s queries (`target.live`).
    func copy(into target: OneDNNAttention.PackedQKV8, batch b: Int) {
        let (heads, d, p) = (packed.heads, packed.headDim, packed.seq)
        precondition(target.heads == heads && target.headDim == d, "PromptQKV8: another head layout")
        for (i, j) in positions.enumerated() {
            let query = target.live.map { Int($0.index[j]) } ?? j
            for part in 0..<3 {
                let token = part == 0 ? query : j
                guard token >= 0 else { continue }
                for h in 0..<heads {
                    let from = OneDNNAttention.packedIndex(batch: 0, part: part, head: h, token: i, seq: p, heads: heads, headDim: d)
                    let to = OneDNNAttention.packedIndex(batch: b, part: part, head: h, token: token, seq: target.seq, heads: heads, headDim: d)
                    (target.values + to).copyMemory(from: packed.values + from, byteCount: d)
                    let source = packed.meta(batch: 0, part: part, head: h) + i, place = target.meta(batch: b, part: part, head: h) + token
                    target.scales[place] = packed.scales[source]
                    target.zeros[place] = packed.zeros[source]
                }
            }
        }
    }
}
