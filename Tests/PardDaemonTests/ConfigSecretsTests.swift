import Foundation
import Logging
import PardDaemon
import PardTestSupport
import Testing

/// A camera password in the configuration, whatever shape the URL has, never reaches anything pard
/// prints about it: errors, warnings, the summary, key names, YAML errors, logs.
@Suite struct ConfigSecretsTests {
    /// The password of every case: `Pw9` and `s3cr3t` must never be printed.
    static let fragments = ["Pw9", "s3cr3t"]

    /// A stream entry's `url` line (or other lines), the line its problem is on (nil: the file is valid)
    /// and the key path.
    static let cases: [(name: String, lines: [String], line: Int?, keyPath: String, words: String)] = [
        ("one slash", ["url: rtsp:/admin:Pw9s3cr3t@10.0.0.5/x"], 5, "streams[0].url", "no file path"),
        ("no slash", ["url: rtsp:admin:Pw9s3cr3t@10.0.0.5/x"], 5, "streams[0].url", "no file path"),
        ("no scheme", ["url: admin:Pw9s3cr3t@10.0.0.5/x"], 5, "streams[0].url", "no file path"),
        ("percent-encoded colon", ["url: admin%3APw9s3cr3t@10.0.0.5/x"], 5, "streams[0].url", "no file path"),
        ("in a file path", ["url: /videos/admin:Pw9s3cr3t@cam.mp4"], 5, "streams[0].url", "no file path"),
        ("comment inside the password", ["url: rtsp://admin:Pw9 #s3cr3t@10.0.0.5/x"], 5, "streams[0].url", "quote the URL"),
        ("comment after digits", ["url: rtsp://admin:9 #Pw9s3cr3t@10.0.0.5/x"], 5, "streams[0].url", "quote the URL"),
        ("quoted, with a space", ["url: \"rtsp://admin:Pw9 #s3cr3t@10.0.0.5/x\""], 5, "streams[0].url", "white space"),
        ("slash in the password", ["url: rtsp://admin:Pw9/s3cr3t@10.0.0.5/x"], 5, "streams[0].url", "after its host"),
        ("port out of range", ["url: rtsp://admin:Pw9s3cr3t@10.0.0.5:99999/x"], 5, "streams[0].url", "out of range"),
        ("password where the port goes", ["url: rtsp://admin:Pw9s3cr3t%4010.0.0.5/x"], 5, "streams[0].url", "port is not a number"),
        ("no host", ["url: rtsp://admin:Pw9s3cr3t@/x"], 5, "streams[0].url", "no host"),
        ("as a key", ["url: rtsp://10.0.0.5/x", "rtsp://admin:Pw9s3cr3t@10.0.0.5/x: 1"], 6, "streams[0].rtsp://***@10.0.0.5/x", "unknown key"),
        ("as a repeated key", ["url: rtsp://10.0.0.5/x", "rtsp://admin:Pw9s3cr3t@h/x: 1", "rtsp://admin:Pw9s3cr3t@h/x: 2"], 7, "", "appears twice"),
        ("in detections", ["url: rtsp://10.0.0.5/x", "detections: /data/admin:Pw9s3cr3t@det.txt"], 6, "streams[0].detections", "user and password"),
        ("valid, percent-encoded", ["url: rtsp://admin:Pw9%40s3cr3t@10.0.0.5/x"], nil, "", ""),
        ("valid, @ in the password", ["url: rtsp://admin:Pw9@s3cr3t@10.0.0.5:554/x"], nil, "", ""),
    ]

    /// The YAML with the stream's lines in place of the minimal one's url (and detections, if given).
    static func yaml(_ lines: [String]) -> String {
        var stream = ["  - name: cam1"] + lines.map { "    " + $0 }
        if !lines.contains(where: { $0.hasPrefix("detections:") }) { stream.append("    detections: tcp:127.0.0.1:9101") }
        return (["model:", "  checkpoint: /models/m.pth", "streams:"] + stream).joined(separator: "\n") + "\n"
    }

