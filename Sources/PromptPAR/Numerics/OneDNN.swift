import COneDNN
import Foundation
import Synchronization

/// oneDNN (Debian's libdnnl 2.6, GNU OpenMP runtime): the engine, the instruction set it uses, its
/// threads, and the matmul primitives of the reduced-precision Linear layers, created once per shape.
public enum OneDNN {
    /// The CPU engine, created on first use (nil if oneDNN cannot create one).
    nonisolated(unsafe) static let engine: dnnl_engine_t? = {
        var e: dnnl_engine_t?
        return dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success ? e : nil
    }()

    /// OpenMP threads of one oneDNN product and of the row loops and fp32 products split over its team
    /// (set by `ModelSpec.load`, which may run while another model computes: atomic).
    static var threads: Int { threadCount.load(ordering: .relaxed) }
    private static let threadCount = Atomic<Int>(1)

    /// Sets the threads of one product. GNU OpenMP keeps the count per calling thread, so
    /// `ReducedWeights.abT` applies it on the thread that runs the product.
    public static func setThreads(_ n: Int) { threadCount.store(max(1, n), ordering: .relaxed) }

    /// The instruction set oneDNN dispatches to, after `ONEDNN_MAX_CPU_ISA`/`DNNL_MAX_CPU_ISA` (read once,
    /// at the first oneDNN call): `avx2`, `avx512_core`, `avx512_core_vnni`, `avx512_core_bf16`,
    /// `avx512_core_amx`, ...
    public static var isaName: String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_sse41: "sse41"
        case dnnl_cpu_isa_avx: "avx"
        case dnnl_cpu_isa_avx2: "avx2"
        case dnnl_cpu_isa_avx2_vnni: "avx2_vnni"
        case dnnl_cpu_isa_avx512_core: "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: "avx512_core_amx"
        case let other: "isa_0x\(String(other.rawValue, radix: 16))"
        }
    }

    /// ISA bits (oneDNN's `dnnl_cpu_isa_t` values are cumulative bit sets).
    static var isaBits: UInt32 { dnnl_get_effective_cpu_isa().rawValue }
    /// AVX-512 VNNI (`vpdpbusd`, int32 accumulation without int16 saturation) or better.
    public static var hasVNNI: Bool { isaBits & dnnl_cpu_isa_avx512_core_vnni.rawValue == dnnl_cpu_isa_avx512_core_vnni.rawValue }
    /// AVX512-BF16 (`vdpbf16ps`) or better.
    public static var hasBF16: Bool { isaBits & dnnl_cpu_isa_avx512_core_bf16.rawValue == dnnl_cpu_isa_avx512_core_bf16.rawValue }
    /// AMX tiles (int8 and bf16).
    public static var hasAMX: Bool { isaBits & dnnl_cpu_isa_avx512_core_amx.rawValue == dnnl_cpu_isa_avx512_core_amx.rawValue }
    /// AVX-512 F, BW, DQ and VL (oneDNN's avx512_core, x86-64-v4) or better: `RowKernelsAVX512` runs.
    public static var hasAVX512: Bool {
        #if arch(x86_64)
        isaBits & dnnl_cpu_isa_avx512_core.rawValue == dnnl_cpu_isa_avx512_core.rawValue
        #else
        false
        #endif
    }
    /// AVX2 or better (the int8 `vpmaddubsw` path).
    public static var hasAVX2: Bool { isaBits & dnnl_cpu_isa_avx2.rawValue == dnnl_cpu_isa_avx2.rawValue }

    /// Whether the fp32 path's vision products run on oneDNN (`ReducedKind.f32`) instead of OpenBLAS:
    /// where oneDNN's fp32 matmul is a brgemm kernel (AVX-512), measured faster than OpenBLAS
    /// `SkylakeX` at ViT-L/14's shapes. `PARD_FP32_GEMM=openblas` keeps OpenBLAS.
    public static let fp32OnOneDNN: Bool = {
        guard ProcessInfo.processInfo.environment["PARD_FP32_GEMM"] != "openblas", engine != nil,
              let pd = PrimitiveCache.primitiveDesc(PrimitiveKey(kind: .f32, m: 256, n: 1024, k: 1024), weights: nil) else { return false }
        defer { dnnl_primitive_desc_destroy(pd) }
        var info: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success, let info else { return false }
        return String(cString: info).hasPrefix("brg")
    }()

    /// Debian's oneDNN is built without `DNNL_ENABLE_CONCURRENT_EXEC`: every primitive of the process
    /// shares one library-managed scratchpad, so two primitives executing at once from two threads
    /// corrupt each other's intermediate results (seen: NaN activations when two models ran side by
    /// side). Every execution holds this lock; one model's inference thread never waits on it, and a
    /// primitive still runs on all of `threads`.
    static let executionLock = NSLock()

    /// Executes `primitive` with `args` on `stream` and waits for it, under `executionLock`.
    static func execute(_ primitive: dnnl_primitive_t?, _ stream: dnnl_stream_t?, _ args: inout [dnnl_exec_arg_t]) -> Bool {
        executionLock.withLock {
            dnnl_primitive_execute(primitive, stream, Int32(args.count), &args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success
        }
    }

    /// Runs `body` with the OpenMP thread count of this thread set to `threads`.
    @inline(__always)
    static func applyThreads() {
        if omp_get_max_threads() != Int32(threads) { omp_set_num_threads(Int32(threads)) }
    }
}

