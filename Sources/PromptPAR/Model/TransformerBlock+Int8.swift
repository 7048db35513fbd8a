/// The forward pass of a block whose four Linear layers are int8 (oneDNN), in fewer passes over memory.
extension TransformerBlock {
    /// The int8 weights of qkv, attnOut, fc1 and fc2 when all four are int8 with a bias and the
    /// attention runs on oneDNN (the vision blocks of an int8 model without `--fp32-layers` among
    /// them); nil otherwise.
    var int8Layers: (qkv: ReducedWeights, attnOut: ReducedWeights, fc1: ReducedWeights, fc2: ReducedWeights)? {
        guard attentionOnOneDNN, let a = qkv.reduced, let b = attnOut.reduced, let c = fc1.reduced, let d = fc2.reduced,
              [a, b, c, d].allSatisfy({ $0.kind == .int8 }),
              qkv.bias != nil, attnOut.bias != nil, fc1.bias != nil, fc2.bias != nil else { return nil }
        return (a, b, c, d)
    }

    /// `forward` of every row of `x` `[batch, seq, width]` with the int8 `layers`: the same arithmetic
    /// in the same order as the layer-by-layer path (bit for bit its results), with the passes fused:
    /// - each LayerNorm row is quantised while in cache (no fp32 normalised rows in memory);
    /// - fc1's int32 products go through dequantisation, bias and activation to fc2's u8 input one
    ///   row at a time (the fp32 hidden layer, `[rows, hidden]` floats, is never written);
    /// - attnOut's, fc1's and fc2's products land in `wide`, which is free then.
    func forwardInt8(_ x: UnsafeMutablePointer<Float>, batch: Int, seq: Int, mask: AttentionMask, scratch s: BlockScratch,
                     layers: (qkv: ReducedWeights, attnOut: ReducedWeights, fc1: ReducedWeights, fc2: ReducedWeights)) {
        let w = width, hidden = self.hidden, all = batch * seq
        let scale = 1 / Float(headDim).squareRoot()
        let pool = ScratchPool.shared, buffers = pool.take()
        defer { pool.give(buffers) }
        // u8 rows [all, max(w, hidden)], then their scales and zero points [all] each, then qkv's int32 products.
        let valueBytes = (all * max(w, hidden) + 63) & ~63, rowBytes = (all * 8 + 63) & ~63
        let base = buffers.reserve(valueBytes + rowBytes + all * 3 * w * 4)
        let q = QuantizedRows(values: base.bindMemory(to: UInt8.self, capacity: all * max(w, hidden)),
                              scales: (base + valueBytes).bindMemory(to: Float.self, capacity: all),
                              zeros: (base + valueBytes + all * 4).bindMemory(to: Int32.self, capacity: all), k: w)
        let qkvProducts = (base + valueBytes + rowBytes).bindMemory(to: Int32.self, capacity: all * 3 * w)

        /// `q` = the rows of `x` through `norm`, quantised.
        func normalisedAndQuantised(_ norm: LayerNorm) {
            norm.gamma.withUnsafeBufferPointer { g in
                norm.beta.withUnsafeBufferPointer { b in
                    TeamParallel.rows(all) { rows in
                        Self.withRow(w) { row in
                            for r in rows {
                                Elementwise.layerNorm(x + r * w, ldx: w, rows: 1, n: w, gamma: g.baseAddress!, beta: b.baseAddress!,
                                                      eps: norm.eps, out: row, ldo: w)
                                q.store(row, row: r)
                            }
                        }
                    }
                }
            }
        }
        /// `x[r] += dequantised products + bias` for the rows of `input` through `layer` (attnOut, fc2).
        func residual(_ layer: ReducedWeights, _ linear: Linear, input: QuantizedRows) {
            linear.bias.withUnsafeBufferPointerOrNil { bias in
                s.wide.withMemoryRebound(to: Int32.self, capacity: all * w) { acc in
                    layer.int8Product(m: all, a: input, acc: acc) { rows in
                        for r in rows {
                            layer.dequantize(acc + r * w, row: r, of: input, beta: 1, into: x + r * w)
                            Elementwise.addBias(x + r * w, rows: 1, n: w, bias: bias!)
                        }
                    }
                }
            }
        }

        // x += attnOut(attention(qkv(ln1(x))))
        normalisedAndQuantised(norm1)
        qkv.bias.withUnsafeBufferPointerOrNil { bias in
            layers.qkv.int8Product(m: all, a: q, acc: qkvProducts) { rows in
                for r in rows {
                    let out = s.wide + r * 3 * w
                    layers.qkv.dequantize(qkvProducts + r * 3 * w, row: r, of: q, beta: 0, into: out)
                    Elementwise.addBias(out, rows: 1, n: 3 * w, bias: bias!)
                }
            }
        }
        // The attention's rows quantised as they come out (attnOut's input).
        for b in 0..<batch {
            let qkvRows = s.wide + b * seq * 3 * w, out = s.normed + b * seq * w
            let quantised = { (i: Int, row: UnsafeMutablePointer<Float>) in q.store(row, row: b * seq + i) }
            if OneDNNAttention.run(qkv: qkvRows, seq: seq, width: w, heads: heads, headDim: headDim, scale: scale,
                                   mask: mask, queryRows: 0..<seq, scores: s.scores, out: out, finishedRow: quantised) { continue }
            Attention.run(qkv: qkvRows, seq: seq, width: w, heads: heads, headDim: headDim,
                          scale: scale, mask: mask, queryRows: 0..<seq, scores: s.scores, out: out)
            TeamParallel.rows(seq) { rows in for i in rows { quantised(i, out + i * w) } }
        }
        residual(layers.attnOut, attnOut, input: q)

        // x += fc2(act(fc1(ln2(x)))): fc1's rows become fc2's u8 input in place of fc1's own (read by then).
        normalisedAndQuantised(norm2)
        let h = q.reshaped(k: hidden)
        let activation = self.activation
        fc1.bias.withUnsafeBufferPointerOrNil { bias in
            s.wide.withMemoryRebound(to: Int32.self, capacity: all * hidden) { acc in
                layers.fc1.int8Product(m: all, a: q, acc: acc) { rows in
                    Self.withRow(hidden) { row in
                        for r in rows {
                            layers.fc1.dequantize(acc + r * hidden, row: r, of: q, beta: 0, into: row)
                            switch activation {
                            case .quickGELU: Elementwise.biasQuickGELU(row, rows: 1, n: hidden, bias: bias!)
                            case .gelu: Elementwise.biasGELU(row, rows: 1, n: hidden, bias: bias!)
                            }
                            h.store(row, row: r)
                        }
                    }
                }
            }
        }
        residual(layers.fc2, fc2, input: h)
    }

    /// Runs `body` with a row of `count` floats of scratch for the calling thread (from the pool: no
    /// allocation once every thread has had one).
    private static func withRow(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let pool = ScratchPool.shared, scratch = pool.take()
        defer { pool.give(scratch) }
        body(scratch.reserve(count * 4).bindMemory(to: Float.self, capacity: count))
    }
}
