import PardPipeline
import Prometheus

/// The NATS connection's side of `/metrics` (edges and workers): `pard_nats_connected`, `pard_nats_reconnects_total`.
final class NATSPrometheusMetrics: Sendable {
    let connected: Gauge
    let reconnects: Counter

    init(registry: PrometheusCollectorRegistry) {
        connected = registry.makeGauge(name: "pard_nats_connected", help: "1 while connected to the NATS server.")
        reconnects = registry.makeCounter(name: "pard_nats_reconnects_total", help: "Connections to the NATS server made again after one was lost.")
    }
}

/// An edge's remote inference on `/metrics` (registered only with `inference: {nats: ...}`, so a local
/// `pard run` serves exactly what it did): crops published, results by outcome, the round trip, and the
/// crops shed for remote reasons under `pard_crops_shed_total{reason}`.
final class RemoteMetrics: RemoteInferenceStage.RemoteObserver, @unchecked Sendable {  // Prometheus types are thread-safe
    let nats: NATSPrometheusMetrics
    let published: Counter
    let publishedBytes: Counter
    let publishFailures: Counter
    let results: Counter
    let redelivered: Counter
    let duplicates: Counter
    let late: Counter
    let unknown: Counter
    let resultsMalformed: Counter
    let inFlightGauge: Gauge
    /// Seconds from taking a crop to its result (publish, queue, worker, result).
    let roundTrip: ValueHistogram
    /// `pard_crops_shed_total{reason}` of the remote reasons.
    let shed: [ShedReason: Counter]

    init(registry: PrometheusCollectorRegistry) {
        nats = NATSPrometheusMetrics(registry: registry)
        published = registry.makeCounter(name: "pard_remote_crops_published_total", help: "Crops published to the workers' queue.")
        publishedBytes = registry.makeCounter(name: "pard_remote_published_bytes_total", help: "Bytes of the crops published.")
        publishFailures = registry.makeCounter(name: "pard_remote_publish_failures_total",
                                               help: "Publishes that failed (tried again until result_timeout).")
        let help = "Results from the workers: used, or dropped: duplicate (the crop was answered already), late (given up already), unknown or malformed."
        results = registry.makeCounter(name: "pard_remote_results_total", labels: [("result", "used")], help: help)
        duplicates = registry.makeCounter(name: "pard_remote_results_total", labels: [("result", "duplicate")], help: help)
        late = registry.makeCounter(name: "pard_remote_results_total", labels: [("result", "late")], help: help)
        unknown = registry.makeCounter(name: "pard_remote_results_total", labels: [("result", "unknown")], help: help)
        resultsMalformed = registry.makeCounter(name: "pard_remote_results_total", labels: [("result", "malformed")], help: help)
        redelivered = registry.makeCounter(name: "pard_remote_redelivered_total",
                                           help: "Results used that came from a redelivered crop (its first worker was lost or slow).")
        inFlightGauge = registry.makeGauge(name: "pard_remote_in_flight", help: "Crops published and not yet answered.")
        roundTrip = registry.makeValueHistogram(name: "pard_remote_round_trip_seconds",
                                                buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
                                                help: "Seconds from a crop taken from the queue to its result.")
        shed = Dictionary(uniqueKeysWithValues: ShedReason.allCases.filter { !ShedReason.local.contains($0) }.map {
            ($0, registry.makeCounter(name: "pard_crops_shed_total", labels: [("reason", $0.rawValue)],
                                      help: "Crops dropped instead of classified, by reason."))
        })
    }

    func published(bytes: Int) {
        published.increment()
        publishedBytes.increment(by: Int64(bytes))
    }

    func publishFailed(_ error: Error) { publishFailures.increment() }

    func answered(seconds: Double, delivered: Int) {
        results.increment()
        roundTrip.record(seconds)
        if delivered > 1 { redelivered.increment() }
    }

    func dropped(reason: String) {
        switch reason {
        case "duplicate": duplicates.increment()
        case "late": late.increment()
        default: unknown.increment()
        }
    }

    func inFlight(_ count: Int) { inFlightGauge.set(Double(count)) }
}
