import Foundation
import PardTestSupport
import Testing

/// `pard run` publishing to a real broker (`mosquitto`, started by the tests on a loopback port) while a
/// subscriber (`mosquitto_sub`, persistent session) listens on `pard/#`: every event of the event file
/// arrives, byte for byte and in order per stream, whatever the broker or pard go through.
@Suite(.serialized) struct RunMQTTTests {
    /// The `output.mqtt` block for `RunningPard`.
    static func mqtt(_ broker: MosquittoBroker, spool: String, _ extra: [String] = []) -> String {
        (["  mqtt:", "    url: \(broker.url)", "    client_id: pard-run-test", "    spool_dir: \(spool)"] + extra.map { "    " + $0 })
            .joined(separator: "\n")
    }

    /// The event file's lines as written (bytes untouched), by stream, in file order.
    static func fileLines(_ path: String) throws -> [String: [String]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var byStream: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            byStream[object["stream"] as? String ?? "?", default: []].append(String(line))
        }
        return byStream
    }

    /// The events received, by stream (the topic's second level), duplicates left out (the first kept),
    /// and the number of duplicates.
    static func received(_ subscriber: MQTTSubscriber) -> (byStream: [String: [String]], duplicates: Int) {
        var seen = Set<String>(), byStream: [String: [String]] = [:], duplicates = 0
        for (topic, payload) in subscriber.messages where topic.hasSuffix("/attributes") || topic.hasSuffix("/tracks") {
            let stream = topic.split(separator: "/").dropFirst().first.map(String.init) ?? "?"
            if seen.insert(payload).inserted { byStream[stream, default: []].append(payload) } else { duplicates += 1 }
        }
        return (byStream, duplicates)
    }

    static func attributeEvents(_ path: String) -> Int {
        ((try? fileLines(path)) ?? [:]).values.joined().filter { $0.contains(#""type":"attributes""#) }.count
    }

    /// Pushes one detection per frame for `count` frames after the newest decoded, tracks 1 and 2 in turn;
    /// waits for their events in the file.
    static func pushAndWait(_ pard: RunningPard, count: Int) throws -> Bool {
        let before = attributeEvents(pard.events)
        let first = Int(pard.metric("pard_frames_decoded_total"))
        try pard.push((first + 1...first + count).map { RunCommandTests.detection(frame: $0, id: 1 + $0 % 2) })
        return RunCommandTests.waitUntil(30) { attributeEvents(pard.events) >= before + count }
    }

    /// Megabytes of `path`'s files.
    static func folderBytes(_ path: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).reduce(0) {
            $0 + ((try? FileManager.default.attributesOfItem(atPath: path + "/" + $1)[.size] as? Int) ?? 0)
        }
    }

    static func residentKB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// A broker with its subscriber (the broker stopped again when `brokerDown`), and `pard run`
    /// publishing to it, its stream decoding.
    static func start(brokerDown: Bool = false, _ extra: [String] = []) throws -> (MosquittoBroker, MQTTSubscriber, TemporaryDirectory, RunningPard) {
        let broker = try MosquittoBroker()
        let subscriber = try MQTTSubscriber(broker: broker)
        if brokerDown { broker.stop() }
        let tmp = try TemporaryDirectory("pard-mqtt")
        let pard = try RunningPard(output: mqtt(broker, spool: tmp.path("spool"), extra))
        #expect(pard.waitForFrames(3), "\(pard.log)")
        return (broker, subscriber, tmp, pard)
    }

    @Test func everyEventOfTheFileArrivesAndAvailableIsOfflineAfterSIGTERM() throws {
        let (broker, subscriber, tmp, pard) = try Self.start()
        defer { withExtendedLifetime(tmp) {} }
        #expect(RunCommandTests.waitUntil(20) { pard.metric("pard_mqtt_connected") == 1 }, "\(pard.log)")
        #expect(broker.retained("pard/available") == "online")
        #expect(broker.retained("pard/cam1/state") == #"{"schema":1,"type":"state","stream":"cam1","state":"up"}"#)
        #expect(try Self.pushAndWait(pard, count: 20), "\(pard.log)")
        #expect(RunCommandTests.waitUntil(20) { pard.metric("pard_mqtt_published_total", "attributes") >= 20 }, "\(pard.log)")
        #expect(pard.stop() == 0, "\(pard.log)")
        let file = try Self.fileLines(pard.events)
        #expect(file["cam1"]?.count == 22)  // 20 attribute events, 2 track summaries at shutdown
        #expect(RunCommandTests.waitUntil(10) { Self.received(subscriber).byStream == file })
        let (received, duplicates) = Self.received(subscriber)
        #expect(received == file)
        #expect(duplicates == 0)
        #expect(broker.retained("pard/available") == "offline")
        #expect(broker.retained("pard/cam1/state") == #"{"schema":1,"type":"state","stream":"cam1","state":"down","reason":"stopped"}"#)
    }

    @Test func aBrokerKilledForTenSecondsLosesNothing() throws {
        let (broker, subscriber, tmp, pard) = try Self.start()
        defer { withExtendedLifetime(tmp) {} }
        #expect(try Self.pushAndWait(pard, count: 10), "\(pard.log)")
        // Killed once the subscriber has the first events and the broker has saved its session (autosave
        // every second): what it loses then is pard's to resend.
        #expect(RunCommandTests.waitUntil(10) { Self.received(subscriber).byStream["cam1"]?.count == 10 })
        Thread.sleep(forTimeInterval: 1.5)
        broker.kill()
        let down = Date()
        #expect(RunCommandTests.waitUntil(10) { pard.metric("pard_mqtt_connected") == 0 }, "\(pard.metrics)")
        #expect(try Self.pushAndWait(pard, count: 10), "\(pard.log)")
        #expect(RunCommandTests.waitUntil(5) { pard.metric("pard_mqtt_spooled_events") >= 10 }, "\(pard.metrics)")
        Thread.sleep(forTimeInterval: max(0, 10 - Date().timeIntervalSince(down)))
        try broker.start()
        #expect(try Self.pushAndWait(pard, count: 10), "\(pard.log)")
        #expect(RunCommandTests.waitUntil(40) { pard.metric("pard_mqtt_connected") == 1 && pard.metric("pard_mqtt_spooled_events") == 0 },
                "\(pard.log)")
        #expect(pard.metric("pard_mqtt_reconnects_total") >= 1)
        #expect(pard.log.contains("MQTT connection lost"), "\(pard.log)")
        #expect(pard.stop() == 0, "\(pard.log)")
        let file = try Self.fileLines(pard.events)
        #expect(file["cam1"]?.count == 32)
        #expect(RunCommandTests.waitUntil(10) { Self.received(subscriber).byStream == file })
        let (received, duplicates) = Self.received(subscriber)
        #expect(received == file)
        print("RunMQTTTests: broker killed for 10 s: \(file["cam1"]?.count ?? 0) events in the file, \(received["cam1"]?.count ?? 0) received, \(duplicates) QoS 1 duplicates")
    }

    @Test func pardKilledWhileTheBrokerIsDownDeliversItsSpoolWhenStartedAgain() throws {
        let broker = try MosquittoBroker()
        let subscriber = try MQTTSubscriber(broker: broker)
        broker.stop()
        let tmp = try TemporaryDirectory("pard-mqtt")
        let events = tmp.path("events.jsonl")
        let output = Self.mqtt(broker, spool: tmp.path("spool"))
        do {
            let pard = try RunningPard(events: events, output: output)
            #expect(pard.waitForFrames(3), "\(pard.log)")
            #expect(try Self.pushAndWait(pard, count: 15), "\(pard.log)")
            #expect(RunCommandTests.waitUntil(5) { pard.metric("pard_mqtt_spooled_events") >= 15 }, "\(pard.metrics)")
            #expect(pard.log.contains("MQTT broker unavailable") && pard.log.contains("mqtt://127.0.0.1:\(broker.port)"), "\(pard.log)")
            kill(pard.process.processIdentifier, SIGKILL)
            pard.process.waitUntilExit()
        }
        try broker.start()
        let again = try RunningPard(events: events, output: output)
        let file = try Self.fileLines(events)
        #expect(file["cam1"]?.count == 15)
        #expect(RunCommandTests.waitUntil(30) { Self.received(subscriber).byStream == file }, "\(again.log)")
        #expect(again.log.contains("MQTT spool holds undelivered events from before"), "\(again.log)")
        // Killed while connected: the broker publishes the last will.
        #expect(RunCommandTests.waitUntil(10) { again.metric("pard_mqtt_connected") == 1 })
        #expect(broker.retained("pard/available") == "online")
        kill(again.process.processIdentifier, SIGKILL)
        again.process.waitUntilExit()
        #expect(RunCommandTests.waitUntil(10) { broker.retained("pard/available") == "offline" })
    }

    @Test func aFullSpoolDropsOldestAttributeEventsCountedAndPardKeepsRunning() throws {
        let (broker, subscriber, tmp, pard) = try Self.start(brokerDown: true, ["spool_max_mb: 0.02"])
        defer { withExtendedLifetime(tmp) {} }
        let rss = Self.residentKB(pard.process.processIdentifier)
        #expect(try Self.pushAndWait(pard, count: 40), "\(pard.log)")
        #expect(try Self.pushAndWait(pard, count: 40), "\(pard.log)")
        #expect(RunCommandTests.waitUntil(5) { pard.metric("pard_mqtt_dropped_total", #"reason="spool_full",type="attributes""#) > 0 },
                "\(pard.metrics)")
        let dropped = Int(pard.metric("pard_mqtt_dropped_total", #"reason="spool_full",type="attributes""#))
        #expect(pard.metric("pard_mqtt_dropped_total", #"type="track""#) == 0)
        #expect(pard.metric("pard_mqtt_spooled_bytes") <= 0.02 * 1_048_576)
        #expect(Self.folderBytes(tmp.path("spool")) <= 20_971 + 4096 + 8, "\(Self.folderBytes(tmp.path("spool")))")
        #expect(pard.process.isRunning)
        #expect(pard.health.contains("1 of 1 streams up"), "\(pard.health)")
        #expect(Self.residentKB(pard.process.processIdentifier) - rss < 64 * 1024)
        #expect(pard.log.contains("MQTT spool full"), "\(pard.log)")
        try broker.start()
        #expect(RunCommandTests.waitUntil(30) { pard.metric("pard_mqtt_spooled_events") == 0 && pard.metric("pard_mqtt_connected") == 1 },
                "\(pard.log)")
        #expect(pard.stop() == 0, "\(pard.log)")
        // What arrived: the newest attribute events (the oldest were dropped) and both track summaries.
        let file = try #require(try Self.fileLines(pard.events)["cam1"])
        let attributes = file.filter { $0.contains(#""type":"attributes""#) }, tracks = file.filter { $0.contains(#""type":"track""#) }
        #expect(attributes.count == 80 && tracks.count == 2)
        let expected = Array(attributes.suffix(80 - dropped)) + tracks
        #expect(RunCommandTests.waitUntil(10) { Self.received(subscriber).byStream["cam1"] == expected })
        #expect(Self.received(subscriber).byStream["cam1"]?.count == expected.count)
    }

    @Test func refusedSilentAndUnauthorisedBrokersAreLoggedRetriedAndNeverFatal() throws {
        let broker = try MosquittoBroker(users: ["pard": "right-secret"])
        let tmp = try TemporaryDirectory("pard-mqtt")
        try "wrong-secret\n".write(toFile: tmp.path("password"), atomically: true, encoding: .utf8)
        let (silent, silentPort) = MosquittoBroker.silentListener()
        defer { close(silent) }
        let cases = [(broker.port, "reason=the broker refused the connection: not authorised", true), (MosquittoBroker.freePort(), "reason=connection refused", true), (silentPort, "no answer within 10 s", false)]
        for (port, reason, retried) in cases {
            let pard = try RunningPard(output: [
                "  mqtt:", "    url: mqtt://127.0.0.1:\(port)", "    username: pard", "    password_file: \(tmp.path("password"))",
                "    spool_dir: \(tmp.path("spool-\(port)"))",
            ].joined(separator: "\n"))
            #expect(pard.waitForFrames(3), "\(pard.log)")
            #expect(RunCommandTests.waitUntil(20) { pard.log.contains("MQTT broker unavailable") }, "\(pard.log)")
            let line = pard.log.split(separator: "\n").first { $0.contains("MQTT broker unavailable") } ?? ""
            #expect(line.contains("broker=mqtt://127.0.0.1:\(port)") && line.contains(reason), "\(line)")
            if retried { #expect(RunCommandTests.waitUntil(10) { pard.log.contains("attempt=2") }, "\(pard.log)") }
            #expect(try Self.pushAndWait(pard, count: 3), "\(pard.log)")
            #expect(pard.process.isRunning)
            #expect(!pard.log.contains("secret"))
            #expect(pard.stop() == 0, "\(pard.log)")
        }
    }
}
