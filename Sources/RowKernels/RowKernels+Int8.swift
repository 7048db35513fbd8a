/// The int8 path's per-row quantising and dequantising, in 16-lane vectors (one AVX-512 register, two
/// AVX2 ones).
extension RowKernels {
    /// `out[j] = beta * out[j] + rowScale * columnScales[j] * (acc[j] - rowZero * columnSums[j])`, then
    /// `+ bias[j]` where there is a bias, for `n` columns (`beta * out` left out where `beta` is 0): a row
    /// of int32 products of u8 activations (`x ≈ rowScale * (u - rowZero)`) and s8 weights (column `j`
    /// scaled by `columnScales[j]`, its values summing to `columnSums[j]`) back to floats. The bias in
    /// the same pass gives the bits of adding it after (each operation rounded once, in that order).
    @inlinable @inline(__always)
    public static func dequantize(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                                  columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                  beta: Float, bias: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>) {
        // Plain loops the compiler vectorises (`SIMD16<Float>(SIMD16<Int32>)` is a call per vector);
        // one per case, so that none tests `beta` or the bias per value.
        switch (beta == 0, bias) {
        case (true, nil):
            for j in 0..<n { out[j] = rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        case (false, nil):
            for j in 0..<n { out[j] = beta * out[j] + rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        case (true, let b?):
            for j in 0..<n { out[j] = rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) + b[j] }
        case (false, let b?):
            for j in 0..<n {
                out[j] = (beta * out[j] + rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j])) + b[j]
            }
        }
    }

    /// `out[j] = y * sigmoid(1.702 y)` with `y = dequantised acc[j] + bias[j]` (`dequantize` with `beta`
    /// 0, then `biasQuickGELU`: the same bits in one pass), for `n` columns, a multiple of 64; returns
    /// the range `quantize` would find in `out` (`range`), taken 64 values at a time as they are written.
    @inlinable @inline(__always)
    public static func dequantizeBiasQuickGELU(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                                               columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                               bias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) -> (low: Float, high: Float) {
        precondition(n % 64 == 0, "dequantizeBiasQuickGELU: \(n) columns, not a multiple of 64")
        let raw = UnsafeRawPointer(out)
        var lanes = RangeLanes()
        var i = 0
        while i < n {
            for j in i..<(i &+ 64) {
                let y = rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) + bias[j]
                out[j] = y / (exp(-1.702 * y) + 1)
            }
            lanes.add64(raw, at: i)
            i &+= 64
        }
        let (lo, hi) = lanes.merged()
        return (smallest(lo), largest(hi))
    }

    /// Quantises `count` floats to u8 with a scale and zero point of their own:
    /// `u = clamp(x / scale + zero, 0, 255)` rounded to nearest even (by adding 1.5·2^23, exact below
    /// 2^22), `scale = (max - min) / 255` over the row and 0 (1 for a constant row), `zero` the rounded
    /// `-min / scale`. The range in four independent minima and maxima (one pair waits on its own
    /// latency, 4 cycles a step); `replace(with:where:)`, not the lane-by-lane `pointwiseMin`.
    @inlinable @inline(__always)
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, into u: UnsafeMutablePointer<UInt8>) -> (scale: Float, zero: Int32) {
        quantize(x, count: count, range: range(x, count: count), into: u)
    }

    /// The smallest and the largest of `x[0..<count]` and 0 (NaNs ignored), as `quantize` takes them.
    @inlinable @inline(__always)
    public static func range(_ x: UnsafePointer<Float>, count: Int) -> (low: Float, high: Float) {
        let raw = UnsafeRawPointer(x)
        var lanes = RangeLanes()
        var i = 0
        while i &+ 64 <= count {
            lanes.add64(raw, at: i)
            i &+= 64
        }
        var (lo, hi) = lanes.merged()
        while i &+ 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            lo.replace(with: v, where: v .< lo); hi.replace(with: v, where: v .> hi)
            i &+= 16
        }
        var low = smallest(lo), high = largest(hi)
        while i < count { low = min(low, x[i]); high = max(high, x[i]); i &+= 1 }
        return (low, high)
    }

    /// `quantize` with the row's `range` already known (`range`, or found while the row was written).
    @inlinable @inline(__always)
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, range: (low: Float, high: Float),
                                into u: UnsafeMutablePointer<UInt8>) -> (scale: Float, zero: Int32) {
        let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(u)
        let (low, high) = range
        let scale = high > low ? (high - low) / 255 : 1
        let inv = 1 / scale
        let zero = (-low * inv).rounded(.toNearestOrEven)
        let magic: Float = 12_582_912  // 1.5 · 2^23
        let inv16 = SIMD16<Float>(repeating: inv), zero16 = SIMD16<Float>(repeating: zero)
        let floor16 = SIMD16<Float>(repeating: 0), ceil16 = SIMD16<Float>(repeating: 255), magic16 = SIMD16<Float>(repeating: magic)
        var i = 0
        while i &+ 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            var q = v * inv16 + zero16
            q.replace(with: floor16, where: q .< floor16)
            q.replace(with: ceil16, where: q .> ceil16)
            q += magic16
            let bytes = SIMD16<UInt8>(truncatingIfNeeded: unsafeBitCast(q, to: SIMD16<UInt32>.self))
            out.storeBytes(of: bytes, toByteOffset: i, as: SIMD16<UInt8>.self)
            i &+= 16
        }
        while i < count {
            let q = min(255, max(0, x[i] * inv + zero)) + magic
            u[i] = UInt8(truncatingIfNeeded: q.bitPattern)
            i &+= 1
        }
        return (scale, Int32(zero))
    }
}