/// The arithmetic of a reduced-precision Linear layer.
enum ReducedKind: Sendable, Hashable {
    /// bf16 weights and activations, fp32 accumulation and output.
    case bf16
    /// s8 weights (per output channel), u8 activations (per row, with a zero point), int32 accumulation.
    case int8
    /// fp32 weights (in oneDNN's layout) and activations: the fp32 path's products on oneDNN's brgemm
    /// kernels where they are faster than OpenBLAS.
    case f32
}

/// A matmul primitive for one `(kind, m, n, k)`, and its expected weights layout.
struct PrimitiveKey: Hashable {
    let kind: ReducedKind
    let m: Int, n: Int, k: Int
    /// A primitive for one thread inside a parallel region: planned for one thread, with a scratchpad
    /// of its own per execution (`dnnl_scratchpad_mode_user`), so that threads run it side by side.
    var single = false
}

/// A primitive planned for one thread (`PrimitiveKey.single`) and the scratchpad each execution needs.
struct SingleThreadPrimitive: @unchecked Sendable {
    let primitive: dnnl_primitive_t
    let rows: Int
    let scratchpad: dnnl_memory_desc_t
    let scratchpadBytes: Int
}

/// Primitives created once per shape and reused by every layer and thread (oneDNN primitives may be
/// executed concurrently); weights layouts chosen once per `(kind, n, k)`.
final class PrimitiveCache: @unchecked Sendable {
    static let shared = PrimitiveCache()
    private let lock = NSLock()
    private var primitives: [PrimitiveKey: dnnl_primitive_t] = [:]
    private var weightLayouts: [PrimitiveKey: dnnl_memory_desc_t] = [:]

    /// Rows of the primitive that picks the weights layout (layouts chosen for many rows also serve few).
    static let layoutRows = 1024

    static func types(_ kind: ReducedKind) -> (src: dnnl_data_type_t, wei: dnnl_data_type_t, dst: dnnl_data_type_t) {
        switch kind {
        case .bf16: (dnnl_bf16, dnnl_bf16, dnnl_f32)
        case .int8: (dnnl_u8, dnnl_s8, dnnl_s32)
        case .f32: (dnnl_f32, dnnl_f32, dnnl_f32)
        }
    }

