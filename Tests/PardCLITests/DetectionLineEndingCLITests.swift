import Foundation
import PardTestSupport
import Testing

/// `pard process` with detection files as other systems save them: CRLF or CR-only line endings, a
/// byte order mark; and a JSON line that gives both `frame` and `pts`.
@Suite struct DetectionLineEndingCLITests {
    static let clip = "Tests/Fixtures/video/vtest_first100_h264.mp4"
    static let model = ["--checkpoint", "Tests/Fixtures/promptpar-tiny/checkpoint.pth"]

    func process(_ detections: String, out: String) throws -> PardProcess {
        try PardProcess.run(["process", Self.clip, "--detections", detections, "--out", out] + Self.model)
    }

    @Test("the sample detections with CRLF, with CR-only endings and a BOM: all 591 boxes, the same events as with LF")
    func sampleWithOtherLineEndings() throws {
        let tmp = try TemporaryDirectory("pard-endings")
        let reference = tmp.path("lf.jsonl")
        let run = try process("Tests/Fixtures/video/vtest_first100_det.txt", out: reference)
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try Data(contentsOf: URL(fileURLWithPath: reference))
        let text = try String(contentsOf: Fixtures.url("video/vtest_first100_det.txt"), encoding: .utf8)
        for (name, converted) in [("crlf", text.replacingOccurrences(of: "\n", with: "\r\n")),
                                  ("bom-cr", "\u{FEFF}" + text.replacingOccurrences(of: "\n", with: "\r"))] {
            let detections = tmp.path("det-\(name).txt"), out = tmp.path("\(name).jsonl")
            try Data(converted.utf8).write(to: URL(fileURLWithPath: detections))
            let converted = try process(detections, out: out)
            #expect(converted.status == 0, "\(name): \(converted.stderr)")
            #expect(converted.stderr.contains("591 boxes read: 591 classified"), "\(name): \(converted.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == expected, "\(name): events differ from LF's")
        }
    }

    @Test("a CRLF JSON-lines file with a line giving frame and pts: each box classified once, at its frame")
    func jsonLinesCRLFWithFrameAndPTS() throws {
        let tmp = try TemporaryDirectory("pard-frame-pts")
        let detections = tmp.path("dets.jsonl"), out = tmp.path("events.jsonl")
        let lines = [#"{"frame": 1, "pts": 5.0, "boxes": [{"x": 10, "y": 10, "w": 40, "h": 80}]}"#,
                     #"{"pts": 0.3, "boxes": [{"x": 50, "y": 10, "w": 40, "h": 80}]}"#]
        try Data((lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: URL(fileURLWithPath: detections))
        let run = try process(detections, out: out)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("2 boxes read: 2 classified"), "\(run.stderr)")
        let events = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        let frames = events.filter { $0["type"] as? String == "attributes" }.compactMap { $0["frame"] as? Int }
        #expect(frames == [1, 4], "frame 51 (pts 5.0) must not get the first line's box")
    }
}
