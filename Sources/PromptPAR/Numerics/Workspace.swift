/// One worker's activation memory, allocated once at load and reused for every batch: the per-crop
/// path does not allocate. Not shared between threads.
public final class Workspace {
    private let base: UnsafeMutablePointer<Float>
    /// Floats held.
    public let capacity: Int
    private var used = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
        base.initialize(repeating: 0, count: capacity)
    }

    deinit { base.deallocate() }

    /// Carves the next `count` floats (64-byte aligned) out of the workspace.
    func carve(_ count: Int) -> UnsafeMutablePointer<Float> {
        let start = (used + 15) & ~15
        precondition(start + count <= capacity, "workspace too small: \(start + count) > \(capacity) floats")
        used = start + count
        return base + start
    }

    /// Floats needed to carve buffers of these sizes.
    static func size(_ counts: [Int]) -> Int { counts.reduce(0) { $0 + (($1 + 15) & ~15) } + 16 }
}

/// Scratch buffers of one transformer stack, for `batch` sequences of `seq` tokens.
struct BlockScratch {
    /// `[batch*seq, width]`: normalised input, then the attention output.
    let normed: UnsafeMutablePointer<Float>
    /// `[batch*seq, max(3*width, hidden)]`: qkv, then the MLP hidden layer.
    let wide: UnsafeMutablePointer<Float>
    /// `[seq, seq]`: attention scores of one head (`heads` 1), or those of all heads at once and the
    /// packed q, k, v (`OneDNNAttention.scratchFloats`).
    let scores: UnsafeMutablePointer<Float>

    static func sizes(batch: Int, seq: Int, width: Int, hidden: Int, heads: Int = 1) -> [Int] {
        [batch * seq * width, batch * seq * max(3 * width, hidden),
         heads == 1 ? seq * seq : OneDNNAttention.scratchFloats(seq: seq, width: width, heads: heads)]
    }

    init(_ ws: Workspace, batch: Int, seq: Int, width: Int, hidden: Int, heads: Int = 1) {
        let s = Self.sizes(batch: batch, seq: seq, width: width, hidden: hidden, heads: heads)
        normed = ws.carve(s[0]); wide = ws.carve(s[1]); scores = ws.carve(s[2])
    }
}
