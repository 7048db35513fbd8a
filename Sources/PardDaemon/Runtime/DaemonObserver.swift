import Foundation
import PardPipeline
import Prometheus

/// The service's side of the result stage's accounting: every box and batch goes to `/metrics` as it
/// is accounted for, and the totals to the last log line. Called on the inference thread only; the
/// totals are read after it has ended.
final class DaemonObserver: PipelineObserver, InferenceStage.BatchObserver, @unchecked Sendable {
    let metrics: DaemonMetrics
    let streams: [DaemonMetrics.Stream]
    let drops: [DropLog]
    /// `pard_crops_shed_total` of the reasons only remote inference has.
    let remoteShed: [ShedReason: Counter]
    private(set) var classified = 0
    private(set) var shed: [ShedReason: Int] = [:]
    /// Crops classified since `takeWindow`, for STATUS=.
    private let window = CropWindow()

    init(metrics: DaemonMetrics, streams: [DaemonMetrics.Stream], drops: [DropLog], remoteShed: [ShedReason: Counter] = [:]) {
        self.remoteShed = remoteShed
        self.metrics = metrics
        self.streams = streams
        self.drops = drops
    }

    func classified(stream: Int) {
        classified += 1
        streams[stream].cropsClassified.increment()
        window.add(1)
    }

    func skippedByInterval(stream: Int) { streams[stream].skippedByInterval.increment() }

    func invalid(stream: Int) {
        streams[stream].detectionsInvalid.increment()
        drops[stream].note(.invalid, boxes: 1, frame: nil, pts: nil)
    }

    func shed(stream: Int, reason: ShedReason) {
        shed[reason, default: 0] += 1
        switch reason {
        case .queueFull: metrics.cropsShedQueueFull.increment()
        case .shutdown: metrics.cropsShedShutdown.increment()
        case .resultTimeout, .modelMismatch, .notPublished: remoteShed[reason]?.increment()
        }
    }

    func emitted(stream: Int, type: EventType) {
        switch type {
        case .attributes: metrics.attributeEvents.increment()
        case .track: metrics.trackEvents.increment()
        }
    }

    func batchRan(crops: Int, seconds: Double) {
        metrics.inferenceSeconds.record(seconds)
        metrics.batchSize.record(Double(crops))
        metrics.batches.increment()
    }

    /// Crops classified per second since the last call (any thread).
    func cropsPerSecond() -> Double { window.rate() }
}

/// Crops counted since the last reading, and the rate over that time.
final class CropWindow: @unchecked Sendable {  // under `lock`
    private let lock = NSLock()
    private var count = 0
    private var since = Date()

    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }

    func rate() -> Double {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let r = Double(count) / max(1e-3, now.timeIntervalSince(since))
        count = 0
        since = now
        return r
    }
}
