import COneDNN
import Foundation

/// int8 products in pieces of rows, each a one-thread oneDNN matmul run by whichever of oneDNN's threads
/// is free, so that a caller can take a piece of rows through several products and the row-wise steps
/// between them (the MLP) in one parallel region, while the rows are in that core's cache.
extension ReducedWeights {
    /// The one-thread primitives of an `m`-row product cut in `pieceCount(m:)` pieces: `full` for the
    /// longer ones, `rest` for those one row shorter (the same primitive when all are alike), and the
    /// bytes of scratch a piece needs (its int32 products and oneDNN's scratchpad).
    struct Pieces: @unchecked Sendable {
        let full: SingleThreadPrimitive, rest: SingleThreadPrimitive
        let n: Int
        /// The thread that asked: its time in products is `gemm_share`'s (the others do the same work).
        let calling: pthread_t
        var scratchBytes: Int { ((full.rows * n * 4 + 63) & ~63) + max(full.scratchpadBytes, rest.scratchpadBytes) }
    }

    /// Pieces of an `m`-row product: about `pieceRows` rows each, as many as a multiple of the team's
    /// threads (`OneDNN.threads`), so that the threads share them evenly. With pieces of exactly
    /// `pieceRows`, 1,244 rows (a batch of 4 at 311 tokens) made 19 pieces of 64 and one of 28: one
    /// thread did 36 rows more than the other in every region while the other waited at the join.
    static func pieceCount(m: Int) -> Int {
        let threads = max(1, OneDNN.threads)
        return min(m, ((m + pieceRows - 1) / pieceRows + threads - 1) / threads * threads)
    }

    /// The rows of piece `i` of `count` pieces of `0..<m`: the first `m % count` pieces have one row more.
    @inline(__always)
    static func pieceRange(_ i: Int, count: Int, m: Int) -> Range<Int> {
        let base = m / count, extra = m % count
        let lower = i * base + min(i, extra)
        return lower..<(lower + base + (i < extra ? 1 : 0))
    }

    /// int8 only: the primitives of an `m`-row product in pieces (created on first use, then cached).
    func pieces(m: Int) -> Pieces {
        precondition(kind == .int8 && m > 0, "pieces: \(kind) weights, \(m) rows")
        let count = Self.pieceCount(m: m), base = m / count
        let shorter = PrimitiveCache.shared.single(PrimitiveKey(kind: kind, m: base, n: n, k: k, single: true), layout: layout)
        let longer = m % count == 0 ? shorter
            : PrimitiveCache.shared.single(PrimitiveKey(kind: kind, m: base + 1, n: n, k: k, single: true), layout: layout)
        return Pieces(full: longer, rest: shorter, n: n, calling: pthread_self())
    }

    /// Calls `body(rows)` for each of the `pieceCount(m:)` pieces of `0..<m` (`pieceRange`), each on
    /// whichever of oneDNN's threads is free; returns when all are done.
    static func forEachPiece(m: Int, _ body: (Range<Int>) -> Void) {
        guard m > 0 else { return }
        let count = pieceCount(m: m)
        TeamParallel.rows(count, chunk: 1, serialBelow: 2) { pieces in
            for i in pieces { body(pieceRange(i, count: count, m: m)) }
        }
    }

    /// int8 only: the int32 products of `rows` (one piece of `p`'s product) of `a` times the weights,
    /// on this thread, in `scratch` (at least `p.scratchBytes`): returns them, `[rows.count, n]`.
    func int8Piece(_ rows: Range<Int>, of p: Pieces, a: QuantizedRows, scratch: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Int32> {
        let primitive = rows.count == p.full.rows ? p.full : p.rest
        precondition(a.k == k && p.n == n && rows.count == primitive.rows,
                     "int8Piece: \(rows.count) rows of k=\(a.k) for pieces of \(p.full.rows) and \(p.rest.rows) of k=\(k)")
        let accBytes = (p.full.rows * n * 4 + 63) & ~63
        let acc = scratch.bindMemory(to: Int32.self, capacity: rows.count * n)
        let src = UnsafeMutableRawPointer(a.values + rows.lowerBound * k)
        if pthread_equal(pthread_self(), p.calling) != 0 {
            GEMM.timed { executeSingle(primitive, src: src, dst: UnsafeMutableRawPointer(acc), scratchpad: scratch + accBytes) }
        } else {
            executeSingle(primitive, src: src, dst: UnsafeMutableRawPointer(acc), scratchpad: scratch + accBytes)
        }
        return acc
    }
}
