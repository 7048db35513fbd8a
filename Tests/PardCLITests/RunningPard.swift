import Foundation
import PardTestSupport
import Testing

/// A `pard run` process, started as systemd would, with one stream (by default the sample clip, looping at
/// 10 frames/s), its detection socket, its stderr log and /metrics.
final class RunningPard {
    let tmp: TemporaryDirectory
    let port = RunCommandTests.freePort()
    let process = Process()
    let socketPath: String
    /// The event file.
    let events: String
    /// The network namespace it runs in (nil: this one).
    let namespace: String?

    /// `output` is added to the `output:` mapping as it is (indented by 2 spaces), e.g. an `mqtt:` block;
    /// `source` replaces the stream's source keys (`url`, `realtime`, `loop`, ...), one per line;
    /// `model` adds keys to the `model:` mapping, one per line; `inference` is added at the top level as
    /// it is (e.g. an `inference:` block); `namespace`: run in that network namespace (`ip netns exec`);
    /// `otherStreams` are further items of the `streams:` list as they are (indented by 2 spaces, `- name: ...`).
    init(events: String? = nil, trackInterval: Double = 0, frameBuffer: Double = 5, shutdownTimeout: Double = 10,
         environment: [String: String] = [:], output: String = "", streamName: String = "cam1",
         source: String? = nil, model: String = "", inference: String = "", namespace: String? = nil,
         otherStreams: String = "") throws {
        tmp = try TemporaryDirectory("pard-run")
        let events = events ?? tmp.path("events.jsonl")
        self.events = events
        socketPath = tmp.path("cam1.sock")
        self.namespace = namespace
        let sourceLines = (source ?? "url: \(Fixtures.url("video/vtest_first100_h264.mp4").path)\nrealtime: true\nloop: true")
            .split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let modelLines = model.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        let config = """
        model:
          checkpoint: \(Fixtures.url("promptpar-tiny/checkpoint.pth").path)
          batch_wait: 50ms
        \(modelLines)
        output:
          events: \(events)
        \(output)
        metrics:
          listen: 127.0.0.1:\(port)
        shutdown_timeout: \(shutdownTimeout)
        \(inference)
        streams:
          - name: \(streamName)
        \(sourceLines)
            detections: unix:\(socketPath)
            frame_buffer: \(frameBuffer)
            track_interval: \(trackInterval)
            track_timeout: 30
        \(otherStreams.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        """
        try config.write(toFile: tmp.path("pard.yaml"), atomically: true, encoding: .utf8)
        process.executableURL = PardProcess.executable
        process.arguments = ["run", "--config", tmp.path("pard.yaml")]
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, PardProcess.executable.path] + (process.arguments ?? [])
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        FileManager.default.createFile(atPath: tmp.path("stderr.log"), contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp.path("stderr.log")))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }

    var log: String { (try? String(contentsOfFile: tmp.path("stderr.log"), encoding: .utf8)) ?? "" }
    var metrics: String { RunningPard.metrics(port: port, namespace: namespace) }
    func metric(_ name: String, _ labels: String = "") -> Double { RunCommandTests.metric(metrics, name, labels) }
    var health: String { RunCommandTests.httpGet(port: port, path: "/healthz") ?? "" }

    /// Waits until the stream has decoded `frames` frames.
    func waitForFrames(_ frames: Int) -> Bool {
        RunCommandTests.waitUntil(60) { metric("pard_frames_decoded_total") >= Double(frames) }
    }

    /// Connects to the detection socket and sends `lines`.
    func push(_ lines: [String]) throws {
        let producer = try RunCommandTests.connect(unix: socketPath)
        RunCommandTests.sendLines(producer, lines)
        close(producer)
    }

    /// SIGTERM; the exit status.
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        _ = RunCommandTests.waitUntil(30) { !process.isRunning }
        return process.isRunning ? -1 : process.terminationStatus
    }

    /// A field of the final "stopped" log line.
    func stoppedField(_ name: String) -> Int? {
        let line = log.split(separator: "\n").last { $0.contains("stopped") } ?? ""
        return line.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
    }
}

extension RunningPard {
    /// `/metrics` on loopback `port`, in network namespace `namespace` when given (through `curl` there).
    static func metrics(port: Int, namespace: String?) -> String {
        guard let namespace else { return RunCommandTests.httpGet(port: port, path: "/metrics") ?? "" }
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", namespace, "/usr/bin/curl", "-s", "--max-time", "5", "http://127.0.0.1:\(port)/metrics"]
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
