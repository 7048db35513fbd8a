extension TransformerBlock {
    /// Runs the block in place on `x`, `[batch, seq, width]`.
    ///
    /// Only the query rows `outputRows` of each sequence are computed and updated (keys and values
    /// still come from every row): the fusion's last block needs the attribute rows only. Other rows
    /// are left as they were.
    ///
    /// With `live` (and no `outputRows`: the vision blocks before a prompted layer), only the live
    /// rows of each sequence get the block's outputs; what the other rows hold after is unspecified
    /// (the next layer's prompts overwrite them).
    ///
    /// A block of int8 layers computing every row takes `forwardInt8` (the same results in fewer
    /// passes; there `prompts` spares LayerNorm 1 and qkv of the prompt rows) unless `fusedInt8` is
    /// false (tests compare the two).
    func forward(_ x: UnsafeMutablePointer<Float>, batch: Int, seq: Int, mask: AttentionMask,
                 outputRows: Range<Int>? = nil, live: LiveRows? = nil, prompts: PromptQKV8? = nil, scratch s: BlockScratch,
                 fusedInt8: Bool = true) {
        let w = width
        let rows = outputRows ?? 0..<seq
        if fusedInt8, rows == 0..<seq, let layers = int8Layers {
            return forwardInt8(x, batch: batch, seq: seq, mask: mask, live: live, prompts: prompts, scratch: s, layers: layers)
        }
        if rows == 0..<seq, let live {
            return forward(x, batch: batch, seq: seq, mask: mask, live: live, scratch: s)
        }
        let m = rows.count
        let all = batch * seq
        let scale = 1 / Float(headDim).squareRoot()

        norm1.apply(x, rows: all, into: s.normed, parallel: attentionOnOneDNN)
        qkv.apply(s.normed, rows: all, into: s.wide)
        if m == seq {
            attention(s.wide, batch: batch, seq: seq, mask: mask, scratch: s, into: s.normed)
        } else {
            for b in 0..<batch {
                let qkvRows = s.wide + b * seq * 3 * w, out = s.normed + b * m * w
                if attentionOnOneDNN, OneDNNAttention.run(qkv: qkvRows, seq: seq, width: w, heads: heads, headDim: headDim, scale: scale,
                                                          mask: mask, queryRows: rows, scores: s.scores, out: out) { continue }
                Attention.run(qkv: qkvRows, seq: seq, width: w, heads: heads, headDim: headDim,
                              scale: scale, mask: mask, queryRows: rows, scores: s.scores, out: out)
            }
        }
        // x[rows] += attn · Woᵀ + bo
        if m == seq {
            attnOut.apply(s.normed, rows: all, into: x, accumulate: true)
        } else {
            for b in 0..<batch {
                attnOut.apply(s.normed + b * m * w, rows: m, into: x + (b * seq + rows.lowerBound) * w, accumulate: true)
            }
        }
        // x[rows] += fc2(act(fc1(ln2(x[rows]))))
        let hidden = self.hidden
        if m == seq {
            norm2.apply(x, rows: all, into: s.normed, parallel: attentionOnOneDNN)
        } else {
            for b in 0..<batch {
                norm2.apply(x + (b * seq + rows.lowerBound) * w, rows: m, into: s.normed + b * m * w)
            }
        }
        let n = batch * m
        fc1.apply(s.normed, rows: n, into: s.wide, activation: activation)
        if m == seq {
            fc2.apply(s.wide, rows: all, into: x, accumulate: true)
        } else {
            for b in 0..<batch {
                fc2.apply(s.wide + b * m * hidden, rows: m, into: x + (b * seq + rows.lowerBound) * w, accumulate: true)
            }
        }
    }

    /// `forward` of the `live` rows of each sequence: the attention of every row (its queries too:
    /// about 5 % of an fp32 block), then its output and the live rows of `x` gathered into their first
    /// `batch * live.count` rows (`LiveRows.gather`), the out-projection, LayerNorm 2 and the MLP on
    /// those rows only (the same arithmetic per row), and the rows moved back (`scatter`).
    private func forward(_ x: UnsafeMutablePointer<Float>, batch: Int, seq: Int, mask: AttentionMask, live: LiveRows,
                         scratch s: BlockScratch) {
        precondition(live.seq == seq && live.count > 0, "forward: live rows of another sequence length")
        let w = width, all = batch * seq, kept = batch * live.count
        norm1.apply(x, rows: all, into: s.normed, parallel: attentionOnOneDNN)
        qkv.apply(s.normed, rows: all, into: s.wide)
        attention(s.wide, batch: batch, seq: seq, mask: mask, scratch: s, into: s.normed)
        live.gather(s.normed, width: w, batch: batch)
        live.gather(x, width: w, batch: batch)
        attnOut.apply(s.normed, rows: kept, into: x, accumulate: true)
        norm2.apply(x, rows: kept, into: s.normed, parallel: attentionOnOneDNN)
        fc1.apply(s.normed, rows: kept, into: s.wide, activation: activation)
        fc2.apply(s.wide, rows: kept, into: x, accumulate: true)
        live.scatter(x, width: w, batch: batch)
    }

    /// `out` `[batch * seq, width]` = the attention of every row of `qkv` `[batch * seq, 3 * width]`:
    /// on oneDNN one (sequence, head) at a time per thread (`OneDNNAttention.runBatch`) in the blocks
    /// that run there, else with OpenBLAS one head at a time.
    func attention(_ qkv: UnsafePointer<Float>, batch: Int, seq: Int, mask: AttentionMask, scratch s: BlockScratch,
                   into out: UnsafeMutablePointer<Float>) {
        let w = width, scale = 1 / Float(headDim).squareRoot()
        if attentionOnOneDNN, OneDNNAttention.runBatch(qkv: qkv, batch: batch, seq: seq, width: w, heads: heads, headDim: headDim,
                                                       scale: scale, mask: mask, out: out, bf16: attentionInBF16) { return }
        for b in 0..<batch {
            Attention.run(qkv: qkv + b * seq * 3 * w, seq: seq, width: w, heads: heads, headDim: headDim, scale: scale,
                          mask: mask, queryRows: 0..<seq, scores: s.scores, out: out + b * seq * w)
        }
    }
}
