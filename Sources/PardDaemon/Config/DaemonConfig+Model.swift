import Foundation
import PromptPAR

extension DaemonConfig {
    /// `model`: the PromptPAR model and how it is run.
    public struct Model: Hashable, Sendable {
        /// `checkpoint`: a released PromptPAR checkpoint (`.pth`) or a file made by `pard convert`
        /// (`.safetensors`). Required.
        public var checkpoint: String
        /// `attributes`: a preset name (`PA100k`, `PETA`, `PETAzs`, `RAPV1`, `RAPV2`, `RAPzs`, `WIDER`, `UPAR`)
        /// or a JSON file (a value ending in `.json` or containing `/`; relative to the config file).
        /// Default nil: the set stored in a `.safetensors`, or the preset whose size matches the model.
        public var attributes: String?
        /// `vocabulary`: CLIP's `bpe_simple_vocab_16e6.txt`. Default nil: searched in the usual places
        /// (`/usr/local/share/pard`, ...).
        public var vocabulary: String?
        /// `threads`: OpenBLAS threads. Default: the number of cores this process may use.
        public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        /// `batch_size`: crops per forward pass, 1...256. Default 4.
        public var batchSize = 4
        /// `batch_wait`: seconds a partial batch may wait for more crops before it runs. Default 0.2.
        public var batchWait: TimeInterval = 0.2
        /// `precision`: the arithmetic of the vision transformer's Linear layers: `fp32` (OpenBLAS),
        /// `bf16` or `int8` (oneDNN), or `auto` (the fastest this CPU supports; README: Precision).
        /// Default `fp32`: the official model's outputs to 1e-6.
        public var precision: Precision = .fp32
        /// `fp32_layers`: with `bf16` or `int8`, layers kept fp32: a list (or one comma-separated
        /// string) of layers in every block (`qkv`, `out_proj`, `c_fc`, `c_proj`; `fc1`, `fc2`), blocks
        /// (an index, `first`, `last`), `BLOCK.LAYER`, or the layers around the blocks that an int8
        /// model runs in int8 too (`patch_embed`, `proj`, `fusion`). Default: none.
        public var fp32Layers: FullPrecisionLayers = .none
        /// `threshold`: probability at or over which an attribute is a label, 0...1. Default 0.5.
        public var threshold: Float = 0.5

        /// A model section with defaults for everything but the checkpoint.
        /// The `checkpoint` value that means the released ViT-L/14 layout with random weights, built in
        /// memory (for measuring; its outputs mean nothing).
        public static let synthetic = "synthetic:ViT-L/14"

        public init(checkpoint: String) {
            self.checkpoint = checkpoint
        }

        /// The arithmetic asked for, as part of the model's identity between edges and workers:
        /// `int8`, or `int8 fp32:c_proj,last` with `fp32_layers`.
        public var arithmetic: String {
            fp32Layers.isEmpty ? precision.rawValue : "\(precision.rawValue) fp32:\(fp32Layers)"
        }

        /// The model to load (`pard run`, `pard worker`).
        public var spec: ModelSpec {
            ModelSpec(source: ModelSpec.source(named: checkpoint), attributes: attributes, vocabulary: vocabulary, threads: threads,
                      precision: precision, fullPrecision: fp32Layers)
        }
    }

    /// The arithmetic of the forward pass (`fp32`, `bf16`, `int8`, `auto`): the model's own.
    public typealias Precision = ModelSpec.Precision
}