    /// Creates the primitive descriptor of `src[m,k] · wei[k,n] -> dst[m,n]`, weights in `weights`
    /// (nil: the layout oneDNN prefers).
    static func primitiveDesc(_ key: PrimitiveKey, weights: dnnl_memory_desc_t?) -> dnnl_primitive_desc_t? {
        guard let engine = OneDNN.engine else { return nil }
        let t = types(key.kind)
        var src = dnnl_memory_desc_t(), wei = dnnl_memory_desc_t(), dst = dnnl_memory_desc_t()
        var sd: [Int64] = [Int64(key.m), Int64(key.k)], wd: [Int64] = [Int64(key.k), Int64(key.n)], dd: [Int64] = [Int64(key.m), Int64(key.n)]
        guard dnnl_memory_desc_init_by_tag(&src, 2, &sd, t.src, dnnl_ab) == dnnl_success,
              dnnl_memory_desc_init_by_tag(&dst, 2, &dd, t.dst, dnnl_ab) == dnnl_success else { return nil }
        if let weights { wei = weights } else {
            guard dnnl_memory_desc_init_by_tag(&wei, 2, &wd, t.wei, dnnl_format_tag_any) == dnnl_success else { return nil }
        }
        var desc = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&desc, &src, &wei, nil, &dst) == dnnl_success else { return nil }
        var attr: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&attr) == dnnl_success else { return nil }
        defer { dnnl_primitive_attr_destroy(attr) }
        if key.single, dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success { return nil }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, attr, engine, nil) == dnnl_success else { return nil }
        return pd
    }

    private var singles: [PrimitiveKey: SingleThreadPrimitive] = [:]

    /// The one-thread primitive for `key` (`single`) with weights in `layout`, created on first use
    /// with OpenMP's thread count at 1 on this thread (oneDNN plans its work split at creation).
    func single(_ key: PrimitiveKey, layout: dnnl_memory_desc_t) -> SingleThreadPrimitive {
        precondition(key.single)
        return lock.withLock {
            if let p = singles[key] { return p }
            let saved = omp_get_max_threads()
            omp_set_num_threads(1)
            defer { omp_set_num_threads(saved) }
            guard let pd = Self.primitiveDesc(key, weights: layout) else {
                fatalError("oneDNN: no one-thread \(key.kind) matmul for m=\(key.m) n=\(key.n) k=\(key.k) with the weights layout chosen at load")
            }
            defer { dnnl_primitive_desc_destroy(pd) }
            var p: dnnl_primitive_t?
            guard dnnl_primitive_create(&p, pd) == dnnl_success, let p,
                  var scratchpad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee else {
                fatalError("oneDNN: creating the one-thread \(key.kind) matmul for m=\(key.m) n=\(key.n) k=\(key.k) failed")
            }
            let single = SingleThreadPrimitive(primitive: p, rows: key.m, scratchpad: scratchpad,
                                               scratchpadBytes: dnnl_memory_desc_get_size(&scratchpad))
            singles[key] = single
            return single
        }
    }

    /// The weights layout for `(kind, n, k)`, or nil if oneDNN has no such matmul on this CPU.
    func weightLayout(_ kind: ReducedKind, n: Int, k: Int) -> dnnl_memory_desc_t? {
        let key = PrimitiveKey(kind: kind, m: 0, n: n, k: k)
        return lock.withLock {
            if let md = weightLayouts[key] { return md }
            guard let pd = Self.primitiveDesc(PrimitiveKey(kind: kind, m: Self.layoutRows, n: n, k: k), weights: nil) else { return nil }
            defer { dnnl_primitive_desc_destroy(pd) }
            guard let md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)?.pointee else { return nil }
            weightLayouts[key] = md
            return md
        }
    }

    /// The primitive for `key` with weights in `layout`, created on first use.
    func primitive(_ key: PrimitiveKey, layout: dnnl_memory_desc_t) -> dnnl_primitive_t {
        lock.withLock {
            if let p = primitives[key] { return p }
            guard let pd = Self.primitiveDesc(key, weights: layout) else {
                fatalError("oneDNN: no \(key.kind) matmul for m=\(key.m) n=\(key.n) k=\(key.k) with the weights layout chosen at load")
            }
            defer { dnnl_primitive_desc_destroy(pd) }
            var p: dnnl_primitive_t?
            guard dnnl_primitive_create(&p, pd) == dnnl_success, let p else {
                fatalError("oneDNN: creating the \(key.kind) matmul for m=\(key.m) n=\(key.n) k=\(key.k) failed")
            }
            primitives[key] = p
            return p
        }
    }
}

/// Per-call buffers (converted activations, int32 products, row scales), reused across calls and
/// handed to one thread at a time.
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    private let lock = NSLock()
    private var free: [Scratch] = []

    final class Scratch {
        private(set) var bytes: UnsafeMutableRawPointer = .allocate(byteCount: 64, alignment: 64)
        private(set) var capacity = 64
        /// At least `count` bytes, 64-byte aligned; the contents are not kept.
        func reserve(_ count: Int) -> UnsafeMutableRawPointer {
            if count > capacity {
                bytes.deallocate()
                capacity = count
                bytes = .allocate(byteCount: count, alignment: 64)
            }
            return bytes
        }
        deinit { bytes.deallocate() }
    }

    func take() -> Scratch { lock.withLock { free.popLast() } ?? Scratch() }
    func give(_ s: Scratch) { lock.withLock { free.append(s) } }
}

