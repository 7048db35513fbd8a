import Foundation
import PardPipeline
import PardTestSupport
import Testing

/// The event file on a disk that fills up: never a cut line; `pard process` stops, the service keeps
/// the lines it cannot write (bounded), counts what it drops, and resumes when space comes back.
@Suite(.serialized) struct EventWriterTests {
    /// 200 distinct event-like lines of about 100 bytes.
    static let lines = (0..<200).map { i in
        #"{"schema":1,"type":"attributes","n":\#(i),"pad":"\#(String(repeating: "x", count: 60 + i % 7))"}"#
    }

    /// The file's lines; the file must end in a newline (no cut line).
    static func fileLines(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"), "the file ends in a cut line: …\(text.suffix(40))")
        return text.split(separator: "\n").map(String.init)
    }

    @Test func stopPolicyThrowsAndLeavesOnlyWholeLines() throws {
        let disk = try SmallFileSystem(bytes: 64 << 10)
        try disk.fill("filler", leaving: 8192)
        let writer = try EventWriter(path: disk.path("events.jsonl"))
        for line in Self.lines { writer.write(line) }
        #expect(throws: PipelineError.self) { try writer.flush() }
        let written = try Self.fileLines(disk.path("events.jsonl"))
        #expect(written.count > 0 && written.count < Self.lines.count, "\(written.count) lines written")
        let isPrefix = written == Array(Self.lines.prefix(written.count))
        #expect(isPrefix, "the lines written are not the first ones, in order")
        #expect(writer.status.failureReason == .noSpace)
    }

    @Test func keepRunningKeepsRetriesAndResumesWithWholeLines() throws {
        let disk = try SmallFileSystem(bytes: 64 << 10)
        try disk.fill("filler", leaving: 8192)
        var dropped: [EventWriter.DropReason: Int] = [:]
        let writer = try EventWriter(path: disk.path("events.jsonl"), policy: .keepRunning(backlogBytes: 10_000)) { reason, count in
            dropped[reason, default: 0] += count
        }
        for line in Self.lines { writer.write(line) }
        try writer.flush()  // does not throw
        let failing = writer.status
        #expect(failing.failure?.contains("events.jsonl") == true, "\(failing)")
        let first = try Self.fileLines(disk.path("events.jsonl"))
        let lost = dropped[.noSpace, default: 0]
        #expect(lost > 0 && failing.dropped == dropped)
        #expect(first.count + failing.backlogLines + lost == Self.lines.count)
        try writer.flush()  // still full: nothing changes, nothing cut
        #expect(try Self.fileLines(disk.path("events.jsonl")) == first)

        // Space comes back: the kept lines follow the written ones, in order; only the oldest kept were dropped.
        try FileManager.default.removeItem(atPath: disk.path("filler"))
        writer.write("after")
        try writer.flush()
        #expect(writer.status.failure == nil && writer.status.backlogLines == 0)
        let all = try Self.fileLines(disk.path("events.jsonl"))
        let expected = Array(Self.lines.prefix(first.count)) + Array(Self.lines.dropFirst(first.count + lost)) + ["after"]
        let inOrder = all == expected
        #expect(inOrder, "\(all.count) lines, expected \(expected.count): written ones, then the kept ones, then the new one")
    }

    @Test func devFullCountsEveryLineWhenDiscarded() throws {
        var dropped = 0
        let writer = try EventWriter(path: "/dev/full", policy: .keepRunning(backlogBytes: 1 << 20)) { _, n in dropped += n }
        for line in Self.lines.prefix(10) { writer.write(line) }
        try writer.flush()
        #expect(writer.status.failureReason == .noSpace && writer.status.backlogLines == 10 && dropped == 0)
        #expect(writer.discardBacklog() == 10)
        #expect(dropped == 10 && writer.status.dropped == [.noSpace: 10])
    }
}
