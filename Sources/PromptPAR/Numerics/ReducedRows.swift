import RowKernels
import RowKernelsAVX512

/// The row kernels of the bf16 and int8 paths (`RowKernels`: the attention's softmax, the MLP's
/// QuickGELU, with a fused multiply-add `exp`; quantising and dequantising int8 rows): the AVX-512 build where oneDNN's ISA has AVX-512
/// (`OneDNN.hasAVX512`, so `ONEDNN_MAX_CPU_ISA=AVX2` selects the AVX2 build too), else the AVX2/FMA
/// one. Both give the same bits. The fp32 path keeps `Elementwise` and `Attention.softmaxRow`, so that
/// its results stay byte for byte what they were.
enum ReducedRows {
    /// Whether `RowKernelsAVX512` runs (decided at the first call).
    static let avx512 = OneDNN.hasAVX512

    /// `RowKernels.softmax`: one row of `columns` over its visible ranges (`AttentionMask.pairs`: the
    /// first, then the second, which may be empty), masked columns 0; with `bf16`, the probabilities go
    /// there and `row` keeps them unnormalised.
    @inline(__always)
    static func softmax(_ row: UnsafeMutablePointer<Float>, columns: Int, visible first: Range<Int>, _ second: Range<Int>,
                        bf16: UnsafeMutablePointer<UInt16>?, avx512: Bool = ReducedRows.avx512) {
        if avx512 {
            RowKernelsAVX512.softmax(row, columns: columns, visible: first, second, bf16: bf16)
        } else {
            RowKernels.softmax(row, columns: columns, visible: first, second, bf16: bf16)
        }
    }

    /// `RowKernels.dequantize`: a row of int32 products back to floats, `out = beta * out + y (+ bias)`.
    @inline(__always)
    static func dequantize(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                           columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                           beta: Float, bias: UnsafePointer<Float>? = nil, into out: UnsafeMutablePointer<Float>,
                           avx512: Bool = ReducedRows.avx512) {
        if avx512 {
            RowKernelsAVX512.dequantize(acc, n: n, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                        columnSums: columnSums, beta: beta, bias: bias, into: out)
        } else {
            RowKernels.dequantize(acc, n: n, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                  columnSums: columnSums, beta: beta, bias: bias, into: out)
        }
    }

    /// `RowKernels.dequantizeBiasQuickGELU`: a row of fc1's int32 products through bias and QuickGELU
    /// (`n` a multiple of 64), returning the row's range for `quantize(_:count:range:into:)`.
    @inline(__always)
    static func dequantizeBiasQuickGELU(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                                        columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                        bias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                        avx512: Bool = ReducedRows.avx512) -> (low: Float, high: Float) {
        avx512
            ? RowKernelsAVX512.dequantizeBiasQuickGELU(acc, n: n, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                                       columnSums: columnSums, bias: bias, into: out)
            : RowKernels.dequantizeBiasQuickGELU(acc, n: n, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                                 columnSums: columnSums, bias: bias, into: out)
    }

    /// `RowKernels.quantize` of a row whose range is known.
    @inline(__always)
    static func quantize(_ x: UnsafePointer<Float>, count: Int, range: (low: Float, high: Float), into u: UnsafeMutablePointer<UInt8>,
                         avx512: Bool = ReducedRows.avx512) -> (scale: Float, zero: Int32) {
        avx512 ? RowKernelsAVX512.quantize(x, count: count, range: range, into: u)
            : RowKernels.quantize(x, count: count, range: range, into: u)
    }

    /// `RowKernels.quantize`: `count` floats to u8 with their own scale and zero point.
    @inline(__always)
    static func quantize(_ x: UnsafePointer<Float>, count: Int, into u: UnsafeMutablePointer<UInt8>,
                         avx512: Bool = ReducedRows.avx512) -> (scale: Float, zero: Int32) {
        avx512 ? RowKernelsAVX512.quantize(x, count: count, into: u) : RowKernels.quantize(x, count: count, into: u)
    }

