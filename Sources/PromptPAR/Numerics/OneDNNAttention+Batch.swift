import COneDNN
import Foundation

extension OneDNNAttention {
    /// Bytes of one thread's buffers in `runBatch`: scores f32 `[seq, seq]` and bf16, q, k, v of one
    /// head `[seq, d]` each, its output `[seq, d]` f32, and the products' scratchpad.
    private static func unitBytes(seq: Int, headDim d: Int, bf16: Bool, pad: Int) -> (scores: Int, scoresBF16: Int, qkv: Int, dense: Int, total: Int) {
        func aligned(_ n: Int) -> Int { (n + 63) & ~63 }
        let e = bf16 ? 2 : 4
        let scores = aligned(seq * seq * 4), scoresBF16 = bf16 ? aligned(seq * seq * 2) : 0
        let qkv = aligned(seq * d * e), dense = aligned(seq * d * 4)
        return (scores, scoresBF16, qkv, dense, scores + scoresBF16 + 3 * qkv + dense + aligned(pad))
    }

    /// `Attention.run` for `batch` whole sequences (every row a query) of the packed `qkv` rows
    /// `[batch * seq, 3 * width]` into `out` `[batch * seq, width]`: each (sequence, head) pair goes to
    /// whichever of oneDNN's threads is free, which packs its q, k and v, runs both products as
    /// one-thread oneDNN matmuls (a scratchpad of its own, no lock) and the softmax between them while
    /// its scores (`seq²` floats, 0.38 MiB at 311 tokens) are in its cache. No thread waits at a join
    /// inside the attention, and no scores matrix of all heads goes through memory.
    /// With `packed`, q, k and v come already packed (`packedIndex`, bf16 or f32 as `bf16` says) and
    /// `qkv` is not read.
    /// Returns false (nothing written) if oneDNN has no such products; the caller falls back.
    static func runBatch(qkv: UnsafePointer<Float>, packed: UnsafeRawPointer? = nil, batch: Int, seq: Int, width: Int, heads: Int,
                         headDim d: Int, scale: Float, mask: AttentionMask, out: UnsafeMutablePointer<Float>,
                         bf16: Bool = OneDNNAttention.bf16) -> Bool {
        guard batch > 0, seq > 0, OneDNN.engine != nil,
              let p = batchProducts(seq: seq, headDim: d, scale: scale, bf16: bf16) else { return false }
        let sizes = unitBytes(seq: seq, headDim: d, bf16: bf16, pad: p.padBytes)
        let ld = 3 * width
        let calling = pthread_self()
        TeamParallel.rows(batch * heads, chunk: 1) { units in mask.pairs.withUnsafeBufferPointer { visible in
            let pool = ScratchPool.shared, scratch = pool.take()
            defer { pool.give(scratch) }
            let base = scratch.reserve(sizes.total)
            let scores = base.bindMemory(to: Float.self, capacity: seq * seq)
            let sb = base + sizes.scores
            let qp = sb + sizes.scoresBF16, kp = qp + sizes.qkv, vp = kp + sizes.qkv
            let dense = (vp + sizes.qkv).bindMemory(to: Float.self, capacity: seq * d)
            let pad = vp + sizes.qkv + sizes.dense
            let product = UnitProduct(pad: pad, timed: pthread_equal(pthread_self(), calling) != 0, what: "an attention product")
            for unit in units {
                let b = unit / heads, h = unit % heads
                let e = bf16 ? 2 : 4
                var (qp, kp, vp) = (qp, kp, vp)
                if let packed {
                    qp = UnsafeMutableRawPointer(mutating: packed) + packedIndex(batch: b, part: 0, head: h, token: 0, seq: seq, heads: heads, headDim: d) * e
                    kp = UnsafeMutableRawPointer(mutating: packed) + packedIndex(batch: b, part: 1, head: h, token: 0, seq: seq, heads: heads, headDim: d) * e
                    vp = UnsafeMutableRawPointer(mutating: packed) + packedIndex(batch: b, part: 2, head: h, token: 0, seq: seq, heads: heads, headDim: d) * e
                }
                let rows = qkv + b * seq * ld + h * d
                for j in 0..<seq where packed == nil {
                    let row = rows + j * ld
                    if bf16 {
                        BF16.convert(row, count: d, into: qp.assumingMemoryBound(to: UInt16.self) + j * d)
                        BF16.convert(row + width, count: d, into: kp.assumingMemoryBound(to: UInt16.self) + j * d)
                        BF16.convert(row + 2 * width, count: d, into: vp.assumingMemoryBound(to: UInt16.self) + j * d)
                    } else {
                        ReducedRows.copyRows(row, fromStride: width, into: qp.assumingMemoryBound(to: Float.self) + j * d,
                                             toStride: sizes.qkv / 4, rows: 3, length: d)
                    }
                }
                // scores = q · kᵀ * scale, softmaxed row by row (to bf16 on AMX), then · v.
                product.run(p.scores, p.scoresPad, (p.q, qp), (p.kT, kp), (p.s, UnsafeMutableRawPointer(scores)))
                for i in 0..<seq {
                    ReducedRows.softmax(scores + i * seq, columns: seq, visible: visible[2 * i], visible[2 * i + 1],
                                        bf16: bf16 ? sb.assumingMemoryBound(to: UInt16.self) + i * seq : nil)
                }
                product.run(p.mix, p.mixPad, (p.sIn, bf16 ? sb : UnsafeMutableRawPointer(scores)), (p.v, vp),
                        (p.out, UnsafeMutableRawPointer(dense)))
                let o = out + b * seq * width + h * d
                ReducedRows.copyRows(dense, fromStride: d, into: o, toStride: width, rows: seq, length: d)
            }
        }}
        return true
    }

    /// How a (sequence, head) unit runs its products: one-thread executions on the thread's stream with
    /// the unit's scratchpad, timed (`GEMM.timed`) on the thread that called `runBatch` only.
    struct UnitProduct {
        let pad: UnsafeMutableRawPointer
        let timed: Bool
        let what: String

        func run(_ primitive: dnnl_primitive_t, _ padMD: dnnl_memory_desc_t, _ src: (dnnl_memory_desc_t, UnsafeMutableRawPointer),
                 _ wei: (dnnl_memory_desc_t, UnsafeMutableRawPointer), _ dst: (dnnl_memory_desc_t, UnsafeMutableRawPointer)) {
            func execute() {
                OneDNN.executeOnThisThread(primitive, stream: OneDNN.threadStream(), src: src, weights: .buffer(wei), dst: dst,
                                           scratchpad: (padMD, pad), what: what)
            }
            if timed { GEMM.timed(execute) } else { execute() }
        }
    }

    /// The element index of token `token` of head `head` of q (`part` 0), k (1) or v (2) of sequence
    /// `batch` in packed q, k, v: `[batch, 3, heads, seq, headDim]`.
    @inline(__always)
    static func packedIndex(batch b: Int, part: Int, head h: Int, token j: Int, seq: Int, heads: Int, headDim d: Int) -> Int {
        ((b * 3 + part) * heads + h) * seq * d + j * d
    }

    /// The one-thread products of `runBatch` for this shape, or nil if oneDNN has none here.
    static func batchProducts(seq: Int, headDim d: Int, scale: Float, bf16: Bool = OneDNNAttention.bf16) -> Products? {
        products(Key(seq: seq, m: seq, width: d, heads: 1, headDim: d, scale: scale, bf16: bf16, single: true))
    }
}
