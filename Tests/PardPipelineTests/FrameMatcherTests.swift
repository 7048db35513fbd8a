import Foundation
import PardPipeline
import PardVideo
import Testing

/// Which decoded frame a detection line is for, the rule `pard process` and `pard run` share.
@Suite struct FrameMatcherTests {
    @Test func toleranceIsHalfAFrameInterval() {
        #expect(FrameMatcher(frameRate: 25).tolerance == 0.02)
        #expect(FrameMatcher(frameRate: 10).tolerance == 0.05)
        #expect(abs(FrameMatcher(frameRate: 30).tolerance - 1.0 / 60) < 1e-15)
        #expect(abs(FrameMatcher(frameRate: 30000.0 / 1001).tolerance - 0.5 * 1001 / 30000) < 1e-15)
        #expect(FrameMatcher(frameRate: 2).tolerance == 0.25)
    }

    @Test(arguments: [nil, 0, -25, Double.nan, Double.infinity, -Double.infinity, -0.0] as [Double?])
    func unknownFrameRateMeans25(_ rate: Double?) {
        #expect(FrameMatcher(frameRate: rate).tolerance == 0.02)
        #expect(FrameMatcher(frameRate: rate) == FrameMatcher(frameRate: 25))
    }

    @Test func frameKeysMatchTheirFrameNumberOnly() {
        let m = FrameMatcher(frameRate: 25)
        #expect(m.matches(.frame(3), frame: 3, pts: 0.08))
        #expect(m.matches(.frame(3), frame: 3, pts: 1000))
        #expect(!m.matches(.frame(3), frame: 4, pts: 0.08))
        #expect(!m.matches(.frame(3), frame: 2, pts: 0.08))
    }

    @Test func frameWinsOverPTS() throws {
        let m = FrameMatcher(frameRate: 25)
        let both = FrameDetections(frame: 5, pts: 0.0, boxes: [])
        let key = try #require(both.key)
        #expect(key == .frame(5))
        // The pts names frame 1's time: not used.
        #expect(!m.matches(key, frame: 1, pts: 0.0))
        #expect(m.matches(key, frame: 5, pts: 0.16))
        #expect(FrameDetections(pts: 0.4, boxes: []).key == .pts(0.4))
        #expect(FrameDetections(boxes: []).key == nil)
    }

    @Test func ptsWithinAndJustOutsideTheTolerance() {
        let m = FrameMatcher(frameRate: 25)  // 0.02 s
        #expect(m.matches(.pts(1.0), frame: 26, pts: 1.0))
        #expect(m.matches(.pts(1.0), frame: 26, pts: 1.019))
        #expect(m.matches(.pts(1.0), frame: 26, pts: 0.981))
        #expect(m.matches(.pts(1.015), frame: 26, pts: 1.0))
        #expect(!m.matches(.pts(1.0), frame: 26, pts: 1.021))
        #expect(!m.matches(.pts(1.0), frame: 26, pts: 0.979))
        #expect(!m.matches(.pts(1.0), frame: 27, pts: 1.04))
        // The frame number plays no part for a pts key.
        #expect(m.matches(.pts(1.0), frame: 999, pts: 1.0))

        // The window is half-open, `pts - h < t <= pts + h` to the microsecond: a time exactly half an
        // interval after a frame is that frame's, exactly half an interval before a frame is not (it is the
        // earlier frame's); a microsecond further is outside, a microsecond nearer inside.
        let slow = FrameMatcher(frameRate: 2)  // 0.25 s
        #expect(slow.matches(.pts(1.0), frame: 2, pts: 0.75))
        #expect(!slow.matches(.pts(1.0), frame: 3, pts: 1.25))
        #expect(!slow.matches(.pts(1.0), frame: 2, pts: 0.75 - 1e-6))
        #expect(slow.matches(.pts(1.0), frame: 3, pts: 1.25 - 1e-6))
        #expect(slow.matches(.pts(1.0), frame: 2, pts: 0.75.nextDown))  // below a microsecond: the same time
    }

    /// `x` of each box, to name them.
    static func xs(_ boxes: [Box]) -> [Double] { boxes.map(\.x) }

    static let jsonLines = """
        {"frame": 1, "boxes": [{"x": 1, "y": 0, "w": 10, "h": 20}]}
        {"pts": 0.04, "boxes": [{"x": 2, "y": 0, "w": 10, "h": 20, "id": 7}]}
        {"frame": 3, "pts": 0.0, "boxes": [{"x": 3, "y": 0, "w": 10, "h": 20}]}
        # a comment
        {"pts": 0.125, "boxes": [{"x": 4, "y": 0, "w": 10, "h": 20}, {"x": 5, "y": 0, "w": 10, "h": 20}]}
        {"frame": 1, "boxes": [{"x": 6, "y": 0, "w": 10, "h": 20}]}
        {"pts": 0.6, "boxes": [{"x": 7, "y": 0, "w": 10, "h": 20}]}
        {"pts": 0.6, "boxes": [{"x": 8, "y": 0, "w": 10, "h": 20}]}
        """

