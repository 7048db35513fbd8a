import Foundation
import Logging
import PardNATS
import PardVideo
import PromptPAR
import ServiceLifecycle

/// `pard worker`, wired: the model loaded once, the NATS connection with the shared work-queue consumer,
/// the loop on its own thread (`pard-worker`), `/metrics` and `/healthz`, and systemd's notifications, as
/// `Service`s in one `ServiceGroup`. SIGTERM/SIGINT: the batch in hand is finished (classified, published,
/// acknowledged), then it exits 0.
public final class WorkerRuntime {
    let config: WorkerConfig
    let logger: Logger

    public init(config: WorkerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Loads the model, connects, and serves until a graceful shutdown.
    /// - Throws: `DaemonError` when the model cannot be loaded or the NATS stream or consumer set up.
    public func run() async throws {
        let model: LoadedModel
        do { model = try config.model.spec.load() } catch { throw DaemonError.model(error) }
        let identity = ModelIdentity.of(model, checkpoint: config.model.checkpoint, precision: config.model.arithmetic)
        let metrics = WorkerMetrics()
        let names = config.nats.names
        let connection: NATSConnection
        let subscription: NATSPullSubscription
        do {
            connection = try NATSConnection.started(url: names.url, name: "pard-worker-\(config.nats.name)", metrics: metrics.nats,
                                                    logger: logger, within: 10)
            try connection.ensureWorkQueueStream(names.stream, subjects: names.streamSubjects)
            subscription = try connection.pullSubscribe(subject: names.subject, durable: config.nats.consumer, stream: names.stream,
                                                        ackWait: config.nats.ackWait, maxDeliver: config.nats.maxDeliver,
                                                        maxAckPending: 10_000)
        } catch { throw DaemonError.nats(error) }
        logger.info("worker ready", metadata: [
            "server": "\(names.url)", "subject": "\(names.subject)", "consumer": "\(config.nats.consumer)",
            "model": "\(config.model.checkpoint)", "model_identity": "\(identity)", "batch": "\(config.model.batchSize)",
        ])
        let loop = WorkerLoop(config: config, model: model, identity: identity, connection: connection, subscription: subscription,
                              metrics: metrics, logger: logger)
        let service = WorkerService(loop: loop)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let listen = config.metrics.listen {
            services.append(.init(service: MetricsServer.application(host: listen.host, port: Int(listen.port), text: { metrics.text() },
                                                                     health: {
                connection.isConnected ? (true, "connected to \(names.url)") : (false, "NATS \(names.url): not connected")
            }, logger: logger), successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                              failureTerminationBehavior: .gracefullyShutdownGroup))
        services.append(.init(service: SystemdService(notifier: SystemdNotifier(), status: {
            "\(connection.isConnected ? "connected" : "not connected"), model \(identity)"
        }, alive: { service.isAlive(within: $0) })))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

/// The worker loop on its own thread, bridged to the service group.
final class WorkerService: Service, @unchecked Sendable {  // the loop lives on its thread
    let loop: WorkerLoop
    private let heartbeat = Heartbeat()

    init(loop: WorkerLoop) { self.loop = loop }

    func isAlive(within seconds: Double) -> Bool { heartbeat.isAlive(within: seconds) }

    func run() async throws {
        let stop = StopSignal()
        await withGracefulShutdownHandler {
            await onOwnThread("pard-worker") {
                while !stop.isStopped {
                    self.loop.turn(idle: 0.5)
                    self.heartbeat.beat()
                }
            }
        } onGracefulShutdown: {
            stop.stop()
        }
    }
}
