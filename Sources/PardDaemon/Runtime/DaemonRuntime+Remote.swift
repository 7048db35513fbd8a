import PardNATS
import PardPipeline
import PromptPAR

extension DaemonRuntime {
    /// With `inference: {nats: ...}`: the remote inference metrics, registered in `/metrics`; nil for `local`.
    func makeRemoteMetrics() -> RemoteMetrics? {
        guard case .nats = config.inference else { return nil }
        return RemoteMetrics(registry: metrics.registry)
    }

    /// The stage between the pool and the results: the model here (`local`), or the workers behind NATS.
    /// - Throws: `DaemonError.nats` when the server, stream or consumer cannot be set up.
    func makeModelStage(model: LoadedModel, pool: CropPool, results: ResultStage, observer: DaemonObserver,
                        remoteMetrics: RemoteMetrics?) throws -> any ModelStage {
        guard case .nats(let remote) = config.inference, let remoteMetrics else {
            return InferenceStage(model: model, pool: pool, results: results, maxBatch: config.model.batchSize, observer: observer)
        }
        let identity = ModelIdentity.of(model, checkpoint: config.model.checkpoint, precision: config.model.arithmetic)
        let queue: NATSCropQueue
        do {
            queue = try NATSCropQueue(settings: remote, model: identity, size: model.model.config.imageSize,
                                      streams: config.streams.map(\.name), metrics: remoteMetrics, logger: logger)
        } catch { throw DaemonError.nats(error) }
        logger.info("inference on NATS workers", metadata: [
            "server": "\(remote.nats.url)", "stream": "\(remote.nats.stream)", "subject": "\(remote.nats.subject)",
            "results": "\(queue.replySubject)", "model_identity": "\(identity)",
        ])
        return RemoteInferenceStage(pool: pool, results: results, queue: queue, attributes: model.attributes.count,
                                    maxInFlight: remote.maxInFlight, resultTimeout: remote.resultTimeout, observer: remoteMetrics)
    }
}
