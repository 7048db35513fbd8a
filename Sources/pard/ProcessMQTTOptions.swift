import ArgumentParser
import Foundation
import Logging
import PardMQTT

/// `pard process --mqtt URL`: the events to a broker as well (the same topics and payloads as `pard run`),
/// through a spool in a temporary folder; at the end, waits until the broker acknowledged every event.
struct ProcessMQTTOptions: ParsableArguments {
    @Option(name: .customLong("mqtt"), help: "Also publish the events to this MQTT broker (mqtt://HOST:PORT), QoS 1, topics pard/<stream>/attributes and pard/<stream>/tracks.")
    var url: String?

    @Option(name: .customLong("mqtt-timeout"), help: "Seconds to wait at the end for the broker to acknowledge every event.")
    var timeout: Double = 30

    func validate() throws {
        guard timeout >= 0 else { throw ValidationError("--mqtt-timeout must be 0 or more seconds, got \(timeout)") }
        if let url, case .failure(let error) = MQTTSettings.parseURL(url) { throw ValidationError("--mqtt: \(error)") }
    }

    /// The sink for `--mqtt`, started (nil without it).
    func start() throws -> MQTTSink? {
        guard let url, case .success(let broker) = MQTTSettings.parseURL(url) else { return nil }
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("pard-process-mqtt-\(UUID().uuidString)").path
        let settings = MQTTSettings(host: broker.host, port: broker.port, tls: broker.tls, clientID: "pard-process-\(getpid())",
                                    spoolDirectory: spool, spoolMaxBytes: 1 << 30)
        let logger = Logger(label: "pard") { StreamLogHandler.standardError(label: $0) }
        do {
            let sink = try MQTTSink(settings: settings, logger: logger)
            sink.start()
            return sink
        } catch {
            throw CLIError("\(error)")
        }
    }

    /// Waits (at most `--mqtt-timeout`) until the broker acknowledged every event, closes the session and
    /// removes the spool; nil, or what was not delivered (for the exit status, after the summary).
    func finish(_ sink: MQTTSink?) -> String? {
        guard let sink else { return nil }
        let delivered = sink.waitUntilDelivered(timeout: timeout)
        sink.close(within: 1)
        let status = sink.status
        try? FileManager.default.removeItem(atPath: sink.settings.spoolDirectory)
        return delivered ? nil : "\(MQTTError.notDelivered(broker: sink.settings.broker, count: status.spooledEvents + status.waiting))"
    }
}
