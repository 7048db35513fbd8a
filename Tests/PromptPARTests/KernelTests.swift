import Foundation
import RowKernels
import Testing
@testable import PromptPAR

@Suite struct KernelTests {
    /// The fp32 path's `exp` and the reduced paths' (fused multiply-adds): as accurate, clamped alike.
    @Test(arguments: [false, true]) func fastExpMatchesFoundation(fused: Bool) {
        let exp = { (x: Float) -> Float in fused ? RowKernels.exp(x) : Elementwise.exp(x) }
        var worst: Float = 0
        var x: Float = -80
        while x < 80 {
            let rel = abs(exp(x) - Foundation.exp(x)) / Foundation.exp(x)
            worst = max(worst, rel)
            x += 0.0137
        }
        #expect(worst < 3e-7, "max relative error \(worst)")
        #expect(exp(-1000) > 0 && exp(-1000) < 1e-37)
        #expect(exp(1000).isFinite && exp(1000) > 1e38)
        #expect(exp(0) == 1)
    }

    @Test func quickGELUMatchesReference() {
        let n = 37
        var x = (0..<(2 * n)).map { Float($0 - n) * 0.31 }
        let bias = (0..<n).map { Float($0) * 0.01 }
        let expected = x.enumerated().map { Reference.quickGELU($0.element + bias[$0.offset % n]) }
        x.withUnsafeMutableBufferPointer { xb in
            bias.withUnsafeBufferPointer { Elementwise.biasQuickGELU(xb.baseAddress!, rows: 2, n: n, bias: $0.baseAddress!) }
        }
        for (a, b) in zip(x, expected) { #expect(abs(a - b) < 1e-5 * max(1, abs(b))) }
    }

    @Test func layerNormMatchesTwoPassDouble() {
        let n = 45
        let x = (0..<n).map { Float(sin(Double($0))) * 3 + 1 }
        let gamma = (0..<n).map { 1 + Float($0) * 0.01 }, beta = (0..<n).map { Float($0) * -0.02 }
        var out = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xb in out.withUnsafeMutableBufferPointer { ob in
            gamma.withUnsafeBufferPointer { g in beta.withUnsafeBufferPointer { b in
                Elementwise.layerNorm(xb.baseAddress!, ldx: n, rows: 1, n: n, gamma: g.baseAddress!, beta: b.baseAddress!,
                                      eps: 1e-5, out: ob.baseAddress!, ldo: n)
            }}
        }}
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
        for i in 0..<n {
            let ref = (Double(x[i]) - mean) / (variance + 1e-5).squareRoot() * Double(gamma[i]) + Double(beta[i])
            #expect(abs(Double(out[i]) - ref) < 1e-5)
        }
    }

    /// The official `build_visual_mask`, transcribed loop for loop (it hard-codes the band starts for
    /// G = 16, D = 4), as the reference for `AttentionMask.visual`.
    func officialVisualMask(prompts: Int) -> [Float] {
        let divNum = 4, grid = 16, overlapRow = 2
        let p = prompts / (divNum + 1)
        let prefixLen = prompts + 5, length = prefixLen + grid * grid
        let base = grid / divNum + overlapRow / 2
        let partRows = (0..<divNum).map { $0 != 0 && $0 != divNum - 1 ? base + overlapRow / 2 : base }
        let partNum = partRows.map { $0 * grid }
        let starts = [prefixLen, prefixLen + 48, prefixLen + 112, prefixLen + 176]
        let every = 1 + p
        var mask = [Float](repeating: 0, count: length * length)
        for row in (1 + p)..<prefixLen {
            let part = row / every
            let open = Set(starts[part - 1]..<(starts[part - 1] + partNum[part - 1]))
            for c in 0..<length {
                let masked = c < part * every || (c >= (part + 1) * every && c < prefixLen) || (c >= prefixLen && !open.contains(c))
                if masked { mask[row * length + c] = -.infinity }
            }
        }
        return mask
    }

    @Test(arguments: [50, 25, 5])
    func visualMaskMatchesOfficialConstruction(prompts: Int) {
        let mask = AttentionMask.visual(prompts: prompts, regions: 4, grid: 16)
        #expect(mask.columns == prompts + 5 + 256)
        #expect(mask.additive() == officialVisualMask(prompts: prompts))
    }

    @Test func causalMask() {
        let m = AttentionMask.causal(3).additive()
        #expect(m == [0, -.infinity, -.infinity, 0, 0, -.infinity, 0, 0, 0])
    }

    @Test func attentionMatchesNaiveComputation() {
        // One sequence of 5 tokens, width 4, 2 heads of 2, causal mask.
        let seq = 5, w = 4, heads = 2, d = 2
        let qkv = (0..<(seq * 3 * w)).map { Float(sin(Double($0) * 0.7)) }
        var out = [Float](repeating: 0, count: seq * w)
        var scores = [Float](repeating: 0, count: seq * seq)
        let mask = AttentionMask.causal(seq)
        qkv.withUnsafeBufferPointer { q in scores.withUnsafeMutableBufferPointer { s in out.withUnsafeMutableBufferPointer { o in
            Attention.run(qkv: q.baseAddress!, seq: seq, width: w, heads: heads, headDim: d, scale: 0.5, mask: mask,
                          queryRows: 0..<seq, scores: s.baseAddress!, out: o.baseAddress!)
        }}}
        for h in 0..<heads {
            for r in 0..<seq {
                var logits = [Double]()
                for c in 0...r {
                    var dot = 0.0
                    for k in 0..<d { dot += Double(qkv[r * 3 * w + h * d + k]) * Double(qkv[c * 3 * w + w + h * d + k]) }
                    logits.append(dot * 0.5)
                }
                let mx = logits.max()!
                let e = logits.map { Foundation.exp($0 - mx) }
                let z = e.reduce(0, +)
                for k in 0..<d {
                    var v = 0.0
                    for c in 0...r { v += e[c] / z * Double(qkv[c * 3 * w + 2 * w + h * d + k]) }
                    #expect(abs(Double(out[r * w + h * d + k]) - v) < 1e-5)
                }
            }
        }
    }
}
