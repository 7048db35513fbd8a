import Foundation
import PardTestSupport
import Testing

/// `pard run` as systemd runs it: a real process, a real detection socket, a test acting as systemd's
/// notification socket, signals, the event file and /metrics.
@Suite(.serialized) struct RunCommandTests {
    /// A datagram socket standing in for systemd's `NOTIFY_SOCKET`; collects the messages.
    final class NotifyListener: @unchecked Sendable {
        let path: String
        private let fd: Int32
        private let lock = NSLock()
        private var received: [String] = []
        private var thread: Thread?

        init(path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard ok == 0 else { throw POSIXError(.EADDRINUSE) }
            var tv = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let t = Thread { [self] in
                var buf = [UInt8](repeating: 0, count: 4096)
                while !Thread.current.isCancelled {
                    let n = recv(fd, &buf, buf.count, 0)
                    if n > 0 {
                        let text = String(decoding: buf[0..<n], as: UTF8.self)
                        lock.lock(); received.append(contentsOf: text.split(separator: "\n").map(String.init)); lock.unlock()
                    }
                }
            }
            t.start()
            thread = t
        }

        var messages: [String] { lock.lock(); defer { lock.unlock() }; return received }
        func close() { thread?.cancel(); Thread.sleep(forTimeInterval: 0.3); Glibc.close(fd) }
    }

