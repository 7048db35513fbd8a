import Foundation
import RowKernels
import Testing
@testable import PromptPAR

/// The bf16 and int8 paths' row kernels (`ReducedRows`): accuracy, and the AVX-512 build giving the
/// AVX2 build's bits. `ReducedPrecisionTests.everyISAPathPasses` runs the models with each build too
/// (`ONEDNN_MAX_CPU_ISA=AVX2` selects the AVX2 one).
@Suite struct RowKernelsTests {
    /// The builds this CPU can run: AVX2 always, AVX-512 where it has it.
    static var builds: [Bool] { OneDNN.hasAVX512 ? [false, true] : [false] }

    /// A row's visible ranges as the reduced paths' softmax takes them (`AttentionMask.pairs`).
    static func pair(_ visible: [Range<Int>]) -> (Range<Int>, Range<Int>) {
        let mask = AttentionMask(visible: [visible], columns: visible.last?.upperBound ?? 0)
        return (mask.pairs[0], mask.pairs[1])
    }

    /// The softmax that writes bf16 probabilities gives bit for bit its fp32 probabilities rounded by
    /// `BF16.convert`, masked columns 0; and within 1e-6 of the fp32 path's `Attention.softmaxRow`.
    @Test(arguments: builds) func softmaxToBF16MatchesSoftmaxThenConversion(avx512: Bool) {
        let columns = 45
        let visible = [2..<9, 20..<44], v = Self.pair(visible)
        let x = (0..<columns).map { Float(sin(Double($0) * 1.7)) * 6 }
        var plain = x, fused = x, reference = x
        var want = [UInt16](repeating: 1, count: columns), got = [UInt16](repeating: 1, count: columns)
        plain.withUnsafeMutableBufferPointer { p in
            ReducedRows.softmax(p.baseAddress!, columns: columns, visible: v.0, v.1, bf16: nil, avx512: avx512)
            want.withUnsafeMutableBufferPointer { BF16.convert(p.baseAddress!, count: columns, into: $0.baseAddress!) }
        }
        fused.withUnsafeMutableBufferPointer { f in
            got.withUnsafeMutableBufferPointer {
                ReducedRows.softmax(f.baseAddress!, columns: columns, visible: v.0, v.1, bf16: $0.baseAddress!, avx512: avx512)
            }
        }
        #expect(got == want)
        #expect(got[0] == 0 && got[12] == 0 && got[44] == 0 && got[3] != 0)
        reference.withUnsafeMutableBufferPointer { Attention.softmaxRow($0.baseAddress!, columns: columns, visible: visible) }
        for (a, b) in zip(plain, reference) { #expect(abs(a - b) <= 1e-6) }
    }

    @Test(arguments: builds) func quickGELUMatchesReference(avx512: Bool) {
        let n = 37
        var x = (0..<(2 * n)).map { Float($0 - n) * 0.31 }
        let bias = (0..<n).map { Float($0) * 0.01 }
        let expected = x.enumerated().map { Reference.quickGELU($0.element + bias[$0.offset % n]) }
        x.withUnsafeMutableBufferPointer { xb in
            bias.withUnsafeBufferPointer { ReducedRows.biasQuickGELU(xb.baseAddress!, rows: 2, n: n, bias: $0.baseAddress!, avx512: avx512) }
        }
        for (a, b) in zip(x, expected) { #expect(abs(a - b) < 1e-5 * max(1, abs(b))) }
    }

    /// Rows the attention has (311 columns: 19 vectors and 7 more), masked ones, short ones.
    static let rows: [(columns: Int, visible: [Range<Int>])] = [
        (311, [0..<311]), (311, [0..<50, 61..<311]), (45, [2..<9, 20..<44]), (7, [0..<7]), (17, [3..<4]), (64, [0..<32, 32..<64]),
        (40, [0..<16, 17..<33]),
    ]

    /// Within 1e-6 of the fp32 path's softmax (`Attention.softmaxRow`, another `exp`), masked columns 0,
    /// on every row shape (whole vectors, the last 16 values computed first, short ranges value by value).
    @Test(arguments: builds) func softmaxMatchesTheFP32Path(avx512: Bool) {
        var rng = SplitMix(seed: 5)
        for (columns, visible) in Self.rows {
            let x = (0..<columns).map { _ in rng.float(in: -30...30) }
            var got = x, want = x
            let v = Self.pair(visible)
            got.withUnsafeMutableBufferPointer { ReducedRows.softmax($0.baseAddress!, columns: columns, visible: v.0, v.1, bf16: nil, avx512: avx512) }
            want.withUnsafeMutableBufferPointer { Attention.softmaxRow($0.baseAddress!, columns: columns, visible: visible) }
            for c in 0..<columns {
                #expect(abs(got[c] - want[c]) <= 1e-6, "column \(c) of \(columns), visible \(visible)")
                if !visible.contains(where: { $0.contains(c) }) { #expect(got[c] == 0) }
            }
            #expect(abs(got.reduce(0, +) - 1) < 1e-5)
        }
    }

    /// `maximum` (its last 16 values as one overlapping vector, its lanes halved) gives the running
    /// scalar maximum on every length and offset, NaNs ignored, -greatestFiniteMagnitude when empty.
    @Test func maximumIsTheScalarMaximum() {
        var rng = SplitMix(seed: 21)
        let x = (0..<80).map { _ in rng.float(in: -50...50) }
        for lo in [0, 1, 5, 16] {
            for hi in lo...80 {
                var want = -Float.greatestFiniteMagnitude
                for i in lo..<hi where x[i] > want { want = x[i] }
                let got = x.withUnsafeBufferPointer { RowKernels.maximum($0.baseAddress!, lo, hi) }
                #expect(got == want, "maximum of \(lo)..<\(hi)")
            }
        }
        var nan = x
        nan[3] = .nan; nan[70] = .nan
        let m = nan.withUnsafeBufferPointer { RowKernels.maximum($0.baseAddress!, 0, 80) }
        #expect(m == x.enumerated().filter { $0.offset != 3 && $0.offset != 70 }.map(\.element).max())
    }

    /// `largest` and `smallest` (a reduction of order-keeping integers) are the lanes' maximum and
    /// minimum: random lanes of both signs, infinities, the extremes, subnormals and zeros.
    @Test func lanesReduceToTheirMaximumAndMinimum() {
        var rng = SplitMix(seed: 33)
        let specials: [Float] = [.infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 0, -0.0, 1, -1]
        for trial in 0..<500 {
            var v = SIMD16<Float>()
            for l in 0..<16 { v[l] = trial % 3 == 0 ? specials[Int(rng.float(in: 0...9.99))] : rng.float(in: -1e6...1e6) }
            let lanes = (0..<16).map { v[$0] }
            let top = RowKernels.largest(v), bottom = RowKernels.smallest(v)
            #expect(top == lanes.max() && lanes.contains { $0.bitPattern == top.bitPattern }, "largest of \(lanes)")
            #expect(bottom == lanes.min() && lanes.contains { $0.bitPattern == bottom.bitPattern }, "smallest of \(lanes)")
        }
    }

    /// The fused epilogues give the bits of the steps they replace, in both builds: `dequantize` with a
    /// bias is `dequantize` then `addBias` (with `beta` 0 and 1); `dequantizeBiasQuickGELU` then
    /// `quantize(range:)` is `dequantize`, `biasQuickGELU`, `quantize` (row, range, scale, zero point,
    /// bytes), on rows of 64 and 4096 values with extremes.
    @Test(arguments: builds) func fusedEpiloguesGiveTheStepsBits(avx512: Bool) {
        var rng = SplitMix(seed: 17)
        for n in [64, 4096] {
            let acc = (0..<n).map { _ in Int32(rng.next() % 2_000_000) - 1_000_000 }
            var sums = (0..<n).map { _ in Int32(rng.next() % 20_000) - 10_000 }
            let scales = (0..<n).map { _ in rng.float(in: 0.0001...0.001) }
            var bias = (0..<n).map { _ in rng.float(in: -2...2) }
            sums[1] = 2_000_000; bias[2] = -1e4; bias[3] = 1e4
            for beta: Float in [0, 1] {
                let start = (0..<n).map { _ in rng.float(in: -3...3) }
                var fused = start, steps = start
                fused.withUnsafeMutableBufferPointer { f in
                    bias.withUnsafeBufferPointer {
                        ReducedRows.dequantize(acc, n: n, rowScale: 0.03, rowZero: 9, columnScales: scales, columnSums: sums, beta: beta,
                                               bias: $0.baseAddress!, into: f.baseAddress!, avx512: avx512)
                    }
                }
                steps.withUnsafeMutableBufferPointer { s in
                    ReducedRows.dequantize(acc, n: n, rowScale: 0.03, rowZero: 9, columnScales: scales, columnSums: sums, beta: beta,
                                           into: s.baseAddress!, avx512: avx512)
                    bias.withUnsafeBufferPointer { Elementwise.addBias(s.baseAddress!, rows: 1, n: n, bias: $0.baseAddress!) }
                }
                #expect(fused.map(\.bitPattern) == steps.map(\.bitPattern), "dequantize with bias, \(n) values, beta \(beta)")
            }
            var fusedRow = [Float](repeating: 0, count: n), stepRow = fusedRow
            var fusedBytes = [UInt8](repeating: 0, count: n), stepBytes = fusedBytes
            let range = fusedRow.withUnsafeMutableBufferPointer { f in
                bias.withUnsafeBufferPointer {
                    ReducedRows.dequantizeBiasQuickGELU(acc, n: n, rowScale: 0.03, rowZero: 9, columnScales: scales, columnSums: sums,
                                                        bias: $0.baseAddress!, into: f.baseAddress!, avx512: avx512)
                }
            }
            let fusedQ = fusedRow.withUnsafeBufferPointer { f in
                fusedBytes.withUnsafeMutableBufferPointer { ReducedRows.quantize(f.baseAddress!, count: n, range: range, into: $0.baseAddress!, avx512: avx512) }
            }
            stepRow.withUnsafeMutableBufferPointer { s in
                ReducedRows.dequantize(acc, n: n, rowScale: 0.03, rowZero: 9, columnScales: scales, columnSums: sums, beta: 0,
                                       into: s.baseAddress!, avx512: avx512)
                bias.withUnsafeBufferPointer { ReducedRows.biasQuickGELU(s.baseAddress!, rows: 1, n: n, bias: $0.baseAddress!, avx512: avx512) }
            }
            let stepRange = stepRow.withUnsafeBufferPointer { RowKernels.range($0.baseAddress!, count: n) }
            let stepQ = stepRow.withUnsafeBufferPointer { s in
                stepBytes.withUnsafeMutableBufferPointer { ReducedRows.quantize(s.baseAddress!, count: n, into: $0.baseAddress!, avx512: avx512) }
            }
            #expect(fusedRow.map(\.bitPattern) == stepRow.map(\.bitPattern), "dequantize + QuickGELU, \(n) values")
            #expect(range == stepRange && fusedQ == stepQ && fusedBytes == stepBytes, "quantised GELU rows, \(n) values")
            #expect(range.low < 0 && range.high >= 1e4 * 0.99, "the extremes are in the range")
        }
    }

    /// The int8 attention's probabilities (`RowKernels.probabilities`, with its own `exp2`) against the
    /// steps they stand for (dequantise, `exponentials`, times the value scales, quantise): the sum and
    /// the u8 step within 1e-5 relative, every u8 value within 1 (the rounding of a value on the edge),
    /// masked columns 0; for rows of the attention's length (311) and odd ones, masked and not. Both
    /// builds give the same bits.
    @Test func probabilitiesMatchTheSteps() {
        var rng = SplitMix(seed: 23)
        for (columns, visible) in Self.rows {
            let v = Self.pair(visible)
            let acc = (0..<columns).map { _ in Int32(rng.next() % 2_000_000) - 1_000_000 }
            let sums = (0..<columns).map { _ in Int32(rng.next() % 20_000) - 10_000 }
            let kScales = (0..<columns).map { _ in rng.float(in: 0.000001...0.00002) }
            let vScales = (0..<columns).map { _ in rng.float(in: 0.001...0.02) }
            var results: [(bytes: [UInt8], step: Float, total: Float)] = []
            for avx512 in Self.builds {
                var row = [Float](repeating: .nan, count: columns), bytes = [UInt8](repeating: 7, count: columns)
                let (step, total) = row.withUnsafeMutableBufferPointer { r in
                    bytes.withUnsafeMutableBufferPointer { u in
                        ReducedRows.probabilities(acc, columns: columns, rowScale: 0.7, rowZero: 3, columnScales: kScales,
                                                  columnSums: sums, visible: v.0, v.1, valueScales: vScales, row: r.baseAddress!,
                                                  into: u.baseAddress!, avx512: avx512)
                    }
                }
                results.append((bytes, step, total))
            }
            var stepRow = [Float](repeating: .nan, count: columns), stepBytes = [UInt8](repeating: 7, count: columns)
            let (step, total) = stepRow.withUnsafeMutableBufferPointer { r -> (Float, Float) in
                ReducedRows.dequantize(acc, n: columns, rowScale: 0.7, rowZero: 3, columnScales: kScales, columnSums: sums, beta: 0,
                                       into: r.baseAddress!, avx512: false)
                let total = RowKernels.exponentials(r.baseAddress!, columns: columns, visible: v.0, v.1)
                for j in 0..<columns { r[j] *= vScales[j] }
                let (step, zero) = stepBytes.withUnsafeMutableBufferPointer {
                    ReducedRows.quantize(r.baseAddress!, count: columns, into: $0.baseAddress!, avx512: false)
                }
                #expect(zero == 0, "probabilities quantise with zero point 0")
                return (step, total)
            }
            let got = results[0], what = "\(columns) columns \(visible)"
            #expect(abs(got.step - step) <= 1e-5 * step && abs(got.total - total) <= 1e-5 * total,
                    "\(what): step \(got.step) vs \(step), total \(got.total) vs \(total)")
            let worst = zip(got.bytes, stepBytes).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= 1, "\(what): u8 probabilities up to \(worst) apart")
            let masked = (0..<columns).filter { !v.0.contains($0) && !v.1.contains($0) }
            #expect(masked.allSatisfy { got.bytes[$0] == 0 } && got.bytes.contains(255), "\(what): masked 0, largest 255")
            if results.count == 2 {
                #expect(results[0].bytes == results[1].bytes && results[0].step.bitPattern == results[1].step.bitPattern
                        && results[0].total.bitPattern == results[1].total.bitPattern, "\(what): the builds differ")
            }
        }
    }

