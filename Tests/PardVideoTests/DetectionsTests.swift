import Foundation
import PardTestSupport
import PardVideo
import Testing

@Suite struct DetectionsTests {
    @Test func motDetectionsFixture() throws {
        let path = Fixtures.url("video/vtest_first100_det.txt").path
        let detections = try Detections.load(path: path)
        #expect(detections.format == .mot)
        #expect(detections.boxCount == 591)
        #expect(detections.badLines.isEmpty)
        let numbers = detections.frames.compactMap(\.frame)
        #expect(numbers.first == 1 && numbers.last == 100 && numbers == numbers.sorted())
        let first = detections.boxes(forFrame: 1)
        #expect(first.count >= 5)
        #expect(first[0] == Box(x: 498.27, y: 151.70, w: 35.47, h: 90.60, id: nil, score: 3.3962))
        #expect(first[4] == Box(x: 634.13, y: 164.53, w: 69.07, h: 177.60, id: nil, score: 0.8408))
        #expect(detections.boxes(forFrame: 0).isEmpty && detections.boxes(forFrame: 101).isEmpty)
        #expect(first.allSatisfy { $0.id == nil })
    }

    @Test func motTracksFixture() throws {
        let detections = try Detections.load(path: Fixtures.url("video/vtest_first100_tracks.txt").path)
        #expect(detections.boxCount == 562)
        #expect(detections.boxes(forFrame: 1).map(\.id) == [1, 2, 3, 4])
        #expect(detections.boxes(forFrame: 2).first == Box(x: 495.80, y: 153.20, w: 36.40, h: 93.60, id: 1, score: 4.1048))
        #expect(detections.frames.allSatisfy { $0.boxes.allSatisfy { $0.id != nil } })
    }

