import Foundation
import Logging
import PardPipeline
import Prometheus
import PromptPAR

extension DaemonRuntime {
    /// `output.snapshots` of `pard run` (nil when not configured): each track's best crop as JPEG, written
    /// on the picture writer's own thread, which drops (and counts) a snapshot rather than make the model
    /// wait when it falls behind. A folder that cannot be written is logged and counted, never fatal.
    /// Every stream's crops then carry their frame to the result stage (`BoxAdmission.keepPictures`).
    func makeSnapshots(model: LoadedModel, streams: [StreamInput]) -> ResultPictures? {
        guard let settings = config.output.snapshots else { return nil }
        let counters = SnapshotCounters(registry: metrics.registry)
        let log = SnapshotLog(logger: logger)
        let folder = PictureFolder(root: settings.directory, fileExtension: "jpg", maxBytes: settings.maxBytes)
        let writer = PictureWriter(snapshots: folder, cards: nil, annotate: nil, capacity: 64, whenFull: .drop) { report in
            counters.count(report)
            log.note(report)
        }
        do { try PictureFolder.checkWritable(settings.directory) } catch {
            logger.warning("snapshot folder not writable; snapshots will fail until it is", metadata: ["error": "\(error)"])
        }
        for input in streams { input.intake.keepPictures() }
        logger.info("snapshots", metadata: ["directory": "\(settings.directory)", "max_bytes": "\(settings.maxBytes)",
                                            "files_already": "\(folder.bytes) bytes"])
        return ResultPictures(writer: writer, streams: config.streams.map(\.name), attributes: model.attributes,
                              threshold: config.model.threshold, annotates: false)
    }
}

/// `pard_snapshots_total{result="written"|"deleted"|"failed"|"dropped"}`.
struct SnapshotCounters: Sendable {
    let written: Counter, deleted: Counter, failed: Counter, dropped: Counter

    init(registry: PrometheusCollectorRegistry) {
        let help = "Track snapshots by result: written, deleted (to stay under max_size), failed (not writable), dropped (writer behind)."
        func counter(_ result: String) -> Counter {
            registry.makeCounter(name: "pard_snapshots_total", labels: [("result", result)], help: help)
        }
        written = counter("written")
        deleted = counter("deleted")
        failed = counter("failed")
        dropped = counter("dropped")
    }

    func count(_ report: PictureWriter.Report) {
        switch report {
        case .written: written.increment()
        case .deleted(_, let n): deleted.increment(by: Int64(n))
        case .failed: failed.increment()
        case .dropped: dropped.increment()
        }
    }
}

/// Logs snapshot failures without flooding the journal: the first failure after a success (or at the
/// start) with its error, then nothing until one succeeds again, which is logged with the count lost.
final class SnapshotLog: @unchecked Sendable {  // under `lock`
    private let logger: Logger
    private let lock = NSLock()
    private var failing = 0

    init(logger: Logger) { self.logger = logger }

    func note(_ report: PictureWriter.Report) {
        lock.lock()
        defer { lock.unlock() }
        switch report {
        case .failed(_, let message):
            if failing == 0 { logger.warning("snapshot writes failing", metadata: ["error": "\(message)"]) }
            failing += 1
        case .written:
            if failing > 0 { logger.info("snapshot writes work again", metadata: ["failed_meanwhile": "\(failing)"]) }
            failing = 0
        case .deleted, .dropped:
            break
        }
    }
}
