/// Row kernels of the bf16 and int8 paths (the attention's softmax, the MLP's QuickGELU), written once as
/// plain loops and compiled twice: `@inlinable`, they are inlined into PromptPAR, built for AVX2/FMA
/// (x86-64-v3), and into `RowKernelsAVX512`, built for AVX-512 (x86-64-v4, 512-bit vectors), which
/// PromptPAR calls where the CPU has it. Both do the same operations in the same order (Swift contracts
/// no multiply-add that is not written as one, and every sum keeps its 8 lanes), so both give the same
/// bits; the tests compare them.
public enum RowKernels {
    /// `exp(x)`: Cephes' range reduction `x = n ln2 + r` and degree-6 polynomial, each multiply-add
    /// rounded once (`vfmadd`); relative error about 1.2e-7 over [-87, 88]; inputs below -87.3 give
    /// about 1e-38, not 0; above 88.3, about 2.2e38.
    @inlinable @inline(__always)
    public static func exp(_ v: Float) -> Float {
        var x = v < -87.3 ? -87.3 : v
        x = x > 88.3 ? 88.3 : x
        // n = round(x * log2(e)); adding 1.5 * 2^23 puts n in the low mantissa bits of t.
        let t = Float(12_582_912).addingProduct(x, 1.442_695_040_888_963)
        let n = t - 12_582_912
        var r = x.addingProduct(n, -0.693_359_375)
        r = r.addingProduct(n, 2.121_944_4e-4)
        var p: Float = 1.987_569_15e-4
        p = Float(1.398_199_950_7e-3).addingProduct(p, r)
        p = Float(8.333_451_907_3e-3).addingProduct(p, r)
        p = Float(4.166_579_589_4e-2).addingProduct(p, r)
        p = Float(1.666_666_545_9e-1).addingProduct(p, r)
        p = Float(5.000_000_120_1e-1).addingProduct(p, r)
        let y = r.addingProduct(p, r * r) + 1
        return y * Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    }

    /// The largest of `v`'s 16 lanes (none NaN), as a reduction of integers that order as the floats
    /// do (`ordered`): SIMD's `max()` of floats runs lane by lane through memory with a NaN test per
    /// lane, and cost the int8 attention's 64-value head slices as much as quantising them; of `Int32`
    /// it is a tree of four vector maxima. Exact (of two zeros, +0).
    @inlinable @inline(__always)
    public static func largest(_ v: SIMD16<Float>) -> Float { float(ordered: ordered(v).max()) }

    /// The smallest of `v`'s 16 lanes (none NaN), as `largest` (of two zeros, -0).
    @inlinable @inline(__always)
    public static func smallest(_ v: SIMD16<Float>) -> Float { float(ordered: ordered(v).min()) }

    /// `v`'s bits as integers that order as the floats (negative ones with their magnitude bits
    /// flipped): `a < b` exactly where `ordered(a) < ordered(b)`, NaNs aside.
    @inlinable @inline(__always)
    static func ordered(_ v: SIMD16<Float>) -> SIMD16<Int32> {
        let i = unsafeBitCast(v, to: SIMD16<Int32>.self)
        return i ^ ((i &>> 31) & SIMD16<Int32>(repeating: 0x7FFF_FFFF))
    }

    /// The float whose `ordered` bits are `key`.
    @inlinable @inline(__always)
    static func float(ordered key: Int32) -> Float {
        Float(bitPattern: UInt32(bitPattern: key ^ ((key &>> 31) & 0x7FFF_FFFF)))
    }

