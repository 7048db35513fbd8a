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

    /// The arithmetic of the model's products. fp32 (OpenBLAS `sgemm`) is the only one today.
    public enum Precision: String, Sendable, CaseIterable {
        case fp32
    }

    /// The name that means `.synthetic` where a file path is expected (the service configuration).
    public static let syntheticName = "synthetic:ViT-L/14"

    public var source: Source
    /// A preset name or a JSON file; nil: the model's own set, or the preset matching its head count.
    public var attributes: String?
    /// The CLIP BPE vocabulary (`.pth` only); nil: searched in the usual places.
    public var vocabulary: String?
    /// OpenBLAS threads.
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
        switch source {
        case .synthetic: return try ModelFile.synthetic()
        case .file(let path): return try ModelFile.load(path: path, attributes: attributes, vocabulary: vocabulary)
        }
    }
}
