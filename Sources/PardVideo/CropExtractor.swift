import Foundation

/// Cuts pedestrian crops out of decoded frames as model inputs: `[3, size, size]` Float32, planar
/// RGB, each value `(v / 255 - 0.5) / 0.5` in [-1, 1] (black = -1).
///
/// Per crop: the box's `CropRect` is converted to RGB at native resolution straight from the
/// frame's YUV planes (swscale, only a window around the rect — see `RegionConverter`), then the
/// exact rect is resized with antialiased bilinear (`Resampler`, Pillow's algorithm):
/// - `.letterbox`: scale `s = size / max(rw, rh)`, resize to `(round(rw*s), round(rh*s))`, paste
///   at `((size - nw) / 2, (size - nh) / 2)` (integer division) on black;
/// - `.stretch`: resize to `size` x `size`.
///
/// Scaler contexts and scratch buffers live in the extractor and are reused; they are rebuilt only
/// when the frames' format or size changes, and grow to the largest rect seen, so the per-crop path
/// allocates nothing once warmed up. One extractor per thread (not thread-safe).
public final class CropExtractor {
    public enum Resize: String, Sendable, CaseIterable {
        case letterbox, stretch
    }

    /// Side of the square crop in pixels (224 for PromptPAR).
    public let size: Int
    public let resize: Resize
    /// Floats one crop fills: `3 * size * size`.
    public var floatsPerCrop: Int { 3 * size * size }

    private let converter = RegionConverter()
    private let resampler = Resampler()
    /// The last crop before normalisation: `size` x `size` packed RGB.
    private let canvas: UnsafeMutablePointer<UInt8>
    private var hasCrop = false
    /// `(v / 255 - 0.5) / 0.5` for every byte value, in Float32 arithmetic as torchvision does it.
    private let normalised: UnsafeMutablePointer<Float>

    public init(size: Int = 224, resize: Resize = .letterbox) {
        self.size = max(1, size)
        self.resize = resize
        canvas = .allocate(capacity: 3 * self.size * self.size)
        canvas.initialize(repeating: 0, count: 3 * self.size * self.size)
        normalised = .allocate(capacity: 256)
        for v in 0..<256 {
            normalised[v] = (Float(v) / 255 - 0.5) / 0.5
        }
    }

    deinit {
        canvas.deallocate()
        normalised.deallocate()
    }

    /// The rect cut for `box` from `frame` (see `CropRect(box:frameWidth:frameHeight:)`); nil when
    /// the box has no area inside the frame.
    public func rect(for box: Box, in frame: DecodedFrame) -> CropRect? {
        CropRect(box: box, frameWidth: frame.width, frameHeight: frame.height)
    }

    /// Crops `box` from `frame` into `destination` (`floatsPerCrop` floats, `[3, size, size]`).
    /// - Returns: the rect that was cut.
    /// - Throws: `VideoError.emptyCrop` for a box with no area inside the frame (nothing is
    ///   written), `.bufferTooSmall`, `.conversionFailed`.
    @discardableResult
    public func crop(_ box: Box, from frame: DecodedFrame, into destination: UnsafeMutableBufferPointer<Float>) throws -> CropRect {
        guard let rect = rect(for: box, in: frame) else {
            throw VideoError.emptyCrop(frame: frame.number, x: box.x, y: box.y, w: box.w, h: box.h,
                                       frameWidth: frame.width, frameHeight: frame.height)
        }
        try crop(rect: rect, from: frame, into: destination)
        return rect
    }

    /// Crops the whole picture (an image file for `pard classify image.jpg`), letterboxed or
    /// stretched like a box.
    public func cropWhole(_ frame: DecodedFrame, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try crop(rect: CropRect(x0: 0, y0: 0, x1: frame.width, y1: frame.height), from: frame, into: destination)
    }

    /// Crops `rect` (clamped to the frame; must keep some area) from `frame` into `destination`.
    public func crop(rect requested: CropRect, from frame: DecodedFrame, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let count = floatsPerCrop
        guard let out = destination.baseAddress, destination.count >= count else {
            throw VideoError.bufferTooSmall(needed: count, got: destination.count)
        }
        let rect = try requested.clamped(to: frame)
        hasCrop = false
        let window = try converter.convert(frame, covering: rect)
        let source = UnsafePointer(window.pixels + (rect.y0 - window.y) * window.stride + (rect.x0 - window.x) * 3)

        let (width, height) = targetSize(rect)
        let left = (size - width) / 2, top = (size - height) / 2
        let rowBytes = 3 * size
        if width < size || height < size {
            canvas.update(repeating: 0, count: rowBytes * size)
        }
        resampler.resize(source: source, sourceStride: window.stride, sourceWidth: rect.width, sourceHeight: rect.height,
                         destination: canvas + top * rowBytes + left * 3, destinationStride: rowBytes,
                         width: width, height: height)
        hasCrop = true

        // Packed RGB bytes -> planar normalised floats.
        let plane = size * size
        let red = out, green = out + plane, blue = out + 2 * plane
        var p = UnsafePointer(canvas)
        for i in 0..<plane {
            red[i] = normalised[Int(p[0])]
            green[i] = normalised[Int(p[1])]
            blue[i] = normalised[Int(p[2])]
            p += 3
        }
    }

    /// Size of the resized rect inside the square.
    private func targetSize(_ rect: CropRect) -> (Int, Int) {
        switch resize {
        case .stretch:
            return (size, size)
        case .letterbox:
            let s = Double(size) / Double(max(rect.width, rect.height))
            // Python's round() (halves to even), as the reference pipeline.
            let w = Int((Double(rect.width) * s).rounded(.toNearestOrEven))
            let h = Int((Double(rect.height) * s).rounded(.toNearestOrEven))
            return (min(max(w, 1), size), min(max(h, 1), size))
        }
    }

    /// The last crop before normalisation, `size * size * 3` bytes of packed RGB (row-major), or
    /// nil before the first crop. A copy (diagnostics).
    public func lastCropPixels() -> [UInt8]? {
        guard hasCrop else { return nil }
        return Array(UnsafeBufferPointer(start: canvas, count: 3 * size * size))
    }

    /// Writes the last crop (the `size` x `size` RGB before normalisation) as a PNG file, for
    /// `--dump-crops DIR`; see `dumpFileName`.
    /// - Throws: `VideoError.writeFailed`.
    public func dumpPNG(to url: URL) throws {
        guard hasCrop else { throw VideoError.writeFailed(file: url.path, reason: "no crop was made yet") }
        try PNGWriter.write(rgb: canvas, width: size, height: size, stride: 3 * size, to: url.path)
    }

    /// The dump file name of box `box` (0-based, in detection order) of frame `frame`
    /// (1-based): `f000025_b01.png`.
    public static func dumpFileName(frame: Int, box: Int) -> String {
        func padded(_ n: Int, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "f\(padded(frame, 6))_b\(padded(box, 2)).png"
    }
}
