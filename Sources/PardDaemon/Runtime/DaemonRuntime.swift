import Foundation
import Hummingbird
import Logging
import PardMQTT
import PardNATS
import PardPipeline
import PromptPAR
import ServiceLifecycle

/// `pard run`, wired: one model shared by every stream, the pipeline core of `PardPipeline` between them,
/// and the service as swift-service-lifecycle `Service`s in one `ServiceGroup`, started in this order
/// and stopped in the reverse one on SIGTERM/SIGINT:
/// 1. `EventOutputService`: the event file (SIGHUP reopens it; the last flush at the very end), and
///    `MQTTService` with `output.mqtt` (the broker; stopped after inference, so the last summaries go too);
/// 2. the HTTP endpoint (`/metrics`, `/healthz`), up until the queue is finished;
/// 3. `InferenceService`: the model loop on its own thread; at shutdown it finishes the queue within
///    `shutdown_timeout`, sheds the rest and summarises every open track;
/// 4. one `StreamService` per stream: decoding and detections; shutdown stops intake first;
/// 5. `SystemdService`: READY=1, STATUS=, WATCHDOG=1; STOPPING=1 as shutdown begins.
public final class DaemonRuntime {
    let config: DaemonConfig
    let logger: Logger
    public let metrics = DaemonMetrics()

    public init(config: DaemonConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// The model the configuration names (the one loading entry point of every command).
    var modelSpec: ModelSpec { config.model.spec }

    /// Loads the model, starts every service, and returns after a graceful shutdown.
    /// - Throws: `DaemonError` when the model, the event file or a detection source cannot be set up.
    public func run() async throws {
        let started = Date()
        let model: LoadedModel
        do { model = try modelSpec.load() } catch { throw DaemonError.model(error) }
        let c = model.model.config
        logger.info("model loaded", metadata: [
            "file": "\(config.model.checkpoint)", "attributes": "\(model.attributes.name)",
            "vision": "\(c.visionWidth)x\(c.visionLayers)", "seconds": "\(String(format: "%.1f", Date().timeIntervalSince(started)))",
            "arithmetic": "\(model.model.arithmetic(requested: config.model.precision))",
        ])
        let output: EventOutput
        do { output = try EventOutput(path: config.output.events.description, metrics: metrics, logger: logger) }
        catch let error as PipelineError { throw DaemonError.eventFile(error) }
        let mqtt = try makeMQTTSink()

        let pool = CropPool(capacity: config.queue.maxCrops, floatsPerCrop: model.model.imageFloats,
                            whenFull: .shed(config.queue.shedPolicy))
        let streams = config.streams.enumerated().map { i, s in
            StreamInput(index: i, config: s, metrics: metrics.stream(s.name), imageSize: c.imageSize, pool: pool, logger: logger,
                        onState: Self.streamStateHook(mqtt, stream: s.name))
        }
        let remoteMetrics = makeRemoteMetrics()
        let observer = DaemonObserver(metrics: metrics, streams: streams.map(\.intake.metrics), drops: streams.map(\.intake.drops),
                                      remoteShed: remoteMetrics?.shed ?? [:])
        let results = ResultStage(streams: config.streams.map { .init(name: $0.name, trackTimeout: $0.trackTimeout) },
                                  attributes: model.attributes, threshold: config.model.threshold,
                                  sink: mqtt.map { EventSinks([output, $0]) as EventSink } ?? output, observer: observer)
        results.pictures = makeSnapshots(model: model, streams: streams)
        let stage = try makeModelStage(model: model, pool: pool, results: results, observer: observer, remoteMetrics: remoteMetrics)
        let inference = InferenceService(stage: stage, output: output, batchWait: config.model.batchWait,
                                         shutdownTimeout: config.shutdownTimeout, metrics: metrics, logger: logger)
        try startReceivers(streams)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            service(EventOutputService(output: output, file: "\(config.output.events)")),
        ]
        if let mqtt { services.append(service(MQTTService(sink: mqtt))) }
        let nats = ((stage as? RemoteInferenceStage)?.queue as? NATSCropQueue)?.connection
        if let http = metricsEndpoint(streams: streams, events: output.health, nats: nats) { services.append(http) }
        services.append(service(inference))
        services += streams.map { service(StreamService(input: $0)) }
        services.append(service(MemoryTrimService()))
        let total = streams.count
        services.append(service(SystemdService(notifier: SystemdNotifier(), status: {
            "\(streams.filter(\.state.up).count) of \(total) streams up, \(String(format: "%.2f", observer.cropsPerSecond())) crops/s, queue \(pool.depth)"
        }, alive: { inference.isAlive(within: $0) })))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        logger.info("running", metadata: ["streams": "\(streams.count)", "events": "\(config.output.events)"])
        try await group.run()
        results.pictures?.writer.finish()  // the snapshots of the last summaries

        logger.info("stopped", metadata: [
            "crops_classified": "\(observer.classified)", "crops_accepted": "\(pool.accepted)",
            "shed_queue_full": "\(observer.shed[.queueFull] ?? 0)", "shed_shutdown": "\(observer.shed[.shutdown] ?? 0)",
            "events_dropped": "\(output.dropped)",
        ])
    }

