import Foundation
@testable import PardDaemon
import PardTestSupport
import Testing

/// `inference:` in pard.yaml, `pard worker`'s file, and the crop and result messages between them.
@Suite struct RemoteInferenceConfigTests {
    @Test func inferenceIsLocalByDefaultAndTheSummaryUnchanged() throws {
        let config = try DaemonConfig(yaml: minimalYAML())
        #expect(config.inference == .local)
        #expect(!config.summary.contains("inference"))
        #expect(try DaemonConfig(yaml: minimalYAML(top: ["inference: local"])).inference == .local)
    }

    @Test func natsInferenceWithDefaultsAndEveryKey() throws {
        let plain = try DaemonConfig(yaml: minimalYAML(top: ["inference:", "  nats: nats://10.0.0.9:4222"]))
        guard case .nats(let remote) = plain.inference else { Issue.record("not nats"); return }
        #expect(remote.nats.url == "nats://10.0.0.9:4222")
        #expect((remote.nats.subject, remote.nats.results, remote.nats.stream) == ("pard.crops", "pard.results", "PARD"))
        #expect((remote.maxInFlight, remote.resultTimeout) == (64, 60))
        #expect(remote.nats.streamSubjects == ["pard.crops", "pard.results.>"])
        let full = try DaemonConfig(yaml: minimalYAML(top: [
            "inference:", "  nats: nats://a:4222,nats://b:4222", "  subject: site.crops", "  results: site.res", "  stream: SITE",
            "  edge: gate-3", "  max_in_flight: 8", "  result_timeout: 90s",
        ]))
        guard case .nats(let r) = full.inference else { Issue.record("not nats"); return }
        #expect((r.nats.subject, r.nats.results, r.nats.stream, r.edge, r.maxInFlight, r.resultTimeout) == ("site.crops", "site.res", "SITE", "gate-3", 8, 90))
        #expect(full.summary.contains("inference on NATS nats://a:4222,nats://b:4222"))
    }

    @Test func badInferenceValuesNameTheirKey() {
        let cases: [([String], String, String)] = [
            (["inference: remote"], "inference", "expected local or a mapping"),
            (["inference:", "  nats: http://x:4222"], "inference.nats", "expected a URL such as nats://nats.lan:4222"),
            (["inference:", "  nats: nats://user:pw@x:4222"], "inference.nats", "without user or password"),
            (["inference:", "  subject: a.b"], "inference.nats", "missing"),
            (["inference:", "  nats: nats://x:4222", "  subject: a.*"], "inference.subject", "no wildcards"),
            (["inference:", "  nats: nats://x:4222", "  subject: pard.results.x"], "inference.subject", "lies under results"),
            (["inference:", "  nats: nats://x:4222", "  edge: a.b"], "inference.edge", "letters, digits"),
            (["inference:", "  nats: nats://x:4222", "  max_in_flight: 0"], "inference.max_in_flight", "between 1"),
            (["inference:", "  nats: nats://x:4222", "  resul_timeout: 1"], "inference.resul_timeout", "did you mean \"result_timeout\""),
        ]
        for (top, key, message) in cases {
            let error = configError(minimalYAML(top: top))
            #expect(error?.keyPath == key, "\(top)")
            #expect(error?.message.contains(message) == true, "\(String(describing: error))")
            #expect(error?.description.contains("pw") != true)
        }
    }

    @Test func workerConfigWithDefaultsAndErrors() throws {
        let yaml = "model:\n  checkpoint: /m.pth\n  batch_size: 8\n  batch_wait: 20ms\n  threads: 1\nnats:\n  url: nats://q:4222\n"
        let config = try WorkerConfig(yaml: yaml, file: "w.yaml")
        #expect((config.model.batchSize, config.model.batchWait, config.model.threads) == (8, 0.02, 1))
        #expect((config.nats.consumer, config.nats.ackWait, config.nats.maxDeliver) == ("pard-workers", 30, 5))
        #expect(config.nats.names.subject == "pard.crops")
        #expect(config.metrics.listen?.port == 9465)
        let bad: [(String, String)] = [
            (yaml + "  ack_wait: 100ms\n", "nats.ack_wait"),
            (yaml + "  consumer: a b\n", "nats.consumer"),
            (yaml + "streams: []\n", "streams"),
            ("model:\n  checkpoint: /m.pth\n", "nats"),
        ]
        for (text, key) in bad {
            do {
                _ = try WorkerConfig(yaml: text, file: "w.yaml")
                Issue.record("parsed: \(text)")
            } catch {
                #expect(error.keyPath == key, "\(error)")
                #expect(error.description.hasPrefix("w.yaml:"))
            }
        }
    }

