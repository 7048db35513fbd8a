import Foundation
import Logging
import PardPipeline
import PardVideo

/// One configured stream at run time: its decoding thread (`LiveStream`) feeding a `FrameBuffer`, and its
/// `DetectionReceiver` handing each detection line to the stream's `DetectionIntake`.
final class StreamInput: Sendable {
    let index: Int
    let config: DaemonConfig.Stream
    let intake: DetectionIntake
    let live: LiveStream
    let receiver: DetectionReceiver
    let state: StreamUpState

    /// `onState` hears every change of the stream's state (the MQTT sink's `state` topic).
    init(index: Int, config: DaemonConfig.Stream, metrics: DaemonMetrics.Stream, imageSize: Int, pool: CropPool,
         logger: Logger, onState: @escaping @Sendable (LiveStreamState) -> Void = { _ in }) {
        self.index = index
        self.config = config
        let buffer = FrameBuffer(seconds: config.frameBuffer)
        let intake = DetectionIntake(index: index, config: config, metrics: metrics, buffer: buffer, imageSize: imageSize,
                                     pool: pool, logger: logger)
        let state = StreamUpState(name: config.name, metrics: metrics, logger: logger)
        self.intake = intake
        self.state = state
        live = LiveStream(options: LiveStreamOptions(config), onFrame: { frame in
            metrics.framesDecoded.increment()
            buffer.append(frame)
        }, onState: { state.changed($0); onState($0) }, onConnectFailure: { _ in metrics.connectFailures.increment() })
        receiver = DetectionReceiver(stream: config.name, source: config.detections, onDetections: { intake.receive($0) },
                                     onMalformed: { bad in
            metrics.detectionsMalformed.increment()
            logger.warning("malformed detection line", metadata: ["stream": "\(config.name)", "error": "\(bad.error)"])
        })
    }

    /// Stops intake: the receiver first (no new crops), then the decoder; waits for both threads.
    func stop() {
        receiver.stop()
        live.stop()
        _ = receiver.join(timeout: 5)
        _ = live.join(timeout: 5)
        intake.buffer.close()
    }
}

/// Whether a stream delivers frames, for `/healthz`, STATUS= and `pard_stream_up`; counts reconnections.
final class StreamUpState: @unchecked Sendable {  // under `lock`
    let name: String
    private let metrics: DaemonMetrics.Stream
    private let logger: Logger
    private let lock = NSLock()
    private var isUp = false
    private var everUp = false
    private var current: LiveStreamState = .connecting

    init(name: String, metrics: DaemonMetrics.Stream, logger: Logger) {
        self.name = name
        self.metrics = metrics
        self.logger = logger
    }

    var up: Bool { lock.lock(); defer { lock.unlock() }; return isUp }

    /// `down: <reason>` while the stream is down (the reason names no credentials), else nil.
    var downReason: String? {
        lock.lock()
        defer { lock.unlock() }
        if case .down = current { return "\(current)" }
        return nil
    }

    func changed(_ state: LiveStreamState) {
        lock.lock()
        current = state
        isUp = state.isUp
        let reconnected = state.isUp && everUp
        if state.isUp { everUp = true }
        lock.unlock()
        metrics.up.set(Double(state.isUp ? 1 : 0))
        if case .connecting = state {} else { logger.info("stream \(state)", metadata: ["stream": "\(name)"]) }
        if case .up = state, reconnected { metrics.reconnects.increment() }
    }
}

/// The detection side of one stream: matches each detection line to a held frame (the `FrameMatcher`
/// rule), admits its boxes (`BoxAdmission`) into the shared `CropPool`, then marks the frame done. Data
/// only flows on, towards the model: nothing here is read back by the result side.
final class DetectionIntake: @unchecked Sendable {  // `admission` is used by the receiver's one thread only
    let index: Int
    let config: DaemonConfig.Stream
    let metrics: DaemonMetrics.Stream
    let buffer: FrameBuffer
    let drops: DropLog
    private let pool: CropPool
    private let logger: Logger
    private var admission: BoxAdmission

    init(index: Int, config: DaemonConfig.Stream, metrics: DaemonMetrics.Stream, buffer: FrameBuffer, imageSize: Int,
         pool: CropPool, logger: Logger) {
        self.index = index
        self.config = config
        self.metrics = metrics
        self.buffer = buffer
        self.pool = pool
        self.logger = logger
        drops = DropLog(stream: config.name, logger: logger)
        admission = BoxAdmission(imageSize: imageSize, resize: .letterbox, trackInterval: config.trackInterval,
                                 trackTimeout: config.trackTimeout)
    }

    /// Crops carry their decoded frame to the result stage (snapshots); called before the receiver starts.
    func keepPictures() { admission.keepPictures = true }

    /// One detection line, on the receiver's thread. A line may name a frame slightly ahead of the
    /// decoder: it waits for it briefly, but only when it is close (the receiver's one thread serves
    /// every producer of the stream).
    func receive(_ detections: FrameDetections) {
        metrics.detectionsReceived.increment(by: Int64(detections.boxes.count))
        var lookup = FrameBuffer.Lookup.missing
        switch detections.key {
        case .frame(let number):
            lookup = buffer.lookup(frame: number)
            if case .notYet = lookup, number - (buffer.span?.newest ?? 0) <= 25 {
                lookup = buffer.waitFor(frame: number, timeout: 1)
            }
        case .pts(let pts):
            let tolerance = FrameMatcher(frameRate: 1 / (buffer.newestInterval ?? 0.04)).tolerance
            lookup = buffer.lookup(pts: pts, tolerance: tolerance)
            if case .notYet = lookup { lookup = buffer.waitFor(pts: pts, tolerance: tolerance, timeout: 1) }
        case nil:
            break
        }
        switch lookup {
        case .found(let frame):
            admit(detections.boxes, of: frame)
        case .late:
            metrics.detectionsLate.increment(by: Int64(detections.boxes.count))
            drops.note(.late, boxes: detections.boxes.count, frame: detections.frame, pts: detections.pts)
        case .notYet, .missing:
            metrics.detectionsUnmatched.increment(by: Int64(detections.boxes.count))
            drops.note(.unmatched, boxes: detections.boxes.count, frame: detections.frame, pts: detections.pts)
        }
    }

    /// Admits the boxes of `frame` into the pool (stream-wide frame number and pts), then its end.
    private func admit(_ boxes: [Box], of frame: LiveFrame) {
        let position = FramePosition(stream: index, frame: frame.number, pts: frame.pts)
        var items: [WorkItem] = []
        items.reserveCapacity(boxes.count + 1)
        for box in boxes {
            do {
                items.append(try admission.admit(box, in: frame.decoded, at: position, pool: pool))
            } catch {
                logger.warning("crop failed", metadata: ["stream": "\(config.name)", "frame": "\(frame.number)", "error": "\(error)"])
                items.append(WorkItem(stream: index, frame: frame.number, pts: frame.pts, box: box, kind: .invalid))
            }
        }
        items.append(.frameDone(stream: index, frame: frame.number, pts: frame.pts))
        pool.push(items)
    }
}
