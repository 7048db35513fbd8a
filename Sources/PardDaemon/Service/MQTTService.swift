import PardMQTT
import ServiceLifecycle

/// The MQTT sink's service: its thread runs from `run()`; graceful shutdown (after inference has finished
/// and written the last track summaries) publishes what is spooled for at most `closeTimeout` seconds,
/// then `available` = `offline`, and closes the session. What is left stays in the spool for the next start.
struct MQTTService: Service {
    let sink: MQTTSink
    static let closeTimeout = 3.0

    func run() async throws {
        sink.start()
        try? await gracefulShutdown()
        let sink = self.sink
        await onOwnThread("pard-mqtt-stop") { sink.close(within: Self.closeTimeout) }
    }
}