    /// Binds every detection source now, so that a socket that cannot be bound stops pard at startup.
    private func startReceivers(_ streams: [StreamInput]) throws {
        for input in streams {
            do { try input.receiver.start() } catch {
                for started in streams { started.receiver.stop() }
                throw DaemonError.detectionSource(stream: input.config.name, error)
            }
        }
    }

    /// A service that, should it end or fail on its own, shuts the whole group down gracefully (the
    /// queue is still finished and the tracks summarised).
    private func service(_ s: some Service) -> ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: s, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
    }

    /// `/metrics` and `/healthz` on the configured address (on Swift's pool: it only does I/O). `/healthz` is
    /// 200 while every stream is up or connecting (at least one up), events are written and, with remote
    /// inference (`nats`), NATS is connected; otherwise 503, naming each down stream with its reason:
    /// `1 of 2 streams up; stream door: down: Connection refused`.
    private func metricsEndpoint(streams: [StreamInput], events: EventHealth,
                                 nats: NATSConnection?) -> ServiceGroupConfiguration.ServiceConfiguration? {
        guard let listen = config.metrics.listen else { return nil }
        let total = streams.count
        return service(MetricsServer.application(host: listen.host, port: Int(listen.port), metrics: metrics, health: {
            let up = streams.filter(\.state.up).count
            let down = streams.compactMap { input in input.state.downReason.map { "stream \(input.config.name): \($0)" } }
            let natsDown = nats.flatMap { $0.isConnected ? nil : "NATS \($0.server): not connected" }
            let failure = events.currentFailure.map { "events failing: \($0)" }
            let text = (["\(up) of \(total) streams up"] + down + [natsDown, failure].compactMap { $0 }).joined(separator: "; ")
            return (up > 0 && down.isEmpty && natsDown == nil && failure == nil, text)
        }, logger: logger))
    }
}

/// What stops `pard run` at startup; each case carries the error of the part at fault, which names
/// the input (checkpoint and tensor, event file, socket path).
public enum DaemonError: Error, CustomStringConvertible {
    /// The model could not be loaded.
    case model(ModelError)
    /// The event file could not be opened.
    case eventFile(PipelineError)
    /// A stream's detection source could not be set up (socket in use, not loopback, ...).
    case detectionSource(stream: String, Error)
    /// The MQTT sink's password file, CA file or spool could not be used.
    case mqtt(MQTTError)
    /// `inference: {nats: ...}`: the NATS server, stream or consumer could not be set up.
    case nats(NATSError)

    public var description: String {
        switch self {
        case .model(let error): return "\(error)"
        case .eventFile(let error): return "\(error)"
        case .detectionSource(_, let error): return "\(error)"
        case .mqtt(let error): return "\(error)"
        case .nats(let error): return "\(error)"
        }
    }
}
