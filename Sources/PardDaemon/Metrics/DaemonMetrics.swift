import PardPipeline
import Prometheus

/// The daemon's Prometheus metrics (served at `/metrics`). Counters only grow; every shed crop and every
/// late or invalid box is counted by stream and reason.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// Per-stream counters and state.
    public struct Stream: Sendable {
        public let framesDecoded: Counter
        public let detectionsReceived: Counter
        public let detectionsLate: Counter
        /// Boxes for frames the stream has not decoded (ahead of it, or lost).
        public let detectionsUnmatched: Counter
        public let detectionsInvalid: Counter
        public let detectionsMalformed: Counter
        public let skippedByInterval: Counter
        public let cropsClassified: Counter
        public let reconnects: Counter
        /// Attempts to open the stream that failed (`LiveStream`'s `onConnectFailure`).
        public let connectFailures: Counter
        /// 1 while frames arrive, 0 otherwise.
        public let up: Gauge
    }

    public let cropsShedQueueFull: Counter
    public let cropsShedShutdown: Counter
    public let batches: Counter
    /// Crops per forward pass.
    public let batchSize: ValueHistogram
    /// Seconds per forward pass.
    public let inferenceSeconds: ValueHistogram
    public let queueDepth: Gauge
    public let attributeEvents: Counter
    public let trackEvents: Counter
    /// `pard_events_dropped_total{reason}`, by `EventWriter.DropReason` raw value.
    private let eventsDroppedByReason: [String: Counter]

    public init() {
        let dropHelp = "Event lines lost because the event file could not be written, by reason."
        let registry = self.registry
        eventsDroppedByReason = Dictionary(uniqueKeysWithValues: EventWriter.DropReason.allCases.map {
            ($0.rawValue, registry.makeCounter(name: "pard_events_dropped_total", labels: [("reason", $0.rawValue)], help: dropHelp))
        })
        cropsShedQueueFull = registry.makeCounter(name: "pard_crops_shed_total", labels: [("reason", "queue_full")],
                                                  help: "Crops dropped instead of classified, by reason.")
        cropsShedShutdown = registry.makeCounter(name: "pard_crops_shed_total", labels: [("reason", "shutdown")],
                                                 help: "Crops dropped instead of classified, by reason.")
        batches = registry.makeCounter(name: "pard_batches_total", help: "Forward passes of the model.")
        batchSize = registry.makeValueHistogram(name: "pard_batch_size", buckets: [1, 2, 4, 8, 16, 32],
                                                help: "Crops per forward pass.")
        inferenceSeconds = registry.makeValueHistogram(name: "pard_inference_seconds",
                                                       buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
                                                       help: "Seconds per forward pass.")
        queueDepth = registry.makeGauge(name: "pard_queue_depth", help: "Crops waiting for the model.")
        attributeEvents = registry.makeCounter(name: "pard_events_total", labels: [("type", "attributes")],
                                               help: "Event lines written, by type.")
        trackEvents = registry.makeCounter(name: "pard_events_total", labels: [("type", "track")],
                                           help: "Event lines written, by type.")
    }

    /// `pard_events_dropped_total` with `reason` (one of `EventWriter.DropReason`'s raw values).
    public func eventsDropped(_ reason: String) -> Counter {
        eventsDroppedByReason[reason] ?? registry.makeCounter(name: "pard_events_dropped_total", labels: [("reason", reason)])
    }

    /// The metrics of stream `name`.
    public func stream(_ name: String) -> Stream {
        let l = [("stream", name)]
        func counter(_ n: String, _ help: String, _ extra: [(String, String)] = []) -> Counter {
            registry.makeCounter(name: n, labels: l + extra, help: help)
        }
        let detections = "Detection boxes received, and those late (frame no longer held), unmatched (frame not decoded) or invalid (no area)."
        return Stream(
            framesDecoded: counter("pard_frames_decoded_total", "Frames decoded."),
            detectionsReceived: counter("pard_detections_total", detections, [("result", "received")]),
            detectionsLate: counter("pard_detections_total", detections, [("result", "late")]),
            detectionsUnmatched: counter("pard_detections_total", detections, [("result", "unmatched")]),
            detectionsInvalid: counter("pard_detections_total", detections, [("result", "invalid")]),
            detectionsMalformed: counter("pard_detection_lines_malformed_total", "Detection lines that could not be parsed."),
            skippedByInterval: counter("pard_boxes_skipped_total", "Tracked boxes not classified because of the track interval."),
            cropsClassified: counter("pard_crops_classified_total", "Crops classified."),
            reconnects: counter("pard_stream_reconnects_total", "Reconnections after the stream went down."),
            connectFailures: counter("pard_stream_connect_failures_total",
                                     "Attempts to open the stream that failed (refused, unreachable, no answer, not a stream)."),
            up: registry.makeGauge(name: "pard_stream_up", labels: l, help: "1 while the stream delivers frames."))
    }

    /// Prometheus text exposition.
    public func text() -> String { registry.emitToString() }
}
