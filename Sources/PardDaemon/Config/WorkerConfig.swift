import Foundation
import Yams

/// The configuration of `pard worker`, one YAML file in the style of `pard run`'s (`configs/pard-worker.yaml`):
/// `model` (the same keys: `checkpoint`, `attributes`, `precision`, `threads`, `batch_size`, `batch_wait`,
/// ...), `nats` (the server, the names shared with the edges, and the work queue's consumer) and `metrics`.
public struct WorkerConfig: Hashable, Sendable {
    /// `model`: the model, loaded once; crops cut for another model are refused.
    public var model: DaemonConfig.Model
    /// `nats`: the server and the queue.
    public var nats: Queue
    /// `metrics`: `/metrics` and `/healthz`. Default `127.0.0.1:9465`.
    public var metrics = DaemonConfig.Metrics()
    public var locations = ConfigLocations()

    /// `nats` of a worker.
    public struct Queue: Hashable, Sendable {
        /// `url`, `subject`, `results`, `stream`: as the edges' `inference`.
        public var names: DaemonConfig.NATSNames
        /// `consumer`: the durable consumer every worker shares (the work queue). Default `pard-workers`.
        public var consumer = "pard-workers"
        /// `name`: this worker's name, in its results and logs. Default: the host name.
        public var name = DaemonConfig.defaultNATSName
        /// `ack_wait`: seconds a crop taken by a worker may go unacknowledged before the server gives it to
        /// another (a killed worker's). Set when the consumer is made. Default 30.
        public var ackWait: TimeInterval = 30
        /// `max_deliver`: deliveries of one crop at most (then the edge's `result_timeout` counts it). Default 5.
        public var maxDeliver = 5

        public init(names: DaemonConfig.NATSNames) { self.names = names }
    }

    public init(model: DaemonConfig.Model, nats: Queue) {
        self.model = model
        self.nats = nats
        metrics.listen = ListenAddress(host: "127.0.0.1", port: 9465)
    }

    /// One line: the model, the queue, the endpoint.
    public var summary: String {
        "model \(model.checkpoint) (\(model.attributes ?? "attributes from the model"), \(model.precision.rawValue), batch \(model.batchSize) "
            + "within \(DurationText.format(seconds: model.batchWait)), \(model.threads) threads); NATS \(nats.names) as \(nats.name), "
            + "consumer \(nats.consumer), ack wait \(DurationText.format(seconds: nats.ackWait)), max deliver \(nats.maxDeliver); "
            + "metrics \(metrics.listen.map(\.description) ?? "off")"
    }

    /// Reads and validates the file at `path` (relative paths in it against its folder).
    /// - Throws: `ConfigError` naming the file, line and key of the first problem.
    public static func load(path: String) throws(ConfigError) -> WorkerConfig {
        let text = try DaemonConfig.readText(path: path)
        let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        return try WorkerConfig(yaml: text, file: path, baseDirectory: folder)
    }

    /// Parses and validates configuration text (`file` names it in errors).
    public init(yaml: String, file: String = "<string>", baseDirectory: String? = nil) throws(ConfigError) {
        let root = try DaemonConfig.compose(yaml: yaml, file: file, empty: "the file is empty; expected the keys model and nats")
        var parser = ConfigParser(file: file, directory: baseDirectory, source: yaml)
        let top = try ConfigValue(node: root, path: "", file: file).mapping(keys: ["model", "nats", "metrics"])
        let model = try parser.model(parser.note(top.required("model", "a mapping with at least checkpoint")))
        let natsValue = parser.note(try top.required("nats", "a mapping with at least url"))
        let map = try natsValue.mapping(keys: ["url", "subject", "results", "stream", "consumer", "name", "ack_wait", "max_deliver"])
        var queue = Queue(names: try parser.natsNames(map, urlKey: "url"))
        if let consumer = map.optional("consumer") { queue.consumer = try parser.natsToken(parser.note(consumer)) }
        if let name = map.optional("name") { queue.name = try parser.natsToken(parser.note(name)) }
        if let wait = map.optional("ack_wait") {
            queue.ackWait = try parser.note(wait).duration(positive: true)
            guard queue.ackWait >= 0.5 else { throw wait.error("must be at least 500ms") }
        }
        if let n = map.optional("max_deliver") { queue.maxDeliver = try parser.note(n).integer(in: 1...1000) }
        self.init(model: model, nats: queue)
        if let metrics = top.optional("metrics") { self.metrics = try parser.metrics(parser.note(metrics)) }
        locations.file = file
        locations.lines = parser.lines
    }
}
