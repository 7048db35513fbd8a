import ArgumentParser
import Foundation
import PardPipeline
import PardVideo
import PromptPAR

/// `pard classify`: attributes of already-normalised images.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify images; prints one JSON object per image, in input order.",
        discussion: """
        Input: image files (PNG, JPEG, ...: each one pedestrian crop, letterboxed to 224x224 like the \
        crops of pard process), or --npy FILE, a float32 array [N, 3, 224, 224] of images already \
        normalised as PromptPAR expects (RGB, (v/255 - 0.5) / 0.5). Each output line has index, input, logits and probs (head order), \
        attributes (name -> probability) and labels (names at or over the threshold, at most one per \
        exclusive group).
        """)

    @OptionGroup var model: ModelOptions

    @Argument(help: "Image files, one pedestrian each.")
    var images: [String] = []

    @Option(help: "Normalised images, float32 [N, 3, 224, 224], instead of image files.")
    var npy: String?

    @Option(help: "How an image becomes 224x224: letterbox (keep the aspect ratio, pad with black) or stretch.")
    var resize: CropExtractor.Resize = .letterbox

    @Option(help: "Probability at or over which an attribute is a label.")
    var threshold: Float = 0.5

    @Option(help: "Images per forward pass.")
    var batch: Int = 4

    @Option(help: "Also draw the image's attribute card (PNG, 640 px wide: the image beside its attributes) at this path; one image only.")
    var card: String?

    func validate() throws {
        guard (npy == nil) != images.isEmpty else { throw ValidationError("give image files or --npy FILE (not both)") }
        for path in images where !FileManager.default.fileExists(atPath: path) { throw ValidationError("\(path): no such file") }
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be within 0...1, got \(threshold)") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard card == nil || (npy == nil && images.count == 1) else { throw ValidationError("--card takes exactly one image file") }
    }

    func run() throws {
        let loaded = try model.load()
        let emit: (String) throws -> Void = { try Output.standardOutput($0 + "\n") }
        do {
            if let npy {
                try ClassifyJob.run(loaded, npyPath: npy, threshold: threshold, batch: batch, emit: emit)
            } else {
                try ClassifyJob.run(loaded, images: images, resize: resize, threshold: threshold, batch: batch, emit: emit,
                                    picture: cardWriter(loaded))
            }
        } catch { throw CLIError("\(error)") }
    }

    /// `--card OUT.png`: draws the card of the (one) image; nil without the option.
    func cardWriter(_ loaded: LoadedModel) -> ((Int, DecodedFrame, AttributeResult) throws -> Void)? {
        guard let card else { return nil }
        let title = URL(fileURLWithPath: images.first ?? "").lastPathComponent, threshold = threshold
        return { _, frame, result in
            try ClassifyJob.writeCard(to: card, frame: frame, result: result, set: loaded.attributes, threshold: threshold, title: title)
        }
    }
}
