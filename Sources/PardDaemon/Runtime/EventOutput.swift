import Foundation
import Logging
import PardPipeline

/// The service's event file: an `EventWriter` that keeps running when writes fail (full disk, I/O
/// error, `/dev/full`). A failure is logged once, lines that cannot be kept are counted in
/// `pard_events_dropped_total{reason}`, writing is retried at every flush and resumes with whole lines
/// when it works again (logged once, with what was lost); `/healthz` reports the failure meanwhile.
/// The result stage emits and flushes on the inference thread; SIGHUP reopens from the event service:
/// every call holds `lock`.
final class EventOutput: EventSink, @unchecked Sendable {
    /// Unwritten lines kept for the next try while writes fail, bytes (about 8,000 attribute events).
    static let backlogBytes = 8 << 20

    private let writer: EventWriter
    private let lock = NSLock()
    let health = EventHealth()
    private let logger: Logger
    /// Lines dropped by the writer before the current failure began (to log what a failure cost).
    private var droppedBefore = 0

    init(path: String, metrics: DaemonMetrics, logger: Logger) throws {
        writer = try EventWriter(path: path, policy: .keepRunning(backlogBytes: Self.backlogBytes)) { reason, count in
            metrics.eventsDropped(reason.rawValue).increment(by: Int64(count))
        }
        self.logger = logger
    }

    func emit(_ event: Event) {
        lock.lock()
        writer.write(event.line)
        lock.unlock()
    }

    /// Writes what is queued (or keeps it for the next try), and reports a change of state. Never throws:
    /// a service keeps running when its event file fails.
    func flush() {
        lock.lock()
        defer { lock.unlock() }
        let wasFailing = writer.status.failure != nil
        do { try writer.flush() } catch {
            // `.keepRunning` does not throw; should it, the lines are still queued for the next try.
            logger.error("event write failed", metadata: ["error": "\(error)"])
        }
        report(wasFailing: wasFailing)
    }

    /// SIGHUP: flush and open the file anew (logrotate), logging the outcome.
    func reopen(file: String) {
        lock.lock()
        defer { lock.unlock() }
        let wasFailing = writer.status.failure != nil
        do {
            try writer.reopen()
            logger.info("event file reopened", metadata: ["file": "\(file)"])
        } catch {
            logger.error("cannot reopen the event file; still writing the old one", metadata: ["error": "\(error)"])
        }
        report(wasFailing: wasFailing)
    }

    /// Shutdown: a last try, then what still cannot be written is dropped and counted.
    func close() {
        flush()
        lock.lock()
        defer { lock.unlock() }
        let lost = writer.discardBacklog()
        if lost > 0 {
            logger.error("events not written at shutdown", metadata: [
                "count": "\(lost)", "error": "\(writer.status.failure ?? "-")",
            ])
        }
    }

    /// Lines lost since the start (any thread).
    var dropped: Int {
        lock.lock()
        defer { lock.unlock() }
        return droppedTotal
    }

    private var droppedTotal: Int { writer.status.dropped.values.reduce(0, +) }

    private func report(wasFailing: Bool) {
        let failure = writer.status.failure
        health.set(failure: failure)
        if let failure, !wasFailing {
            droppedBefore = droppedTotal
            logger.error("event writes failing; events are kept and retried", metadata: [
                "error": "\(failure)", "backlog_mb": "\(Self.backlogBytes >> 20)",
            ])
        } else if failure == nil, wasFailing {
            logger.notice("event writes work again", metadata: ["events_dropped": "\(droppedTotal - droppedBefore)"])
        }
    }
}

/// Whether the event file is being written, readable from any thread (for `/healthz`).
final class EventHealth: @unchecked Sendable {  // under `lock`
    private let lock = NSLock()
    private var failure: String?

    func set(failure: String?) { lock.lock(); self.failure = failure; lock.unlock() }

    /// nil while writes work; else the last failure.
    var currentFailure: String? { lock.lock(); defer { lock.unlock() }; return failure }
}