    @Test func boxesOfFrameAndPTSKeyedLines() throws {
        let detections = try Detections.parse(text: Self.jsonLines, file: "dets.jsonl")
        #expect(detections.format == .jsonLines)
        let m = FrameMatcher(frameRate: 25)
        func boxes(_ frame: Int, _ pts: Double) -> [Double] {
            Self.xs(m.boxes(in: detections, for: FramePosition(stream: 0, frame: frame, pts: pts)))
        }
        // Frame 1 at 0.0: both frame-1 lines in file order; the line with frame 3 and pts 0.0 is not for it.
        #expect(boxes(1, 0.0) == [1, 6])
        // Frame 2 at 0.04: the pts line.
        #expect(boxes(2, 0.04) == [2])
        // Frame 3 at 0.08: the line with both keys, by its frame, once.
        #expect(boxes(3, 0.08) == [3])
        // Frame 4 at 0.12: the line at 0.125 (within 0.02), both its boxes, in order.
        #expect(boxes(4, 0.12) == [4, 5])
        // Frame 5 at 0.16: nothing within 0.02.
        #expect(boxes(5, 0.16) == [])
        // Two lines at the same pts both belong to the frame at that time.
        #expect(boxes(16, 0.6) == [7, 8])
        #expect(boxes(17, 0.64) == [])
        #expect(boxes(16, 0.615) == [7, 8])
        #expect(boxes(16, 0.585) == [7, 8])
        #expect(boxes(16, 0.621) == [])
        #expect(boxes(16, 0.579) == [])
        // The tracked box keeps its id.
        #expect(m.boxes(in: detections, for: FramePosition(stream: 0, frame: 2, pts: 0.04)).first?.id == 7)
    }

    @Test func eachLineIsMatchedOnceOverAClip() throws {
        let detections = try Detections.parse(text: Self.jsonLines, file: "dets.jsonl")
        let m = FrameMatcher(frameRate: 25)
        var found: [Double] = []
        for n in 1...20 {
            found += Self.xs(m.boxes(in: detections, for: FramePosition(stream: 0, frame: n, pts: Double(n - 1) * 0.04)))
        }
        #expect(found.sorted() == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(detections.boxCount == 8)
    }

    /// A pts line exactly halfway between two frames is within half an interval of both (nominally):
    /// it must be for one of them, neither both (counted twice) nor none (lost).
    /// 4 frames/s: frames at 0.25 and 0.5, tolerance 0.125, line at 0.375 (all exact in binary).
    /// 25 frames/s: frames at 12 * 0.04 and 13 * 0.04 as a decoder computes them, line at 0.5.
    @Test(arguments: [(4.0, 0.25, 0.5, 0.375), (25.0, 12 * 0.04, 13 * 0.04, 0.5)])
    func aLineHalfwayBetweenTwoFramesIsMatchedOnce(_ rate: Double, _ before: Double, _ after: Double, _ line: Double) throws {
        let detections = try Detections.parse(text: #"{"pts": \#(line), "boxes": [{"x": 1, "y": 0, "w": 10, "h": 20}]}"#,
                                               file: "dets.jsonl")
        let m = FrameMatcher(frameRate: rate)
        let first = m.boxes(in: detections, for: FramePosition(stream: 0, frame: 2, pts: before))
        let second = m.boxes(in: detections, for: FramePosition(stream: 0, frame: 3, pts: after))
        #expect(first.count + second.count == 1,
                "\(rate) frames/s, line at \(line): matched to the frame at \(before) \(first.count) time(s), at \(after) \(second.count)")
    }

    @Test func motLinesAreMatchedByFrameNumber() throws {
        let text = """
            1,-1,10,20,30,40,0.9,-1,-1,-1
            1,7,11,20,30,40,0.8,-1,-1,-1
            3,7,12,20,30,40,0.7,-1,-1,-1
            """
        let detections = try Detections.parse(text: text, file: "det.txt")
        #expect(detections.format == .mot)
        let m = FrameMatcher(frameRate: nil)
        #expect(Self.xs(m.boxes(in: detections, for: FramePosition(stream: 0, frame: 1, pts: 0))) == [10, 11])
        #expect(Self.xs(m.boxes(in: detections, for: FramePosition(stream: 0, frame: 2, pts: 0.04))) == [])
        #expect(Self.xs(m.boxes(in: detections, for: FramePosition(stream: 0, frame: 3, pts: 0.08))) == [12])
        // The frame's pts does not matter for MOT lines.
        #expect(Self.xs(m.boxes(in: detections, for: FramePosition(stream: 0, frame: 3, pts: 99))) == [12])
        let boxes = m.boxes(in: detections, for: FramePosition(stream: 0, frame: 1, pts: 0))
        #expect(boxes.map(\.id) == [nil, 7])
    }

    @Test func boxesAgreeWithMatches() throws {
        // `boxes(in:for:)` and `matches` are one rule: every line whose key matches the frame is found.
        let detections = try Detections.parse(text: Self.jsonLines, file: "dets.jsonl")
        let m = FrameMatcher(frameRate: 25)
        for n in 1...20 {
            let pts = Double(n - 1) * 0.04
            let expected = detections.frames.filter { $0.key.map { m.matches($0, frame: n, pts: pts) } ?? false }
                .flatMap(\.boxes)
            let got = m.boxes(in: detections, for: FramePosition(stream: 0, frame: n, pts: pts))
            // Frame-keyed lines come first, then pts-keyed ones: compare as sets of x.
            #expect(Set(Self.xs(got)) == Set(Self.xs(expected)), "frame \(n)")
            #expect(got.count == expected.count, "frame \(n)")
        }
    }
}
