import COneDNN
import Foundation

/// int8 products in pieces of rows, each a one-thread oneDNN matmul run by whichever of oneDNN's threads
/// is free, so that a caller can take a piece of rows through several products and the row-wise steps
/// between them (the MLP) in one parallel region, while the rows are in that core's cache.
extension ReducedWeights {
    /// The one-thread primitives of an `m`-row product cut in pieces of `pieceRows` (`full`) and a last,
    /// shorter piece (`rest`), and the bytes of scratch a piece needs (its int32 products and oneDNN's
    /// scratchpad).
    struct Pieces: @unchecked Sendable {
        let full: SingleThreadPrimitive, rest: SingleThreadPrimitive
        let n: Int
        /// The thread that asked: its time in products is `gemm_share`'s (the others do the same work).
        let calling: pthread_t
        var scratchBytes: Int { ((full.rows * n * 4 + 63) & ~63) + max(full.scratchpadBytes, rest.scratchpadBytes) }
    }

    /// int8 only: the primitives of an `m`-row product in pieces (created on first use, then cached).
    func pieces(m: Int) -> Pieces {
        precondition(kind == .int8 && m > 0, "pieces: \(kind) weights, \(m) rows")
        let piece = min(m, Self.pieceRows)
        let full = PrimitiveCache.shared.single(PrimitiveKey(kind: kind, m: piece, n: n, k: k, single: true), layout: layout)
        let rest = m % piece == 0 ? full
            : PrimitiveCache.shared.single(PrimitiveKey(kind: kind, m: m % piece, n: n, k: k, single: true), layout: layout)
        return Pieces(full: full, rest: rest, n: n, calling: pthread_self())
    }

    /// Calls `body(rows)` for the pieces of `0..<m` (`pieceRows` rows, the last one `m % pieceRows`),
    /// each on whichever of oneDNN's threads is free; returns when all are done.
    static func forEachPiece(m: Int, _ body: (Range<Int>) -> Void) {
        guard m > 0 else { return }
        let piece = min(m, pieceRows)
        // A thread's chunk is one piece when the team splits the rows, all of them when it does not.
        TeamParallel.rows(m, chunk: piece) { chunk in
            for first in stride(from: chunk.lowerBound, to: chunk.upperBound, by: piece) {
                body(first..<min(first + piece, chunk.upperBound))
            }
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
