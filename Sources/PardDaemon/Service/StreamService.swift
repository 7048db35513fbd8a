import ServiceLifecycle

/// One stream's service: its decoding thread runs from `run()` until graceful shutdown, which stops the
/// detection receiver (no new crops) and the decoder and waits for their threads. (The receiver itself
/// is started before the group runs, so that a socket that cannot be bound stops pard at startup.)
struct StreamService: Service {
    let input: StreamInput

    func run() async throws {
        input.live.start()
        try? await gracefulShutdown()
        let input = self.input
        await onOwnThread("pard-stop") { input.stop() }
    }
}
