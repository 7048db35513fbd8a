import Foundation
import PardTestSupport
import PardVideo
import Testing

/// Values of detection lines: non-finite and absurd numbers, integers out of range, a line with both
/// `frame` and `pts`, and messages that quote a bounded part of the input.
@Suite struct DetectionValueTests {
    func reason(_ text: String, file: String = "d.txt") -> (line: Int, reason: String)? {
        do {
            _ = try Detections.parse(text: text, file: file)
            return nil
        } catch let VideoError.badLine(_, line, reason) {
            return (line, reason)
        } catch {
            return (-1, "\(error)")
        }
    }

    @Test("NaN, infinities and numbers beyond the Double range are refused with their line and field")
    func nonFinite() throws {
        let good = "1,-1,1,2,3,4\n"
        for (value, field, what) in [("nan", 3, "is not a finite number"), ("inf", 4, "is not a finite number"),
                                     ("-Infinity", 5, "is not a finite number"), ("NaN", 7, "is not a finite number"),
                                     ("1e999", 6, "is out of range"), ("-1e400", 7, "is out of range"),
                                     ("1e400", 1, "is out of range"), ("-1e999", 2, "is out of range")] {
            var fields = ["2", "-1", "1", "2", "3", "4", "0.5"]
            fields[field - 1] = value
            let failure = reason(good + fields.joined(separator: ","))
            #expect(failure?.line == 2, "\(value)")
            #expect(failure?.reason.hasPrefix("field \(field) (") == true, "\(value): \(failure?.reason ?? "")")
            #expect(failure?.reason.contains("\(what): \"\(value)\"") == true, "\(failure?.reason ?? "")")
        }
        for line in [#"{"frame": 2, "boxes": [{"x": 1e999, "y": 2, "w": 3, "h": 4}]}"#,
                     #"{"frame": 2, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4, "score": -1E+400}]}"#,
                     #"{"pts": 1e400, "boxes": []}"#] {
            let failure = reason(#"{"frame": 1, "boxes": []}"# + "\n" + line)
            #expect(failure?.line == 2)
            #expect(failure?.reason.contains("number out of range") == true, "\(failure?.reason ?? "")")
        }
        for line in [#"{"frame": 2, "boxes": [{"x": NaN, "y": 2, "w": 3, "h": 4}]}"#,
                     #"{"frame": 2, "boxes": [{"x": 1, "y": Infinity, "w": 3, "h": 4}]}"#] {
            #expect(reason(#"{"frame": 1, "boxes": []}"# + "\n" + line)?.line == 2)
        }
    }

    @Test("box values beyond DetectionLimits.maximumCoordinate pixels are refused, naming line and field")
    func absurdCoordinates() throws {
        #expect(DetectionLimits.maximumCoordinate == 1_000_000)
        let edge = try Detections.parse(text: "1,-1,-1000000,1000000,1e6,0\n", file: "d.txt")
        #expect(edge.boxes(forFrame: 1) == [Box(x: -1e6, y: 1e6, w: 1e6, h: 0)], "the bound itself is allowed")
        let range = "(box values are pixels, at most 1000000 in magnitude)"
        let names = ["x", "y", "w", "h"]
        for (index, name) in names.enumerated() {
            var values = ["1", "2", "3", "4"]
            values[index] = index < 2 ? "-1e308" : "1e308"
            let mot = reason("1,-1,1,2,3,4\n# c\n5,3," + values.joined(separator: ","))
            #expect(mot?.line == 3)
            #expect(mot?.reason == "field \(index + 3) (\(name)) is out of range: \"\(values[index])\" \(range)")
            let json = reason(#"{"frame": 1, "boxes": []}"# + "\n\n{\"frame\": 5, \"boxes\": [{\"x\": 1, \"y\": 2, \"w\": 3, \"h\": 4}, {"
                              + zip(names, values).map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}]}")
            #expect(json?.line == 3)
            #expect(json?.reason == "box 1: \"\(name)\" is out of range: \(index < 2 ? "-1e+308" : "1e+308") \(range)")
        }
        #expect(reason("1,-1,1000000.5,2,3,4")?.reason.contains("out of range") == true)
    }

    @Test("a frame or id beyond the integers allowed says out of range, with the range")
    func integersOutOfRange() throws {
        let maximum = "999999999999999"
        #expect(DetectionLimits.maximumInteger == 999_999_999_999_999)
        let ok = try Detections.parse(text: "\(maximum),\(maximum),1,2,3,4\n1,-\(maximum),1,2,3,4\n", file: "d.txt")
        #expect(ok.boxes(forFrame: 999_999_999_999_999).map(\.id) == [999_999_999_999_999])
        #expect(ok.boxes(forFrame: 1).map(\.id) == [nil])

        let frames = "(frame numbers go from 1 to \(maximum))"
        let ids = "(ids go from -\(maximum) to \(maximum), negative = untracked)"
        #expect(reason("9223372036854775807,-1,1,2,3,4")?.reason
                == "field 1 (frame) is out of range: \"9223372036854775807\" \(frames)")
        #expect(reason("1,9223372036854775807,1,2,3,4")?.reason
                == "field 2 (id) is out of range: \"9223372036854775807\" \(ids)")
        #expect(reason("1,-1000000000000000,1,2,3,4")?.reason == "field 2 (id) is out of range: \"-1000000000000000\" \(ids)")
        #expect(reason("1.5,-1,1,2,3,4")?.reason == "field 1 (frame) is not an integer: \"1.5\"")
        #expect(reason(#"{"frame": 9223372036854775807, "boxes": []}"#)?.reason
                == "\"frame\" is out of range: 9.223372036854776e+18 \(frames)")
        #expect(reason(#"{"frame": 1, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4, "id": -9223372036854775808}]}"#)?.reason
                == "box 0: \"id\" is out of range: -9.223372036854776e+18 \(ids)")
    }

    @Test("a JSON line with both frame and pts is matched by its frame only: classified exactly once")
    func framePTSOnce() throws {
        let text = #"{"frame": 1, "pts": 2.4, "boxes": [{"x": 10, "y": 20, "w": 30, "h": 60}]}"# + "\n"
            + #"{"pts": 0.1, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4}]}"# + "\n"
            + #"{"pts": 0.0, "boxes": [{"x": 5, "y": 6, "w": 7, "h": 8}]}"# + "\n"
        let detections = try Detections.parse(text: text, file: "both.jsonl")
        #expect(detections.frames.map(\.key) == [.frame(1), .pts(0.1), .pts(0.0)])
        #expect(detections.frames[0].pts == 2.4, "the pts is kept, for information")
        #expect(detections.boxes(nearPTS: 2.4, tolerance: 0.05).isEmpty)
        // Against the real clip (frame 25 is at 2.4 s, frame 2 at 0.1 s, frame 1 at 0).
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        var matched: [Int: Int] = [:]
        while let frame = try decoder.nextFrame() {
            let boxes = detections.boxes(for: frame, tolerance: 0.05)
            if !boxes.isEmpty { matched[frame.number] = boxes.count }
        }
        // Frame 1 has its frame-keyed box and the pts-keyed one at 0.0 s (neither hides the other).
        #expect(matched == [1: 2, 2: 1])
    }

    @Test("a 10 MB line: the message names the line and quotes at most about 200 bytes of it")
    func longInputIsQuotedShort() throws {
        let huge = String(repeating: "7", count: 10 << 20)
        let cases: [(String, String)] = [
            ("1,-1,\(huge)x,2,3,4", "field 3 (x) is not a number: \"777"),
            ("1,-1,1,2,3,4,\(huge)x", "field 7 (conf) is not a number: \"777"),
            ("1,\(huge),1,2,3,4", "field 2 (id) is out of range: \"777"),
            ("1,-1,0,0,-\(huge),4", "field 5 (w) is out of range: \"-777"),
            ("1,-1,0,0,-0.\(huge),4", "negative box size w=\"-0.777"),
            (#"{"frame": 1, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4, "\#(huge)" 1}]}"#, "expected ':' after key \"777"),
            (#"{"frame": 1, "boxes": [{"x": 1\#(huge)e999, "y": 2, "w": 3, "h": 4}]}"#, "number out of range: \"1777"),
        ]
        for (line, start) in cases {
            do {
                if line.hasPrefix("{") {
                    _ = try JSONLDetections.parseLine(line, file: "d.txt", line: 3)
                } else {
                    _ = try MOTDetections.parseLine(line, file: "d.txt", line: 3)
                }
                Issue.record("accepted: \(start)")
            } catch let error as VideoError {
                let message = error.description
                #expect(message.utf8.count < 400, "\(message.prefix(300))")
                #expect(message.hasPrefix("d.txt:3: "))
                #expect(message.contains(start), "\(message.prefix(300))")
                #expect(message.contains("..."), "\(message.prefix(300))")
                #expect(message.contains(" bytes)"), "\(message.prefix(300))")
            }
        }
        // In a file, such a line is over the line limit: named, counted, never quoted.
        let text = "1,-1,1,2,3,4\n1,-1," + huge + ",2,3,4\r\n2,-1,1,2,3,4\n"
        #expect(throws: VideoError.badLine(file: "d.txt", line: 2,
                                          reason: "line of \((10 << 20) + 11) bytes is longer than the limit of 1048576 bytes")) {
            _ = try Detections.parse(text: text, file: "d.txt")
        }
        let skipped = try Detections.parse(text: text, file: "d.txt", options: DetectionParseOptions(skipBadLines: true))
        #expect(skipped.boxCount == 2 && skipped.badLines.map(\.line) == [2])
    }

    @Test("InputExcerpt quotes short input whole and long input cut at a character boundary")
    func excerpt() {
        #expect(InputExcerpt.quoted("abc") == "\"abc\"")
        #expect(InputExcerpt.quoted("a\"b\\c\r\n\u{1b}") == #""a\"b\\c\r\n\u{1B}""#)
        #expect(InputExcerpt.quoted(String(repeating: "x", count: 200)) == "\"" + String(repeating: "x", count: 200) + "\"")
        #expect(InputExcerpt.quoted(String(repeating: "x", count: 201)) == "\"" + String(repeating: "x", count: 200) + "\"... (201 bytes)")
        // 'é' is two bytes: 100 of them fit, the 101st would cross the limit.
        #expect(InputExcerpt.quoted(String(repeating: "é", count: 150)) == "\"" + String(repeating: "é", count: 100) + "\"... (300 bytes)")
    }
}