/// The weights of one Linear layer `[n = out, k = in]` in bf16, int8 or fp32, converted once at load and
/// reordered once into the layout oneDNN's matmul wants; the fp32 weights are not kept.
///
/// int8 scheme: weight row `j` is `sw[j] * q[j, :]` with `q` symmetric s8; activation row `r` is
/// `sa[r] * (u[r, :] - za[r])` with `u` u8 (asymmetric, zero point `za`), so
/// `y[r, j] = sa[r] * sw[j] * (Σ u·q - za[r] * Σ_k q[j, k])`: oneDNN computes the int32 `Σ u·q`,
/// the post-pass the rest (the column sums `Σ_k q[j, k]` are computed at load).
/// Without AVX-512 VNNI (AVX2, AVX512 without VNNI, and AVX-VNNI machines, which oneDNN 2.6 runs on
/// the AVX2 kernels), oneDNN multiplies u8 x s8 with `vpmaddubsw`, which adds two products in a
/// saturating int16: 2 · 255 · 127 overflows. There the weights are **7-bit** (|q| <= 63, so
/// 2 · 255 · 63 = 32130 fits), chosen at load from the ISA oneDNN reports.
final class ReducedWeights: @unchecked Sendable {
    let kind: ReducedKind
    let n: Int, k: Int
    /// Weights in oneDNN's layout (owned; immutable after init, read concurrently).
    private let memory: dnnl_memory_t
    let layout: dnnl_memory_desc_t
    /// int8: `[n]` column scales `sw` and `[n]` column sums `Σ_k q[j, k]`.
    let columnScales: [Float]
    let columnSums: [Int32]
    /// int8: the largest |q| (127 with VNNI, 63 without).
    let qmax: Int

    /// Converts `weight` `[n, k]` (row-major, PyTorch's layout); nil if oneDNN has no such matmul here.
    init?(weight: UnsafeBufferPointer<Float>, n: Int, k: Int, kind: ReducedKind) {
        precondition(weight.count == n * k)
        guard let engine = OneDNN.engine, let layout = PrimitiveCache.shared.weightLayout(kind, n: n, k: k) else { return nil }
        self.kind = kind; self.n = n; self.k = k; self.layout = layout
        // The source: plain [k, n] with strides (1, k), i.e. `ba` — the [n, k] rows as they are.
        var plain = dnnl_memory_desc_t()
        var dims: [Int64] = [Int64(k), Int64(n)]
        let staging: UnsafeMutableRawPointer
        switch kind {
        case .bf16:
            let b = UnsafeMutablePointer<UInt16>.allocate(capacity: n * k)
            BF16.convert(weight.baseAddress!, count: n * k, into: b)
            staging = UnsafeMutableRawPointer(b)
            columnScales = []; columnSums = []; qmax = 0
            guard dnnl_memory_desc_init_by_tag(&plain, 2, &dims, dnnl_bf16, dnnl_ba) == dnnl_success else { staging.deallocate(); return nil }
        case .int8:
            let q = UnsafeMutablePointer<Int8>.allocate(capacity: n * k)
            let qmax = Int8Quant.weightQMax
            var scales = [Float](repeating: 0, count: n), sums = [Int32](repeating: 0, count: n)
            Int8Quant.quantizeWeights(weight.baseAddress!, n: n, k: k, qmax: qmax, into: q, scales: &scales, sums: &sums)
            staging = UnsafeMutableRawPointer(q)
            columnScales = scales; columnSums = sums; self.qmax = qmax
            guard dnnl_memory_desc_init_by_tag(&plain, 2, &dims, dnnl_s8, dnnl_ba) == dnnl_success else { staging.deallocate(); return nil }
        case .f32:
            let f = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
            f.update(from: weight.baseAddress!, count: n * k)
            staging = UnsafeMutableRawPointer(f)
            columnScales = []; columnSums = []; qmax = 0
            guard dnnl_memory_desc_init_by_tag(&plain, 2, &dims, dnnl_f32, dnnl_ba) == dnnl_success else { staging.deallocate(); return nil }
        }
        defer { staging.deallocate() }
        var mem: dnnl_memory_t?, src: dnnl_memory_t?
        var layoutDesc = layout
        guard dnnl_memory_create(&mem, &layoutDesc, engine, pard_dnnl_memory_allocate()) == dnnl_success, let mem else { return nil }
        guard dnnl_memory_create(&src, &plain, engine, staging) == dnnl_success, let src else { dnnl_memory_destroy(mem); return nil }
        defer { dnnl_memory_destroy(src) }
        guard Self.reorder(from: src, plain, to: mem, layout) else { dnnl_memory_destroy(mem); return nil }
        memory = mem
    }

