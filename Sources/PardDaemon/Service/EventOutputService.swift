import ServiceLifecycle
import UnixSignals

/// The event file's service: SIGHUP reopens it (logrotate renamed it); graceful shutdown, which comes
/// after every other service has finished, makes the last flush (what cannot be written is counted).
struct EventOutputService: Service {
    let output: EventOutput
    /// The file's name, for the log.
    let file: String

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            output.reopen(file: file)
        }
        output.close()
    }
}
