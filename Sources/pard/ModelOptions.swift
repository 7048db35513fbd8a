import ArgumentParser
import Foundation
import PardPipeline
import PromptPAR

/// Options shared by the commands that load a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A released PromptPAR checkpoint (.pth) or a file made by pard convert (.safetensors).")
    var checkpoint: String?

    @Option(help: "Attribute set: a preset (PA100k, PETA, PETAzs, RAPV1, RAPV2, RAPzs, WIDER, UPAR) or a JSON file. Default: the preset whose size matches the model.")
    var attributes: String?

    @Option(help: "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt); default: searched in the usual places.")
    var vocabulary: String?

    @Option(help: "OpenBLAS threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Arithmetic of the vision transformer's Linear layers: fp32 (OpenBLAS), bf16 or int8 (oneDNN), or auto (the fastest this CPU supports).")
    var precision: ModelSpec.Precision = .fp32

    @Option(name: .customLong("fp32-layers"), help: "With bf16 or int8: vision layers kept fp32, comma-separated: a layer in every block (qkv, out_proj, c_fc, c_proj; fc1, fc2), a block (an index, first, last), BLOCK.LAYER, or patch_embed, proj, fusion (int8 elsewhere in an int8 model) (README: Precision).")
    var fp32Layers: String?

    func validate() throws {
        if let checkpoint, !FileManager.default.fileExists(atPath: checkpoint) {
            throw ValidationError("--checkpoint \(checkpoint): no such file")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        _ = try Self.fullPrecision(fp32Layers)
    }

    /// `--fp32-layers` parsed (`none` without it).
    static func fullPrecision(_ text: String?) throws -> FullPrecisionLayers {
        guard let text else { return .none }
        do { return try FullPrecisionLayers(parsing: text) } catch { throw ValidationError("--fp32-layers: \(error)") }
    }

    /// What these options name (`synthetic`: the released layout with random weights).
    func spec(synthetic: Bool = false) throws -> ModelSpec {
        let source: ModelSpec.Source
        if synthetic {
            source = .synthetic
        } else {
            guard let checkpoint else { throw CLIError("--checkpoint FILE is required (a .pth or .safetensors model)") }
            source = .file(checkpoint)
        }
        return ModelSpec(source: source, attributes: attributes, vocabulary: vocabulary, threads: threads,
                         precision: precision, fullPrecision: try Self.fullPrecision(fp32Layers))
    }

    /// Loads the model, reporting a failure as one line naming the problem, and logs the arithmetic
    /// in use on standard error (`pard: model <file>: int8 (asked auto; oneDNN avx512_core_amx; attention bf16)`).
    func load(synthetic: Bool = false) throws -> LoadedModel {
        let spec = try spec(synthetic: synthetic)
        let loaded: LoadedModel
        do { loaded = try spec.load() } catch { throw CLIError("\(error)") }
        StandardStream.error.writeIgnoringErrors("pard: model \(loaded.path): \(loaded.model.arithmetic(requested: precision))\n")
        return loaded
    }
}

extension ModelSpec.Precision: ExpressibleByArgument {}

/// A failure reported as `pard: <message>` and exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
