import Foundation
import PardTestSupport
import PardVideo
import Testing

/// One row of `promptpar-tiny/crops.json`: a det.txt box of a frame and the rect the reference cut.
struct ReferenceCrop: Decodable {
    var name: String
    var frame: Int
    var box: [Double]
    var rect: [Int]

    var asBox: Box { Box(x: box[0], y: box[1], w: box[2], h: box[3]) }

    static func load() throws -> [ReferenceCrop] {
        try JSONDecoder().decode([ReferenceCrop].self,
                                 from: Data(contentsOf: Fixtures.url("promptpar-tiny/crops.json")))
    }
}

/// The decoded frames of the H.264 clip with the given numbers.
func frames(_ wanted: Set<Int>, clip: String = "video/vtest_first100_h264.mp4") throws -> [Int: DecodedFrame] {
    let decoder = try VideoDecoder(url: Fixtures.url(clip).path)
    var found: [Int: DecodedFrame] = [:]
    while found.count < wanted.count, let frame = try decoder.nextFrame() {
        if wanted.contains(frame.number) { found[frame.number] = frame }
    }
    return found
}

/// Mean absolute difference on the 0-255 scale between two normalised crops.
func meanAbsoluteDifference(_ a: some Collection<Float>, _ b: some Collection<Float>) -> Double {
    var total = 0.0
    for (x, y) in zip(a, b) { total += Double(abs(x - y)) }
    return total * 127.5 / Double(a.count)
}

@Suite struct CropExtractorTests {
    @Test func rectsMatchTheReferenceRects() throws {
        let crops = try ReferenceCrop.load()
        #expect(crops.count == 10)
        for crop in crops {
            let rect = try #require(CropRect(box: crop.asBox, frameWidth: 768, frameHeight: 576))
            #expect([rect.x0, rect.y0, rect.x1, rect.y1] == crop.rect, "\(crop.name)")
        }
    }

    @Test func cropsMatchTheReferenceInputs() throws {
        let crops = try ReferenceCrop.load()
        let inputs = try NPYFloat32(contentsOf: Fixtures.url("promptpar-tiny/inputs.npy"))
        #expect(inputs.shape == [13, 3, 224, 224])
        let decoded = try frames(Set(crops.map(\.frame)))
        let cropper = CropExtractor()
        let n = cropper.floatsPerCrop
        #expect(n == 3 * 224 * 224)
        var out = [Float](repeating: .nan, count: n)
        var report: [String] = []
        for (k, crop) in crops.enumerated() {
            let frame = try #require(decoded[crop.frame])
            let rect = try out.withUnsafeMutableBufferPointer { try cropper.crop(crop.asBox, from: frame, into: $0) }
            #expect([rect.x0, rect.y0, rect.x1, rect.y1] == crop.rect)
            let expected = inputs.values[(3 + k) * n..<(4 + k) * n]
            let mad = meanAbsoluteDifference(out, expected)
            let worst = zip(out, expected).map { Double(abs($0 - $1)) * 127.5 }.max() ?? 0
            report.append("\(crop.name) \(String(format: "%.4f", mad)) (max \(String(format: "%.2f", worst)))")
            // The issue allows 2.5 grey levels; a different honest resizer costs about 0.5, chroma
            // sampled one pixel off 0.2 to 0.55. This pipeline reproduces the reference exactly
            // (Debian 12's FFmpeg 5.1); the margin is for other CPUs' swscale SIMD rounding.
            #expect(mad < 0.1, "\(crop.name): mean absolute difference \(mad) grey levels")
        }
        print("crop MAD (0-255 scale):", report.joined(separator: ", "))
    }

    @Test func letterboxPadsWithBlackAndStretchFillsTheSquare() throws {
        let frame = try #require(try frames([25])[25])
        let tall = Box(x: 660.0, y: 254.67, w: 46.67, h: 120.0)  // rect 47 x 120
        var out = [Float](repeating: .nan, count: 3 * 224 * 224)
        let letterbox = CropExtractor(resize: .letterbox)
        try out.withUnsafeMutableBufferPointer { _ = try letterbox.crop(tall, from: frame, into: $0) }
        // 47 * 224/120 = 87.7 -> 88 wide, at column (224 - 88) / 2 = 68.
        for c in 0..<3 {
            for y in [0, 100, 223] {
                let row = c * 224 * 224 + y * 224
                #expect(out[row + 67] == -1 && out[row + 156] == -1, "margins are black")
                #expect(out[row + 68] > -1 || out[row + 155] > -1, "the picture starts at column 68")
            }
        }
        #expect(!out.contains { $0.isNaN || $0 < -1 || $0 > 1 })

        let stretch = CropExtractor(resize: .stretch)
        try out.withUnsafeMutableBufferPointer { _ = try stretch.crop(tall, from: frame, into: $0) }
        let blackColumns = (0..<224).filter { x in (0..<224).allSatisfy { y in out[y * 224 + x] == -1 } }
        #expect(blackColumns.isEmpty)
    }

