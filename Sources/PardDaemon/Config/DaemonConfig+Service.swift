import PardMQTT
import PardPipeline
extension DaemonConfig {
    /// `output`: where events are written.
    public struct Output: Hashable, Sendable {
        /// `events`: the JSON-lines event file, opened for append and reopened on SIGHUP (logrotate);
        /// `-` writes to standard output. Default `/var/log/pard/events.jsonl`.
        public var events: EventsDestination = .file(path: "/var/log/pard/events.jsonl")
        /// `snapshots`: each track's best crop as JPEG (`DaemonConfig+Snapshots.swift`). Default: none.
        public var snapshots: Snapshots?
        /// `mqtt`: the events to an MQTT broker as well (`DaemonConfig+MQTT.swift`). Default: none.
        public var mqtt: MQTTSettings?

        /// Defaults everywhere.
        public init() {}
    }

    /// Where events go.
    public enum EventsDestination: Hashable, Sendable, CustomStringConvertible {
        /// Standard output (`-` in the file).
        case standardOutput
        /// A file, appended to.
        case file(path: String)

        /// `-` or the path.
        public var description: String {
            switch self {
            case .standardOutput: return "-"
            case .file(let path): return path
            }
        }
    }

    /// `metrics`: the HTTP endpoint (`/metrics` in Prometheus text, `/healthz`).
    public struct Metrics: Hashable, Sendable {
        /// `listen`: `HOST:PORT` to serve on (an IP address, `[IPv6]` or `localhost`), or `off`.
        /// Default `127.0.0.1:9464` (this machine only). nil: no endpoint.
        public var listen: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 9464)

        /// Defaults everywhere.
        public init() {}
    }

    /// `queue`: the bounded queue of crops between the streams and the model.
    public struct Queue: Hashable, Sendable {
        /// `max_crops`: crops waiting for the model at most; beyond that, crops are shed (and counted).
        /// At least 1. Default 64.
        public var maxCrops = 64
        /// `shed_policy`: which crops go first when the queue is full. Default `oldest_tracked_first`.
        public var shedPolicy: ShedPolicy = .oldestTrackedFirst

        /// Defaults everywhere.
        public init() {}
    }

    /// Which crops a full queue drops (`oldest_tracked_first` or `oldest_first`): the pipeline's own.
    public typealias ShedPolicy = PardPipeline.ShedPolicy
}
