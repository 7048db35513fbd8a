/// PromptPAR's sizes, all derived from tensor shapes at load (nothing here is a constant of the
/// released models, except the rules the official code fixes: vision heads `W/64`, text heads `Wt/64`,
/// fusion heads 12).
public struct ModelConfig: Sendable, Equatable, Codable {
    /// `W`: vision width (1024 for ViT-L/14).
    public var visionWidth: Int
    /// `L`: vision transformer blocks.
    public var visionLayers: Int
    /// Patch side in pixels (14).
    public var patchSize: Int
    /// Input side in pixels (224).
    public var imageSize: Int
    /// `E`: joint embedding width (output of `visual.proj` and `text_projection`).
    public var embedWidth: Int
    /// `P`: visual prompts per layer.
    public var prompts: Int
    /// `D`: regions (`div_num`), i.e. part tokens.
    public var regions: Int
    /// `V`: layers that get deep prompts (`vis_depth <= L`).
    public var promptDepth: Int
    /// `Wt`, `Lt`: text width and blocks (0 when the text features were precomputed).
    public var textWidth: Int
    public var textLayers: Int
    /// `Dm`: fusion width; fusion blocks (`mm_layers`; 0 for the linear fusion variant).
    public var fusionWidth: Int
    public var fusionLayers: Int
    /// `A`: attributes (heads).
    public var attributes: Int
    /// The region mask (`use_vismask`; not recoverable from weights, on in every released model).
    public var visualMask: Bool
    /// Grid rows shared by neighbouring regions (`overlap_row`, 2).
    public var overlapRows: Int

    /// `G`: patch grid side (16).
    public var grid: Int { imageSize / patchSize }
    /// `p`: prompts per group.
    public var promptsPerGroup: Int { prompts / (regions + 1) }
    /// `T`: tokens through the vision transformer (311 for the released models).
    public var tokens: Int { prompts + regions + 1 + grid * grid }
    /// Index of the first patch token in the sequence.
    public var firstPatch: Int { prompts + regions + 1 }
    public var visionHeads: Int { visionWidth / 64 }
    public var textHeads: Int { max(1, textWidth / 64) }
    public static let fusionHeads = 12
    /// CLIP's text context (77).
    public static let contextLength = 77

    /// Sequence position of part token `g` (1...D); the class token is at 0.
    public func partTokenPosition(_ g: Int) -> Int { g * (promptsPerGroup + 1) }
    /// Sequence position of the first prompt of group `g` (0...D).
    public func promptGroupPosition(_ g: Int) -> Int { g * (promptsPerGroup + 1) + 1 }

    /// GFLOP (2 per multiply-add) of the vision encoder for one image, patch embedding included, as the
    /// official forward computes it: the prompt rows that the int8 blocks skip (`LiveRows`) are counted,
    /// so a rate from it is an effective one, comparable between precisions.
    public var visionGFLOP: Double {
        let w = Double(visionWidth), t = Double(tokens), hidden = 4 * w
        let perLayer = t * 2 * (3 * w * w + w * w + 2 * w * hidden) + 2 * 2 * t * t * w
        let patch = Double(grid * grid) * 2 * Double(3 * patchSize * patchSize) * w
        return (Double(visionLayers) * perLayer + patch + t * 2 * w * Double(embedWidth)) / 1e9
    }
}
