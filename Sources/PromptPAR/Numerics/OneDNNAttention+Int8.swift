import COneDNN
import Foundation

/// The attention of an int8 block with int8 products. qkv's rows are quantised as they are made
/// (`PackedQKV8.store`): per token and head, q to u8 (`RowKernels.quantize`), k and v to s8
/// (symmetric, `Int8Quant.weightQMax`). Per (sequence, head), `q·kᵀ` is a one-thread u8·s8 oneDNN
/// matmul; each row of int32 scores is dequantised (times the attention's scale) and through the
/// softmax's exponentials `e = exp(s - max)` (fp32), which, times each value token's scale, become the
/// row's u8 probabilities with the row's scale over `Σ e`; `P·v` is a second u8·s8 matmul, dequantised
/// straight into the output rows.
extension OneDNNAttention {
    /// q, k and v of `batch` sequences quantised per (token, head): values `[batch, 3, heads, seq, d]`
    /// (u8 q, s8 k and v; `packedIndex`), scales and zero points (q) or sums (k, v) `[batch, 3, heads, seq]`.
    /// With `live`, q holds the live tokens only, in the first `live.count` token places.
    struct PackedQKV8 {
        let values: UnsafeMutableRawPointer
        let scales: UnsafeMutablePointer<Float>
        let zeros: UnsafeMutablePointer<Int32>
        let batch: Int, seq: Int, heads: Int, headDim: Int
        let live: LiveRows?
        /// Query tokens per sequence.
        var queries: Int { live?.count ?? seq }

        /// Bytes needed (`values` first, then `scales`, then `zeros`, each 64-byte aligned).
        static func bytes(batch: Int, seq: Int, heads: Int, headDim: Int) -> Int {
            let values = (batch * 3 * heads * seq * headDim + 63) & ~63, meta = (batch * 3 * heads * seq * 4 + 63) & ~63
            return values + 2 * meta
        }

        /// Carves the buffers out of `base` (at least `bytes` long).
        init(_ base: UnsafeMutableRawPointer, batch: Int, seq: Int, heads: Int, headDim: Int, live: LiveRows? = nil) {
            let values = (batch * 3 * heads * seq * headDim + 63) & ~63, meta = (batch * 3 * heads * seq * 4 + 63) & ~63
            self.values = base
            scales = (base + values).bindMemory(to: Float.self, capacity: batch * 3 * heads * seq)
            zeros = (base + values + meta).bindMemory(to: Int32.self, capacity: batch * 3 * heads * seq)
            self.batch = batch; self.seq = seq; self.heads = heads; self.headDim = headDim; self.live = live
        }

        /// The index of `(batch b, part, head h)`'s first token in `scales` and `zeros`.
        @inline(__always)
        func meta(batch b: Int, part: Int, head h: Int) -> Int { ((b * 3 + part) * heads + h) * seq }

        /// Quantises row `r` (`[3 * heads * headDim]` floats: q, k, v) of the `batch * seq` rows.
        @inline(__always)
        func store(_ row: UnsafePointer<Float>, row r: Int, qmax: Int) {
            let b = r / seq, j = r % seq, d = headDim, w = heads * d
            let first = packedIndex(batch: b, part: 0, head: 0, token: j, seq: seq, heads: heads, headDim: d)
            let at = meta(batch: b, part: 0, head: 0) + j
            let query = live.map { Int($0.index[j]) } ?? j
            if query >= 0 {
                let q = packedIndex(batch: b, part: 0, head: 0, token: query, seq: seq, heads: heads, headDim: d)
                let qAt = meta(batch: b, part: 0, head: 0) + query
                ReducedRows.quantizeSlices(row, slices: heads, length: d, into: values.assumingMemoryBound(to: UInt8.self) + q,
                                           stride: seq * d, scales: scales + qAt, zeros: zeros + qAt, metaStride: seq)
            }
            // k and v: one run of 2 x heads slices, in the row and in the packed layout alike.
            ReducedRows.quantizeSlicesSymmetric(row + w, slices: 2 * heads, length: d, qmax: qmax,
                                                into: values.assumingMemoryBound(to: Int8.self) + first + heads * seq * d,
                                                stride: seq * d, scales: scales + at + heads * seq, sums: zeros + at + heads * seq,
                                                metaStride: seq)
        }
    }

    /// The one-thread int8 products of `runBatchInt8` for `m` queries of a `seq`-token sequence, or nil
    /// if oneDNN has none here.
    static func int8Products(seq: Int, m: Int, headDim d: Int) -> Products? {
        products(Key(seq: seq, m: m, width: d, heads: 1, headDim: d, scale: 1, bf16: false, single: true, int8: true))
    }