    deinit { dnnl_memory_destroy(memory) }

    private static func reorder(from src: dnnl_memory_t, _ srcMD: dnnl_memory_desc_t, to dst: dnnl_memory_t, _ dstMD: dnnl_memory_desc_t) -> Bool {
        guard let engine = OneDNN.engine else { return false }
        var s = srcMD, d = dstMD
        var rpd: dnnl_primitive_desc_t?
        guard dnnl_reorder_primitive_desc_create(&rpd, &s, engine, &d, engine, nil) == dnnl_success, let rpd else { return false }
        defer { dnnl_primitive_desc_destroy(rpd) }
        var r: dnnl_primitive_t?
        guard dnnl_primitive_create(&r, rpd) == dnnl_success, let r else { return false }
        defer { dnnl_primitive_destroy(r) }
        var stream: dnnl_stream_t?
        guard dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, let stream else { return false }
        defer { dnnl_stream_destroy(stream) }
        OneDNN.applyThreads()
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: src), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: dst)]
        return OneDNN.execute(r, stream, &args)
    }

    /// Bytes of weights held.
    var bytes: Int {
        var md = layout
        return dnnl_memory_desc_get_size(&md) + (columnScales.count + columnSums.count) * 4
    }

    /// `c[m,n] = a[m,k] · Wᵀ + beta * c` (beta 0 or 1), like `GEMM.abT`, in this layer's precision;
    /// `a` rows `lda` apart, `c` rows `ldc` apart. fp32 in and out. `epilogue` (a bias, an activation)
    /// runs on each finished row of `c` (`n` floats) right after it is written, while it is in cache,
    /// by the thread that wrote it: one pass over the output instead of two or three.
    func abT(m: Int, a: UnsafePointer<Float>, lda: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
             epilogue: (UnsafeMutablePointer<Float>) -> Void = { _ in }) {
        guard m > 0 else { return }
        let pool = ScratchPool.shared, scratch = pool.take()
        defer { pool.give(scratch) }
        let srcDirect = kind == .f32 && lda == k
        let srcBytes = srcDirect ? 0 : kind == .bf16 ? m * k * 2 : kind == .f32 ? m * k * 4 : m * k
        let dstDirect = kind != .int8 && beta == 0 && ldc == n
        let dstBytes = dstDirect ? 0 : m * n * 4
        let rowBytes = kind == .int8 ? m * 8 : 0
        let base = scratch.reserve(((srcBytes + 63) & ~63) + ((dstBytes + 63) & ~63) + rowBytes)
        let src = srcDirect ? UnsafeMutableRawPointer(mutating: a) : base
        let dst = dstDirect ? UnsafeMutableRawPointer(c) : base + ((srcBytes + 63) & ~63)
        let rowScales = (base + ((srcBytes + 63) & ~63) + ((dstBytes + 63) & ~63)).bindMemory(to: Float.self, capacity: m)
        let rowZeros = (UnsafeMutableRawPointer(rowScales) + m * 4).bindMemory(to: Int32.self, capacity: m)

        // Activations: converted per row.
        switch kind {
        case .f32:
            if !srcDirect {
                let s = src.bindMemory(to: Float.self, capacity: m * k)
                TeamParallel.rows(m) { rows in for r in rows { (s + r * k).update(from: a + r * lda, count: k) } }
            }
        case .bf16:
            let s = src.bindMemory(to: UInt16.self, capacity: m * k)
            TeamParallel.rows(m) { rows in for r in rows { BF16.convert(a + r * lda, count: k, into: s + r * k) } }
        case .int8:
            let s = src.bindMemory(to: UInt8.self, capacity: m * k)
            TeamParallel.rows(m) { rows in
                for r in rows {
                    let (scale, zero) = Int8Quant.quantizeRow(a + r * lda, count: k, into: s + r * k)
                    rowScales[r] = scale; rowZeros[r] = zero
                }
            }
        }
        GEMM.timed { execute(m: m, src: src, dst: dst) }

        // Output: fp32 (bf16, f32) or dequantised int32 (int8), plus `beta * c`.
        switch kind {
        case .bf16, .f32:
            if dstDirect {
                TeamParallel.rows(m) { rows in for r in rows { epilogue(c + r * ldc) } }
                return
            }
            let d = dst.bindMemory(to: Float.self, capacity: m * n)
            TeamParallel.rows(m) { rows in
                for r in rows {
                    let o = c + r * ldc, p = d + r * n
                    if beta == 0 { for j in 0..<n { o[j] = p[j] } } else { for j in 0..<n { o[j] = beta * o[j] + p[j] } }
                    epilogue(o)
                }
            }
        case .int8:
            let d = dst.bindMemory(to: Int32.self, capacity: m * n)
            columnScales.withUnsafeBufferPointer { sw in
                columnSums.withUnsafeBufferPointer { cs in
                    TeamParallel.rows(m) { rows in
                        for r in rows {
                            Int8Quant.dequantizeRow(d + r * n, n: n, rowScale: rowScales[r], rowZero: rowZeros[r],
                                                    columnScales: sw.baseAddress!, columnSums: cs.baseAddress!,
                                                    beta: beta, into: c + r * ldc)
                            epilogue(c + r * ldc)
                        }
                    }
                }
            }
        }
    }

    /// Rows of one piece of an int8 product (`int8Piece`): a piece's int32 products (`rows * n * 4`
    /// bytes, 1 MiB at n = 4096) stay in the thread's L2 cache while they are finished.
    /// `PARD_PIECE_ROWS` (16-512) sets it, for measuring.
    static let pieceRows: Int = {
        if let text = ProcessInfo.processInfo.environment["PARD_PIECE_ROWS"], let n = Int(text), (16...512).contains(n) { return n }
        return 64
    }()

    /// Runs a one-thread primitive on this thread: `src` `[p.rows, k]` u8 times the weights into
    /// `dst` `[p.rows, n]` s32, with its own `scratchpad` (no lock: nothing shared with other executions).
    func executeSingle(_ p: SingleThreadPrimitive, src: UnsafeMutableRawPointer, dst: UnsafeMutableRawPointer,
                       scratchpad: UnsafeMutableRawPointer) {
        let t = PrimitiveCache.types(kind)
        var smd = dnnl_memory_desc_t(), dmd = dnnl_memory_desc_t()
        // The dims as tuples on the stack: no array (allocation) per piece.
        var sd = (Int64(p.rows), Int64(k)), dd = (Int64(p.rows), Int64(n))
        withUnsafeMutableBytes(of: &sd) { dnnl_memory_desc_init_by_tag(&smd, 2, $0.baseAddress?.assumingMemoryBound(to: Int64.self), t.src, dnnl_ab) }
        withUnsafeMutableBytes(of: &dd) { dnnl_memory_desc_init_by_tag(&dmd, 2, $0.baseAddress?.assumingMemoryBound(to: Int64.self), t.dst, dnnl_ab) }
        OneDNN.executeOnThisThread(p.primitive, stream: OneDNN.threadStream(), src: (smd, src), weights: .memory(memory), dst: (dmd, dst),
                                   scratchpad: (p.scratchpad, scratchpad), what: "a one-thread \(kind) product (m=\(p.rows) n=\(n) k=\(k))")
    }

    /// `out[n] = beta * out + y (+ bias)` for row `r` of a product of `a`, `y` the dequantised `acc`
    /// (`dequantizeRow`; the bias in the same pass, the bits of adding it after).
    @inline(__always)
    func dequantize(_ acc: UnsafePointer<Int32>, row r: Int, of a: QuantizedRows, beta: Float, bias: UnsafePointer<Float>?,
                    into out: UnsafeMutablePointer<Float>) {
        columnScales.withUnsafeBufferPointer { sw in
            columnSums.withUnsafeBufferPointer { cs in
                ReducedRows.dequantize(acc, n: n, rowScale: a.scales[r], rowZero: a.zeros[r], columnScales: sw.baseAddress!,
                                       columnSums: cs.baseAddress!, beta: beta, bias: bias, into: out)
            }
        }
    }

    /// Row `r` of fc1's product of `a` through bias and QuickGELU into `out` (`n` floats), quantised
    /// into row `r` of `h`: `dequantize`, `biasQuickGELU` and `QuantizedRows.store` in two passes.
    @inline(__always)
    func dequantizeQuickGELU(_ acc: UnsafePointer<Int32>, row r: Int, of a: QuantizedRows, bias: UnsafePointer<Float>,
                             row out: UnsafeMutablePointer<Float>, into h: QuantizedRows) {
        let range = columnScales.withUnsafeBufferPointer { sw in
            columnSums.withUnsafeBufferPointer { cs in
                ReducedRows.dequantizeBiasQuickGELU(acc, n: n, rowScale: a.scales[r], rowZero: a.zeros[r], columnScales: sw.baseAddress!,
                                                    columnSums: cs.baseAddress!, bias: bias, into: out)
            }
        }
        h.store(out, row: r, range: range)
    }

    /// Runs the cached primitive: `src` `[m, k]` (bf16 or u8) times the weights into `dst` `[m, n]`
    /// (f32 or s32).
    private func execute(m: Int, src: UnsafeMutableRawPointer, dst: UnsafeMutableRawPointer) {
        guard let engine = OneDNN.engine else { fatalError("oneDNN: no CPU engine") }
        let key = PrimitiveKey(kind: kind, m: m, n: n, k: k)
        let prim = PrimitiveCache.shared.primitive(key, layout: layout)
        let t = PrimitiveCache.types(kind)
        var smd = dnnl_memory_desc_t(), dmd = dnnl_memory_desc_t()
        var sd: [Int64] = [Int64(m), Int64(k)], dd: [Int64] = [Int64(m), Int64(n)]
        dnnl_memory_desc_init_by_tag(&smd, 2, &sd, t.src, dnnl_ab)
        dnnl_memory_desc_init_by_tag(&dmd, 2, &dd, t.dst, dnnl_ab)
        var sm: dnnl_memory_t?, dm: dnnl_memory_t?, stream: dnnl_stream_t?
        guard dnnl_memory_create(&sm, &smd, engine, src) == dnnl_success,
              dnnl_memory_create(&dm, &dmd, engine, dst) == dnnl_success,
              dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success else {
            fatalError("oneDNN: cannot wrap the buffers of a \(kind) product")
        }
        defer { dnnl_memory_destroy(sm); dnnl_memory_destroy(dm); dnnl_stream_destroy(stream) }
        OneDNN.applyThreads()
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: sm), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: memory),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: dm)]
        guard OneDNN.execute(prim, stream, &args) else {
            fatalError("oneDNN: executing a \(kind) product (m=\(m) n=\(n) k=\(k)) failed")
        }
    }
}