    /// `sum(x[0..<n])` in 8 partial sums (lane `l` adds `x[l]`, `x[l + 8]`, ...), then the lanes in order.
    @inlinable @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            for l in 0..<8 { acc[l] += x[i + l] }
            i += 8
        }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// `sum(x[0..<n])` in 32 partial sums (two 16-lane accumulators, lane `l` of the first adding
    /// `x[l]`, `x[l + 32]`, ...), then those in order: one 8-lane chain waited 4 cycles a vector and
    /// cost the softmax as much as its `exp`. (`sum` keeps the fp32 path's order.)
    @inlinable @inline(__always)
    public static func wideSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(x)
        var a = SIMD16<Float>(repeating: 0), b = a
        var i = 0
        while i &+ 32 <= n {
            a += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            b += raw.loadUnaligned(fromByteOffset: i &* 4 &+ 64, as: SIMD16<Float>.self)
            i &+= 32
        }
        if i &+ 16 <= n {
            a += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            i &+= 16
        }
        var s = (a + b).sum()
        while i < n { s += x[i]; i &+= 1 }
        return s
    }

    /// Maximum of `row[lo..<hi]` (`-greatestFiniteMagnitude` when empty; NaNs ignored), in 16 lanes: a
    /// running scalar maximum does not vectorise. A range not a multiple of 16 long ends with its last
    /// 16 values as one vector (overlapping the one before: a maximum does not mind), and the lanes
    /// meet in `largest` (the attention's rows of 311 spent as long in 7 scalar steps and a 16-lane
    /// scalar reduction as in their 19 vectors). Exact, so the order leaves the bits as they were.
    @inlinable @inline(__always)
    public static func maximum(_ row: UnsafePointer<Float>, _ lo: Int, _ hi: Int) -> Float {
        guard hi &- lo >= 16 else {
            var m = -Float.greatestFiniteMagnitude
            var i = lo
            while i < hi { m = row[i] > m ? row[i] : m; i &+= 1 }
            return m
        }
        let raw = UnsafeRawPointer(row)
        var m16 = SIMD16<Float>(repeating: -Float.greatestFiniteMagnitude)
        var i = lo
        while i &+ 16 <= hi {
            let v = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD16<Float>.self)
            m16.replace(with: v, where: v .> m16)
            i &+= 16
        }
        if i < hi {
            let v = raw.loadUnaligned(fromByteOffset: (hi &- 16) &* 4, as: SIMD16<Float>.self)
            m16.replace(with: v, where: v .> m16)
        }
        return largest(m16)
    }

    /// `row[range] = exp(row[range] - m)`, in whole vectors: where the range is not a multiple of 16
    /// long, its last 16 values are computed first (one vector, into a stack buffer) and stored after
    /// the vectors before them, instead of one value at a time (a scalar `exp` costs what a vector does,
    /// and the attention's rows of 311 leave 7).
    @inlinable @inline(__always)
    public static func expShifted(_ row: UnsafeMutablePointer<Float>, _ range: Range<Int>, minus m: Float) {
        let n = range.count, rest = n % 16
        guard n >= 16, rest != 0 else {
            for i in range { row[i] = exp(row[i] - m) }
            return
        }
        let last = row + range.upperBound - 16
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { tail in
            for j in 0..<16 { tail[j] = exp(last[j] - m) }
            for i in range.lowerBound..<(range.upperBound - rest) { row[i] = exp(row[i] - m) }
            for j in (16 - rest)..<16 { last[j] = tail[j] }
        }
    }

    /// Softmax of one row of `columns` over its visible columns, `first` and `second` (in order,
    /// disjoint, within the row; `second` may be empty); the others become 0. With `bf16`, the
    /// probabilities go there rounded to bf16 (to nearest even) in the scaling pass and `row` keeps them
    /// unnormalised; without, `row` gets them. (Two ranges by value, not an array: a call per row
    /// that passes an array retains and releases it.)
    @inlinable @inline(__always)
    public static func softmax(_ row: UnsafeMutablePointer<Float>, columns: Int, visible first: Range<Int>, _ second: Range<Int>,
                               bf16: UnsafeMutablePointer<UInt16>?) {
        let inv = 1 / exponentials(row, columns: columns, visible: first, second)
        guard let bf16 else {
            for i in first { row[i] *= inv }
            for i in second { row[i] *= inv }
            return
        }
        // The scaled row straight to bf16 (masked columns are 0, and stay 0 scaled): one pass, not two;
        // a row not a multiple of 16 long ends with its last 16 columns again (the same values).
        let whole = columns >= 16 ? columns & ~15 : 0
        for i in 0..<whole { bf16[i] = roundedToBF16(row[i] * inv) }
        if whole < columns, columns >= 16 {
            let last = columns &- 16
            for j in 0..<16 { bf16[last &+ j] = roundedToBF16(row[last &+ j] * inv) }
        } else {
            for i in whole..<columns { bf16[i] = roundedToBF16(row[i] * inv) }
        }
    }

    /// The first half of `softmax`: `row[j] = exp(row[j] - max)` over the visible columns (each in
    /// (0, 1], the largest 1), 0 elsewhere; returns their sum, which divides them into probabilities.
    @inlinable @inline(__always)
    public static func exponentials(_ row: UnsafeMutablePointer<Float>, columns: Int, visible first: Range<Int>,
                                    _ second: Range<Int>) -> Float {
        let mx = max(maximum(row, first.lowerBound, first.upperBound), maximum(row, second.lowerBound, second.upperBound))
        // exp of the visible columns (their sums added in order), zeros before, between and after.
        var total: Float = 0
        row.update(repeating: 0, count: first.lowerBound)
        expShifted(row, first, minus: mx)
        total += wideSum(row + first.lowerBound, first.count)
        var covered = first.upperBound
        if !second.isEmpty {
            if second.lowerBound > covered { (row + covered).update(repeating: 0, count: second.lowerBound - covered) }
            expShifted(row, second, minus: mx)
            total += wideSum(row + second.lowerBound, second.count)
            covered = second.upperBound
        }
        if covered < columns { (row + covered).update(repeating: 0, count: columns - covered) }
        return total
    }

    /// `x` rounded to bf16 (to nearest even), as its bit pattern.
    @inlinable @inline(__always)
    static func roundedToBF16(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        return UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    /// QuickGELU after a bias, one row of `n`: `row = y * sigmoid(1.702 y)` with `y = row + bias`.
    @inlinable @inline(__always)
    public static func biasQuickGELU(_ row: UnsafeMutablePointer<Float>, n: Int, bias: UnsafePointer<Float>) {
        for i in 0..<n {
            let y = row[i] + bias[i]
            row[i] = y / (exp(-1.702 * y) + 1)
        }
    }
}
