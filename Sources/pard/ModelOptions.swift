import ArgumentParser
import Foundation
import PromptPAR

/// Options shared by the commands that load a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A released PromptPAR checkpoint (.pth) or a file made by pard convert (.safetensors).")
    var checkpoint: String

    @Option(help: "Attribute set: a preset (PA100k, PETA, PETAzs, RAPV1, RAPV2, RAPzs, WIDER, UPAR) or a JSON file. Default: the preset whose size matches the model.")
    var attributes: String?

    @Option(help: "CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt); default: searched in the usual places.")
    var vocabulary: String?

    @Option(help: "OpenBLAS threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("--checkpoint \(checkpoint): no such file")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Loads the model, reporting the failure as one line naming the problem.
    func load() throws -> LoadedModel {
        BLAS.setThreads(threads)
        do { return try ModelFile.load(path: checkpoint, attributes: attributes, vocabulary: vocabulary) }
        catch { throw CLIError(error.description) }
    }
}

/// A failure reported as `pard: <message>` and exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
