import CLIPTokenizer
import Foundation
import PARAttributes
import PardCheckpoint

/// A model ready to run, with the attribute set that names its heads.
public struct LoadedModel: Sendable {
    public let model: PromptPARModel
    public let attributes: AttributeSet
    /// The file it came from.
    public let path: String

    public init(model: PromptPARModel, attributes: AttributeSet, path: String) {
        self.model = model
        self.attributes = attributes
        self.path = path
    }
}

/// Opening the files pard runs: the released `.pth` checkpoints and pard's own `.safetensors`
/// (written by `pard convert`: the vision and fusion weights, the precomputed text features, and the
/// attribute set in the metadata, so loading needs neither the tokenizer nor the text encoder).
public enum ModelFile {
    /// Where the canonical names live in a released checkpoint: CLIP's state dict under `ViT_model`, the
    /// fusion and heads under `model_state_dict`; a bare state dict (possibly from DataParallel) also works.
    public static let checkpointPrefixes = ["ViT_model.", "model_state_dict.", "", "module."]

    /// Metadata keys of pard's safetensors files.
    public enum Metadata {
        public static let format = "pard.format"
        public static let formatValue = "promptpar/1"
        public static let attributes = "pard.attributes"
        public static let source = "pard.source"
        public static let flags = "pard.flags"
    }

    /// Whether `path` is one of pard's safetensors files (by name).
    public static func isSafetensors(_ path: String) -> Bool { path.hasSuffix(".safetensors") }

    /// Loads a model. `attributes` is a preset name or a JSON file; without it, a `.safetensors` uses
    /// its own set and a `.pth` the preset whose size matches the heads (an error lists the candidates
    /// when several do). `vocabulary` overrides where the BPE vocabulary is looked for.
    public static func load(path: String, attributes: String? = nil, vocabulary: String? = nil,
                            precision: ModelSpec.Precision = .fp32, fullPrecision: FullPrecisionLayers = .none,
                            searchPaths: [URL] = AttributeSet.defaultSearchPaths()) throws(ModelError) -> LoadedModel {
        if isSafetensors(path) {
            let file: SafetensorsFile
            do { file = try SafetensorsFile(path: path) } catch { throw .unreadable(error.description) }
            guard file.metadata[Metadata.format] == Metadata.formatValue else {
                throw .unsupportedModel(file: path, "not a pard model file (metadata '\(Metadata.format)' is not '\(Metadata.formatValue)'); make one with pard convert")
            }
            let set: AttributeSet
            if let attributes {
                set = try resolveAttributes(attributes, count: try file.requireShape("bn.weight").first ?? 0, searchPaths: searchPaths)
            } else {
                guard let json = file.metadata[Metadata.attributes] else {
                    throw .unsupportedModel(file: path, "metadata has no '\(Metadata.attributes)'")
                }
                do { set = try AttributeSet(json: Data(json.utf8), source: "\(path) metadata") }
                catch { throw .attributes("\(error)") }
            }
            let model = try PromptPARModel(source: file, tokens: nil, precision: precision, fullPrecision: fullPrecision)
            guard set.count == model.config.attributes else {
                throw .attributes("attribute set \(set.name) has \(set.count) attributes but \(path) has \(model.config.attributes) heads")
            }
            return LoadedModel(model: model, attributes: set, path: path)
        }
        let checkpoint: TorchCheckpoint
        do { checkpoint = try TorchCheckpoint(path: path) } catch { throw .unreadable(error.description) }
        let source = checkpoint.withPrefixes(checkpointPrefixes)
        let heads = try source.requireShape("bn.weight").first ?? 0
        let set = try resolveAttributes(attributes, count: heads, searchPaths: searchPaths)
        let tokens = try tokenize(set.sentences, vocabulary: vocabulary)
        return LoadedModel(model: try PromptPARModel(source: source, tokens: tokens, precision: precision, fullPrecision: fullPrecision), attributes: set, path: path)
    }