/// int8 activations as their producer quantised them (`Int8Quant.quantizeRow`): rows of u8, `k` apart,
/// each `x ≈ scales[r] * (values[r, :] - zeros[r])`.
struct QuantizedRows {
    let values: UnsafeMutablePointer<UInt8>
    let scales: UnsafeMutablePointer<Float>
    let zeros: UnsafeMutablePointer<Int32>
    /// Values per row.
    let k: Int

    /// Quantises `x` (`count` = `k` floats) into row `r`.
    @inline(__always)
    func store(_ x: UnsafePointer<Float>, row r: Int) {
        let (scale, zero) = Int8Quant.quantizeRow(x, count: k, into: values + r * k)
        scales[r] = scale; zeros[r] = zero
    }

    /// `store` of a row whose range (`RowKernels.range`) is known.
    @inline(__always)
    func store(_ x: UnsafePointer<Float>, row r: Int, range: (low: Float, high: Float)) {
        let (scale, zero) = ReducedRows.quantize(x, count: k, range: range, into: values + r * k)
        scales[r] = scale; zeros[r] = zero
    }

}

/// fp32 -> bf16 (round to nearest even), the conversion of weights and activations.
enum BF16 {
    /// `count` floats to bf16 bit patterns.
    @inline(__always)
    static func convert(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt16>) {
        x.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
            for i in 0..<count {
                let b = bits[i]
                out[i] = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
            }
        }
    }

    /// The float a bf16 bit pattern stands for.
    @inline(__always)
    static func float(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
}

