import Testing
@testable import PromptPAR

/// The rows a vision block before a prompted layer computes: every row but the prompt groups'.
struct LiveRowsTests {
    /// ViT-L/14's released layout (P 50, D 4): the prompt groups sit at 1-10, 12-21, 23-32, 34-43 and
    /// 45-54 (spec §2.6), so the class token, the four part tokens and the 256 patches are live.
    @Test func theReleasedLayoutKeepsTheClassPartAndPatchTokens() throws {
        let c = SyntheticWeights.releasedShape
        let live = try #require(LiveRows.beforePrompts(c))
        #expect(live.seq == 311 && live.count == 261)
        #expect(Array(live.positions.prefix(6)) == [0, 11, 22, 33, 44, 55])
        #expect(Array(live.positions.dropFirst(5)) == Array(55..<311))
        for t in 0..<311 {
            let isPrompt = (1...54).contains(t) && t % 11 != 0
            #expect((live.index[t] < 0) == isPrompt, "position \(t)")
            if live.index[t] >= 0 { #expect(live.positions[Int(live.index[t])] == t) }
        }
        // Live row c of a batch of sequences is row `row(c)` of the whole batch.
        #expect(live.row(0) == 0 && live.row(5) == 55 && live.row(261) == 311 && live.row(266) == 311 + 55)
    }

    /// Without prompts every row is read again: nothing to skip.
    @Test func noPromptsNoLiveRows() {
        var c = SyntheticWeights.releasedShape
        c.prompts = 0
        #expect(LiveRows.beforePrompts(c) == nil)
    }
}

/// A block computing the live rows only gives those rows the results of computing every row.
struct LiveRowsBlockTests {
    /// A small prompted vision layout: `width`, P 10 in D 4 regions (2 prompts a group), a 5 x 5 grid:
    /// 40 tokens, 30 of them live before a prompted layer.
    static func prompted(width: Int) -> ModelConfig {
        ModelConfig(visionWidth: width, visionLayers: 2, patchSize: 14, imageSize: 70, embedWidth: 32, prompts: 10, regions: 4,
                    promptDepth: 2, textWidth: 0, textLayers: 0, fusionWidth: 0, fusionLayers: 0, attributes: 1,
                    visualMask: true, overlapRows: 2)
    }

    /// `gather` then `scatter` puts every live row back where it was.
    @Test func gatherThenScatterRestoresTheLiveRows() throws {
        let live = LiveRows(seq: 9, dead: [1, 2, 5])
        let w = 3, batch = 2
        let start = (0..<(batch * 9 * w)).map(Float.init)
        var x = start
        x.withUnsafeMutableBufferPointer { live.gather($0.baseAddress!, width: w, batch: batch) }
        #expect(Array(x[0..<(6 * w)]) == [0, 1, 2, 9, 10, 11, 12, 13, 14, 18, 19, 20, 21, 22, 23, 24, 25, 26])
        #expect(Array(x[(6 * w)..<(7 * w)]) == [27, 28, 29])
        x.withUnsafeMutableBufferPointer { live.scatter($0.baseAddress!, width: w, batch: batch) }
        for b in 0..<batch {
            for t in 0..<9 where live.index[t] >= 0 {
                let r = (b * 9 + t) * w
                #expect(Array(x[r..<(r + w)]) == Array(start[r..<(r + w)]), "row \(t) of sequence \(b)")
            }
        }
    }

    /// fp32 (OpenBLAS, and oneDNN's attention where a reduced model puts it), bf16 and layer-by-layer
    /// int8 blocks: the live rows of `forward(live:)` are those of `forward` of every row, bit for bit
    /// on oneDNN. OpenBLAS's products of fewer rows may round their last bits otherwise (its `Haswell`
    /// kernel does: up to 3e-6 on values up to 3; `SkylakeX` gives the same bits), so fp32 is held
    /// within 1e-5 there.
    @Test(arguments: [(ReducedKind?.none, false), (.none, true), (.bf16, true), (.int8, true)])
    func liveRowsOfABlockAreThoseOfEveryRow(_ kind: ReducedKind?, _ oneDNNAttention: Bool) throws {
        if kind == .bf16, OneDNN.isaBits & 0x20 == 0 { return }
        let w = 64, heads = 4, hidden = 256, batch = 3
        let config = Self.prompted(width: w)
        let seq = config.tokens
        let live = try #require(LiveRows.beforePrompts(config))
        var rng = SplitMix(seed: 31)
        var block = try ReducedPrecisionTests.randomBlock(width: w, heads: heads, hidden: hidden, activation: .quickGELU, kind: kind, rng: &rng)
        block.attentionOnOneDNN = oneDNNAttention
        let start = (0..<(batch * seq * w)).map { _ in rng.float(in: -2...2) }
        let mask = AttentionMask.visual(prompts: config.prompts, regions: config.regions, grid: config.grid)
        func run(_ live: LiveRows?) -> [Float] {
            ReducedPrecisionTests.run(block, start, batch: batch, seq: seq, hidden: hidden) {
                block.forward($0, batch: batch, seq: seq, mask: mask, live: live, scratch: $1, fusedInt8: false)
            }
        }
        let every = run(nil), some = run(live)
        var differ = 0, largest: Float = 0
        for b in 0..<batch {
            for t in 0..<seq where live.index[t] >= 0 {
                let r = (b * seq + t) * w
                for j in 0..<w where some[r + j].bitPattern != every[r + j].bitPattern {
                    differ += 1
                    largest = max(largest, abs(some[r + j] - every[r + j]))
                }
            }
        }
        print("live rows, \(kind.map { "\($0)" } ?? "fp32"), oneDNN attention \(oneDNNAttention): \(differ) values differ, by up to \(largest)")
        #expect(kind == nil ? largest <= 1e-5 : differ == 0,
                "\(differ) values of live rows differ, by up to \(largest) (\(kind.map { "\($0)" } ?? "fp32"), oneDNN attention \(oneDNNAttention))")
        #expect(ReducedPrecisionTests.maxDiff(some, start, m: batch * seq, n: w, ld: w).diff > 0.01, "the block changed nothing")
    }
}
