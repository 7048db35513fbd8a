import Foundation

extension DaemonConfig {
    /// `inference`: where the model runs. `local` (the default): in this process. A mapping with `nats`:
    /// on workers (`pard worker`) fed through NATS JetStream; this process only decodes, crops and makes
    /// the events.
    public enum Inference: Hashable, Sendable {
        case local
        case nats(RemoteInference)
    }

    /// `inference: {nats: ...}`: the edge's side of remote inference.
    public struct RemoteInference: Hashable, Sendable {
        /// `nats`, `subject`, `results`, `stream`: the server and names shared with the workers.
        public var nats: NATSNames
        /// `edge`: this edge's name, unique on the site (letters, digits, `-`, `_`): its results come on
        /// `<results>.<edge>` through the durable consumer `pard-edge-<edge>`. Default: the host name.
        public var edge = DaemonConfig.defaultNATSName
        /// `max_in_flight`: crops published and not yet answered, at most; beyond it the queue fills and
        /// sheds as usual. Default 64.
        public var maxInFlight = 64
        /// `result_timeout`: seconds a crop may wait for its result before it is shed (`result_timeout`).
        /// Keep it over the workers' `ack_wait` times their `max_deliver`. Default 60.
        public var resultTimeout: TimeInterval = 60

        public init(nats: NATSNames) { self.nats = nats }
    }

    /// The NATS server and the names edges and workers share.
    public struct NATSNames: Hashable, Sendable, CustomStringConvertible {
        /// `nats`/`url`: `nats://host:4222` (comma-separated for a cluster). Required.
        public var url: String
        /// `subject`: where crops are published. Default `pard.crops`.
        public var subject = "pard.crops"
        /// `results`: the prefix of the edges' result subjects. Default `pard.results`.
        public var results = "pard.results"
        /// `stream`: the JetStream work-queue stream over both (made by whoever starts first; file storage).
        /// Default `PARD`.
        public var stream = "PARD"

        public init(url: String) { self.url = url }

        /// The stream's subjects: the crops and every edge's results.
        public var streamSubjects: [String] { [subject, results + ".>"] }

        public var description: String { "\(url) (stream \(stream), crops on \(subject), results on \(results).*)" }
    }

    /// The host name with only letters, digits, `-` and `_` (a NATS subject token and consumer name).
    public static var defaultNATSName: String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "pard"
        let safe = String(host.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "-" }.prefix(64))
        return safe.isEmpty ? "pard" : safe
    }

    /// `inference` for the summary line; empty for `local` (the summary stays as it was).
    var inferenceSummary: String {
        guard case .nats(let remote) = inference else { return "" }
        return "; inference on NATS \(remote.nats) as edge \(remote.edge), \(remote.maxInFlight) in flight, "
            + "result timeout \(DurationText.format(seconds: remote.resultTimeout))"
    }
}

extension ConfigParser {
    /// `inference`: `local`, or a mapping with `nats` (the URL) and the keys of `RemoteInference`.
    mutating func inference(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig.Inference {
        if case .scalar = value.node {
            let text = try value.string()
            guard text == "local" else { throw value.error("expected local or a mapping with nats: nats://host:4222, got \(value.shown)") }
            return .local
        }
        let map = try value.mapping(keys: ["nats", "subject", "results", "stream", "edge", "max_in_flight", "result_timeout"])
        var remote = DaemonConfig.RemoteInference(nats: try natsNames(map, urlKey: "nats"))
        if let edge = map.optional("edge") { remote.edge = try natsToken(note(edge)) }
        if let n = map.optional("max_in_flight") { remote.maxInFlight = try note(n).integer(in: 1...100_000) }
        if let t = map.optional("result_timeout") { remote.resultTimeout = try note(t).duration(positive: true) }
        return .nats(remote)
    }

    /// The server (`urlKey`) and the shared names of an `inference` or a worker's `nats` mapping.
    mutating func natsNames(_ map: ConfigMapping, urlKey: String) throws(ConfigError) -> DaemonConfig.NATSNames {
        let urlValue = note(try map.required(urlKey, "a URL such as nats://nats.lan:4222"))
        let url = try urlValue.nonEmptyString()
        for part in url.split(separator: ",") {
            let server = part.trimmingCharacters(in: .whitespaces)
            guard let parsed = URLComponents(string: server), ["nats", "tls"].contains(parsed.scheme ?? ""),
                  let host = parsed.host, !host.isEmpty, parsed.path.isEmpty, parsed.user == nil else {
                throw urlValue.error("expected a URL such as nats://nats.lan:4222 (several, comma-separated, for a cluster), "
                                     + "without user or password, got \(urlValue.shown)")
            }
        }
        var names = DaemonConfig.NATSNames(url: url)
        for (key, path) in [("subject", \DaemonConfig.NATSNames.subject), ("results", \.results)] {
            guard let v = map.optional(key) else { continue }
            let text = try note(v).nonEmptyString()
            guard text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ token in
                !token.isEmpty && token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }
            }) else {
                throw v.error("expected a NATS subject of dot-separated names (letters, digits, - and _; no wildcards), got \(v.shown)")
            }
            names[keyPath: path] = text
        }
        if names.subject == names.results || names.subject.hasPrefix(names.results + ".") {
            throw (map.optional("subject") ?? urlValue).error("subject \(names.subject) lies under results \(names.results).*")
        }
        if let stream = map.optional("stream") { names.stream = try natsToken(note(stream)) }
        return names
    }

    /// A stream, edge or consumer name: letters, digits, `-` and `_`, at most 64.
    func natsToken(_ value: ConfigValue) throws(ConfigError) -> String {
        let text = try value.nonEmptyString()
        guard text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_".contains($0)) }) else {
            throw value.error("expected at most 64 letters, digits, \"-\" and \"_\", got \(value.shown)")
        }
        return text
    }
}
