import Foundation
import PardPipeline
import PardVideo
import Testing

/// The stage that sends crops to remote workers (`inference: {nats: ...}`), against a queue in memory:
/// order kept whatever order results come in, one event per crop (duplicates and late results dropped and
/// counted), the in-flight bound, timeouts, refusals and failed sends.
@Suite struct RemoteInferenceStageTests {
    /// A queue in memory: records what is sent, answers what the test says.
    final class FakeQueue: RemoteCropQueue {
        let edge = "e1"
        /// Crop ids sent, in order, and the first pixel of each.
        var sent: [(id: String, pixel: Float)] = []
        var pixels: [String: Float] = [:]
        var failing = false
        var answers: [RemoteResult] = []

        func message(for crop: RemoteCrop, pixels: UnsafeBufferPointer<Float>) -> [UInt8] {
            self.pixels[crop.id] = pixels[0]
            return Array(crop.id.utf8)
        }

        func send(_ message: [UInt8], id: String) throws {
            if failing { throw CocoaError(.featureUnsupported) }
            sent.append((id, pixels[id] ?? .nan))
        }

        func receive(timeout: Double) -> [RemoteResult] {
            defer { answers = [] }
            return answers
        }

        func answer(_ id: String, logits: [Float], delivered: Int = 1) {
            answers.append(RemoteResult(id: id, outcome: .logits(logits), delivered: delivered))
        }
    }

    final class Counts: RemoteInferenceStage.RemoteObserver {
        var published = 0, failures = 0, redelivered = 0
        var dropped: [String] = []
        func published(bytes: Int) { published += 1 }
        func publishFailed(_ error: Error) { failures += 1 }
        func answered(seconds: Double, delivered: Int) { if delivered > 1 { redelivered += 1 } }
        func dropped(reason: String) { dropped.append(reason) }
        func inFlight(_ count: Int) {}
    }

    typealias R = ResultStageTests

    /// A pool of 8 two-float slots, a result stage, the stage over a fake queue.
    static func make(maxInFlight: Int = 8, timeout: Double = 60)
        -> (RemoteInferenceStage, CropPool, FakeQueue, R.RecordingSink, R.RecordingObserver, Counts) {
        let pool = CropPool(capacity: 8, floatsPerCrop: 2, whenFull: .shed(.oldestFirst))
        let (results, sink, observer) = R.stage()
        let queue = FakeQueue(), counts = Counts()
        let stage = RemoteInferenceStage(pool: pool, results: results, queue: queue, attributes: 3, maxInFlight: maxInFlight,
                                         resultTimeout: timeout, observer: counts)
        return (stage, pool, queue, sink, observer, counts)
    }

    /// Crops of frame `frame` (first pixel = `frame * 10 + i`), then the frame's end.
    static func push(_ pool: CropPool, frame: Int, boxes: Int) throws {
        var items: [WorkItem] = []
        for i in 0..<boxes {
            guard case .slot(let slot) = pool.reserveSlot() else { throw CocoaError(.featureUnsupported) }
            pool.buffer(slot)[0] = Float(frame * 10 + i)
            let box = Box(x: Double(10 * i), y: 0, w: 5, h: 10, id: i + 1)
            items.append(R.crop(frame: frame, pts: Double(frame), box: box, slot: slot))
        }
        pool.push(items + [.frameDone(stream: 0, frame: frame, pts: Double(frame))])
    }

    /// The attribute events' `frame` and first probability, in order.
    static func events(_ sink: R.RecordingSink) throws -> [(frame: Int, p: Double)] {
        try sink.objects(.attributes).map { ($0["frame"] as? Int ?? -1, R.probabilities($0)[0] ?? -1) }
    }

