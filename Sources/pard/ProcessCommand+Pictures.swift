import ArgumentParser
import Foundation
import PardPipeline

/// `pard process`'s picture options (README: What it looks like).
struct PictureArguments: ParsableArguments {
    @Option(help: "Write each track's best crop (full resolution, JPEG) into this folder as <stream>/<track id>-<first frame>.jpg; track events gain \"snapshot\".")
    var snapshots: String?

    @Option(help: "Write each track's attribute card (PNG, 640 px wide) into this folder as <stream>/<track id>-<first frame>.png (needs a model).")
    var cards: String?

    @Option(help: "Write the video again with every box, its track id and labels drawn (H.264 with libx264, else MPEG-4; same frames and timestamps).")
    var annotate: String?

    var options: PictureOptions { PictureOptions(snapshots: snapshots, cards: cards, annotate: annotate) }

    /// Checks, before the model loads, that every picture output can be written; `video` is the input.
    func check(video: String, modelRuns: Bool) throws {
        if cards != nil && !modelRuns { throw CLIError("--cards needs a model (--checkpoint or --synthetic), not --no-model") }
        for (option, dir) in [("--snapshots", snapshots), ("--cards", cards)] {
            guard let dir else { continue }
            do { try PictureFolder.checkWritable(dir) } catch { throw CLIError("\(option) \(error)") }
        }
        if let annotate {
            let out = URL(fileURLWithPath: annotate).standardizedFileURL, input = URL(fileURLWithPath: video).standardizedFileURL
            guard out.resolvingSymlinksInPath() != input.resolvingSymlinksInPath() else {
                throw CLIError("--annotate \(annotate): is the input video; choose another file")
            }
            let folder = out.deletingLastPathComponent().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw CLIError("--annotate \(annotate): the folder \(folder) does not exist")
            }
            let target = FileManager.default.fileExists(atPath: out.path) ? out.path : folder
            guard access(target, W_OK) == 0 else {
                throw CLIError("--annotate \(annotate): cannot write: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The summary's picture lines ("" when no pictures were asked for).
    static func report(_ counts: PictureWriter.Counts?, options: PictureOptions) -> String {
        guard let counts else { return "" }
        func n(_ kind: PictureWriter.Kind) -> Int { counts.written[kind] ?? 0 }
        var parts: [String] = []
        if let dir = options.snapshots { parts.append("\(n(.snapshot)) snapshots in \(dir)") }
        if let dir = options.cards { parts.append("\(n(.card)) cards in \(dir)") }
        if let file = options.annotate { parts.append("\(n(.frame)) frames annotated in \(file)") }
        var lines = ["pard: " + parts.joined(separator: ", ")]
        let failed = counts.failed.values.reduce(0, +)
        if failed > 0 {
            lines.append("pard: \(failed) pictures failed (" + PictureWriter.Kind.allCases.compactMap { kind in
                counts.failed[kind].map { "\($0) \(kind.rawValue)" }
            }.joined(separator: ", ") + ")")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