    /// The released ViT-L/14 layout with random weights (`SyntheticWeights`), named by the PA100k preset:
    /// for benchmarks and dry runs without a checkpoint. Its outputs mean nothing.
    public static func synthetic(precision: ModelSpec.Precision = .fp32, fullPrecision: FullPrecisionLayers = .none,
                                 searchPaths: [URL] = AttributeSet.defaultSearchPaths()) throws(ModelError) -> LoadedModel {
        let config = SyntheticWeights.releasedShape
        let set = try resolveAttributes("PA100k", count: config.attributes, searchPaths: searchPaths)
        // Token ids need no vocabulary: any valid ids exercise the text encoder the same way.
        let tokens = (0..<config.attributes).map { a -> [Int32] in
            var ids = [Int32](repeating: 0, count: ModelConfig.contextLength)
            ids[0] = 49406; ids[1] = Int32(320 + a); ids[2] = Int32(1000 + a); ids[3] = 49407
            return ids
        }
        let model = try PromptPARModel(source: SyntheticWeights(config: config), tokens: tokens, precision: precision,
                                       fullPrecision: fullPrecision)
        return LoadedModel(model: model, attributes: set, path: "<synthetic ViT-L/14>")
    }

    /// The attribute set for a model with `count` heads.
    static func resolveAttributes(_ nameOrFile: String?, count: Int, searchPaths: [URL]) throws(ModelError) -> AttributeSet {
        do { return try AttributeSet.resolve(nameOrFile, attributeCount: count, searchPaths: searchPaths) }
        catch { throw .attributes("\(error)") }
    }

    /// CLIP token ids (77 each) of the sentences.
    public static func tokenize(_ sentences: [String], vocabulary: String?) throws(ModelError) -> [[Int32]] {
        do {
            let tokenizer = try CLIPTokenizer(vocabulary: try CLIPTokenizer.locateVocabulary(explicit: vocabulary))
            return try sentences.map { try tokenizer.tokenize($0) }
        } catch {
            throw .vocabulary("\(error)")
        }
    }

    /// Writes pard's deployable file for a loaded `.pth` model: the vision and fusion tensors (fp16 ones
    /// stay fp16), `text_features` `[A, E]`, and the attribute set and provenance in the metadata.
    public static func convert(_ loaded: LoadedModel, to output: String) throws(ModelError) {
        let checkpoint: TorchCheckpoint
        do { checkpoint = try TorchCheckpoint(path: loaded.path) } catch { throw .unreadable(error.description) }
        let source = checkpoint.withPrefixes(checkpointPrefixes)
        var tensors: [SafetensorsWriter.Tensor] = []
        for name in source.tensorNames where !isTextEncoderTensor(name) {
            do {
                let info = try source.tensorInfo(name)
                guard info.dtype == .float16 || info.dtype == .float32 || info.dtype == .bfloat16 else { continue }
                tensors.append(.init(name: name, shape: info.shape, floats: try source.floats(name),
                                     as: info.dtype == .float32 ? .float32 : info.dtype))
            } catch { throw .unreadable(error.description) }
        }
        let c = loaded.model.config
        tensors.append(.init(name: SourceNames.textFeatures, shape: [c.attributes, c.embedWidth],
                             floats: loaded.model.textFeatures, as: .float32))
        let metadata: [String: String] = [
            Metadata.format: Metadata.formatValue,
            Metadata.attributes: String(decoding: loaded.attributes.jsonData(), as: UTF8.self),
            Metadata.source: URL(fileURLWithPath: loaded.path).lastPathComponent,
            Metadata.flags: #"{"use_vismask": true, "overlap_row": 2}"#,
        ]
        do { try SafetensorsWriter.write(tensors, metadata: metadata, to: output) }
        catch { throw .unreadable(error.description) }
    }

    /// The text encoder's tensors (and unused text prompts), which pard's own file leaves out.
    static func isTextEncoderTensor(_ name: String) -> Bool {
        name.hasPrefix("transformer.") || name.hasPrefix("token_embedding.") || name == "positional_embedding"
            || name.hasPrefix("ln_final.") || name == "text_projection" || name == "logit_scale"
    }
}
