/// The integer pixel rectangle cut from a frame for one box: columns `x0..<x1`, rows `y0..<y1`.
public struct CropRect: Equatable, Sendable {
    public var x0: Int
    public var y0: Int
    public var x1: Int
    public var y1: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    public var width: Int { x1 - x0 }
    public var height: Int { y1 - y0 }

    /// The rectangle of `box` in a `frameWidth` x `frameHeight` frame: `x0 = round(x)`,
    /// `y0 = round(y)`, `x1 = round(x + w)`, `y1 = round(y + h)` (halves away from zero, Foundation's
    /// `rounded()`), each clamped to the frame. nil when nothing is left (the box is invalid and
    /// is not cropped), also for non-finite coordinates.
    public init?(box: Box, frameWidth: Int, frameHeight: Int) {
        func edge(_ v: Double, _ limit: Int) -> Int? {
            guard v.isFinite else { return nil }
            // Clamp before converting, so that huge values cannot overflow Int.
            return Int(min(max(v.rounded(), 0), Double(limit)))
        }
        guard frameWidth > 0, frameHeight > 0,
              let x0 = edge(box.x, frameWidth), let y0 = edge(box.y, frameHeight),
              let x1 = edge(box.x + box.w, frameWidth), let y1 = edge(box.y + box.h, frameHeight),
              x1 > x0, y1 > y0 else { return nil }
        self.init(x0: x0, y0: y0, x1: x1, y1: y1)
    }
}
