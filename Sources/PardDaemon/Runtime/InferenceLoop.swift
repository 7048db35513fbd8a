import Foundation
import Logging
import PARAttributes
import PardPipeline
import PromptPAR

/// The main loop's model side: batches from the crop queue through the one model, events in the order
/// the crops were queued, track summaries when tracks end.
struct InferenceLoop {
    let model: LoadedModel
    let session: InferenceSession
    let queue: CropQueue
    let writer: EventOutput
    let metrics: DaemonMetrics
    let threshold: Float
    let batchSize: Int
    let batchWait: Double
    /// `[batch, 3, S, S]`: the batch's crops, copied from their queue slots.
    private let images: UnsafeMutablePointer<Float>
    /// `[batch, A]`.
    private var logits: [Float]
    private(set) var classified = 0

    init(model: LoadedModel, queue: CropQueue, writer: EventOutput, metrics: DaemonMetrics, threshold: Float,
         batchSize: Int, batchWait: Double) {
        self.model = model
        session = InferenceSession(model: model.model, maxBatch: batchSize)
        self.queue = queue
        self.writer = writer
        self.metrics = metrics
        self.threshold = threshold
        self.batchSize = batchSize
        self.batchWait = batchWait
        images = .allocate(capacity: batchSize * model.model.imageFloats)
        logits = [Float](repeating: 0, count: batchSize * model.model.config.attributes)
    }

    func deallocate() { images.deallocate() }

    /// Runs one batch if crops are queued (waiting at most `idle` seconds for one); returns crops run.
    mutating func step(streams: [StreamState], idle: Double) throws -> Int {
        let crops = queue.nextBatch(max: batchSize, wait: batchWait, idle: idle)
        metrics.queueDepth.set(Double(queue.depth))
        guard !crops.isEmpty else { return 0 }
        let per = model.model.imageFloats, a = model.model.config.attributes
        for (i, crop) in crops.enumerated() {
            (images + i * per).update(from: queue.buffer(crop.slot).baseAddress!, count: per)
        }
        queue.finished(crops)
        let t0 = Date()
        logits.withUnsafeMutableBufferPointer { session.run(images: images, count: crops.count, logits: $0.baseAddress!) }
        metrics.inferenceSeconds.record(Date().timeIntervalSince(t0))
        metrics.batchSize.record(Double(crops.count))
        metrics.batches.increment()
        for (i, crop) in crops.enumerated() {
            let stream = streams[crop.stream]
            let result = AttributeResult(logits: Array(logits[(i * a)..<((i + 1) * a)]), attributes: model.attributes, threshold: threshold)
            writer.write(Events.attributes(stream: stream.config.name, frame: crop.frame, pts: crop.pts, box: crop.box,
                                           rect: crop.rect, result: result, set: model.attributes))
            metrics.attributeEvents.increment()
            stream.metrics.cropsClassified.increment()
            if let id = crop.box.id, id >= 0 {
                // The box was counted as seen when it was queued.
                stream.tracks.observe(id: id, frame: crop.frame, pts: crop.pts, probabilities: result.probabilities, seen: false)
            }
        }
        classified += crops.count
        return crops.count
    }

    /// Writes the summaries of tracks not seen for their timeout (video time of each stream).
    func expireTracks(_ streams: [StreamState]) {
        for s in streams {
            for seen in s.takeSightings() { s.tracks.observe(id: seen.id, frame: seen.frame, pts: seen.pts, probabilities: nil) }
            guard let now = s.latestPTS else { continue }
            for t in s.tracks.expire(at: now) { writeTrack(t, stream: s) }
        }
    }

    /// Writes the summaries of every open track (shutdown).
    func closeAllTracks(_ streams: [StreamState]) {
        for s in streams {
            for seen in s.takeSightings() { s.tracks.observe(id: seen.id, frame: seen.frame, pts: seen.pts, probabilities: nil) }
            for t in s.tracks.closeAll() { writeTrack(t, stream: s) }
        }
    }

    private func writeTrack(_ t: TrackBook.Track, stream: StreamState) {
        writer.write(Events.track(stream: stream.config.name, t, set: model.attributes, threshold: threshold))
        metrics.trackEvents.increment()
    }
}
