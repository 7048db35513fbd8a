import Foundation
import Logging
import PardPipeline
import PardVideo

/// One configured stream at run time: its crop extractor and track interval gate (detection side, under
/// `lock`), and its tracks (result side, main loop only).
final class StreamState: @unchecked Sendable {  // detection-side state under `lock`; `tracks` only on the main loop
    let index: Int
    let config: DaemonConfig.Stream
    let metrics: DaemonMetrics.Stream
    let logger: Logger
    private let lock = NSLock()
    private let extractor: CropExtractor
    private var gate: TrackIntervalGate
    /// Tracks that already have a classified crop (shed first when the queue is full).
    private var tracksWithResult: Set<Int> = []
    /// Result side.
    var tracks: TrackBook
    /// pts of the newest frame detections came for (seconds): the stream's clock for track timeouts,
    /// which follows the detector (it may lag the decoder).
    private var newestPTS: Double?
    /// Tracked boxes seen (queued, or skipped by the track interval), for the main loop's `TrackBook`.
    private var sightings: [(id: Int, frame: Int, pts: Double)] = []

    init(index: Int, config: DaemonConfig.Stream, metrics: DaemonMetrics.Stream, imageSize: Int, logger: Logger) {
        self.index = index
        self.config = config
        self.metrics = metrics
        self.logger = logger
        extractor = CropExtractor(size: imageSize, resize: .letterbox)
        gate = TrackIntervalGate(interval: config.trackInterval, timeout: config.trackTimeout)
        tracks = TrackBook(timeout: config.trackTimeout)
    }

    /// Crops the boxes of one detection line from `frame` into `queue`, counting what is not cropped.
    /// Events and tracks take the frame's stream-wide number and pts (`LiveFrame`), never the decoder's
    /// per-connection or per-pass ones, so that they go on increasing across loops and reconnections.
    func crop(_ boxes: [Box], from frame: LiveFrame, into queue: CropQueue) {
        lock.lock()
        defer { lock.unlock() }
        let picture = frame.decoded
        for box in boxes {
            guard extractor.rect(for: box, in: picture) != nil else {
                metrics.detectionsInvalid.increment()
                noteLocked(.invalid, boxes: 1, frame: frame.number, pts: frame.pts)
                continue
            }
            let trackID = box.id.flatMap { $0 >= 0 ? $0 : nil }
            if let trackID, !gate.admit(id: trackID, pts: frame.pts) {
                metrics.skippedByInterval.increment()
                sightings.append((trackID, frame.number, frame.pts))
                continue
            }
            guard let slot = queue.reserveSlot() else { return }  // shutting down: intake is closed
            do {
                let rect = try extractor.crop(box, from: picture, into: queue.buffer(slot))
                queue.enqueue(stream: index, frame: frame.number, pts: frame.pts, box: box, rect: rect,
                              trackHasResult: trackID.map { tracksWithResult.contains($0) } ?? false, slot: slot)
                if let trackID { tracksWithResult.insert(trackID); sightings.append((trackID, frame.number, frame.pts)) }
            } catch {
                queue.release(slot: slot)
                metrics.detectionsInvalid.increment()
                logger.warning("crop failed", metadata: ["stream": "\(config.name)", "frame": "\(frame.number)", "error": "\(error)"])
            }
        }
    }

    /// Detection boxes that were not cropped, by reason.
    enum Dropped: String { case late, unmatched, invalid }
    private var dropped: [Dropped: Int] = [:]

    /// Counts boxes that were not cropped and logs it: the first time, then at 10, 100, 1000, ... of each
    /// reason, so that a detector that is always late is visible without flooding the journal.
    func note(_ reason: Dropped, boxes: Int, frame: Int?, pts: Double?) {
        lock.lock()
        defer { lock.unlock() }
        noteLocked(reason, boxes: boxes, frame: frame, pts: pts)
    }

    private func noteLocked(_ reason: Dropped, boxes: Int, frame: Int?, pts: Double?) {
        let before = dropped[reason, default: 0], after = before + boxes
        dropped[reason] = after
        var mark = 1
        while mark <= after {
            if mark > before {
                let what: String
                switch reason {
                case .late: what = "detections for frames no longer held (late)"
                case .unmatched: what = "detections for frames not decoded"
                case .invalid: what = "detection boxes with no area inside the frame (invalid)"
                }
                logger.warning("\(what)", metadata: [
                    "stream": "\(config.name)", "total": "\(after)",
                    "frame": "\(frame.map(String.init) ?? "-")", "pts": "\(pts.map { String(format: "%.3f", $0) } ?? "-")",
                ])
                break
            }
            mark *= 10
        }
    }

    /// Records that detections came for the frame at `pts` (an empty line counts: time moves on).
    func sawDetections(pts: Double) {
        lock.lock()
        if pts > (newestPTS ?? -.infinity) { newestPTS = pts }
        lock.unlock()
    }

    /// Tracked boxes seen since the last call.
    func takeSightings() -> [(id: Int, frame: Int, pts: Double)] {
        lock.lock(); defer { lock.unlock() }
        let s = sightings
        sightings.removeAll(keepingCapacity: true)
        return s
    }

    var latestPTS: Double? {
        lock.lock(); defer { lock.unlock() }
        return newestPTS
    }
}
