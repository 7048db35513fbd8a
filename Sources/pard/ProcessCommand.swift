import ArgumentParser
import Foundation
import PardMQTT
import PardPipeline
import PardVideo
import PromptPAR

extension CropExtractor.Resize: ExpressibleByArgument {}

/// `pard process`: recorded footage to attribute events.
struct ProcessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Classify the detected pedestrians of a video file; writes JSON-line events.",
        discussion: """
        Decodes VIDEO with FFmpeg, cuts every detection box from its frame (letterboxed to 224x224), \
        runs the model in batches while decoding goes on, and writes one "attributes" event per \
        classified box and one "track" event per finished track (README: Events). A summary goes to \
        standard error at the end; the exit status is 0 only when the whole video was processed.
        """)

    @Argument(help: "The video file (any container and codec FFmpeg reads).")
    var video: String

    @Option(help: "Detection boxes: MOTChallenge text (frame,id,x,y,w,h,conf,...) or JSON lines (README: Detections).")
    var detections: String

    @OptionGroup var model: ModelOptions

    @Flag(help: "Use the released model's size with random weights instead of --checkpoint (for measuring).")
    var synthetic = false

    @Flag(name: .customLong("no-model"), help: "Decode and crop only: no model, no events (measures decoding and cropping).")
    var noModel = false

    @Option(name: .long, help: "Event file (appended to); - for standard output.")
    var out: String = "-"

    @Option(help: "Crops per forward pass.")
    var batch: Int = ProcessCommand.defaultBatch

    @Option(help: "Probability at or over which an attribute is a label.")
    var threshold: Float = 0.5

    @Option(name: .customLong("track-interval"), help: "Seconds of video between two classifications of a tracked person (0: every box).")
    var trackInterval: Double = 1.0

    @Option(name: .customLong("track-timeout"), help: "Seconds of video a track may go unseen before its summary is written.")
    var trackTimeout: Double = 2.0

    @Option(help: "How a box becomes 224x224: letterbox (keep the aspect ratio, pad with black) or stretch.")
    var resize: CropExtractor.Resize = .letterbox

    @Option(name: .customLong("dump-crops"), help: "Write every crop as a PNG into this folder (f<frame>_b<box>.png).")
    var dumpCrops: String?

    @Flag(name: .customLong("skip-bad-lines"), help: "Skip malformed detection lines (counted) instead of stopping at the first.")
    var skipBadLines = false

    @Option(name: .customLong("decoder-threads"), help: "FFmpeg decoding threads (0: FFmpeg's choice).")
    var decoderThreads: Int = 1

    @Option(name: .customLong("stream-name"), help: "The stream field of events (default: the video's file name).")
    var streamName: String?

    @OptionGroup(title: "MQTT") var mqtt: ProcessMQTTOptions

    @OptionGroup(title: "Pictures") var pictures: PictureArguments

    /// Batches of 4 keep two cores' GEMMs efficient; more cores want more.
    static var defaultBatch: Int { ProcessInfo.processInfo.activeProcessorCount <= 4 ? 4 : 8 }

    func validate() throws {
        guard FileManager.default.fileExists(atPath: video) else { throw ValidationError("\(video): no such file") }
        guard batch >= 1 && batch <= 256 else { throw ValidationError("--batch must be between 1 and 256, got \(batch)") }
        guard (0...1).contains(threshold) else { throw ValidationError("--threshold must be within 0...1, got \(threshold)") }
        guard trackInterval >= 0 else { throw ValidationError("--track-interval must be 0 or more seconds, got \(trackInterval)") }
        guard trackTimeout > 0 else { throw ValidationError("--track-timeout must be more than 0 seconds, got \(trackTimeout)") }
        guard decoderThreads >= 0 else { throw ValidationError("--decoder-threads must be 0 or more, got \(decoderThreads)") }
        let sources = [model.checkpoint != nil, synthetic, noModel].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give exactly one of --checkpoint FILE, --synthetic, --no-model") }
    }

    func run() throws {
        let boxes: Detections
        do { boxes = try Detections.load(path: detections, options: DetectionParseOptions(skipBadLines: skipBadLines)) }
        catch { throw CLIError("\(error)") }
        if let dumpCrops { try Self.checkWritableDirectory(dumpCrops) }
        try pictures.check(video: video, modelRuns: !noModel)
        let loaded = noModel ? nil : try model.load(synthetic: synthetic)
        if noModel { BLAS.setThreads(model.threads) }
        let writer: EventWriter?
        do { writer = noModel ? nil : try EventWriter(path: out) } catch { throw CLIError("\(error)") }
        let broker = noModel ? nil : try mqtt.start()
        var options = ProcessOptions(batch: batch, threshold: threshold, trackInterval: trackInterval, trackTimeout: trackTimeout,
                                     resize: resize, dumpCrops: dumpCrops, decoderThreads: decoderThreads,
                                     streamName: streamName ?? URL(fileURLWithPath: video).lastPathComponent)
        options.pictures = pictures.options
        let job = ProcessJob(video: video, detections: boxes, model: loaded, options: options, sink: EventSinks([writer as EventSink?, broker].compactMap { $0 }),
                             progress: ProgressReporter())
        let summary: ProcessSummary
        do { summary = try job.run() } catch { broker?.close(within: 0); throw CLIError("\(error)") }
        let undelivered = mqtt.finish(broker)
        StandardStream.error.writeIgnoringErrors(Self.report(summary, batch: batch, modelRan: !noModel)
                                                 + PictureArguments.report(summary.pictures, options: options.pictures))
        if let error = summary.error { throw CLIError(error) }
        if let undelivered { throw CLIError(undelivered) }
    }

    /// Creates `dir` if needed and checks that a file can be created in it (a probe file, removed
    /// again), so that `--dump-crops` fails at the start, before the model loads, naming the directory.
    static func checkWritableDirectory(_ dir: String) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        catch { throw CLIError("--dump-crops \(dir): cannot create the directory: \(error.localizedDescription)") }
        let probe = URL(fileURLWithPath: dir).appendingPathComponent(".pard-write-test-\(getpid())").path
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CLIError("--dump-crops \(dir): cannot write into the directory: \(String(cString: strerror(errno)))")
        }
        close(fd)
        unlink(probe)
    }

    /// The end-of-run summary: every box accounted for. `modelRan` false (`--no-model`): boxes were
    /// cropped, not classified.
    static func report(_ s: ProcessSummary, batch: Int, modelRan: Bool) -> String {
        // Boxes of frames after a decoding error were never reached; the video may well have them.
        let unmatched = "for frames the video does not have" + (s.error == nil ? "" : " or that decoding did not reach")
        var lines = [
            "pard: \(s.framesDecoded) frames decoded in \(String(format: "%.1f", s.seconds)) s (\(String(format: "%.1f", s.framesPerSecond)) frames/s)",
            "pard: \(s.boxesRead) boxes read: \(s.cropsClassified) \(modelRan ? "classified" : "cropped"), \(s.skippedByInterval) skipped by the track interval, \(s.invalid) invalid (no area in the frame), \(s.detectionsWithoutFrame) \(unmatched)",
        ]
        if s.badLines > 0 { lines.append("pard: \(s.badLines) malformed detection lines skipped") }
        if s.attributeEvents + s.trackEvents > 0 {
            var speed = "\(String(format: "%.3f", s.cropsPerSecond)) crops/s end to end at batch \(batch), model \(String(format: "%.3f", s.modelSeconds > 0 ? Double(s.cropsClassified) / s.modelSeconds : 0)) crops/s"
            let batchMedian = median(s.fullBatchSeconds)  // as `pard bench` takes it
            if batchMedian > 0 {
                // Comparable with `pard bench` (median seconds per batch), free of the first and last batches.
                speed += " (median batch of \(s.fullBatchCrops): \(String(format: "%.3f", batchMedian)) s, \(String(format: "%.3f", Double(s.fullBatchCrops) / batchMedian)) crops/s)"
            }
            lines.append("pard: \(s.attributeEvents) attribute events, \(s.trackEvents) track events; \(speed)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
