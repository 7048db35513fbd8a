import Prometheus

/// `pard worker`'s `/metrics`: crops by outcome, redeliveries, batches and their time, results that could
/// not be published, and the NATS connection.
final class WorkerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let nats: NATSPrometheusMetrics
    let classified: Counter
    let modelMismatch: Counter
    let malformed: Counter
    /// Crops received that had been delivered before (to a worker lost or slow).
    let redelivered: Counter
    /// Crops fetched (taken from the queue, not yet answered: held by this worker).
    let fetched: Counter
    let resultFailures: Counter
    let batches: Counter
    let batchSize: ValueHistogram
    let inferenceSeconds: ValueHistogram

    init() {
        let registry = self.registry
        nats = NATSPrometheusMetrics(registry: registry)
        let help = "Crops taken from the queue, by outcome: classified, refused (model_mismatch: cut for another model) or malformed."
        classified = registry.makeCounter(name: "pard_worker_crops_total", labels: [("result", "classified")], help: help)
        modelMismatch = registry.makeCounter(name: "pard_worker_crops_total", labels: [("result", "model_mismatch")], help: help)
        malformed = registry.makeCounter(name: "pard_worker_crops_total", labels: [("result", "malformed")], help: help)
        redelivered = registry.makeCounter(name: "pard_worker_redelivered_total",
                                           help: "Crops received again after their ack wait ran out (a worker lost or slow).")
        fetched = registry.makeCounter(name: "pard_worker_fetched_total", help: "Crops fetched from the queue.")
        resultFailures = registry.makeCounter(name: "pard_worker_result_failures_total",
                                              help: "Results that could not be published (the crop is handed back to the queue).")
        batches = registry.makeCounter(name: "pard_batches_total", help: "Forward passes of the model.")
        batchSize = registry.makeValueHistogram(name: "pard_batch_size", buckets: [1, 2, 4, 8, 16, 32], help: "Crops per forward pass.")
        inferenceSeconds = registry.makeValueHistogram(name: "pard_inference_seconds", buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
                                                       help: "Seconds per forward pass.")
    }

    func text() -> String { registry.emitToString() }
}
