import Foundation
import Hummingbird
import Logging
import PardPipeline
import PromptPAR
import ServiceLifecycle

/// `pard run`: one model shared by every stream. Streams decode on their own threads into frame
/// buffers; detection sources crop the boxes of the frames they name into the crop queue; the main
/// loop (the calling thread) runs batches, writes events, ends tracks, reopens the event file on SIGHUP,
/// tells systemd how it is doing, and on SIGTERM/SIGINT stops intake, finishes the queue within
/// `shutdown_timeout`, writes every open track's summary and flushes.
public final class DaemonRuntime {
    let config: DaemonConfig
    let logger: Logger
    public let metrics = DaemonMetrics()

    public init(config: DaemonConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Runs until SIGTERM/SIGINT; returns normally after a clean shutdown.
    public func run() throws {
        let signals = SignalWatcher()
        let notifier = SystemdNotifier()
        BLAS.setThreads(config.model.threads)
        let started = Date()
        let model: LoadedModel
        do {
            model = config.model.checkpoint == DaemonConfig.Model.synthetic
                ? try ModelFile.synthetic()
                : try ModelFile.load(path: config.model.checkpoint, attributes: config.model.attributes,
                                     vocabulary: config.model.vocabulary)
        } catch { throw DaemonError.model("\(error)") }
        let c = model.model.config
        logger.info("model loaded", metadata: [
            "file": "\(config.model.checkpoint)", "attributes": "\(model.attributes.name)",
            "vision": "\(c.visionWidth)x\(c.visionLayers)", "seconds": "\(String(format: "%.1f", Date().timeIntervalSince(started)))",
            "blas_core": "\(BLAS.coreName)",
        ])
        let writer: EventOutput
        do { writer = try EventOutput(path: config.output.events.description, metrics: metrics, logger: logger) }
        catch { throw DaemonError.output("\(error)") }
        let queue = CropQueue(capacity: config.queue.maxCrops, floatsPerCrop: model.model.imageFloats, policy: config.queue.shedPolicy)
        let streams = config.streams.enumerated().map { i, s in
            StreamState(index: i, config: s, metrics: metrics.stream(s.name), imageSize: c.imageSize,
                        logger: logger)
        }
        let inputs = try LiveInputs(streams: streams, queue: queue, logger: logger)
        inputs.start()
        let http = startMetricsServer(inputs: inputs, events: writer.health)

        var loop = InferenceLoop(model: model, queue: queue, writer: writer, metrics: metrics, threshold: config.model.threshold,
                                 batchSize: config.model.batchSize, batchWait: config.model.batchWait)
        defer { loop.deallocate() }
        notifier?.notify("READY=1")
        logger.info("running", metadata: ["streams": "\(streams.count)", "events": "\(config.output.events)"])

        var lastWatchdog = Date.distantPast, lastStatus = Date.distantPast
        var windowStart = Date(), windowCrops = 0
        var shedReported = 0
        while !signals.shouldStop {
            windowCrops += try loop.step(streams: streams, idle: 0.25)
            let shed = queue.counters.shed[.queueFull] ?? 0
            if shed > shedReported {
                metrics.cropsShedQueueFull.increment(by: Int64(shed - shedReported))
                shedReported = shed
            }
            loop.expireTracks(streams)
            writer.flush()
            if signals.takeReopen() { writer.reopen(file: "\(config.output.events)") }
            let now = Date()
            if let interval = notifier?.watchdogInterval, now.timeIntervalSince(lastWatchdog) >= interval {
                notifier?.notify("WATCHDOG=1")
                lastWatchdog = now
            }
            if now.timeIntervalSince(lastStatus) >= 5 {
                let rate = Double(windowCrops) / max(1e-3, now.timeIntervalSince(windowStart))
                notifier?.notify("STATUS=\(inputs.upCount) of \(streams.count) streams up, \(String(format: "%.2f", rate)) crops/s, queue \(queue.depth)")
                lastStatus = now
                windowStart = now
                windowCrops = 0
            }
        }

        // Shutdown: stop intake, finish the queue within the timeout, end every track, flush.
        notifier?.notify("STOPPING=1")
        logger.info("stopping", metadata: ["queued": "\(queue.depth)", "timeout_s": "\(config.shutdownTimeout)"])
        queue.close()
        inputs.stop()
        let deadline = Date(timeIntervalSinceNow: config.shutdownTimeout)
        while queue.depth > 0, Date() < deadline {
            _ = try loop.step(streams: streams, idle: 0)
            writer.flush()
        }
        let shedAtStop = queue.counters.shed[.queueFull] ?? 0
        if shedAtStop > shedReported { metrics.cropsShedQueueFull.increment(by: Int64(shedAtStop - shedReported)) }
        let dropped = queue.drain(reason: .shutdown)
        if !dropped.isEmpty {
            metrics.cropsShedShutdown.increment(by: Int64(dropped.count))
            logger.warning("crops not classified before the shutdown timeout", metadata: ["count": "\(dropped.count)"])
        }
        loop.closeAllTracks(streams)
        writer.close()
        http?.stop()
        let counters = queue.counters
        logger.info("stopped", metadata: [
            "crops_classified": "\(loop.classified)", "crops_accepted": "\(counters.accepted)",
            "shed_queue_full": "\(counters.shed[.queueFull] ?? 0)", "shed_shutdown": "\(counters.shed[.shutdown] ?? 0)",
            "events_dropped": "\(writer.writer.status.dropped.values.reduce(0, +))",
        ])
    }

    /// Serves `/metrics` and `/healthz` on the configured address (on Swift's pool: it only does I/O).
    private func startMetricsServer(inputs: LiveInputs, events: EventHealth) -> MetricsEndpoint? {
        guard let listen = config.metrics.listen else { return nil }
        let total = config.streams.count
        let app = MetricsServer.application(host: listen.host, port: Int(listen.port), metrics: metrics, health: {
            let up = inputs.upCount
            let streams = "\(up) of \(total) streams up"
            guard let failure = events.currentFailure else { return (up > 0, streams) }
            return (false, "\(streams); events failing: \(failure)")
        }, logger: logger)
        return MetricsEndpoint(app, logger: logger)
    }
}

/// What stops `pard run`; each names the input at fault.
public enum DaemonError: Error, CustomStringConvertible {
    case model(String)
    case output(String)
    case input(String)

    public var description: String {
        switch self {
        case .model(let m), .output(let m), .input(let m): m
        }
    }
}

/// The HTTP endpoint's service group, run on Swift's pool and shut down gracefully.
final class MetricsEndpoint: Sendable {
    private let group: ServiceGroup
    private let task: Task<Void, Never>

    init(_ app: some ApplicationProtocol, logger: Logger) {
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        task = Task {
            do { try await group.run() } catch { logger.error("metrics endpoint failed", metadata: ["error": "\(error)"]) }
        }
    }

    /// Stops serving and waits (at most 5 s) for the server to close.
    func stop() {
        let done = DispatchSemaphore(value: 0)
        let group = self.group, task = self.task
        Task {
            await group.triggerGracefulShutdown()
            await task.value
            done.signal()
        }
        _ = done.wait(timeout: .now() + 5)
    }
}
