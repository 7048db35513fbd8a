import Foundation
import PardDaemon
import PardTestSupport
import Testing

/// `configs/pard.yaml`, the example shipped and installed, parses into what it says.
@Suite struct ExampleConfigTests {
    let path = Fixtures.repositoryRoot.appendingPathComponent("configs/pard.yaml").path

    @Test func exampleParses() throws {
        let config = try DaemonConfig.load(path: path)
        #expect(config.model.checkpoint == "/var/lib/pard/promptpar_pa100k.pth")
        #expect(config.model.attributes == "PA100k")
        #expect(config.model.batchWait == 0.2)
        #expect(config.streams.map(\.name) == ["entrance", "lobby-replay"])

        let camera = config.streams[0]
        #expect(camera.isRTSP)
        #expect(camera.url.contains("viewer:s3cret@"))
        #expect(camera.redactedURL == "rtsp://***@192.168.1.64:554/Streaming/Channels/101")
        #expect(camera.detections == .unix(path: "/run/pard/entrance.sock"))

        let replay = config.streams[1]
        #expect(!replay.isRTSP)
        #expect(replay.realtime && replay.loop && replay.isLive)
        #expect(replay.detections == .tcp(ListenAddress(host: "127.0.0.1", port: 9101)))
        #expect(replay.trackInterval == 2)
    }

    @Test func exampleNeverShowsTheCameraPassword() throws {
        let config = try DaemonConfig.load(path: path)
        var dumped = ""
        dump(config, to: &dumped)
        for text in [config.description, "\(config.streams)", String(reflecting: config), dumped] {
            #expect(!text.contains("s3cret"), "\(text)")
            #expect(!text.contains("viewer"), "\(text)")
        }
        #expect(config.description.contains("rtsp://***@192.168.1.64:554/Streaming/Channels/101"))
    }

    @Test func locationsPointIntoTheFile() throws {
        let config = try DaemonConfig.load(path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = try #require(config.locations.lines["streams[1].detections"])
        #expect(lines[line - 1].contains("detections: tcp:127.0.0.1:9101"))
        let error = config.error(at: "streams[1].detections", "address already in use")
        #expect(error.description == "\(path):\(line): streams[1].detections: address already in use")
    }
}
