import Foundation
import PardTestSupport

/// A `pard worker` process on the tiny fixture model (or `checkpoint`), one thread, its stderr log and /metrics.
final class RunningWorker {
    let tmp: TemporaryDirectory
    let port = RunCommandTests.freePort()
    let process: Process
    let namespace: String?

    /// `hold`: seconds it holds each batch before classifying it (`PARD_WORKER_HOLD`).
    init(nats: String, name: String, ackWait: Double = 30, batchSize: Int = 4, hold: Double = 0, namespace: String? = nil,
         checkpoint: String = Fixtures.url("promptpar-tiny/checkpoint.pth").path, attributes: String? = nil) throws {
        tmp = try TemporaryDirectory("pard-worker")
        self.namespace = namespace
        let config = """
        model:
          checkpoint: \(checkpoint)
          \(attributes.map { "attributes: \($0)" } ?? "")
          threads: 1
          batch_size: \(batchSize)
          batch_wait: 50ms
        nats:
          url: \(nats)
          name: \(name)
          ack_wait: \(ackWait)
        metrics:
          listen: 127.0.0.1:\(port)
        """
        try config.write(toFile: tmp.path("worker.yaml"), atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: tmp.path("stderr.log"), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp.path("stderr.log")))
        process = try NetworkNamespace.launch(PardProcess.executable.path, ["worker", "--config", tmp.path("worker.yaml")], in: namespace,
                                              environment: hold > 0 ? ["PARD_WORKER_HOLD": "\(hold)"] : [:], stderr: log)
    }

    deinit { kill() }

    var log: String { (try? String(contentsOfFile: tmp.path("stderr.log"), encoding: .utf8)) ?? "" }
    var metrics: String { RunningPard.metrics(port: port, namespace: namespace) }
    func metric(_ name: String, _ labels: String = "") -> Double { RunCommandTests.metric(metrics, name, labels) }

    /// Waits until it serves /metrics and has subscribed (at most 60 s).
    func waitReady() -> Bool { RunCommandTests.waitUntil(60) { log.contains("worker ready") && !metrics.isEmpty } }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM; the exit status.
    func stop() -> Int32 {
        Glibc.kill(process.processIdentifier, SIGTERM)
        _ = RunCommandTests.waitUntil(30) { !process.isRunning }
        return process.isRunning ? -1 : process.terminationStatus
    }
}
