/// What model to load and how to run it: the one loading entry point of every command (`classify`,
/// `process`, `bench`, `convert`) and of the service.
public struct ModelSpec: Sendable, Equatable {
    /// Where the weights come from.
    public enum Source: Sendable, Equatable {
        /// A released checkpoint (`.pth`) or a file made by `pard convert` (`.safetensors`).
        case file(String)
        /// The released ViT-L/14 layout with random weights (benchmarks, dry runs).
        case synthetic
    }

    /// The arithmetic of the vision transformer's Linear layers (qkv, out_proj, c_fc, c_proj: about
    /// 95 % of the model's multiply-adds). LayerNorm, softmax, GELU, the residual stream, the patch
    /// embedding, the fusion and the heads stay fp32 in every precision. With bf16 or int8 the vision
    /// blocks' attention products (q·kᵀ, scores·v) run on oneDNN too, all heads in one product: with
    /// bf16 inputs where oneDNN has AMX, in fp32 elsewhere (`OneDNNAttention`).
    public enum Precision: String, Sendable, CaseIterable {
        /// fp32 throughout. The vision transformer's products on oneDNN's brgemm fp32 kernels where
        /// oneDNN has them (AVX-512: `OneDNN.fp32OnOneDNN`; weights reordered once at load, 1.18x the
        /// crops/s of OpenBLAS `SkylakeX` on a Xeon with AMX), else OpenBLAS `sgemm`
        /// (`PARD_FP32_GEMM=openblas` forces it); the rest OpenBLAS.
        case fp32
        /// oneDNN matmul, bf16 weights (converted once at load) and activations, fp32 accumulation and
        /// output. Needs AVX512-BF16 or AMX-BF16 to be fast (oneDNN 2.6 emulates it on plain AVX-512,
        /// slowly) and AVX-512 to run at all.
        case bf16
        /// oneDNN matmul, s8 weights per output channel (7-bit without AVX-512 VNNI), u8 activations
        /// per row with a zero point, int32 accumulation, dequantised in fp32.
        case int8
        /// The fastest of the above on this CPU (`resolved`).
        case auto

        /// `auto` made concrete, from the ISA oneDNN reports (so `ONEDNN_MAX_CPU_ISA` steers it too):
        /// int8 wherever oneDNN has AVX2 or better, else fp32. Measured with `pard bench --synthetic
        /// --batch 4 --threads 2` (release, full-size model) on an Intel Xeon with AMX (avx512f,
        /// avx512_bf16, avx512_vnni, amx_tile), the other ISAs forced with `ONEDNN_MAX_CPU_ISA`, crops/s
        /// side by side on a busy shared machine:
        /// - AMX: int8 2.51 / 1.18, bf16 1.13 / 0.74, fp32 0.69 / 0.47 (two rounds) — int8 fastest
        ///   (a 4096x1024 product of 1200 rows: ~550 GFLOP/s AMX-INT8, ~410 AMX-BF16, ~105 fp32);
        /// - AVX512-BF16 + VNNI without AMX (that Xeon with the ISA forced): int8 0.65, bf16 0.35 — oneDNN
        ///   2.6's AVX512-BF16 matmul is slower than fp32 there; on an AMD EPYC Zen 4 (the same flags, no
        ///   AMX) bf16 pays (4.38 against fp32's 2.48) but int8 is faster still (8.38): int8 either way;
        /// - AVX2 only (OpenBLAS `Haswell`): int8 (7-bit weights) 0.40, fp32 0.28 — int8 pays there too;
        /// - no AVX2 (or no oneDNN CPU engine): fp32.
        public var resolved: Precision {
            guard self == .auto else { return self }
            guard OneDNN.engine != nil, OneDNN.hasAVX2 else { return .fp32 }
            return .int8
        }

        /// The oneDNN arithmetic of the vision Linear layers (`.f32` for fp32 where `OneDNN.fp32OnOneDNN`),
        /// nil for fp32 on OpenBLAS.
        var reducedKind: ReducedKind? {
            switch resolved {
            case .fp32, .auto: OneDNN.fp32OnOneDNN ? .f32 : nil
            case .bf16: .bf16
            case .int8: .int8
            }
        }
    }

    /// The name that means `.synthetic` where a file path is expected (the service configuration).
    public static let syntheticName = "synthetic:ViT-L/14"

    public var source: Source
    /// A preset name or a JSON file; nil: the model's own set, or the preset matching its head count.
    public var attributes: String?
    /// The CLIP BPE vocabulary (`.pth` only); nil: searched in the usual places.
    public var vocabulary: String?
    /// OpenBLAS threads, and oneDNN's (OpenMP) for bf16 and int8.
    public var threads: Int
    public var precision: Precision
    /// Vision Linear layers kept fp32 when `precision` is bf16 or int8.
    public var fullPrecision: FullPrecisionLayers

    public init(source: Source, attributes: String? = nil, vocabulary: String? = nil, threads: Int,
                precision: Precision = .fp32, fullPrecision: FullPrecisionLayers = .none) {
        self.source = source
        self.attributes = attributes
        self.vocabulary = vocabulary
        self.threads = threads
        self.precision = precision
        self.fullPrecision = fullPrecision
    }

    /// `.synthetic` for `syntheticName`, else the file.
    public static func source(named name: String) -> Source {
        name == syntheticName ? .synthetic : .file(name)
    }

    /// Sets the threads and loads the model. A bf16 or int8 model runs on oneDNN's `threads` (OpenMP),
    /// its fp32 products too (`GEMM` splits them over that team), and OpenBLAS on one thread, whose idle
    /// threads would otherwise spin beside oneDNN's.
    /// - Throws: `ModelError` naming the file and what is wrong with it.
    public func load() throws(ModelError) -> LoadedModel {
        BLAS.setThreads(precision.resolved.reducedKind == nil ? threads : 1)
        OneDNN.setThreads(threads)
        switch source {
        case .synthetic: return try ModelFile.synthetic(precision: precision, fullPrecision: fullPrecision)
        case .file(let path): return try ModelFile.load(path: path, attributes: attributes, vocabulary: vocabulary, precision: precision,
                                                           fullPrecision: fullPrecision)
        }
    }
}
