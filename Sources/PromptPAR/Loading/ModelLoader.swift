import PardCheckpoint

/// Builds the model's layers from a `WeightSource`, deriving every size from tensor shapes and
/// checking every shape (the error names the tensor and both shapes).
struct ModelLoader {
    let source: any TensorSource
    /// The arithmetic of the vision transformer's Linear layers (qkv, out_proj, c_fc, c_proj); nil:
    /// fp32 on OpenBLAS (`.f32`: fp32 on oneDNN). The patch embedding, the visual projection and the
    /// fusion's Linear layers are int8 in an int8 model and fp32 otherwise (`outer`); the text encoder
    /// (run once at load) and the heads fp32 on OpenBLAS.
    var reduced: ReducedKind? = nil
    /// Linear layers that stay fp32 (as the fp32 model's: `.f32` where `OneDNN.fp32OnOneDNN`) even when
    /// `reduced` is set: vision blocks' and those around them.
    var fullPrecision: FullPrecisionLayers = .none

    /// `layer` converted to `reduced`, if set (each layer right after it is read, so that the fp32
    /// weights of the whole model are never held at once).
    /// `apply`: the block (index among count) when the layer is a vision block's, nil: keep fp32.
    func reduce(_ layer: Linear, _ name: String, _ kind: FullPrecisionLayers.Layer,
                _ apply: (index: Int, count: Int)?) throws(ModelError) -> Linear {
        guard let apply, let reduced else { return layer }
        // A layer kept in fp32 runs as the fp32 model's do (on oneDNN where that has brgemm fp32 kernels).
        if fullPrecision.keeps(kind, block: apply.index, of: apply.count) {
            return OneDNN.fp32OnOneDNN ? try layer.reduced(to: .f32, name: "\(source.path): \(name)") : layer
        }
        return try layer.reduced(to: reduced, name: "\(source.path): \(name)")
    }

    /// Whether `outer` moves the layers that stay fp32 to oneDNN.
    var offloads: Bool { reduced != nil && OneDNN.fp32OnOneDNN }

    /// Whether `part` (a layer around the vision blocks) runs in int8: in an int8 model with 8-bit
    /// weights (VNNI or AMX; 7-bit weights doubled the fixtures' int8 error with these layers in int8,
    /// 4.1e-3 -> 9.8e-3 on `promptpar-small`) unless `fullPrecision` keeps it.
    func int8(_ part: FullPrecisionLayers.Outer) -> Bool {
        reduced == .int8 && Int8Quant.weightQMax == 127 && !fullPrecision.keeps(part)
    }

    /// `layer`, one of `part` (the patch embedding, the visual projection, the fusion's): int8 where
    /// `int8(part)`; else fp32 on oneDNN's brgemm kernels, weights reordered once and held once,
    /// wherever the vision blocks run on oneDNN (`reduced` set) and oneDNN has those kernels
    /// (`OneDNN.fp32OnOneDNN`); else as it is (OpenBLAS). Measured on an AMD EPYC Zen 4: in fp32 on
    /// OpenBLAS `Haswell` (as that machine's environment forces) the fusion took 44 ms of a 606 ms int8
    /// batch of 4, on oneDNN about 17 ms of 500 with the patch embedding and the projection; in int8
    /// the batch is about 3 % faster (alternated: 8.46, 8.48, 8.49, 8.47 -> 8.72, 8.74, 8.75, 8.77
    /// crops/s) and the full-size synthetic model's probabilities move 7e-3 from fp32 instead of 3e-3.
    func outer(_ layer: Linear, _ name: String, _ part: FullPrecisionLayers.Outer) throws(ModelError) -> Linear {
        if int8(part) { return try layer.reduced(to: .int8, name: "\(source.path): \(name)") }
        guard offloads else { return layer }
        return try layer.reduced(to: .f32, name: "\(source.path): \(name)")
    }

    func linear(_ prefix: String, in inF: Int, out outF: Int, bias: Bool = true) throws(ModelError) -> Linear {
        Linear(weight: try source.load("\(prefix).weight", [outF, inF]),
               bias: bias ? try source.load("\(prefix).bias", [outF]) : nil,
               inFeatures: inF, outFeatures: outF)
    }

