/// The int8 attention's quantising: per token and head, q to u8 and k and v to symmetric s8 (oneDNN's
/// "weights" of the two products), and the scaling of the softmax's numerators before they become u8.
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

    /// `x[i] *= y[i]` for `count` values.
    @inlinable @inline(__always)
    public static func multiply(_ x: UnsafeMutablePointer<Float>, by y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] *= y[i] }
    }
}

extension RowKernels {
    /// One row of the int8 attention's int32 scores to the u8 probabilities of `P·v`, in `row` (`[columns]`
    /// floats of scratch) and `u`: `dequantize` (beta 0, no bias), `exponentials`, times each value
    /// token's scale (`valueScales`), then `quantize` with the range `[0, max]`; returns the step of the
    /// u8 values (zero point 0) and the exponentials' sum. The same bits as those four calls, in fewer
    /// passes: only the visible columns are dequantised, and the multiply by the value scales finds
    /// the row's maximum as it goes (no separate range pass: the values are all `>= 0`).
    @inlinable @inline(__always)
    public static func probabilities(_ acc: UnsafePointer<Int32>, columns: Int, rowScale: Float, rowZero: Int32,
                                     columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                     visible first: Range<Int>, _ second: Range<Int>, valueScales: UnsafePointer<Float>,
                                     row: UnsafeMutablePointer<Float>, into u: UnsafeMutablePointer<UInt8>) -> (step: Float, total: Float) {
        for j in first { row[j] = rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        for j in second { row[j] = rowScale * columnScales[j] * Float(acc[j] &- rowZero &* columnSums[j]) }
        let total = exponentials(row, columns: columns, visible: first, second)
        let raw = UnsafeMutableRawPointer(row), scales = UnsafeRawPointer(valueScales)
        var hi = SIMD16<Float>(repeating: 0), hiB = hi
        var i = 0
        while i &+ 32 <= columns {
            let a = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
                * scales.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            let b = raw.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
                * scales.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
            raw.storeBytes(of: a, toByteOffset: i &* 4, as: SIMD16<Float>.self)
            raw.storeBytes(of: b, toByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
            hi.replace(with: a, where: a .> hi)
            hiB.replace(with: b, where: b .> hiB)
            i &+= 32
        }
        hi.replace(with: hiB, where: hiB .> hi)
        var high = largest(hi)
        while i < columns {
            row[i] *= valueScales[i]
            high = Swift.max(high, row[i])
            i &+= 1
        }
        let (step, _) = quantize(row, count: columns, range: (0, high), into: u)
        return (step, total)
    }
}
