import Foundation
import PromptPAR
import Yams

extension DaemonConfig {
    /// Reads and validates the configuration file at `path`. Relative paths inside it are resolved
    /// against its folder (made absolute).
    /// - Throws: `ConfigError` naming the file, line and key path of the first problem.
    public static func load(path: String) throws(ConfigError) -> DaemonConfig {
        let text = try readText(path: path)
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        return try DaemonConfig(yaml: text, file: path, baseDirectory: absolute.deletingLastPathComponent().path)
    }

    /// The text of the configuration file at `path` (bounded in size, UTF-8).
    /// - Throws: `ConfigError` naming the file when it is missing, a folder, too large or not text.
    static func readText(path: String) throws(ConfigError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(file: path, line: nil, keyPath: "", message: "no such file")
        }
        guard !isDirectory.boolValue else { throw ConfigError(file: path, line: nil, keyPath: "", message: "is a folder, not a file") }
        let data = try readBounded(path: path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, keyPath: "", message: "is not UTF-8 text")
        }
        return text
    }

    /// Parses and validates configuration text. `file` names it in errors; relative paths are resolved
    /// against `baseDirectory` (left relative when nil).
    /// - Throws: `ConfigError` naming the line and key path of the first problem.
    public init(yaml: String, file: String = "<string>", baseDirectory: String? = nil) throws(ConfigError) {
        let root = try Self.compose(yaml: yaml, file: file, empty: "the file is empty; expected the keys model and streams at least")
        var parser = ConfigParser(file: file, directory: baseDirectory, source: yaml)
        self = try parser.document(ConfigValue(node: root, path: "", file: file))
        self.locations = ConfigLocations()
        self.locations.file = file
        self.locations.lines = parser.lines
    }

    /// The YAML tree of `yaml`; `empty`: the message for a document without one.
    /// - Throws: `ConfigError` at the line of a syntax error.
    static func compose(yaml: String, file: String, empty: String) throws(ConfigError) -> Node {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw ConfigError(file: file, line: nil, keyPath: "", message: empty) }
            return node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw Self.describe(error, file: file, yaml: yaml)
        } catch {
            throw ConfigError(file: file, line: nil, keyPath: "", message: "invalid YAML: \(error)")
        }
    }

    /// A YAML syntax error as a `ConfigError` at its line.
    static func describe(_ error: YamlError, file: String, yaml: String) -> ConfigError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let during = context.map { "\($0.text): " } ?? ""
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            let tab = mark.line >= 1 && mark.line <= lines.count && lines[mark.line - 1].contains("\t")
            let hint = tab ? " (YAML is indented with spaces, not tabs)" : ""
            return ConfigError(file: file, line: mark.line, keyPath: "", message: "invalid YAML: \(during)\(problem)\(hint)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? "?"
            let first = context.mark.line
            let again = repeatedLine(of: key, column: context.mark.column, after: first, in: yaml)
            return ConfigError(file: file, line: again ?? first, keyPath: "",
                               message: "key \"\(key)\" appears twice in the same mapping (first on line \(first))")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { yaml.prefix($0).filter { $0 == "\n" }.count + 1 }
            return ConfigError(file: file, line: line, keyPath: "", message: "unreadable text: \(problem)")
        default:
            return ConfigError(file: file, line: nil, keyPath: "", message: "invalid YAML: \(String(describing: error).prefix(200))")
        }
    }

    /// The first line after `line` where `key:` starts at `column` again (the repetition of a duplicate key).
    static func repeatedLine(of key: String, column: Int, after line: Int, in yaml: String) -> Int? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard line < lines.count else { return nil }
        for index in line..<lines.count {
            let text = lines[index].unicodeScalars
            guard text.count >= column else { continue }
            let rest = String(String.UnicodeScalarView(text.dropFirst(column - 1)))
            let prefix = String(String.UnicodeScalarView(text.prefix(column - 1)))
            guard prefix.allSatisfy({ $0 == " " || $0 == "-" }) else { continue }
            for form in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(form) {
                let after = rest.dropFirst(form.count).drop { $0 == " " }
                if after.hasPrefix(":") { return index + 1 }
            }
        }
        return nil
    }
}

