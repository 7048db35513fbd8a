import Foundation
import PardDaemon
import PardMQTT
import PardTestSupport
import Testing

/// `output.mqtt`: the example in `configs/pard.yaml`, defaults, and errors naming line and key path
/// without ever quoting a password.
@Suite struct ConfigMQTTTests {
    static func mqttYAML(_ lines: [String]) -> String {
        minimalYAML(top: ["output:", "  mqtt:"] + lines.map { "    " + $0 })
    }

    @Test func theCommentedExampleParsesIntoItsDocumentedDefaults() throws {
        let path = Fixtures.repositoryRoot.appendingPathComponent("configs/pard.yaml").path
        var inBlock = false
        let text = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line == "  # mqtt:" { inBlock = true; return "  mqtt:" }
            guard inBlock, line.hasPrefix("  #   ") else { inBlock = false; return String(line) }
            return "    " + line.dropFirst(6)
        }.joined(separator: "\n")
        #expect(text.contains("\n  mqtt:\n    # Required."))
        let mqtt = try #require(try DaemonConfig(yaml: text, file: "pard.yaml").output.mqtt)
        #expect(mqtt.broker == "mqtt://127.0.0.1:1883" && !mqtt.tls)
        #expect(mqtt.topicPrefix == "pard" && mqtt.qos == 1 && mqtt.keepalive == 30)
        #expect(mqtt.spoolDirectory == DaemonConfig.defaultSpoolDirectory && mqtt.spoolMaxBytes == 100 << 20)
        #expect(mqtt.username == nil && mqtt.passwordFile == nil && mqtt.caFile == nil)
        #expect(mqtt.clientID.hasPrefix("pard-"))
    }

    @Test func everyKey() throws {
        let config = try DaemonConfig(yaml: Self.mqttYAML([
            "url: mqtts://[::1]:8884", "ca_file: ca.pem", "client_id: pard-lobby", "username: pard", "password_file: secret.txt",
            "topic_prefix: site/pard", "qos: 0", "keepalive: 1m", "spool_dir: spool", "spool_max_mb: 0.5",
        ]), file: "pard.yaml", baseDirectory: "/etc/pard")
        let mqtt = try #require(config.output.mqtt)
        #expect(mqtt.broker == "mqtts://[::1]:8884" && mqtt.host == "::1" && mqtt.tls)
        #expect(mqtt.caFile == "/etc/pard/ca.pem" && mqtt.passwordFile == "/etc/pard/secret.txt" && mqtt.spoolDirectory == "/etc/pard/spool")
        #expect(mqtt.clientID == "pard-lobby" && mqtt.username == "pard" && mqtt.topicPrefix == "site/pard")
        #expect(mqtt.qos == 0 && mqtt.keepalive == 60 && mqtt.spoolMaxBytes == 524_288)
        #expect(config.missingFiles().map(\.keyPath).contains("output.mqtt.password_file"))
        #expect(config.summary.contains("; mqtt mqtts://[::1]:8884 (pard-lobby, spool /etc/pard/spool);"), "\(config.summary)")
    }

    @Test func errorsNameTheLineAndKeyAndNeverThePassword() throws {
        let cases: [([String], String, String)] = [
            (["url: mqtt://pard:hunter2@broker:1883"], "output.mqtt.url", "username and password_file"),
            (["url: http://broker"], "output.mqtt.url", "expected a URL such as mqtt://broker.lan:1883"),
            (["url: mqtt://broker:0"], "output.mqtt.url", "between 1 and 65535"),
            (["url: mqtt://broker", "qos: 2"], "output.mqtt.qos", "between 0 and 1"),
            (["url: mqtt://broker", "topic_prefx: x"], "output.mqtt.topic_prefx", "did you mean \"topic_prefix\""),
            (["url: mqtt://broker", "password_file: p"], "output.mqtt.password_file", "needs username"),
            (["url: mqtt://broker", "ca_file: ca.pem"], "output.mqtt.ca_file", "mqtts://"),
            (["url: mqtt://broker", "topic_prefix: pard/#"], "output.mqtt.topic_prefix", "wildcards"),
            (["url: mqtt://broker", "spool_max_mb: 0"], "output.mqtt.spool_max_mb", "within"),
            (["url: mqtt://broker", "keepalive: 1"], "output.mqtt.keepalive", "between 5 s"),
            (["qos: 1"], "output.mqtt.url", "missing"),
        ]
        for (lines, keyPath, message) in cases {
            let error = try #require(configError(Self.mqttYAML(lines)))
            #expect(error.keyPath == keyPath, "\(error)")
            #expect(error.message.contains(message), "\(error)")
            #expect(error.line != nil, "\(error)")
            #expect(!error.description.contains("hunter2"), "\(error)")
        }
    }
}
