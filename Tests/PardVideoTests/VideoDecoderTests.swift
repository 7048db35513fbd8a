import Foundation
import PardTestSupport
import PardVideo
import Testing

/// What decoding a whole input gave.
struct DecodeRun {
    var numbers: [Int] = []
    var pts: [Double] = []
    var sizes: [String] = []
    var error: VideoError?
    var state: VideoDecoder.State = .decoding
}

func decodeAll(_ path: String, options: DecoderOptions = DecoderOptions()) throws -> DecodeRun {
    let decoder = try VideoDecoder(url: path, options: options)
    var run = DecodeRun()
    do {
        while let frame = try decoder.nextFrame() {
            run.numbers.append(frame.number)
            run.pts.append(frame.pts)
            run.sizes.append("\(frame.width)x\(frame.height) \(frame.pixelFormatName)")
        }
    } catch let error as VideoError {
        run.error = error
    }
    run.state = decoder.state
    #expect(try decoder.nextFrame() == nil, "a finished decoder returns nil")
    return run
}

/// The frame number a decoding error says was reached.
func frameReached(_ error: VideoError) -> Int? {
    switch error {
    case .readFailed(_, let frame, _), .decodeFailed(_, let frame, _), .endedEarly(_, let frame, _, _),
         .interrupted(_, let frame):
        return frame
    default:
        return nil
    }
}

@Suite struct VideoDecoderTests {
    static let clips = ["video/vtest_first100_h264.mp4", "video/vtest_first100_h265.mp4"]

    @Test(arguments: clips)
    func decodesEveryFrameInOrderWithTimestamps(_ clip: String) throws {
        let path = Fixtures.url(clip).path
        let decoder = try VideoDecoder(url: path)
        #expect(decoder.width == 768)
        #expect(decoder.height == 576)
        #expect(decoder.pixelFormatName == "yuv420p")
        #expect(decoder.frameRate == 10)
        #expect(abs((decoder.declaredDuration ?? 0) - 10) < 1e-6)
        #expect(decoder.codecName == (clip.contains("h264") ? "h264" : "hevc"))

        let run = try decodeAll(path)
        #expect(run.error == nil)
        #expect(run.state == .complete)
        #expect(run.numbers == Array(1...100))
        #expect(Set(run.sizes) == ["768x576 yuv420p"])
        for (i, t) in run.pts.enumerated() {
            #expect(abs(t - Double(i) * 0.1) < 1e-9, "frame \(i + 1) pts \(t)")
        }
    }

    @Test func singleThreadDecodesTheSameFrames() throws {
        let path = Fixtures.url("video/vtest_first100_h264.mp4").path
        let one = try VideoDecoder(url: path, options: DecoderOptions(threads: 1))
        let auto = try VideoDecoder(url: path, options: DecoderOptions(threads: 0))
        let cropper = CropExtractor()
        var a = [Float](repeating: 0, count: cropper.floatsPerCrop)
        var b = a
        var count = 0
        while let f1 = try one.nextFrame() {
            let f2 = try #require(try auto.nextFrame())
            #expect(f1.number == f2.number && f1.pts == f2.pts)
            if f1.number % 20 == 1 {
                try a.withUnsafeMutableBufferPointer { try cropper.cropWhole(f1, into: $0) }
                try b.withUnsafeMutableBufferPointer { try cropper.cropWhole(f2, into: $0) }
                #expect(a == b, "frame \(f1.number) differs between thread counts")
            }
            count += 1
        }
        #expect(count == 100)
        #expect(try auto.nextFrame() == nil)
    }