    @Test(arguments: cases.indices) func passwordNeverPrinted(index: Int) throws {
        let item = Self.cases[index]
        let tmp = try TemporaryDirectory("secrets")
        let file = tmp.path("pard.yaml")
        try Self.yaml(item.lines).write(toFile: file, atomically: true, encoding: .utf8)
        var printed: [String] = []
        do {
            let config = try DaemonConfig.load(path: file)
            #expect(item.line == nil, "\(item.name): expected an error")
            printed = [config.description, config.summary] + (config.missingFiles() + config.unusablePaths()).map(\.description)
            #expect(config.description.contains("rtsp://***@10.0.0.5"), "\(item.name): \(config.description)")
        } catch {
            printed = [error.description, error.message, error.keyPath]
            #expect(error.line == item.line, "\(item.name): \(error)")
            #expect(error.keyPath == item.keyPath, "\(item.name): \(error)")
            #expect(error.message.contains(item.words), "\(item.name): \(error)")
            #expect(error.description.hasPrefix("\(file):\(item.line ?? 0): "), "\(item.name): \(error)")
        }
        for text in printed {
            for fragment in Self.fragments { #expect(!text.contains(fragment), "\(item.name): \(text)") }
        }
    }

    @Test func yamlErrorsAreRedacted() throws {
        for yaml in ["model: {checkpoint: /m.pth}\nstreams:\n  - {url: rtsp://admin:Pw9s3cr3t@h/x\n",
                     "model: {checkpoint: /m.pth}\nstreams: [rtsp://admin:Pw9s3cr3t@h/x: [\n",
                     "model: {checkpoint: \"rtsp://admin:Pw9s3cr3t@h/x\\q\"}\n"] {
            let error = try #require(configError(yaml))
            #expect(error.line != nil, "\(error)")
            for fragment in Self.fragments { #expect(!error.description.contains(fragment), "\(error)") }
        }
    }

    @Test func freeTextRedaction() {
        let cases: [(text: String, expected: String)] = [
            ("open rtsp:/admin:Pw9@cam/x failed", "open rtsp:/***@cam/x failed"),
            ("bad url 'admin:Pw9@cam/x' (line 3)", "bad url '***@cam/x' (line 3)"),
            ("url: rtsp://admin:Pw9 #s3cr3t@cam/x here", "url: rtsp://***@cam/x here"),
            ("cut rtsp://admin:Pw9s3cr3t, next", "cut rtsp://admin:*** next"),
            ("user%3APw9@cam", "***@cam"),
            ("streams[0].rtsp://admin:Pw9@h/x: unknown key", "streams[0].rtsp://***@h/x: unknown key"),
        ]
        for item in cases {
            #expect(URLRedaction.redactCredentials(in: item.text) == item.expected)
        }
        let unchanged = ["pard.yaml:7: streams[0].detections: expected \"unix:PATH\", \"tcp:127.0.0.1:PORT\" or a file path",
                         "detections unix:/run/pard/cam1.sock; metrics 127.0.0.1:9464 http://[::1]:9464/metrics",
                         "/videos/a@b.mp4 mail bob@example.com at 12:30:00", "rtsp://10.0.0.5:554/live"]
        for text in unchanged { #expect(URLRedaction.redactCredentials(in: text) == text) }
    }

    @Test func logsAreRedacted() {
        let captured = CapturedLog()
        var logger = Logger(label: "test") { _ in RedactingLogHandler(CapturingLogHandler(captured: captured)) }
        logger[metadataKey: "source"] = "rtsp:/admin:Pw9s3cr3t@cam/x"
        logger.error("cannot open admin:Pw9s3cr3t@cam/x", metadata: ["url": "rtsp://admin:Pw9 #s3cr3t@cam/x", "n": "\(3)"])
        let lines = captured.lines
        #expect(lines.count == 1)
        for line in lines {
            for fragment in Self.fragments { #expect(!line.contains(fragment), "\(line)") }
            #expect(line.contains("cannot open ***@cam/x"), "\(line)")
        }
    }
}

/// What `CapturingLogHandler` was given, one line per message with its metadata.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}

/// A log handler that keeps what it is given.
struct CapturingLogHandler: LogHandler {
    let captured: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        captured.append("\(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}
