/// What `pard process --annotate` draws on a frame: each box's outline in its track's colour, and
/// beside it (right of the box, or left when there is no room) a block in that colour with the track
/// id and the box's labels, one per line, in `BitmapFont` (at most `maxLabels`, then `+N more`).
public struct FrameAnnotation: Sendable, Equatable {
    /// One box to draw.
    public struct Item: Sendable, Equatable {
        /// The pixels of the box (its `CropRect`).
        public var rect: CropRect
        /// Track id, nil for an untracked box.
        public var track: Int?
        /// Labels to list beside it.
        public var labels: [String]

        public init(rect: CropRect, track: Int?, labels: [String]) {
            self.rect = rect
            self.track = track
            self.labels = labels
        }
    }

    public var items: [Item]

    /// Labels listed beside a box at most; the rest are counted on one more line.
    public static let maxLabels = 6

    public init(items: [Item]) { self.items = items }

    /// One colour per track: `palette[id % palette.count]`; untracked boxes are white.
    public static let palette: [RGBColour] = [
        RGBColour(230, 25, 75), RGBColour(60, 180, 75), RGBColour(255, 225, 25), RGBColour(0, 130, 200),
        RGBColour(245, 130, 48), RGBColour(145, 30, 180), RGBColour(70, 240, 240), RGBColour(240, 50, 230),
        RGBColour(210, 245, 60), RGBColour(250, 190, 212), RGBColour(0, 128, 128), RGBColour(170, 110, 40),
    ]

    /// The colour of track `track` (white for nil).
    public static func colour(track: Int?) -> RGBColour {
        guard let track else { return .white }
        return palette[((track % palette.count) + palette.count) % palette.count]
    }

    /// Outline thickness for a picture `height` pixels high: 3 up to 719 rows, then one more per 240.
    public static func thickness(height: Int) -> Int { max(3, height / 240) }

    /// Font scale for a picture `height` pixels high: 1 below 960 rows, then one more per 480.
    public static func textScale(height: Int) -> Int { max(1, height / 480) }

    /// Draws every item on `painter`: outlines first, then the text blocks (so a box never hides text).
    public func draw(on painter: Painter) {
        let t = Self.thickness(height: painter.height), s = Self.textScale(height: painter.height)
        for item in items { painter.stroke(item.rect, thickness: t, Self.colour(track: item.track)) }
        for item in items {
            var lines = (item.track.map { ["#\($0)"] } ?? []) + item.labels.prefix(Self.maxLabels)
            if item.labels.count > Self.maxLabels { lines.append("+\(item.labels.count - Self.maxLabels) more") }
            guard !lines.isEmpty else { continue }
            let colour = Self.colour(track: item.track)
            let blockWidth = (lines.map { BitmapFont.width($0, scale: s) }.max() ?? 0) + 2 * s
            let x = item.rect.x1 + blockWidth + 1 <= painter.width ? item.rect.x1 + 1 : item.rect.x0 - blockWidth - 1
            painter.label(lines, x: x, y: item.rect.y0, scale: s, colour.contrasting, on: colour)
        }
    }
}
