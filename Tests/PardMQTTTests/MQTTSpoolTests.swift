import Foundation
import PardPipeline
import PardTestSupport
import Testing
@testable import PardMQTT

/// The spool on its own: order, acknowledgements, a restart, the drop policy when full, a record cut by a crash.
@Suite struct MQTTSpoolTests {
    static func event(_ i: Int, _ type: EventType = .attributes, stream: String = "cam1", padding: Int = 0) -> Event {
        Event(type: type, stream: stream, line: #"{"schema":1,"type":"\#(type.rawValue)","stream":"\#(stream)","i":\#(i),"pad":"\#(String(repeating: "x", count: padding))"}"#)
    }

    /// Sends everything unsent (marking it sent); the records in order.
    static func sendAll(_ spool: MQTTSpool) throws -> [MQTTSpool.Record] {
        var sent: [MQTTSpool.Record] = []
        while let record = try spool.nextUnsent() {
            spool.markSent(record)
            sent.append(record)
        }
        return sent
    }

    @Test func recordsComeBackInOrderAndLeaveWhenAcknowledged() throws {
        let tmp = try TemporaryDirectory("spool")
        let spool = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
        for i in 0..<50 { #expect(try spool.append(Self.event(i, i % 10 == 9 ? .track : .attributes)).isEmpty) }
        #expect(spool.pendingCount == 50)
        let sent = try Self.sendAll(spool)
        #expect(sent.map(\.line) == (0..<50).map { Self.event($0, $0 % 10 == 9 ? .track : .attributes).line })
        #expect(sent.map(\.type) == (0..<50).map { $0 % 10 == 9 ? .track : .attributes })
        // Acknowledgements out of order: the frontier waits for the oldest.
        spool.acknowledge(sent[1].seq)
        #expect(spool.pendingCount == 50)
        spool.acknowledge(sent[0].seq)
        #expect(spool.pendingCount == 48)
        for record in sent[2...] { spool.acknowledge(record.seq) }
        #expect(spool.pendingCount == 0 && spool.pendingBytes == 0 && spool.inflightCount == 0)
    }

    @Test func aRestartSendsTheUnacknowledgedFirstThenNewer() throws {
        let tmp = try TemporaryDirectory("spool")
        do {
            let spool = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
            for i in 0..<20 { _ = try spool.append(Self.event(i)) }
            let sent = try Self.sendAll(spool)
            for record in sent[..<5] { spool.acknowledge(record.seq) }
            spool.persist()
        }
        let again = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
        #expect(again.pendingCount == 15)
        _ = try again.append(Self.event(20))
        let lines = try Self.sendAll(again).map(\.line)
        #expect(lines == (5...20).map { Self.event($0).line })
    }

    @Test func aConnectionLostSendsWhatWasInFlightAgain() throws {
        let tmp = try TemporaryDirectory("spool")
        let spool = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
        for i in 0..<10 { _ = try spool.append(Self.event(i)) }
        let sent = try Self.sendAll(spool)
        spool.acknowledge(sent[0].seq)
        spool.rewind()
        #expect(try Self.sendAll(spool).map(\.line) == (1..<10).map { Self.event($0).line })
    }

    @Test func whenFullOldestAttributesGoFirstTracksLastInFlightNever() throws {
        let tmp = try TemporaryDirectory("spool")
        // 8 KiB: segments of 4 KiB; each event about 500 bytes.
        let spool = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 8192)
        var dropped: [EventType: Int] = [:]
        func add(_ e: Event) throws { for (t, n) in try spool.append(e) { dropped[t, default: 0] += n } }
        try add(Self.event(0, padding: 440))
        let inFlight = try #require(try spool.nextUnsent())
        spool.markSent(inFlight)
        for i in 1..<60 { try add(Self.event(i, i % 6 == 0 ? .track : .attributes, padding: 440)) }
        #expect(spool.pendingBytes <= 8192)
        #expect((dropped[.attributes] ?? 0) > 0)
        #expect(dropped[.track] == nil, "\(dropped)")
        #expect(spool.pendingCount + (dropped[.attributes] ?? 0) == 60)
        spool.rewind()
        let left = try Self.sendAll(spool).map(\.line)
        // The one in flight stays; every track summary stays; the attribute events kept are the newest.
        #expect(left.first == inFlight.line)
        let tracks = (1..<60).filter { $0 % 6 == 0 }.map { Self.event($0, .track, padding: 440).line }
        #expect(tracks.allSatisfy(left.contains))
        let keptAttributes = left.dropFirst().filter { $0.contains("attributes") }
        let newest = (1..<60).filter { $0 % 6 != 0 }.suffix(keptAttributes.count).map { Self.event($0, padding: 440).line }
        #expect(Array(keptAttributes) == newest)
        // Files on disk stay within the bound plus one segment.
        let bytes = try FileManager.default.contentsOfDirectory(atPath: tmp.path("spool")).reduce(0) {
            $0 + ((try? FileManager.default.attributesOfItem(atPath: tmp.path("spool/\($1)"))[.size] as? Int) ?? 0)
        }
        #expect(bytes <= 8192 + 4096 + 8, "\(bytes)")

        // Only track summaries left and still full: the oldest of them go.
        let trackSpool = try MQTTSpool(directory: tmp.path("tracks"), maxBytes: 8192)
        var trackDrops = 0
        for i in 0..<40 { trackDrops += try trackSpool.append(Self.event(i, .track, padding: 440))[.track] ?? 0 }
        #expect(trackDrops > 0 && trackSpool.pendingCount == 40 - trackDrops)
        #expect(try Self.sendAll(trackSpool).map(\.line) == (trackDrops..<40).map { Self.event($0, .track, padding: 440).line })
    }

    @Test func aRecordCutByACrashIsRemovedAndTheRestKept() throws {
        let tmp = try TemporaryDirectory("spool")
        do {
            let spool = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
            for i in 0..<3 { _ = try spool.append(Self.event(i)) }
        }
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: tmp.path("spool")).first { $0.hasSuffix(".seg") })
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp.path("spool/\(segment)")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(MQTTSpool.encode(seq: 3, Self.event(3)).prefix(30)))
        try handle.close()
        let spool = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
        #expect(spool.pendingCount == 3)
        _ = try spool.append(Self.event(4))
        #expect(try Self.sendAll(spool).map(\.line) == [0, 1, 2, 4].map { Self.event($0).line })
    }

    @Test func aSpoolInUseIsRefusedUntilReleased() throws {
        let tmp = try TemporaryDirectory("spool")
        let first = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
        do {
            _ = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
            Issue.record("a second spool on the same folder opened")
        } catch {
            #expect("\(error)".contains("in use by another pard process") && "\(error)".contains(tmp.path("spool")), "\(error)")
        }
        first.releaseLock()
        _ = try MQTTSpool(directory: tmp.path("spool"), maxBytes: 1 << 20)
    }

    @Test func aSpoolFolderThatCannotBeMadeIsNamed() throws {
        #expect(throws: MQTTError.self) { try MQTTSpool(directory: "/proc/pard-no-such/spool", maxBytes: 1 << 20) }
        do { _ = try MQTTSpool(directory: "/proc/pard-no-such/spool", maxBytes: 1 << 20) } catch {
            #expect("\(error)".contains("/proc/pard-no-such/spool"))
        }
    }
}
