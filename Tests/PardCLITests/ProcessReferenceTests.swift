import Foundation
import PardTestSupport
import Testing

/// `pard process` gives the same bytes as before the pipeline core was shared with `pard run`
/// (`Tests/Fixtures/process-reference`, made by the earlier code).
@Suite struct ProcessReferenceTests {
    @Test(arguments: ["vtest_first100_det", "vtest_first100_tracks"])
    func eventsAreByteIdenticalToTheReference(detections: String) throws {
        let tmp = try TemporaryDirectory("pard-reference")
        let out = tmp.path("events.jsonl")
        let run = try PardProcess.run(["process", "Tests/Fixtures/video/vtest_first100_h264.mp4",
                                       "--detections", "Tests/Fixtures/video/\(detections).txt",
                                       "--checkpoint", "Tests/Fixtures/promptpar-tiny/checkpoint.pth",
                                       "--batch", "4", "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try Data(contentsOf: Fixtures.url("process-reference/\(detections).events.jsonl"))
        let got = try Data(contentsOf: URL(fileURLWithPath: out))
        let expectedLines = String(decoding: expected, as: UTF8.self).split(separator: "\n")
        let gotLines = String(decoding: got, as: UTF8.self).split(separator: "\n")
        let firstDifference = zip(expectedLines, gotLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(got == expected, "\(gotLines.count) lines vs \(expectedLines.count); first different line: \(firstDifference.map { "\($0 + 1)" } ?? "none")")
    }
}
