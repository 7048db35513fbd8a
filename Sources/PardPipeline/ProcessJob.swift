import Foundation
import PARAttributes
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

    public init(batch: Int = 4, threshold: Float = 0.5, trackInterval: Double = 1.0, trackTimeout: Double = 2.0,
                resize: CropExtractor.Resize = .letterbox, dumpCrops: String? = nil, decoderThreads: Int = 1,
                streamName: String) {
        self.batch = batch
        self.threshold = threshold
        self.trackInterval = trackInterval
        self.trackTimeout = trackTimeout
        self.resize = resize
        self.dumpCrops = dumpCrops
        self.decoderThreads = decoderThreads
        self.streamName = streamName
    }
}

/// What a run did; every box read is accounted for.
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
    /// Why decoding stopped before the end; nil when the whole video was processed.
    public var error: String?

    /// Boxes for frames the video does not have.
    public var detectionsWithoutFrame: Int { max(0, boxesRead - boxesMatched) }
    public var cropsPerSecond: Double { seconds > 0 ? Double(cropsClassified) / seconds : 0 }
    public var framesPerSecond: Double { seconds > 0 ? Double(framesDecoded) / seconds : 0 }
}

/// `pard process`: decodes a video on its own thread, crops the detected boxes straight into batch
/// buffers, and runs the model on the calling thread while decoding goes on; events are written in
/// frame and box order, so the same input gives the same bytes.
public final class ProcessJob {
    let video: String
    let detections: Detections
    /// nil: decode and crop only (`--no-model`).
    let model: LoadedModel?
    let options: ProcessOptions
    let writer: EventWriter?
    let progress: ProgressReporter?

    public init(video: String, detections: Detections, model: LoadedModel?, options: ProcessOptions,
                writer: EventWriter?, progress: ProgressReporter?) {
        self.video = video
        self.detections = detections
        self.model = model
        self.options = options
        self.writer = writer
        self.progress = progress
    }

    /// Runs to the end of the video (or the first decoding error, reported in the summary).
    /// - Throws: when the video cannot be opened or events cannot be written.
    public func run() throws -> ProcessSummary {
        let start = Date()
        let decoder = try VideoDecoder(url: video, options: DecoderOptions(threads: options.decoderThreads))
        let imageSize = model?.model.config.imageSize ?? 224
        let floatsPerCrop = 3 * imageSize * imageSize
        let batchSize = max(1, options.batch)
        let buffers = 3
        let free = BlockingQueue<CropBatch>(capacity: buffers), full = BlockingQueue<CropBatch>(capacity: buffers)
        for _ in 0..<buffers { free.push(CropBatch(capacity: batchSize, floatsPerCrop: floatsPerCrop)) }
        if let fps = decoder.frameRate, let duration = decoder.declaredDuration {
            progress?.expectFrames(Int((fps * duration).rounded()))
        }

        let producer = Producer(decoder: decoder, detections: detections, options: options, imageSize: imageSize,
                                free: free, full: full)
        let thread = Thread { producer.run() }
        thread.name = "pard-decode"
        thread.start()

        var summary = ProcessSummary()
        summary.boxesRead = detections.boxCount
        summary.badLines = detections.badLines.count
        var consumer = Consumer(model: model, options: options, writer: writer, batch: batchSize)
        while true {
            let batch = full.pop()
            do { try consumer.consume(batch, summary: &summary, progress: progress) }
            catch {
                // Events can no longer be written: stop the producer at its next batch and drain.
                producer.stop()
                free.push(batch)
                if !batch.isLast { drain(full: full, free: free) }
                throw error
            }
            let last = batch.isLast
            if last {
                summary.error = batch.decodingError.map { "\($0)" }
                if summary.error == nil && producer.framesDecoded == 0 {
                    summary.error = "\(decoder.url): nothing decoded: the video stream has no frames"
                }
                summary.framesDecoded = producer.framesDecoded
                summary.boxesMatched = producer.boxesMatched
            }
            free.push(batch)
            if last { break }
        }
        try consumer.finish(summary: &summary)
        summary.seconds = Date().timeIntervalSince(start)
        progress?.finish(frames: summary.framesDecoded, crops: summary.cropsClassified)
        return summary
    }

    private func drain(full: BlockingQueue<CropBatch>, free: BlockingQueue<CropBatch>) {
        while true {
            let b = full.pop()
            let last = b.isLast
            free.push(b)
            if last { return }
        }
    }
}

/// The decoding thread: frames, boxes, crops into batch buffers.
private final class Producer: @unchecked Sendable {  // used by the decoding thread only, but for stop() and the counters read after the last batch
    let decoder: VideoDecoder
    let detections: Detections
    let options: ProcessOptions
    let extractor: CropExtractor
    let free: BlockingQueue<CropBatch>, full: BlockingQueue<CropBatch>
    private(set) var framesDecoded = 0
    private(set) var boxesMatched = 0
    private let stopFlag = InterruptFlag()

    init(decoder: VideoDecoder, detections: Detections, options: ProcessOptions, imageSize: Int,
         free: BlockingQueue<CropBatch>, full: BlockingQueue<CropBatch>) {
        self.decoder = decoder
        self.detections = detections
        self.options = options
        extractor = CropExtractor(size: imageSize, resize: options.resize)
        self.free = free
        self.full = full
    }

