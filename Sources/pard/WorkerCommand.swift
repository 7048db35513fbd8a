import ArgumentParser
import Foundation
import Logging
import PardDaemon

/// `pard worker`: classifies the crops edges publish to NATS JetStream.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Classify crops from NATS JetStream for pard run edges (see configs/pard-worker.yaml).",
        discussion: """
        Loads the model once, takes crops from the shared work queue in batches of up to batch_size \
        (waiting at most batch_wait for a batch to fill), classifies them, publishes each result to the \
        edge that sent the crop and then acknowledges it. A crop cut for another model is refused and \
        counted. SIGTERM or SIGINT finish the batch in hand and exit 0. Serves /metrics and /healthz; under \
        systemd (Type=notify) it reports READY=1, STATUS=, WATCHDOG=1 and STOPPING=1.
        """)

    @Option(help: "The configuration file.")
    var config: String = "/etc/pard/pard-worker.yaml"

    @OptionGroup var logging: LogLevelOption

    func run() throws {
        let logger = ServiceMain.bootstrap(logLevel: logging.logLevel)
        let parsed: WorkerConfig
        do { parsed = try WorkerConfig.load(path: config) } catch { throw CLIError("\(error)") }
        logger.info("configuration", metadata: ["file": "\(config)", "summary": "\(parsed.summary)"])
        let runtime = WorkerRuntime(config: parsed, logger: logger)
        try ServiceMain.wait { try await runtime.run() }
    }
}
