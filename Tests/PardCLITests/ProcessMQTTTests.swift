import Foundation
import PardTestSupport
import Testing

/// `pard process --mqtt URL`: the events of the file on the broker too, and a broker that is not there.
@Suite(.serialized) struct ProcessMQTTTests {
    static let detections = "Tests/Fixtures/video/vtest_first100_det.txt"

    @Test func everyEventOfTheFileIsPublished() throws {
        let broker = try MosquittoBroker()
        let subscriber = try MQTTSubscriber(broker: broker)
        let tmp = try TemporaryDirectory("process-mqtt")
        let run = try PardProcess.run(["process", ProcessCommandTests.clip, "--detections", Self.detections, "--out", tmp.path("events.jsonl"),
                                       "--stream-name", "clip", "--mqtt", broker.url] + ProcessCommandTests.model)
        #expect(run.status == 0, "\(run.stderr)")
        let file = try RunMQTTTests.fileLines(tmp.path("events.jsonl"))
        #expect((file["clip"]?.count ?? 0) > 10)
        #expect(RunCommandTests.waitUntil(10) { RunMQTTTests.received(subscriber).byStream == file })
        #expect(RunMQTTTests.received(subscriber).duplicates == 0)
    }

    @Test func aBrokerThatIsNotThereFailsAtTheEndNamingItWithTheEventFileWhole() throws {
        let tmp = try TemporaryDirectory("process-mqtt")
        let port = MosquittoBroker.freePort()
        let run = try PardProcess.run(["process", ProcessCommandTests.clip, "--detections", Self.detections, "--out", tmp.path("events.jsonl"),
                                       "--mqtt", "mqtt://127.0.0.1:\(port)", "--mqtt-timeout", "1"] + ProcessCommandTests.model)
        #expect(run.status == 1)
        let events = try RunMQTTTests.fileLines(tmp.path("events.jsonl")).values.joined().count
        #expect(run.stderr.contains("\(events) events not acknowledged by mqtt://127.0.0.1:\(port)"), "\(run.stderr)")
        #expect(run.stderr.contains("MQTT broker unavailable"), "\(run.stderr)")
        let bad = try PardProcess.run(["process", ProcessCommandTests.clip, "--detections", Self.detections,
                                       "--mqtt", "mqtt://user:hunter2@127.0.0.1:1883"] + ProcessCommandTests.model)
        #expect(bad.status != 0 && bad.stderr.contains("username and password_file") && !bad.stderr.contains("hunter2"), "\(bad.stderr)")
    }
}
