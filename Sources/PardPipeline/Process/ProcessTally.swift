import Foundation

/// What a `pard process` run did; every box read is accounted for.
public struct ProcessSummary: Sendable {
    public var framesDecoded = 0
    /// Boxes in the detections file.
    public var boxesRead = 0
    /// Boxes that belong to a decoded frame.
    public var boxesMatched = 0
    public var cropsClassified = 0
    public var skippedByInterval = 0
    /// Boxes with no area inside the frame.
    public var invalid = 0
    /// Malformed detection lines skipped (`--skip-bad-lines`).
    public var badLines = 0
    public var attributeEvents = 0
    public var trackEvents = 0
    /// Wall-clock seconds.
    public var seconds = 0.0
    /// Seconds spent in the model (inference thread).
    public var modelSeconds = 0.0
    /// Seconds of each of the first `ProcessTally.batchSamples` full batches (as many crops as the
    /// largest batch run): the steady model speed, comparable with `pard bench`'s median.
    public var fullBatchSeconds: [Double] = []
    /// Crops in a full batch (the largest batch run; 0 before any).
    public var fullBatchCrops = 0
    /// Why decoding stopped before the end; nil when the whole video was processed.
    public var error: String?
    /// What the picture writer did (nil: no pictures asked for).
    public var pictures: PictureWriter.Counts?

    /// Boxes for frames the video does not have.
    public var detectionsWithoutFrame: Int { max(0, boxesRead - boxesMatched) }
    public var cropsPerSecond: Double { seconds > 0 ? Double(cropsClassified) / seconds : 0 }
    public var framesPerSecond: Double { seconds > 0 ? Double(framesDecoded) / seconds : 0 }
}

/// Counts what the result stage accounts for into a `ProcessSummary`, and moves the progress display.
final class ProcessTally: PipelineObserver, InferenceStage.BatchObserver {
    private(set) var summary = ProcessSummary()
    let progress: ProgressReporter?

    init(progress: ProgressReporter?) { self.progress = progress }

    func classified(stream: Int) { summary.cropsClassified += 1 }
    func skippedByInterval(stream: Int) { summary.skippedByInterval += 1 }
    func invalid(stream: Int) { summary.invalid += 1 }

    func emitted(stream: Int, type: EventType) {
        switch type {
        case .attributes: summary.attributeEvents += 1
        case .track: summary.trackEvents += 1
        }
    }

    func frameDone(stream: Int, frame: Int, pts: Double) {
        progress?.update(frame: frame, crops: summary.cropsClassified)
    }

    /// Full batches whose times are kept for the median (16 bytes each: bounded on any video).
    static let batchSamples = 4096

    func batchRan(crops: Int, seconds: Double) {
        summary.modelSeconds += seconds
        if crops > summary.fullBatchCrops {
            summary.fullBatchCrops = crops
            summary.fullBatchSeconds.removeAll()
        }
        if crops == summary.fullBatchCrops && summary.fullBatchSeconds.count < Self.batchSamples {
            summary.fullBatchSeconds.append(seconds)
        }
    }
}
