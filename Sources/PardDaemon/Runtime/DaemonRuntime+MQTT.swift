import PardMQTT

extension DaemonRuntime {
    /// The MQTT sink of `output.mqtt` (nil without it), its metrics in `/metrics`; not started yet.
    /// - Throws: `DaemonError.mqtt` when the password file, CA file or spool cannot be used.
    func makeMQTTSink() throws -> MQTTSink? {
        guard let settings = config.output.mqtt else { return nil }
        do { return try MQTTSink(settings: settings, metrics: MQTTPrometheusMetrics(registry: metrics.registry), logger: logger) }
        catch { throw DaemonError.mqtt(error) }
    }

    /// Tells `sink` when stream `stream` comes up or goes down (`<prefix>/<stream>/state`, retained).
    static func streamStateHook(_ sink: MQTTSink?, stream: String) -> @Sendable (LiveStreamState) -> Void {
        guard let sink else { return { _ in } }
        return { state in
            switch state {
            case .connecting: return
            case .up: sink.setStreamState(stream: stream, up: true, reason: nil)
            case .down(let reason): sink.setStreamState(stream: stream, up: false, reason: reason)
            case .finished: sink.setStreamState(stream: stream, up: false, reason: "end of file")
            case .stopped: sink.setStreamState(stream: stream, up: false, reason: "stopped")
            }
        }
    }
}