    func layerNorm(_ prefix: String, width: Int, eps: Float) throws(ModelError) -> LayerNorm {
        LayerNorm(gamma: try source.load("\(prefix).weight", [width]), beta: try source.load("\(prefix).bias", [width]), eps: eps)
    }

    /// CLIP's `ResidualAttentionBlock` at `prefix` (`visual.transformer.resblocks.3`).
    /// With `reduce` (the block's index among the vision blocks), its Linear layers in `reduced`
    /// precision but for those `fullPrecision` keeps.
    func clipBlock(_ prefix: String, width w: Int, reduce r: (index: Int, count: Int)? = nil) throws(ModelError) -> TransformerBlock {
        let hidden = try source.requireShape("\(prefix).mlp.c_fc.weight").first ?? 0
        let heads = max(1, w / 64)
        var block = TransformerBlock(
            norm1: try layerNorm("\(prefix).ln_1", width: w, eps: 1e-5),
            qkv: try reduce(Linear(weight: try source.load("\(prefix).attn.in_proj_weight", [3 * w, w]),
                                   bias: try source.load("\(prefix).attn.in_proj_bias", [3 * w]), inFeatures: w, outFeatures: 3 * w),
                            "\(prefix).attn.in_proj_weight", .qkv, r),
            attnOut: try reduce(try linear("\(prefix).attn.out_proj", in: w, out: w), "\(prefix).attn.out_proj", .outProj, r),
            norm2: try layerNorm("\(prefix).ln_2", width: w, eps: 1e-5),
            fc1: try reduce(try linear("\(prefix).mlp.c_fc", in: w, out: hidden), "\(prefix).mlp.c_fc", .cFC, r),
            fc2: try reduce(try linear("\(prefix).mlp.c_proj", in: hidden, out: w), "\(prefix).mlp.c_proj", .cProj, r),
            heads: heads, activation: .quickGELU)
        // Attention on oneDNN where the block has a layer there; in bf16 (AMX) only beside a bf16 or int8
        // layer (a block kept whole stays fp32).
        block.attentionOnOneDNN = [block.qkv, block.attnOut, block.fc1, block.fc2].contains { $0.reduced != nil }
            && OneDNNAttention.available(seq: 8, width: w, heads: heads)
        block.attentionInBF16 = OneDNNAttention.bf16 && [block.qkv, block.attnOut, block.fc1, block.fc2].contains { $0.reduced.map { $0.kind != .f32 } ?? false }
        // int8 products only in a block that is int8 throughout (one with a kept layer stays as it was).
        block.attentionInInt8 = OneDNNAttention.int8 && block.attentionOnOneDNN && !block.attentionInBF16
            && [block.qkv, block.attnOut, block.fc1, block.fc2].allSatisfy { $0.reduced?.kind == .int8 }
        return block
    }

    /// timm's ViT `Block` at `prefix` (`blocks.0`), 12 heads.
    func fusionBlock(_ prefix: String, width w: Int) throws(ModelError) -> TransformerBlock {
        let hidden = try source.requireShape("\(prefix).mlp.fc1.weight").first ?? 0
        return TransformerBlock(
            norm1: try layerNorm("\(prefix).norm1", width: w, eps: 1e-6),
            qkv: try outer(try linear("\(prefix).attn.qkv", in: w, out: 3 * w), "\(prefix).attn.qkv", .fusion),
            attnOut: try outer(try linear("\(prefix).attn.proj", in: w, out: w), "\(prefix).attn.proj", .fusion),
            norm2: try layerNorm("\(prefix).norm2", width: w, eps: 1e-6),
            fc1: try outer(try linear("\(prefix).mlp.fc1", in: w, out: hidden), "\(prefix).mlp.fc1", .fusion),
            fc2: try outer(try linear("\(prefix).mlp.fc2", in: hidden, out: w), "\(prefix).mlp.fc2", .fusion),
            heads: ModelConfig.fusionHeads, activation: .gelu)
    }

