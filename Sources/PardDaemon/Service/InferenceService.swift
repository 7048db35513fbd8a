import Foundation
import Logging
import PardPipeline
import PardVideo
import ServiceLifecycle

/// The model's service: the `InferenceStage` loop on its own thread (`pard-infer`), bridged to the
/// service group. On graceful shutdown (after the streams have stopped intake) it finishes the queued
/// crops within `shutdownTimeout` seconds, sheds the rest (counted as `shutdown`), writes the summary of
/// every open track and flushes.
final class InferenceService: Service, @unchecked Sendable {  // the loop's state lives on its thread; `lastBeat` under `lock`
    let stage: InferenceStage
    let output: EventOutput
    let batchWait: Double
    let shutdownTimeout: Double
    let metrics: DaemonMetrics
    let logger: Logger
    private let lock = NSLock()
    private var lastBeat = Date()

    init(stage: InferenceStage, output: EventOutput, batchWait: Double, shutdownTimeout: Double, metrics: DaemonMetrics,
         logger: Logger) {
        (self.stage, self.output, self.metrics, self.logger) = (stage, output, metrics, logger)
        (self.batchWait, self.shutdownTimeout) = (batchWait, shutdownTimeout)
    }

    /// Whether the loop has turned within `seconds` (for systemd's watchdog).
    func isAlive(within seconds: Double) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return Date().timeIntervalSince(lastBeat) <= seconds
    }

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
            stage.step(wait: batchWait, idle: 0.25)
            output.flush()
            metrics.queueDepth.set(Double(stage.pool.depth))
            lock.lock(); lastBeat = Date(); lock.unlock()
        }
        finish()
    }

    private func finish() {
        let pool = stage.pool
        pool.close()
        logger.info("stopping", metadata: ["queued": "\(pool.depth)", "timeout_s": "\(shutdownTimeout)"])
        let deadline = Date(timeIntervalSinceNow: shutdownTimeout)
        while pool.depth > 0, Date() < deadline {
            stage.step(wait: 0, idle: 0)
            output.flush()
        }
        let left = pool.depth
        stage.shedRemaining(reason: .shutdown)
        if left > 0 { logger.warning("crops not classified before the shutdown timeout", metadata: ["count": "\(left)"]) }
        stage.results.closeAllTracks()
        output.flush()
    }
}
