import Foundation
import PardDaemon
import PardTestSupport
import Testing

/// `LiveStream` against a real RTSP server (GStreamer, `Tests/Fixtures/rtsp/serve.py`) on loopback:
/// frames arrive, a killed server is noticed at once, a frozen one after one timeout of silence, and the
/// stream reconnects with backoff in both cases. Serialized: the timings are about one stream at a time.
@Suite(.serialized)
struct LiveStreamRTSPTests {
    static let clip = Fixtures.url("video/vtest_first100_h264.mp4").path

    /// A stream with its frames and states recorded.
    final class Harness: Sendable {
        let frames = Recorder<LiveFrame>()
        let states = Recorder<LiveStreamState>()
        /// When each `down` was reported, on the stream's own thread (not when a test's poll woke up).
        let downTimes = Recorder<Date>()
        let stream: LiveStream

        init(_ options: LiveStreamOptions) {
            let frames = self.frames, states = self.states, downTimes = self.downTimes
            stream = LiveStream(options: options, onFrame: { frames.append($0) }, onState: { state in
                if case .down = state { downTimes.append(Date()) }
                states.append(state)
            })
        }

        var downCount: Int { states.values.filter { if case .down = $0 { return true } else { return false } }.count }
        var lastState: LiveStreamState? { states.values.last }
        var lastNumber: Int { frames.values.last?.number ?? 0 }

        /// Stops the stream; the thread must end within `seconds`.
        func stop(within seconds: TimeInterval = 3) {
            stream.stop()
            #expect(stream.join(timeout: seconds), "the stream's thread did not end within \(seconds) s")
        }
    }

