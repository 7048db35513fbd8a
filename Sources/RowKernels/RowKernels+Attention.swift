/// The int8 attention's quantising: per token and head, q to u8 and k and v to symmetric s8 (oneDNN's
/// "weights" of the two products), and the scores of a row to its u8 probabilities.
extension RowKernels {
    /// `count` floats to s8, symmetric: `q = round(x / scale)` (to nearest even, by adding 1.5·2^23) in
    /// `-qmax...qmax`, `scale = max|x| / qmax` (1 for a row of zeros); returns the scale and `Σ q`.
    /// One head's key or value of one token (`count` = the head's width).
    /// In 16-lane vectors where `count` is a multiple of 16 (a head's 64 values: four vectors, one
    /// horizontal maximum and one horizontal sum), value by value otherwise; the same bits either way.
    @inlinable @inline(__always)
    public static func quantizeSymmetric(_ x: UnsafePointer<Float>, count: Int, qmax: Int,
                                         into q: UnsafeMutablePointer<Int8>) -> (scale: Float, sum: Int32) {
        let top = Float(qmax), magic: Float = 12_582_912
        guard count > 0, count % 16 == 0 else {
            var amax: Float = 0
            for i in 0..<count { amax = Swift.max(amax, abs(x[i])) }
            let scale = amax > 0 ? amax / top : 1
            let inv = 1 / scale
            var sum: Int32 = 0
            for i in 0..<count {
                let v = Swift.min(top, Swift.max(-top, x[i] * inv)) + magic
                let n = Int32(truncatingIfNeeded: v.bitPattern) &- 0x4B40_0000
                q[i] = Int8(truncatingIfNeeded: n)
                sum &+= n
            }
            return (scale, sum)
        }
        let raw = UnsafeRawPointer(x), out = UnsafeMutableRawPointer(q)
        let signless = SIMD16<UInt32>(repeating: 0x7FFF_FFFF)
        var m16 = SIMD16<Float>(repeating: 0)
        var i = 0
        while i < count {
            let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            let a = unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & signless, to: SIMD16<Float>.self)
            m16.replace(with: a, where: a .> m16)
            i &+= 16
        }
        let amax = largest(m16)
        let scale = amax > 0 ? amax / top : 1
        let inv = 1 / scale
        let inv16 = SIMD16<Float>(repeating: inv), top16 = SIMD16<Float>(repeating: top), bottom16 = -top16
        let magic16 = SIMD16<Float>(repeating: magic), bias16 = SIMD16<Int32>(repeating: 0x4B40_0000)
        var sum16 = SIMD16<Int32>(repeating: 0)
        i = 0
        while i < count {
            var v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self) * inv16
            v.replace(with: bottom16, where: v .< bottom16)
            v.replace(with: top16, where: v .> top16)
            v += magic16
            let n = unsafeBitCast(v, to: SIMD16<Int32>.self) &- bias16
            sum16 &+= n
            out.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: n), toByteOffset: i, as: SIMD16<Int8>.self)
            i &+= 16
        }
        return (scale, sum16.wrappedSum())
    }

    /// `slices` runs of `length` floats, one after another in `x`, each quantised by `quantize` (u8,
    /// its own scale and zero point) into `u + s * stride`, its scale and zero point into
    /// `scales[s * metaStride]` and `zeros[s * metaStride]`: one token's q, every head, in one call.
    @inlinable @inline(__always)
    public static func quantizeSlices(_ x: UnsafePointer<Float>, slices: Int, length: Int, into u: UnsafeMutablePointer<UInt8>,
                                      stride: Int, scales: UnsafeMutablePointer<Float>, zeros: UnsafeMutablePointer<Int32>,
                                      metaStride: Int) {
        for s in 0..<slices {
            let (scale, zero) = quantize(x + s &* length, count: length, into: u + s &* stride)
            scales[s &* metaStride] = scale
            zeros[s &* metaStride] = zero
        }
    }

    /// `quantizeSlices` with `quantizeSymmetric` (s8, `-qmax...qmax`), each slice's scale and sum:
    /// one token's k and v, every head, in one call.
    @inlinable @inline(__always)
    public static func quantizeSlicesSymmetric(_ x: UnsafePointer<Float>, slices: Int, length: Int, qmax: Int,
                                               into q: UnsafeMutablePointer<Int8>, stride: Int, scales: UnsafeMutablePointer<Float>,
                                               sums: UnsafeMutablePointer<Int32>, metaStride: Int) {
        for s in 0..<slices {
            let (scale, sum) = quantizeSymmetric(x + s &* length, count: length, qmax: qmax, into: q + s &* stride)
            scales[s &* metaStride] = scale
            sums[s &* metaStride] = sum
        }
    }
}