/// A row's running minimum and maximum (from 0) in four independent pairs of 16 lanes: one pair waits
/// on its own latency, 4 cycles a step. `replace(with:where:)`, not the lane-by-lane `pointwiseMin`;
/// NaNs never replace a lane.
@usableFromInline
struct RangeLanes {
    @usableFromInline var lo = SIMD16<Float>(repeating: 0), hi = SIMD16<Float>(repeating: 0)
    @usableFromInline var loB = SIMD16<Float>(repeating: 0), hiB = SIMD16<Float>(repeating: 0)
    @usableFromInline var loC = SIMD16<Float>(repeating: 0), hiC = SIMD16<Float>(repeating: 0)
    @usableFromInline var loD = SIMD16<Float>(repeating: 0), hiD = SIMD16<Float>(repeating: 0)

    @inlinable init() {}

    /// Takes the 64 floats from float `i` of `raw` in.
    @inlinable @inline(__always)
    mutating func add64(_ raw: UnsafeRawPointer, at i: Int) {
        let a = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
        let b = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
        let c = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 128, as: SIMD16<Float>.self)
        let d = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 192, as: SIMD16<Float>.self)
        lo.replace(with: a, where: a .< lo); hi.replace(with: a, where: a .> hi)
        loB.replace(with: b, where: b .< loB); hiB.replace(with: b, where: b .> hiB)
        loC.replace(with: c, where: c .< loC); hiC.replace(with: c, where: c .> hiC)
        loD.replace(with: d, where: d .< loD); hiD.replace(with: d, where: d .> hiD)
    }

    /// The four pairs as one: 16 lanes of minima and of maxima.
    @inlinable @inline(__always)
    func merged() -> (SIMD16<Float>, SIMD16<Float>) {
        var lo = self.lo, hi = self.hi
        lo.replace(with: loB, where: loB .< lo); hi.replace(with: hiB, where: hiB .> hi)
        lo.replace(with: loC, where: loC .< lo); hi.replace(with: hiC, where: hiC .> hi)
        lo.replace(with: loD, where: loD .< lo); hi.replace(with: hiD, where: hiD .> hi)
        return (lo, hi)
    }
}

extension RowKernels {
    /// Copies `rows` runs of `length` floats, `fromStride` apart in `from`, to `toStride` apart in `to`
    /// (a head's slices of q, k, v rows into their packed place, the attention's per-head output back
    /// into rows): one call for a whole row's runs instead of a memmove per 64 floats.
    @inlinable @inline(__always)
    public static func copyRows(_ from: UnsafePointer<Float>, fromStride: Int, into to: UnsafeMutablePointer<Float>, toStride: Int,
                                rows: Int, length: Int) {
        for r in 0..<rows {
            let source = from + r &* fromStride, target = to + r &* toStride
            for j in 0..<length { target[j] = source[j] }
        }
    }
}
