import Foundation
import Logging
import PardVideo

/// The live side of every stream: its decoding thread feeding a frame buffer, and its detection
/// receiver cropping the boxes of the frames the detections name into the crop queue.
final class LiveInputs: @unchecked Sendable {  // immutable after init; the parts are thread-safe
    struct Input {
        let state: StreamState
        let buffer: FrameBuffer
        let stream: LiveStream
        let receiver: DetectionReceiver
    }

    let inputs: [Input]
    private let upFlags: UpFlags

    init(streams: [StreamState], queue: CropQueue, logger: Logger) throws {
        let flags = UpFlags(count: streams.count)
        upFlags = flags
        var made: [Input] = []
        for s in streams {
            let buffer = FrameBuffer(seconds: s.config.frameBuffer)
            let metrics = s.metrics
            let name = s.config.name
            let live = LiveStream(options: LiveStreamOptions(s.config), onFrame: { frame in
                metrics.framesDecoded.increment()
                buffer.append(frame)
            }, onState: { state in
                flags.set(s.index, state.isUp)
                metrics.up.set(Double(state.isUp ? 1 : 0))
                if case .connecting = state {} else {
                    logger.info("stream \(state)", metadata: ["stream": "\(name)"])
                }
                if case .up = state, flags.markReconnect(s.index) { metrics.reconnects.increment() }
            })
            // Detections may name a frame slightly ahead of the decoder: wait for it briefly, but only
            // when it is close (the receiver's one thread serves every producer of the stream).
            let receiver = DetectionReceiver(stream: name, source: s.config.detections, onDetections: { detections in
                metrics.detectionsReceived.increment(by: Int64(detections.boxes.count))
                var lookup: FrameBuffer.Lookup
                if let number = detections.frame {
                    lookup = buffer.lookup(frame: number)
                    if case .notYet = lookup, number - (buffer.span?.newest ?? 0) <= 25 {
                        lookup = buffer.waitFor(frame: number, timeout: 1)
                    }
                } else if let pts = detections.pts {
                    lookup = buffer.lookup(pts: pts, tolerance: 0.02)
                    if case .notYet = lookup { lookup = buffer.waitFor(pts: pts, tolerance: 0.02, timeout: 1) }
                } else {
                    lookup = .missing
                }
                switch lookup {
                case .found(let frame):
                    s.sawDetections(pts: frame.pts)
                    s.crop(detections.boxes, from: frame, into: queue)
                case .late:
                    metrics.detectionsLate.increment(by: Int64(detections.boxes.count))
                    s.note(.late, boxes: detections.boxes.count, frame: detections.frame, pts: detections.pts)
                case .notYet, .missing:
                    metrics.detectionsUnmatched.increment(by: Int64(detections.boxes.count))
                    s.note(.unmatched, boxes: detections.boxes.count, frame: detections.frame, pts: detections.pts)
                }
            }, onMalformed: { bad in
                metrics.detectionsMalformed.increment()
                logger.warning("malformed detection line", metadata: ["stream": "\(name)", "error": "\(bad.error)"])
            })
            made.append(Input(state: s, buffer: buffer, stream: live, receiver: receiver))
        }
        inputs = made
        for input in inputs {
            do { try input.receiver.start() } catch {
                stop()
                throw DaemonError.input("\(error)")
            }
        }
    }

    func start() { for i in inputs { i.stream.start() } }

    /// Stops intake: receivers first (no new crops), then the decoders; waits for their threads.
    func stop() {
        for i in inputs { i.receiver.stop() }
        for i in inputs { i.stream.stop() }
        for i in inputs { _ = i.receiver.join(timeout: 5); _ = i.stream.join(timeout: 5); i.buffer.close() }
    }

    /// Streams delivering frames now.
    var upCount: Int { upFlags.count }
}

/// Which streams are up, and whether each has been up before (to count reconnections).
final class UpFlags: @unchecked Sendable {  // under `lock`
    private let lock = NSLock()
    private var up: [Bool]
    private var everUp: [Bool]

    init(count: Int) {
        up = Array(repeating: false, count: count)
        everUp = up
    }

    func set(_ i: Int, _ value: Bool) { lock.lock(); up[i] = value; lock.unlock() }

    /// Marks stream `i` as having been up; true if it had been up before (this is a reconnection).
    func markReconnect(_ i: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        let before = everUp[i]
        everUp[i] = true
        return before
    }

    var count: Int { lock.lock(); defer { lock.unlock() }; return up.filter { $0 }.count }
}
