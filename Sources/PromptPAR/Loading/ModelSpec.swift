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
    /// 95 % of the model's multiply-adds). LayerNorm, softmax, GELU, the residual stream, the attention
    /// products, the patch embedding, the fusion and the heads stay fp32 in every precision.
    public enum Precision: String, Sendable, CaseIterable {
        /// OpenBLAS `sgemm`.
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
        /// - AMX (`avx512_core_amx`): int8 — measured on a Xeon with AMX, oneDNN 2.6, 2 threads: a
        ///   4096x1024 product of 1200 rows runs at ~550 GFLOP/s in int8 (AMX-INT8), ~410 in bf16
        ///   (AMX-BF16), ~105 in fp32;
        /// - AVX-512 VNNI, with or without AVX512-BF16 (`avx512_core_vnni`, `avx512_core_bf16`):
        ///   int8 — the same product forced to that ISA: ~350-430 GFLOP/s int8, only ~55 in bf16
        ///   (oneDNN 2.6's AVX512-BF16 kernel is slower than its fp32 one), so bf16 is never picked;
        /// - AVX2 or AVX-512 without VNNI: int8 with 7-bit weights — ~90 GFLOP/s (AVX2) and ~120
        ///   (AVX-512) against ~50-90 in fp32 (oneDNN's and OpenBLAS's sgemm, same ISA);
        /// - otherwise (no AVX2, or no oneDNN engine): fp32.
        public var resolved: Precision {
            guard self == .auto else { return self }
            guard OneDNN.engine != nil, OneDNN.hasAVX2 else { return .fp32 }
            return .int8
        }

        /// The reduced arithmetic of the Linear layers, nil for fp32.
        var reducedKind: ReducedKind? {
            switch resolved {
            case .fp32, .auto: nil
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

    public init(source: Source, attributes: String? = nil, vocabulary: String? = nil, threads: Int,
                precision: Precision = .fp32) {
        self.source = source
        self.attributes = attributes
        self.vocabulary = vocabulary
        self.threads = threads
        self.precision = precision
    }

    /// `.synthetic` for `syntheticName`, else the file.
    public static func source(named name: String) -> Source {
        name == syntheticName ? .synthetic : .file(name)
    }

    /// Sets the BLAS threads and loads the model.
    /// - Throws: `ModelError` naming the file and what is wrong with it.
    public func load() throws(ModelError) -> LoadedModel {
        BLAS.setThreads(threads)
        OneDNN.setThreads(threads)
        switch source {
        case .synthetic: return try ModelFile.synthetic(precision: precision)
        case .file(let path): return try ModelFile.load(path: path, attributes: attributes, vocabulary: vocabulary, precision: precision)
        }
    }
}
