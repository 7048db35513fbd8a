import Foundation
import PardTestSupport
import Testing

/// `pard run` meeting what real disks and real files do: an event file that cannot be written, and a file
/// stream that loops.
@Suite(.serialized) struct RunServiceFaultTests {
    @Test func anEventFileThatCannotBeWrittenDoesNotStopTheService() throws {
        let service = try RunningPard(events: "/dev/full")
        #expect(service.waitForFrames(3), "\(service.log)")
        let first = Int(service.metric("pard_frames_decoded_total"))
        try service.push((first + 1...first + 10).map { RunCommandTests.detection(frame: $0, id: 1) })
        #expect(RunCommandTests.waitUntil(30) { service.metric("pard_crops_classified_total") >= 10 }, "\(service.log)")
        #expect(RunCommandTests.waitUntil(10) { service.health.contains("events failing") }, "\(service.health)")
        #expect(service.health.contains("/dev/full"))
        // Still running a few seconds later, logging the failure once, still classifying.
        Thread.sleep(forTimeInterval: 2)
        #expect(service.process.isRunning)
        try service.push([RunCommandTests.detection(frame: Int(service.metric("pard_frames_decoded_total")) + 1, id: 1)])
        #expect(RunCommandTests.waitUntil(30) { service.metric("pard_crops_classified_total") >= 11 }, "\(service.log)")
        #expect(service.log.components(separatedBy: "event writes failing").count == 2, "\(service.log)")
        // SIGTERM: a clean shutdown; the events that never reached the file are counted, none silently.
        let events = Int(service.metric("pard_events_total", "attributes"))
        #expect(service.stop() == 0, "\(service.log)")
        #expect(service.log.contains("events not written at shutdown"), "\(service.log)")
        #expect(service.stoppedField("events_dropped") == events + 1, "\(service.log)")  // + the track summary
    }

    @Test func aFullDiskIsSurvivedAndWritingResumesWithWholeLines() throws {
        let disk = try SmallFileSystem(bytes: 64 << 10)
        try disk.fill("filler", leaving: 4096)
        let events = disk.path("events.jsonl")
        let service = try RunningPard(events: events)
        #expect(service.waitForFrames(3), "\(service.log)")
        let first = Int(service.metric("pard_frames_decoded_total"))
        // About 40 KB of events: more than the disk has.
        try service.push((first + 1...first + 40).map { RunCommandTests.detection(frame: $0, id: 1) })
        #expect(RunCommandTests.waitUntil(60) { service.metric("pard_crops_classified_total") >= 40 }, "\(service.log)")
        #expect(RunCommandTests.waitUntil(10) { service.health.contains("events failing") }, "\(service.health)")
        let partial = try RunCommandTests.eventLines(events)  // whole lines only (checked by eventLines)
        #expect(partial.count < 40)

        // Space again: the kept events are written after the others, in order, none lost.
        try FileManager.default.removeItem(atPath: disk.path("filler"))
        #expect(RunCommandTests.waitUntil(10) { !service.health.contains("events failing") }, "\(service.health)")
        #expect(service.log.contains("event writes work again"), "\(service.log)")
        #expect(service.stop() == 0, "\(service.log)")
        let all = try RunCommandTests.eventLines(events)
        let frames = all.filter { $0["type"] as? String == "attributes" }.compactMap { $0["frame"] as? Int }
        #expect(frames == Array(first + 1...first + 40))
        #expect(all.filter { $0["type"] as? String == "track" }.count == 1)
        #expect(RunCommandTests.metric(service.metrics, "pard_events_dropped_total") == 0)
    }

    /// A looping file keeps counting frames and time across passes: events and tracks carry the stream-wide
    /// frame and pts that detections use, and one track seen across the wrap stays one track.
    @Test func aLoopingFileKeepsStreamWideFramesAndTracks() throws {
        let tmp = try TemporaryDirectory("pard-run-loop")
        let events = tmp.path("events.jsonl")
        let service = try RunningPard(events: events)
        // The clip has 100 frames; push frames 95...115 of track 1 as the stream reaches them.
        #expect(service.waitForFrames(92), "\(service.log)")
        try service.push((95...115).map { RunCommandTests.detection(frame: $0, id: 1) })
        #expect(RunCommandTests.waitUntil(30) {
            ((try? RunCommandTests.eventLines(events)) ?? []).filter { $0["type"] as? String == "attributes" }.count >= 21
        }, "\(service.log)")
        #expect(service.stop() == 0, "\(service.log)")
        let all = try RunCommandTests.eventLines(events)
        let attributes = all.filter { $0["type"] as? String == "attributes" }
        #expect(attributes.compactMap { $0["frame"] as? Int } == Array(95...115))
        for event in attributes {
            let frame = try #require(event["frame"] as? Int), pts = try #require(event["pts"] as? Double)
            #expect(abs(pts - Double(frame - 1) * 0.1) < 1e-6, "frame \(frame) pts \(pts)")
        }
        let tracks = all.filter { $0["type"] as? String == "track" }
        #expect(tracks.count == 1, "\(tracks)")
        #expect(tracks.first?["boxes"] as? Int == 21 && tracks.first?["observations"] as? Int == 21)
        #expect(tracks.first?["first_frame"] as? Int == 95 && tracks.first?["last_frame"] as? Int == 115)
    }
}
