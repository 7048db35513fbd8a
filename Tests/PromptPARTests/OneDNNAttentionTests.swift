import COneDNN
import Foundation
import Testing
@testable import PromptPAR

/// The attention products of bf16/int8 vision blocks on oneDNN (all heads in one batched matmul, q, k,
/// v read in place) against the OpenBLAS path, one head at a time.
struct OneDNNAttentionTests {
    /// Random `[seq, 3*width]` qkv rows.
    static func qkv(seq: Int, width: Int) -> [Float] {
        var rng = SystemRandomNumberGenerator()
        return (0..<(seq * 3 * width)).map { _ in Float.random(in: -2...2, using: &rng) }
    }

    /// The OpenBLAS attention of `batch` whole sequences of `qkv` rows, one head at a time: `[batch * seq, width]`.
    static func reference(_ qkv: [Float], batch: Int, seq: Int, width: Int, heads: Int, mask: AttentionMask) -> [Float] {
        let headDim = width / heads, scale = 1 / Float(headDim).squareRoot()
        var out = [Float](repeating: 0, count: batch * seq * width), scores = [Float](repeating: 0, count: seq * seq)
        qkv.withUnsafeBufferPointer { q in
            out.withUnsafeMutableBufferPointer { e in
                scores.withUnsafeMutableBufferPointer { s in
                    for b in 0..<batch {
                        Attention.run(qkv: q.baseAddress! + b * seq * 3 * width, seq: seq, width: width, heads: heads, headDim: headDim,
                                      scale: scale, mask: mask, queryRows: 0..<seq, scores: s.baseAddress!, out: e.baseAddress! + b * seq * width)
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: [(0, 33, false), (10, 20, false), (32, 33, false), (0, 33, true), (10, 20, true)])
    func sameOutputsAsOpenBLASOneHeadAtATime(from: Int, to: Int, bf16: Bool) throws {
        // oneDNN 2.6 has bf16 matmuls from AVX-512 on (emulated without AVX512-BF16).
        if bf16 && OneDNN.isaBits & 0x20 == 0 { return }
        let (seq, width, heads) = (33, 128, 2)
        let headDim = width / heads, scale = 1 / Float(headDim).squareRoot()
        let qkv = Self.qkv(seq: seq, width: width)
        // The region-aware mask of the vision encoder (prompts, regions, a 5x5 grid: 8 + 25 = 33 tokens).
        let mask = AttentionMask.visual(prompts: 4, regions: 3, grid: 5)
        #expect(mask.visible.count == seq)
        let rows = from..<to
        var expected = [Float](repeating: 0, count: rows.count * width), got = expected
        var scores = [Float](repeating: 0, count: OneDNNAttention.scratchFloats(seq: seq, width: width, heads: heads))
        qkv.withUnsafeBufferPointer { q in
            scores.withUnsafeMutableBufferPointer { s in
                expected.withUnsafeMutableBufferPointer { e in
                    Attention.run(qkv: q.baseAddress!, seq: seq, width: width, heads: heads, headDim: headDim, scale: scale,
                                  mask: mask, queryRows: rows, scores: s.baseAddress!, out: e.baseAddress!)
                }
                got.withUnsafeMutableBufferPointer { g in
                    #expect(OneDNNAttention.run(qkv: q.baseAddress!, seq: seq, width: width, heads: heads, headDim: headDim, scale: scale,
                                                mask: mask, queryRows: rows, scores: s.baseAddress!, out: g.baseAddress!, bf16: bf16))
                }
            }
        }
        let diff = zip(expected, got).map { abs($0 - $1) }.max() ?? .infinity
        // fp32: the same products summed in another order; bf16: inputs rounded to 8 significant bits
        // (relative 2^-9), outputs of size ~1.
        #expect(diff < (bf16 ? 2e-2 : 1e-5), "max |diff| \(diff)")
        if bf16 { #expect(diff > 0, "bf16 rounding should show") }
        #expect(expected.contains { $0 != 0 })
    }

    /// Whole sequences, one (sequence, head) per thread at a time with one-thread products
    /// (`runBatch`: 2 sequences x 8 heads on two threads), against OpenBLAS one head at a time.
    @Test(arguments: [false, true])
    func batchOfSequencesMatchesOpenBLAS(bf16: Bool) throws {
        if bf16 && OneDNN.isaBits & 0x20 == 0 { return }
        OneDNN.setThreads(2)
        let (batch, seq, width, heads) = (2, 33, 128, 8)
        let headDim = width / heads, scale = 1 / Float(headDim).squareRoot()
        let qkv = Self.qkv(seq: batch * seq, width: width)
        let mask = AttentionMask.visual(prompts: 4, regions: 3, grid: 5)
        let expected = Self.reference(qkv, batch: batch, seq: seq, width: width, heads: heads, mask: mask)
        var got = expected
        qkv.withUnsafeBufferPointer { q in
            got.withUnsafeMutableBufferPointer { g in
                #expect(OneDNNAttention.runBatch(qkv: q.baseAddress!, batch: batch, seq: seq, width: width, heads: heads, headDim: headDim,
                                                 scale: scale, mask: mask, out: g.baseAddress!, bf16: bf16))
            }
        }
        let diff = zip(expected, got).map { abs($0 - $1) }.max() ?? .infinity
        #expect(diff < (bf16 ? 2e-2 : 1e-5), "max |diff| \(diff)")
        #expect(expected.contains { $0 != 0 } && !got.contains { !$0.isFinite })
    }

    /// The int8 products (`runBatchInt8`: q u8, k and v s8 per token and head, the probabilities u8)
    /// against OpenBLAS one head at a time in fp32, with the visual mask, with the weights' range this
    /// ISA allows (7-bit without VNNI).
    @Test func int8BatchIsCloseToFP32() throws {
        guard OneDNN.hasAVX2 else { return }
        OneDNN.setThreads(2)
        let (batch, seq, width, heads) = (2, 33, 128, 8)
        let headDim = width / heads, scale = 1 / Float(headDim).squareRoot()
        let qkv = Self.qkv(seq: batch * seq, width: width)
        let mask = AttentionMask.visual(prompts: 4, regions: 3, grid: 5)
        // q, k, v quantised per (token, head) as the int8 block does it (`PackedQKV8.store`).
        var bytes = [UInt8](repeating: 0xA5, count: OneDNNAttention.PackedQKV8.bytes(batch: batch, seq: seq, heads: heads, headDim: headDim) + 64)
        let expected = Self.reference(qkv, batch: batch, seq: seq, width: width, heads: heads, mask: mask)
        var got = [Float](repeating: .nan, count: batch * seq * width)
        bytes.withUnsafeMutableBytes { raw in
            let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: raw.baseAddress!) + 63) & ~63)!
            let packed = OneDNNAttention.PackedQKV8(aligned, batch: batch, seq: seq, heads: heads, headDim: headDim)
            qkv.withUnsafeBufferPointer { q in
                for r in 0..<(batch * seq) { packed.store(q.baseAddress! + r * 3 * width, row: r, qmax: Int8Quant.weightQMax) }
            }
            got.withUnsafeMutableBufferPointer { g in
                #expect(OneDNNAttention.runBatchInt8(packed, scale: scale, mask: mask, out: g.baseAddress!))
            }
        }
        let diff = zip(expected, got).map { abs($0 - $1) }.max() ?? .infinity
        print("int8 attention (\(OneDNN.isaName), qmax \(Int8Quant.weightQMax)): max |diff| \(diff) on outputs up to \(expected.map(abs).max() ?? 0)")
        // Values in [-2, 2]: q, k and v steps of 4/255 and 2/qmax, the probabilities' 1/255 of the row's largest.
        #expect(diff < 0.06 && diff > 0, "max |diff| \(diff)")
        #expect(!got.contains { !$0.isFinite })
    }

    /// The int8 products are real kernels (u8·s8 brgemm, or gemm:jit on AVX2), not oneDNN's reference code.
    @Test func int8ProductsAreNotOneDNNsReferenceCode() throws {
        guard OneDNN.hasAVX2 else { return }
        let p = try #require(OneDNNAttention.int8Products(seq: 311, m: 311, headDim: 64))
        let names = [p.scores, p.mix].map { prim -> String in
            var pd: const_dnnl_primitive_desc_t?
            guard dnnl_primitive_get_primitive_desc(prim, &pd) == dnnl_success else { return "?" }
            var name: UnsafePointer<CChar>?
            guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "?" }
            return String(cString: name)
        }
        print("oneDNN int8 attention products: \(names)")
        #expect(names.allSatisfy { !$0.hasPrefix("ref") && $0 != "?" }, "\(names)")
    }

    /// oneDNN picks a real kernel for these strided, head-batched products, not its slow reference.
    @Test func theProductsAreNotOneDNNsReferenceCode() {
        let names = OneDNNAttention.implementations(seq: 311, width: 1024, heads: 16)
        print("oneDNN attention products: \(names)")
        #expect(names.count == 2)
        #expect(names.allSatisfy { !$0.hasPrefix("ref") && $0 != "?" }, "\(names)")
    }
}