    @Test func cropPixelsTravelAsLosslessBytesOrFloats() throws {
        let header = CropMessage.Header(id: "e.s.1", reply: "pard.results.e", model: "abc", stream: "cam", frame: 3, pts: 0.3,
                                        box: [1, 2, 3, 4], track: 7, pixels: "", size: 2)
        let levels = (0..<12).map { CropMessage.levels[$0 * 23] }
        var decoded = [Float](repeating: 0, count: 12)
        let small = levels.withUnsafeBufferPointer { CropMessage.crop(header, pixels: $0) }
        let read = try decoded.withUnsafeMutableBufferPointer { try CropMessage.readCrop(small, model: "abc", size: 2, into: $0) }
        #expect(read.pixels == "u8" && decoded.map(\.bitPattern) == levels.map(\.bitPattern))
        #expect(read.track == 7 && read.frame == 3)
        var other = levels
        other[5] = 0.123456
        let large = other.withUnsafeBufferPointer { CropMessage.crop(header, pixels: $0) }
        #expect(large.count > small.count + 30)
        let back = try decoded.withUnsafeMutableBufferPointer { try CropMessage.readCrop(large, model: "abc", size: 2, into: $0) }
        #expect(back.pixels == "f32" && decoded == other)
        // Another model, another size, a truncated message.
        #expect(throws: CropMessage.Malformed.self) { try decoded.withUnsafeMutableBufferPointer { _ = try CropMessage.readCrop(small, model: "xyz", size: 2, into: $0) } }
        #expect(throws: CropMessage.Malformed.self) { try decoded.withUnsafeMutableBufferPointer { _ = try CropMessage.readCrop(small, model: "abc", size: 3, into: $0) } }
        #expect(throws: CropMessage.Malformed.self) { try decoded.withUnsafeMutableBufferPointer { _ = try CropMessage.readCrop(Array(small.dropLast()), model: "abc", size: 2, into: $0) } }
        #expect(throws: CropMessage.Malformed.self) { try decoded.withUnsafeMutableBufferPointer { _ = try CropMessage.readCrop([255, 255, 255, 127], model: "abc", size: 2, into: $0) } }
    }

    @Test func everyByteIsRecoveredFromTheExtractorsFloat() {
        let values = CropMessage.levels
        let message = values.withUnsafeBufferPointer {
            CropMessage.crop(.init(id: "x", reply: "r", model: "m", stream: "s", frame: 1, pts: 0, box: [], track: nil, pixels: "", size: 1), pixels: $0)
        }
        #expect(Array(message.suffix(256)) == (0...255).map(UInt8.init), "u8, value for value")
    }

    @Test func resultsCarryExactLogitsOrARefusal() throws {
        let logits: [Float] = [-3.25, 0, 1e-7, 42]
        let message = logits.withUnsafeBufferPointer {
            CropMessage.result(.init(id: "c1", status: "ok", model: "m", worker: "w", delivered: 2, count: 4), logits: $0)
        }
        let (_, result) = try CropMessage.readResult(message)
        #expect(result == .init(id: "c1", outcome: .logits(logits), delivered: 2))
        let refusal = CropMessage.result(.init(id: "c2", status: "model_mismatch", model: "m2", worker: "w", delivered: 1, count: 0),
                                         logits: UnsafeBufferPointer(start: nil, count: 0))
        #expect(try CropMessage.readResult(refusal).1.outcome == .refused(.modelMismatch))
    }
}

/// `configs/pard-worker.yaml`, the example installed beside `pard-worker.service`, parses.
@Suite struct ExampleWorkerConfigTests {
    @Test func exampleWorkerConfigParses() throws {
        let path = Fixtures.repositoryRoot.appendingPathComponent("configs/pard-worker.yaml").path
        let config = try WorkerConfig.load(path: path)
        #expect(config.nats.names.url == "nats://nats.lan:4222")
        #expect((config.model.batchSize, config.model.batchWait) == (4, 0.2))
        #expect(config.metrics.listen?.description == "127.0.0.1:9465")
    }
}