    func stop() { stopFlag.set() }

    func run() {
        var gate = TrackIntervalGate(interval: options.trackInterval, timeout: options.trackTimeout)
        var sequence = 0
        var batch = free.pop()
        batch.reset(firstSequence: 0)
        let tolerance = 0.5 / (decoder.frameRate ?? 25)
        do {
            while !stopFlag.isSet, let frame = try decoder.nextFrame() {
                framesDecoded += 1
                let boxes = detections.boxes(for: frame, tolerance: tolerance)
                boxesMatched += boxes.count
                var outcomes: [(box: Box, outcome: BoxOutcome)] = []
                outcomes.reserveCapacity(boxes.count)
                for (index, box) in boxes.enumerated() {
                    guard extractor.rect(for: box, in: frame) != nil else { outcomes.append((box, .invalid)); continue }
                    if let id = box.id, id >= 0, !gate.admit(id: id, pts: frame.pts) {
                        outcomes.append((box, .skippedByInterval))
                        continue
                    }
                    let rect = try extractor.crop(box, from: frame, into: batch.nextSlot)
                    if let dir = options.dumpCrops {
                        try extractor.dumpPNG(to: URL(fileURLWithPath: dir).appendingPathComponent(
                            CropExtractor.dumpFileName(frame: frame.number, box: index)))
                    }
                    batch.count += 1
                    outcomes.append((box, .classified(sequence: sequence, rect: rect)))
                    sequence += 1
                    if batch.isFull {
                        full.push(batch)
                        batch = free.pop()
                        batch.reset(firstSequence: sequence)
                    }
                }
                batch.frames.append(FrameRecord(frame: frame.number, pts: frame.pts, boxes: outcomes))
                // Frames without crops still move time (track timeouts, progress) forward.
                if batch.count == 0, batch.frames.count >= 16 {
                    full.push(batch)
                    batch = free.pop()
                    batch.reset(firstSequence: sequence)
                }
            }
        } catch {
            batch.decodingError = error
        }
        batch.isLast = true
        full.push(batch)
    }
}

/// The inference side: model, events, tracks.
private struct Consumer {
    let model: LoadedModel?
    let options: ProcessOptions
    let writer: EventWriter?
    let session: InferenceSession?
    /// `[batch, A]`.
    var logits: [Float]
    /// BN logits of crops whose frame is not complete yet, by crop sequence number.
    var pending: [Int: [Float]] = [:]
    var tracks: TrackBook

    init(model: LoadedModel?, options: ProcessOptions, writer: EventWriter?, batch: Int) {
        self.model = model
        self.options = options
        self.writer = writer
        session = model.map { InferenceSession(model: $0.model, maxBatch: batch) }
        logits = [Float](repeating: 0, count: batch * (model?.model.config.attributes ?? 0))
        tracks = TrackBook(timeout: options.trackTimeout)
    }

    mutating func consume(_ batch: CropBatch, summary: inout ProcessSummary, progress: ProgressReporter?) throws {
        if let session, let model, batch.count > 0 {
            let a = model.model.config.attributes
            let t0 = Date()
            logits.withUnsafeMutableBufferPointer { out in
                guard let output = out.baseAddress else { return }
                session.run(images: batch.images, count: batch.count, logits: output)
            }
            summary.modelSeconds += Date().timeIntervalSince(t0)
            for i in 0..<batch.count { pending[batch.firstSequence + i] = Array(logits[(i * a)..<((i + 1) * a)]) }
        }
        for record in batch.frames {
            for (box, outcome) in record.boxes {
                let trackID = box.id.flatMap { $0 >= 0 ? $0 : nil }
                switch outcome {
                case .classified(let sequence, let rect):
                    summary.cropsClassified += 1
                    var probabilities: [Float]?
                    if let model, let writer {
                        guard let l = pending.removeValue(forKey: sequence) else {
                            preconditionFailure("crop \(sequence) of frame \(record.frame) was not run")
                        }
                        let result = AttributeResult(logits: l, attributes: model.attributes, threshold: options.threshold)
                        writer.write(Events.attributes(stream: options.streamName, frame: record.frame, pts: record.pts, box: box,
                                                       rect: rect, result: result, set: model.attributes))
                        summary.attributeEvents += 1
                        probabilities = result.probabilities
                    }
                    if let trackID { tracks.observe(id: trackID, frame: record.frame, pts: record.pts, probabilities: probabilities) }
                case .skippedByInterval:
                    summary.skippedByInterval += 1
                    if let trackID { tracks.observe(id: trackID, frame: record.frame, pts: record.pts, probabilities: nil) }
                case .invalid:
                    summary.invalid += 1
                }
            }
            for t in tracks.expire(at: record.pts) { writeTrack(t, summary: &summary) }
            progress?.update(frame: record.frame, crops: summary.cropsClassified)
        }
        try writer?.flush()
    }

    /// End of the video: the open tracks' summaries.
    mutating func finish(summary: inout ProcessSummary) throws {
        for t in tracks.closeAll() { writeTrack(t, summary: &summary) }
        try writer?.flush()
    }

    private func writeTrack(_ t: TrackBook.Track, summary: inout ProcessSummary) {
        guard let model, let writer else { return }
        writer.write(Events.track(stream: options.streamName, t, set: model.attributes, threshold: options.threshold))
        summary.trackEvents += 1
    }
}
