import Foundation
import PardTestSupport
import PardVideo
import Testing

/// Detection files whatever their line endings and byte order mark: the same boxes, the same line
/// numbers in messages.
@Suite struct DetectionLineEndingTests {
    static let endings = ["\n", "\r\n", "\r"]
    static let bom = "\u{FEFF}"

    /// `lines` joined with `ending` (a list of endings is used in turn: mixed).
    static func text(_ lines: [String], _ endings: [String]) -> String {
        lines.enumerated().map { $1 + endings[$0 % endings.count] }.joined()
    }

    static let motLines = ["# frame,id,x,y,w,h", "", "3,-1,1.5,2.5,10,20", "  ", "1, 7, 0, 0, 5.25, 6", "3,2,4,4,4,4,0.5,-1,-1,-1"]
    static let jsonLines = [
        #"{"frame": 12, "boxes": [{"x": 10.5, "y": 20, "w": 30, "h": 80, "id": 7, "score": 0.9}]}"#,
        "# a comment", "",
        #"{"pts": 1.5, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4}]}"#,
        #"{"frame": 13, "boxes": []}"#,
    ]

    /// Every way of ending lines: each ending alone, mixed, with and without a byte order mark.
    static var variants: [(name: String, endings: [String], bom: Bool)] {
        endings.map { ($0.debugDescription, [$0], false) } + endings.map { ("BOM " + $0.debugDescription, [$0], true) }
            + [("mixed", ["\r\n", "\n", "\r"], false), ("BOM mixed", ["\r", "\r\n", "\n"], true)]
    }

    @Test("MOT text: LF, CRLF, CR-only, mixed, with a BOM: the same boxes")
    func motEndings() throws {
        let reference = try Detections.parse(text: Self.text(Self.motLines, ["\n"]), file: "d.txt")
        #expect(reference.boxCount == 3)
        for variant in Self.variants {
            let text = (variant.bom ? Self.bom : "") + Self.text(Self.motLines, variant.endings)
            let detections = try Detections.parse(text: text, file: "d.txt")
            #expect(detections.format == .mot, "\(variant.name)")
            #expect(detections.frames == reference.frames, "\(variant.name)")
        }
    }

    @Test("JSON lines: LF, CRLF, CR-only, mixed, with a BOM: the same frames (a CRLF line parses)")
    func jsonEndings() throws {
        let reference = try Detections.parse(text: Self.text(Self.jsonLines, ["\n"]), file: "d.txt")
        #expect(reference.frames.count == 3 && reference.boxCount == 2)
        for variant in Self.variants {
            let text = (variant.bom ? Self.bom : "") + Self.text(Self.jsonLines, variant.endings)
            let detections = try Detections.parse(text: text, file: "d.txt")
            #expect(detections.format == .jsonLines, "\(variant.name): recognised by content")
            #expect(detections.frames == reference.frames, "\(variant.name)")
            #expect(DetectionFormat.detect(text: text, file: "d.txt") == .jsonLines, "\(variant.name)")
        }
        #expect(DetectionFormat.detect(text: "# c\r{\"frame\":1}", file: "a.txt") == .jsonLines)
        #expect(DetectionFormat.detect(text: Self.bom + "# c\r\n1,-1,2,3,4,5", file: "a.jsonl") == .mot)
    }

    @Test("the line number of a malformed line is the editor's, whatever the endings")
    func lineNumbersInMessages() throws {
        let lines = ["1,-1,1,2,3,4", "", "# c", "2,-1,5,6", "3,-1,1,2,3,4"]
        for variant in Self.variants {
            let text = (variant.bom ? Self.bom : "") + Self.text(lines, variant.endings)
            #expect(throws: VideoError.badLine(file: "d.txt", line: 4, reason: "expected at least 6 comma-separated fields, found 4"),
                    "\(variant.name)") {
                _ = try Detections.parse(text: text, file: "d.txt")
            }
            let skipped = try Detections.parse(text: text, file: "d.txt", options: DetectionParseOptions(skipBadLines: true))
            #expect(skipped.badLines.map(\.line) == [4] && skipped.boxCount == 2, "\(variant.name)")
        }
    }

    @Test("the sample detections saved with CRLF, CR-only or a BOM: all 591 boxes, as from the file with LF")
    func fixtureFileConverted() throws {
        let original = try Data(contentsOf: Fixtures.url("video/vtest_first100_det.txt"))
        let reference = try Detections.load(path: Fixtures.url("video/vtest_first100_det.txt").path)
        #expect(reference.boxCount == 591)
        let text = String(decoding: original, as: UTF8.self)
        let directory = try PardTestSupport.TemporaryDirectory("det-endings")
        for (name, converted) in [("crlf", text.replacingOccurrences(of: "\n", with: "\r\n")),
                                  ("cr", text.replacingOccurrences(of: "\n", with: "\r")),
                                  ("bom", Self.bom + text)] {
            let path = directory.path("det-\(name).txt")
            try Data(converted.utf8).write(to: URL(fileURLWithPath: path))
            let detections = try Detections.load(path: path)
            #expect(detections.boxCount == 591, "\(name)")
            #expect(detections.frames == reference.frames, "\(name)")
            #expect(detections.badLines.isEmpty, "\(name)")
        }
    }
}
