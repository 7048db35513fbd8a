import Foundation
import PardTestSupport
import Testing
@testable import PromptPAR

/// `--fp32-layers` / `model.fp32_layers`: the list's grammar, and that the named layers (and only
/// those) really stay fp32 in a bf16 or int8 model.
struct FullPrecisionLayersTests {
    @Test func grammar() throws {
        let all = try FullPrecisionLayers(parsing: " c_proj, fc1 ,first,last.qkv, 3 ,in_proj,,")
        #expect(all.description == "c_proj,c_fc,first,last.qkv,3,qkv")
        #expect(all.keeps(.cProj, block: 7, of: 24))
        #expect(all.keeps(.outProj, block: 0, of: 24))
        #expect(!all.keeps(.outProj, block: 1, of: 24))
        #expect(all.keeps(.qkv, block: 23, of: 24))
        #expect(all.keeps(.outProj, block: 3, of: 24))
        #expect(!all.keeps(.outProj, block: 23, of: 24))
        #expect(try FullPrecisionLayers(parsing: "").items.isEmpty)
        #expect(try FullPrecisionLayers(parsing: "23.fc2").keeps(.cProj, block: 23, of: 24))
        let outer = try FullPrecisionLayers(parsing: "fusion, c_proj,patch_embed")
        #expect(outer.description == "c_proj,fusion,patch_embed" && outer.keeps(.fusion) && outer.keeps(.patchEmbed) && !outer.keeps(.proj))
        #expect(!outer.isEmpty && FullPrecisionLayers.none.isEmpty && !all.keeps(.fusion))
    }

    @Test(arguments: ["fc3", "first.", ".qkv", "1.2.qkv", "-1", "middle", "c_proj.3", "99999999999999999999", "3.fusion", "proj.qkv"])
    func badItemsAreNamed(_ text: String) {
        #expect {
            try FullPrecisionLayers(parsing: "c_proj,\(text)")
        } throws: { error in
            "\(error)".contains("\"\(text)\"")
        }
    }

    @Test func aBlockPastTheLastIsRefusedAtLoad() throws {
        let g = Golden.tiny
        let blocks = try #require(try PromptPARModel(source: g.source(), tokens: g.tokenIDs()).config.visionLayers as Int?)
        #expect {
            try PromptPARModel(source: g.source(), tokens: g.tokenIDs(), precision: .int8,
                               fullPrecision: try FullPrecisionLayers(parsing: "\(blocks).qkv"))
        } throws: { error in
            "\(error)".contains("block \(blocks) does not exist")
        }
    }

    /// Which of the vision blocks' layers hold reduced weights.
    static func reducedMap(_ model: PromptPARModel) -> [[Bool]] {
        // Kept layers are fp32: OpenBLAS's, or oneDNN's (`ReducedKind.f32`) where the fp32 model uses it.
        model.vision.blocks.map { b in [b.qkv, b.attnOut, b.fc1, b.fc2].map { $0.reduced.map { $0.kind != .f32 } ?? false } }
    }

    @Test func theNamedLayersStayFP32AndTheOthersDoNot() throws {
        let g = Golden.tiny
        let kept = try FullPrecisionLayers(parsing: "c_proj,first")
        let model = try PromptPARModel(source: g.source(), tokens: g.tokenIDs(), precision: .int8, fullPrecision: kept)
        let map = Self.reducedMap(model)
        #expect(map.count >= 2)
        #expect(map[0] == [false, false, false, false])
        for row in map.dropFirst() { #expect(row == [true, true, true, false]) }
        #expect(model.arithmetic(requested: .int8).contains("fp32 layers c_proj,first"))
        // The layers around the blocks are int8 in an int8 model with 8-bit weights unless kept.
        guard Int8Quant.weightQMax == 127 else { return }
        #expect(model.vision.patchEmbed.reduced?.kind == .int8 && model.fusion.visualEmbed.reduced?.kind == .int8)
        let around = try PromptPARModel(source: g.source(), tokens: g.tokenIDs(), precision: .int8,
                                        fullPrecision: try FullPrecisionLayers(parsing: "patch_embed,proj,fusion"))
        #expect(around.vision.patchEmbed.reduced?.kind != .int8 && around.fusion.visualEmbed.reduced?.kind != .int8)
        func fusionKinds(_ m: PromptPARModel) -> [ReducedKind?] {
            guard case .transformer(let blocks) = m.fusion.mixer else { return [] }
            return blocks.flatMap { b in [b.qkv, b.attnOut, b.fc1, b.fc2].map { $0.reduced?.kind } }
        }
        #expect(!fusionKinds(model).isEmpty && fusionKinds(model).allSatisfy { $0 == .int8 })
        #expect(fusionKinds(around).allSatisfy { $0 != .int8 })
        if case .layer(let proj) = around.vision.projection { #expect(proj.reduced?.kind == .f32) }
        if case .layer(let proj) = model.vision.projection { #expect(proj.reduced?.kind == .int8) } else { Issue.record("visual.proj is not int8") }
        #expect(Self.reducedMap(around).allSatisfy { $0 == [true, true, true, true] })
    }

    /// Every layer kept: the int8 model is the fp32 model (same products, same logits).
    /// OpenBLAS's last bits depend on its thread count (other kernels), a process-wide setting that
    /// suites running beside this one change (`ModelSpec.load`, the full-size test's single thread):
    /// the two runs are compared when the count was the same before, between and after them (up to
    /// five attempts, each failing to hold that being reported).
    @Test func keepingEveryLayerGivesTheFP32Logits() throws {
        let g = Golden.tiny
        let inputs = try g.npy("inputs.npy").values
        let fp32 = try PromptPARModel(source: g.source(), tokens: g.tokenIDs())
        let kept = try PromptPARModel(source: g.source(), tokens: g.tokenIDs(), precision: .int8,
                                      fullPrecision: try FullPrecisionLayers(parsing: "qkv,out_proj,c_fc,c_proj,patch_embed,proj,fusion"))
        #expect(Self.reducedMap(kept).allSatisfy { $0 == [false, false, false, false] })
        var a: [Float] = [], compared = false, counts: [[Int]] = []
        for _ in 0..<5 where !compared {
            let before = BLAS.threads
            a = try InferenceSession(model: fp32, maxBatch: 4).logits(images: inputs)
            let between = BLAS.threads
            let b = try InferenceSession(model: kept, maxBatch: 4).logits(images: inputs)
            let after = BLAS.threads
            counts.append([before, between, after])
            guard before == between && between == after else { continue }
            #expect(a == b)
            compared = true
        }
        #expect(compared, "OpenBLAS's thread count changed during every attempt: \(counts)")
        let int8 = try PromptPARModel(source: g.source(), tokens: g.tokenIDs(), precision: .int8)
        #expect(try InferenceSession(model: int8, maxBatch: 4).logits(images: inputs) != a)
    }
}