    @Test func boxesAreClampedToTheFrameAndEmptyOnesAreInvalid() throws {
        let frame = try #require(try frames([1])[1])
        #expect(CropRect(box: Box(x: -10.4, y: 500, w: 50, h: 200), frameWidth: 768, frameHeight: 576)
                == CropRect(x0: 0, y0: 500, x1: 40, y1: 576))
        #expect(CropRect(box: Box(x: 740.5, y: -3, w: 100, h: 10.4), frameWidth: 768, frameHeight: 576)
                == CropRect(x0: 741, y0: 0, x1: 768, y1: 7))
        // Nothing left after clamping, or no area at all.
        #expect(CropRect(box: Box(x: 800, y: 10, w: 30, h: 30), frameWidth: 768, frameHeight: 576) == nil)
        #expect(CropRect(box: Box(x: -50, y: 10, w: 49.4, h: 30), frameWidth: 768, frameHeight: 576) == nil)
        #expect(CropRect(box: Box(x: 10, y: 10, w: 0.4, h: 30), frameWidth: 768, frameHeight: 576) == nil)
        #expect(CropRect(box: Box(x: .nan, y: 10, w: 30, h: 30), frameWidth: 768, frameHeight: 576) == nil)
        #expect(CropRect(box: Box(x: 1e300, y: 10, w: 1e300, h: 30), frameWidth: 768, frameHeight: 576) == nil)

        let cropper = CropExtractor()
        var out = [Float](repeating: 7, count: cropper.floatsPerCrop)
        // Clamped boxes at the frame's edges crop fine.
        for box in [Box(x: 740.5, y: 500, w: 100, h: 100), Box(x: -10, y: -10, w: 60, h: 90),
                    Box(x: 0, y: 0, w: 768, h: 576), Box(x: 767, y: 575, w: 1, h: 1)] {
            let rect = try out.withUnsafeMutableBufferPointer { try cropper.crop(box, from: frame, into: $0) }
            #expect(rect.width > 0 && rect.height > 0)
            #expect(!out.contains { $0 < -1 || $0 > 1 })
        }
        out = [Float](repeating: 7, count: cropper.floatsPerCrop)
        let outside = Box(x: 900, y: 10, w: 30, h: 30)
        #expect(throws: VideoError.emptyCrop(frame: 1, x: 900, y: 10, w: 30, h: 30, frameWidth: 768, frameHeight: 576)) {
            try out.withUnsafeMutableBufferPointer { _ = try cropper.crop(outside, from: frame, into: $0) }
        }
        #expect(out.allSatisfy { $0 == 7 }, "an invalid box writes nothing")
    }

    @Test func aShortBufferIsRefused() throws {
        let frame = try #require(try frames([1])[1])
        let cropper = CropExtractor()
        var out = [Float](repeating: 0, count: cropper.floatsPerCrop - 1)
        #expect(throws: VideoError.bufferTooSmall(needed: 150528, got: 150527)) {
            try out.withUnsafeMutableBufferPointer {
                _ = try cropper.crop(Box(x: 10, y: 10, w: 40, h: 90), from: frame, into: $0)
            }
        }
    }

    @Test func cropsLandInTheCallersSlotOfABatch() throws {
        let crops = try ReferenceCrop.load()
        let decoded = try frames(Set(crops.map(\.frame)))
        let cropper = CropExtractor()
        let n = cropper.floatsPerCrop
        var batch = [Float](repeating: 9, count: 3 * n)
        var single = [Float](repeating: 0, count: n)
        try batch.withUnsafeMutableBufferPointer { all in
            let slot = UnsafeMutableBufferPointer(rebasing: all[n..<2 * n])
            _ = try cropper.crop(crops[4].asBox, from: try #require(decoded[crops[4].frame]), into: slot)
        }
        try single.withUnsafeMutableBufferPointer {
            _ = try cropper.crop(crops[4].asBox, from: try #require(decoded[crops[4].frame]), into: $0)
        }
        #expect(Array(batch[n..<2 * n]) == single)
        #expect(batch[..<n].allSatisfy { $0 == 9 } && batch[(2 * n)...].allSatisfy { $0 == 9 })
    }

    @Test func changingFrameFormatAndSizeRebuildsTheScaler() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let crops = try ReferenceCrop.load()
        let decoded = try frames([1, 25])
        let video1 = try #require(decoded[1]), video25 = try #require(decoded[25])
        // An RGB image of another size, from a crop.
        let maker = CropExtractor(size: 96)
        var scratch = [Float](repeating: 0, count: maker.floatsPerCrop)
        try scratch.withUnsafeMutableBufferPointer { _ = try maker.crop(crops[0].asBox, from: video1, into: $0) }
        let png = dir.file("image.png")
        try maker.dumpPNG(to: png)
        let image = try ImageFile.load(path: png.path)
        #expect(image.width == 96 && image.height == 96 && image.pixelFormatName == "rgb24")

        func fresh(_ box: Box?, _ frame: DecodedFrame) throws -> [Float] {
            let cropper = CropExtractor()
            var out = [Float](repeating: 0, count: cropper.floatsPerCrop)
            try out.withUnsafeMutableBufferPointer {
                if let box { _ = try cropper.crop(box, from: frame, into: $0) } else { try cropper.cropWhole(frame, into: $0) }
            }
            return out
        }
        let shared = CropExtractor()
        var out = [Float](repeating: 0, count: shared.floatsPerCrop)
        let sequence: [(Box?, DecodedFrame)] = [(crops[0].asBox, video1), (nil, image), (crops[2].asBox, video25),
                                                 (nil, image), (crops[3].asBox, video25), (nil, video1)]
        for (box, frame) in sequence {
            try out.withUnsafeMutableBufferPointer {
                if let box { _ = try shared.crop(box, from: frame, into: $0) } else { try shared.cropWhole(frame, into: $0) }
            }
            #expect(out == (try fresh(box, frame)), "frame \(frame.number) \(frame.width)x\(frame.height)")
        }
    }

    @Test func dumpedPNGHoldsTheCropBeforeNormalisation() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let crops = try ReferenceCrop.load()
        let frame = try #require(try frames([50])[50])
        let cropper = CropExtractor()
        #expect(throws: VideoError.self) { try cropper.dumpPNG(to: dir.file("none.png")) }
        var crop = [Float](repeating: 0, count: cropper.floatsPerCrop)
        try crop.withUnsafeMutableBufferPointer { _ = try cropper.crop(crops[4].asBox, from: frame, into: $0) }
        let name = CropExtractor.dumpFileName(frame: 50, box: 0)
        #expect(name == "f000050_b00.png")
        #expect(CropExtractor.dumpFileName(frame: 25, box: 1) == "f000025_b01.png")
        try cropper.dumpPNG(to: dir.file(name))

        let pixels = try #require(cropper.lastCropPixels())
        #expect(pixels.count == 224 * 224 * 3)
        for i in stride(from: 0, to: 224 * 224, by: 997) {
            for c in 0..<3 {
                #expect((Float(pixels[3 * i + c]) / 255 - 0.5) / 0.5 == crop[c * 224 * 224 + i])
            }
        }
        // Reading it back and letterboxing the (square) picture gives the same crop exactly.
        let image = try ImageFile.load(path: dir.file(name).path)
        #expect(image.width == 224 && image.height == 224)
        var again = [Float](repeating: 0, count: cropper.floatsPerCrop)
        try again.withUnsafeMutableBufferPointer { try cropper.cropWhole(image, into: $0) }
        #expect(again == crop)
    }

    @Test func jpegImagesAreDecodedAndLetterboxed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A 100 x 40 picture: a horizontal grey ramp, written as JPEG.
        let width = 100, height = 40
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let v = UInt8(40 + 2 * x)
                rgb[3 * (y * width + x)] = v
                rgb[3 * (y * width + x) + 1] = v
                rgb[3 * (y * width + x) + 2] = v
            }
        }
        let path = dir.file("ramp 100%.jpg").path
        try rgb.withUnsafeBufferPointer {
            try PNGWriter.write(rgb: try #require($0.baseAddress), width: width, height: height, stride: width * 3, to: path, format: .jpeg)
        }
        let image = try ImageFile.load(path: path)
        #expect(image.width == width && image.height == height)
        #expect(image.pixelFormatName.hasPrefix("yuvj"))
        let cropper = CropExtractor()
        var out = [Float](repeating: 0, count: cropper.floatsPerCrop)
        try out.withUnsafeMutableBufferPointer { try cropper.cropWhole(image, into: $0) }
        // s = 224/100: 224 x 90 (89.6), pasted at row (224 - 90) / 2 = 67.
        #expect(out[66 * 224 + 100] == -1 && out[157 * 224 + 100] == -1)
        let grey = { (x: Int) -> Float in out[112 * 224 + x] * 127.5 + 127.5 }
        // Full-range JPEG: the ramp keeps its levels (40 at the left, 238 at the right).
        #expect(abs(grey(1) - 41) < 4, "\(grey(1))")
        #expect(abs(grey(222) - 237) < 4, "\(grey(222))")
        #expect(abs(grey(112) - 140) < 4, "\(grey(112))")
    }

    @Test func unreadableImagesNameTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("empty.png").path
        try Data().write(to: URL(fileURLWithPath: path))
        do {
            _ = try ImageFile.load(path: path)
            Issue.record("an empty file decoded")
        } catch let error as VideoError {
            #expect(error.description.hasPrefix(path), "\(error)")
        }
    }
}