    @Test func motLinesWithoutConfidenceCommentsAndBlankLines() throws {
        let text = "# frame,id,x,y,w,h\n\n3,-1,1.5,2.5,10,20\r\n  \n1, 7, 0, 0, 5.25, 6\n3,2,4,4,4,4,0.5,-1,-1,-1\n"
        let detections = try Detections.parse(text: text, file: "mini.txt")
        #expect(detections.frames.map(\.frame) == [1, 3])
        #expect(detections.boxes(forFrame: 1) == [Box(x: 0, y: 0, w: 5.25, h: 6, id: 7, score: nil)])
        #expect(detections.boxes(forFrame: 3) == [Box(x: 1.5, y: 2.5, w: 10, h: 20),
                                                  Box(x: 4, y: 4, w: 4, h: 4, id: 2, score: 0.5)])
    }

    @Test func malformedMOTLinesNameFileAndLine() throws {
        let text = "1,-1,1,2,3,4,0.9\n# comment\n2,-1,5,6\n3,-1,x,2,3,4\n0,-1,1,2,3,4\n4,-1,1,2,-3,4\n5,-1,1,2,3,4\n"
        #expect(throws: VideoError.badLine(file: "dets.txt", line: 3,
                                          reason: "expected at least 6 comma-separated fields, found 4")) {
            _ = try Detections.parse(text: text, file: "dets.txt")
        }
        do {
            _ = try Detections.parse(text: text, file: "dets.txt")
        } catch let error as VideoError {
            #expect(error.description == "dets.txt:3: expected at least 6 comma-separated fields, found 4")
        }

        let skipped = try Detections.parse(text: text, file: "dets.txt", options: DetectionParseOptions(skipBadLines: true))
        #expect(skipped.boxCount == 2)
        #expect(skipped.frames.map(\.frame) == [1, 5])
        #expect(skipped.badLines.map(\.line) == [3, 4, 5, 6])
        #expect(skipped.badLines[1].reason.contains("x"))
        #expect(skipped.badLines[2].reason.contains("start at 1"))
        #expect(skipped.badLines[3].reason.contains("negative"))
    }

    @Test func jsonLinesWithFrameNumbers() throws {
        let text = """
        {"frame": 12, "boxes": [{"x": 10.5, "y": 20, "w": 30, "h": 80, "id": 7, "score": 0.9}, {"x":1,"y":2,"w":3,"h":4}]}
        # a comment

        {"frame": 13, "boxes": [], "camera": "north \\"gate\\" \\u00e9"}
        """
        let detections = try Detections.parse(text: text, file: "dets.txt")
        #expect(detections.format == .jsonLines, "detected by content, whatever the extension")
        #expect(detections.frames.count == 2)
        #expect(detections.boxes(forFrame: 12) == [Box(x: 10.5, y: 20, w: 30, h: 80, id: 7, score: 0.9),
                                                   Box(x: 1, y: 2, w: 3, h: 4)])
        #expect(detections.boxes(forFrame: 13).isEmpty)
        #expect(detections.frames[1] == FrameDetections(frame: 13, pts: nil, boxes: []))
    }

    @Test func jsonLinesWithPTSMatchDecodedFrames() throws {
        let text = "{\"pts\": 0.0, \"boxes\": [{\"x\": 1, \"y\": 1, \"w\": 2, \"h\": 2}]}\n"
            + "{\"pts\": 2.4000001, \"boxes\": [{\"x\": 498.27, \"y\": 151.7, \"w\": 35.47, \"h\": 90.6, \"id\": null}]}\n"
        let detections = try Detections.parse(text: text, file: "live.jsonl")
        #expect(detections.frames.map(\.pts) == [0.0, 2.4000001])
        #expect(detections.frames.allSatisfy { $0.frame == nil })
        #expect(detections.boxes(nearPTS: 2.4, tolerance: 0.05).count == 1)
        #expect(detections.boxes(nearPTS: 2.3, tolerance: 0.05).isEmpty)
        #expect(detections.boxes(nearPTS: 0.01, tolerance: 0.05) == [Box(x: 1, y: 1, w: 2, h: 2)])

        // Against real frames: frame 25 is at 2.4 s.
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        var matched: [Int] = []
        while let frame = try decoder.nextFrame() {
            if !detections.boxes(for: frame, tolerance: 0.05).isEmpty { matched.append(frame.number) }
        }
        #expect(matched == [1, 25])
    }

    @Test func singleJSONLineParserForLiveSources() throws {
        let line = #"{"pts": 12.5, "frame": 126, "boxes": [{"x": -3, "y": 4e1, "w": 1.5E+1, "h": 60, "score": 1}]}"#
        let frame = try JSONLDetections.parseLine(line, file: "tcp:9000", line: 42)
        #expect(frame == FrameDetections(frame: 126, pts: 12.5, boxes: [Box(x: -3, y: 40, w: 15, h: 60, id: nil, score: 1)]))

        let bad: [(String, String)] = [
            (#"{"frame": 1, "boxes": [{"x": 1, "y": 2, "w": 3}]}"#, "box 0: missing \"h\""),
            (#"{"boxes": []}"#, "expected a \"frame\" or \"pts\" key"),
            (#"{"frame": 1.5, "boxes": []}"#, "\"frame\" must be an integer, found a number"),
            (#"{"frame": 2, "boxes": {}}"#, "\"boxes\" must be an array, found an object"),
            (#"{"frame": 2, "boxes": [{"x": "1", "y": 2, "w": 3, "h": 4}]}"#, "box 0: \"x\" must be a number, found a string"),
            (#"{"frame": 2, "boxes": [{"x": true, "y": 2, "w": 3, "h": 4}]}"#, "box 0: \"x\" must be a number, found a boolean"),
            (#"{"frame": 2, "boxes": []"#, "invalid JSON at column 25: unterminated object"),
            (#"[1, 2]"#, "expected a JSON object {\"frame\": ..., \"boxes\": [...]}, found an array"),
            (#"{"frame": 2, "boxes": []} x"#, "invalid JSON at column 27: unexpected text after the value"),
            (#"{"frame": 01, "boxes": []}"#, "invalid JSON at column 12: expected ',' or '}' in object"),
        ]
        for (text, reason) in bad {
            #expect(throws: VideoError.badLine(file: "tcp:9000", line: 42, reason: reason), "\(text)") {
                _ = try JSONLDetections.parseLine(text, file: "tcp:9000", line: 42)
            }
        }
    }

    @Test func malformedJSONLinesAreSkippedAndCountedOnRequest() throws {
        let text = """
        {"frame": 1, "boxes": []}
        {"frame": 2, "boxes": [
        {"frame": 3, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4}]}
        not json at all
        """
        // Content starts with '{': JSON lines, so the 4th line is malformed JSON, not a MOT line.
        #expect(throws: VideoError.badLine(file: "d.jsonl", line: 2, reason: "invalid JSON at column 24: unexpected end of line")) {
            _ = try Detections.parse(text: text, file: "d.jsonl")
        }
        let skipped = try Detections.parse(text: text, file: "d.jsonl", options: DetectionParseOptions(skipBadLines: true))
        #expect(skipped.frames.compactMap(\.frame) == [1, 3])
        #expect(skipped.badLines.map(\.line) == [2, 4])
    }

    @Test func formatDetection() {
        #expect(DetectionFormat.detect(text: "\n# c\n  {\"frame\":1}", file: "a.txt") == .jsonLines)
        #expect(DetectionFormat.detect(text: "1,-1,2,3,4,5", file: "a.jsonl") == .mot)
        #expect(DetectionFormat.detect(text: "# only a comment\n", file: "a.jsonl") == .jsonLines)
        #expect(DetectionFormat.detect(text: "", file: "a.txt") == .mot)
        // An explicit format wins.
        #expect(throws: VideoError.self) {
            _ = try Detections.parse(text: "1,-1,2,3,4,5", file: "x", options: DetectionParseOptions(format: .jsonLines))
        }
    }

    @Test func missingFileIsReportedWithItsPath() {
        #expect(throws: VideoError.unreadableFile(file: "/no/such/dets.txt", reason: "no such file")) {
            _ = try Detections.load(path: "/no/such/dets.txt")
        }
    }
}