/// The int8 quantisation of weights (load) and activations (run), and the dequantising post-pass.
enum Int8Quant {
    /// The largest |q| of s8 weights (and of the int8 attention's keys and values): 127 with AVX-512
    /// VNNI, 63 without (`vpmaddubsw` adds two u8·s8 products in a saturating int16).
    static var weightQMax: Int { OneDNN.hasVNNI ? 127 : 63 }

    /// Per output row `j` of `w` `[n, k]`: `scales[j] = max|w[j,:]| / qmax`, `q = round(w / scale)`
    /// in `-qmax...qmax`, `sums[j] = Σ_k q[j, k]`.
    static func quantizeWeights(_ w: UnsafePointer<Float>, n: Int, k: Int, qmax: Int,
                                into q: UnsafeMutablePointer<Int8>, scales: inout [Float], sums: inout [Int32]) {
        for j in 0..<n {
            let row = w + j * k
            var amax: Float = 0
            for i in 0..<k { amax = max(amax, abs(row[i])) }
            let scale = amax > 0 ? amax / Float(qmax) : 1
            let inv = 1 / scale
            var sum: Int32 = 0
            for i in 0..<k {
                let v = Int8(max(-Float(qmax), min(Float(qmax), (row[i] * inv).rounded(.toNearestOrEven))))
                q[j * k + i] = v
                sum &+= Int32(v)
            }
            scales[j] = scale; sums[j] = sum
        }
    }

