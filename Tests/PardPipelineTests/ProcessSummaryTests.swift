import Foundation
import PardPipeline
import PardTestSupport
import PardVideo
import PromptPAR
import Testing

/// `pard process`'s summary: the model's speed over full batches only (comparable with `pard bench`),
/// every crop classified once.
@Suite struct ProcessSummaryTests {
    @Test func fullBatchesAreTimedApartFromThePartialLastOne() throws {
        let model = try ModelSpec(source: .file(Fixtures.url("promptpar-tiny/checkpoint.pth").path), threads: 2).load()
        let clip = Fixtures.url("video/vtest_first100_h264.mp4").path
        // Frames 1-5 of the tracks: 21 boxes, so the last batch of 4 is not full.
        let all = try String(contentsOf: Fixtures.url("video/vtest_first100_tracks.txt"), encoding: .utf8)
        let lines = all.split(separator: "\n").filter { Int($0.split(separator: ",").first ?? "") ?? 0 <= 5 }
        let directory = try TemporaryDirectory()
        let detections = directory.path("f10.txt")
        try (lines.joined(separator: "\n") + "\n").write(toFile: detections, atomically: true, encoding: .utf8)

        let options = ProcessOptions(batch: 4, trackInterval: 0, streamName: "vtest")
        let job = ProcessJob(video: clip, detections: try Detections.load(path: detections), model: model, options: options,
                             sink: nil, progress: nil)
        let summary = try job.run()
        #expect(summary.cropsClassified == lines.count)
        #expect(summary.cropsClassified % 4 != 0, "the test wants a partial last batch: \(summary.cropsClassified) crops")
        #expect(summary.fullBatchCrops == 4)
        #expect(summary.fullBatchSeconds.count == summary.cropsClassified / 4)
        let times = summary.fullBatchSeconds
        #expect(times.allSatisfy { $0 > 0 })
        #expect(times.reduce(0, +) < summary.modelSeconds, "the partial batch is in the model's time, not in the median's")
    }
}