    @Test func missingFileIsAnOpenErrorNamingIt() throws {
        let path = "/nonexistent/dir/clip.mp4"
        #expect {
            _ = try VideoDecoder(url: path)
        } throws: { error in
            guard case .openFailed(let url, let reason) = error as? VideoError else { return false }
            let text = (error as? VideoError)?.description ?? ""
            return url == path && reason.contains("No such file") && text.hasPrefix(path) && !text.contains("\n")
        }
    }

    @Test func anEmptyFileIsAnOpenError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("empty.mp4").path
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(throws: VideoError.openFailed(url: path, reason: "Invalid data found when processing input")) {
            _ = try VideoDecoder(url: path)
        }
    }

    @Test func truncatedMP4DeliversTheFramesBeforeTheBreakThenNamesTheFrameReached() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // This MP4 has its moov atom at the front, so a truncated copy opens and breaks mid-way.
        let truncated = dir.file("truncated.mp4")
        try truncateCopy(Fixtures.url("video/vtest_first100_h264.mp4"), to: truncated, fraction: 0.4)
        let run = try decodeAll(truncated.path)
        let error = try #require(run.error)
        #expect(run.numbers.count > 10 && run.numbers.count < 100, "\(run.numbers.count) frames")
        #expect(run.numbers == Array(1...max(1, run.numbers.count)))
        #expect(frameReached(error) == run.numbers.count, "\(error)")
        #expect(error.description.contains("after frame \(run.numbers.count)"), "\(error)")
        #expect(error.description.contains("truncated.mp4"))
        #expect(run.state == .failed(error))
    }

    @Test func truncatedMKVEndsEarlyAndSaysSo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let full = dir.file("full.mkv")
        try remux(Fixtures.url("video/vtest_first100_h264.mp4").path, to: full.path, format: "matroska")
        let complete = try decodeAll(full.path)
        #expect(complete.error == nil && complete.state == .complete, "\(String(describing: complete.error))")
        #expect(complete.numbers.count == 100)

        let truncated = dir.file("truncated.mkv")
        try truncateCopy(full, to: truncated, fraction: 0.4)
        let run = try decodeAll(truncated.path)
        let error = try #require(run.error, "a truncated file must not look complete")
        #expect(run.numbers.count > 10 && run.numbers.count < 100, "\(run.numbers.count) frames")
        #expect(frameReached(error) == run.numbers.count, "\(error)")
        #expect(error.description.contains("frame \(run.numbers.count)"), "\(error)")
        if case .endedEarly(_, _, let reached, let expected) = error {
            #expect(abs(expected - 10) < 0.01)
            let lastPTS = try #require(run.pts.last)
            #expect(reached > lastPTS && reached < 5, "reached \(reached) s, last frame at \(lastPTS) s")
        }
    }

    @Test func aStopSignalStopsDecodingWithTheFrameReached() throws {
        let flag = StopSignal()
        let options = DecoderOptions(threads: 1, interrupt: { flag.isStopped })
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path, options: options)
        for _ in 0..<5 { _ = try decoder.nextFrame() }
        flag.stop()
        var delivered = 5
        do {
            while try decoder.nextFrame() != nil { delivered += 1 }
            Issue.record("decoding finished despite the interrupt")
        } catch let error as VideoError {
            #expect(error == .interrupted(url: decoder.url, frame: delivered))
            #expect(decoder.framesDelivered == delivered)
            #expect(delivered < 100)
        }

        // Raised before opening: the open itself is interrupted.
        let raised = StopSignal()
        raised.stop()
        #expect(throws: VideoError.interrupted(url: Fixtures.url("video/vtest_first100_h264.mp4").path, frame: 0)) {
            _ = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path,
                                 options: DecoderOptions(interrupt: { raised.isStopped }))
        }
    }

    @Test func optionsArePassedThroughAndUnusedOnesListed() throws {
        let path = Fixtures.url("video/vtest_first100_h264.mp4").path
        let decoder = try VideoDecoder(url: path, options: DecoderOptions(
            formatOptions: ["probesize": "100000", "rtsp_transport_misspelt": "tcp"],
            codecOptions: ["skip_frame": "nokey"]))
        #expect(decoder.unusedOptions == ["rtsp_transport_misspelt"])
        // skip_frame=nokey reached the decoder: only key frames come out.
        var count = 0
        while let frame = try decoder.nextFrame() {
            #expect(frame.isKeyFrame)
            count += 1
        }
        #expect(count >= 1 && count < 100)

        #expect(throws: VideoError.self) {
            _ = try VideoDecoder(url: path, options: DecoderOptions(formatName: "no-such-demuxer"))
        }
        #expect(throws: VideoError.self) {
            _ = try VideoDecoder(url: path, options: DecoderOptions(codecOptions: ["threads": "not-a-number"]))
        }
    }

    @Test func credentialsAreRemovedFromURLs() {
        #expect(redactCredentials("rtsp://admin:secret@10.0.0.5:554/stream?x=1") == "rtsp://10.0.0.5:554/stream?x=1")
        #expect(redactCredentials("rtsp://user@cam/") == "rtsp://cam/")
        #expect(redactCredentials("rtsp://cam/path@x") == "rtsp://cam/path@x")
        #expect(redactCredentials("/videos/a@b.mp4") == "/videos/a@b.mp4")
        let error = VideoError.openFailed(url: redactCredentials("rtsp://a:b@host/s"), reason: "Connection refused")
        #expect(error.description == "rtsp://host/s: cannot open: Connection refused")
    }

    @Test func credentialsNeverReachOpenErrors() throws {
        do {
            _ = try VideoDecoder(url: "unknownproto://admin:hunter2@host/stream")
            Issue.record("opened an unknown protocol")
        } catch let error as VideoError {
            #expect(!error.description.contains("hunter2"), "\(error)")
            #expect(error.description.contains("unknownproto://host/stream"))
        }
    }
}