extension RowKernels {
    /// `2^t` for `t <= 0` (below -125 as at -125: under 1e-37), for probabilities that become u8: `t`
    /// rounded to the nearest integer `n` (adding 1.5·2^23 puts it in the low mantissa bits), `2^(t-n)`
    /// by a degree-4 polynomial fitted for relative error on [-0.5, 0.5] (2.8e-6; 5.3e-6 in float
    /// arithmetic, against 1/255 for the u8 step), times `2^n` built in the exponent bits. About 11
    /// vector operations against `exp`'s 17.
    @inlinable @inline(__always)
    public static func exp2(nonPositive t: Float) -> Float {
        let c = t < -125 ? -125 : t
        let shifted = c + 12_582_912
        let f = c - (shifted - 12_582_912)
        var p: Float = 0.009_582_85
        p = Float(0.055_906_43).addingProduct(p, f)
        p = Float(0.240_240_99).addingProduct(p, f)
        p = Float(0.693_124_2).addingProduct(p, f)
        p = Float(1).addingProduct(p, f)
        return p * Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    }

    /// One row of the int8 attention's int32 scores to the u8 probabilities of `P·v`, in `row` (`[columns]`
    /// floats of scratch) and `u`. Score `j` is `s_j = rowScale * x_j` with `x_j = columnScales[j] *
    /// (acc[j] - rowZero * columnSums[j])` (the dequantised product); over the visible columns
    /// `e_j = exp(s_j - max s) = 2^(x_j a - (max x) a)`, `a = rowScale · log2 e` (`rowScale > 0`, so the
    /// largest `x` gives the largest `s`: the row scale and the shift are one multiply-add in the
    /// exponent), by `exp2(nonPositive:)`; masked columns 0. `e_j` times each value token's scale
    /// (`valueScales`) becomes u8 with the range `[0, max]` (`quantize`, zero point 0). Returns the u8
    /// step and `Σ e_j`. Three passes over the visible columns and one over the row, whole vectors but
    /// for the last `columns % 16`.
    @inlinable @inline(__always)
    public static func probabilities(_ acc: UnsafePointer<Int32>, columns: Int, rowScale: Float, rowZero: Int32,
                                     columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                     visible first: Range<Int>, _ second: Range<Int>, valueScales: UnsafePointer<Float>,
                                     row: UnsafeMutablePointer<Float>, into u: UnsafeMutablePointer<UInt8>) -> (step: Float, total: Float) {
        for j in first { row[j] = columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        for j in second { row[j] = columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        let largest = Swift.max(maximum(row, first.lowerBound, first.upperBound), maximum(row, second.lowerBound, second.upperBound))
        let a = rowScale * 1.442_695_040_888_963, shift = -(largest * a)
        row.update(repeating: 0, count: first.lowerBound)
        for j in first { row[j] = exp2(nonPositive: shift.addingProduct(row[j], a)) }
        var covered = first.upperBound
        if !second.isEmpty {
            (row + covered).update(repeating: 0, count: second.lowerBound - covered)
            for j in second { row[j] = exp2(nonPositive: shift.addingProduct(row[j], a)) }
            covered = second.upperBound
        }
        (row + covered).update(repeating: 0, count: columns - covered)
        // Σ e (two 16-lane sums), e * value scale in place, and its maximum, in one pass.
        let raw = UnsafeMutableRawPointer(row), scales = UnsafeRawPointer(valueScales)
        var sum = SIMD16<Float>(repeating: 0), sumB = sum, hi = sum, hiB = sum
        var i = 0
        while i &+ 32 <= columns {
            let e = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            let eB = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
            sum += e
            sumB += eB
            let y = e * scales.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            let yB = eB * scales.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
            raw.storeBytes(of: y, toByteOffset: i &* 4, as: SIMD16<Float>.self)
            raw.storeBytes(of: yB, toByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
            hi.replace(with: y, where: y .> hi)
            hiB.replace(with: yB, where: yB .> hiB)
            i &+= 32
        }
        if i &+ 16 <= columns {
            let e = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            sum += e
            let y = e * scales.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            raw.storeBytes(of: y, toByteOffset: i &* 4, as: SIMD16<Float>.self)
            hi.replace(with: y, where: y .> hi)
            i &+= 16
        }
        hi.replace(with: hiB, where: hiB .> hi)
        var total = (sum + sumB).sum(), high = Self.largest(hi)
        while i < columns {
            total += row[i]
            row[i] *= valueScales[i]
            high = Swift.max(high, row[i])
            i &+= 1
        }
        let (step, _) = quantize(row, count: columns, range: (0, high), into: u)
        return (step, total)
    }
}
