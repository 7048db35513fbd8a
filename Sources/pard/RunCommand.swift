import ArgumentParser
import Foundation
import Logging
import PardDaemon
import PardVideo

/// `pard run`: the long-running service.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the service: live streams in, attribute events out (see configs/pard.yaml).",
        discussion: """
        Loads the model once, starts every stream of the configuration and its detection source, and \
        writes events until SIGTERM or SIGINT, which finish the queued crops (within shutdown_timeout), \
        write the open tracks' summaries and exit 0. SIGHUP reopens the event file (logrotate). Under \
        systemd (Type=notify) it reports READY=1, STATUS=, WATCHDOG=1 and STOPPING=1.
        """)

    @Option(help: "The configuration file.")
    var config: String = "/etc/pard/pard.yaml"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel): not a log level") }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            // Credentials (`user:password@` in a URL) never reach the journal, whoever logs them.
            return RedactingLogHandler(handler)
        }
        let logger = Logger(label: "pard")
        // FFmpeg's errors (a camera's broken stream, say) go to the journal like pard's own lines.
        FFmpegLog.setHandler { logger.log(level: $0.isError ? .error : .warning, "\($0.line)") }
        let parsed: DaemonConfig
        do { parsed = try DaemonConfig.load(path: config) } catch { throw CLIError("\(error)") }
        let runtime = DaemonRuntime(config: parsed, logger: logger)
        // The services run on Swift's pool; this thread waits for them.
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await runtime.run() } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw CLIError(URLRedaction.redactCredentials(in: "\(error)")) }
    }
}

/// How the service ended, handed from its task to the waiting main thread.
private final class Outcome: @unchecked Sendable {  // under `lock`
    private let lock = NSLock()
    private var failure: Error?

    func set(_ error: Error) { lock.lock(); failure = error; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return failure }
}
