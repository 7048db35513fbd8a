/// CLIP's text encoder (spec §3). Run once at load to turn the attribute sentences into text features;
/// its weights are dropped afterwards. The text prompts (`prompt_text_deep`) sit after the 77 causal
/// positions and cannot reach the EOT row, so they are skipped: exactly the same output.
public struct TextEncoder: Sendable {
    /// `[vocab, Wt]`.
    let tokenEmbedding: [Float]
    /// `[77, Wt]`.
    let positionalEmbedding: [Float]
    let blocks: [TransformerBlock]
    let lnFinal: LayerNorm
    /// `[Wt, E]`.
    let projection: [Float]
    let width: Int
    let embedWidth: Int
    var vocabularySize: Int { tokenEmbedding.count / width }

    /// Text features `[A, E]` of `A` token sequences of 77 ids each.
    func encode(tokens: [[Int32]]) throws(ModelError) -> [Float] {
        let n = tokens.count, ctx = ModelConfig.contextLength, w = width
        let hidden = blocks.first?.hidden ?? 4 * w
        let ws = Workspace(capacity: Workspace.size([n * ctx * w] + BlockScratch.sizes(batch: n, seq: ctx, width: w, hidden: hidden)))
        let x = ws.carve(n * ctx * w)
        let scratch = BlockScratch(ws, batch: n, seq: ctx, width: w, hidden: hidden)
        for (s, ids) in tokens.enumerated() {
            guard ids.count == ctx else { throw .badTokens("sentence \(s) has \(ids.count) token ids, expected \(ctx)") }
            for (i, id) in ids.enumerated() {
                guard id >= 0, Int(id) < vocabularySize else {
                    throw .badTokens("token id \(id) outside the vocabulary of \(vocabularySize)")
                }
                let row = x + (s * ctx + i) * w
                for j in 0..<w { row[j] = tokenEmbedding[Int(id) * w + j] + positionalEmbedding[i * w + j] }
            }
        }
        let mask = AttentionMask.causal(ctx)
        for block in blocks { block.forward(x, batch: n, seq: ctx, mask: mask, scratch: scratch) }

        // ln_final on the EOT row (the argmax id) of each sentence, times the projection.
        var eot = [Float](repeating: 0, count: n * w)
        eot.withUnsafeMutableBufferPointer { e in
            for (s, ids) in tokens.enumerated() {
                let pos = ids.indices.max { ids[$0] < ids[$1] } ?? 0  // first maximum, as torch.argmax
                lnFinal.apply(x + (s * ctx + pos) * w, rows: 1, into: e.baseAddress! + s * w)
            }
        }
        var features = [Float](repeating: 0, count: n * embedWidth)
        features.withUnsafeMutableBufferPointer { f in
            eot.withUnsafeBufferPointer { e in
                projection.withUnsafeBufferPointer { p in
                    GEMM.ab(m: n, n: embedWidth, k: w, a: e.baseAddress!, lda: w, b: p.baseAddress!, ldb: embedWidth,
                            beta: 0, c: f.baseAddress!, ldc: embedWidth)
                }
            }
        }
        return features
    }
}
