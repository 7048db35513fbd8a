import PardDaemon
import Testing

/// Every problem is reported as `file:line: key.path: message`.
@Suite struct ConfigErrorTests {
    @Test func typoInAStreamKey() throws {
        let error = try #require(configError(minimalYAML(stream: ["track_intervall: 2"])))
        #expect(error.line == 7)
        #expect(error.keyPath == "streams[0].track_intervall")
        #expect(error.description.hasPrefix("pard.yaml:7: streams[0].track_intervall: unknown key (did you mean \"track_interval\"?)"))
    }

    @Test func typoAtTheTopAndInSections() throws {
        let top = try #require(configError(minimalYAML(top: ["shutdown_timout: 5"])))
        #expect(top.line == 7 && top.keyPath == "shutdown_timout")
        #expect(top.message.contains("did you mean \"shutdown_timeout\""))

        let section = try #require(configError("model:\n  checkpoint: /m.pth\n  batch-size: 8\n"))
        #expect(section.line == 3 && section.keyPath == "model.batch-size")
        #expect(section.message.contains("did you mean \"batch_size\""))
    }

    @Test func wrongTypes() throws {
        let cases: [(yaml: String, line: Int, path: String, words: String)] = [
            (minimalYAML(top: ["queue: {max_crops: many}"]),
             7, "queue.max_crops", "expected a whole number, got \"many\""),
            (minimalYAML(stream: ["realtime: yes"]), 7, "streams[0].realtime", "expected true or false, got \"yes\""),
            (minimalYAML(stream: ["timeout: soon"]), 7, "streams[0].timeout", "expected a duration"),
            (minimalYAML(stream: ["reconnect: 5"]), 7, "streams[0].reconnect", "expected a mapping"),
            (minimalYAML(top: ["streams2: 1"]), 7, "streams2", "unknown key"),
            (minimalYAML(top: ["queue: {max_crops: \"8\"}"]), 7, "queue.max_crops", "expected a whole number, got \"8\""),
            (minimalYAML(top: ["queue: {shed_policy: newest_first}"]), 7, "queue.shed_policy", "expected \"oldest_tracked_first\" or \"oldest_first\""),
            (minimalYAML(top: ["output: [a, b]"]), 7, "output", "expected a mapping"),
            (minimalYAML(top: ["metrics: {listen: 9464}"]), 7, "metrics.listen", "expected HOST:PORT"),
            (minimalYAML(top: ["metrics: {listen: \"127.0.0.1:99999\"}"]), 7, "metrics.listen", "is not a port"),
            (minimalYAML(stream: ["transport: quic"]), 7, "streams[0].transport", "expected \"tcp\" or \"udp\""),
            (minimalYAML(stream: ["reconnect: {jitter: 1.5}"]), 7, "streams[0].reconnect.jitter", "must be within 0...1"),
        ]
        for item in cases {
            let error = try #require(configError(item.yaml))
            #expect(error.line == item.line, "\(error)")
            #expect(error.keyPath == item.path, "\(error)")
            #expect(error.message.contains(item.words), "\(error)")
        }
    }

    @Test func modelValues() throws {
        let fp16 = try #require(configError("model: {checkpoint: /m.pth, precision: fp16}\nstreams: []\n"))
        #expect(fp16.keyPath == "model.precision" && fp16.line == 1)
        #expect(fp16.message.contains("expected one of \"fp32\", \"bf16\", \"int8\", \"auto\""), "\(fp16)")
        let layers = try #require(configError("model:\n  checkpoint: /m.pth\n  fp32_layers: [c_proj, fc3]\n"))
        #expect(layers.keyPath == "model.fp32_layers" && layers.line == 3, "\(layers)")
        #expect(layers.message.contains("\"fc3\""), "\(layers)")
        let batch = try #require(configError("model:\n  checkpoint: /m.pth\n  batch_size: 0\n"))
        #expect(batch.description == "pard.yaml:3: model.batch_size: must be between 1 and 256, got 0")
        let threshold = try #require(configError("model:\n  checkpoint: /m.pth\n  threshold: 2\n"))
        #expect(threshold.keyPath == "model.threshold" && threshold.line == 3)
        let missing = try #require(configError("model:\n  threads: 2\nstreams: []\n"))
        #expect(missing.keyPath == "model.checkpoint" && missing.line == 2)
        #expect(missing.message.hasPrefix("missing"))
    }

    @Test func negativeDurations() throws {
        for (key, path) in [("timeout: -1", "streams[0].timeout"), ("track_interval: -0.5", "streams[0].track_interval"),
                            ("frame_buffer: \"-2s\"", "streams[0].frame_buffer"), ("reconnect: {initial: -1}", "streams[0].reconnect.initial")] {
            let error = try #require(configError(minimalYAML(stream: [key])))
            #expect(error.keyPath == path, "\(error)")
            #expect(error.line == 7, "\(error)")
            #expect(error.message.contains("must not be negative"), "\(error)")
        }
        let shutdown = try #require(configError(minimalYAML(top: ["shutdown_timeout: -3"])))
        #expect(shutdown.description == "pard.yaml:7: shutdown_timeout: must not be negative, got -3")
        let zero = try #require(configError(minimalYAML(stream: ["track_timeout: 0"])))
        #expect(zero.message == "must be more than 0 seconds")
        let order = try #require(configError(minimalYAML(stream: ["reconnect:", "  initial: 10", "  max: 5"])))
        #expect(order.keyPath == "streams[0].reconnect.max" && order.line == 9)
    }

