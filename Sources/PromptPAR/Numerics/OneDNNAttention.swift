import COneDNN
import Foundation

/// The two products of one sequence's attention, all heads in one oneDNN fp32 matmul each (batched
/// over heads, reading q, k and v in place from the packed `qkv` rows), for the vision blocks of a
/// bf16 or int8 model (and of an fp32 one whose Linear layers run on oneDNN). There the Linear layers
/// already run on oneDNN's OpenMP threads; doing the attention products there too keeps OpenBLAS's
/// threads asleep instead of both pools spinning over two cores, and runs the heads in parallel
/// instead of one small GEMM at a time. The arithmetic of
/// `Attention.run` (the same softmax, in fp32), the products in fp32 or, on AMX, with bf16 inputs.
enum OneDNNAttention {
    /// One shape: `m` query rows of a `seq`-token sequence, `heads` heads of `headDim`.
    struct Key: Hashable {
        let seq: Int, m: Int, width: Int, heads: Int, headDim: Int
        let scale: Float
        /// q, k, v and the softmaxed scores in bf16 (AMX), fp32 accumulation and outputs.
        let bf16: Bool
        /// Planned for one thread inside a parallel region, a scratchpad per execution (`runBatch`).
        var single = false
        /// u8 q and probabilities, s8 k and v, int32 products (`runBatchInt8`); `scale` is then applied
        /// by the caller.
        var int8 = false
    }

    /// Whether the products run in bf16: where oneDNN has AMX (measured: on AVX512-BF16 without AMX
    /// oneDNN 2.6's bf16 matmul is slower than fp32). `PARD_ATTENTION=fp32` forces fp32 (tests).
    static var bf16: Bool {
        let forced = ProcessInfo.processInfo.environment["PARD_ATTENTION"]
        return OneDNN.hasAMX && forced != "fp32" && forced != "int8"
    }

    /// Whether the attention of an int8 block runs its products in int8 (`runBatchInt8`): where oneDNN
    /// has no AMX (measured on a Xeon with AVX512-VNNI: a one-thread 311 x 64 x 311 product 81 µs in
    /// fp32, 21 µs u8·s8; bf16 149 µs). With AMX the products stay bf16 (measured there).
    /// `PARD_ATTENTION=int8|bf16|fp32` forces one (tests, measuring).
    static var int8: Bool {
        let forced = ProcessInfo.processInfo.environment["PARD_ATTENTION"]
        guard OneDNN.hasAVX2, forced != "fp32", forced != "bf16" else { return false }
        return forced == "int8" || !OneDNN.hasAMX
    }

    /// The two primitives of a shape and their memory descriptors.
    final class Products: @unchecked Sendable {
        let scores: dnnl_primitive_t, mix: dnnl_primitive_t
        /// q `[H, m, d]`, kᵀ `[H, d, seq]`, scores `[H, m, seq]` (f32 out of the first product, `sIn`
        /// into the second), v `[H, seq, d]`, out `[H, m, d]` (dense: a strided one makes oneDNN 2.6
        /// fall back from its brgemm kernels to `gemm:jit`; copied into the `[m, width]` rows after).
        let q: dnnl_memory_desc_t, kT: dnnl_memory_desc_t, s: dnnl_memory_desc_t, sIn: dnnl_memory_desc_t
        let v: dnnl_memory_desc_t, out: dnnl_memory_desc_t
        /// The scratchpads of `scores` and `mix` (zero bytes unless `Key.single`: then each execution
        /// brings its own).
        let scoresPad: dnnl_memory_desc_t, mixPad: dnnl_memory_desc_t
        var padBytes: Int {
            var a = scoresPad, b = mixPad
            return max(dnnl_memory_desc_get_size(&a), dnnl_memory_desc_get_size(&b))
        }
        init(scores: dnnl_primitive_t, mix: dnnl_primitive_t, q: dnnl_memory_desc_t, kT: dnnl_memory_desc_t,
             s: dnnl_memory_desc_t, sIn: dnnl_memory_desc_t, v: dnnl_memory_desc_t, out: dnnl_memory_desc_t,
             scoresPad: dnnl_memory_desc_t, mixPad: dnnl_memory_desc_t) {
            self.scores = scores; self.mix = mix; self.q = q; self.kT = kT; self.s = s; self.sIn = sIn; self.v = v; self.out = out
            self.scoresPad = scoresPad; self.mixPad = mixPad
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Key: Products] = [:]

    /// `[dims]` of `type` (f32, bf16; u8, s8, s32 for int8) with `strides` (elements).
    static func desc(_ dims: [Int], _ strides: [Int], _ type: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t? {
        var md = dnnl_memory_desc_t()
        var d = dims.map(Int64.init), s = strides.map(Int64.init)
        return dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), &d, type, &s) == dnnl_success ? md : nil
    }

