import Foundation
import PardTestSupport
import Testing

/// `pard run` with `inference: {nats: ...}` and `pard worker`s, against a real `nats-server -js` started by
/// the tests: every admitted crop gets exactly one event with the probabilities of local inference, through
/// killed workers, a killed server and separate network namespaces.
@Suite(.serialized) struct RunNATSTests {
    /// Frames whose detections are pushed: two boxes each (tracks 1 and 2), so 40 crops.
    static let frames = Array(21...40)

    /// The detection lines of `frames`.
    static func detections(_ frames: [Int]) -> [String] {
        frames.map { f in
            #"{"frame": \#(f), "boxes": [{"x": 498.27, "y": 151.7, "w": 35.47, "h": 90.6, "id": 1, "score": 0.9}, "#
                + #"{"x": 300.5, "y": 120.2, "w": 48.1, "h": 110.3, "id": 2, "score": 0.8}]}"#
        }
    }

    /// Attribute events by `frame/id`: the attributes object as sorted JSON (the probabilities as written).
    static func attributeEvents(_ path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for event in try RunCommandTests.eventLines(path) where event["type"] as? String == "attributes" {
            let key = "\(event["frame"] ?? "?")/\(event["id"] ?? "?")"
            let attributes = try JSONSerialization.data(withJSONObject: event["attributes"] ?? [:], options: [.sortedKeys])
            #expect(out[key] == nil, "a second event for crop \(key)")
            out[key] = String(decoding: attributes, as: UTF8.self)
        }
        return out
    }

