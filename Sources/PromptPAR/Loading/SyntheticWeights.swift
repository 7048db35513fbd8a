import PardCheckpoint

/// Random weights of a given size, built in memory: the full-size released model for `pard bench`
/// without a checkpoint. Values are deterministic (seeded by tensor name) and of realistic scale, so
/// the arithmetic is representative; the outputs mean nothing.
public struct SyntheticWeights: TensorSource {
    public let path = "<synthetic>"
    private let shapes: [String: [Int]]

    /// The released ViT-L/14 layout: W 1024, L 24, E 768, text 768 x 12, Dm 768, P 50, D 4, 26 attributes.
    public static let releasedShape = ModelConfig(
        visionWidth: 1024, visionLayers: 24, patchSize: 14, imageSize: 224, embedWidth: 768,
        prompts: 50, regions: 4, promptDepth: 24, textWidth: 768, textLayers: 12,
        fusionWidth: 768, fusionLayers: 1, attributes: 26, visualMask: true, overlapRows: 2)

    public init(config c: ModelConfig, vocabulary: Int = 49408) {
        var s: [String: [Int]] = [:]
        func linear(_ p: String, _ i: Int, _ o: Int, bias: Bool = true) { s["\(p).weight"] = [o, i]; if bias { s["\(p).bias"] = [o] } }
        func norm(_ p: String, _ w: Int) { s["\(p).weight"] = [w]; s["\(p).bias"] = [w] }
        func clip(_ p: String, _ w: Int) {
            norm("\(p).ln_1", w); s["\(p).attn.in_proj_weight"] = [3 * w, w]; s["\(p).attn.in_proj_bias"] = [3 * w]
            linear("\(p).attn.out_proj", w, w); norm("\(p).ln_2", w)
            linear("\(p).mlp.c_fc", w, 4 * w); linear("\(p).mlp.c_proj", 4 * w, w)
        }
        let w = c.visionWidth
        s["visual.conv1.weight"] = [w, 3, c.patchSize, c.patchSize]
        s["visual.class_embedding"] = [w]
        s["visual.positional_embedding"] = [c.grid * c.grid + 1, w]
        s["visual.part_class_embedding"] = [c.regions, w]
        norm("visual.ln_pre", w)
        for i in 0..<c.visionLayers { clip("visual.transformer.resblocks.\(i)", w) }
        s["visual.transformer.prompt_deep"] = [c.promptDepth, c.prompts, 1, w]
        s["visual.proj"] = [w, c.embedWidth]
        let wt = c.textWidth
        s["token_embedding.weight"] = [vocabulary, wt]
        s["positional_embedding"] = [ModelConfig.contextLength, wt]
        for i in 0..<c.textLayers { clip("transformer.resblocks.\(i)", wt) }
        norm("ln_final", wt)
        s["text_projection"] = [wt, c.embedWidth]
        let dm = c.fusionWidth
        linear("word_embed", c.embedWidth, dm); linear("visual_embed", c.embedWidth, dm)
        for i in 0..<c.fusionLayers {
            let p = "blocks.\(i)"
            norm("\(p).norm1", dm); linear("\(p).attn.qkv", dm, 3 * dm); linear("\(p).attn.proj", dm, dm)
            norm("\(p).norm2", dm); linear("\(p).mlp.fc1", dm, 4 * dm); linear("\(p).mlp.fc2", 4 * dm, dm)
        }
        norm("norm", dm)
        for i in 0..<c.attributes { s["weight_layer.\(i).weight"] = [1, dm]; s["weight_layer.\(i).bias"] = [1] }
        for k in ["weight", "bias", "running_mean", "running_var"] { s["bn.\(k)"] = [c.attributes] }
        shapes = s
    }

    public var tensorNames: [String] { shapes.keys.sorted() }

    public func shape(of name: String) -> [Int]? { shapes[name] }

    public func tensorInfo(_ name: String) throws(CheckpointError) -> TensorInfo {
        guard let shape = shapes[name] else { throw .missingTensor(name, file: path) }
        return TensorInfo(name: name, dtype: .float32, shape: shape)
    }

    public func floats(_ name: String) throws(CheckpointError) -> [Float] {
        guard let shape = shapes[name] else { throw .missingTensor(name, file: path) }
        let count = shape.reduce(1, *)
        // LayerNorm and BatchNorm scales near 1, variances positive, everything else small and centred.
        let isNormScale = name.hasSuffix("ln_1.weight") || name.hasSuffix("ln_2.weight") || name.hasSuffix("norm1.weight")
            || name.hasSuffix("norm2.weight") || name == "norm.weight" || name.hasSuffix("ln_pre.weight")
            || name == "ln_final.weight" || name == "bn.weight" || name == "bn.running_var"
        let fanIn = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 64
        let amplitude: Float = isNormScale ? 0.1 : min(0.5, 1.7 / Float(fanIn).squareRoot())
        var state = UInt64(truncatingIfNeeded: name.utf8.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }) | 1
        var out = [Float](unsafeUninitializedCapacity: count) { buf, n in
            for i in 0..<count {
                // xorshift64*: uniform in [-1, 1)
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                let r = state &* 2685821657736338717
                buf[i] = Float(Int32(truncatingIfNeeded: r >> 32)) * (1 / 2_147_483_648)
            }
            n = count
        }
        if isNormScale { for i in 0..<count { out[i] = 1 + amplitude * out[i] } }
        else { for i in 0..<count { out[i] *= amplitude } }
        return out
    }
}
