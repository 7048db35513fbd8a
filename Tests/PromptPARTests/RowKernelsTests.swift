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
