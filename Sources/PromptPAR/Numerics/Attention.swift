/// Scaled dot-product attention over a packed `qkv` buffer, one image (sequence) at a time.
enum Attention {
    /// For one sequence: `out[r, h*d ..< (h+1)*d] = softmax(q_h[r] · k_hᵀ * scale + mask) · v_h` for every
    /// query row `r` in `queryRows` and head `h`.
    /// - Parameters:
    ///   - qkv: `[seq, 3*width]` row-major: q, k, v stacked along columns (PyTorch's `in_proj` / timm's
    ///     `qkv` layout), head `h` at columns `h*d ..< (h+1)*d` of each.
    ///   - out: `[queryRows.count, width]`, row `i` for query row `queryRows.lowerBound + i`.
    ///   - scores: scratch of at least `queryRows.count * seq` floats.
    static func run(qkv: UnsafePointer<Float>, seq: Int, width: Int, heads: Int, headDim: Int, scale: Float,
                    mask: AttentionMask, queryRows: Range<Int>,
                    scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let ld = 3 * width
        let m = queryRows.count
        for h in 0..<heads {
            let q = qkv + queryRows.lowerBound * ld + h * headDim
            let k = qkv + width + h * headDim
            let v = qkv + 2 * width + h * headDim
            // scores[m, seq] = q · kᵀ * scale
            GEMM.abT(m: m, n: seq, k: headDim, alpha: scale, a: q, lda: ld, b: k, ldb: ld,
                     beta: 0, c: scores, ldc: seq)
            for i in 0..<m {
                softmaxRow(scores + i * seq, columns: seq, visible: mask.visible[queryRows.lowerBound + i])
            }
            // out[m, d] = scores · v
            GEMM.ab(m: m, n: headDim, k: seq, a: scores, lda: seq, b: v, ldb: ld,
                    beta: 0, c: out + h * headDim, ldc: width)
        }
    }

    /// Softmax of one row over its visible ranges; masked columns become 0 (the fp32 path; the
    /// reduced ones use `ReducedRows.softmax`).
    @inline(__always)
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, columns: Int, visible: [Range<Int>]) {
        var mx = -Float.greatestFiniteMagnitude
        for range in visible { mx = max(mx, Elementwise.maximum(row, range.lowerBound, range.upperBound)) }
        var sum: Float = 0
        var covered = 0
        for range in visible {
            // zero the gap before this range
            if range.lowerBound > covered { (row + covered).update(repeating: 0, count: range.lowerBound - covered) }
            sum += Elementwise.expShifted(row, range.lowerBound, range.upperBound, minus: mx)
            covered = range.upperBound
        }
        if covered < columns { (row + covered).update(repeating: 0, count: columns - covered) }
        let inv = 1 / sum
        for range in visible { Elementwise.scale(row, range.lowerBound, range.upperBound, by: inv) }
    }
}
