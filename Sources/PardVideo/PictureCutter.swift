/// Cuts parts of decoded frames out as `RGBPicture`s at the frame's own resolution (track snapshots,
/// the crop of an attribute card), through the same window conversion as the model's crops
/// (`RegionConverter`: swscale from the frame's planes, BT.601/709 and range as the frame says), and
/// resizes them with the crops' antialiased bilinear filter when asked. One per thread; reuses its
/// scaler contexts.
public final class PictureCutter {
    private let converter = RegionConverter()
    private let resampler = Resampler()

    public init() {}

    /// The pixels of `rect` (clamped to the frame) at full resolution.
    /// - Throws: `VideoError.emptyCrop` when nothing of `rect` is inside the frame, `.conversionFailed`.
    public func cut(_ frame: DecodedFrame, rect requested: CropRect) throws -> RGBPicture {
        let rect = try requested.clamped(to: frame)
        let window = try converter.convert(frame, covering: rect)
        let picture = RGBPicture(width: rect.width, height: rect.height)
        let rowBytes = 3 * rect.width
        let source = window.pixels + (rect.y0 - window.y) * window.stride + (rect.x0 - window.x) * 3
        for row in 0..<rect.height {
            picture.setRow(row, from: source + row * window.stride, count: rowBytes)
        }
        return picture
    }

    /// The pixels of `rect` (clamped to the frame) resized to fit `maxWidth` x `maxHeight`, the
    /// aspect ratio kept (enlarged too, so that a small crop fills a card).
    public func cut(_ frame: DecodedFrame, rect requested: CropRect, fitting maxWidth: Int, _ maxHeight: Int) throws -> RGBPicture {
        let rect = try requested.clamped(to: frame)
        let scale = min(Double(maxWidth) / Double(rect.width), Double(maxHeight) / Double(rect.height))
        let width = min(maxWidth, max(1, Int((Double(rect.width) * scale).rounded())))
        let height = min(maxHeight, max(1, Int((Double(rect.height) * scale).rounded())))
        let window = try converter.convert(frame, covering: rect)
        let picture = RGBPicture(width: width, height: height)
        picture.withPixels { destination in
            resampler.resize(source: UnsafePointer(window.pixels + (rect.y0 - window.y) * window.stride + (rect.x0 - window.x) * 3),
                             sourceStride: window.stride, sourceWidth: rect.width, sourceHeight: rect.height,
                             destination: destination, destinationStride: 3 * width, width: width, height: height)
        }
        return picture
    }

}

extension CropRect {
    /// This rect clamped to `frame`.
    /// - Throws: `VideoError.emptyCrop` when nothing of it is inside the frame.
    public func clamped(to frame: DecodedFrame) throws -> CropRect {
        let rect = CropRect(x0: max(0, x0), y0: max(0, y0), x1: min(frame.width, x1), y1: min(frame.height, y1))
        guard rect.width > 0, rect.height > 0 else {
            throw VideoError.emptyCrop(frame: frame.number, x: Double(x0), y: Double(y0), w: Double(width), h: Double(height),
                                       frameWidth: frame.width, frameHeight: frame.height)
        }
        return rect
    }

    /// This rect grown by `fraction` of its width on the left and right and of its height above and
    /// below (each margin rounded, halves away from zero), then clamped to a `width` x `height` frame:
    /// the rect of a track snapshot.
    public func expanded(by fraction: Double, within width: Int, _ height: Int) -> CropRect {
        let mx = Int((Double(self.width) * fraction).rounded()), my = Int((Double(self.height) * fraction).rounded())
        return CropRect(x0: max(0, x0 - mx), y0: max(0, y0 - my), x1: min(width, x1 + mx), y1: min(height, y1 + my))
    }
}

extension RGBPicture {
    /// Copies `count` bytes into row `row`.
    func setRow(_ row: Int, from source: UnsafePointer<UInt8>, count: Int) {
        withPixels { ($0 + row * stride).update(from: source, count: min(count, stride)) }
    }
}
