import ArgumentParser
import Foundation
import PardPipeline
import PromptPAR

/// `pard classify`: attributes of already-normalised images.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify images; prints one JSON object per image, in input order.",
        discussion: """
        Input: --npy FILE, a float32 array [N, 3, 224, 224] of images normalised as PromptPAR expects \
        (RGB, (v/255 - 0.5) / 0.5). Each output line has index, input, logits and probs (head order), \
        attributes (name -> probability) and labels (names at or over the threshold, at most one per \
        exclusive group).
        """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Normalised images, float32 [N, 3, 224, 224].")
    var npy: String

    @Option(help: "Probability at or over which an attribute is a label.")
    var threshold: Float = 0.5

    @Option(help: "Images per forward pass.")
    var batch: Int = 4

    func validate() throws {
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be within 0...1, got \(threshold)") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
    }

    func run() throws {
        let loaded = try model.load()
        let out = FileHandle.standardOutput
        do {
            try ClassifyJob.run(loaded, npyPath: npy, threshold: threshold, batch: batch) { line in
                out.write(Data((line + "\n").utf8))
            }
        } catch let error as PipelineError { throw CLIError(error.description) }
    }
}
