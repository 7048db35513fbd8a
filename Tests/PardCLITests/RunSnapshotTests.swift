import Foundation
import PardTestSupport
import Testing

/// `pard run` with `output.snapshots`, as systemd runs it: each track's snapshot at its end (here at
/// shutdown), named in its track event; a folder that cannot be written is logged and counted, and pard
/// runs on and exits 0.
@Suite(.serialized) struct RunSnapshotTests {
    /// Pushes 5 frames of track 1, then stops pard; the events.
    func runOneTrack(_ service: RunningPard) throws -> [[String: Any]] {
        #expect(service.waitForFrames(3), "\(service.log)")
        let first = Int(service.metric("pard_frames_decoded_total"))
        try service.push((first + 1...first + 5).map { RunCommandTests.detection(frame: $0, id: 1) })
        #expect(RunCommandTests.waitUntil(30) { service.metric("pard_crops_classified_total") >= 5 }, "\(service.log)")
        #expect(service.stop() == 0, "\(service.log)")
        return try RunCommandTests.eventLines(service.events)
    }

    @Test func eachTrackGetsItsSnapshot() throws {
        let folder = try TemporaryDirectory("run-snapshots")
        let service = try RunningPard(output: "  snapshots:\n    directory: \(folder.path("s"))\n    max_size: 10MB")
        let tracks = try runOneTrack(service).filter { $0["type"] as? String == "track" }
        #expect(tracks.count == 1)
        let path = try #require(tracks.first?["snapshot"] as? String)
        #expect(path.hasPrefix(folder.path("s/cam1/1-")) && path.hasSuffix(".jpg"))
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.prefix(2) == Data([0xFF, 0xD8]), "a JPEG file")
    }

    @Test func anUnwritableFolderIsLoggedAndCountedNotFatal() throws {
        let folder = try TemporaryDirectory("run-snapshots-bad")
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder.path("file")))
        let service = try RunningPard(output: "  snapshots:\n    directory: \(folder.path("file/s"))")
        let events = try runOneTrack(service)
        #expect(events.contains { $0["type"] as? String == "track" }, "summaries are still written")
        #expect(service.log.contains("snapshot folder not writable"), "\(service.log)")
        #expect(service.log.contains("snapshot writes failing"), "\(service.log)")
    }
}
