/// CLIP ViT with PromptPAR's region-aware deep prompts (spec §2). Weights only; `forward` runs on a
/// worker's workspace.
public struct VisionEncoder: Sendable {
    public let config: ModelConfig
    /// `visual.conv1` as a matrix: `[W, 3*14*14]`, no bias.
    let patchEmbed: Linear
    /// `[W]`.
    let classEmbedding: [Float]
    /// `[G*G+1, W]`.
    let positionalEmbedding: [Float]
    /// `[D, W]`: part tokens (no positional embedding).
    let partEmbedding: [Float]
    let lnPre: LayerNorm
    let blocks: [TransformerBlock]
    /// `[V, P, W]`: `prompt_deep` without its singleton axis.
    let prompts: [Float]
    /// `visual.proj`.
    let projection: Projection
    /// `visual.proj`: every token's `[W]` to `[E]`.
    enum Projection: Sendable {
        /// `[W, E]`, for `GEMM.ab` (OpenBLAS).
        case matrix([Float])
        /// Transposed, `[E, W]`, on oneDNN (`ModelLoader.outer`: fp32 or int8).
        case layer(Linear)
    }
    let mask: AttentionMask
    /// The rows a block followed by a prompted layer computes (`LiveRows.beforePrompts`).
    let beforePrompts: LiveRows?
    /// Per block `l < V`: its prompt rows' q, k and v, where it is int8 with int8 attention products
    /// (`PromptQKV8`, made at load); nil elsewhere.
    let promptQKV: [PromptQKV8?]

    init(config: ModelConfig, patchEmbed: Linear, classEmbedding: [Float], positionalEmbedding: [Float],
         partEmbedding: [Float], lnPre: LayerNorm, blocks: [TransformerBlock], prompts: [Float], projection: Projection) {
        self.config = config
        self.patchEmbed = patchEmbed
        self.classEmbedding = classEmbedding
        self.positionalEmbedding = positionalEmbedding
        self.partEmbedding = partEmbedding
        self.lnPre = lnPre
        self.blocks = blocks
        self.prompts = prompts
        self.projection = projection
        mask = config.visualMask && config.regions > 0
            ? .visual(prompts: config.prompts, regions: config.regions, grid: config.grid, overlapRows: config.overlapRows)
            : .full(rows: config.tokens, columns: config.tokens)
        let others = LiveRows.beforePrompts(config)
        beforePrompts = others
        promptQKV = blocks.enumerated().map { layer, block -> PromptQKV8? in
            guard layer < config.promptDepth, let others, block.int8Layers != nil, block.attentionInInt8, !block.attentionInBF16,
                  OneDNNAttention.int8Products(seq: config.tokens, m: others.count, headDim: block.headDim) != nil else { return nil }
            return prompts.withUnsafeBufferPointer {
                PromptQKV8(block: block, prompts: $0.baseAddress! + layer * config.prompts * config.visionWidth, others: others)
            }
        }
    }

    /// Buffers of one forward pass for up to `batch` images.
    struct Buffers {
        /// `[batch, T, W]`: the residual stream.
        let x: UnsafeMutablePointer<Float>
        let scratch: BlockScratch

        static func sizes(_ c: ModelConfig, batch: Int) -> [Int] {
            [batch * c.tokens * c.visionWidth]
                + BlockScratch.sizes(batch: batch, seq: c.tokens, width: c.visionWidth, hidden: 4 * c.visionWidth, heads: max(1, c.visionHeads))
        }

        init(_ ws: Workspace, _ c: ModelConfig, batch: Int) {
            x = ws.carve(batch * c.tokens * c.visionWidth)
            scratch = BlockScratch(ws, batch: batch, seq: c.tokens, width: c.visionWidth, hidden: 4 * c.visionWidth, heads: max(1, c.visionHeads))
        }
    }

