import ArgumentParser
import Foundation
import Logging
import PardDaemon

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
        let parsed: DaemonConfig
        do { parsed = try DaemonConfig.load(path: config) } catch { throw CLIError("\(error)") }
        do { try DaemonRuntime(config: parsed, logger: logger).run() } catch {
            throw CLIError(URLRedaction.redactCredentials(in: "\(error)"))
        }
    }
}
