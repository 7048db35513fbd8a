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
    /// in the same order as the layer-by-layer path (bit for bit its results), in three parallel
    /// regions instead of one per step. Everything but the attention works row by row, so each region
    /// takes pieces of rows (`ReducedWeights.pieceRows`), each on whichever thread is free, through all
    /// its steps while they are in that core's cache:
    /// 1. LayerNorm 1, each row quantised as it is normalised; qkv's products, dequantised with bias and
    ///    packed per head for the attention;
    /// 2. the attention, one (sequence, head) per thread (`OneDNNAttention.runBatch`);
    /// 3. its rows quantised; attnOut's products added to `x` with bias; LayerNorm 2, quantised; fc1's
    ///    products through bias and activation to fc2's u8 input (the fp32 hidden layer, `[rows, hidden]`
    ///    floats, is never written); fc2's products added to `x` with bias.
    ///
    /// With `live`, steps 2 and 3 compute the live rows of each sequence only (their queries; keys and
    /// values come from every row); the other rows of `x` are left as they were (here). With `prompts`
    /// (and int8 attention products), step 1 computes the rows that are not prompts only and takes the
    /// prompt rows' q, k and v from `prompts` (the same bits: they are the same for every image).
    func forwardInt8(_ x: UnsafeMutablePointer<Float>, batch: Int, seq: Int, mask: AttentionMask, live: LiveRows? = nil,
                     prompts: PromptQKV8? = nil, scratch s: BlockScratch,
                     layers: (qkv: ReducedWeights, attnOut: ReducedWeights, fc1: ReducedWeights, fc2: ReducedWeights)) {
        let w = width, hidden = self.hidden, all = batch * seq
        precondition(live.map { $0.seq == seq && $0.count > 0 } ?? true, "forwardInt8: live rows of another sequence length")
        /// Live rows (`[batch * count]`, sequence after sequence) and the row of `x` each stands for.
        let kept = batch * (live?.count ?? seq)
        @inline(__always) func row(_ c: Int) -> Int { live.map { $0.row(c) } ?? c }
        let pool = ScratchPool.shared, buffers = pool.take()
        defer { pool.give(buffers) }
        // The inputs of qkv, attnOut and fc1 (u8 `[all, w]`; a piece rewrites its own rows only) and fc2's
        // (`[all, hidden]`), each followed by its scales and zero points (`[all]` each).
        func rows(at offset: Int, k: Int) -> QuantizedRows {
            let values = (k * all + 63) & ~63
            return QuantizedRows(values: (base + offset).bindMemory(to: UInt8.self, capacity: all * k),
                                 scales: (base + offset + values).bindMemory(to: Float.self, capacity: all),
                                 zeros: (base + offset + values + all * 4).bindMemory(to: Int32.self, capacity: all), k: k)
        }
        let qBytes = ((w * all + 63) & ~63) + ((all * 8 + 63) & ~63)
        let base = buffers.reserve(qBytes + ((hidden * all + 63) & ~63) + all * 8)
        let q = rows(at: 0, k: w), h = rows(at: qBytes, k: hidden)
        // With int8 attention products, qkv's rows go straight into q, k and v quantised per (token, head)
        // in `wide` (`PackedQKV8`).
        let packed8: OneDNNAttention.PackedQKV8? = attentionInInt8 && !attentionInBF16
            && OneDNNAttention.int8Products(seq: seq, m: live?.count ?? seq, headDim: headDim) != nil
            ? OneDNNAttention.PackedQKV8(UnsafeMutableRawPointer(s.wide), batch: batch, seq: seq, heads: heads, headDim: headDim,
                                         live: live) : nil
        /// The rows step 1 computes: all but the prompts where their q, k, v are given.
        let computed = packed8 != nil ? prompts?.others : nil
        precondition(computed.map { $0.seq == seq } ?? true, "forwardInt8: prompt rows of another sequence length")
        let firstRows = batch * (computed?.count ?? seq)
        @inline(__always) func source(_ c: Int) -> Int { computed.map { $0.row(c) } ?? c }
        let qkvPieces = layers.qkv.pieces(m: firstRows)
        let attnOutPieces = layers.attnOut.pieces(m: kept)
        let fc1Pieces = layers.fc1.pieces(m: kept), fc2Pieces = layers.fc2.pieces(m: kept)
        let scratchBytes = [qkvPieces, attnOutPieces, fc1Pieces, fc2Pieces].map(\.scratchBytes).max() ?? 0

        /// Rows `rows` of `q` = rows `from(r)` of `x` through `norm`, quantised.
        func normalisedAndQuantised(_ norm: LayerNorm, _ rows: Range<Int>, from: (Int) -> Int) {
            norm.gamma.withUnsafeBufferPointer { g in
                norm.beta.withUnsafeBufferPointer { b in
                    Self.withRow(w) { normed in
                        for r in rows {
                            Elementwise.layerNorm(x + from(r) * w, ldx: w, rows: 1, n: w, gamma: g.baseAddress!,
                                                  beta: b.baseAddress!, eps: norm.eps, out: normed, ldo: w)
                            q.store(normed, row: r)
                        }
                    }
                }
            }
        }
        /// `x[row(c)] += dequantised products + bias` for live rows `rows` of `input` through `layer` (attnOut, fc2).
        func residual(_ layer: ReducedWeights, _ linear: Linear, _ pieces: ReducedWeights.Pieces, _ rows: Range<Int>,
                      input: QuantizedRows, scratch: UnsafeMutableRawPointer) {
            let acc = layer.int8Piece(rows, of: pieces, a: input, scratch: scratch)
            linear.bias.withUnsafeBufferPointerOrNil { bias in
                for r in rows {
                    layer.dequantize(acc + (r - rows.lowerBound) * w, row: r, of: input, beta: 1, bias: bias, into: x + row(r) * w)
                }
            }
        }

        // 1. qkv(ln1(x)). Where the attention runs on oneDNN, qkv's rows go straight into its packed
        // q, k, v in `wide` (int8 above; else bf16 on AMX, or fp32): no fp32 qkv rows through memory.
        let scale = 1 / Float(headDim).squareRoot(), bf16 = attentionInBF16
        let packed = OneDNNAttention.batchProducts(seq: seq, headDim: headDim, scale: scale, bf16: bf16) != nil
            ? UnsafeMutableRawPointer(s.wide) : nil
        precondition(packed8 == nil
                     || OneDNNAttention.PackedQKV8.bytes(batch: batch, seq: seq, heads: heads, headDim: headDim) <= all * max(3 * w, hidden) * 4,
                     "int8 attention: q, k, v do not fit the block's scratch")
        let qmax = Int8Quant.weightQMax
        ReducedWeights.forEachPiece(m: firstRows) { rows in
            let scratch = pool.take()
            defer { pool.give(scratch) }
            normalisedAndQuantised(norm1, rows, from: source)
            let acc = layers.qkv.int8Piece(rows, of: qkvPieces, a: q, scratch: scratch.reserve(scratchBytes))
            qkv.bias.withUnsafeBufferPointerOrNil { bias in
                if let packed8 {
                    Self.withRow(3 * w) { row in
                        for r in rows {
                            layers.qkv.dequantize(acc + (r - rows.lowerBound) * 3 * w, row: r, of: q, beta: 0, bias: bias, into: row)
                            packed8.store(row, row: source(r), qmax: qmax)
                        }
                    }
                    return
                }
                guard let packed else {
                    for r in rows {
                        let out = s.wide + r * 3 * w
                        layers.qkv.dequantize(acc + (r - rows.lowerBound) * 3 * w, row: r, of: q, beta: 0, bias: bias, into: out)
                    }
                    return
                }
                let packedBF16 = bf16 ? packed.bindMemory(to: UInt16.self, capacity: 3 * all * w) : nil
                let packedF32 = bf16 ? nil : packed.bindMemory(to: Float.self, capacity: 3 * all * w)
                Self.withRow(3 * w) { row in
                    for r in rows {
                        layers.qkv.dequantize(acc + (r - rows.lowerBound) * 3 * w, row: r, of: q, beta: 0, bias: bias, into: row)
                        if let packedF32 {
                            // The row's 3 x heads slices, `seq * headDim` apart in the packed q, k, v.
                            let first = OneDNNAttention.packedIndex(batch: r / seq, part: 0, head: 0, token: r % seq,
                                                                    seq: seq, heads: heads, headDim: headDim)
                            ReducedRows.copyRows(row, fromStride: headDim, into: packedF32 + first, toStride: seq * headDim,
                                                 rows: 3 * heads, length: headDim)
                            continue
                        }
                        for part in 0..<3 {
                            for head in 0..<heads {
                                let from = row + part * w + head * headDim
                                let index = OneDNNAttention.packedIndex(batch: r / seq, part: part, head: head, token: r % seq,
                                                                        seq: seq, heads: heads, headDim: headDim)
                                if let packedBF16 { BF16.convert(from, count: headDim, into: packedBF16 + index) }
                            }
                        }
                    }
                }
            }
        }
        if let prompts, let packed8, computed != nil {
            for b in 0..<batch { prompts.copy(into: packed8, batch: b) }
        }
        // 2. The attention into `normed`: with int8 products, of the live rows only (`[kept, w]`).
        if let packed8 {
            let done = OneDNNAttention.runBatchInt8(packed8, scale: scale, mask: mask, out: s.normed)
            precondition(done, "oneDNN: the attention's int8 products, available a moment ago, failed")
        } else if let packed {
            let done = OneDNNAttention.runBatch(qkv: s.wide, packed: packed, batch: batch, seq: seq, width: w, heads: heads,
                                                headDim: headDim, scale: scale, mask: mask, out: s.normed, bf16: bf16)
            precondition(done, "oneDNN: the attention's products, available a moment ago, failed")
        } else {
            attention(s.wide, batch: batch, seq: seq, mask: mask, scratch: s, into: s.normed)
        }
        // 3. x += attnOut(attention); x += fc2(act(fc1(ln2(x)))), a piece of live rows at a time.
        let activation = self.activation, attentionKept = packed8 != nil
        ReducedWeights.forEachPiece(m: kept) { rows in
            let scratch = pool.take()
            defer { pool.give(scratch) }
            let work = scratch.reserve(scratchBytes)
            for r in rows { q.store(s.normed + (attentionKept ? r : row(r)) * w, row: r) }
            residual(layers.attnOut, attnOut, attnOutPieces, rows, input: q, scratch: work)
            normalisedAndQuantised(norm2, rows, from: row)
            let acc = layers.fc1.int8Piece(rows, of: fc1Pieces, a: q, scratch: work)
            fc1.bias.withUnsafeBufferPointerOrNil { bias in
                Self.withRow(hidden) { row in
                    for r in rows {
                        let products = acc + (r - rows.lowerBound) * hidden
                        switch activation {
                        case .quickGELU where hidden % 64 == 0:
                            layers.fc1.dequantizeQuickGELU(products, row: r, of: q, bias: bias!, row: row, into: h)
                        case .quickGELU:
                            layers.fc1.dequantize(products, row: r, of: q, beta: 0, bias: nil, into: row)
                            ReducedRows.biasQuickGELU(row, rows: 1, n: hidden, bias: bias!)
                            h.store(row, row: r)
                        case .gelu:
                            layers.fc1.dequantize(products, row: r, of: q, beta: 0, bias: nil, into: row)
                            Elementwise.biasGELU(row, rows: 1, n: hidden, bias: bias!)
                            h.store(row, row: r)
                        }
                    }
                }
            }
            residual(layers.fc2, fc2, fc2Pieces, rows, input: h, scratch: work)
        }
    }

    /// Runs `body` with a row of `count` floats of scratch for the calling thread (from the pool: no
    /// allocation once every thread has had one).
    private static func withRow(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let pool = ScratchPool.shared, scratch = pool.take()
        defer { pool.give(scratch) }
        body(scratch.reserve(count * 4).bindMemory(to: Float.self, capacity: count))
    }
}
