/// The vision-language fusion and the attribute heads (spec §4).
public struct Fusion: Sendable {
    /// How the `[A + T, Dm]` sequence is mixed.
    enum Mixer: Sendable {
        /// `mm_layers` ViT blocks (`--use_mm_former`, every released model).
        case transformer([TransformerBlock])
        /// `linear_layer [A, A+T]` along the sequence axis (models trained without the fusion transformer).
        case linear(Linear)
    }

    let visualEmbed: Linear
    let mixer: Mixer
    let norm: LayerNorm
    /// `[A, Dm]`: `weight_layer.i.weight` stacked; `[A]` their biases.
    let headWeights: [Float]
    let headBiases: [Float]
    /// BatchNorm1d (eval) folded: `logit * bnScale + bnShift`, `[A]` each.
    let bnScale: [Float]
    let bnShift: [Float]
    /// `[A, Dm]`: `word_embed(text features)`, the same for every image, computed at load.
    let textRows: [Float]
    let attributes: Int
    let width: Int

    var hidden: Int {
        if case .transformer(let blocks) = mixer, let first = blocks.first { return first.hidden }
        return 4 * width
    }

    struct Buffers {
        /// `[batch, A + T, Dm]`.
        let sequence: UnsafeMutablePointer<Float>
        let scratch: BlockScratch
        /// `[batch, A, Dm]`.
        let normed: UnsafeMutablePointer<Float>

        static func sizes(_ f: Fusion, tokens: Int, batch: Int) -> [Int] {
            let seq = f.attributes + tokens
            return [batch * seq * f.width, batch * f.attributes * f.width]
                + BlockScratch.sizes(batch: batch, seq: seq, width: f.width, hidden: f.hidden)
        }

        init(_ ws: Workspace, _ f: Fusion, tokens: Int, batch: Int) {
            let seq = f.attributes + tokens
            sequence = ws.carve(batch * seq * f.width)
            normed = ws.carve(batch * f.attributes * f.width)
            scratch = BlockScratch(ws, batch: batch, seq: seq, width: f.width, hidden: f.hidden)
        }
    }

    /// BN logits `[batch, A]` from visual tokens `[batch, T, E]`.
    func forward(visualTokens: UnsafePointer<Float>, tokens t: Int, batch: Int, buffers bu: Buffers,
                 logits: UnsafeMutablePointer<Float>) {
        let a = attributes, dm = width, seq = a + t, e = visualEmbed.inFeatures
        for b in 0..<batch {
            let s = bu.sequence + b * seq * dm
            textRows.withUnsafeBufferPointer { s.update(from: $0.baseAddress!, count: a * dm) }
            visualEmbed.apply(visualTokens + b * t * e, rows: t, into: s + a * dm)
        }
        switch mixer {
        case .transformer(let blocks):
            let mask = AttentionMask.full(rows: seq, columns: seq)
            for (i, block) in blocks.enumerated() {
                let last = i == blocks.count - 1
                block.forward(bu.sequence, batch: batch, seq: seq, mask: mask,
                              outputRows: last ? 0..<a : nil, scratch: bu.scratch)
            }
            for b in 0..<batch {
                norm.apply(bu.sequence + b * seq * dm, rows: a, into: bu.normed + b * a * dm)
            }
        case .linear(let mix):
            // out[A, Dm] = W[A, A+T] · x[A+T, Dm] + b
            mix.weight.withUnsafeBufferPointer { w in
                for b in 0..<batch {
                    let out = bu.scratch.normed + b * a * dm
                    GEMM.ab(m: a, n: dm, k: seq, a: w.baseAddress!, lda: seq, b: bu.sequence + b * seq * dm, ldb: dm,
                            beta: 0, c: out, ldc: dm)
                    if let bias = mix.bias {
                        for i in 0..<a { for j in 0..<dm { out[i * dm + j] += bias[i] } }
                    }
                    norm.apply(out, rows: a, into: bu.normed + b * a * dm)
                }
            }
        }
        // Attribute i reads row i only, then BatchNorm.
        headWeights.withUnsafeBufferPointer { hw in
            for b in 0..<batch {
                let rows = bu.normed + b * a * dm
                for i in 0..<a {
                    var dot: Float = 0
                    let wr = hw.baseAddress! + i * dm, xr = rows + i * dm
                    for j in 0..<dm { dot += wr[j] * xr[j] }
                    logits[b * a + i] = (dot + headBiases[i]) * bnScale[i] + bnShift[i]
                }
            }
        }
    }
}
