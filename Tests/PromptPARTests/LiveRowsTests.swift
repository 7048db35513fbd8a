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