    /// Visual tokens `[batch, T, E]` of `batch` images `[batch, 3, S, S]` (normalised to -1...1).
    func forward(images: UnsafePointer<Float>, batch: Int, buffers bu: Buffers, tokens out: UnsafeMutablePointer<Float>) {
        let c = config
        let w = c.visionWidth, t = c.tokens, g = c.grid, ps = c.patchSize, s = c.imageSize
        let patchLen = 3 * ps * ps
        let patches = g * g

        // 1. Patch embedding as a GEMM: im2col [batch*G*G, 3*ps*ps] in `wide`, result in `normed`.
        let cols = bu.scratch.wide
        for b in 0..<batch {
            let img = images + b * 3 * s * s
            for gy in 0..<g {
                for gx in 0..<g {
                    var dst = cols + ((b * g + gy) * g + gx) * patchLen
                    for ch in 0..<3 {
                        for ky in 0..<ps {
                            (dst).update(from: img + (ch * s + gy * ps + ky) * s + gx * ps, count: ps)
                            dst += ps
                        }
                    }
                }
            }
        }
        patchEmbed.apply(cols, rows: batch * patches, into: bu.scratch.normed)

        // 2. [cls + pos0, parts, patches + pos] through ln_pre, written straight to their layer-0 positions.
        let pre = bu.scratch.wide  // [batch, 1 + D + G*G, W]
        let preLen = 1 + c.regions + patches
        classEmbedding.withUnsafeBufferPointer { cls in
        positionalEmbedding.withUnsafeBufferPointer { pos in
        partEmbedding.withUnsafeBufferPointer { parts in
            for b in 0..<batch {
                let seq = pre + b * preLen * w
                for i in 0..<w { seq[i] = cls[i] + pos[i] }
                if c.regions > 0 { (seq + w).update(from: parts.baseAddress!, count: c.regions * w) }
                let src = bu.scratch.normed + b * patches * w
                let dst = seq + (1 + c.regions) * w
                for i in 0..<(patches * w) { dst[i] = src[i] + pos[w + i] }
            }
        }}}
        for b in 0..<batch {
            let seq = pre + b * preLen * w
            let x = bu.x + b * t * w
            lnPre.apply(seq, rows: 1, into: x)
            for part in 0..<c.regions {
                lnPre.apply(seq + (1 + part) * w, rows: 1, into: x + c.partTokenPosition(part + 1) * w)
            }
            lnPre.apply(seq + (1 + c.regions) * w, rows: patches, into: x + c.firstPatch * w)
        }

        // 3. The blocks; before each of the first V, the prompt groups of that layer take their places
        // (so a block before such a layer need not compute the prompt rows: `LiveRows`).
        for (layer, block) in blocks.enumerated() {
            if layer < c.promptDepth { insertPrompts(layer: layer, into: bu.x, batch: batch) }
            block.forward(bu.x, batch: batch, seq: t, mask: mask, live: layer + 1 < c.promptDepth ? beforePrompts : nil,
                          prompts: promptQKV[layer], scratch: bu.scratch)
        }

        // 4. No ln_post: every token times proj.
        switch projection {
        case .matrix(let matrix):
            matrix.withUnsafeBufferPointer { p in
                GEMM.ab(m: batch * t, n: c.embedWidth, k: w, a: bu.x, lda: w, b: p.baseAddress!, ldb: c.embedWidth,
                        beta: 0, c: out, ldc: c.embedWidth)
            }
        case .layer(let layer):
            layer.apply(bu.x, rows: batch * t, into: out)
        }
    }

    /// Writes the prompt groups of `layer` at their positions of every sequence.
    private func insertPrompts(layer: Int, into x: UnsafeMutablePointer<Float>, batch: Int) {
        let c = config, w = c.visionWidth, p = c.promptsPerGroup
        prompts.withUnsafeBufferPointer { pr in
            let layerPrompts = pr.baseAddress! + layer * c.prompts * w
            for b in 0..<batch {
                let seq = x + b * c.tokens * w
                for group in 0...c.regions {
                    (seq + c.promptGroupPosition(group) * w).update(from: layerPrompts + group * p * w, count: p * w)
                }
            }
        }
    }
}
