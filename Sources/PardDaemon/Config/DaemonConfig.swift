import Foundation
import PardMQTT

/// The whole configuration of `pard run`, read from one YAML file (`/etc/pard/pard.yaml` when installed;
/// `configs/pard.yaml` is a commented example).
///
/// Every field documents its default, which is also its initial value here: a key left out of the file
/// keeps it. Durations are seconds (`TimeInterval`); the file may write them as numbers (`0.5`) or with a
/// unit (`"500ms"`, `"2s"`, `"1m"`, `"1h"`). Relative paths in the file are relative to the file's folder.
/// Unknown keys are errors. Read with `DaemonConfig.load(path:)` or `DaemonConfig(yaml:file:)`.
public struct DaemonConfig: Hashable, Sendable, CustomStringConvertible {
    /// `model`: the one model all streams share. Required (for its `checkpoint`).
    public var model: Model
    /// `output`: where events go. Default: `/var/log/pard/events.jsonl`.
    public var output = Output()
    /// `metrics`: the HTTP endpoint with `/metrics` and `/healthz`. Default: `127.0.0.1:9464`.
    public var metrics = Metrics()
    /// `queue`: the bounded queue of crops waiting for the model. Default: 64 crops, `oldest_tracked_first`.
    public var queue = Queue()
    /// `inference`: `local` (the default: the model runs here) or `{nats: nats://host:4222, ...}`: on
    /// `pard worker`s through NATS JetStream (`DaemonConfig+Inference.swift`).
    public var inference: Inference = .local
    /// `shutdown_timeout`: seconds SIGTERM/SIGINT may spend finishing queued crops before exiting.
    /// Default 10 (keep it under the unit's `TimeoutStopSec`, 20).
    public var shutdownTimeout: TimeInterval = 10
    /// `streams`: the video streams, at least one, names unique. Required.
    public var streams: [Stream]
    /// Where each key path was written (for errors found after parsing, e.g. a socket that cannot be bound).
    public var locations = ConfigLocations()

    /// A configuration with defaults everywhere but the model and the streams.
    public init(model: Model, streams: [Stream]) {
        self.model = model
        self.streams = streams
    }

    /// A few lines: the model, output, metrics and queue, then one line per stream (URLs redacted).
    public var description: String {
        ([summary] + streams.map { "stream \($0)" }).joined(separator: "\n")
    }

    /// One line for everything but the streams.
    public var summary: String {
        let threads = model.threads == 1 ? "1 thread" : "\(model.threads) threads"
        return "model \(model.checkpoint) (\(model.attributes ?? "attributes from the model"), \(model.precision.rawValue)"
            + "\(model.fp32Layers.isEmpty ? "" : " (fp32 layers \(model.fp32Layers))"), batch \(model.batchSize) within \(DurationText.format(seconds: model.batchWait)), threshold \(DurationText.format(number: Double(model.threshold))), \(threads)); "
            + "events \(output.events)\(output.mqtt.map { "; mqtt \($0.broker) (\($0.clientID), spool \($0.spoolDirectory))" } ?? ""); metrics \(metrics.listen.map(\.description) ?? "off"); "
            + "queue \(queue.maxCrops) crops, shedding \(queue.shedPolicy.rawValue); shutdown timeout \(DurationText.format(seconds: shutdownTimeout))"
            + inferenceSummary
    }

    /// An error about the value at `keyPath` (e.g. `streams[1].detections`), located in the file it came
    /// from when known; for problems found after parsing, such as an address already in use.
    public func error(at keyPath: String, _ message: String) -> ConfigError {
        ConfigError(file: locations.file, line: locations.lines[keyPath], keyPath: keyPath, message: message)
    }
}

/// The file a configuration was read from and the line of each key path in it.
public struct ConfigLocations: Hashable, Sendable {
    /// The file as named when loading (`<string>` for text parsed directly, `<code>` for one built in code).
    public var file = "<code>"
    /// Key path (`streams[0].url`) to 1-based line.
    public var lines: [String: Int] = [:]

    /// No file, no lines.
    public init() {}
}
