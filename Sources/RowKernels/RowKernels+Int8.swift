/// The int8 path's per-row quantising and dequantising, in 16-lane vectors (one AVX-512 register, two
/// AVX2 ones).
extension RowKernels {
    /// `out[j] = beta * out[j] + rowScale * columnScales[j] * (acc[j] - rowZero * columnSums[j])` for
    /// `n` columns (`beta * out` left out where `beta` is 0): a row of int32 products of u8 activations
    /// (`x ≈ rowScale * (u - rowZero)`) and s8 weights (column `j` scaled by `columnScales[j]`, its
    /// values summing to `columnSums[j]`) back to floats.
    @inlinable @inline(__always)
    public static func dequantize(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                                  columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                  beta: Float, into out: UnsafeMutablePointer<Float>) {
        // Plain loops the compiler vectorises (`SIMD16<Float>(SIMD16<Int32>)` is a call per vector);
        // two, so that neither tests `beta` per value.
        if beta == 0 {
            for j in 0..<n { out[j] = rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        } else {
            for j in 0..<n { out[j] = beta * out[j] + rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        }
    }

    /// Quantises `count` floats to u8 with a scale and zero point of their own:
    /// `u = clamp(x / scale + zero, 0, 255)` rounded to nearest even (by adding 1.5·2^23, exact below
    /// 2^22), `scale = (max - min) / 255` over the row and 0 (1 for a constant row), `zero` the rounded
    /// `-min / scale`. The range in four independent minima and maxima (one pair waits on its own
    /// latency, 4 cycles a step); `replace(with:where:)`, not the lane-by-lane `pointwiseMin`.
    @inlinable @inline(__always)
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, into u: UnsafeMutablePointer<UInt8>) -> (scale: Float, zero: Int32) {
        let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(u)
        var lo = SIMD16<Float>(repeating: 0), hi = lo
        var loB = lo, hiB = hi, loC = lo, hiC = hi, loD = lo, hiD = hi
        var i = 0
        while i &+ 64 <= count {
            let a = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            let b = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
            let c = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 128, as: SIMD16<Float>.self)
            let d = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 192, as: SIMD16<Float>.self)
            lo.replace(with: a, where: a .< lo); hi.replace(with: a, where: a .> hi)
            loB.replace(with: b, where: b .< loB); hiB.replace(with: b, where: b .> hiB)
            loC.replace(with: c, where: c .< loC); hiC.replace(with: c, where: c .> hiC)
            loD.replace(with: d, where: d .< loD); hiD.replace(with: d, where: d .> hiD)
            i &+= 64
        }
        lo.replace(with: loB, where: loB .< lo); hi.replace(with: hiB, where: hiB .> hi)
        lo.replace(with: loC, where: loC .< lo); hi.replace(with: hiC, where: hiC .> hi)
        lo.replace(with: loD, where: loD .< lo); hi.replace(with: hiD, where: hiD .> hi)
        while i &+ 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            lo.replace(with: v, where: v .< lo); hi.replace(with: v, where: v .> hi)
            i &+= 16
        }
        var low = lo.min(), high = hi.max()
        while i < count { low = min(low, x[i]); high = max(high, x[i]); i &+= 1 }
        let scale = high > low ? (high - low) / 255 : 1
        let inv = 1 / scale
        let zero = (-low * inv).rounded(.toNearestOrEven)
        let magic: Float = 12_582_912  // 1.5 · 2^23
        let inv16 = SIMD16<Float>(repeating: inv), zero16 = SIMD16<Float>(repeating: zero)
        let floor16 = SIMD16<Float>(repeating: 0), ceil16 = SIMD16<Float>(repeating: 255), magic16 = SIMD16<Float>(repeating: magic)
        i = 0
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