    /// `got` has `expected`'s crops, each attribute's probability within 1e-4 (one step of the printed
    /// 4th decimal) of `expected`'s.
    static func expectWithin1e4(_ got: [String: String], _ expected: [String: String]) throws {
        #expect(Set(got.keys) == Set(expected.keys))
        for (key, want) in expected {
            guard let have = got[key] else { continue }
            let a = try #require(try JSONSerialization.jsonObject(with: Data(have.utf8)) as? [String: Double], "crop \(key)")
            let b = try #require(try JSONSerialization.jsonObject(with: Data(want.utf8)) as? [String: Double], "crop \(key)")
            #expect(Set(a.keys) == Set(b.keys), "crop \(key)")
            for (name, p) in b { #expect(abs((a[name] ?? .infinity) - p) <= 1.0001e-4, "crop \(key): \(name) \(a[name] ?? .nan) vs \(p)") }
        }
    }

    /// Attribute events in the file (every line, duplicates too).
    static func attributeLineCount(_ path: String) -> Int {
        ((try? RunCommandTests.eventLines(path)) ?? []).filter { $0["type"] as? String == "attributes" }.count
    }

    /// Waits until the stream has decoded past `frames` (so they are held), then pushes their detections.
    static func push(_ frames: [Int], to pard: RunningPard) throws {
        let last = frames.max() ?? 0
        #expect(RunCommandTests.waitUntil(60) { pard.metric("pard_frames_decoded_total") > Double(last) }, "\(pard.log)")
        try pard.push(detections(frames))
    }

    /// The events of local inference for `frames` (the same model, frames and boxes), made once, one
    /// crop a batch on one thread, as the workers run. Workers of one crop a batch give these bits
    /// exactly; in batches of several, or on another number of threads, the last bits of a crop's fp32
    /// sums can differ (seen with OpenBLAS's `Haswell` kernel, which an AMD EPYC Zen 4's environment
    /// forced: `pard process` with `--batch 2` and `--batch 4`, or `--threads 1` and `--threads 2`,
    /// printed a few probabilities one step of the 4th decimal apart), so those compare within 1e-4.
    static let reference: Result<[String: String], Error> = Result {
        let pard = try RunningPard(frameBuffer: 10, shutdownTimeout: 10, model: "batch_size: 1\nthreads: 1")
        try push(frames, to: pard)
        _ = RunCommandTests.waitUntil(60) { attributeLineCount(pard.events) >= 2 * frames.count }
        #expect(pard.stop() == 0)
        return try attributeEvents(pard.events)
    }

    /// The `inference:` block of an edge.
    static func inference(_ url: String, edge: String = "edge1", resultTimeout: Double = 60) -> String {
        "inference:\n  nats: \(url)\n  edge: \(edge)\n  result_timeout: \(resultTimeout)\n  max_in_flight: 16"
    }

    /// Edge metrics every remote test checks: no crop shed, and as many results used as crops.
    static func expectAllUsed(_ pard: RunningPard, crops: Int) {
        #expect(pard.metric("pard_remote_results_total", #"result="used""#) == Double(crops), "\(pard.metrics)")
        #expect(pard.metric("pard_crops_shed_total") == 0)
    }

    @Test func twoWorkersOnLoopbackGiveLocalInferenceEvents() throws {
        let expected = try Self.reference.get()
        #expect(expected.count == 2 * Self.frames.count)
        let nats = try NATSServer()
        let workers = try (1...2).map { try RunningWorker(nats: nats.url, name: "w\($0)", batchSize: 2) }
        for w in workers { #expect(w.waitReady(), "\(w.log)") }
        let pard = try RunningPard(frameBuffer: 10, inference: Self.inference(nats.url))
        try Self.push(Self.frames, to: pard)
        #expect(RunCommandTests.waitUntil(60) { Self.attributeLineCount(pard.events) >= expected.count }, "\(pard.log)")
        Thread.sleep(forTimeInterval: 0.5)  // nothing more comes
        try Self.expectWithin1e4(try Self.attributeEvents(pard.events), expected)  // batches of 2: see `reference`
        #expect(Self.attributeLineCount(pard.events) == expected.count)
        Self.expectAllUsed(pard, crops: expected.count)
        #expect(workers.map { $0.metric("pard_worker_crops_total", #"result="classified""#) }.reduce(0, +) == Double(expected.count))
        #expect(pard.stop() == 0)
        for w in workers { #expect(w.stop() == 0, "\(w.log)") }
    }

    @Test func killedWorkersCropsAreRedeliveredAndDuplicatesDropped() throws {
        let expected = try Self.reference.get()
        let nats = try NATSServer()
        // Holds every batch for 30 s: killed while it holds one.
        let doomed = try RunningWorker(nats: nats.url, name: "doomed", ackWait: 2, batchSize: 1, hold: 30)
        #expect(doomed.waitReady(), "\(doomed.log)")
        let pard = try RunningPard(frameBuffer: 10, inference: Self.inference(nats.url))
        try Self.push(Self.frames, to: pard)
        #expect(RunCommandTests.waitUntil(30) { doomed.metric("pard_worker_fetched_total") >= 1 })
        // Holds every batch 3 s, past the 2 s ack wait: its results come after those of the redelivery.
        let slow = try RunningWorker(nats: nats.url, name: "slow", ackWait: 2, batchSize: 1, hold: 3)
        #expect(slow.waitReady(), "\(slow.log)")
        #expect(RunCommandTests.waitUntil(30) { slow.metric("pard_worker_fetched_total") >= 1 })
        doomed.kill()
        let fresh = try RunningWorker(nats: nats.url, name: "fresh", ackWait: 2, batchSize: 1)
        #expect(fresh.waitReady(), "\(fresh.log)")
        #expect(RunCommandTests.waitUntil(90) { Self.attributeLineCount(pard.events) >= expected.count }, "\(pard.log)")
        // The slow worker's late results arrive and are dropped.
        #expect(RunCommandTests.waitUntil(30) { pard.metric("pard_remote_results_total", #"result="duplicate""#) >= 1 }, "\(pard.metrics)")
        #expect(try Self.attributeEvents(pard.events) == expected)
        #expect(Self.attributeLineCount(pard.events) == expected.count)
        Self.expectAllUsed(pard, crops: expected.count)
        #expect(pard.metric("pard_remote_redelivered_total") >= 1)
        #expect(fresh.metric("pard_worker_redelivered_total") + slow.metric("pard_worker_redelivered_total") >= 1)
        #expect(pard.stop() == 0)
    }

    @Test func natsServerKilledAndRestartedMidRun() throws {
        let expected = try Self.reference.get()
        let nats = try NATSServer()
        let worker = try RunningWorker(nats: nats.url, name: "w1", ackWait: 3, batchSize: 1)
        #expect(worker.waitReady(), "\(worker.log)")
        let pard = try RunningPard(frameBuffer: 10, inference: Self.inference(nats.url, resultTimeout: 30))
        let (first, second) = (Array(Self.frames.prefix(10)), Array(Self.frames.dropFirst(10)))
        try Self.push(first, to: pard)
        #expect(RunCommandTests.waitUntil(30) { Self.attributeLineCount(pard.events) >= 1 })
        nats.kill()  // mid-run: some crops of the first frames may be out
        try pard.push(Self.detections(second))
        #expect(RunCommandTests.waitUntil(10) { pard.health.contains("NATS \(nats.url): not connected") }, "\(pard.health)")
        Thread.sleep(forTimeInterval: 3)
        try nats.start()
        // Every crop accepted is classified, or shed with a reason (a message the killed server had not written).
        let accounted = { Self.attributeLineCount(pard.events) + Int(pard.metric("pard_crops_shed_total")) }
        #expect(RunCommandTests.waitUntil(90) { accounted() >= expected.count }, "\(pard.log)\n\(worker.log)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(accounted() == expected.count, "\(pard.metrics)")
        let events = try Self.attributeEvents(pard.events)
        for (key, attributes) in events { #expect(expected[key] == attributes, "crop \(key)") }
        #expect(events.count >= expected.count - Int(pard.metric("pard_crops_shed_total", #"reason="result_timeout""#)))
        #expect(pard.metric("pard_crops_shed_total", #"reason="queue_full""#) == 0)
        // Both came back without a restart, and go on.
        #expect(pard.metric("pard_nats_reconnects_total") >= 1)
        #expect(pard.health.contains("1 of 1 streams up") && !pard.health.contains("NATS"), "\(pard.health)")
        // The worker came back too, and classifies again. (It once did not: libnats 3.4's batch fetch
        // overran its array after the restart and crashed it; see NATSPullSubscriptionTests.)
        #expect(RunCommandTests.waitUntil(30) { worker.metric("pard_nats_reconnects_total") >= 1 }, "\(worker.log)")
        let before = Self.attributeLineCount(pard.events)
        try Self.push([45], to: pard)
        #expect(RunCommandTests.waitUntil(30) { Self.attributeLineCount(pard.events) == before + 2 }, "\(pard.log)\n\(worker.log)")
        #expect(pard.stop() == 0)
    }

    @Test func edgeServerAndWorkersInSeparateNetworkNamespaces() throws {
        let expected = try Self.reference.get()
        let net = try NetworkNamespace(clients: 2)
        defer { net.remove() }
        let nats = try NATSServer(host: net.serverAddress, namespace: net.server)
        let workers = try (1...2).map { try RunningWorker(nats: nats.url, name: "w\($0)", batchSize: 1, namespace: net.clients[1].name) }
        for w in workers { #expect(w.waitReady(), "\(w.log)") }
        let pard = try RunningPard(frameBuffer: 10, inference: Self.inference(nats.url), namespace: net.clients[0].name)
        try Self.push(Self.frames, to: pard)
        #expect(RunCommandTests.waitUntil(60) { Self.attributeLineCount(pard.events) >= expected.count }, "\(pard.log)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try Self.attributeEvents(pard.events) == expected)
        Self.expectAllUsed(pard, crops: expected.count)
        // The edge cannot reach the server on loopback: it really went over the veths.
        #expect(!pard.log.contains("127.0.0.1:\(nats.port)"))
        #expect(pard.stop() == 0)
        for w in workers { w.kill() }
    }

    @Test func cropsForAnotherModelAndUnansweredCropsAreCounted() throws {
        let nats = try NATSServer()
        // No worker yet: the crops time out.
        let pard = try RunningPard(frameBuffer: 10, inference: Self.inference(nats.url, resultTimeout: 2))
        try Self.push([21, 22], to: pard)
        #expect(RunCommandTests.waitUntil(30) { pard.metric("pard_crops_shed_total", #"reason="result_timeout""#) == 4 }, "\(pard.metrics)")
        // A worker of another model refuses what is queued (the 4 crops above) and what comes.
        let other = try RunningWorker(nats: nats.url, name: "other", checkpoint: Fixtures.url("promptpar-small/checkpoint.pth").path, attributes: "PETA")
        #expect(other.waitReady(), "\(other.log)")
        try Self.push([25, 26], to: pard)
        #expect(RunCommandTests.waitUntil(30) { pard.metric("pard_crops_shed_total", #"reason="model_mismatch""#) == 4 }, "\(pard.metrics)")
        #expect(RunCommandTests.waitUntil(30) { other.metric("pard_worker_crops_total", #"result="model_mismatch""#) == 8 }, "\(other.metrics)")
        #expect(pard.metric("pard_remote_results_total", #"result="late""#) == 4)  // the refusals of the timed-out crops
        #expect(Self.attributeLineCount(pard.events) == 0)
        #expect(pard.stop() == 0)
    }
}
