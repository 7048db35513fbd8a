/// Which key columns each query row of an attention may see: at most two contiguous column ranges per
/// row. Equivalent to an additive `[rows, cols]` mask of 0 and -inf, without materialising it, and exact:
/// masked columns get probability 0.
public struct AttentionMask: Sendable, Equatable {
    /// Per query row: the visible column ranges, in order.
    public let visible: [[Range<Int>]]
    public let columns: Int
    /// `visible` flat, two ranges per row (`[2 * rows]`; the second empty, at the first's end, where a
    /// row has one): what the reduced paths' softmax takes, without an array per row to retain.
    let pairs: [Range<Int>]

    /// - Precondition: at most two ranges per row, in order.
    init(visible: [[Range<Int>]], columns: Int) {
        self.visible = visible
        self.columns = columns
        pairs = visible.flatMap { ranges -> [Range<Int>] in
            precondition(ranges.count <= 2, "AttentionMask: \(ranges.count) visible ranges in a row, at most 2")
            let first = ranges.first ?? 0..<0
            return [first, ranges.count == 2 ? ranges[1] : first.upperBound..<first.upperBound]
        }
    }

    /// Every row sees every column.
    public static func full(rows: Int, columns: Int) -> AttentionMask {
        AttentionMask(visible: Array(repeating: [0..<columns], count: rows), columns: columns)
    }

    /// Causal: row `r` sees columns `0...r` (CLIP's text encoder).
    public static func causal(_ n: Int) -> AttentionMask {
        AttentionMask(visible: (0..<n).map { [0..<($0 + 1)] }, columns: n)
    }

    /// The same mask for query rows `rows` only (row `i` of the result is row `rows.lowerBound + i`).
    func rows(_ rows: Range<Int>) -> AttentionMask {
        AttentionMask(visible: Array(visible[rows]), columns: columns)
    }

    /// The additive form (`0` visible, `-inf` masked), `[rows, columns]` row-major, for tests.
    public func additive() -> [Float] {
        var m = [Float](repeating: -.infinity, count: visible.count * columns)
        for (r, ranges) in visible.enumerated() {
            for range in ranges { for c in range { m[r * columns + c] = 0 } }
        }
        return m
    }
}

extension AttentionMask {
    /// PromptPAR's visual mask (`use_vismask`), `[T, T]` with `T = P + D + 1 + G*G`.
    ///
    /// Rows `0...p` (class token and prompt group 0) and all patch rows see everything. A row `r` in
    /// `p+1 ..< P+D+1` belongs to block `g = r / (p+1)` (part token `g` and its prompt group) and sees the
    /// prefix columns `g*(p+1) ..< (g+1)*(p+1)` and the patches of region `g` only. Region `g` (1-based)
    /// is a band of grid rows: `G/D + overlap/2` rows, plus `overlap/2` for inner bands, starting at grid
    /// row `(g-1)*G/D - overlap/2` (0 for the first); for `G = 16, D = 4, overlap = 2`: rows 0-4, 3-8,
    /// 7-12, 11-15, as the official code hard-codes.
    /// - Parameters: prompts `P`, regions `D`, grid side `G`, overlapRows (2 in every released model).
    public static func visual(prompts: Int, regions: Int, grid: Int, overlapRows: Int = 2) -> AttentionMask {
        let p = prompts / (regions + 1)
        let prefix = prompts + regions + 1
        let total = prefix + grid * grid
        let base = grid / regions + overlapRows / 2
        var visible = [[Range<Int>]](repeating: [0..<total], count: total)
        for r in (p + 1)..<prefix {
            let g = r / (p + 1)
            let rowCount = (g == 1 || g == regions) ? base : base + overlapRows / 2
            let startRow = g == 1 ? 0 : (g - 1) * (grid / regions) - overlapRows / 2
            let patchStart = prefix + startRow * grid
            let patchEnd = min(total, patchStart + rowCount * grid)
            visible[r] = [(g * (p + 1))..<min(prefix, (g + 1) * (p + 1)), patchStart..<patchEnd]
        }
        return AttentionMask(visible: visible, columns: total)
    }
}
