import PardCheckpoint

/// A loaded PromptPAR model: immutable weights, shared by every worker (each with its own
/// `InferenceSession`). The text features are computed at load and the text encoder released.
public final class PromptPARModel: Sendable {
    public let config: ModelConfig
    let vision: VisionEncoder
    let fusion: Fusion
    /// `[A, E]`: text features of the attribute sentences.
    public let textFeatures: [Float]
    /// The arithmetic of the vision transformer's Linear layers (never `auto`).
    public let precision: ModelSpec.Precision
    /// The vision Linear layers kept fp32 although `precision` is bf16 or int8 (`none` at fp32).
    public let fullPrecision: FullPrecisionLayers

    /// Builds the model from tensors. `textFeatures` `[A, E]` comes from the file (pard's own format)
    /// or from running the text encoder on the attribute sentences' tokens (`tokens`, A x 77 ids).
    /// `precision`: the arithmetic of the vision transformer's Linear layers (`auto` is resolved here);
    /// `fullPrecision`: those of them kept fp32 when it is bf16 or int8.
    public init(source: any TensorSource, tokens: [[Int32]]?, precision: ModelSpec.Precision = .fp32,
                fullPrecision: FullPrecisionLayers = .none) throws(ModelError) {
        let resolved = precision.resolved
        self.precision = resolved
        self.fullPrecision = resolved == .fp32 ? .none : fullPrecision
        var loader = ModelLoader(source: source)
        loader.reduced = resolved.reducedKind
        loader.fullPrecision = self.fullPrecision
        let c = try loader.config()
        config = c
        if source.has(SourceNames.textFeatures) {
            textFeatures = try source.load(SourceNames.textFeatures, [c.attributes, c.embedWidth])
        } else {
            guard let tokens else {
                throw .unsupportedModel(file: source.path, "the file has no text features and no attribute sentences were given")
            }
            guard tokens.count == c.attributes else {
                throw .attributes("the model has \(c.attributes) attribute heads but \(tokens.count) sentences were given")
            }
            // The text encoder lives only for this call.
            guard let text = try loader.text(c) else { throw .missingTensor("token_embedding.weight", file: source.path) }
            textFeatures = try text.encode(tokens: tokens)
        }
        vision = try loader.vision(c)
        fusion = try loader.fusion(c, textFeatures: textFeatures)
    }

    /// Text features `[A, E]` of the sentences' tokens, with the file's text encoder (for tests and
    /// `pard convert`).
    public static func textFeatures(source: any TensorSource, tokens: [[Int32]]) throws(ModelError) -> [Float] {
        let loader = ModelLoader(source: source)
        let c = try loader.config()
        guard let text = try loader.text(c) else { throw .missingTensor("token_embedding.weight", file: source.path) }
        return try text.encode(tokens: tokens)
    }

    /// The arithmetic in use, for the line each command logs at start: `int8 (asked auto; oneDNN
    /// avx512_core_amx; attention bf16; fp32 layers c_proj,last)` or `fp32 (OpenBLAS SkylakeX)`.
    public func arithmetic(requested: ModelSpec.Precision) -> String {
        var notes: [String] = []
        if requested != precision { notes.append("asked \(requested.rawValue)") }
        if precision == .fp32 {
            notes.append(products == "onednn" ? "vision products on oneDNN \(OneDNN.isaName), the rest OpenBLAS \(BLAS.coreName)"
                                              : "OpenBLAS \(BLAS.coreName)")
        } else {
            notes.append("oneDNN \(OneDNN.isaName)")
            notes.append("attention \(attention)")
            if !fullPrecision.isEmpty { notes.append("fp32 layers \(fullPrecision)") }
        }
        return "\(precision.rawValue) (\(notes.joined(separator: "; ")))"
    }

    /// The library of the vision transformer's products: `onednn` (bf16, int8, and fp32 where oneDNN
    /// has brgemm fp32 kernels: `OneDNN.fp32OnOneDNN`) or `openblas`.
    public var products: String { precision.reducedKind == nil ? "openblas" : "onednn" }