    @Test func resultsInAnyOrderAreHandedOnInTheOrderTaken() throws {
        let (stage, pool, queue, sink, observer, _) = Self.make()
        try Self.push(pool, frame: 1, boxes: 2)
        try Self.push(pool, frame: 2, boxes: 1)
        stage.step(idle: 0, poll: 0)
        #expect(queue.sent.map(\.pixel) == [10, 11, 20], "the pixels of each slot, in order")
        #expect(stage.inFlight == 3)
        // The last crop answers first: nothing can be handed on before the first crop's result.
        queue.answer(queue.sent[2].id, logits: [2, 0, 0])
        stage.step(idle: 0, poll: 0)
        #expect(sink.events.isEmpty)
        #expect(observer.count("frameDone 0 1") == 0)
        queue.answer(queue.sent[0].id, logits: [0, 0, 0])
        queue.answer(queue.sent[1].id, logits: [1, 0, 0])
        stage.step(idle: 0, poll: 0)
        let events = try Self.events(sink)
        #expect(events.map(\.frame) == [1, 1, 2])
        #expect(events.map(\.p) == [0, 1, 2].map { R.rounded4(R.sigmoid($0)) })
        #expect(observer.log.filter { $0.hasPrefix("frameDone") } == ["frameDone 0 1", "frameDone 0 2"])
        #expect(stage.inFlight == 0)
    }

    @Test func duplicatesLateResultsTimeoutsAndRefusalsAreCountedOnce() throws {
        let (stage, pool, queue, sink, observer, counts) = Self.make(timeout: 0.2)
        try Self.push(pool, frame: 1, boxes: 3)
        stage.step(idle: 0, poll: 0)
        let ids = queue.sent.map(\.id)
        queue.answer(ids[0], logits: [0, 0, 0], delivered: 2)
        queue.answer(ids[0], logits: [5, 5, 5])  // the first delivery's late answer
        queue.answers.append(RemoteResult(id: ids[1], outcome: .refused(.modelMismatch), delivered: 1))
        stage.step(idle: 0, poll: 0)
        #expect(counts.dropped == ["duplicate"])
        #expect(counts.redelivered == 1)
        Thread.sleep(forTimeInterval: 0.3)
        stage.step(idle: 0, poll: 0)  // the third crop's time is up
        queue.answer(ids[2], logits: [0, 0, 0])
        queue.answer("e1.other-session.1", logits: [0, 0, 0])
        stage.step(idle: 0, poll: 0)
        #expect(counts.dropped == ["duplicate", "late", "unknown"])
        #expect(try Self.events(sink).count == 1)
        #expect(observer.count("shed 0 model_mismatch") == 1)
        #expect(observer.count("shed 0 result_timeout") == 1)
        #expect(observer.count("frameDone 0 1") == 1)
    }

    @Test func atMostMaxInFlightCropsAreOut() throws {
        let (stage, pool, queue, sink, _, _) = Self.make(maxInFlight: 2)
        try Self.push(pool, frame: 1, boxes: 3)
        stage.step(idle: 0, poll: 0)
        #expect(queue.sent.count == 2)
        #expect(pool.depth == 1)
        queue.answer(queue.sent[0].id, logits: [0, 0, 0])
        stage.step(idle: 0, poll: 0)  // the answer frees room: the third goes next turn
        stage.step(idle: 0, poll: 0)
        #expect(queue.sent.count == 3)
        for s in queue.sent.dropFirst() { queue.answer(s.id, logits: [0, 0, 0]) }
        stage.step(idle: 0, poll: 0)
        #expect(try Self.events(sink).count == 3)
    }

    @Test func failedSendsAreRetriedInOrderThenGivenUp() throws {
        let (stage, pool, queue, _, observer, counts) = Self.make(timeout: 0.3)
        queue.failing = true
        try Self.push(pool, frame: 1, boxes: 2)
        stage.step(idle: 0, poll: 0)
        #expect(counts.failures == 1 && queue.sent.isEmpty)
        queue.failing = false
        stage.step(idle: 0, poll: 0)
        #expect(queue.sent.map(\.pixel) == [10, 11])
        try Self.push(pool, frame: 2, boxes: 1)
        queue.failing = true
        stage.step(idle: 0, poll: 0)  // taken, not sent
        Thread.sleep(forTimeInterval: 0.4)
        stage.step(idle: 0, poll: 0)
        #expect(observer.count("shed 0 result_timeout") == 2)
        #expect(observer.count("shed 0 not_published") == 1)
        // Shutdown with nothing out: everything accounted for, once.
        #expect(stage.finish(within: 0.1, poll: 0) == 0)
        #expect(observer.log.filter { $0.hasPrefix("frameDone") }.count == 2)
    }
}
