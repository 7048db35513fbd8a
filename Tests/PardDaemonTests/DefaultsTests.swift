import Foundation
import PardDaemon
import Testing

/// Every key left out takes the default its field documents.
@Suite struct DefaultsTests {
    @Test func minimalConfigTakesEveryDefault() throws {
        let config = try DaemonConfig(yaml: minimalYAML())
        #expect(config.model.checkpoint == "/models/m.pth")
        #expect(config.model.attributes == nil)
        #expect(config.model.vocabulary == nil)
        #expect(config.model.threads == ProcessInfo.processInfo.activeProcessorCount)
        #expect(config.model.batchSize == 4)
        #expect(config.model.batchWait == 0.2)
        #expect(config.model.precision == .fp32)
        #expect(config.model.threshold == 0.5)
        #expect(config.output.events == .file(path: "/var/log/pard/events.jsonl"))
        #expect(config.metrics.listen == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(config.queue.maxCrops == 64)
        #expect(config.queue.shedPolicy == .oldestTrackedFirst)
        #expect(config.shutdownTimeout == 10)

        let stream = try #require(config.streams.first)
        #expect(stream.name == "cam1")
        #expect(stream.transport == .tcp)
        #expect(stream.timeout == 5)
        #expect(stream.realtime == false)
        #expect(stream.loop == false)
        #expect(stream.frameBuffer == 4)
        #expect(stream.trackInterval == 1)
        #expect(stream.trackTimeout == 2)
        #expect(stream.reconnect.initial == 1)
        #expect(stream.reconnect.max == 30)
        #expect(stream.reconnect.jitter == 0.2)
    }

    @Test func precisionAndFP32LayersAreRead() throws {
        func config(_ model: String) throws -> DaemonConfig {
            try DaemonConfig(yaml: minimalYAML().replacingOccurrences(of: "  checkpoint: /models/m.pth", with: model))
        }
        let list = try config("  checkpoint: /m.pth\n  precision: int8\n  fp32_layers: [c_proj, first, 23.qkv]")
        #expect(list.model.precision == .int8)
        #expect(list.model.fp32Layers.description == "c_proj,first,23.qkv")
        #expect(list.summary.contains("int8 (fp32 layers c_proj,first,23.qkv)"))
        let text = try config("  checkpoint: /m.pth\n  precision: auto\n  fp32_layers: \"fc2, last\"")
        #expect(text.model.precision == .auto)
        #expect(text.model.fp32Layers.description == "c_proj,last")
        #expect(try DaemonConfig(yaml: minimalYAML()).model.fp32Layers.items.isEmpty)
    }

    @Test func defaultsMatchTheCodeDefaults() throws {
        var expected = DaemonConfig(model: .init(checkpoint: "/models/m.pth"),
                                    streams: [.init(name: "cam1", url: "rtsp://10.0.0.5/live",
                                                    detections: .unix(path: "/run/pard/cam1.sock"))])
        var parsed = try DaemonConfig(yaml: minimalYAML())
        parsed.locations = ConfigLocations()
        expected.locations = ConfigLocations()
        #expect(parsed == expected)
    }

    @Test func nullMeansDefault() throws {
        let config = try DaemonConfig(yaml: minimalYAML(stream: ["timeout: ~", "reconnect:"], top: ["queue:", "metrics: null"]))
        #expect(config.streams[0].timeout == 5)
        #expect(config.streams[0].reconnect == DaemonConfig.Reconnect())
        #expect(config.queue == DaemonConfig.Queue())
        #expect(config.metrics == DaemonConfig.Metrics())
    }

    @Test func durationsWithUnits() throws {
        let config = try DaemonConfig(yaml: minimalYAML(
            stream: ["timeout: 500ms", "frame_buffer: \"2s\"", "track_interval: 0", "track_timeout: 1m",
                     "reconnect: {initial: 250ms, max: 1h}"],
            top: ["shutdown_timeout: 2.5"]))
        let stream = config.streams[0]
        #expect(stream.timeout == 0.5)
        #expect(stream.frameBuffer == 2)
        #expect(stream.trackInterval == 0)
        #expect(stream.trackTimeout == 60)
        #expect(stream.reconnect.initial == 0.25)
        #expect(stream.reconnect.max == 3600)
        #expect(config.shutdownTimeout == 2.5)
    }

    @Test func otherValues() throws {
        let config = try DaemonConfig(yaml: minimalYAML(
            stream: ["transport: udp"],
            top: ["output: {events: \"-\"}", "metrics: {listen: off}", "queue: {max_crops: 8, shed_policy: oldest_first}"]))
        #expect(config.streams[0].transport == .udp)
        #expect(config.output.events == .standardOutput)
        #expect(config.metrics.listen == nil)
        #expect(config.queue.maxCrops == 8)
        #expect(config.queue.shedPolicy == .oldestFirst)
    }

    @Test func relativePathsFollowTheConfigFile() throws {
        let yaml = """
        model: {checkpoint: models/m.pth, attributes: sets/mine.json, vocabulary: ../share/vocab.txt}
        output: {events: events.jsonl}
        streams:
          - {name: a, url: videos/a.mp4, detections: unix:a.sock}
          - {name: b, url: ./b.mp4, detections: fifo/b}
        """
        let config = try DaemonConfig(yaml: yaml, baseDirectory: "/etc/pard")
        #expect(config.model.checkpoint == "/etc/pard/models/m.pth")
        #expect(config.model.attributes == "/etc/pard/sets/mine.json")
        #expect(config.model.vocabulary == "/etc/pard/../share/vocab.txt")
        #expect(config.output.events == .file(path: "/etc/pard/events.jsonl"))
        #expect(config.streams[0].url == "/etc/pard/videos/a.mp4")
        #expect(config.streams[0].detections == .unix(path: "/etc/pard/a.sock"))
        #expect(config.streams[1].url == "/etc/pard/b.mp4")
        #expect(config.streams[1].detections == .file(path: "/etc/pard/fifo/b"))
    }

    @Test func mergeKeysShareStreamSettings() throws {
        let yaml = """
        model: {checkpoint: /m.pth}
        streams:
          - &camera {name: a, url: rtsp://h/a, detections: unix:/run/a.sock, transport: udp, timeout: 3}
          - <<: *camera
            name: b
            url: rtsp://h/b
            detections: unix:/run/b.sock
        """
        let config = try DaemonConfig(yaml: yaml)
        #expect(config.streams[1].name == "b")
        #expect(config.streams[1].transport == .udp)
        #expect(config.streams[1].timeout == 3)
    }

    @Test func reconnectDelaysDoubleUpToMax() {
        let reconnect = DaemonConfig.Reconnect()
        #expect((0..<7).map { reconnect.baseDelay(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30])
        #expect(reconnect.baseDelay(attempt: 10_000) == 30)
    }
}
