import CFFmpeg
import Foundation
import PardVideo
import Testing

@Suite struct OtherCodecsTests {
    /// Mean grey level (0-255) of the crop of `box`.
    static func meanGrey(_ box: Box, _ frame: DecodedFrame, _ cropper: CropExtractor) throws -> Double {
        var out = [Float](repeating: 0, count: cropper.floatsPerCrop)
        try out.withUnsafeMutableBufferPointer { _ = try cropper.crop(box, from: frame, into: $0) }
        return out.reduce(0.0) { $0 + Double($1) } / Double(out.count) * 127.5 + 127.5
    }

    @Test(arguments: [("mpeg4", "avi"), ("mpeg4", "mp4"), ("mjpeg", "avi"), ("mjpeg", "mp4")])
    func decodesMPEG4AndMJPEG(codec: String, container: String) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("clip.\(container)").path
        let mjpeg = codec == "mjpeg"
        try writeSyntheticClip(to: path, container: container, codec: mjpeg ? AV_CODEC_ID_MJPEG : AV_CODEC_ID_MPEG4,
                               pixelFormat: mjpeg ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P,
                               sizes: Array(repeating: (320, 240), count: 12))
        let decoder = try VideoDecoder(url: path)
        #expect(decoder.codecName == codec)
        #expect(decoder.width == 320 && decoder.height == 240)
        let cropper = CropExtractor(resize: .stretch)
        var count = 0
        while let frame = try decoder.nextFrame() {
            count += 1
            #expect(frame.number == count)
            #expect(abs(frame.pts - Double(count - 1) * 0.1) < 1e-6, "frame \(count): \(frame.pts)")
            // Luma 40 and 200: limited range (MPEG-4) gives RGB 28 and 214, full range (JPEG) 40 and 200.
            let dark = try Self.meanGrey(Box(x: 20.5, y: 31, w: 101, h: 150), frame, cropper)
            let light = try Self.meanGrey(Box(x: 181, y: 30.5, w: 99, h: 151), frame, cropper)
            #expect(abs(dark - (mjpeg ? 40 : 28)) < 3, "frame \(count): \(dark)")
            #expect(abs(light - (mjpeg ? 200 : 214)) < 3, "frame \(count): \(light)")
        }
        #expect(count == 12)
        #expect(decoder.state == .complete)
    }

    @Test func sizeChangeMidStreamIsFollowedByFramesAndCrops() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("resized.mkv").path
        try writeSyntheticClip(to: path, container: "matroska", codec: AV_CODEC_ID_MJPEG, pixelFormat: AV_PIX_FMT_YUVJ420P,
                               sizes: Array(repeating: (320, 240), count: 5) + Array(repeating: (160, 120), count: 5)
                                   + Array(repeating: (320, 240), count: 2))
        let decoder = try VideoDecoder(url: path)
        let cropper = CropExtractor()
        var sizes: [String] = []
        while let frame = try decoder.nextFrame() {
            sizes.append("\(frame.width)x\(frame.height)")
            var whole = [Float](repeating: 0, count: cropper.floatsPerCrop)
            try whole.withUnsafeMutableBufferPointer { try cropper.cropWhole(frame, into: $0) }
            // Row 112 of the whole-frame letterbox: dark on the left half, light on the right.
            let left = Double(whole[112 * 224 + 40]) * 127.5 + 127.5
            let right = Double(whole[112 * 224 + 184]) * 127.5 + 127.5
            #expect(abs(left - 40) < 3 && abs(right - 200) < 3, "\(frame.number) \(sizes.last ?? ""): \(left) \(right)")
            if frame.width == 160 {
                #expect(throws: VideoError.self) {
                    var out = [Float](repeating: 0, count: cropper.floatsPerCrop)
                    try out.withUnsafeMutableBufferPointer { _ = try cropper.crop(Box(x: 200, y: 10, w: 50, h: 50), from: frame, into: $0) }
                }
            }
        }
        #expect(sizes == Array(repeating: "320x240", count: 5) + Array(repeating: "160x120", count: 5)
                + Array(repeating: "320x240", count: 2))
    }
}

@Test func ffmpegLogLevelIsSet() {
    let before = av_log_get_level()
    defer { av_log_set_level(before) }
    FFmpegLogLevel.quiet.apply()
    #expect(av_log_get_level() == AV_LOG_QUIET)
    FFmpegLogLevel.error.apply()
    #expect(av_log_get_level() == AV_LOG_ERROR)
}