    static func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }

    /// A loopback port the kernel has just given out as free (a random one collided, now and then, with
    /// a port another test's server or an outgoing connection held: pard then failed to bind /metrics).
    static func freePort() -> Int { MosquittoBroker.freePort() }

    /// `GET path` on loopback (the server closes the connection after the response); the body.
    static func httpGet(port: Int, path: String) -> String? { httpGetWithStatus(port: port, path: path)?.body }

    /// `GET path` on loopback: the status code of the response and its body; nil when nothing answers.
    static func httpGetWithStatus(port: Int, path: String) -> (status: Int, body: String)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { return nil }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var data = [UInt8](), buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            data += buf[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        // "HTTP/1.1 503 Service Unavailable"
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// A unix-socket detection producer.
    static func connect(unix path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { throw POSIXError(.ECONNREFUSED) }
        return fd
    }

    static func sendLines(_ fd: Int32, _ lines: [String]) {
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func detection(frame: Int, id: Int, x: Double = 498.27) -> String {
        #"{"frame": \#(frame), "boxes": [{"x": \#(x), "y": 151.7, "w": 35.47, "h": 90.6, "id": \#(id), "score": 0.9}]}"#
    }

    static func eventLines(_ path: String) throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.isEmpty || text.hasSuffix("\n"), "no partial line in \(path)")
        return try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// Sum of a counter's samples whose labels contain `labels`.
    static func metric(_ text: String, _ name: String, _ labels: String = "") -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(name) && !$0.hasPrefix("#") && (labels.isEmpty || $0.contains(labels)) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    @Test func serviceLifecycleEventsSignalsAndMetrics() throws {
        let notify = try NotifyListener(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("pard-notify-\(UUID().uuidString).sock").path)
        defer { notify.close(); unlink(notify.path) }
        let pard = try RunningPard(frameBuffer: 3, shutdownTimeout: 10,
                                   environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        let process = pard.process, port = pard.port, events = pard.events, socketPath = pard.socketPath

        #expect(Self.waitUntil(60) { notify.messages.contains("READY=1") }, "READY=1; got \(notify.messages)")
        // The file stream has started decoding (it paces at 10 frames/s).
        let log = { pard.log }
        #expect(Self.waitUntil(30) { (Self.httpGet(port: port, path: "/metrics").map { Self.metric($0, "pard_frames_decoded_total") } ?? 0) >= 3 },
                "\(log())")
        let producer = try Self.connect(unix: socketPath)
        defer { close(producer) }
        // Frames 5...24 of track 1, a malformed line, a box outside the frame, then wait for events.
        Self.sendLines(producer, (5...24).map { Self.detection(frame: $0, id: 1) }
            + ["this is not json", Self.detection(frame: 24, id: 2, x: 5000)])
        #expect(try Self.waitUntil(30) { try Self.eventLines(events).count >= 20 })

        // logrotate: rename, SIGHUP, more detections go to the new file.
        try FileManager.default.moveItem(atPath: events, toPath: events + ".1")
        kill(process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 1)
        let next = (try Self.eventLines(events + ".1")).count
        // The next 10 frames the stream decodes (on a loaded machine frames 25... may already be gone).
        let decoded = Int(Self.httpGet(port: port, path: "/metrics").map { Self.metric($0, "pard_frames_decoded_total") } ?? 0)
        let second = Array(decoded + 1...decoded + 10)
        Self.sendLines(producer, second.map { Self.detection(frame: $0, id: 1) })
        #expect(try Self.waitUntil(30) { try Self.eventLines(events).count >= 10 })

        // A detection for a frame long gone (3 s buffer) is counted as late.
        Thread.sleep(forTimeInterval: 4)
        Self.sendLines(producer, [Self.detection(frame: 5, id: 3)])
        #expect(Self.waitUntil(10) { (Self.httpGet(port: port, path: "/metrics").map { Self.metric($0, "pard_detections_total", "late") } ?? 0) >= 1 })

        let metrics = try #require(Self.httpGet(port: port, path: "/metrics"))
        #expect(Self.httpGet(port: port, path: "/healthz")?.contains("1 of 1 streams up") == true)
        let before = try Self.eventLines(events + ".1"), after = try Self.eventLines(events)
        let attributeEvents = (before + after).filter { $0["type"] as? String == "attributes" }
        #expect(before.count == next)
        #expect(attributeEvents.count == 30)
        // The events carry the frames the detections named, in order.
        #expect(attributeEvents.compactMap { $0["frame"] as? Int } == Array(5...24) + second)
        #expect(log().contains("no longer held (late)") && log().contains("(invalid)"), "\(log())")
        #expect(Self.metric(metrics, "pard_crops_classified_total", "cam1") == Double(attributeEvents.count))
        #expect(Self.metric(metrics, "pard_events_total", "attributes") == Double(attributeEvents.count))
        #expect(Self.metric(metrics, "pard_detection_lines_malformed_total", "cam1") == 1)
        #expect(Self.metric(metrics, "pard_detections_total", "invalid") == 1)
        #expect(Self.metric(metrics, "pard_detections_total", "received") == 32)
        #expect(Self.metric(metrics, "pard_frames_decoded_total", "cam1") > 0)

        // SIGTERM with crops queued: 120 boxes of 4 new tracks pushed at once, then the signal.
        let newest = Int(Self.metric(metrics, "pard_frames_decoded_total"))
        Self.sendLines(producer, (0..<30).map { i in
            #"{"frame": \#(newest - 5 + i % 10), "boxes": [{"x": 100, "y": 100, "w": 40, "h": 90, "id": 10}, {"x": 200, "y": 100, "w": 40, "h": 90, "id": 11}, {"x": 300, "y": 100, "w": 40, "h": 90, "id": 12}, {"x": 400, "y": 100, "w": 40, "h": 90, "id": 13}]}"#
        })
        _ = Self.waitUntil(10) { (Self.httpGet(port: port, path: "/metrics").map { Self.metric($0, "pard_detections_total", "received") } ?? 0) >= 32 + 120 }
        kill(process.processIdentifier, SIGTERM)
        #expect(Self.waitUntil(30) { !process.isRunning })
        #expect(process.terminationStatus == 0, "\(pard.log)")
        // Every accepted crop has its event or is counted as shed; every open track has its summary.
        let all = try Self.eventLines(events + ".1") + Self.eventLines(events)
        let tracks = all.filter { $0["type"] as? String == "track" }
        #expect(tracks.compactMap { $0["id"] as? Int }.sorted() == [1, 10, 11, 12, 13])
        #expect(tracks.first { $0["id"] as? Int == 1 }?["observations"] as? Int == 30)
        let stopped = log().split(separator: "\n").last { $0.contains("stopped") }.map(String.init) ?? ""
        func field(_ name: String) -> Int? {
            stopped.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
        }
        let classified = all.filter { $0["type"] as? String == "attributes" }.count
        #expect(field("crops_classified") == classified, "\(stopped)")
        #expect(field("crops_accepted").map { $0 == classified + (field("shed_queue_full") ?? -1) + (field("shed_shutdown") ?? -1) } == true,
                "\(stopped)")
        #expect(classified > 30, "\(stopped)")
        let m = notify.messages.filter { ["READY=1", "WATCHDOG=1", "STOPPING=1"].contains($0) }
        let ready = m.firstIndex(of: "READY=1"), watchdog = m.firstIndex(of: "WATCHDOG=1"), stopping = m.lastIndex(of: "STOPPING=1")
        #expect(ready != nil && watchdog != nil && stopping != nil)
        if let ready, let watchdog, let stopping { #expect(ready < watchdog && watchdog < stopping) }
        #expect(notify.messages.contains { $0.hasPrefix("STATUS=") })
    }

    @Test func checkConfigNamesATypoedKey() throws {
        let tmp = try TemporaryDirectory("pard-config")
        let text = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("configs/pard.yaml"), encoding: .utf8)
        try text.replacingOccurrences(of: "track_interval:", with: "track_intervall:").write(toFile: tmp.path("typo.yaml"), atomically: true, encoding: .utf8)
        let bad = try PardProcess.run(["check-config", tmp.path("typo.yaml")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("track_intervall"), "\(bad.stderr)")
        let good = try PardProcess.run(["check-config", "configs/pard.yaml"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(!(good.stdout + good.stderr).contains("s3cret"))
    }
}

/// `pard run` on a real RTSP stream (GStreamer's RTSP server from `Tests/Fixtures/rtsp/serve.py`): the
/// server killed and restarted, then frozen, while detections keep coming.
@Suite(.serialized) struct RunRTSPTests {
    /// The test server on `port`, serving the sample clip in a loop at /cam.
    static func startServer(port: Int) throws -> (Process, () -> String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [Fixtures.url("rtsp/serve.py").path, "--port", "\(port)", "--path", "/cam",
                       "--file", Fixtures.url("video/vtest_first100_h264.mp4").path, "--loop"]
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("pard-rtsp-\(port)-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        let log = { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        #expect(RunCommandTests.waitUntil(20) { log().contains("READY") }, "serve.py: \(log())")
        return (p, log)
    }

    static func stop(_ p: Process) {
        guard p.isRunning else { return }
        kill(p.processIdentifier, SIGCONT)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    @Test func streamSurvivesAKilledAndAFrozenServer() throws {
        let rtspPort = RunCommandTests.freePort()
        var (server, _) = try Self.startServer(port: rtspPort)
        defer { Self.stop(server) }
        let pard = try RunningPard(frameBuffer: 4, streamName: "lobby", source: """
            url: rtsp://viewer:s3cret@127.0.0.1:\(rtspPort)/cam
            timeout: 2
            reconnect:
              initial: 0.5
              max: 2
            """)
        let metricsPort = pard.port, events = pard.events, socketPath = pard.socketPath, process = pard.process
        let log = { pard.log }
        func metric(_ name: String, _ labels: String = "") -> Double {
            RunCommandTests.httpGet(port: metricsPort, path: "/metrics").map { RunCommandTests.metric($0, name, labels) } ?? -1
        }
        func attributeEvents() -> Int {
            ((try? RunCommandTests.eventLines(events)) ?? []).filter { $0["type"] as? String == "attributes" }.count
        }
        /// Pushes detections for the next frames pard will decode; waits for their events.
        func pushAndExpectEvents(_ producer: Int32, count: Int) -> Bool {
            let before = attributeEvents()
            let newest = Int(metric("pard_frames_decoded_total"))
            RunCommandTests.sendLines(producer, (1...count).map { RunCommandTests.detection(frame: newest + $0, id: 1) })
            return RunCommandTests.waitUntil(20) { attributeEvents() >= before + count }
        }

        #expect(RunCommandTests.waitUntil(60) { metric("pard_frames_decoded_total") >= 5 }, "\(log())")
        let producer = try RunCommandTests.connect(unix: socketPath)
        defer { close(producer) }
        #expect(pushAndExpectEvents(producer, count: 5), "\(log())")

        // Killed: the loss is logged, pard reconnects when the server is back, events continue.
        Self.stop(server)
        #expect(RunCommandTests.waitUntil(5) { log().contains("stream down") }, "\(log())")
        (server, _) = try Self.startServer(port: rtspPort)
        #expect(RunCommandTests.waitUntil(30) { metric("pard_stream_reconnects_total", "lobby") >= 1 }, "\(log())")
        #expect(pushAndExpectEvents(producer, count: 5), "\(log())")

        // Frozen: noticed after 2 s (the timeout) without a new frame, reconnected after it resumes.
        // Frames already buffered still arrive after SIGSTOP (for seconds on a loaded machine), and the
        // decoder's delayed frames come out with the failure, so what counts is the longest silence of
        // the decoded-frames counter (polled every 50 ms) up to `down`.
        kill(server.processIdentifier, SIGSTOP)
        let frozeAt = Date()
        var decoded = metric("pard_frames_decoded_total"), changedAt = frozeAt, silence = 0.0
        var down = false
        while !down, Date().timeIntervalSince(frozeAt) < 20 {
            let now = metric("pard_frames_decoded_total")
            down = metric("pard_stream_up", "lobby") == 0
            if now != decoded || down {
                silence = max(silence, Date().timeIntervalSince(changedAt))
                (decoded, changedAt) = (now, Date())
            }
            if !down { usleep(50_000) }
        }
        print("[run, frozen server] down: \(down), longest silence \(silence) s")
        #expect(down && silence >= 1.7 && silence <= 3.5,
                "down: \(down), longest silence \(silence) s, \(Date().timeIntervalSince(frozeAt)) s after SIGSTOP: \(log())")
        kill(server.processIdentifier, SIGCONT)
        #expect(RunCommandTests.waitUntil(30) { metric("pard_stream_reconnects_total", "lobby") >= 2 }, "\(log())")
        #expect(pushAndExpectEvents(producer, count: 5), "\(log())")

        #expect(!log().contains("s3cret"))
        kill(process.processIdentifier, SIGTERM)
        #expect(RunCommandTests.waitUntil(30) { !process.isRunning })
        #expect(process.terminationStatus == 0, "\(log())")
    }
}
