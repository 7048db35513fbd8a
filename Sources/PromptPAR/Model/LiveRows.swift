/// The rows of each sequence whose outputs a block must compute: its queries, attention output,
/// out-projection and MLP (keys and values still come from every row).
///
/// In the vision encoder, before every layer `l < V` the prompt groups of layer `l` overwrite their
/// positions (spec §2.6), so what layer `l - 1` wrote at those `P` positions is never read: those rows
/// are dead in every block followed by a prompted one. At ViT-L/14's sizes that is 50 of 311 rows
/// (16 %) of the out-projection, the MLP and the attention's queries in 23 of 24 blocks. Skipping them
/// changes no result that is read.
struct LiveRows: Sendable, Equatable {
    /// Sequence length.
    let seq: Int
    /// The live positions, ascending, `[count]`.
    let positions: [Int]
    /// Per position of the sequence, its index in `positions`, or -1 where it is dead, `[seq]`.
    let index: [Int32]

    /// Every position of `0..<seq` but `dead`.
    init(seq: Int, dead: Set<Int>) {
        self.seq = seq
        positions = (0..<seq).filter { !dead.contains($0) }
        var index = [Int32](repeating: -1, count: seq)
        for (i, p) in positions.enumerated() { index[p] = Int32(i) }
        self.index = index
    }

    /// Live rows per sequence.
    var count: Int { positions.count }

    /// The row of `[batch * seq]` that is live row `c` of `[batch * count]` (sequence after sequence).
    @inline(__always)
    func row(_ c: Int) -> Int { (c / count) * seq + positions[c % count] }

    /// Moves the live rows of `batch` sequences of `x` (`[batch * seq, width]`) to its first
    /// `batch * count` rows, in order (row `row(c)` to row `c`; a row never lands on one still to move).
    func gather(_ x: UnsafeMutablePointer<Float>, width: Int, batch: Int) {
        for c in 0..<(batch * count) where row(c) != c { (x + c * width).update(from: x + row(c) * width, count: width) }
    }

    /// The inverse of `gather`: row `c` back to row `row(c)`, the last first; the dead rows are left
    /// holding stale values (the next layer's prompts overwrite them).
    func scatter(_ x: UnsafeMutablePointer<Float>, width: Int, batch: Int) {
        for c in (0..<(batch * count)).reversed() where row(c) != c { (x + row(c) * width).update(from: x + c * width, count: width) }
    }

    /// The rows a vision block followed by a prompted layer must compute: all but the prompt groups'
    /// positions (`ModelConfig.promptGroupPosition`); nil where there are no prompts.
    static func beforePrompts(_ c: ModelConfig) -> LiveRows? {
        guard c.prompts > 0, c.promptsPerGroup > 0 else { return nil }
        var dead = Set<Int>()
        for group in 0...c.regions {
            let first = c.promptGroupPosition(group)
            for p in first..<(first + c.promptsPerGroup) { dead.insert(p) }
        }
        return LiveRows(seq: c.tokens, dead: dead)
    }
}
