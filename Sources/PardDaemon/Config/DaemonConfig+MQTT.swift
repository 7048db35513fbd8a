import Foundation
import PardMQTT

extension DaemonConfig {
    /// `output.mqtt`'s defaults: the spool in the unit's StateDirectory, 100 MB.
    public static let defaultSpoolDirectory = "/var/lib/pard/mqtt-spool"
    public static let defaultSpoolMegabytes = 100.0

    /// `pard-<host name>`: one persistent session per pard host.
    public static var defaultMQTTClientID: String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "host"
        let safe = host.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
        return "pard-" + String(String.UnicodeScalarView(safe.prefix(64)))
    }

    /// The files `output.mqtt` names that are not on this machine (`password_file`, `ca_file`): warnings
    /// of `check-config`, like a missing checkpoint.
    func missingMQTTFiles() -> [ConfigError] {
        guard let mqtt = output.mqtt else { return [] }
        var problems: [ConfigError] = []
        for (file, key) in [(mqtt.passwordFile, "password_file"), (mqtt.caFile, "ca_file")] {
            guard let file, !FileManager.default.fileExists(atPath: file) else { continue }
            problems.append(error(at: "output.mqtt.\(key)", "\(file): no such file"))
        }
        return problems
    }
}

extension ConfigParser {
    /// `output.mqtt`: the broker (`url`), the session and the spool. The URL carries no user or password
    /// (`username`, `password_file`), and errors never quote it.
    mutating func mqtt(_ value: ConfigValue) throws(ConfigError) -> MQTTSettings {
        let map = try value.mapping(keys: ["url", "ca_file", "client_id", "username", "password_file", "topic_prefix", "qos",
                                           "keepalive", "spool_dir", "spool_max_mb"])
        let urlValue = note(try map.required("url", "a URL such as mqtt://broker.lan:1883 or mqtts://broker.lan:8883"))
        let broker: (tls: Bool, host: String, port: Int)
        switch MQTTSettings.parseURL(try urlValue.nonEmptyString()) {
        case .success(let parsed): broker = parsed
        case .failure(.badURL(let problem)): throw urlValue.error(problem)
        case .failure(let error): throw urlValue.error("\(error)")
        }
        var settings = MQTTSettings(host: broker.host, port: broker.port, tls: broker.tls, clientID: DaemonConfig.defaultMQTTClientID,
                                    spoolDirectory: DaemonConfig.defaultSpoolDirectory,
                                    spoolMaxBytes: Int(DaemonConfig.defaultSpoolMegabytes * 1_048_576))
        if let ca = map.optional("ca_file") {
            guard broker.tls else { throw note(ca).error("applies to mqtts:// brokers only") }
            settings.caFile = try path(note(ca))
        }
        if let id = map.optional("client_id") {
            let text = try note(id).nonEmptyString()
            guard text.utf8.count <= 256, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw id.error("expected at most 256 bytes without control characters")
            }
            settings.clientID = text
        }
        if let user = map.optional("username") { settings.username = try note(user).nonEmptyString() }
        if let file = map.optional("password_file") {
            guard settings.username != nil else { throw note(file).error("needs username (MQTT sends a password only with a user name)") }
            settings.passwordFile = try path(note(file))
        }
        if let prefix = map.optional("topic_prefix") {
            let text = try note(prefix).string()
            if let problem = MQTTSettings.topicPrefixProblem(text) { throw prefix.error(problem) }
            settings.topicPrefix = text
        }
        if let qos = map.optional("qos") { settings.qos = try note(qos).integer(in: 0...1) }
        if let keepalive = map.optional("keepalive") {
            let seconds = try note(keepalive).duration(positive: true)
            guard seconds >= 5, seconds <= 65535 else { throw keepalive.error("must be between 5 s and 65535 s") }
            settings.keepalive = Int(seconds.rounded())
        }
        if let dir = map.optional("spool_dir") { settings.spoolDirectory = try path(note(dir)) }
        if let size = map.optional("spool_max_mb") {
            settings.spoolMaxBytes = Int(try note(size).number(in: 0.01...1_048_576) * 1_048_576)
        }
        return settings
    }
}
