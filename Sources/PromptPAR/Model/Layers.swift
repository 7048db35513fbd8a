/// Weights of the layers PromptPAR is made of. Immutable after load and shared by every worker.

/// `y = x · weightᵀ + bias`: weight `[outFeatures, inFeatures]` (PyTorch's layout), bias `[outFeatures]`.
public struct Linear: Sendable {
    /// fp32 weights `[outFeatures, inFeatures]`; empty when `reduced` holds them (bf16 or int8).
    public let weight: [Float]
    public let bias: [Float]?
    public let inFeatures: Int
    public let outFeatures: Int
    /// The weights in bf16 or int8 (oneDNN), or nil: fp32 (OpenBLAS).
    let reduced: ReducedWeights?

    init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        self.weight = weight; self.bias = bias; self.inFeatures = inFeatures; self.outFeatures = outFeatures
        reduced = nil
    }

    /// This layer with its weights converted to `kind` once (the fp32 copy is not kept).
    /// - Throws: `ModelError.unsupportedModel` if oneDNN has no such product on this CPU.
    func reduced(to kind: ReducedKind, name: String) throws(ModelError) -> Linear {
        let r = weight.withUnsafeBufferPointer { ReducedWeights(weight: $0, n: outFeatures, k: inFeatures, kind: kind) }
        guard let r else {
            throw .unsupportedModel(file: name, "oneDNN has no \(kind) matmul on this CPU (ISA \(OneDNN.isaName)); use --precision fp32 or auto")
        }
        return Linear(reduced: r, bias: bias, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    private init(reduced: ReducedWeights, bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        weight = []; self.bias = bias; self.inFeatures = inFeatures; self.outFeatures = outFeatures
        self.reduced = reduced
    }

    /// `out[rows, outFeatures] = x[rows, inFeatures] · weightᵀ (+ bias)`, rows `ldx`/`ldo` apart.
    /// With `accumulate` the product is added to `out` (a residual connection for free); with
    /// `activation` it is applied after the bias.
    func apply(_ x: UnsafePointer<Float>, rows: Int, ldx: Int? = nil,
               into out: UnsafeMutablePointer<Float>, ldo: Int? = nil, accumulate: Bool = false,
               activation: Activation? = nil) {
        guard rows > 0 else { return }
        let ldo = ldo ?? outFeatures
        let n = outFeatures
        if activation != nil { precondition(ldo == n, "activation needs a contiguous output") }
        // The loader gives every MLP layer a bias (`Linear(... bias: true)` in both models).
        let bias = activation != nil ? (self.bias ?? [Float](repeating: 0, count: n)) : self.bias
        bias.withUnsafeBufferPointerOrNil { b in
            /// Bias and activation of one output row of `n` floats (QuickGELU from `ReducedRows` where
            /// the layer is reduced).
            func finish(_ row: UnsafeMutablePointer<Float>) {
                guard let b else { return }
                switch activation {
                case .quickGELU:
                    if let reduced, reduced.kind != .f32 { ReducedRows.biasQuickGELU(row, rows: 1, n: n, bias: b) } else { Elementwise.biasQuickGELU(row, rows: 1, n: n, bias: b) }
                case .gelu: Elementwise.biasGELU(row, rows: 1, n: n, bias: b)
                case nil: Elementwise.addBias(row, rows: 1, n: n, bias: b)
                }
            }
            if let reduced {
                // On oneDNN's threads, each row finished as soon as it is dequantised (in cache).
                reduced.abT(m: rows, a: x, lda: ldx ?? inFeatures, beta: accumulate ? 1 : 0, c: out, ldc: ldo, epilogue: finish)
                return
            }
            weight.withUnsafeBufferPointer { w in
                GEMM.abT(m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx ?? inFeatures,
                         b: w.baseAddress!, ldb: inFeatures, beta: accumulate ? 1 : 0, c: out, ldc: ldo)
            }
            guard let b else { return }
            switch activation {
            case .quickGELU: Elementwise.biasQuickGELU(out, rows: rows, n: n, bias: b)
            case .gelu: Elementwise.biasGELU(out, rows: rows, n: n, bias: b)
            case nil:
                if ldo == n { Elementwise.addBias(out, rows: rows, n: n, bias: b) } else { for r in 0..<rows { finish(out + r * ldo) } }
            }
        }
    }

    /// Multiply-adds per input row.
    var flopsPerRow: Int { 2 * inFeatures * outFeatures }
}

/// LayerNorm over the last axis: gamma, beta `[width]`.
public struct LayerNorm: Sendable {
    public let gamma: [Float]
    public let beta: [Float]
    public let eps: Float
    public var width: Int { gamma.count }

    /// With `parallel`, the rows are split over oneDNN's threads (the bf16/int8 blocks).
    func apply(_ x: UnsafePointer<Float>, rows: Int, ldx: Int? = nil,
               into out: UnsafeMutablePointer<Float>, ldo: Int? = nil, parallel: Bool = false) {
        let ldx = ldx ?? width, ldo = ldo ?? width
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                let body = { (r: Range<Int>) in
                    Elementwise.layerNorm(x + r.lowerBound * ldx, ldx: ldx, rows: r.count, n: self.width, gamma: g.baseAddress!,
                                          beta: b.baseAddress!, eps: self.eps, out: out + r.lowerBound * ldo, ldo: ldo)
                }
                parallel ? TeamParallel.rows(rows, body) : body(0..<rows)
            }
        }
    }
}

/// The MLP's activation.
public enum Activation: Sendable {
    /// `x * sigmoid(1.702 x)`, CLIP's.
    case quickGELU
    /// `0.5 x (1 + erf(x / sqrt 2))`, timm's `nn.GELU`.
    case gelu
}

/// A pre-norm transformer block: `x += attn(ln1(x))`, `x += fc2(act(fc1(ln2(x))))`.
/// CLIP's `ResidualAttentionBlock` (QuickGELU, LayerNorm eps 1e-5, `width/64` heads) and timm's ViT
/// `Block` used by the fusion (exact GELU, eps 1e-6, 12 heads) are both this.
public struct TransformerBlock: Sendable {
    public let norm1: LayerNorm
    /// `[3*width, width]`: q, k, v stacked.
    public let qkv: Linear
    public let attnOut: Linear
    public let norm2: LayerNorm
    public let fc1: Linear
    public let fc2: Linear
    public let heads: Int
    public let activation: Activation
    /// The attention products on oneDNN (`OneDNNAttention`: the vision blocks whose Linear layers run
    /// on oneDNN, bf16, int8 or fp32), else OpenBLAS one head at a time.
    var attentionOnOneDNN = false
    /// Those products with bf16 inputs (`OneDNNAttention.bf16`: AMX) rather than fp32.
    var attentionInBF16 = false
    /// Those products in int8 (`OneDNNAttention.runBatchInt8`; `OneDNNAttention.int8`: without AMX),
    /// in a block whose four Linear layers are int8 (`forwardInt8`).
    var attentionInInt8 = false

    public var width: Int { norm1.width }
    public var headDim: Int { width / heads }
    public var hidden: Int { fc1.outFeatures }

    /// Multiply-adds (x2) for one sequence of `seq` tokens of which `queries` are computed.
    func flops(seq: Int, queries: Int) -> Int {
        seq * qkv.flopsPerRow + queries * (attnOut.flopsPerRow + fc1.flopsPerRow + fc2.flopsPerRow)
            + 2 * 2 * queries * seq * width
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's base address (nil when there is no array) for the duration of `body`.
    func withUnsafeBufferPointerOrNil<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let array = self else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
