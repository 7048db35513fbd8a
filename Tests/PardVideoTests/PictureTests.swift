import CFFmpeg
import Foundation
@testable import PardVideo
import PardTestSupport
import Testing

/// Pictures (issue 12): the bitmap font, cutting frames at full resolution, PNG/JPEG files, and the
/// annotated video's encoder on sources of every chroma layout and odd sizes.
@Suite struct PictureTests {
    // MARK: - Helpers

    /// The whole frame as RGB by one swscale call over the whole picture (no windows), with the frame's
    /// range: the independent reference for cut pixels.
    static func wholeFrameRGB(_ frame: DecodedFrame) throws -> RGBPicture {
        let source = frame.frame
        let (format, jpeg) = RegionConverter.unJPEG(frame.pixelFormat)
        let full = jpeg || source.pointee.color_range == AVCOL_RANGE_JPEG
        let picture = RGBPicture(width: frame.width, height: frame.height)
        let context = try #require(sws_getContext(Int32(frame.width), Int32(frame.height), AVPixelFormat(rawValue: format),
                                                  Int32(frame.width), Int32(frame.height), AV_PIX_FMT_RGB24,
                                                  SWS_BICUBIC, nil, nil, nil))
        defer { sws_freeContext(context) }
        let matrix = sws_getCoefficients(source.pointee.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT)
        _ = sws_setColorspaceDetails(context, matrix, full ? 1 : 0, matrix, 1, 0, 1 << 16, 1 << 16)
        var planes: [UnsafePointer<UInt8>?] = (0..<4).map { UnsafePointer(source.plane($0)) }
        var strides: [Int32] = (0..<4).map { source.linesize($0) }
        picture.withPixels { out in
            var outPlanes: [UnsafeMutablePointer<UInt8>?] = [out, nil, nil, nil]
            var outStrides: [Int32] = [Int32(picture.stride), 0, 0, 0]
            _ = sws_scale(context, &planes, &strides, 0, Int32(frame.height), &outPlanes, &outStrides)
        }
        return picture
    }

    /// `rect` of `picture`, copied pixel by pixel.
    static func crop(_ picture: RGBPicture, _ rect: CropRect) -> RGBPicture {
        let out = RGBPicture(width: rect.width, height: rect.height)
        picture.pixels.withUnsafeBufferPointer { from in
            guard let from = from.baseAddress else { return }
            for y in 0..<rect.height { out.setRow(y, from: from + 3 * ((rect.y0 + y) * picture.width + rect.x0), count: 3 * rect.width) }
        }
        return out
    }

    /// Largest and mean absolute difference of two pictures of the same size (nil when sizes differ).
    static func difference(_ a: RGBPicture, _ b: RGBPicture) -> (max: Int, mean: Double)? {
        guard a.width == b.width, a.height == b.height else { return nil }
        var worst = 0, sum = 0
        for (x, y) in zip(a.pixels, b.pixels) {
            let d = abs(Int(x) - Int(y))
            worst = max(worst, d)
            sum += d
        }
        return (worst, Double(sum) / Double(a.pixels.count))
    }

    /// A smooth test picture: red across, green down, blue by frame.
    static func pattern(width: Int, height: Int, frame: Int) -> RGBPicture {
        let picture = RGBPicture(width: width, height: height)
        picture.withPixels { p in
            for y in 0..<height {
                for x in 0..<width {
                    let i = 3 * (y * width + x)
                    p[i] = UInt8(x * 255 / max(1, width - 1))
                    p[i + 1] = UInt8(y * 255 / max(1, height - 1))
                    p[i + 2] = UInt8((frame * 20) % 256)
                }
            }
        }
        return picture
    }

    /// Writes a `frames`-frame clip at 10 frames/s.
    static func writeClip(_ path: String, width: Int, height: Int, frames: Int, pixelFormat: String, codec: String) throws {
        let encoder = VideoEncoder(path: path, frameRate: 10, pixelFormat: pixelFormat, codec: codec)
        for i in 0..<frames { try encoder.write(pattern(width: width, height: height, frame: i), pts: Double(i) / 10) }
        try encoder.finish()
    }

    static func decodeAll(_ path: String) throws -> [DecodedFrame] {
        let decoder = try VideoDecoder(url: path)
        var frames: [DecodedFrame] = []
        while let frame = try decoder.nextFrame() { frames.append(frame) }
        #expect(decoder.state == .complete)
        return frames
    }

    // MARK: - Font and painter

    @Test func everyPrintableCharacterHasAGlyphInsideItsCell() {
        for code in 33..<127 {
            let scalar = Unicode.Scalar(UInt8(code))
            let cell = RGBPicture(width: BitmapFont.advance + 2, height: BitmapFont.lineHeight + 2)
            cell.text(String(Character(scalar)), x: 1, y: 1, .white)
            var ink = 0, outside = 0
            for y in 0..<cell.height {
                for x in 0..<cell.width where cell[x, y] == .white {
                    ink += 1
                    if x < 1 || x > BitmapFont.glyphWidth || y < 1 || y > BitmapFont.glyphHeight { outside += 1 }
                }
            }
            #expect(ink > 0, "\(Character(scalar)) has no glyph")
            #expect(outside == 0, "\(Character(scalar)) leaves its cell")
        }
        // Characters without a glyph are drawn as "?".
        let a = RGBPicture(width: 8, height: 12), b = RGBPicture(width: 8, height: 12)
        a.text("é", x: 1, y: 1, .white)
        b.text("?", x: 1, y: 1, .white)
        #expect(a.pixels == b.pixels)
        #expect(BitmapFont.width("ab", scale: 2) == 22)
    }

    @Test func strokesAndLabelsStayInsideThePicture() {
        let picture = RGBPicture(width: 20, height: 10)
        picture.stroke(CropRect(x0: -5, y0: -5, x1: 30, y1: 30), thickness: 3, .white)  // clipped away but for nothing
        picture.stroke(CropRect(x0: 4, y0: 4, x1: 5, y1: 5), thickness: 3, RGBColour(1, 2, 3))  // a 1-pixel box
        #expect(picture[4, 4] == RGBColour(1, 2, 3))
        #expect(picture[5, 4] == .black && picture[3, 4] == .black)
        let block = picture.label(["#7", "female"], x: 15, y: 8, .black, on: .white)
        #expect(block.x0 >= 0 && block.y0 >= 0)
        #expect(block.x1 <= picture.width || block.x0 == 0)
    }

    // MARK: - Cutting

    @Test func cutPixelsEqualAnIndependentCropOfTheDecodedFrame() throws {
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        let frame = try #require(try decoder.nextFrame())
        let whole = try Self.wholeFrameRGB(frame)
        let cutter = PictureCutter()
        let rects = [CropRect(x0: 498, y0: 152, x1: 534, y1: 242), CropRect(x0: 0, y0: 0, x1: 41, y1: 97),      // top-left corner
                     CropRect(x0: 731, y0: 480, x1: 768, y1: 576), CropRect(x0: 333, y0: 211, x1: 334, y1: 212),  // bottom-right, 1 pixel
                     CropRect(x0: 0, y0: 0, x1: 768, y1: 576), CropRect(x0: 1, y0: 3, x1: 2, y1: 575)]              // whole frame, 1 column
        for rect in rects {
            let cut = try cutter.cut(frame, rect: rect)
            let diff = try #require(Self.difference(cut, Self.crop(whole, rect)), "\(rect): size \(cut.width)x\(cut.height)")
            #expect(diff.max <= 2, "\(rect): \(diff)")
        }
        // Clamped to the frame; nothing inside is an error.
        let clamped = try cutter.cut(frame, rect: CropRect(x0: 700, y0: 500, x1: 900, y1: 700))
        #expect(clamped.width == 68 && clamped.height == 76)
        #expect(throws: VideoError.self) { try cutter.cut(frame, rect: CropRect(x0: 800, y0: 0, x1: 900, y1: 10)) }
        // Fitted: aspect ratio kept inside the box given.
        let fitted = try cutter.cut(frame, rect: rects[0], fitting: 192, 384)
        #expect(fitted.height == 384 && abs(fitted.width - 154) <= 1)
    }

    /// The last column of a cut at the right edge carries the picture, on every chroma layout and odd
    /// width (a whole-picture swscale conversion of a 322-wide 4:2:2 frame leaves its last two columns
    /// black: the cutter must not). The pattern's red reaches 255 at the right edge.
    @Test(arguments: sources.indices)
    func rightEdgeCutsCarryThePicture(source: Int) throws {
        let (codec, format, width, height) = Self.sources[source]
        let dir = try PardTestSupport.TemporaryDirectory("edge")
        let input = dir.path("in.\(codec == "mjpeg" ? "avi" : "mp4")")
        try Self.writeClip(input, width: width, height: height, frames: 1, pixelFormat: format, codec: codec)
        let frame = try #require(try VideoDecoder(url: input).nextFrame())
        for rect in [CropRect(x0: width - 8, y0: 10, x1: width, y1: 40), CropRect(x0: width - 1, y0: 0, x1: width, y1: height)] {
            let cut = try PictureCutter().cut(frame, rect: rect)
            #expect(cut.width == rect.width && cut.height == rect.height)
            for y in 0..<cut.height {
                // Red near 255 there; MJPEG's odd-width edge softens it to about 160 in the decoded
                // picture itself (the whole-frame reference shows the same), black would be the bug.
                let last = cut[cut.width - 1, y]
                #expect(last.r >= 128, "\(format) \(width)x\(height) \(rect): row \(y) last column \(last)")
            }
        }
    }

    @Test func snapshotRectsGrowByTheMarginAndStayInTheFrame() {
        let rect = CropRect(x0: 100, y0: 50, x1: 140, y1: 150)
        #expect(rect.expanded(by: 0.1, within: 768, 576) == CropRect(x0: 96, y0: 40, x1: 144, y1: 160))
        #expect(CropRect(x0: 0, y0: 0, x1: 40, y1: 100).expanded(by: 0.1, within: 42, 576) == CropRect(x0: 0, y0: 0, x1: 42, y1: 110))
        #expect(CropRect(x0: 5, y0: 5, x1: 6, y1: 6).expanded(by: 0.1, within: 10, 10) == CropRect(x0: 5, y0: 5, x1: 6, y1: 6))
    }

    @Test(arguments: [PNGWriter.Format.png, .jpeg])
    func picturesDecodeAtTheirSize(format: PNGWriter.Format) throws {
        let dir = try PardTestSupport.TemporaryDirectory("pictures")
        for (width, height) in [(1, 1), (3, 2), (641, 401)] {
            let path = dir.path("p\(width)x\(height).\(format == .png ? "png" : "jpg")")
            try Self.pattern(width: width, height: height, frame: 1).write(to: path, format: format)
            let back = try ImageFile.load(path: path)
            #expect(back.width == width && back.height == height)
            if width > 100 {
                let diff = try #require(Self.difference(try PictureCutter().cut(back, rect: CropRect(x0: 0, y0: 0, x1: width, y1: height)),
                                                        Self.pattern(width: width, height: height, frame: 1)))
                #expect(format == .png ? diff.max == 0 : diff.mean < 2, "\(diff)")
            }
        }
    }

    // MARK: - The annotated video's encoder

    @Test func aJPEGPatternWritesOnePicturePerFrame() throws {
        let dir = try PardTestSupport.TemporaryDirectory("annotate-jpeg")
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        let encoder = VideoEncoder(path: dir.path("f-%03d.jpg"), for: decoder)
        let many = FrameAnnotation(items: [.init(rect: CropRect(x0: 100, y0: 100, x1: 140, y1: 200), track: 2,
                                                 labels: (1...9).map { "label\($0)" })])
        for _ in 0..<3 {
            let frame = try #require(try decoder.nextFrame())
            try encoder.write(frame) { many.draw(on: $0) }
        }
        try encoder.finish()
        #expect(encoder.codecName == "mjpeg")
        for n in 1...3 {
            let picture = try ImageFile.load(path: dir.path(String(format: "f-%03d.jpg", n)))
            #expect(picture.width == 768 && picture.height == 576)
        }
        // At most 6 labels beside a box, then "+3 more": the block is 8 lines high.
        let canvas = RGBPicture(width: 300, height: 300)
        many.draw(on: canvas)
        let column = (0..<300).filter { canvas[141, $0] == FrameAnnotation.colour(track: 2) }  // the block's left padding
        #expect(column.count == 8 * BitmapFont.lineHeight + 1, "\(column.count)")
    }

    /// Sources: (codec, pixel format, width, height) – 4:2:0, 4:2:2, 4:4:4, and odd sizes.
    static let sources: [(String, String, Int, Int)] = [
        ("libx264", "yuv420p", 320, 240), ("libx264", "yuv422p", 320, 240), ("libx264", "yuv444p", 320, 240),
        ("libx264", "yuv444p", 321, 239), ("mjpeg", "yuvj420p", 321, 241), ("mjpeg", "yuvj422p", 322, 240),
    ]

    @Test(arguments: sources.indices)
    func annotatedVideoKeepsFramesTimestampsAndDrawsBoxesInTheirColour(source: Int) throws {
        let (codec, format, width, height) = Self.sources[source]
        let dir = try PardTestSupport.TemporaryDirectory("annotate")
        let input = dir.path("in.\(codec == "mjpeg" ? "avi" : "mp4")"), output = dir.path("out.mp4")
        try Self.writeClip(input, width: width, height: height, frames: 12, pixelFormat: format, codec: codec)
        let decoder = try VideoDecoder(url: input)
        let encoder = VideoEncoder(path: output, for: decoder)
        // A box on frames 3, 6, 9, 12: one in the middle, one on the right edge, a 1-pixel one.
        let box = CropRect(x0: 41, y0: 31, x1: 141, y1: 181)
        let items = [FrameAnnotation.Item(rect: box, track: 4, labels: ["female"]),
                     FrameAnnotation.Item(rect: CropRect(x0: width - 30, y0: 0, x1: width, y1: 60), track: 5, labels: []),
                     FrameAnnotation.Item(rect: CropRect(x0: 10, y0: height - 1, x1: 11, y1: height), track: nil, labels: [])]
        var inputFrames: [DecodedFrame] = []
        while let frame = try decoder.nextFrame() {
            inputFrames.append(frame)
            try encoder.write(frame) { painter in
                if frame.number % 3 == 0 { FrameAnnotation(items: items).draw(on: painter) }
            }
        }
        try encoder.finish()
        #expect(encoder.codecName == "libx264")

        let out = try Self.decodeAll(output)
        #expect(out.count == inputFrames.count && out.count == 12)
        #expect(zip(out, inputFrames).allSatisfy { abs($0.pts - $1.pts) < 1e-6 }, "\(out.map(\.pts)) vs \(inputFrames.map(\.pts))")
        #expect(out.first.map { ($0.width, $0.height) } ?? (0, 0) == (width, height))
        let colour = FrameAnnotation.colour(track: 4)
        for (a, b) in zip(inputFrames, out) {
            let source = try Self.wholeFrameRGB(a), drawn = try Self.wholeFrameRGB(b)
            // Far from any box: the input's pixels, up to the codec's loss.
            let away = CropRect(x0: 160, y0: 190, x1: 260, y1: 230)
            let diff = try #require(Self.difference(Self.crop(source, away), Self.crop(drawn, away)))
            #expect(diff.mean < 4, "frame \(a.number): \(diff)")
            let top = drawn[(box.x0 + box.x1) / 2, box.y0 + 1], left = drawn[box.x0 + 1, (box.y0 + box.y1) / 2]
            let near = { (p: RGBColour) in abs(Int(p.r) - Int(colour.r)) <= 48 && abs(Int(p.g) - Int(colour.g)) <= 48 && abs(Int(p.b) - Int(colour.b)) <= 48 }
            if a.number % 3 == 0 {
                #expect(near(top) && near(left), "frame \(a.number): border \(top) \(left), expected \(colour)")
                // Inside the 3-pixel right border (swscale's whole-picture 4:2:2 conversion leaves the last two
                // columns of a 322-wide picture black, so the reference reads the third from the edge).
                let edge = drawn[width - 3, 30]
                #expect(abs(Int(edge.r) - Int(FrameAnnotation.colour(track: 5).r)) <= 48, "frame \(a.number): right edge \(edge)")
            } else {
                #expect(!near(top) || !near(left), "frame \(a.number) has no boxes but shows one")
            }
        }
    }
}