    /// Seconds of the longest gap between arrivals (frames, then the first `down`) from the last frame
    /// before `instant` on: how long the stream went without news before it reported the loss.
    static func longestSilence(_ harness: Harness, since instant: Date) -> TimeInterval {
        let down = harness.downTimes.values.first ?? .distantFuture
        let times = harness.frames.timed.map(\.at)
        let start = times.lastIndex { $0 < instant } ?? 0
        let arrivals = times[start...].filter { $0 < down } + [down]
        return zip(arrivals, arrivals.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? .nan
    }

    static func options(_ url: String, transport: DaemonConfig.Transport = .tcp, timeout: TimeInterval = 2) -> LiveStreamOptions {
        LiveStreamOptions(name: "cam1", url: url, transport: transport, timeout: timeout,
                          backoff: ReconnectBackoff(initial: 0.3, max: 1, jitter: 0.2, resetAfter: 10))
    }

    @Test("frames arrive over RTSP, numbered 1, 2, 3, ... with increasing pts", arguments: [DaemonConfig.Transport.tcp, .udp])
    func framesArrive(transport: DaemonConfig.Transport) async throws {
        let server = RTSPTestServer(arguments: ["--file", Self.clip, "--loop"])
        try await server.start()
        defer { server.stop() }
        let harness = Harness(Self.options(server.url, transport: transport))
        harness.stream.start()
        defer { harness.stop() }
        #expect(await eventually(timeout: 20) { harness.frames.count >= 15 }, "frames: \(harness.frames.count), states: \(harness.states.values)")
        let frames = harness.frames.values
        #expect(frames.map(\.number) == Array(1...frames.count))
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0.pts < $1.pts }, "pts: \(frames.map { "\($0.decoded.pts)\($0.decoded.ptsIsEstimated ? "e" : "")" })")
        #expect(frames.first.map { ($0.width, $0.height) } ?? (0, 0) == (768, 576))
        #expect(Array(harness.states.values.prefix(2)) == [.connecting, .up])
        #expect(harness.stream.statistics.framesDecoded >= frames.last?.number ?? .max)
        #expect(harness.stream.statistics.connections == 1)
    }

    @Test("a killed server is noticed at once; the stream reconnects when it is back, numbers keep increasing")
    func killedServer() async throws {
        let server = RTSPTestServer(arguments: ["--file", Self.clip, "--loop"])
        try await server.start()
        defer { server.stop() }
        // A long timeout: noticing the kill must not depend on it.
        let harness = Harness(Self.options(server.url, timeout: 10))
        harness.stream.start()
        defer { harness.stop() }
        #expect(await eventually(timeout: 20) { harness.frames.count >= 10 })

        server.stop()
        let killed = Date()
        // The poll may wake late on a busy machine; when the stream reported `down` is what counts, and
        // frames already buffered may still arrive first: no silence near the 10 s timeout before it.
        #expect(await eventually(timeout: 20) { harness.downCount == 1 }, "states: \(harness.states.values)")
        let silence = Self.longestSilence(harness, since: killed)
        #expect(silence < 3, "longest silence before down \(silence) s")
        let numberAtLoss = harness.lastNumber
        // Several failed attempts while the server is away: `down` is still reported once.
        try await Task.sleep(for: .seconds(2))
        #expect(harness.stream.statistics.failures >= 2)
        #expect(harness.downCount == 1)

        try await server.start()
        #expect(await eventually(timeout: 20) { harness.lastNumber >= numberAtLoss + 10 },
                "frames after restart: \(harness.lastNumber - numberAtLoss), states: \(harness.states.values)")
        let states = harness.states.values
        #expect(states.count == 4, "\(states)")
        #expect(states.first == .connecting && states.last == .up)
        let statistics = harness.stream.statistics
        #expect(statistics.reconnects == 1 && statistics.connections == 2)
        let frames = harness.frames.values
        #expect(frames.map(\.number) == Array(1...frames.count))
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0.pts < $1.pts }, "pts must keep increasing across the reconnection")
        #expect(frames.last?.connection == 2 && frames.last?.decoded.number ?? 0 < frames.count)
    }

    @Test("a frozen server (SIGSTOP) is noticed after one timeout of silence; the stream reconnects after SIGCONT")
    func frozenServer() async throws {
        let server = RTSPTestServer(arguments: ["--file", Self.clip, "--loop"])
        try await server.start()
        defer { server.stop() }
        let timeout: TimeInterval = 2
        let harness = Harness(Self.options(server.url, timeout: timeout))
        harness.stream.start()
        defer { harness.stop() }
        #expect(await eventually(timeout: 20) { harness.frames.count >= 10 })

        server.send(SIGSTOP)
        let frozen = Date()
        // Frames already in the socket's buffers still arrive after SIGSTOP (for seconds on a loaded
        // machine), and the decoder's delayed frames come out with the failure, so the clock that counts
        // is the silence: the longest gap between arrivals (frames, then `down`) must be one timeout.
        #expect(await eventually(timeout: 20) { harness.downCount == 1 }, "states: \(harness.states.values)")
        let down = harness.downTimes.values.first ?? .distantFuture
        let silence = Self.longestSilence(harness, since: frozen)
        let figures = "longest silence \(silence) s, down \(down.timeIntervalSince(frozen)) s after SIGSTOP, with a \(timeout) s timeout"
        print("[frozen server] \(figures)")
        #expect(silence >= timeout - 0.1, "\(figures): too early")
        #expect(silence <= timeout + 1, "\(figures): too late")
        if case .down(let reason)? = harness.lastState { #expect(reason.contains("timeout"), "\(reason)") }
        let numberAtLoss = harness.lastNumber

        try await Task.sleep(for: .seconds(1))
        server.send(SIGCONT)
        #expect(await eventually(timeout: 25) { harness.lastNumber >= numberAtLoss + 10 },
                "frames after SIGCONT: \(harness.lastNumber - numberAtLoss), states: \(harness.states.values)")
        #expect(harness.lastState == .up)
        #expect(harness.downCount == 1)
        #expect(harness.stream.statistics.reconnects == 1)
    }

    @Test("stop() ends a read blocked on a frozen server at once, whatever the timeout")
    func stopWhileFrozen() async throws {
        let server = RTSPTestServer(arguments: ["--file", Self.clip, "--loop"])
        try await server.start()
        defer { server.stop() }
        let harness = Harness(Self.options(server.url, timeout: 60))
        harness.stream.start()
        #expect(await eventually(timeout: 20) { harness.frames.count >= 3 })
        server.send(SIGSTOP)
        try await Task.sleep(for: .milliseconds(500))
        let asked = Date()
        harness.stop(within: 2)
        #expect(Date().timeIntervalSince(asked) < 2)
        #expect(harness.lastState == .stopped)
    }

    @Test("credentials never reach the reported reason; a dead address is retried with down reported once")
    func unreachableWithCredentials() async throws {
        let port = freeTCPPort()
        let harness = Harness(Self.options("rtsp://admin:s3cret-pw@127.0.0.1:\(port)/cam?token=t0ken123", timeout: 1))
        harness.stream.start()
        defer { harness.stop() }
        #expect(await eventually(timeout: 10) { harness.stream.statistics.failures >= 3 })
        let states = harness.states.values
        #expect(states.first == .connecting)
        #expect(harness.downCount == 1, "\(states)")
        let text = states.map(\.description).joined() + (harness.stream.statistics.lastError ?? "")
        #expect(!text.contains("s3cret") && !text.contains("admin") && !text.contains("t0ken"), "\(text)")
        #expect(harness.stream.options.redactedURL.contains("***@127.0.0.1"))
    }
}