/// Turns the YAML tree into a `DaemonConfig`, checking every value; remembers each key path's line.
struct ConfigParser {
    /// The file, for errors.
    let file: String
    /// The config file's folder, for relative paths.
    let directory: String?
    /// Key path to line, of every value read.
    var lines: [String: Int] = [:]
    /// The text parsed, for comments (which the YAML tree drops).
    var source: SourceLines
    /// The streams read so far by name, so that a repeated name is found in constant time.
    var streamNames: [String: Int] = [:]
    /// The streams read so far by detection source (`ConfigParser.conflictKey`), likewise.
    var detectionOwners: [String: (index: Int, name: String)] = [:]

    init(file: String, directory: String?, source: String = "") {
        self.file = file
        self.directory = directory
        self.source = SourceLines(source)
    }

    /// Records where `value` is and passes it on.
    mutating func note(_ value: ConfigValue) -> ConfigValue {
        if let line = value.line { lines[value.path] = line }
        return value
    }

    mutating func document(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig {
        let top = try value.mapping(keys: ["model", "output", "metrics", "queue", "shutdown_timeout", "streams", "inference"])
        let model = try self.model(note(top.required("model", "a mapping with at least checkpoint")))
        let streamsValue = try note(top.required("streams", "a list of streams (name, url, detections, ...)"))
        let items = try streamsValue.sequence()
        guard !items.isEmpty else { throw streamsValue.error("expected at least one stream") }
        var streams: [DaemonConfig.Stream] = []
        for item in items { streams.append(try stream(note(item), index: streams.count)) }
        var config = DaemonConfig(model: model, streams: streams)
        if let output = top.optional("output") { config.output = try self.output(note(output)) }
        if let metrics = top.optional("metrics") { config.metrics = try self.metrics(note(metrics)) }
        if let queue = top.optional("queue") { config.queue = try self.queue(note(queue)) }
        if let inference = top.optional("inference") { config.inference = try self.inference(note(inference)) }
        if let timeout = top.optional("shutdown_timeout") { config.shutdownTimeout = try note(timeout).duration(positive: false) }
        if let listen = config.metrics.listen {
            for (index, stream) in streams.enumerated() {
                guard case .tcp(let address) = stream.detections, address.port == listen.port,
                      address.host == listen.host || listen.host == "0.0.0.0" || listen.host == "::" else { continue }
                let path = "streams[\(index)].detections"
                throw ConfigError(file: file, line: lines[path], keyPath: path, message: "port \(address.port) is also metrics.listen")
            }
        }
        return config
    }

    mutating func model(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig.Model {
        let map = try value.mapping(keys: ["checkpoint", "attributes", "vocabulary", "threads", "batch_size", "batch_wait", "precision", "fp32_layers", "threshold"])
        let checkpointNode = note(try map.required("checkpoint", "the model file (.pth or .safetensors)"))
        // `synthetic:ViT-L/14` (the released layout with random weights, for load measurements) is not a path.
        let synthetic = (try? checkpointNode.string()) == DaemonConfig.Model.synthetic
        var model = DaemonConfig.Model(checkpoint: synthetic ? DaemonConfig.Model.synthetic : try path(checkpointNode))
        if let attributes = map.optional("attributes") {
            let text = try note(attributes).nonEmptyString()
            let isFile = text.lowercased().hasSuffix(".json") || text.contains("/")
            model.attributes = isFile ? ConfigPaths.resolve(text, relativeTo: directory) : text
        }
        if let vocabulary = map.optional("vocabulary") { model.vocabulary = try path(note(vocabulary)) }
        if let threads = map.optional("threads") { model.threads = try note(threads).integer(in: 1...1024) }
        if let batch = map.optional("batch_size") { model.batchSize = try note(batch).integer(in: 1...256) }
        if let wait = map.optional("batch_wait") { model.batchWait = try note(wait).duration(positive: false) }
        if let precision = map.optional("precision") {
            let text = try note(precision).string()
            guard let value = DaemonConfig.Precision(rawValue: text) else {
                let names = DaemonConfig.Precision.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw precision.error("expected one of \(names), got \(precision.shown)")
            }
            model.precision = value
        }
        if let layers = map.optional("fp32_layers") { model.fp32Layers = try fullPrecisionLayers(note(layers)) }
        if let threshold = map.optional("threshold") { model.threshold = Float(try note(threshold).number(in: 0...1)) }
        return model
    }

    /// `fp32_layers`: a list of items or one comma-separated string (see `FullPrecisionLayers`).
    func fullPrecisionLayers(_ value: ConfigValue) throws(ConfigError) -> FullPrecisionLayers {
        let text: String
        if let items = try? value.sequence() {
            var words: [String] = []
            for item in items { words.append(try item.string()) }
            text = words.joined(separator: ",")
        } else {
            text = try value.string()
        }
        do { return try FullPrecisionLayers(parsing: text) } catch { throw value.error("\(error)") }
    }

    mutating func output(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig.Output {
        let map = try value.mapping(keys: ["events", "snapshots", "mqtt"])
        var output = DaemonConfig.Output()
        if let events = map.optional("events") {
            let text = try note(events).nonEmptyString()
            output.events = text == "-" ? .standardOutput : .file(path: ConfigPaths.resolve(text, relativeTo: directory))
        }
        if let mqtt = map.optional("mqtt") { output.mqtt = try self.mqtt(note(mqtt)) }
        if let snapshots = map.optional("snapshots") { output.snapshots = try self.snapshots(note(snapshots)) }
        return output
    }

    mutating func metrics(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig.Metrics {
        let map = try value.mapping(keys: ["listen"])
        var metrics = DaemonConfig.Metrics()
        if let listen = map.optional("listen") {
            let text = try note(listen).string()
            if text == "off" {
                metrics.listen = nil
            } else {
                switch ListenAddress.parse(text) {
                case .success(let address): metrics.listen = address
                case .failure(let problem): throw listen.error("\(problem.explanation), or off")
                }
            }
        }
        return metrics
    }

    mutating func queue(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig.Queue {
        let map = try value.mapping(keys: ["max_crops", "shed_policy"])
        var queue = DaemonConfig.Queue()
        if let size = map.optional("max_crops") { queue.maxCrops = try note(size).integer(in: 1...1_000_000) }
        if let policy = map.optional("shed_policy") {
            let text = try note(policy).string()
            guard let value = DaemonConfig.ShedPolicy(rawValue: text) else {
                let names = DaemonConfig.ShedPolicy.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
                throw policy.error("expected \(names), got \(policy.shown)")
            }
            queue.shedPolicy = value
        }
        return queue
    }

    mutating func stream(_ value: ConfigValue, index streamIndex: Int) throws(ConfigError) -> DaemonConfig.Stream {
        let map = try value.mapping(keys: ["name", "url", "transport", "timeout", "realtime", "loop", "detections",
                                           "frame_buffer", "track_interval", "track_timeout", "reconnect"])
        let nameValue = try note(map.required("name", "the stream's name (letters, digits, _ . -)"))
        let name = try nameValue.string()
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else {
            throw nameValue.error("expected letters, digits, \"_\", \".\" and \"-\" only, got \(nameValue.shown)")
        }
        if let index = streamNames[name] {
            throw nameValue.error("\"\(name)\" is already the name of streams[\(index)]; names must be unique")
        }
        streamNames[name] = streamIndex

        let urlValue = try note(map.required("url", "rtsp://..., rtsps://... or a file path"))
        let url = try urlValue.nonEmptyString()
        if url.contains("://") && !DaemonConfig.Stream.isRTSP(url) {
            throw urlValue.error("expected rtsp://..., rtsps://... or a file path, got \(urlValue.shown)")
        }
        if let problem = StreamURLCheck.problem(url: url, comment: source.comment(after: urlValue)) { throw urlValue.error(problem) }
        let resolvedURL = url.contains("://") ? url : ConfigPaths.resolve(url, relativeTo: directory)

        let detectionsValue = try note(map.required("detections", "\"unix:PATH\", \"tcp:127.0.0.1:PORT\" or a file path"))
        let detections: DetectionSource
        switch DetectionSource.parse(try detectionsValue.nonEmptyString(), relativeTo: directory) {
        case .success(let source): detections = source
        case .failure(let problem): throw detectionsValue.error(problem.message)
        }
        if let other = detectionOwners[Self.conflictKey(detections)] {
            throw detectionsValue.error("\(detections) is already the detection source of streams[\(other.index)] (\(other.name))")
        }
        detectionOwners[Self.conflictKey(detections)] = (streamIndex, name)

        var stream = DaemonConfig.Stream(name: name, url: resolvedURL, detections: detections)
        let rtsp = stream.isRTSP
        if let transport = map.optional("transport") {
            guard rtsp else { throw note(transport).error("applies to RTSP streams only; url is a file") }
            let text = try note(transport).string()
            guard let value = DaemonConfig.Transport(rawValue: text) else { throw transport.error("expected \"tcp\" or \"udp\", got \(transport.shown)") }
            stream.transport = value
        }
        for key in ["realtime", "loop"] {
            guard let flag = map.optional(key) else { continue }
            let on = try note(flag).bool()
            guard !rtsp else { throw flag.error("applies to file streams only; RTSP streams are live by nature") }
            if key == "realtime" { stream.realtime = on } else { stream.loop = on }
        }
        if let timeout = map.optional("timeout") { stream.timeout = try note(timeout).duration(positive: true) }
        if let buffer = map.optional("frame_buffer") { stream.frameBuffer = try note(buffer).duration(positive: true) }
        if let interval = map.optional("track_interval") { stream.trackInterval = try note(interval).duration(positive: false) }
        if let timeout = map.optional("track_timeout") { stream.trackTimeout = try note(timeout).duration(positive: true) }
        if let reconnect = map.optional("reconnect") { stream.reconnect = try self.reconnect(note(reconnect)) }
        return stream
    }

    mutating func reconnect(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig.Reconnect {
        let map = try value.mapping(keys: ["initial", "max", "jitter"])
        var reconnect = DaemonConfig.Reconnect()
        if let initial = map.optional("initial") { reconnect.initial = try note(initial).duration(positive: true) }
        if let max = map.optional("max") {
            reconnect.max = try note(max).duration(positive: true)
            guard reconnect.max >= reconnect.initial else {
                throw max.error("must be at least initial (\(DurationText.format(seconds: reconnect.initial)))")
            }
        } else if reconnect.max < reconnect.initial {
            reconnect.max = reconnect.initial
        }
        if let jitter = map.optional("jitter") { reconnect.jitter = try note(jitter).number(in: 0...1) }
        return reconnect
    }

    /// A path value, resolved against the config file's folder.
    mutating func path(_ value: ConfigValue) throws(ConfigError) -> String {
        ConfigPaths.resolve(try value.nonEmptyString(), relativeTo: directory)
    }

    /// What two streams' detection sources share when they collide: the same socket, file or TCP port.
    static func conflictKey(_ source: DetectionSource) -> String {
        switch source {
        case .unix(let path): return "unix:" + path
        case .file(let path): return "file:" + path
        case .tcp(let address): return "tcp:\(address.port)"
        }
    }
}