    /// `visual.proj` `[W, E]`: as it is for OpenBLAS (`GEMM.ab`, the bits of the fp32 path before), or
    /// transposed into a Linear layer on oneDNN (`outer`).
    func projection(_ c: ModelConfig) throws(ModelError) -> VisionEncoder.Projection {
        let w = c.visionWidth, e = c.embedWidth
        let p = try source.load("visual.proj", [w, e])
        guard offloads || int8(.proj) else { return .matrix(p) }
        var t = [Float](repeating: 0, count: w * e)
        for i in 0..<w { for j in 0..<e { t[j * w + i] = p[i * e + j] } }
        return .layer(try outer(Linear(weight: t, bias: nil, inFeatures: w, outFeatures: e), "visual.proj", .proj))
    }

    /// Sizes of the vision side and the fusion, from shapes.
    func config() throws(ModelError) -> ModelConfig {
        let file = source.path
        let conv = try source.requireShape("visual.conv1.weight")
        guard conv.count == 4, conv[1] == 3, conv[2] == conv[3] else {
            throw .wrongShape("visual.conv1.weight", file: file, expected: [conv.first ?? 0, 3, 14, 14], found: conv)
        }
        let w = conv[0], ps = conv[2]
        let pos = try source.requireShape("visual.positional_embedding")
        let grid = Int(Double(max(0, (pos.first ?? 1) - 1)).squareRoot().rounded())
        guard pos == [grid * grid + 1, w], grid > 0 else {
            throw .wrongShape("visual.positional_embedding", file: file, expected: [grid * grid + 1, w], found: pos)
        }
        let layers = source.countBlocks("visual.transformer.resblocks", probe: ".ln_1.weight")
        guard layers > 0 else { throw .missingTensor("visual.transformer.resblocks.0.ln_1.weight", file: file) }
        let proj = try source.requireShape("visual.proj")
        guard proj.count == 2, proj[0] == w else { throw .wrongShape("visual.proj", file: file, expected: [w, proj.last ?? 0], found: proj) }
        let regions = source.shape(of: "visual.part_class_embedding")?.first ?? 0
        var depth = 0, prompts = 0
        if let pd = source.shape(of: "visual.transformer.prompt_deep") {
            guard pd.count == 4, pd[2] == 1, pd[3] == w else {
                throw .wrongShape("visual.transformer.prompt_deep", file: file, expected: [pd.first ?? 0, pd.count > 1 ? pd[1] : 0, 1, w], found: pd)
            }
            depth = pd[0]; prompts = pd[1]
        }
        guard depth <= layers else {
            throw .unsupportedModel(file: file, "prompt_deep has \(depth) layers of prompts but the vision transformer has \(layers) blocks")
        }
        guard prompts % (regions + 1) == 0 else {
            throw .unsupportedModel(file: file, "\(prompts) visual prompts cannot be split into \(regions + 1) equal groups")
        }
        guard w % 64 == 0 else { throw .unsupportedModel(file: file, "vision width \(w) is not a multiple of the head size 64") }
        let bn = try source.requireShape("bn.weight")
        let norm = try source.requireShape("norm.weight")
        let fusionLayers = source.countBlocks("blocks", probe: ".norm1.weight")
        let dm = norm.first ?? 0
        guard fusionLayers > 0 || source.has("linear_layer.weight") else { throw .missingTensor("blocks.0.norm1.weight", file: file) }
        guard dm % ModelConfig.fusionHeads == 0 else {
            throw .unsupportedModel(file: file, "fusion width \(dm) is not divisible by the 12 fusion heads")
        }
        let tokenEmbedding = source.shape(of: "token_embedding.weight")
        return ModelConfig(
            visionWidth: w, visionLayers: layers, patchSize: ps, imageSize: grid * ps, embedWidth: proj[1],
            prompts: prompts, regions: regions, promptDepth: depth,
            textWidth: tokenEmbedding?.last ?? 0,
            textLayers: source.countBlocks("transformer.resblocks", probe: ".ln_1.weight"),
            fusionWidth: dm, fusionLayers: fusionLayers, attributes: bn.first ?? 0,
            visualMask: true, overlapRows: 2)
    }

