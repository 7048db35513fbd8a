import Foundation

/// The vision transformer's Linear layers kept in fp32 (OpenBLAS) when the others run in bf16 or int8
/// (`--fp32-layers`, `model.fp32_layers`). Real CLIP ViT-L/14 activations have a few outlier channels;
/// a checkpoint whose probabilities move too far in reduced precision can keep the layers that matter
/// (typically each block's `c_proj`, or the first and last blocks) exact.
///
/// Written as a comma-separated list of items:
/// - a layer, in every block: `qkv` (alias `in_proj`), `out_proj`, `c_fc` (alias `fc1`), `c_proj` (alias `fc2`);
/// - a block, all four of its layers: its index (`0` ... `23` for ViT-L/14), `first` or `last`;
/// - one layer of one block: `BLOCK.LAYER`, e.g. `23.c_proj`, `last.fc2`;
/// - the layers around the blocks, which an int8 model runs in int8 too: `patch_embed` (`visual.conv1`),
///   `proj` (`visual.proj`), `fusion` (the fusion's Linear layers: `visual_embed` and its blocks').
///
/// Blocks are checked against the model at load: an index past the last block is an error naming it.
/// A block kept whole also keeps its attention products in fp32 (OpenBLAS), so it is exact.
public struct FullPrecisionLayers: Sendable, Hashable, CustomStringConvertible {
    /// A Linear layer of a CLIP block.
    public enum Layer: String, Sendable, CaseIterable {
        case qkv, outProj = "out_proj", cFC = "c_fc", cProj = "c_proj"

        /// `name` or one of its aliases (`in_proj`, `fc1`, `fc2`).
        init?(named name: String) {
            switch name {
            case "in_proj": self = .qkv
            case "fc1": self = .cFC
            case "fc2": self = .cProj
            default: self.init(rawValue: name)
            }
        }
    }

    /// A Linear layer outside the vision blocks (in int8 in an int8 model, else fp32).
    public enum Outer: String, Sendable, CaseIterable {
        case patchEmbed = "patch_embed", proj, fusion
    }

    /// A block of the vision transformer.
    public enum Block: Sendable, Hashable {
        case index(Int), first, last

        init?(named name: String) {
            switch name {
            case "first": self = .first
            case "last": self = .last
            default:
                guard let i = Int(name), i >= 0, i <= 1024 else { return nil }
                self = .index(i)
            }
        }

        var name: String {
            switch self {
            case .index(let i): "\(i)"
            case .first: "first"
            case .last: "last"
            }
        }

        /// The block's index among `count`, or nil if it has none.
        func index(among count: Int) -> Int? {
            switch self {
            case .index(let i): i < count ? i : nil
            case .first: count > 0 ? 0 : nil
            case .last: count > 0 ? count - 1 : nil
            }
        }
    }

    /// One item of the list: a block (nil: every block) and a layer (nil: all four).
    public struct Item: Sendable, Hashable {
        public var block: Block?
        public var layer: Layer?
    }

    public let items: [Item]
    /// The layers outside the blocks kept in fp32.
    public let outer: [Outer]

    /// No layer kept: every Linear layer of the vision transformer in the reduced precision.
    public static let none = FullPrecisionLayers(items: [])

    public init(items: [Item], outer: [Outer] = []) { self.items = items; self.outer = outer }

    /// Parses the list (see the type's comment); empty items and spaces are ignored.
    /// - Throws: `ModelError.unreadable` naming the item that is neither a block nor a layer.
    public init(parsing text: String) throws(ModelError) {
        var items: [Item] = [], outer: [Outer] = []
        for raw in text.split(separator: ",") {
            let word = raw.trimmingCharacters(in: .whitespaces)
            if word.isEmpty { continue }
            if let part = Outer(rawValue: word) {
                outer.append(part)
                continue
            }
            let parts = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let item: Item?
            switch parts.count {
            case 1:
                if let layer = Layer(named: parts[0]) { item = Item(block: nil, layer: layer) }
                else if let block = Block(named: parts[0]) { item = Item(block: block, layer: nil) }
                else { item = nil }
            case 2:
                item = Block(named: parts[0]).flatMap { b in Layer(named: parts[1]).map { Item(block: b, layer: $0) } }
            default:
                item = nil
            }
            guard let item else {
                throw .unreadable("fp32 layers: \"\(String(word.prefix(64)))\" is not a layer (qkv, out_proj, c_fc, c_proj, fc1, fc2), "
                                  + "a block (an index, first, last), BLOCK.LAYER, patch_embed, proj or fusion")
            }
            items.append(item)
        }
        self.items = items
        self.outer = outer
    }

    /// Checks every named block exists among `blocks`.
    /// - Throws: `ModelError.unsupportedModel` naming the item and the model's block count.
    func check(blocks: Int, file: String) throws(ModelError) {
        for item in items {
            if let block = item.block, block.index(among: blocks) == nil {
                throw .unsupportedModel(file: file, "fp32 layers: block \(block.name) does not exist (the vision transformer has \(blocks) blocks, 0...\(blocks - 1))")
            }
        }
    }

    /// Whether `layer` of block `block` (of `blocks`) stays fp32.
    func keeps(_ layer: Layer, block: Int, of blocks: Int) -> Bool {
        items.contains { item in
            (item.block.map { $0.index(among: blocks) == block } ?? true) && (item.layer.map { $0 == layer } ?? true)
        }
    }

    /// Nothing kept.
    public var isEmpty: Bool { items.isEmpty && outer.isEmpty }

    /// Whether `part` stays fp32.
    func keeps(_ part: Outer) -> Bool { outer.contains(part) }

    /// The list as it would be written (`c_proj,first,23.qkv,fusion`); empty for `none`.
    public var description: String {
        (items.map { item in
            switch (item.block, item.layer) {
            case (nil, let layer?): layer.rawValue
            case (let block?, nil): block.name
            case (let block?, let layer?): "\(block.name).\(layer.rawValue)"
            case (nil, nil): "all"
            }
        } + outer.map(\.rawValue)).joined(separator: ",")
    }
}
