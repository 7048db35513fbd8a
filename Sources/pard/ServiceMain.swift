import ArgumentParser
import Foundation
import Logging
import PardDaemon

/// What `pard run` and `pard worker` share: the log (to stderr, credentials redacted, at `--log-level`)
/// and the service's task on Swift's pool, waited for on the main thread.
enum ServiceMain {
    /// The logger of `logLevel` (validated by the command), set up once for the process.
    static func bootstrap(logLevel: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            // Credentials (`user:password@` in a URL) never reach the journal, whoever logs them.
            return RedactingLogHandler(handler)
        }
        return Logger(label: "pard")
    }

    /// Runs `body` as a task and blocks this thread until it ends.
    /// - Throws: `CLIError` with its error, credentials redacted.
    static func wait(_ body: sending @escaping () async throws -> Void) throws {
        // The services run on Swift's pool; this thread waits for them.
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do { try await body() } catch { outcome.set(error) }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw CLIError(URLRedaction.redactCredentials(in: "\(error)")) }
    }
}

/// `--log-level` of the services (`pard run`, `pard worker`).
struct LogLevelOption: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel): not a log level") }
    }
}

/// How the service ended, handed from its task to the waiting main thread.
private final class Outcome: @unchecked Sendable {  // under `lock`
    private let lock = NSLock()
    private var failure: Error?

    func set(_ error: Error) { lock.lock(); failure = error; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return failure }
}
