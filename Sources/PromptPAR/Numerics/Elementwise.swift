import Foundation
import RowKernels

/// Element-wise kernels over contiguous Float rows, written as plain loops over pointers that the
/// compiler vectorises (Swift's generic SIMD types compile to lane-by-lane code here). `Reference`
/// holds plain versions the tests compare them with.
enum Elementwise {
    /// `exp(x)`: Cephes' range reduction `x = n ln2 + r` and a degree-6 polynomial; relative error
    /// about 1.2e-7 over [-87, 88]; inputs below -87.3 give about 1e-38, not 0.
    @inline(__always)
    static func exp(_ v: Float) -> Float {
        var x = v < -87.3 ? -87.3 : v
        x = x > 88.3 ? 88.3 : x
        // n = round(x * log2(e)); adding 1.5 * 2^23 puts n in the low mantissa bits of t.
        let t = x * 1.442_695_040_888_963 + 12_582_912
        let n = t - 12_582_912
        var r = x - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * (r * r) + r + 1
        return y * Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    }

    /// `x[r, i] += bias[i]` for `rows` rows of `n`.
    static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * n
            for i in 0..<n { row[i] += bias[i] }
        }
    }

    /// QuickGELU after a bias: `x = y * sigmoid(1.702 y)` with `y = x + bias`, `rows` rows of `n`.
    static func biasQuickGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * n
            for i in 0..<n {
                let y = row[i] + bias[i]
                row[i] = y / (exp(-1.702 * y) + 1)
            }
        }
    }

    /// Exact GELU after a bias: `x = 0.5 y (1 + erf(y / sqrt 2))` with `y = x + bias`.
    static func biasGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r * n
            for i in 0..<n {
                let y = row[i] + bias[i]
                row[i] = 0.5 * y * (1 + erff(y * 0.707_106_781_186_547_5))
            }
        }
    }

    /// LayerNorm over rows of `n`: `out = (x - mean) / sqrt(var + eps) * gamma + beta` (biased variance,
    /// two passes, sums in 8 interleaved partial accumulators). `out` may equal `x`; rows are
    /// `ldx` / `ldo` apart.
    static func layerNorm(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, n: Int,
                          gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float,
                          out: UnsafeMutablePointer<Float>, ldo: Int) {
        for r in 0..<rows {
            let row = x + r * ldx
            let o = out + r * ldo
            let mean = sum(row, n) / Float(n)
            var sq = SIMD8<Float>(repeating: 0)
            var i = 0
            while i + 8 <= n {
                for l in 0..<8 { let d = row[i + l] - mean; sq[l] += d * d }
                i += 8
            }
            var variance = sq.sum()
            while i < n { let d = row[i] - mean; variance += d * d; i += 1 }
            let inv = 1 / (variance / Float(n) + eps).squareRoot()
            for j in 0..<n { o[j] = (row[j] - mean) * inv * gamma[j] + beta[j] }
        }
    }

    /// `sum(x[0..<n])` in 8 partial sums (`RowKernels.sum`).
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float { RowKernels.sum(x, n) }

    /// `row[lo..<hi] = exp(row - m)`; returns their sum.
    @inline(__always)
    static func expShifted(_ row: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, minus m: Float) -> Float {
        for i in lo..<hi { row[i] = exp(row[i] - m) }
        return sum(row + lo, hi - lo)
    }

    /// Maximum of `row[lo..<hi]` (`-greatestFiniteMagnitude` when empty; `RowKernels.maximum`).
    @inline(__always)
    static func maximum(_ row: UnsafePointer<Float>, _ lo: Int, _ hi: Int) -> Float { RowKernels.maximum(row, lo, hi) }

    /// `row[lo..<hi] *= s`.
    @inline(__always)
    static func scale(_ row: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, by s: Float) {
        for i in lo..<hi { row[i] *= s }
    }
}

/// Plain scalar versions of the kernels above, for tests.
enum Reference {
    static func quickGELU(_ y: Float) -> Float { y / (Foundation.exp(-1.702 * y) + 1) }
    static func exp(_ x: Float) -> Float { Foundation.exp(x) }
}
