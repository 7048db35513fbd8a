import ArgumentParser
import Foundation
import PromptPAR

/// `pard convert`: a released checkpoint to pard's deployable safetensors file.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a released checkpoint (.pth) to pard's own .safetensors file.",
        discussion: """
        The output holds the vision and fusion weights, the text features of the attribute sentences \
        (computed now, once) and the attribute set in its metadata: loading it needs neither the \
        tokenizer nor the text encoder, and gives the same outputs as the .pth.
        """)

    @Argument(help: "The released checkpoint (.pth).")
    var checkpoint: String

    @Option(name: .shortAndLong, help: "Output file (.safetensors).")
    var output: String

    @Option(help: "Attribute set: a preset or a JSON file. Default: the preset whose size matches the model.")
    var attributes: String?

    @Option(help: "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt); default: searched in the usual places.")
    var vocabulary: String?

    func validate() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else { throw ValidationError("\(checkpoint): no such file") }
        guard output.hasSuffix(".safetensors") else { throw ValidationError("-o \(output): the output must end in .safetensors") }
        guard !ModelFile.isSafetensors(checkpoint) else { throw ValidationError("\(checkpoint) is already a .safetensors file") }
    }

    func run() throws {
        do {
            let spec = ModelSpec(source: .file(checkpoint), attributes: attributes, vocabulary: vocabulary,
                                 threads: ProcessInfo.processInfo.activeProcessorCount)
            let loaded = try spec.load()
            try ModelFile.convert(loaded, to: output)
            let c = loaded.model.config
            Output.message("pard: wrote \(output) (\(loaded.attributes.name), \(c.attributes) attributes, vision \(c.visionWidth)x\(c.visionLayers), \(c.tokens) tokens)")
        } catch { throw CLIError(error.description) }
    }
}
