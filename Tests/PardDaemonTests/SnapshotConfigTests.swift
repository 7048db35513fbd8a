import Foundation
import Logging
@testable import PardDaemon
import PardPipeline
import PardTestSupport
import PardVideo
import PromptPAR
import Testing

/// `output.snapshots` of `pard run`: directory and size cap, with errors at their line and key path.
@Suite struct SnapshotConfigTests {
    @Test func snapshotsAreOffByDefaultAndReadWithTheirCap() throws {
        #expect(try DaemonConfig(yaml: minimalYAML()).output.snapshots == nil)
        let config = try DaemonConfig(yaml: minimalYAML(top: ["output:", "  snapshots:", "    directory: shots", "    max_size: 500MB"]),
                                      baseDirectory: "/etc/pard")
        #expect(config.output.snapshots?.directory == "/etc/pard/shots")
        #expect(config.output.snapshots?.maxBytes == 500_000_000)
        let defaults = try DaemonConfig(yaml: minimalYAML(top: ["output:", "  snapshots:", "    directory: /var/lib/pard/snapshots"]))
        #expect(defaults.output.snapshots?.maxBytes == 1 << 30)
        for (text, bytes) in [("2GiB", 2 << 30), ("1.5 GB", 1_500_000_000), ("1048576", 1 << 20), ("64 MiB", 64 << 20)] {
            let c = try DaemonConfig(yaml: minimalYAML(top: ["output:", "  snapshots:", "    directory: /s", "    max_size: \(text)"]))
            #expect(c.output.snapshots?.maxBytes == bytes, "\(text)")
        }
    }

    @Test func badSnapshotSettingsNameTheirLineAndKey() {
        let tooSmall = configError(minimalYAML(top: ["output:", "  snapshots:", "    directory: /s", "    max_size: 10kB"]))
        #expect(tooSmall?.keyPath == "output.snapshots.max_size" && tooSmall?.line == 10, "\(String(describing: tooSmall))")
        let words = configError(minimalYAML(top: ["output:", "  snapshots:", "    directory: /s", "    max_size: lots"]))
        #expect(words?.message.contains("expected a size") == true, "\(String(describing: words))")
        let missing = configError(minimalYAML(top: ["output:", "  snapshots:", "    max_size: 1GB"]))
        #expect(missing?.keyPath == "output.snapshots.directory" && missing?.message.contains("missing") == true, "\(String(describing: missing))")
        let unknown = configError(minimalYAML(top: ["output:", "  snapshots:", "    directory: /s", "    quality: 90"]))
        #expect(unknown?.keyPath == "output.snapshots.quality", "\(String(describing: unknown))")
    }
}

/// `output.snapshots` at run time, in process: the result side of `pard run` wired as `DaemonRuntime`
/// wires it, two tracks over three frames of the clip, then the end of the tracks.
@Suite(.serialized) struct SnapshotRunTests {
    final class Lines: EventSink {
        var lines: [String] = []
        func emit(_ event: Event) { lines.append(event.line) }
        func flush() throws {}
    }

    final class Quiet: PipelineObserver {}

    /// The track events and the metrics text after the tracks ended.
    func run(directory: String) throws -> (tracks: [String], metrics: String) {
        let config = try DaemonConfig(yaml: minimalYAML(top: ["output:", "  snapshots:", "    directory: \(directory)", "    max_size: 1MB"]))
        let runtime = DaemonRuntime(config: config, logger: Logger(label: "test"))
        let model = try ModelSpec(source: .file(Fixtures.url("promptpar-tiny/checkpoint.pth").path), threads: 1).load()
        let pictures = try #require(runtime.makeSnapshots(model: model, streams: []))
        let sink = Lines()
        let results = ResultStage(streams: [.init(name: "cam1", trackTimeout: 30)], attributes: model.attributes, threshold: 0.5,
                                  sink: sink, observer: Quiet())
        results.pictures = pictures
        let pool = CropPool(capacity: 16, floatsPerCrop: model.model.imageFloats, whenFull: .shed(.oldestTrackedFirst))
        let stage = InferenceStage(model: model, pool: pool, results: results, maxBatch: 4)
        var admission = BoxAdmission(imageSize: model.model.config.imageSize, resize: .letterbox, trackInterval: 0, trackTimeout: 30)
        admission.keepPictures = true
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        for _ in 1...3 {
            let picture = try #require(try decoder.nextFrame())
            let position = FramePosition(stream: 0, frame: picture.number, pts: picture.pts)
            var items = try (1...2).map { id in
                try admission.admit(Box(x: Double(200 * id), y: 100, w: 40 + Double(picture.number), h: 90, id: id), in: picture,
                                    at: position, pool: pool)
            }
            items.append(.frameDone(stream: 0, frame: position.frame, pts: position.pts))
            pool.push(items)
        }
        while stage.step(wait: 0, idle: 0) > 0 {}
        results.closeAllTracks()
        pictures.writer.finish()
        var text: [UInt8] = []
        runtime.metrics.registry.emit(into: &text)
        return (sink.lines.filter { $0.contains("\"type\":\"track\"") }, String(decoding: text, as: UTF8.self))
    }

    @Test func snapshotsAreWrittenAndCounted() throws {
        let tmp = try TemporaryDirectory("snapshots-run")
        let (tracks, metrics) = try run(directory: tmp.path("s"))
        #expect(tracks.count == 2)
        for id in 1...2 {
            let path = tmp.path("s/cam1/\(id)-1.jpg")
            #expect(tracks.contains { $0.contains("\"snapshot\":\"\(path)\"") }, "\(tracks)")
            // The best observation is the widest box, on frame 3: 43 x 90 pixels, grown by 10 %.
            let jpeg = try ImageFile.load(path: path)
            #expect(jpeg.width == 43 + 2 * 4 && jpeg.height == 90 + 2 * 9)
        }
        #expect(metrics.contains("pard_snapshots_total{result=\"written\"} 2"), "\(metrics)")
    }

    @Test func aFolderThatCannotBeWrittenIsCountedAndNotFatal() throws {
        let tmp = try TemporaryDirectory("snapshots-run-bad")
        try Data("x".utf8).write(to: URL(fileURLWithPath: tmp.path("file")))
        let (tracks, metrics) = try run(directory: tmp.path("file/s"))
        #expect(tracks.count == 2, "the summaries are still made")
        #expect(metrics.contains("pard_snapshots_total{result=\"failed\"} 2"), "\(metrics)")
        #expect(metrics.contains("pard_snapshots_total{result=\"written\"} 0"), "\(metrics)")
    }
}
