import Foundation
import PARAttributes
import PardPipeline
import PardVideo
import Testing

/// The result side shared by `pard process` and `pard run`: events, counts and track books, fed work
/// items by hand with made-up logits.
@Suite struct ResultStageTests {
    // MARK: - Recorders

    final class RecordingSink: EventSink {
        var events: [Event] = []
        func emit(_ event: Event) { events.append(event) }
        func flush() throws {}

        /// The lines of type `type`, parsed.
        func objects(_ type: EventType) throws -> [[String: Any]] {
            try events.filter { $0.type == type }.map { event in
                let object = try JSONSerialization.jsonObject(with: Data(event.line.utf8)) as? [String: Any]
                return try #require(object, "not an object: \(event.line)")
            }
        }
    }

    final class RecordingObserver: PipelineObserver {
        var log: [String] = []
        var frames: [(stream: Int, frame: Int, pts: Double)] = []
        func classified(stream: Int) { log.append("classified \(stream)") }
        func skippedByInterval(stream: Int) { log.append("skipped \(stream)") }
        func invalid(stream: Int) { log.append("invalid \(stream)") }
        func shed(stream: Int, reason: ShedReason) { log.append("shed \(stream) \(reason.rawValue)") }
        func emitted(stream: Int, type: EventType) { log.append("emitted \(stream) \(type.rawValue)") }
        func frameDone(stream: Int, frame: Int, pts: Double) {
            log.append("frameDone \(stream) \(frame)")
            frames.append((stream, frame, pts))
        }

        func count(_ entry: String) -> Int { log.filter { $0 == entry }.count }
    }

    // MARK: - Helpers

    static let set: AttributeSet = {
        do {
            return try AttributeSet(name: "test",
                                    attributes: [.init(name: "female", sentence: "A woman."),
                                                 .init(name: "backpack", sentence: "A backpack."),
                                                 .init(name: "hat", sentence: "A hat.")],
                                    exclusiveGroups: [])
        } catch {
            fatalError("\(error)")
        }
    }()

    static func rect(_ box: Box) -> CropRect {
        CropRect(x0: Int(box.x.rounded()), y0: Int(box.y.rounded()),
                 x1: Int((box.x + box.w).rounded()), y1: Int((box.y + box.h).rounded()))
    }

    static func item(_ kind: WorkItem.Kind, stream: Int = 0, frame: Int, pts: Double, box: Box) -> WorkItem {
        WorkItem(stream: stream, frame: frame, pts: pts, box: box, kind: kind)
    }

    static func crop(stream: Int = 0, frame: Int, pts: Double, box: Box, slot: Int = 0) -> WorkItem {
        item(.crop(slot: slot, rect: rect(box)), stream: stream, frame: frame, pts: pts, box: box)
    }

    static func stage(_ streams: [(String, Double)] = [("cam", 2.0)], attributes: AttributeSet? = set,
                      threshold: Float = 0.5) -> (ResultStage, RecordingSink, RecordingObserver) {
        let sink = RecordingSink(), observer = RecordingObserver()
        let stage = ResultStage(streams: streams.map { ResultStage.Stream(name: $0.0, trackTimeout: $0.1) },
                                attributes: attributes, threshold: threshold, sink: sink, observer: observer)
        return (stage, sink, observer)
    }

    static func handle(_ stage: ResultStage, _ items: [WorkItem], _ logits: [Float]?) {
        if let logits {
            logits.withUnsafeBufferPointer { stage.handle(items, logits: $0.baseAddress) }
        } else {
            stage.handle(items, logits: nil)
        }
    }

    static func sigmoid(_ x: Float) -> Double { 1 / (1 + exp(-Double(x))) }
    static func rounded4(_ v: Double) -> Double { (v * 10_000).rounded() / 10_000 }

    static func number(_ any: Any?) -> Double? { (any as? NSNumber)?.doubleValue }

    static func probabilities(_ object: [String: Any]) -> [Double?] {
        let attributes = object["attributes"] as? [String: Any] ?? [:]
        return set.names.map { number(attributes[$0]) }
    }

