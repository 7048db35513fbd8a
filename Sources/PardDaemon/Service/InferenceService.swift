import Foundation
import Logging
import PardPipeline
import PardVideo
import ServiceLifecycle

/// The model's service: the `InferenceStage` loop (or, with `inference: {nats: ...}`, the
/// `RemoteInferenceStage` one) on its own thread (`pard-infer`), bridged to the service group. On graceful shutdown (after the streams have stopped intake) it finishes the queued
/// crops within `shutdownTimeout` seconds, sheds the rest (counted as `shutdown`), writes the summary of
/// every open track and flushes.
final class InferenceService: Service, @unchecked Sendable {  // the loop's state lives on its thread
    let stage: any ModelStage
    let output: EventOutput
    let batchWait: Double
    let shutdownTimeout: Double
    let metrics: DaemonMetrics
    let logger: Logger
    private let heartbeat = Heartbeat()

    init(stage: any ModelStage, output: EventOutput, batchWait: Double, shutdownTimeout: Double, metrics: DaemonMetrics,
         logger: Logger) {
        (self.stage, self.output, self.metrics, self.logger) = (stage, output, metrics, logger)
        (self.batchWait, self.shutdownTimeout) = (batchWait, shutdownTimeout)
    }

    /// Whether the loop has turned within `seconds` (for systemd's watchdog).
    func isAlive(within seconds: Double) -> Bool { heartbeat.isAlive(within: seconds) }

    func run() async throws {
        let stop = StopSignal()
        await withGracefulShutdownHandler {
            await onOwnThread("pard-infer") { self.loop(until: stop) }
        } onGracefulShutdown: {
            stop.stop()
        }
    }

    private func loop(until stop: StopSignal) {
        while !stop.isStopped {
            stage.turn(batchWait: batchWait)
            output.flush()
            metrics.queueDepth.set(Double(stage.pool.depth))
            heartbeat.beat()
        }
        finish()
    }

    private func finish() {
        let pool = stage.pool
        pool.close()
        logger.info("stopping", metadata: ["queued": "\(pool.depth)", "timeout_s": "\(shutdownTimeout)"])
        let left = stage.finishQueued(within: shutdownTimeout) { output.flush() }
        if left > 0 { logger.warning("crops not classified before the shutdown timeout", metadata: ["count": "\(left)"]) }
        stage.results.closeAllTracks()
        output.flush()
    }
}

/// What `InferenceService` turns: the local model (`InferenceStage`) or the remote workers
/// (`RemoteInferenceStage`).
protocol ModelStage: AnyObject {
    var pool: CropPool { get }
    var results: ResultStage { get }
    /// One turn of the loop (a batch run, or crops handed out and results taken in).
    func turn(batchWait: Double)
    /// Shutdown, the pool closed: finishes what is queued (and out) within `seconds`, calling `turned`
    /// after each turn, then sheds the rest for `shutdown`; how many crops were shed so.
    func finishQueued(within seconds: Double, turned: () -> Void) -> Int
}

extension InferenceStage: ModelStage {
    func turn(batchWait: Double) { step(wait: batchWait, idle: 0.25) }

    func finishQueued(within seconds: Double, turned: () -> Void) -> Int {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while pool.depth > 0, Date() < deadline {
            step(wait: 0, idle: 0)
            turned()
        }
        let left = pool.depth
        shedRemaining(reason: .shutdown)
        return left
    }
}

extension RemoteInferenceStage: ModelStage {
    func turn(batchWait: Double) { step(idle: 0.25, poll: 0.02) }

    func finishQueued(within seconds: Double, turned: () -> Void) -> Int {
        finish(within: seconds, poll: 0.02, turned: turned)
    }
}
