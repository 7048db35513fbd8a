import RowKernels

/// `RowKernels` compiled for AVX-512 (x86-64-v4, 512-bit vectors): call only where the CPU has AVX-512
/// F, BW, DQ and VL (`OneDNN.hasAVX512`). The same bits as `RowKernels`.
public enum RowKernelsAVX512 {
    /// `RowKernels.softmax`.
    public static func softmax(_ row: UnsafeMutablePointer<Float>, columns: Int, visible first: Range<Int>, _ second: Range<Int>,
                               bf16: UnsafeMutablePointer<UInt16>?) {
        RowKernels.softmax(row, columns: columns, visible: first, second, bf16: bf16)
    }

    /// `RowKernels.dequantize`.
    public static func dequantize(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                                  columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                  beta: Float, bias: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>) {
        RowKernels.dequantize(acc, n: n, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                              columnSums: columnSums, beta: beta, bias: bias, into: out)
    }

    /// `RowKernels.dequantizeBiasQuickGELU`.
    public static func dequantizeBiasQuickGELU(_ acc: UnsafePointer<Int32>, n: Int, rowScale: Float, rowZero: Int32,
                                               columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                               bias: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) -> (low: Float, high: Float) {
        RowKernels.dequantizeBiasQuickGELU(acc, n: n, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                           columnSums: columnSums, bias: bias, into: out)
    }

    /// `RowKernels.quantize`.
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, into u: UnsafeMutablePointer<UInt8>) -> (scale: Float, zero: Int32) {
        RowKernels.quantize(x, count: count, into: u)
    }

    /// `RowKernels.quantize(_:count:range:into:)`.
    public static func quantize(_ x: UnsafePointer<Float>, count: Int, range: (low: Float, high: Float),
                                into u: UnsafeMutablePointer<UInt8>) -> (scale: Float, zero: Int32) {
        RowKernels.quantize(x, count: count, range: range, into: u)
    }

    /// `RowKernels.biasQuickGELU`.
    public static func biasQuickGELU(_ row: UnsafeMutablePointer<Float>, n: Int, bias: UnsafePointer<Float>) {
        RowKernels.biasQuickGELU(row, n: n, bias: bias)
    }

    /// `RowKernels.copyRows`.
    public static func copyRows(_ from: UnsafePointer<Float>, fromStride: Int, into to: UnsafeMutablePointer<Float>, toStride: Int,
                                rows: Int, length: Int) {
        RowKernels.copyRows(from, fromStride: fromStride, into: to, toStride: toStride, rows: rows, length: length)
    }

    /// `RowKernels.probabilities`.
    public static func probabilities(_ acc: UnsafePointer<Int32>, columns: Int, rowScale: Float, rowZero: Int32,
                                     columnScales: UnsafePointer<Float>, columnSums: UnsafePointer<Int32>,
                                     visible first: Range<Int>, _ second: Range<Int>, valueScales: UnsafePointer<Float>,
                                     row: UnsafeMutablePointer<Float>, into u: UnsafeMutablePointer<UInt8>) -> (step: Float, total: Float) {
        RowKernels.probabilities(acc, columns: columns, rowScale: rowScale, rowZero: rowZero, columnScales: columnScales,
                                 columnSums: columnSums, visible: first, second, valueScales: valueScales, row: row, into: u)
    }

    /// `RowKernels.quantizeSymmetric`.
    public static func quantizeSymmetric(_ x: UnsafePointer<Float>, count: Int, qmax: Int,
                                         into q: UnsafeMutablePointer<Int8>) -> (scale: Float, sum: Int32) {
        RowKernels.quantizeSymmetric(x, count: count, qmax: qmax, into: q)
    }

    /// `RowKernels.quantizeSlices`.
    public static func quantizeSlices(_ x: UnsafePointer<Float>, slices: Int, length: Int, into u: UnsafeMutablePointer<UInt8>,
                                      stride: Int, scales: UnsafeMutablePointer<Float>, zeros: UnsafeMutablePointer<Int32>,
                                      metaStride: Int) {
        RowKernels.quantizeSlices(x, slices: slices, length: length, into: u, stride: stride, scales: scales, zeros: zeros,
                                  metaStride: metaStride)
    }

    /// `RowKernels.quantizeSlicesSymmetric`.
    public static func quantizeSlicesSymmetric(_ x: UnsafePointer<Float>, slices: Int, length: Int, qmax: Int,
                                               into q: UnsafeMutablePointer<Int8>, stride: Int, scales: UnsafeMutablePointer<Float>,
                                               sums: UnsafeMutablePointer<Int32>, metaStride: Int) {
        RowKernels.quantizeSlicesSymmetric(x, slices: slices, length: length, qmax: qmax, into: q, stride: stride, scales: scales,
                                           sums: sums, metaStride: metaStride)
    }
}