    /// One activation row `x[count]` to u8 with its own scale and zero point (the range always holds
    /// 0): `x ≈ scale * (u - zero)`. Returns `(scale, zero)`. Plain reference of `quantizeRow`.
    static func quantizeRowReference(_ x: UnsafePointer<Float>, count: Int, into u: UnsafeMutablePointer<UInt8>) -> (Float, Int32) {
        var lo: Float = 0, hi: Float = 0
        for i in 0..<count { lo = min(lo, x[i]); hi = max(hi, x[i]) }
        let scale = hi > lo ? (hi - lo) / 255 : 1
        let inv = 1 / scale
        let zero = (-lo * inv).rounded(.toNearestOrEven)
        for i in 0..<count {
            let v = max(0, min(255, (x[i] * inv + zero).rounded(.toNearestOrEven)))
            u[i] = UInt8(v)
        }
        return (scale, Int32(zero))
    }

    /// Plain reference of the int8 `ReducedWeights.abT`: the same quantisation of `w` `[n, k]` and of
    /// `a` `[m, k]` (rows `lda` apart), exact int32 sums in scalar code, no oneDNN. For tests.
    static func referenceABT(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, w: UnsafePointer<Float>,
                             qmax: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: n * k), u = UnsafeMutablePointer<UInt8>.allocate(capacity: k)
        defer { q.deallocate(); u.deallocate() }
        var scales = [Float](repeating: 0, count: n), sums = [Int32](repeating: 0, count: n)
        quantizeWeights(w, n: n, k: k, qmax: qmax, into: q, scales: &scales, sums: &sums)
        var acc = [Int32](repeating: 0, count: n)
        for r in 0..<m {
            let (scale, zero) = quantizeRowReference(a + r * lda, count: k, into: u)
            for j in 0..<n {
                var sum: Int32 = 0
                for i in 0..<k { sum += Int32(u[i]) * Int32(q[j * k + i]) }
                acc[j] = sum
            }
            acc.withUnsafeBufferPointer { ac in
                dequantizeRowReference(ac.baseAddress!, n: n, rowScale: scale, rowZero: zero, columnScales: scales,
                              columnSums: sums, beta: beta, into: c + r * ldc)
            }
        }
    }

    /// `out[j] = beta * out[j] + rowScale * columnScales[j] * (acc[j] - rowZero * columnSums[j])`, `n` columns.
    /// Plain scalar reference of `dequantizeRow`, one value at a time.
    static func dequantizeRowReference(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                              columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                              beta: Float, into out: UnsafeMutablePointer<Float>) {
        for (j, product) in UnsafeBufferPointer(start: acc, count: n).enumerated() {
            let exact = product &- rowZero &* columnSums[j]
            let y = rowScale * columnScales[j] * Float(exact)
            out[j] = beta == 0 ? y : beta * out[j] + y
        }
    }

    /// `quantizeRowReference` in 16-lane vectors (`RowKernels.quantize`, AVX-512 where the CPU has it),
    /// the same results.
    @inline(__always)
    static func quantizeRow(_ x: UnsafePointer<Float>, count: Int, into u: UnsafeMutablePointer<UInt8>) -> (Float, Int32) {
        let (scale, zero) = ReducedRows.quantize(x, count: count, into: u)
        return (scale, zero)
    }

    /// `dequantizeRowReference` in 16-lane vectors (`RowKernels.dequantize`, AVX-512 where the CPU has
    /// it), the same arithmetic.
    @inline(__always)
    static func dequantizeRow(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                              columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                              beta: Float, into out: UnsafeMutablePointer<Float>) {
        ReducedRows.dequantize(acc, n: n, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                               columnSums: columnSums, beta: beta, into: out)
    }
}
