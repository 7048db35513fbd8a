import Foundation
import Logging
import PardPipeline
import PardTestSupport
import Testing
@testable import PardMQTT

/// Log lines kept for a test to read.
final class LogLines: @unchecked Sendable {  // under `lock`
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    var text: String { all.joined(separator: "\n") }

    /// A logger writing here: `level message key=value ...`.
    var logger: Logger {
        Logger(label: "test") { _ in Handler(lines: self) }
    }

    struct Handler: LogHandler {
        let lines: LogLines
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.append("\(event.level) \(event.message) \(fields)")
        }
    }
}

/// The sink against a real broker (`mosquitto`, started by the test): order, the state and availability
/// topics, a broker that goes away, a restart with a spool, and brokers that refuse or do not answer.
@Suite(.serialized) struct MQTTSinkTests {
    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    static func settings(port: Int, spool: String, clientID: String = "pard-test-\(UUID().uuidString.prefix(8))") -> MQTTSettings {
        var s = MQTTSettings(host: "127.0.0.1", port: port, tls: false, clientID: clientID, spoolDirectory: spool, spoolMaxBytes: 16 << 20)
        s.reconnectInitial = 0.2
        s.reconnectMax = 1
        s.connectTimeout = 2
        return s
    }

    static func events(_ range: Range<Int>, streams: [String] = ["cam1", "cam2"]) -> [Event] {
        range.map { i in
            let stream = streams[i % streams.count]
            let type: EventType = i % 7 == 6 ? .track : .attributes
            return Event(type: type, stream: stream, line: #"{"schema":1,"type":"\#(type.rawValue)","stream":"\#(stream)","n":\#(i)}"#)
        }
    }

    /// The payloads received per topic, duplicates removed (first kept), and how many duplicates there were.
    static func firstOccurrences(_ messages: [(topic: String, payload: String)]) -> (byTopic: [String: [String]], duplicates: Int) {
        var seen = Set<String>(), byTopic: [String: [String]] = [:], duplicates = 0
        for (topic, payload) in messages where !topic.hasSuffix("/state") && !topic.hasSuffix("/available") {
            if seen.insert(topic + " " + payload).inserted { byTopic[topic, default: []].append(payload) } else { duplicates += 1 }
        }
        return (byTopic, duplicates)
    }

    static func expected(_ events: [Event]) -> [String: [String]] {
        Dictionary(grouping: events) { "pard/\($0.stream)/\($0.type == .attributes ? "attributes" : "tracks")" }.mapValues { $0.map(\.line) }
    }

    /// A broker, its subscriber, and a started sink publishing to it with its log.
    final class Setup {
        let broker: MosquittoBroker
        let subscriber: MQTTSubscriber
        let tmp: TemporaryDirectory
        let log = LogLines()
        let sink: MQTTSink

        init() throws {
            broker = try MosquittoBroker()
            subscriber = try MQTTSubscriber(broker: broker)
            tmp = try TemporaryDirectory("mqtt-sink")
            sink = try MQTTSink(settings: MQTTSinkTests.settings(port: broker.port, spool: tmp.path("spool")), logger: log.logger)
            sink.start()
        }
    }

    @Test func everyEventArrivesInOrderWithStateAndAvailability() throws {
        let setup = try Setup()
        let (broker, subscriber, log, sink) = (setup.broker, setup.subscriber, setup.log, setup.sink)
        sink.setStreamState(stream: "cam1", up: true, reason: nil)
        let events = Self.events(0..<500)
        for event in events { sink.emit(event) }
        #expect(sink.waitUntilDelivered(timeout: 20), "\(sink.status) \(log.text)")
        #expect(Self.waitUntil(10) { subscriber.messages.count >= 502 })
        let (received, duplicates) = Self.firstOccurrences(subscriber.messages)
        #expect(received == Self.expected(events))
        #expect(duplicates == 0)
        #expect(sink.status.published[.attributes] == events.filter { $0.type == .attributes }.count)
        #expect(sink.status.connected)
        #expect(broker.retained("pard/available") == "online")
        #expect(broker.retained("pard/cam1/state") == #"{"schema":1,"type":"state","stream":"cam1","state":"up"}"#)
        sink.setStreamState(stream: "cam1", up: false, reason: "stopped")
        sink.close(within: 3)
        #expect(broker.retained("pard/available") == "offline")
        #expect(broker.retained("pard/cam1/state") == #"{"schema":1,"type":"state","stream":"cam1","state":"down","reason":"stopped"}"#)
        #expect(log.text.contains("MQTT connected") && log.text.contains("broker=mqtt://127.0.0.1:\(broker.port)"), "\(log.text)")
    }

    @Test func aBrokerStoppedAndRestartedLosesNothing() throws {
        let setup = try Setup()
        let (broker, subscriber, log, sink) = (setup.broker, setup.subscriber, setup.log, setup.sink)
        let events = Self.events(0..<600)
        for event in events[..<200] { sink.emit(event) }
        broker.stop()
        for event in events[200..<400] { sink.emit(event) }
        #expect(Self.waitUntil(10) { sink.status.spooledEvents > 0 && !sink.status.connected }, "\(sink.status)")
        Thread.sleep(forTimeInterval: 2)
        try broker.start()
        for event in events[400...] { sink.emit(event) }
        #expect(sink.waitUntilDelivered(timeout: 30), "\(sink.status) \(log.text)")
        #expect(Self.waitUntil(15) { Self.firstOccurrences(subscriber.messages).byTopic == Self.expected(events) })
        let (received, duplicates) = Self.firstOccurrences(subscriber.messages)
        #expect(received == Self.expected(events))
        print("MQTT broker restart: \(events.count) events, \(duplicates) QoS 1 duplicates")
        #expect(sink.status.reconnections >= 1)
        #expect(log.text.contains("MQTT connection lost"), "\(log.text)")
        sink.close(within: 3)
    }

    @Test func spooledEventsOfAClosedSinkAreSentFirstByTheNextOne() throws {
        let broker = try MosquittoBroker()
        let subscriber = try MQTTSubscriber(broker: broker)
        broker.stop()
        let tmp = try TemporaryDirectory("mqtt-sink")
        let log = LogLines()
        let settings = Self.settings(port: broker.port, spool: tmp.path("spool"), clientID: "pard-test-restart")
        let events = Self.events(0..<300)
        do {
            let first = try MQTTSink(settings: settings, logger: log.logger)
            first.start()
            for event in events[..<200] { first.emit(event) }
            #expect(Self.waitUntil(10) { first.status.spooledEvents == 200 }, "\(first.status)")
            first.close(within: 1)
        }
        try broker.start()
        let second = try MQTTSink(settings: settings, logger: log.logger)
        #expect(second.status.spooledEvents == 200)
        second.start()
        for event in events[200...] { second.emit(event) }
        #expect(second.waitUntilDelivered(timeout: 30), "\(second.status) \(log.text)")
        #expect(Self.waitUntil(10) { Self.firstOccurrences(subscriber.messages).byTopic == Self.expected(events) })
        #expect(log.text.contains("MQTT spool holds undelivered events from before"))
        second.close(within: 3)
    }

    @Test func refusedUnansweredAndUnauthorisedBrokersAreLoggedAndRetried() throws {
        let tmp = try TemporaryDirectory("mqtt-sink")
        try "wrong-secret\n".write(toFile: tmp.path("password"), atomically: true, encoding: .utf8)
        // Nothing listening.
        let closed = MosquittoBroker.freePort()
        // A listener that accepts TCP and never answers MQTT.
        let (silent, silentPort) = MosquittoBroker.silentListener()
        defer { close(silent) }
        let broker = try MosquittoBroker(users: ["pard": "right-secret"])

        for (port, expected) in [(closed, "reason=connection refused"), (silentPort, "no answer within 2 s"), (broker.port, "refused the connection: not authorised")] {
            let log = LogLines()
            var settings = Self.settings(port: port, spool: tmp.path("spool-\(port)"))
            settings.username = "pard"
            settings.passwordFile = tmp.path("password")
            let sink = try MQTTSink(settings: settings, logger: log.logger)
            sink.start()
            sink.emit(Self.events(0..<1)[0])
            #expect(Self.waitUntil(15) { log.all.filter { $0.contains("attempt=2") }.count >= 1 }, "\(log.text)")
            let failures = log.all.filter { $0.contains("MQTT broker unavailable") }
            #expect(failures.first?.contains("broker=mqtt://127.0.0.1:\(port)") == true, "\(log.text)")
            #expect(failures.first?.contains(expected) == true, "\(expected): \(log.text)")
            #expect(failures.allSatisfy { $0.contains("retry_in_s=") })
            #expect(!log.text.contains("secret"))
            #expect(sink.status.spooledEvents == 1 && !sink.status.connected)
            sink.close(within: 1)
        }
    }

    @Test func mqttsWithTheBrokersCertificateAuthorityAndWithAnUnknownOne() throws {
        let broker = try MosquittoBroker(tls: true)
        let tmp = try TemporaryDirectory("mqtt-sink")
        for (ca, works) in [(broker.caFile, true), (nil, false)] {
            let log = LogLines()
            var settings = Self.settings(port: broker.port, spool: tmp.path("spool-\(works)"))
            settings.tls = true
            settings.caFile = ca
            let sink = try MQTTSink(settings: settings, logger: log.logger)
            sink.start()
            for event in Self.events(0..<20) { sink.emit(event) }
            if works {
                #expect(sink.waitUntilDelivered(timeout: 20), "\(sink.status) \(log.text)")
                #expect(sink.status.published[.attributes] == Self.events(0..<20).filter { $0.type == .attributes }.count)
                #expect(log.text.contains("broker=mqtts://127.0.0.1:\(broker.port)"), "\(log.text)")
            } else {
                // A certificate no authority in the system's store signed: refused, logged, retried.
                #expect(Self.waitUntil(15) { log.text.contains("attempt=2") }, "\(log.text)")
                #expect(log.text.contains("MQTT broker unavailable") && !sink.status.connected)
            }
            sink.close(within: 1)
        }
    }

    @Test func aMissingPasswordFileIsNamed() throws {
        let tmp = try TemporaryDirectory("mqtt-sink")
        var settings = Self.settings(port: 1, spool: tmp.path("spool"))
        settings.username = "pard"
        settings.passwordFile = tmp.path("nope")
        #expect(throws: MQTTError.self) { try MQTTSink(settings: settings, logger: LogLines().logger) }
        do { _ = try MQTTSink(settings: settings, logger: LogLines().logger) } catch {
            #expect("\(error)".contains(tmp.path("nope")))
        }
    }

    @Test func brokerURLs() {
        func parse(_ url: String) -> String {
            switch MQTTSettings.parseURL(url) {
            case .success(let b): return "\(b.tls) \(b.host) \(b.port)"
            case .failure(let e): return "\(e)"
            }
        }
        #expect(parse("mqtt://broker.lan") == "false broker.lan 1883")
        #expect(parse("mqtts://broker.lan:8884/") == "true broker.lan 8884")
        #expect(parse("mqtt://[::1]:1884") == "false ::1 1884")
        #expect(parse("mqtt://u:secret@host:1883").contains("username and password_file"))
        #expect(!parse("mqtt://u:secret@host:1883").contains("secret"))
        #expect(parse("tcp://host").contains("expected a URL such as mqtt://"))
        #expect(parse("mqtt://host:99999").contains("port"))
        #expect(parse("mqtt://host/pard").contains("nothing may follow"))
        #expect(MQTTSettings.topicPrefixProblem("site/pard") == nil)
        #expect(MQTTSettings.topicPrefixProblem("pard/#") != nil)
        #expect(MQTTSettings.topicPrefixProblem("/pard") != nil)
    }
}
