import CFFmpeg
import Foundation
import PardVideo
import Testing

/// Issue 8 item 9a: a picture over `PictureLimit` is refused before it is decoded, whether the
/// stream declares it from the start or grows to it mid-stream. The limit is lowered here so that
/// small synthetic clips exercise the same paths as a 16000x16000 file.
@Suite struct PictureLimitTests {
    func clip(_ dir: TemporaryDirectory, _ sizes: [(Int, Int)]) throws -> String {
        let path = dir.file("clip.mkv").path
        try writeSyntheticClip(to: path, container: "matroska", codec: AV_CODEC_ID_MJPEG, pixelFormat: AV_PIX_FMT_YUVJ420P,
                               sizes: sizes)
        return path
    }

    @Test func aDeclaredSizeOverTheLimitIsRefusedAtOpen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try clip(dir, Array(repeating: (128, 96), count: 3))
        let limit = PictureLimit(maxSide: 1000, maxPixels: 64 * 48)
        #expect(throws: VideoError.pictureTooLarge(url: path, frame: 0, width: 128, height: 96, limit: limit)) {
            _ = try VideoDecoder(url: path, options: DecoderOptions(threads: 1, pictureLimit: limit))
        }
        let sideLimit = PictureLimit(maxSide: 100, maxPixels: 1_000_000)
        #expect(throws: VideoError.pictureTooLarge(url: path, frame: 0, width: 128, height: 96, limit: sideLimit)) {
            _ = try VideoDecoder(url: path, options: DecoderOptions(threads: 1, pictureLimit: sideLimit))
        }
    }

    @Test func growingPastTheLimitMidStreamEndsTheStream() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try clip(dir, [(64, 48), (64, 48), (128, 96), (128, 96), (64, 48)])
        for threads in [1, 2] {
            let limit = PictureLimit(maxSide: 1000, maxPixels: 64 * 48)
            let decoder = try VideoDecoder(url: path, options: DecoderOptions(threads: threads, pictureLimit: limit))
            var sizes: [String] = []
            let error = #expect(throws: VideoError.self) {
                while let frame = try decoder.nextFrame() { sizes.append("\(frame.width)x\(frame.height)") }
            }
            #expect(sizes == ["64x48", "64x48"], "threads \(threads)")
            #expect(error == .pictureTooLarge(url: path, frame: 2, width: 128, height: 96, limit: limit), "threads \(threads)")
            #expect(decoder.state == .failed(.pictureTooLarge(url: path, frame: 2, width: 128, height: 96, limit: limit)))
        }
    }

    @Test func theStandardLimitAdmits8KAndRefuses16000Square() {
        #expect(PictureLimit.standard.admits(width: 7680, height: 4320))
        #expect(!PictureLimit.standard.admits(width: 16000, height: 16000))
        #expect(!PictureLimit.standard.admits(width: 20000, height: 100))
        #expect(PictureLimit.standard.admits(width: 0, height: 0))  // unknown until decoded
    }

    /// FFmpeg's messages reach the handler pard installs, with their component, instead of FFmpeg's
    /// own `[png @ 0x...]` printing.
    @Test func ffmpegMessagesReachTheHandler() throws {
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var messages: [FFmpegLog.Message] = []
        }
        let collected = Collected()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try clip(dir, [(64, 48), (128, 96)])
        FFmpegLog.setHandler { message in
            collected.lock.lock()
            collected.messages.append(message)
            collected.lock.unlock()
        }
        defer { FFmpegLog.setHandler(nil) }
        // The refused frame makes the decoder log "get_buffer() failed" at error level.
        let options = DecoderOptions(threads: 1, pictureLimit: PictureLimit(maxSide: 1000, maxPixels: 64 * 48))
        let decoder = try VideoDecoder(url: path, options: options)
        #expect(throws: VideoError.self) { while try decoder.nextFrame() != nil {} }
        collected.lock.lock()
        let messages = collected.messages
        collected.lock.unlock()
        #expect(messages.contains { $0.component == "mjpeg" && $0.isError && $0.line.hasPrefix("ffmpeg: mjpeg: ") },
                "\(messages.map(\.line))")
    }
}
