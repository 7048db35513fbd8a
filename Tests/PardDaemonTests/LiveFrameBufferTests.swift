import Foundation
import PardDaemon
import PardTestSupport
import PardVideo
import Testing

/// `FrameBuffer`: bounded by seconds of pts, lookups by number and pts, waiting for a frame.
@Suite struct LiveFrameBufferTests {
    /// The clip's first `count` frames as stream frames numbered 1... with pts 0.1 s apart.
    static func frames(_ count: Int) throws -> [LiveFrame] {
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        var frames: [LiveFrame] = []
        while frames.count < count, let decoded = try decoder.nextFrame() {
            frames.append(LiveFrame(number: decoded.number, pts: decoded.pts, connection: 1, pass: 1,
                                    decodedAt: .now, decoded: decoded))
        }
        return frames
    }

    @Test("late, found, notYet and missing, by number and by pts; frames age out")
    func lookups() throws {
        let buffer = FrameBuffer(seconds: 1.05)
        if case .notYet = buffer.lookup(frame: 1) {} else { Issue.record("an empty buffer answers notYet") }
        let frames = try Self.frames(30)
        for frame in frames { buffer.append(frame) }
        // Newest pts 2.9: frames with pts >= 1.85 (numbers 20...30) are held.
        #expect(buffer.count == 11)
        #expect(buffer.span?.oldest == 20 && buffer.span?.newest == 30)
        if case .found(let frame) = buffer.lookup(frame: 25) { #expect(frame.number == 25) } else { Issue.record("frame 25") }
        if case .late = buffer.lookup(frame: 19) {} else { Issue.record("frame 19 aged out: late") }
        if case .notYet = buffer.lookup(frame: 31) {} else { Issue.record("frame 31 is not decoded yet") }
        if case .found(let frame) = buffer.lookup(pts: 2.52, tolerance: 0.05) { #expect(frame.number == 26) } else { Issue.record("pts 2.52") }
        if case .missing = buffer.lookup(pts: 2.55, tolerance: 0.02) {} else { Issue.record("pts 2.55 ± 0.02 matches nothing") }
        if case .late = buffer.lookup(pts: 1.0, tolerance: 0.05) {} else { Issue.record("pts 1.0 is late") }
        if case .notYet = buffer.lookup(pts: 3.5, tolerance: 0.05) {} else { Issue.record("pts 3.5 is not yet") }
    }

    @Test("a frame missing inside the span held is missing")
    func gap() throws {
        let buffer = FrameBuffer(seconds: 10)
        for frame in try Self.frames(10) where frame.number != 5 { buffer.append(frame) }
        if case .missing = buffer.lookup(frame: 5) {} else { Issue.record("frame 5 was never added") }
        if case .found = buffer.lookup(frame: 6) {} else { Issue.record("frame 6") }
    }

    @Test("memory stays flat: the buffer never holds more than its span or its frame cap")
    func bounded() throws {
        let frames = try Self.frames(100)
        let buffer = FrameBuffer(seconds: 0.5, maximumFrames: 4)
        for frame in frames {
            buffer.append(frame)
            #expect(buffer.count <= 4)
        }
        #expect(buffer.span?.oldest == 97 && buffer.span?.newest == 100)
    }

    @Test("waitFor returns a frame appended meanwhile, or notYet after its timeout")
    func waiting() async throws {
        let frames = try Self.frames(12)
        let buffer = FrameBuffer(seconds: 5)
        for frame in frames.prefix(10) { buffer.append(frame) }
        let later = Array(frames.suffix(2))
        Thread {
            Thread.sleep(forTimeInterval: 0.2)
            for frame in later { buffer.append(frame) }
        }.start()
        let answers = Recorder<String>()
        let done = Recorder<Bool>()
        Thread {
            let started = Date()
            if case .found(let frame) = buffer.waitFor(frame: 12, timeout: 5) { answers.append("found \(frame.number)") }
            let waited = Date().timeIntervalSince(started)
            answers.append(waited < 3 ? "prompt" : "slow \(waited)")
            let again = Date()
            if case .notYet = buffer.waitFor(pts: 9.0, tolerance: 0.01, timeout: 0.3) { answers.append("notYet") }
            let second = Date().timeIntervalSince(again)
            answers.append(second >= 0.25 && second < 3 ? "timed out" : "wrong wait \(second)")
            done.append(true)
        }.start()
        #expect(await eventually(timeout: 10) { done.count == 1 })
        #expect(answers.values == ["found 12", "prompt", "notYet", "timed out"])
    }
}