    /// A matmul `src · wei -> dst` (f32, batched over the first axis), times `scale`, and its
    /// scratchpad; `single`: planned for one thread, the scratchpad the caller's.
    private static func matmul(_ src: dnnl_memory_desc_t, _ wei: dnnl_memory_desc_t, _ dst: dnnl_memory_desc_t,
                               scale: Float, single: Bool) -> (dnnl_primitive_t, dnnl_memory_desc_t)? {
        guard let engine = OneDNN.engine else { return nil }
        var s = src, w = wei, d = dst
        var desc = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&desc, &s, &w, nil, &d) == dnnl_success else { return nil }
        var attr: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&attr) == dnnl_success else { return nil }
        defer { dnnl_primitive_attr_destroy(attr) }
        if scale != 1 {
            var value = scale
            guard dnnl_primitive_attr_set_output_scales(attr, 1, 0, &value) == dnnl_success else { return nil }
        }
        if single, dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success { return nil }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var p: dnnl_primitive_t?
        guard dnnl_primitive_create(&p, pd) == dnnl_success, let p,
              let pad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee else { return nil }
        return (p, pad)
    }

    static func products(_ key: Key) -> Products? {
        lock.withLock {
            if let p = cache[key] { return p }
            // oneDNN plans a primitive's work split for the thread count at its creation.
            let saved = omp_get_max_threads()
            if key.single { omp_set_num_threads(1) }
            defer { if key.single { omp_set_num_threads(saved) } }
            let (h, m, seq, d, ld) = (key.heads, key.m, key.seq, key.headDim, 3 * key.width)
            _ = ld
            // q, k, v packed per head (`[H, rows, d]`, dense): oneDNN's batched kernels want dense
            // batches; kᵀ is the transposed view of packed k.
            let t = key.bf16 ? dnnl_bf16 : dnnl_f32
            let (ta, tw, tacc) = key.int8 ? (dnnl_u8, dnnl_s8, dnnl_s32) : (t, t, dnnl_f32)
            guard let q = desc([h, m, d], [m * d, d, 1], ta), let kT = desc([h, d, seq], [seq * d, 1, d], tw),
                  let s = desc([h, m, seq], [m * seq, seq, 1], tacc), let sIn = desc([h, m, seq], [m * seq, seq, 1], ta),
                  let v = desc([h, seq, d], [seq * d, d, 1], tw), let out = desc([h, m, d], [m * d, d, 1], tacc),
                  let scores = matmul(q, kT, s, scale: key.int8 ? 1 : key.scale, single: key.single),
                  let mix = matmul(sIn, v, out, scale: 1, single: key.single) else { return nil }
            let p = Products(scores: scores.0, mix: mix.0, q: q, kT: kT, s: s, sIn: sIn, v: v, out: out,
                             scoresPad: scores.1, mixPad: mix.1)
            cache[key] = p
            return p
        }
    }

    /// The implementations oneDNN chose for a shape's two products (`gemm:jit`, `brg:avx512_core`, ...;
    /// a `ref` one would be slow), for tests and `bench`.
    static func implementations(seq: Int, width: Int, heads: Int) -> [String] {
        let group = heads % min(heads, headsPerProduct) == 0 ? min(heads, headsPerProduct) : 1
        guard let p = products(Key(seq: seq, m: seq, width: width, heads: group, headDim: width / heads, scale: 1, bf16: bf16)) else { return [] }
        return [p.scores, p.mix].map { prim in
            var pd: const_dnnl_primitive_desc_t?
            guard dnnl_primitive_get_primitive_desc(prim, &pd) == dnnl_success else { return "?" }
            var name: UnsafePointer<CChar>?
            guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "?" }
            return String(cString: name)
        }
    }

    /// Heads per product (`PARD_ATTENTION_GROUP` sets it, for measuring). Smaller groups keep their
    /// scores (`group · seq²` floats, 0.38 MiB per head at ViT-L/14's 311 tokens) in the cache from the
    /// first product through the softmax into the second, but every product costs a fork and join of
    /// the OpenMP threads; measured on a busy 2-core machine, 16 heads per product beat 4, 2 and 1.
    static let headsPerProduct: Int = {
        if let text = ProcessInfo.processInfo.environment["PARD_ATTENTION_GROUP"], let n = Int(text), n >= 1, n <= 64 { return n }
        return 16
    }()

    /// Floats of the `scores` scratch `run` needs for one sequence: a group's scores (f32 and bf16),
    /// packed q, k, v and the dense output.
    static func scratchFloats(seq: Int, width: Int, heads: Int) -> Int {
        let group = min(heads, headsPerProduct)
        return group * seq * seq * 3 / 2 + 4 * seq * width + 64
    }

    /// Whether oneDNN has these products here (an engine, and matmuls of these strides).
    static func available(seq: Int, width: Int, heads: Int) -> Bool {
        let group = heads % min(heads, headsPerProduct) == 0 ? min(heads, headsPerProduct) : 1
        return products(Key(seq: seq, m: seq, width: width, heads: group, headDim: width / heads, scale: 1, bf16: bf16)) != nil
    }

    /// As `Attention.run`, for one sequence: `out[r, h*d ..< (h+1)*d] = softmax(q_h[r] · k_hᵀ * scale +
    /// mask) · v_h`. `scores`: scratch of at least `scratchFloats` floats. `bf16`: q, k, v and the
    /// softmaxed scores rounded to bf16 (the products accumulate in fp32).
    /// Returns false (nothing written) if oneDNN has no such products; the caller falls back.
    static func run(qkv: UnsafePointer<Float>, seq: Int, width: Int, heads: Int, headDim: Int, scale: Float,
                    mask: AttentionMask, queryRows: Range<Int>,
                    scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, bf16: Bool = OneDNNAttention.bf16) -> Bool {
        let m = queryRows.count
        let group = heads % min(heads, headsPerProduct) == 0 ? min(heads, headsPerProduct) : 1
        guard m > 0, let engine = OneDNN.engine,
              let p = products(Key(seq: seq, m: m, width: width, heads: group, headDim: headDim, scale: scale, bf16: bf16)) else { return false }
        let ld = 3 * width, e = bf16 ? 2 : 4
        // Scratch: a group's f32 scores [G, m, seq] and bf16 scores, then packed q [H, m, d], k and v
        // [H, seq, d] (f32 or bf16), then the dense f32 output [H, m, d].
        let sb = UnsafeMutableRawPointer(scores + group * m * seq)
        let qp = sb + (bf16 ? group * m * seq * 2 : 0)
        let kp = qp + heads * m * headDim * e, vp = kp + heads * seq * headDim * e
        let dense = (vp + heads * seq * headDim * e).assumingMemoryBound(to: Float.self)
        func pack(_ from: UnsafePointer<Float>, _ to: UnsafeMutableRawPointer, _ index: Int) {
            if bf16 {
                BF16.convert(from, count: headDim, into: to.assumingMemoryBound(to: UInt16.self) + index * headDim)
            } else {
                (to.assumingMemoryBound(to: Float.self) + index * headDim).update(from: from, count: headDim)
            }
        }
        TeamParallel.rows(seq) { rows in
            for j in rows {
                for h in 0..<heads {
                    let row = qkv + j * ld + h * headDim
                    if queryRows.contains(j) { pack(row, qp, h * m + j - queryRows.lowerBound) }
                    pack(row + width, kp, h * seq + j)
                    pack(row + 2 * width, vp, h * seq + j)
                }
            }
        }
        var stream: dnnl_stream_t?
        guard dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success else { return false }
        defer { dnnl_stream_destroy(stream) }
        OneDNN.applyThreads()
        let s = UnsafeMutableRawPointer(scores)
        for first in stride(from: 0, to: heads, by: group) {
            // scores[g, i, :] = q_h[i] · k_hᵀ * scale, h = first + g
            GEMM.timed { execute(p.scores, stream, (p.q, qp + first * m * headDim * e), (p.kT, kp + first * seq * headDim * e), (p.s, s)) }
            // Each row softmaxed (and rounded to bf16) by the thread that has it.
            TeamParallel.rows(group * m) { rows in
                for gi in rows {
                    let row = scores + gi * seq
                    let q = queryRows.lowerBound + gi % m
                    ReducedRows.softmax(row, columns: seq, visible: mask.pairs[2 * q], mask.pairs[2 * q + 1],
                                        bf16: bf16 ? sb.assumingMemoryBound(to: UInt16.self) + gi * seq : nil)
                }
            }
            // dense[h, i, :] = scores[g, i, :] · v_h
            GEMM.timed {
                execute(p.mix, stream, (p.sIn, bf16 ? sb : s), (p.v, vp + first * seq * headDim * e),
                        (p.out, UnsafeMutableRawPointer(dense + first * m * headDim)))
            }
        }
        TeamParallel.rows(m) { rows in
            for i in rows {
                for h in 0..<heads { (out + i * width + h * headDim).update(from: dense + (h * m + i) * headDim, count: headDim) }
            }
        }
        return true
    }

    /// Runs `primitive` on `src`, `wei`, `dst` (descriptor and buffer each) and waits.
    private static func execute(_ primitive: dnnl_primitive_t, _ stream: dnnl_stream_t?,
                                _ src: (dnnl_memory_desc_t, UnsafeMutableRawPointer),
                                _ wei: (dnnl_memory_desc_t, UnsafeMutableRawPointer),
                                _ dst: (dnnl_memory_desc_t, UnsafeMutableRawPointer)) {
        guard let engine = OneDNN.engine else { fatalError("oneDNN: no CPU engine") }
        var sm: dnnl_memory_t?, wm: dnnl_memory_t?, dm: dnnl_memory_t?
        var smd = src.0, wmd = wei.0, dmd = dst.0
        guard dnnl_memory_create(&sm, &smd, engine, src.1) == dnnl_success,
              dnnl_memory_create(&wm, &wmd, engine, wei.1) == dnnl_success,
              dnnl_memory_create(&dm, &dmd, engine, dst.1) == dnnl_success else {
            fatalError("oneDNN: cannot wrap the buffers of an attention product")
        }
        defer { dnnl_memory_destroy(sm); dnnl_memory_destroy(wm); dnnl_memory_destroy(dm) }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: sm), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: wm),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dm)]
        guard OneDNN.execute(primitive, stream, &args) else {
            fatalError("oneDNN: executing an attention product failed")
        }
    }
}
