import Foundation
import PardVideo
import PromptPAR

/// How `pard process` runs.
public struct ProcessOptions: Sendable {
    /// Crops per forward pass.
    public var batch: Int
    public var threshold: Float
    /// Seconds of video time between two classifications of one track (0 = every box).
    public var trackInterval: Double
    /// Seconds of video time after which an unseen track is finished.
    public var trackTimeout: Double
    public var resize: CropExtractor.Resize
    /// Folder for a PNG of every crop, or nil.
    public var dumpCrops: String?
    /// FFmpeg decoder threads (0 = FFmpeg's choice).
    public var decoderThreads: Int
    /// The `stream` field of events.
    public var streamName: String
    /// Pictures (`--snapshots`, `--cards`, `--annotate`); none by default.
    public var pictures = PictureOptions()

    public init(batch: Int = 4, threshold: Float = 0.5, trackInterval: Double = 1.0, trackTimeout: Double = 2.0,
                resize: CropExtractor.Resize = .letterbox, dumpCrops: String? = nil, decoderThreads: Int = 1,
                streamName: String) {
        (self.batch, self.threshold, self.resize) = (batch, threshold, resize)
        (self.trackInterval, self.trackTimeout) = (trackInterval, trackTimeout)
        (self.dumpCrops, self.decoderThreads, self.streamName) = (dumpCrops, decoderThreads, streamName)
    }
}

/// `pard process`: the pipeline core on one recorded video. A decoding thread (`VideoReader`) matches
/// each frame's detections (`FrameMatcher`), admits its boxes (`BoxAdmission`) and crops them into the
/// `CropPool`, waiting when the model is behind; the calling thread runs the `InferenceStage`, whose
/// `ResultStage` writes events in frame and box order, so the same input gives the same bytes.
public final class ProcessJob {
    let video: String
    let detections: Detections
    /// nil: decode and crop only (`--no-model`).
    let model: LoadedModel?
    let options: ProcessOptions
    let sink: EventSink?
    let progress: ProgressReporter?

    public init(video: String, detections: Detections, model: LoadedModel?, options: ProcessOptions,
                sink: EventSink?, progress: ProgressReporter?) {
        self.video = video
        self.detections = detections
        self.model = model
        self.options = options
        self.sink = sink
        self.progress = progress
    }

    /// Runs to the end of the video (or the first decoding error, reported in the summary).
    /// - Throws: when the video cannot be opened or events cannot be written.
    public func run() throws -> ProcessSummary {
        let started = Date()
        let decoder = try VideoDecoder(url: video, options: DecoderOptions(threads: options.decoderThreads))
        let imageSize = model?.model.config.imageSize ?? 224
        let batch = max(1, options.batch)
        // Three batches of slots: one being cut, one queued, one in the model.
        let pool = CropPool(capacity: 3 * batch, floatsPerCrop: 3 * imageSize * imageSize, whenFull: .wait,
                            pictureLimit: options.pictures.annotate == nil ? .max : Self.framesHeld)
        if let fps = decoder.frameRate, let duration = decoder.declaredDuration {
            progress?.expectFrames(Int((fps * duration).rounded()))
        }
        let tally = ProcessTally(progress: progress)
        let results = ResultStage(streams: [.init(name: options.streamName, trackTimeout: options.trackTimeout)],
                                  attributes: model?.attributes, threshold: options.threshold,
                                  sink: sink ?? EventSinks([]), observer: tally)
        let pictures = options.pictures.isEmpty ? nil : makePictures(decoder: decoder)
        results.pictures = pictures
        let inference = InferenceStage(model: model, pool: pool, results: results, maxBatch: batch, observer: tally)
        let reader = VideoReader(decoder: decoder, detections: detections, options: options, imageSize: imageSize, pool: pool,
                                 keepPictures: pictures?.keepsBest ?? false, annotate: pictures?.annotates ?? false)
        let thread = WorkerThread(name: "pard-decode") { reader.run() }

        do {
            while inference.step(wait: .infinity, idle: 1e9) > 0 {
                try sink?.flush()
            }
        } catch {
            // Events can no longer be written: stop decoding and let the decoding thread end.
            reader.stop()
            pool.close()
            _ = pool.drain(reason: .shutdown)
            thread.join()
            pictures?.writer.finish()
            throw error
        }
        thread.join()
        results.closeAllTracks()
        let pictureCounts = pictures?.writer.finish()
        try sink?.flush()

        var summary = tally.summary
        summary.boxesRead = detections.boxCount
        summary.badLines = detections.badLines.count
        summary.framesDecoded = reader.framesDecoded
        summary.boxesMatched = reader.boxesMatched
        summary.error = reader.failure.map { "\($0)" } ?? pictures?.writer.failure
        summary.pictures = pictureCounts
        if summary.error == nil && reader.framesDecoded == 0 {
            summary.error = "\(decoder.url): nothing decoded: the video stream has no frames"
        }
        summary.seconds = Date().timeIntervalSince(started)
        progress?.finish(frames: summary.framesDecoded, crops: summary.cropsClassified)
        return summary
    }
}
