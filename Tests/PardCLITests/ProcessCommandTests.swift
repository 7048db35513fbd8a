import Foundation
import PardTestSupport
import Testing

/// `pard process` on the real clip with the tiny model, as a user runs it.
@Suite struct ProcessCommandTests {
    static let clip = "Tests/Fixtures/video/vtest_first100_h264.mp4"
    static let model = ["--checkpoint", "Tests/Fixtures/promptpar-tiny/checkpoint.pth"]

    /// MOT rows of a fixture file: (frame, id, x, y, w, h).
    static func motRows(_ file: String) throws -> [(frame: Int, id: Int, box: [Double])] {
        try String(contentsOf: Fixtures.url("video/\(file)"), encoding: .utf8).split(separator: "\n").map { line in
            let f = line.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) ?? .nan }
            return (Int(f[0]), Int(f[1]), Array(f[2..<6]))
        }
    }

    func process(_ detections: String, _ extra: [String] = [], out: String) throws -> PardProcess {
        try PardProcess.run(["process", Self.clip, "--detections", detections, "--out", out] + Self.model + extra)
    }

    func events(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func everyDetectedBoxYieldsOneEventAndRunsAreByteIdentical() throws {
        let tmp = try TemporaryDirectory("pard-process")
        let a = tmp.path("a.jsonl"), b = tmp.path("b.jsonl")
        let run = try process("Tests/Fixtures/video/vtest_first100_det.txt", out: a)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("591 boxes read: 591 classified"), "\(run.stderr)")
        let rows = try Self.motRows("vtest_first100_det.txt")
        let lines = try events(a)
        #expect(lines.count == rows.count)
        for (row, event) in zip(rows, lines) {
            #expect(event["type"] as? String == "attributes" && event["schema"] as? Int == 1)
            #expect(event["frame"] as? Int == row.frame)
            let box = try #require(event["box"] as? [String: Double])
            #expect([box["x"], box["y"], box["w"], box["h"]].compactMap { $0 } == row.box)
            #expect(abs((event["pts"] as? Double ?? -1) - Double(row.frame - 1) * 0.1) < 1e-6)
            #expect((event["attributes"] as? [String: Double])?.count == 26)
            #expect(event["id"] == nil)
        }
        let again = try process("Tests/Fixtures/video/vtest_first100_det.txt", out: b)
        #expect(again.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
    }

    /// Frames with more boxes than the pool has slots (3 x the batch: `--batch 2` gives six; frames 83,
    /// 85 and 100 of the detections have 8, 8 and 9 boxes, and only their lines are given, to keep the
    /// run short) are classified whole: the reader hands a frame's crops to the model in parts instead of
    /// waiting for slots that its own unpushed crops hold (it hung before).
    @Test func framesWithMoreBoxesThanSlotsDoNotHang() throws {
        let tmp = try TemporaryDirectory("pard-crowded")
        let out = tmp.path("events.jsonl"), detections = tmp.path("crowded.txt")
        let lines = try String(contentsOf: Fixtures.url("video/vtest_first100_det.txt"), encoding: .utf8)
            .split(separator: "\n").filter { ["83", "85", "100"].contains($0.split(separator: ",").first.map(String.init) ?? "") }
        #expect(lines.count == 25)
        try (lines.joined(separator: "\n") + "\n").write(toFile: detections, atomically: true, encoding: .utf8)
        let run = try PardProcess.run(["process", Self.clip, "--detections", detections, "--out", out, "--batch", "2"] + Self.model,
                                      timeout: 600)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("25 boxes read: 25 classified"), "\(run.stderr)")
        #expect(try events(out).count == 25)
    }

    /// With tracks: a track is classified when first seen and then at most once per interval of video
    /// time, and yields one track event with that many observations.
    @Test(arguments: [1.0, 0.35, 0.0])
    func tracksFollowTheIntervalRule(interval: Double) throws {
        let tmp = try TemporaryDirectory("pard-tracks")
        let out = tmp.path("events.jsonl")
        let run = try process("Tests/Fixtures/video/vtest_first100_tracks.txt", ["--track-interval", "\(interval)"], out: out)
        #expect(run.status == 0, "\(run.stderr)")
        // Expected observations per track, from the file (10 fps: pts = (frame - 1) / 10).
        var expected: [Int: (count: Int, last: Double?, boxes: Int)] = [:]
        for row in try Self.motRows("vtest_first100_tracks.txt").sorted(by: { $0.frame < $1.frame }) {
            let pts = Double(row.frame - 1) / 10
            var t = expected[row.id] ?? (0, nil, 0)
            t.boxes += 1
            if interval == 0 || t.last == nil || pts - t.last! >= interval - 1e-9 { t.count += 1; t.last = pts }
            expected[row.id] = t
        }
        let all = try events(out)
        let tracks = all.filter { $0["type"] as? String == "track" }
        #expect(tracks.count == expected.count)
        #expect(Set(tracks.compactMap { $0["id"] as? Int }) == Set(expected.keys))
        for t in tracks {
            let id = try #require(t["id"] as? Int)
            #expect(t["observations"] as? Int == expected[id]?.count, "track \(id)")
            #expect(t["boxes"] as? Int == expected[id]?.boxes, "track \(id)")
        }
        let attributeEvents = all.filter { $0["type"] as? String == "attributes" }
        #expect(attributeEvents.count == expected.values.reduce(0) { $0 + $1.count })
        #expect(attributeEvents.allSatisfy { $0["id"] is Int })
    }

    @Test func boxesOutsideTheFrameAndDetectionsAfterTheEndAreCounted() throws {
        let tmp = try TemporaryDirectory("pard-bad-boxes")
        let dets = tmp.path("dets.jsonl"), out = tmp.path("events.jsonl")
        try """
        {"frame": 1, "boxes": [{"x": 700, "y": 500, "w": 200, "h": 200}, {"x": 900, "y": 10, "w": 50, "h": 50}, {"x": 10, "y": 10, "w": 0, "h": 40}]}
        {"pts": 0.5, "boxes": [{"x": -20, "y": -20, "w": 60, "h": 100, "score": 0.5, "id": 3}]}
        {"frame": 150, "boxes": [{"x": 10, "y": 10, "w": 40, "h": 80}, {"x": 50, "y": 10, "w": 40, "h": 80}]}
        """.write(toFile: dets, atomically: true, encoding: .utf8)
        let run = try process(dets, out: out)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("6 boxes read: 2 classified, 0 skipped by the track interval, 2 invalid (no area in the frame), 2 for frames the video does not have"), "\(run.stderr)")
        let lines = try events(out).filter { $0["type"] as? String == "attributes" }
        #expect(lines.map { $0["frame"] as? Int } == [1, 6])
        #expect(lines.first?["rect"] as? [Int] == [700, 500, 768, 576])  // clamped to 768x576
        #expect(lines.last?["rect"] as? [Int] == [0, 0, 40, 80])
    }

    @Test func malformedDetectionLineNamesFileAndLine() throws {
        let tmp = try TemporaryDirectory("pard-bad-line")
        let dets = tmp.path("dets.txt")
        try "1,-1,10,10,40,80,1\n2,-1,10,10\n3,-1,10,10,40,80,1\n".write(toFile: dets, atomically: true, encoding: .utf8)
        let run = try process(dets, out: tmp.path("e.jsonl"))
        #expect(run.status != 0)
        #expect(run.stderr.contains("\(dets):2:"), "\(run.stderr)")
        let skipping = try process(dets, ["--skip-bad-lines"], out: tmp.path("f.jsonl"))
        #expect(skipping.status == 0, "\(skipping.stderr)")
        #expect(skipping.stderr.contains("1 malformed detection lines skipped"), "\(skipping.stderr)")
        #expect(try events(tmp.path("f.jsonl")).count == 2)
    }

    @Test func truncatedVideoReportsTheFrameReachedAndKeepsWholeLines() throws {
        let tmp = try TemporaryDirectory("pard-truncated")
        // The clip's MP4 index (moov) is at the front, so a cut copy opens and breaks part-way.
        let cut = tmp.path("cut.mp4"), out = tmp.path("events.jsonl")
        let data = try Data(contentsOf: Fixtures.url("video/vtest_first100_h264.mp4"))
        try data.prefix(data.count * 45 / 100).write(to: URL(fileURLWithPath: cut))
        let run = try PardProcess.run(["process", cut, "--detections", "Tests/Fixtures/video/vtest_first100_det.txt",
                                       "--out", out] + Self.model)
        #expect(run.status != 0)
        let message = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(message.contains("cut.mp4") && message.contains("after frame 40"), "\(run.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"))
        let lines = try events(out)
        #expect(!lines.isEmpty)
        let lastFrame = lines.compactMap { $0["frame"] as? Int }.max() ?? 0
        #expect(lastFrame > 10 && lastFrame < 100)
        #expect(run.stderr.contains("for frames the video does not have"))
    }

    @Test func dryRunDecodesAndCropsWithoutAModel() throws {
        let tmp = try TemporaryDirectory("pard-dry")
        let run = try PardProcess.run(["process", Self.clip, "--detections", "Tests/Fixtures/video/vtest_first100_det.txt",
                                       "--no-model", "--dump-crops", tmp.path("crops")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("100 frames decoded"))
        let pngs = try FileManager.default.contentsOfDirectory(atPath: tmp.path("crops")).filter { $0.hasSuffix(".png") }
        #expect(pngs.count == 591)
    }
}