    /// `exp2(nonPositive:)` within 1e-5 relative of `exp2` over [-125, 0] (5.3e-6 measured: the fit's 2.8e-6 and float
    /// rounding), and 2^-125 below.
    @Test func exp2OfNonPositiveValues() {
        var worst: Double = 0
        for i in 0...250_000 {
            let t = -Float(i) * 0.0005
            worst = max(worst, abs(Double(RowKernels.exp2(nonPositive: t)) / Foundation.exp2(Double(t)) - 1))
        }
        #expect(worst < 1e-5, "max relative error \(worst)")
        #expect(RowKernels.exp2(nonPositive: -1000) == Float(Foundation.exp2(-125.0)) && RowKernels.exp2(nonPositive: 0) == 1)
    }

    /// The AVX-512 build gives the AVX2 build's bits: rows of the attention's length (311) and odd ones,
    /// masked and not, both outputs; QuickGELU over 4096 values with extremes (±1e4, ±0, subnormals).
    @Test(.enabled(if: OneDNN.hasAVX512, "this CPU has no AVX-512: only the AVX2 build can run"))
    func avx512BuildGivesTheAVX2Bits() {
        var rng = SplitMix(seed: 11)
        for (columns, visible) in Self.rows {
            let x = (0..<columns).map { _ in rng.float(in: -30...30) }
            let v = Self.pair(visible)
            for toBF16 in [false, true] {
                var outputs: [([Float], [UInt16])] = []
                for avx512 in [false, true] {
                    var row = x, bf16 = [UInt16](repeating: 7, count: columns)
                    row.withUnsafeMutableBufferPointer { r in
                        bf16.withUnsafeMutableBufferPointer { b in
                            ReducedRows.softmax(r.baseAddress!, columns: columns, visible: v.0, v.1, bf16: toBF16 ? b.baseAddress! : nil, avx512: avx512)
                        }
                    }
                    outputs.append((row, bf16))
                }
                #expect(outputs[0].0.map(\.bitPattern) == outputs[1].0.map(\.bitPattern), "softmax of \(columns), bf16 \(toBF16)")
                #expect(outputs[0].1 == outputs[1].1, "softmax of \(columns) to bf16")
            }
        }
        let n = 4096
        var x = (0..<n).map { _ in rng.float(in: -12...12) }
        x[0] = 1e4; x[1] = -1e4; x[2] = 0; x[3] = -0.0; x[4] = .leastNonzeroMagnitude; x[5] = 80; x[6] = -60
        let bias = (0..<n).map { _ in rng.float(in: -1...1) }
        var outputs: [[UInt32]] = []
        for avx512 in [false, true] {
            var row = x
            row.withUnsafeMutableBufferPointer { r in
                bias.withUnsafeBufferPointer { ReducedRows.biasQuickGELU(r.baseAddress!, rows: 1, n: n, bias: $0.baseAddress!, avx512: avx512) }
            }
            outputs.append(row.map(\.bitPattern))
        }
        #expect(outputs[0] == outputs[1])
    }
}
