import Foundation
import Logging
@testable import PardDaemon
import PardPipeline
import PardTestSupport
import PardVideo
import PromptPAR
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// The service's shutdown path, in process: crops queued when the graceful shutdown comes are finished
/// within the timeout or shed and counted, every open track is summarised, and the event file is flushed.
@Suite(.serialized) struct GracefulShutdownTests {
    /// The inference side of `pard run` on the demo model, with 16 crops of 4 tracks queued.
    final class Rig {
        let tmp: TemporaryDirectory
        let events: String
        let metrics = DaemonMetrics()
        let output: EventOutput
        let pool: CropPool
        let observer: DaemonObserver
        let inference: InferenceService
        let logger = Logger(label: "test")

        init(shutdownTimeout: Double) throws {
            tmp = try TemporaryDirectory("pard-shutdown")
            events = tmp.path("events.jsonl")
            let model = try ModelSpec(source: .file(Fixtures.url("promptpar-tiny/checkpoint.pth").path), threads: 1).load()
            output = try EventOutput(path: events, metrics: metrics, logger: logger)
            pool = CropPool(capacity: 32, floatsPerCrop: model.model.imageFloats, whenFull: .shed(.oldestTrackedFirst))
            observer = DaemonObserver(metrics: metrics, streams: [metrics.stream("cam")], drops: [DropLog(stream: "cam", logger: logger)])
            let results = ResultStage(streams: [.init(name: "cam", trackTimeout: 30)], attributes: model.attributes, threshold: 0.5,
                                      sink: output, observer: observer)
            let stage = InferenceStage(model: model, pool: pool, results: results, maxBatch: 4, observer: observer)
            inference = InferenceService(stage: stage, output: output, batchWait: 0.05, shutdownTimeout: shutdownTimeout,
                                        metrics: metrics, logger: logger)

            // Frames 1...4 of the clip, each with a box of tracks 1...4: 16 crops, none classified yet.
            let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
            var admission = BoxAdmission(imageSize: model.model.config.imageSize, resize: .letterbox, trackInterval: 0, trackTimeout: 30)
            for _ in 1...4 {
                let picture = try #require(try decoder.nextFrame())
                let position = FramePosition(stream: 0, frame: picture.number, pts: picture.pts)
                var items = try (1...4).map { id in
                    try admission.admit(Box(x: Double(100 * id), y: 100, w: 40, h: 90, id: id), in: picture, at: position, pool: pool)
                }
                items.append(.frameDone(stream: 0, frame: position.frame, pts: position.pts))
                pool.push(items)
            }
        }

        func eventLines() throws -> [[String: Any]] {
            let text = try String(contentsOfFile: events, encoding: .utf8)
            #expect(text.hasSuffix("\n"), "the event file ends in a whole line")
            return try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        }

        /// Every crop is classified or shed; every track has its summary with its 4 boxes.
        func expectEveryCropAndTrackAccountedFor() throws {
            let lines = try eventLines()
            let attributes = lines.filter { $0["type"] as? String == "attributes" }
            let tracks = lines.filter { $0["type"] as? String == "track" }
            #expect(pool.accepted == 16)
            #expect(attributes.count == observer.classified)
            #expect(observer.classified + (observer.shed[.shutdown] ?? 0) == 16)
            #expect(tracks.compactMap { $0["id"] as? Int }.sorted() == [1, 2, 3, 4])
            #expect(tracks.allSatisfy { $0["boxes"] as? Int == 4 })
            let text = metrics.text()
            #expect(RunMetric.value(text, "pard_crops_shed_total", "shutdown") == Double(observer.shed[.shutdown] ?? 0))
            #expect(RunMetric.value(text, "pard_crops_classified_total", "cam") == Double(observer.classified))
        }
    }

    @Test func aGroupShutdownFinishesTheQueueAndSummarisesEveryTrack() async throws {
        let rig = try Rig(shutdownTimeout: 30)
        let group = ServiceGroup(configuration: .init(services: [EventOutputService(output: rig.output, file: rig.events),
                                                                 rig.inference], logger: rig.logger))
        let running = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await running.value
        try rig.expectEveryCropAndTrackAccountedFor()
        #expect(rig.observer.classified == 16 && rig.observer.shed.isEmpty)
    }

    @Test func cropsLeftAtTheTimeoutAreShedAndCounted() async throws {
        let rig = try Rig(shutdownTimeout: 0)
        // Shutdown already asked for when the service starts: its loop never turns, and with no time
        // left every queued crop is shed.
        try await testGracefulShutdown { trigger in
            trigger.triggerGracefulShutdown()
            try await rig.inference.run()
        }
        rig.output.close()
        try rig.expectEveryCropAndTrackAccountedFor()
        #expect(rig.observer.shed[.shutdown] == 16 && rig.observer.classified == 0)
    }
}

/// Reading a Prometheus text exposition.
enum RunMetric {
    /// Sum of the samples of `name` whose labels contain `labels`.
    static func value(_ text: String, _ name: String, _ labels: String = "") -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(name) && (labels.isEmpty || $0.contains(labels)) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}
