import Foundation
import PardDaemon
import PardTestSupport
import Testing

/// `LiveStream` on a video file: realtime pacing, looping with numbers and pts that keep increasing,
/// the end of a file, a missing file.
@Suite(.serialized)
struct LiveStreamFileTests {
    /// 100 frames at 10 fps: pts 0.0, 0.1, ... 9.9.
    static let clip = Fixtures.url("video/vtest_first100_h264.mp4").path

    typealias Harness = LiveStreamRTSPTests.Harness

    @Test("realtime pacing delivers a file at its native rate")
    func realtime() async throws {
        let harness = Harness(LiveStreamOptions(name: "file", url: Self.clip, realtime: true))
        harness.stream.start()
        defer { harness.stop() }
        #expect(await eventually(timeout: 15) { harness.frames.count >= 31 })
        let timed = harness.frames.timed
        let first = timed[0], thirtieth = timed[30]
        let video = thirtieth.value.pts - first.value.pts
        let wall = thirtieth.at.timeIntervalSince(first.at)
        #expect(abs(video - 3.0) < 0.01)
        #expect(wall >= video - 0.15 && wall <= video + 1.0, "30 frames of \(video) s took \(wall) s")
    }

    @Test("a looping file goes on with numbers and pts that keep increasing")
    func loop() async throws {
        let harness = Harness(LiveStreamOptions(name: "file", url: Self.clip, loop: true))
        harness.stream.start()
        #expect(await eventually(timeout: 30) { harness.frames.count >= 250 })
        harness.stop()
        let frames = harness.frames.values
        #expect(frames.map(\.number) == Array(1...frames.count))
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0.pts < $1.pts })
        // Pass 2 starts one frame interval after pass 1's last frame (9.9 s).
        #expect(frames[99].pass == 1 && frames[100].pass == 2 && frames[200].pass == 3)
        #expect(abs(frames[100].pts - 10.0) < 1e-6 && abs(frames[200].pts - 20.0) < 1e-6)
        #expect(frames[100].decoded.number == 1 && frames[100].decoded.pts == 0)
        #expect(harness.stream.statistics.loops >= 2)
        #expect(harness.states.values == [.connecting, .up, .stopped])
    }

    @Test("a file without loop ends as finished after its frames, with its own pts")
    func finishes() async throws {
        let harness = Harness(LiveStreamOptions(name: "file", url: Self.clip))
        harness.stream.start()
        #expect(await eventually(timeout: 30) { harness.lastState == .finished })
        #expect(harness.stream.join(timeout: 2))
        let frames = harness.frames.values
        #expect(frames.count == 100)
        #expect(abs((frames.last?.pts ?? 0) - 9.9) < 1e-6)
        #expect(harness.states.values == [.connecting, .up, .finished])
    }

    @Test("a missing file is retried with backoff and reported down once; stop() cuts the wait short")
    func missingFile() async throws {
        let harness = Harness(LiveStreamOptions(name: "file", url: "/nonexistent/clip.mp4",
                                                backoff: ReconnectBackoff(initial: 0.1, max: 0.2)))
        harness.stream.start()
        #expect(await eventually(timeout: 5) { harness.stream.statistics.failures >= 3 })
        #expect(harness.downCount == 1)
        let asked = Date()
        harness.stop(within: 1)
        #expect(Date().timeIntervalSince(asked) < 1)
        #expect(harness.lastState == .stopped)
    }

    @Test("backoff doubles up to its maximum, with jitter within its fraction")
    func backoff() {
        let backoff = ReconnectBackoff(initial: 1, max: 30, jitter: 0.2)
        #expect((0..<7).map { backoff.baseDelay(attempt: $0) } == [1, 2, 4, 8, 16, 30, 30])
        #expect(backoff.delay(attempt: 2, random: 0.5) == 4)
        #expect(abs(backoff.delay(attempt: 2, random: 0) - 3.2) < 1e-9)
        #expect(abs(backoff.delay(attempt: 2, random: 0.999999) - 4.8) < 1e-5)
        for _ in 0..<100 {
            let delay = backoff.delay(attempt: 10)
            #expect(delay >= 24 && delay <= 36)
        }
    }
}
