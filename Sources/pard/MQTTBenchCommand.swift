import ArgumentParser
import Foundation
import Logging
import PardMQTT
import PardPipeline

/// `pard bench-mqtt`: the events per second the MQTT sink sustains into a broker.
struct MQTTBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-mqtt",
        abstract: "Measure the events per second the MQTT sink sustains into a broker (README: MQTT).",
        discussion: """
        Emits --events attribute events of a PA100k-sized line (26 attributes, about 740 bytes) as fast as \
        the sink takes them, through the spool (a temporary folder, removed at the end), to the topic \
        pard/bench/attributes, and waits until the broker acknowledged every one. Prints one JSON line: \
        events/s from the first emit to the last acknowledgement, and the time emit took per event (what \
        inference would wait).
        """)

    @Option(help: "The broker: mqtt://HOST:PORT.")
    var url = "mqtt://127.0.0.1:1883"

    @Option(help: "Events to publish.")
    var events = 20_000

    @Option(help: "0 or 1.")
    var qos = 1

    func validate() throws {
        guard events >= 1 else { throw ValidationError("--events must be at least 1") }
        guard (0...1).contains(qos) else { throw ValidationError("--qos must be 0 or 1") }
    }

    func run() throws {
        let broker: (tls: Bool, host: String, port: Int)
        switch MQTTSettings.parseURL(url) {
        case .success(let parsed): broker = parsed
        case .failure(let error): throw CLIError("--url: \(error)")
        }
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("pard-bench-mqtt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: spool) }
        var settings = MQTTSettings(host: broker.host, port: broker.port, tls: broker.tls, clientID: "pard-bench-\(getpid())",
                                    spoolDirectory: spool, spoolMaxBytes: 4 << 30)
        settings.qos = qos
        let logger = Logger(label: "pard") { StreamLogHandler.standardError(label: $0) }
        let sink: MQTTSink
        do { sink = try MQTTSink(settings: settings, logger: logger) } catch { throw CLIError("\(error)") }
        sink.start()
        defer { sink.close(within: 2) }
        let deadline = Date(timeIntervalSinceNow: 10)
        while !sink.status.connected, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard sink.status.connected else { throw CLIError("no connection to \(settings.broker) within 10 s") }
        let lines = (0..<events).map(Self.line)
        let start = Date()
        for line in lines { sink.emit(Event(type: .attributes, stream: "bench", line: line)) }
        let emitted = Date().timeIntervalSince(start)
        guard sink.waitUntilDelivered(timeout: 600) else { throw CLIError("not every event acknowledged within 600 s: \(sink.status)") }
        let seconds = Date().timeIntervalSince(start)
        let bytes = lines.reduce(0) { $0 + $1.utf8.count } / events
        var o = JSONLine()
        o.add("events", events)
        o.add("qos", qos)
        o.add("bytes_per_event", bytes)
        o.add("seconds", seconds, decimals: 3)
        o.add("events_per_s", Double(events) / seconds, decimals: 0)
        o.add("emit_us_per_event", emitted / Double(events) * 1e6, decimals: 2)
        o.add("cpu", Self.cpuName)
        try Output.standardOutput(o.string + "\n")
    }

    /// An attribute event the size of a PA100k one (about 740 bytes).
    static func line(_ frame: Int) -> String {
        let names = ["female", "age_over_60", "age_18_to_60", "age_less_18", "front", "side", "back", "hat", "glasses",
                     "hand_bag", "shoulder_bag", "backpack", "hold_objects_in_front", "short_sleeve", "long_sleeve",
                     "upper_stride", "upper_logo", "upper_plaid", "upper_splice", "lower_stripe", "lower_pattern",
                     "long_coat", "trousers", "shorts", "skirt_and_dress", "boots"]
        var attributes = JSONLine()
        for (i, name) in names.enumerated() { attributes.add(name, Double((frame * 31 + i * 17) % 10000) / 10000, decimals: 4) }
        var o = JSONLine()
        o.add("schema", 1)
        o.add("type", "attributes")
        o.add("stream", "bench")
        o.add("frame", frame)
        o.add("pts", Double(frame) * 0.04, decimals: 6)
        var box = JSONLine()
        for (k, v) in [("x", 498.27), ("y", 151.7), ("w", 35.47), ("h", 90.6)] { box.add(k, v, decimals: 3) }
        o.add("box", object: box)
        o.add("rect", doubles: [498, 152, 534, 242], decimals: 0)
        o.add("score", 0.9, decimals: 4)
        o.add("id", frame % 50)
        o.add("attributes", object: attributes)
        o.add("labels", strings: ["female", "age_18_to_60", "side", "hand_bag"])
        return o.string
    }

    static var cpuName: String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("model name") } ?? ""
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }
}