    /// The arithmetic of the vision blocks' attention products, most blocks': `int8` (int8 blocks
    /// without AMX), `bf16` (AMX), `fp32` (on oneDNN) or `openblas`; several joined by `+` where
    /// `--fp32-layers` kept some blocks apart (`int8+fp32`).
    public var attention: String {
        let kinds = vision.blocks.map { block in
            block.attentionInInt8 ? "int8" : block.attentionInBF16 ? "bf16" : block.attentionOnOneDNN ? "fp32" : "openblas"
        }
        var seen: [String] = []
        for kind in kinds where !seen.contains(kind) { seen.append(kind) }
        return seen.sorted { a, b in kinds.filter { $0 == a }.count > kinds.filter { $0 == b }.count }.joined(separator: "+")
    }

    /// Floats of one input image, `3 * S * S`.
    public var imageFloats: Int { 3 * config.imageSize * config.imageSize }
}

/// Names pard adds to the official ones in its own files.
public enum SourceNames {
    /// `[A, E]` text features, precomputed by `pard convert`.
    public static let textFeatures = "text_features"
}

/// One worker's state: a workspace sized at creation for up to `maxBatch` images. Not thread-safe;
/// make one per thread.
public final class InferenceSession {
    public let model: PromptPARModel
    public let maxBatch: Int
    private let workspace: Workspace
    private let visionBuffers: VisionEncoder.Buffers
    private let fusionBuffers: Fusion.Buffers
    /// `[maxBatch, T, E]`: visual tokens of the last batch.
    private let tokens: UnsafeMutablePointer<Float>

    public init(model: PromptPARModel, maxBatch: Int) {
        self.model = model
        self.maxBatch = max(1, maxBatch)
        let c = model.config, b = self.maxBatch
        let tokenCount = b * c.tokens * c.embedWidth
        workspace = Workspace(capacity: Workspace.size(
            VisionEncoder.Buffers.sizes(c, batch: b) + Fusion.Buffers.sizes(model.fusion, tokens: c.tokens, batch: b) + [tokenCount]))
        visionBuffers = VisionEncoder.Buffers(workspace, c, batch: b)
        fusionBuffers = Fusion.Buffers(workspace, model.fusion, tokens: c.tokens, batch: b)
        tokens = workspace.carve(tokenCount)
    }

    /// Bytes of activation memory this session holds.
    public var workspaceBytes: Int { workspace.capacity * MemoryLayout<Float>.size }

    /// BN logits `[count, A]` of `count <= maxBatch` images `[count, 3, S, S]`. Does not allocate.
    public func run(images: UnsafePointer<Float>, count: Int, logits: UnsafeMutablePointer<Float>) {
        precondition(count <= maxBatch, "batch of \(count) exceeds the session's \(maxBatch)")
        guard count > 0 else { return }
        runVision(images: images, count: count)
        model.fusion.forward(visualTokens: tokens, tokens: model.config.tokens, batch: count,
                             buffers: fusionBuffers, logits: logits)
    }

    /// The vision encoder alone: fills `visualTokens` (for benchmarks and tests).
    public func runVision(images: UnsafePointer<Float>, count: Int) {
        model.vision.forward(images: images, batch: count, buffers: visionBuffers, tokens: tokens)
    }

    /// Visual tokens `[count, T, E]` of the last run.
    public func visualTokens(count: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: tokens, count: count * model.config.tokens * model.config.embedWidth))
    }

    /// Convenience for tools and tests (allocates): logits `[n, A]` of `n` images, in batches.
    public func logits(images: [Float]) throws(ModelError) -> [Float] {
        let per = model.imageFloats, a = model.config.attributes
        guard images.count % per == 0 else { throw .badInput("images", expected: (images.count / per + 1) * per, found: images.count) }
        let n = images.count / per
        var out = [Float](repeating: 0, count: n * a)
        images.withUnsafeBufferPointer { img in
            out.withUnsafeMutableBufferPointer { o in
                var i = 0
                while i < n {
                    let k = min(maxBatch, n - i)
                    run(images: img.baseAddress! + i * per, count: k, logits: o.baseAddress! + i * a)
                    i += k
                }
            }
        }
        return out
    }
}

/// `1 / (1 + exp(-x))`.
public func sigmoid(_ x: Float) -> Float { 1 / (1 + Elementwise.exp(-x)) }
