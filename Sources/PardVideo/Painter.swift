import Foundation

/// An 8-bit sRGB colour.
public struct RGBColour: Sendable, Equatable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let black = RGBColour(0, 0, 0)
    public static let white = RGBColour(255, 255, 255)

    /// Black or white, whichever reads better on this colour (BT.601 luma under or over 140).
    public var contrasting: RGBColour {
        (299 * Int(r) + 587 * Int(g) + 114 * Int(b)) / 1000 > 140 ? .black : .white
    }
}

/// Something pixels can be drawn on: an `RGBPicture` (cards), a video frame being encoded
/// (`VideoEncoder`, in its YUV planes). Coordinates are pixels, `x0..<x1`, `y0..<y1`; whatever falls
/// outside the picture is clipped.
public protocol Painter: AnyObject {
    var width: Int { get }
    var height: Int { get }
    /// Fills `rect` (clipped to the picture) with `colour`.
    func fill(_ rect: CropRect, _ colour: RGBColour)
}

extension Painter {
    /// `rect` clipped to the picture, nil when nothing is left.
    public func clipped(_ rect: CropRect) -> CropRect? {
        let r = CropRect(x0: max(0, rect.x0), y0: max(0, rect.y0), x1: min(width, rect.x1), y1: min(height, rect.y1))
        return r.width > 0 && r.height > 0 ? r : nil
    }

    /// The outline of `rect`, `thickness` pixels wide, inside it (a rect thinner than twice that is
    /// filled whole, so a 1-pixel box is one coloured pixel).
    public func stroke(_ rect: CropRect, thickness: Int, _ colour: RGBColour) {
        let t = max(1, thickness)
        guard rect.width > 2 * t, rect.height > 2 * t else { fill(rect, colour); return }
        fill(CropRect(x0: rect.x0, y0: rect.y0, x1: rect.x1, y1: rect.y0 + t), colour)
        fill(CropRect(x0: rect.x0, y0: rect.y1 - t, x1: rect.x1, y1: rect.y1), colour)
        fill(CropRect(x0: rect.x0, y0: rect.y0 + t, x1: rect.x0 + t, y1: rect.y1 - t), colour)
        fill(CropRect(x0: rect.x1 - t, y0: rect.y0 + t, x1: rect.x1, y1: rect.y1 - t), colour)
    }

    /// Draws `text` in `BitmapFont` with its top-left corner at (`x`, `y`), each font pixel a
    /// `scale` x `scale` square. Returns the width drawn.
    @discardableResult
    public func text(_ text: String, x: Int, y: Int, scale: Int = 1, _ colour: RGBColour) -> Int {
        let s = max(1, scale)
        var left = x
        for scalar in text.unicodeScalars {
            if left >= width { break }
            for (row, bits) in BitmapFont.rows(scalar).enumerated() where bits != 0 {
                for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                    let px = left + column * s, py = y + row * s
                    fill(CropRect(x0: px, y0: py, x1: px + s, y1: py + s), colour)
                }
            }
            left += BitmapFont.advance * s
        }
        return BitmapFont.width(text, scale: s)
    }

    /// Lines of text on a filled background of `background` (one pixel of padding per scale step),
    /// top-left at (`x`, `y`), the whole block moved inside the picture when it would cross an edge.
    /// Returns the block's rect.
    @discardableResult
    public func label(_ lines: [String], x: Int, y: Int, scale: Int = 1, _ colour: RGBColour, on background: RGBColour) -> CropRect {
        let s = max(1, scale), pad = s
        let w = (lines.map { BitmapFont.width($0, scale: s) }.max() ?? 0) + 2 * pad
        let h = lines.count * BitmapFont.lineHeight * s + pad
        let left = max(0, min(x, width - w)), top = max(0, min(y, height - h))
        let block = CropRect(x0: left, y0: top, x1: left + w, y1: top + h)
        fill(block, background)
        for (i, line) in lines.enumerated() {
            text(line, x: left + pad, y: top + pad + i * BitmapFont.lineHeight * s, scale: s, colour)
        }
        return block
    }
}

/// A packed 8-bit RGB picture in memory: `height` rows of `width` pixels, 3 bytes each (R, G, B),
/// rows `stride` = `3 * width` bytes apart. Owns its pixels.
public final class RGBPicture: Painter {
    public let width: Int
    public let height: Int
    public var stride: Int { 3 * width }
    public private(set) var pixels: [UInt8]

    /// A `width` x `height` picture filled with `colour`.
    public init(width: Int, height: Int, colour: RGBColour = .black) {
        self.width = max(1, width)
        self.height = max(1, height)
        pixels = [UInt8](repeating: 0, count: 3 * self.width * self.height)
        fill(CropRect(x0: 0, y0: 0, x1: self.width, y1: self.height), colour)
    }

    /// The pixel at (`x`, `y`).
    public subscript(x: Int, y: Int) -> RGBColour {
        let i = 3 * (y * width + x)
        return RGBColour(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    public func fill(_ rect: CropRect, _ colour: RGBColour) {
        guard let r = clipped(rect) else { return }
        pixels.withUnsafeMutableBufferPointer { p in
            for y in r.y0..<r.y1 {
                var i = 3 * (y * width + r.x0)
                for _ in r.x0..<r.x1 {
                    p[i] = colour.r
                    p[i + 1] = colour.g
                    p[i + 2] = colour.b
                    i += 3
                }
            }
        }
    }

    /// Runs `body` on the first byte of the pixels (at least 3 bytes, `stride * height` in all).
    func withPixels(_ body: (UnsafeMutablePointer<UInt8>) -> Void) {
        pixels.withUnsafeMutableBufferPointer { p in
            if let base = p.baseAddress { body(base) }
        }
    }

    /// Copies `source` with its top-left corner at (`x`, `y`), clipped.
    public func paste(_ source: RGBPicture, x: Int, y: Int) {
        guard let r = clipped(CropRect(x0: x, y0: y, x1: x + source.width, y1: y + source.height)) else { return }
        let bytes = 3 * r.width
        pixels.withUnsafeMutableBufferPointer { to in
            source.pixels.withUnsafeBufferPointer { from in
                guard let to = to.baseAddress, let from = from.baseAddress else { return }
                for row in r.y0..<r.y1 {
                    (to + 3 * (row * width + r.x0)).update(from: from + 3 * ((row - y) * source.width + (r.x0 - x)), count: bytes)
                }
            }
        }
    }

    /// Writes the picture as PNG (lossless) or JPEG (libavcodec's mjpeg) to `path` (replaced
    /// atomically).
    /// - Throws: `VideoError.writeFailed`.
    public func write(to path: String, format: PNGWriter.Format) throws {
        try pixels.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { throw VideoError.writeFailed(file: path, reason: "empty picture") }
            try PNGWriter.write(rgb: base, width: width, height: height, stride: stride, to: path, format: format)
        }
    }
}