    /// Byte offsets of one thread's buffers in `runBatchInt8`, each 64-byte aligned.
    private struct Int8Unit {
        let scores = 0, probs: Int, row: Int, kScales: Int, pScales: Int, ones: Int, zeros: Int, dense: Int, pad: Int, total: Int

        init(seq: Int, headDim d: Int, padBytes: Int) {
            func aligned(_ n: Int) -> Int { (n + 63) & ~63 }
            var at = aligned(seq * seq * 4)
            func next(_ bytes: Int) -> Int { defer { at += aligned(bytes) }; return at }
            probs = next(seq * seq); row = next(seq * 4); kScales = next(seq * 4); pScales = next(seq * 4)
            ones = next(d * 4); zeros = next(d * 4); dense = next(seq * d * 4); pad = next(padBytes)
            total = at
        }
    }

    /// `runBatch` for the `packed.batch` whole sequences of `packed` with int8 products, into `out`
    /// `[batch * queries, width]` (the live rows only where `packed.live` says); each (sequence, head)
    /// on whichever of oneDNN's threads is free.
    /// Returns false (nothing written) if oneDNN has no such products.
    static func runBatchInt8(_ packed: PackedQKV8, scale: Float, mask: AttentionMask, out: UnsafeMutablePointer<Float>) -> Bool {
        let (batch, seq, heads, d, m) = (packed.batch, packed.seq, packed.heads, packed.headDim, packed.queries)
        guard batch > 0, seq > 0, OneDNN.engine != nil, let p = int8Products(seq: seq, m: m, headDim: d) else { return false }
        let at = Int8Unit(seq: seq, headDim: d, padBytes: p.padBytes), width = heads * d
        let calling = pthread_self()
        let positions = packed.live?.positions
        TeamParallel.rows(batch * heads, chunk: 1) { units in mask.pairs.withUnsafeBufferPointer { visible in
            let pool = ScratchPool.shared, scratch = pool.take()
            defer { pool.give(scratch) }
            let base = scratch.reserve(at.total)
            func floats(_ offset: Int, _ count: Int) -> UnsafeMutablePointer<Float> { (base + offset).bindMemory(to: Float.self, capacity: count) }
            func ints(_ offset: Int, _ count: Int) -> UnsafeMutablePointer<Int32> { (base + offset).bindMemory(to: Int32.self, capacity: count) }
            let scores = ints(at.scores, seq * seq), row = floats(at.row, seq), kScales = floats(at.kScales, seq)
            let probs = (base + at.probs).bindMemory(to: UInt8.self, capacity: seq * seq), pScales = floats(at.pScales, seq)
            let ones = floats(at.ones, d), zeros = ints(at.zeros, d), dense = ints(at.dense, seq * d)
            ones.update(repeating: 1, count: d)
            zeros.update(repeating: 0, count: d)
            let product = UnitProduct(pad: base + at.pad, timed: pthread_equal(pthread_self(), calling) != 0,
                                      what: "an int8 attention product")
            for unit in units {
                let b = unit / heads, h = unit % heads
                func values(_ part: Int) -> UnsafeMutableRawPointer {
                    packed.values + packedIndex(batch: b, part: part, head: h, token: 0, seq: seq, heads: heads, headDim: d)
                }
                let q = packed.meta(batch: b, part: 0, head: h), k = packed.meta(batch: b, part: 1, head: h)
                let v = packed.meta(batch: b, part: 2, head: h)
                for j in 0..<seq { kScales[j] = packed.scales[k + j] * scale }
                product.run(p.scores, p.scoresPad, (p.q, values(0)), (p.kT, values(1)), (p.s, UnsafeMutableRawPointer(scores)))
                for i in 0..<m {
                    let token = positions?[i] ?? i
                    // P v = Σ_j (e_j / total) v_j with v_j = scale_j · s8_j: each token's scale folded into e_j.
                    let (step, total) = ReducedRows.probabilities(scores + i * seq, columns: seq, rowScale: packed.scales[q + i],
                                                                  rowZero: packed.zeros[q + i], columnScales: kScales,
                                                                  columnSums: packed.zeros + k, visible: visible[2 * token],
                                                                  visible[2 * token + 1], valueScales: packed.scales + v,
                                                                  row: row, into: probs + i * seq)
                    pScales[i] = step / total
                }
                product.run(p.mix, p.mixPad, (p.sIn, UnsafeMutableRawPointer(probs)), (p.v, values(2)), (p.out, UnsafeMutableRawPointer(dense)))
                let o = out + b * m * width + h * d
                for i in 0..<m {
                    ReducedRows.dequantize(dense + i * d, n: d, rowScale: pScales[i], rowZero: 0, columnScales: ones,
                                           columnSums: zeros, beta: 0, into: o + i * width)
                }
            }
        }}
        return true
    }
}
