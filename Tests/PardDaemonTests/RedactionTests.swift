import PardDaemon
import Testing

/// RTSP credentials never appear in what pard prints.
@Suite struct RedactionTests {
    @Test func userInformationIsRedacted() {
        #expect(URLRedaction.redact("rtsp://admin:pw@10.0.0.5:554/live") == "rtsp://***@10.0.0.5:554/live")
        #expect(URLRedaction.redact("rtsps://admin@cam/live") == "rtsps://***@cam/live")
        #expect(URLRedaction.redact("rtsp://a:p@ss/w@rd@cam/live") == "rtsp://***@cam/live")
        #expect(URLRedaction.redact("rtsp://cam/live?channel=1&password=x&Token=y#f") == "rtsp://cam/live?channel=1&password=***&Token=***#f")
        #expect(URLRedaction.redact("rtsp://cam/live") == "rtsp://cam/live")
        #expect(URLRedaction.redact("/videos/a@b.mp4") == "/videos/a@b.mp4")
    }

    @Test func streamsPrintRedacted() throws {
        let yaml = minimalYAML().replacingOccurrences(of: "rtsp://10.0.0.5/live", with: "rtsp://admin:hunter22@10.0.0.5/live")
        let config = try DaemonConfig(yaml: yaml)
        let stream = config.streams[0]
        #expect(stream.url == "rtsp://admin:hunter22@10.0.0.5/live")
        #expect(stream.redactedURL == "rtsp://***@10.0.0.5/live")
        var dumped = ""
        dump(stream, to: &dumped)
        for text in [stream.description, String(reflecting: stream), "\(config.streams)", config.description, dumped] {
            #expect(!text.contains("hunter22"), "\(text)")
            #expect(text.contains("rtsp://***@10.0.0.5/live"), "\(text)")
        }
        let message = "[rtsp @ 0x5] method DESCRIBE failed for rtsp://admin:hunter22@10.0.0.5/live: 401 (user admin, password hunter22)"
        #expect(stream.redact(message) == "[rtsp @ 0x5] method DESCRIBE failed for rtsp://***@10.0.0.5/live: 401 (user admin, password ***)")
    }

    @Test func errorsShowRedactedURLs() throws {
        let secret = "rtsp://admin:hunter22@"
        let cases = [
            minimalYAML().replacingOccurrences(of: "rtsp://10.0.0.5/live", with: "http://admin:hunter22@10.0.0.5/live"),
            minimalYAML().replacingOccurrences(of: "rtsp://10.0.0.5/live", with: "\"\(secret)10.0.0.5/my live\""),
            minimalYAML().replacingOccurrences(of: "rtsp://10.0.0.5/live", with: "\(secret)10.0.0.5/live")
                .replacingOccurrences(of: "unix:/run/pard/cam1.sock", with: "\(secret)detector/x"),
            minimalYAML(stream: ["timeout: \(secret)x"]),
            minimalYAML(stream: ["transport: \(secret)x"]),
            minimalYAML().replacingOccurrences(of: "rtsp://10.0.0.5/live", with: "\(secret)10.0.0.5/live") + "    loop: true\n",
        ]
        for yaml in cases {
            let error = try #require(configError(yaml))
            #expect(!error.description.contains("hunter22"), "\(error)")
            #expect(error.line != nil && !error.keyPath.isEmpty, "\(error)")
        }
    }
}