    @Test func badDetectionSources() throws {
        let expected = "expected \"unix:PATH\", \"tcp:127.0.0.1:PORT\" or a file path"
        let cases: [(spec: String, words: String)] = [
            ("tcp:0.0.0.0:9101", "only loopback addresses"),
            ("tcp:192.168.1.10:9101", "only loopback addresses"),
            ("tcp:[::]:9101", "only loopback addresses"),
            ("tcp:camera.local:9101", expected),
            ("tcp:9101", expected),
            ("tcp:127.0.0.1:0", "is not a port"),
            ("udp:127.0.0.1:9101", expected),
            ("unix:", expected),
            ("unix:/" + String(repeating: "x", count: 120), "Unix socket paths hold at most 107"),
        ]
        for item in cases {
            let yaml = minimalYAML().replacingOccurrences(of: "unix:/run/pard/cam1.sock", with: "\"\(item.spec)\"")
            let error = try #require(configError(yaml))
            #expect(error.line == 6, "\(error)")
            #expect(error.keyPath == "streams[0].detections", "\(error)")
            #expect(error.message.contains(item.words), "\(error)")
        }
        for good in ["tcp:127.0.0.1:9101", "tcp:localhost:9101", "tcp:[::1]:9101", "unix:/run/pard/x.sock", "/var/run/det.fifo"] {
            let yaml = minimalYAML().replacingOccurrences(of: "unix:/run/pard/cam1.sock", with: "\"\(good)\"")
            #expect(throws: Never.self) { try DaemonConfig(yaml: yaml) }
        }
    }

    @Test func streamsTheSameOrMissing() throws {
        let twoStreams = """
        model: {checkpoint: /m.pth}
        streams:
          - name: cam1
            url: rtsp://h/1
            detections: unix:/run/pard/1.sock
          - name: cam1
            url: rtsp://h/2
            detections: tcp:127.0.0.1:9101
        """
        let duplicate = try #require(configError(twoStreams))
        #expect(duplicate.description == "pard.yaml:6: streams[1].name: \"cam1\" is already the name of streams[0]; names must be unique")

        let sharedSocket = twoStreams.replacingOccurrences(of: "name: cam1\n    url: rtsp://h/2", with: "name: cam2\n    url: rtsp://h/2")
            .replacingOccurrences(of: "tcp:127.0.0.1:9101", with: "unix:/run/pard/1.sock")
        let shared = try #require(configError(sharedSocket))
        #expect(shared.keyPath == "streams[1].detections" && shared.line == 8)

        let empty = try #require(configError("model: {checkpoint: /m.pth}\nstreams: []\n"))
        #expect(empty.description == "pard.yaml:2: streams: expected at least one stream")
        let none = try #require(configError("model: {checkpoint: /m.pth}\n"))
        #expect(none.keyPath == "streams" && none.message.hasPrefix("missing"))
        let badName = try #require(configError(minimalYAML().replacingOccurrences(of: "name: cam1", with: "name: front door")))
        #expect(badName.keyPath == "streams[0].name" && badName.line == 4)
        let fileOptions = try #require(configError(minimalYAML(stream: ["loop: true"])))
        #expect(fileOptions.keyPath == "streams[0].loop" && fileOptions.message.contains("file streams only"))
    }

    @Test func yamlSyntaxAndDuplicateKeys() throws {
        let syntax = try #require(configError("model:\n  checkpoint: /m.pth\n streams: [\n"))
        #expect(syntax.line != nil)
        #expect(syntax.message.hasPrefix("invalid YAML"))
        let duplicate = try #require(configError(minimalYAML(stream: ["timeout: 1", "timeout: 2"])))
        #expect(duplicate.line == 8)
        #expect(duplicate.message.contains("\"timeout\" appears twice"))
        let tab = try #require(configError("model:\n\tcheckpoint: /m.pth\n"))
        #expect(tab.line == 2 && tab.message.contains("not tabs"))
        let empty = try #require(configError(""))
        #expect(empty.message.contains("empty"))
        let list = try #require(configError("- a\n- b\n"))
        #expect(list.line == 1 && list.message.contains("expected a mapping"))
    }

    @Test func missingFileIsAnError() {
        #expect(throws: ConfigError(file: "/nonexistent/pard.yaml", line: nil, keyPath: "", message: "no such file")) {
            try DaemonConfig.load(path: "/nonexistent/pard.yaml")
        }
    }
}