    /// `RowKernels.biasQuickGELU` on `rows` rows of `n`: `x = y * sigmoid(1.702 y)`, `y = x + bias`.
    @inline(__always)
    static func biasQuickGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>,
                              avx512: Bool = ReducedRows.avx512) {
        for r in 0..<rows {
            if avx512 {
                RowKernelsAVX512.biasQuickGELU(x + r * n, n: n, bias: bias)
            } else {
                RowKernels.biasQuickGELU(x + r * n, n: n, bias: bias)
            }
        }
    }

    /// `RowKernels.copyRows`: `rows` runs of `length` floats from `fromStride` apart to `toStride` apart.
    @inline(__always)
    static func copyRows(_ from: UnsafePointer<Float>, fromStride: Int, into to: UnsafeMutablePointer<Float>, toStride: Int,
                         rows: Int, length: Int, avx512: Bool = ReducedRows.avx512) {
        if avx512 {
            RowKernelsAVX512.copyRows(from, fromStride: fromStride, into: to, toStride: toStride, rows: rows, length: length)
        } else {
            RowKernels.copyRows(from, fromStride: fromStride, into: to, toStride: toStride, rows: rows, length: length)
        }
    }

    /// `RowKernels.quantizeSymmetric`: a row to s8 with its own scale, and the sum of its values.
    @inline(__always)
    static func quantizeSymmetric(_ x: UnsafePointer<Float>, count: Int, qmax: Int, into q: UnsafeMutablePointer<Int8>,
                                  avx512: Bool = ReducedRows.avx512) -> (scale: Float, sum: Int32) {
        avx512 ? RowKernelsAVX512.quantizeSymmetric(x, count: count, qmax: qmax, into: q)
            : RowKernels.quantizeSymmetric(x, count: count, qmax: qmax, into: q)
    }

    /// `RowKernels.quantizeSlices`: one token's q of every head to u8.
    @inline(__always)
    static func quantizeSlices(_ x: UnsafePointer<Float>, slices: Int, length: Int, into u: UnsafeMutablePointer<UInt8>, stride: Int,
                               scales: UnsafeMutablePointer<Float>, zeros: UnsafeMutablePointer<Int32>, metaStride: Int,
                               avx512: Bool = ReducedRows.avx512) {
        if avx512 {
            RowKernelsAVX512.quantizeSlices(x, slices: slices, length: length, into: u, stride: stride, scales: scales, zeros: zeros,
                                            metaStride: metaStride)
        } else {
            RowKernels.quantizeSlices(x, slices: slices, length: length, into: u, stride: stride, scales: scales, zeros: zeros,
                                      metaStride: metaStride)
        }
    }

    /// `RowKernels.quantizeSlicesSymmetric`: one token's k and v of every head to s8.
    @inline(__always)
    static func quantizeSlicesSymmetric(_ x: UnsafePointer<Float>, slices: Int, length: Int, qmax: Int, into q: UnsafeMutablePointer<Int8>,
                                        stride: Int, scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Int32>,
                                        metaStride: Int, avx512: Bool = ReducedRows.avx512) {
        if avx512 {
            RowKernelsAVX512.quantizeSlicesSymmetric(x, slices: slices, length: length, qmax: qmax, into: q, stride: stride,
                                                     scales: scales, sums: sums, metaStride: metaStride)
        } else {
            RowKernels.quantizeSlicesSymmetric(x, slices: slices, length: length, qmax: qmax, into: q, stride: stride,
                                               scales: scales, sums: sums, metaStride: metaStride)
        }
    }

    /// `RowKernels.probabilities`: a row of the int8 attention's scores to u8 probabilities (the step
    /// of their values, the exponentials' sum).
    @inline(__always)
    static func probabilities(_ acc: UnsafePointer<Int32>, columns: Int, rowScale: Float, rowZero: Int32,
                              columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                              visible first: Range<Int>, _ second: Range<Int>, valueScales: UnsafePointer<Float>,
                              row: UnsafeMutablePointer<Float>, into u: UnsafeMutablePointer<UInt8>,
                              avx512: Bool = ReducedRows.avx512) -> (step: Float, total: Float) {
        avx512
            ? RowKernelsAVX512.probabilities(acc, columns: columns, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                             columnSums: columnSums, visible: first, second, valueScales: valueScales, row: row, into: u)
            : RowKernels.probabilities(acc, columns: columns, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                       columnSums: columnSums, visible: first, second, valueScales: valueScales, row: row, into: u)
    }
}
