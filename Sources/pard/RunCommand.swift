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

    @OptionGroup var logging: LogLevelOption

    func run() throws {
        let logger = ServiceMain.bootstrap(logLevel: logging.logLevel)
        // FFmpeg's errors (a camera's broken stream, say) go to the journal like pard's own lines.
        FFmpegLog.setHandler { logger.log(level: $0.isError ? .error : .warning, "\($0.line)") }
        let parsed: DaemonConfig
        do { parsed = try DaemonConfig.load(path: config) } catch { throw CLIError("\(error)") }
        let runtime = DaemonRuntime(config: parsed, logger: logger)
        try ServiceMain.wait { try await runtime.run() }
    }
}