    func vision(_ c: ModelConfig) throws(ModelError) -> VisionEncoder {
        let w = c.visionWidth
        var blocks: [TransformerBlock] = []
        try fullPrecision.check(blocks: c.visionLayers, file: source.path)
        for i in 0..<c.visionLayers {
            blocks.append(try clipBlock("visual.transformer.resblocks.\(i)", width: w, reduce: (i, c.visionLayers)))
        }
        return VisionEncoder(
            config: c,
            patchEmbed: try outer(Linear(weight: try source.load("visual.conv1.weight", [w, 3, c.patchSize, c.patchSize]),
                                         bias: nil, inFeatures: 3 * c.patchSize * c.patchSize, outFeatures: w),
                                  "visual.conv1.weight", .patchEmbed),
            classEmbedding: try source.load("visual.class_embedding", [w]),
            positionalEmbedding: try source.load("visual.positional_embedding", [c.grid * c.grid + 1, w]),
            partEmbedding: c.regions > 0 ? try source.load("visual.part_class_embedding", [c.regions, w]) : [],
            lnPre: try layerNorm("visual.ln_pre", width: w, eps: 1e-5),
            blocks: blocks,
            prompts: c.promptDepth > 0 ? try source.load("visual.transformer.prompt_deep", [c.promptDepth, c.prompts, 1, w]) : [],
            projection: try projection(c))
    }

    /// The text encoder, or nil when the file has none.
    func text(_ c: ModelConfig) throws(ModelError) -> TextEncoder? {
        guard let te = source.shape(of: "token_embedding.weight") else { return nil }
        let wt = c.textWidth
        guard te.count == 2, wt % 64 == 0 || wt < 64 else {
            throw .unsupportedModel(file: source.path, "text width \(wt) is not a multiple of the head size 64")
        }
        var blocks: [TransformerBlock] = []
        for i in 0..<c.textLayers { blocks.append(try clipBlock("transformer.resblocks.\(i)", width: wt)) }
        return TextEncoder(
            tokenEmbedding: try source.load("token_embedding.weight", te),
            positionalEmbedding: try source.load("positional_embedding", [ModelConfig.contextLength, wt]),
            blocks: blocks,
            lnFinal: try layerNorm("ln_final", width: wt, eps: 1e-5),
            projection: try source.load("text_projection", [wt, c.embedWidth]),
            width: wt, embedWidth: c.embedWidth)
    }

    /// Fusion and heads, given the text features `[A, E]`.
    func fusion(_ c: ModelConfig, textFeatures: [Float]) throws(ModelError) -> Fusion {
        let a = c.attributes, dm = c.fusionWidth, e = c.embedWidth
        let wordEmbed = try linear("word_embed", in: e, out: dm)
        let mixer: Fusion.Mixer
        if c.fusionLayers > 0 {
            var blocks: [TransformerBlock] = []
            for i in 0..<c.fusionLayers { blocks.append(try fusionBlock("blocks.\(i)", width: dm)) }
            mixer = .transformer(blocks)
        } else {
            mixer = .linear(try linear("linear_layer", in: a + c.tokens, out: a))
        }
        var headW = [Float](), headB = [Float]()
        headW.reserveCapacity(a * dm)
        for i in 0..<a {
            headW += try source.load("weight_layer.\(i).weight", [1, dm])
            headB += try source.load("weight_layer.\(i).bias", [1])
        }
        let gamma = try source.load("bn.weight", [a]), beta = try source.load("bn.bias", [a])
        let mean = try source.load("bn.running_mean", [a]), variance = try source.load("bn.running_var", [a])
        let scale = (0..<a).map { gamma[$0] / (variance[$0] + 1e-5).squareRoot() }
        let shift = (0..<a).map { beta[$0] - mean[$0] * scale[$0] }

        // word_embed(text features): [A, Dm], once.
        var textRows = [Float](repeating: 0, count: a * dm)
        guard textFeatures.count == a * e else { throw .badInput("text features", expected: a * e, found: textFeatures.count) }
        textFeatures.withUnsafeBufferPointer { tf in
            textRows.withUnsafeMutableBufferPointer { tr in
                wordEmbed.apply(tf.baseAddress!, rows: a, into: tr.baseAddress!)
            }
        }
        return Fusion(visualEmbed: try outer(try linear("visual_embed", in: e, out: dm), "visual_embed", .fusion), mixer: mixer,
                      norm: try layerNorm("norm", width: dm, eps: 1e-6),
                      headWeights: headW, headBiases: headB, bnScale: scale, bnShift: shift,
                      textRows: textRows, attributes: a, width: dm)
    }
}