    static func expectClose(_ got: [Double?], _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.count == expected.count, sourceLocation: sourceLocation)
        for (g, e) in zip(got, expected) {
            #expect(g.map { abs($0 - e) < 1e-9 } == true, "\(String(describing: g)) != \(e)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Attributes events

    @Test func aCropWithLogitsMakesOneAttributesEvent() throws {
        let (stage, sink, observer) = Self.stage()
        let box = Box(x: 10.4, y: 20.6, w: 30.25, h: 60.5, id: 7, score: 0.91234)
        let untracked = Box(x: 100, y: 50, w: 20, h: 40)
        let items = [Self.crop(frame: 12, pts: 0.44, box: box, slot: 3),
                     Self.item(.skippedByInterval, frame: 12, pts: 0.44, box: Box(x: 1, y: 1, w: 5, h: 5, id: 8)),
                     Self.crop(frame: 12, pts: 0.44, box: untracked, slot: 1),
                     WorkItem.frameDone(stream: 0, frame: 12, pts: 0.44)]
        // Row 0 for the first crop, row 1 for the second: the skipped item takes no row.
        let logits: [Float] = [0, 2, -1.5, -3, 1, 0.25]
        Self.handle(stage, items, logits)

        #expect(sink.events.count == 2)
        #expect(sink.events.allSatisfy { $0.type == .attributes && $0.stream == "cam" })
        let events = try sink.objects(.attributes)
        try #require(events.count == 2)
        let first = events[0], second = events[1]
        #expect(first["schema"] as? Int == 1)
        #expect(first["type"] as? String == "attributes")
        #expect(first["stream"] as? String == "cam")
        #expect(first["frame"] as? Int == 12)
        #expect(Self.number(first["pts"]) == 0.44)
        let b = try #require(first["box"] as? [String: Any])
        #expect(Self.number(b["x"]) == 10.4 && Self.number(b["y"]) == 20.6)
        #expect(Self.number(b["w"]) == 30.25 && Self.number(b["h"]) == 60.5)
        #expect((first["rect"] as? [Any])?.compactMap(Self.number) == [10, 21, 41, 81])
        #expect(first["id"] as? Int == 7)
        #expect(Self.number(first["score"]) == 0.9123)
        Self.expectClose(Self.probabilities(first), [0, 2, -1.5].map { Self.rounded4(Self.sigmoid($0)) })
        #expect(Self.probabilities(first).compactMap { $0 } == [0.5, 0.8808, 0.1824])
        #expect(first["labels"] as? [String] == ["female", "backpack"])

        #expect(second["id"] == nil)
        #expect(second["score"] == nil)
        Self.expectClose(Self.probabilities(second), [-3, 1, 0.25].map { Self.rounded4(Self.sigmoid($0)) })
        #expect(second["labels"] as? [String] == ["backpack", "hat"])

        #expect(observer.log == ["emitted 0 attributes", "classified 0", "skipped 0", "emitted 0 attributes",
                                 "classified 0", "frameDone 0 12"])
        #expect(observer.frames.first?.pts == 0.44)
        // Tracks 7 and 8 are open; the untracked box is no track.
        #expect(stage.openTracks == 2)
    }

    @Test func thresholdDecidesTheLabels() throws {
        let (stage, sink, _) = Self.stage(threshold: 0.6)
        Self.handle(stage, [Self.crop(frame: 1, pts: 0, box: Box(x: 0, y: 0, w: 10, h: 10))], [0, 2, 0.7])
        let event = try #require(try sink.objects(.attributes).first)
        #expect(event["labels"] as? [String] == ["backpack", "hat"])
    }

    // MARK: - Counting

    @Test func skippedInvalidAndShedItemsAreCountedAndTrackedBoxesSeen() throws {
        let (stage, sink, observer) = Self.stage()
        let t = Box(x: 0, y: 0, w: 10, h: 20, id: 5)
        let items = [Self.item(.skippedByInterval, frame: 1, pts: 0, box: t),
                     Self.item(.invalid, frame: 1, pts: 0, box: Box(x: -50, y: 0, w: 10, h: 10, id: 6)),
                     Self.item(.shed(.queueFull, rect: Self.rect(t)), frame: 2, pts: 0.04, box: t),
                     Self.item(.shed(.shutdown, rect: Self.rect(t)), frame: 3, pts: 0.08, box: t),
                     Self.item(.shed(.shutdown, rect: Self.rect(t)), frame: 3, pts: 0.08, box: Box(x: 0, y: 0, w: 1, h: 1))]
        Self.handle(stage, items, [])
        #expect(sink.events.isEmpty)
        #expect(observer.log == ["skipped 0", "invalid 0", "shed 0 queue_full", "shed 0 shutdown", "shed 0 shutdown"])
        // Track 5 was seen three times, never classified; an invalid box opens no track.
        #expect(stage.openTracks == 1)
        stage.closeAllTracks()
        let tracks = try sink.objects(.track)
        try #require(tracks.count == 1)
        #expect(tracks[0]["id"] as? Int == 5)
        #expect(tracks[0]["boxes"] as? Int == 3)
        #expect(tracks[0]["observations"] as? Int == 0)
        #expect(tracks[0]["first_frame"] as? Int == 1 && tracks[0]["last_frame"] as? Int == 3)
        #expect((tracks[0]["attributes"] as? [String: Any])?.isEmpty == true)
        #expect(tracks[0]["labels"] as? [String] == [])
        #expect(observer.log.last == "emitted 0 track")
    }

    // MARK: - Tracks

    @Test func frameDoneExpiresTracksUnseenForLongerThanTheirTimeout() throws {
        let (stage, sink, observer) = Self.stage([("cam", 2.0)])
        let t7 = Box(x: 0, y: 0, w: 10, h: 20, id: 7)
        Self.handle(stage, [Self.crop(frame: 1, pts: 0, box: t7), WorkItem.frameDone(stream: 0, frame: 1, pts: 0)], [2, -1.5, 0])
        Self.handle(stage, [Self.item(.skippedByInterval, frame: 2, pts: 0.04, box: t7),
                            Self.item(.shed(.queueFull, rect: Self.rect(t7)), frame: 3, pts: 0.08, box: t7),
                            WorkItem.frameDone(stream: 0, frame: 3, pts: 0.08)], [])
        Self.handle(stage, [Self.crop(frame: 26, pts: 1.0, box: t7), WorkItem.frameDone(stream: 0, frame: 26, pts: 1.0)], [1, 0.25, -3])
        #expect(sink.events.count == 2)

        // Unseen for exactly the timeout: still open.
        Self.handle(stage, [WorkItem.frameDone(stream: 0, frame: 76, pts: 3.0)], [])
        #expect(stage.openTracks == 1)
        #expect(try sink.objects(.track).isEmpty)

        // For longer: summarised, before the frame is reported done.
        Self.handle(stage, [WorkItem.frameDone(stream: 0, frame: 77, pts: 3.04)], [])
        #expect(stage.openTracks == 0)
        let tracks = try sink.objects(.track)
        try #require(tracks.count == 1)
        let track = tracks[0]
        #expect(track["type"] as? String == "track")
        #expect(track["stream"] as? String == "cam")
        #expect(track["id"] as? Int == 7)
        #expect(track["first_frame"] as? Int == 1)
        #expect(track["last_frame"] as? Int == 26)
        #expect(Self.number(track["first_pts"]) == 0)
        #expect(Self.number(track["last_pts"]) == 1.0)
        #expect(track["boxes"] as? Int == 4)
        #expect(track["observations"] as? Int == 2)
        let mean = zip([Float(2), -1.5, 0], [Float(1), 0.25, -3]).map { Self.rounded4((Self.sigmoid($0) + Self.sigmoid($1)) / 2) }
        Self.expectClose(Self.probabilities(track), mean)
        #expect(Self.probabilities(track).compactMap { $0 } == [0.8059, 0.3723, 0.2737])
        #expect(track["labels"] as? [String] == ["female"])
        #expect(Array(observer.log.suffix(2)) == ["emitted 0 track", "frameDone 0 77"])

        // Nothing left for the end.
        stage.closeAllTracks()
        #expect(try sink.objects(.track).count == 1)
    }

    @Test func expiredTracksComeInOrderOfLastSighting() throws {
        let (stage, sink, _) = Self.stage([("cam", 1.0)])
        Self.handle(stage, [Self.item(.skippedByInterval, frame: 1, pts: 0, box: Box(x: 0, y: 0, w: 1, h: 1, id: 9)),
                            Self.item(.skippedByInterval, frame: 1, pts: 0, box: Box(x: 0, y: 0, w: 1, h: 1, id: 3)),
                            Self.item(.skippedByInterval, frame: 2, pts: 0.5, box: Box(x: 0, y: 0, w: 1, h: 1, id: 1)),
                            Self.item(.skippedByInterval, frame: 3, pts: 1.5, box: Box(x: 0, y: 0, w: 1, h: 1, id: 4))], [])
        Self.handle(stage, [WorkItem.frameDone(stream: 0, frame: 10, pts: 2.0)], [])
        #expect(try sink.objects(.track).map { $0["id"] as? Int } == [3, 9, 1])
        #expect(stage.openTracks == 1)
    }

    @Test func twoStreamsKeepSeparateTrackBooks() throws {
        let (stage, sink, observer) = Self.stage([("a", 1.0), ("b", 1.0)])
        let t7 = Box(x: 0, y: 0, w: 10, h: 20, id: 7)
        Self.handle(stage, [Self.crop(stream: 0, frame: 1, pts: 0, box: t7),
                            Self.crop(stream: 1, frame: 1, pts: 0, box: t7),
                            Self.item(.skippedByInterval, stream: 1, frame: 5, pts: 0.5, box: t7)],
                    [2, -1.5, 0, -3, 1, 0.25])
        #expect(stage.openTracks == 2)
        let attributes = try sink.objects(.attributes)
        #expect(attributes.map { $0["stream"] as? String } == ["a", "b"])
        #expect(sink.events.map(\.stream) == ["a", "b"])
        #expect(observer.log == ["emitted 0 attributes", "classified 0", "emitted 1 attributes", "classified 1", "skipped 1"])

        // Stream b's clock moves on: only its track 7 ends.
        Self.handle(stage, [WorkItem.frameDone(stream: 1, frame: 100, pts: 5)], [])
        var tracks = try sink.objects(.track)
        try #require(tracks.count == 1)
        #expect(tracks[0]["stream"] as? String == "b")
        #expect(tracks[0]["boxes"] as? Int == 2)
        #expect(tracks[0]["observations"] as? Int == 1)
        Self.expectClose(Self.probabilities(tracks[0]), [-3, 1, 0.25].map { Self.rounded4(Self.sigmoid($0)) })
        #expect(stage.openTracks == 1)
        #expect(observer.frames.map(\.stream) == [1])

        stage.closeAllTracks()
        tracks = try sink.objects(.track)
        try #require(tracks.count == 2)
        #expect(tracks[1]["stream"] as? String == "a")
        #expect(tracks[1]["boxes"] as? Int == 1)
        Self.expectClose(Self.probabilities(tracks[1]), [2, -1.5, 0].map { Self.rounded4(Self.sigmoid($0)) })
        #expect(sink.events.last?.stream == "a")
        #expect(stage.openTracks == 0)
    }

    @Test func closeAllTracksSummarisesStreamByStreamInOrderOfFirstSighting() throws {
        let (stage, sink, _) = Self.stage([("a", 10), ("b", 10)])
        func seen(_ stream: Int, _ id: Int, _ pts: Double) -> WorkItem {
            Self.item(.skippedByInterval, stream: stream, frame: Int(pts * 25) + 1, pts: pts, box: Box(x: 0, y: 0, w: 1, h: 1, id: id))
        }
        Self.handle(stage, [seen(1, 1, 0), seen(0, 3, 0.5), seen(0, 2, 0.5), seen(0, 9, 0.0), seen(0, 3, 0.9)], [])
        #expect(stage.openTracks == 4)
        stage.closeAllTracks()
        let tracks = try sink.objects(.track)
        #expect(tracks.map { "\($0["stream"] as? String ?? "?")\($0["id"] as? Int ?? -1)" } == ["a9", "a2", "a3", "b1"])
        #expect(tracks[2]["boxes"] as? Int == 2)
        #expect(stage.openTracks == 0)
        stage.closeAllTracks()
        #expect(try sink.objects(.track).count == 4)
    }

    // MARK: - Without a model

    @Test func withoutAModelNothingIsEmittedButEverythingIsCounted() {
        let (stage, sink, observer) = Self.stage([("cam", 1.0)], attributes: nil)
        let t = Box(x: 0, y: 0, w: 10, h: 20, id: 4)
        Self.handle(stage, [Self.crop(frame: 1, pts: 0, box: t),
                            Self.crop(frame: 1, pts: 0, box: Box(x: 20, y: 0, w: 10, h: 20)),
                            Self.item(.skippedByInterval, frame: 2, pts: 0.04, box: t),
                            Self.item(.invalid, frame: 2, pts: 0.04, box: Box(x: 0, y: 0, w: 0, h: 0)),
                            Self.item(.shed(.queueFull, rect: Self.rect(t)), frame: 3, pts: 0.08, box: t),
                            WorkItem.frameDone(stream: 0, frame: 3, pts: 0.08)], nil)
        #expect(sink.events.isEmpty)
        #expect(observer.log == ["classified 0", "classified 0", "skipped 0", "invalid 0", "shed 0 queue_full", "frameDone 0 3"])
        #expect(stage.openTracks == 1)
        // The track ends (timeout, then at the end) without an event.
        Self.handle(stage, [WorkItem.frameDone(stream: 0, frame: 100, pts: 4)], nil)
        #expect(stage.openTracks == 0)
        Self.handle(stage, [Self.item(.skippedByInterval, frame: 101, pts: 4.04, box: t)], nil)
        stage.closeAllTracks()
        #expect(stage.openTracks == 0)
        #expect(sink.events.isEmpty)
        #expect(!observer.log.contains { $0.hasPrefix("emitted") })
    }
}
