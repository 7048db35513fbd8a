import Foundation
import PARAttributes
import PardVideo

/// An attribute card, like the figures of the PromptPAR paper: the person's crop on the left, and on
/// the right every attribute with its probability as a bar, the labels highlighted (green bar, white
/// name), a tick at the threshold, the exclusive groups (age, view, ...) each in a block of its own
/// under its name, then the other attributes under "attributes", in head order.
///
/// Size: `width` (640) x `height(for:)` = max(400, 36 + 12 x (attributes + blocks)) pixels, blocks
/// being the exclusive groups plus one for the other attributes (PA100k: 26 attributes, 3 blocks:
/// 640 x 400). The crop is fitted into 192 x 384 pixels at (8, 8), its aspect ratio kept.
public enum AttributeCard {
    public static let width = 640
    static let cropWidth = 192, cropHeight = 384
    static let rowHeight = 12
    static let textX = 216, barX = 384, barWidth = 200, valueX = 600

    static let background = RGBColour(24, 24, 28)
    static let panel = RGBColour(44, 44, 50)
    static let text = RGBColour(150, 150, 158)
    static let strong = RGBColour(245, 245, 245)
    static let heading = RGBColour(240, 200, 90)
    static let barBackground = RGBColour(58, 58, 66)
    static let barLabel = RGBColour(70, 200, 100)
    static let barOther = RGBColour(100, 110, 150)

    /// What a card shows.
    public struct Content: Sendable, Equatable {
        /// The line at the top (the track, or the image file).
        public var title: String
        /// Blocks of attribute rows, in order.
        public var blocks: [Block]
        public var threshold: Float

        public struct Block: Sendable, Equatable {
            public var heading: String
            public var rows: [Row]
        }

        public struct Row: Sendable, Equatable {
            public var name: String
            public var probability: Float
            public var isLabel: Bool
        }

        /// The card of `probabilities` (head order) of `set`: its exclusive groups first, each a block,
        /// then the other attributes; labels as `AttributeSet.labels` gives them.
        public init(title: String, set: AttributeSet, probabilities: [Float], threshold: Float) {
            self.title = title
            self.threshold = threshold
            let labels = Set(set.labels(probabilities: probabilities, threshold: threshold))
            func row(_ i: Int) -> Row {
                Row(name: set.names[i], probability: i < probabilities.count ? probabilities[i] : 0, isLabel: labels.contains(i))
            }
            var grouped = Set<Int>()
            blocks = set.exclusiveGroups.map { group in
                grouped.formUnion(group.members)
                return Block(heading: group.name, rows: group.members.map(row))
            }
            let others = set.names.indices.filter { !grouped.contains($0) }
            if !others.isEmpty { blocks.append(Block(heading: "attributes", rows: others.map(row))) }
        }

        var rowCount: Int { blocks.reduce(0) { $0 + $1.rows.count } }
    }

    /// The height of the card of `content`.
    public static func height(for content: Content) -> Int {
        max(400, 36 + rowHeight * (content.rowCount + content.blocks.count))
    }

    /// Draws the card; `crop` is fitted to 192 x 384 already (`PictureCutter.cut(_:rect:fitting:)`).
    public static func render(crop: RGBPicture?, _ content: Content) -> RGBPicture {
        let card = RGBPicture(width: width, height: height(for: content), colour: background)
        card.fill(CropRect(x0: 8, y0: 8, x1: 8 + cropWidth, y1: 8 + cropHeight), panel)
        if let crop {
            card.paste(crop, x: 8 + (cropWidth - crop.width) / 2, y: 8 + (cropHeight - crop.height) / 2)
        }
        card.text(content.title, x: textX, y: 10, strong)
        var y = 30
        let tick = barX + Int((Double(content.threshold) * Double(barWidth)).rounded())
        for block in content.blocks {
            card.text(block.heading, x: textX, y: y + 2, heading)
            card.fill(CropRect(x0: textX + BitmapFont.width(block.heading) + 6, y0: y + 6, x1: valueX + 24, y1: y + 7), barBackground)
            y += rowHeight
            for row in block.rows {
                let p = Double(min(max(row.probability, 0), 1))
                card.text(row.name, x: textX + 8, y: y + 1, row.isLabel ? strong : text)
                card.fill(CropRect(x0: barX, y0: y + 2, x1: barX + barWidth, y1: y + 10), barBackground)
                card.fill(CropRect(x0: barX, y0: y + 2, x1: barX + Int((p * Double(barWidth)).rounded()), y1: y + 10),
                          row.isLabel ? barLabel : barOther)
                card.fill(CropRect(x0: tick, y0: y + 1, x1: tick + 1, y1: y + 11), strong)
                card.text(String(format: "%.2f", p), x: valueX, y: y + 1, row.isLabel ? strong : text)
                y += rowHeight
            }
        }
        return card
    }

    /// Cuts `rect` of `frame`, draws the card and writes it as PNG at `path` (replaced atomically).
    /// - Throws: `VideoError` when the crop cannot be cut or the file written.
    public static func write(frame: DecodedFrame, rect: CropRect, _ content: Content, to path: String,
                             cutter: PictureCutter = PictureCutter()) throws {
        let crop = try cutter.cut(frame, rect: rect, fitting: cropWidth, cropHeight)
        try render(crop: crop, content).write(to: path, format: .png)
    }
}
