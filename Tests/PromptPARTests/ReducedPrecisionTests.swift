import Foundation
import PardTestSupport
import Testing
@testable import PromptPAR

/// The bf16 and int8 paths (oneDNN) against fp32: the products against plain references, and the
/// attribute probabilities of both official-code fixtures (`promptpar-tiny` rows 3-12 and
/// `promptpar-small` rows 3-5 are real crops of the bundled clip) within 0.02 of fp32.
///
/// oneDNN fixes its instruction set at its first call, so every ISA path runs in a child process of
/// this test binary with `ONEDNN_MAX_CPU_ISA` set (`everyISAPathPasses`): the AVX2 (`vpmaddubsw`,
/// 7-bit weights) path runs on every machine, the AVX-512 ones where the CPU has them (oneDNN caps a
/// forced ISA at what the CPU supports, which the child reports).
@Suite(.serialized) struct ReducedPrecisionTests {
    /// Set in the children: the ISA they were started with.
    static let forcedISA = ProcessInfo.processInfo.environment["PARD_TEST_ONEDNN_ISA"]

    /// The precisions this CPU (or the forced ISA) can run: bf16 needs AVX-512 in oneDNN 2.6.
    static var reducedKinds: [ModelSpec.Precision] { OneDNN.isaBits & 0x20 != 0 ? [.int8, .bf16] : [.int8] }

    /// Max |p - p_fp32| over all inputs and attributes, p = sigmoid(logit).
    static func maxProbDiff(_ g: Golden, _ precision: ModelSpec.Precision) throws -> Float {
        let inputs = try g.npy("inputs.npy").values
        func probs(_ p: ModelSpec.Precision) throws -> [Float] {
            let model = try PromptPARModel(source: try g.source(), tokens: try g.tokenIDs(), precision: p)
            #expect(model.precision == p)
            // The attention of every block: int8 products in an int8 model without AMX (every forced
            // ISA of `everyISAPathPasses` on any machine), bf16 with AMX and in a bf16 model, else fp32.
            let attention = p == .int8 && OneDNNAttention.int8 ? "int8" : p != .fp32 && OneDNNAttention.bf16 ? "bf16"
                : p == .fp32 && !OneDNN.fp32OnOneDNN ? "openblas" : "fp32"
            #expect(model.attention == attention, "\(p) on \(OneDNN.isaName)")
            // With int8 attention products the prompted blocks take their prompt rows' q, k, v made at load.
            let made = model.vision.promptQKV.map { $0 != nil }, depth = model.config.promptDepth
            #expect(depth > 0 && made == (0..<model.config.visionLayers).map { attention == "int8" && $0 < depth }, "\(made)")
            // The layers around the blocks: int8 in an int8 model with 8-bit weights; else fp32, on oneDNN
            // where the vision blocks run there and it has brgemm fp32.
            let around: ReducedKind? = p == .int8 && Int8Quant.weightQMax == 127 ? .int8
                : p.reducedKind != nil && OneDNN.fp32OnOneDNN ? .f32 : nil
            #expect(model.vision.patchEmbed.reduced?.kind == around, "\(p) on \(OneDNN.isaName)")
            #expect(model.fusion.visualEmbed.reduced?.kind == around, "\(p) on \(OneDNN.isaName)")
            if case .layer = model.vision.projection { #expect(around != nil) } else { #expect(around == nil) }
            return try InferenceSession(model: model, maxBatch: 4).logits(images: inputs).map(sigmoid)
        }
        return GoldenTests.maxAbsDiff(try probs(precision), try probs(.fp32))
    }

    @Test(arguments: [Golden.tiny, .small])
    func probabilitiesWithin002OfFP32(_ g: Golden) throws {
        for p in Self.reducedKinds {
            let diff = try Self.maxProbDiff(g, p)
            print("\(g) \(p) on oneDNN \(OneDNN.isaName)\(Self.forcedISA.map { " (forced \($0))" } ?? ""): max |prob - fp32| = \(diff)")
            #expect(diff < 0.02, "\(g) \(p): max |prob diff| \(diff)")
        }
    }

    @Test func bf16IsRefusedWithoutAVX512() throws {
        guard OneDNN.isaBits & 0x20 == 0 else { return }
        #expect(throws: ModelError.self) {
            try PromptPARModel(source: try Golden.tiny.source(), tokens: try Golden.tiny.tokenIDs(), precision: .bf16)
        }
    }

    /// A product `c[m, ldc] = a[m, lda] · wᵀ + beta * c` by `body` (given a, w, c) from `start`.
    static func product(_ a: [Float], _ w: [Float], _ start: [Float],
                        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var c = start
        a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in c.withUnsafeMutableBufferPointer { body(ap.baseAddress!, wp.baseAddress!, $0.baseAddress!) } }
        }
        return c
    }

    /// Max |x - y| over the first `n` columns of `m` rows `ld` apart, and max |y| there.
    static func maxDiff(_ x: [Float], _ y: [Float], m: Int, n: Int, ld: Int) -> (diff: Float, scale: Float) {
        var diff: Float = 0, scale: Float = 0
        for r in 0..<m { for j in 0..<n { diff = max(diff, abs(x[r * ld + j] - y[r * ld + j])); scale = max(scale, abs(y[r * ld + j])) } }
        return (diff, scale)
    }

    /// Activations and weights that saturate `vpmaddubsw` with 8-bit weights (rows of 255 against
    /// weights of +qmax: 2·255·127 > 32767): the oneDNN product must equal the exact integer reference,
    /// and stay within the quantisation error of fp32.
    @Test func int8ProductMatchesPlainReference() throws {
        let m = 37, n = 70, k = 200, lda = 203, ldc = 75
        var rng = SplitMix(seed: 7)
        var a = (0..<(m * lda)).map { _ in rng.float(in: -2...3) }
        for i in 0..<k { a[5 * lda + i] = 1; a[6 * lda + i] = 3 }  // u8 255 across whole rows
        var w = (0..<(n * k)).map { _ in rng.float(in: -0.5...0.5) }
        for i in 0..<k { w[3 * k + i] = 0.25; w[4 * k + i] = -0.25 }  // q = ±qmax across whole rows
        let reduced = try #require(w.withUnsafeBufferPointer { ReducedWeights(weight: $0, n: n, k: k, kind: .int8) })
        #expect(reduced.qmax == (OneDNN.hasVNNI ? 127 : 63))
        for beta: Float in [0, 1] {
            let start = (0..<(m * ldc)).map { _ in rng.float(in: -1...1) }
            let got = Self.product(a, w, start) { reduced.abT(m: m, a: $0, lda: lda, beta: beta, c: $2, ldc: ldc) }
            let want = Self.product(a, w, start) {
                Int8Quant.referenceABT(m: m, n: n, k: k, a: $0, lda: lda, w: $1, qmax: reduced.qmax, beta: beta, c: $2, ldc: ldc)
            }
            let fp32 = Self.product(a, w, start) { GEMM.abT(m: m, n: n, k: k, a: $0, lda: lda, b: $1, ldb: k, beta: beta, c: $2, ldc: ldc) }
            // Columns past n are untouched.
            for r in 0..<m { for j in n..<ldc { #expect(got[r * ldc + j] == start[r * ldc + j]) } }
            let exact = Self.maxDiff(got, want, m: m, n: n, ld: ldc)
            #expect(exact.diff < 1e-3, "int8 product vs exact reference: max |diff| \(exact.diff) (beta \(beta), \(OneDNN.isaName))")
            let quant = Self.maxDiff(got, fp32, m: m, n: n, ld: ldc)
            #expect(quant.diff < 0.03 * quant.scale, "int8 vs fp32: \(quant.diff) of \(quant.scale)")
        }
    }

    /// A block of int8 layers through `forwardInt8` (LayerNorm, activation and quantisation fused per
    /// row, the products in pieces of rows on two threads) gives bit for bit the residual stream of the
    /// layer-by-layer int8 path, for both activations. 150 rows on two threads: two pieces of 38 and two
    /// of 37 (both primitives).
    @Test(arguments: [Activation.quickGELU, .gelu])
    func fusedInt8BlockMatchesLayerByLayer(_ activation: Activation) throws {
        let w = 64, heads = 4, hidden = 256, seq = 50, batch = 3
        OneDNN.setThreads(2)
        let count = ReducedWeights.pieceCount(m: batch * seq)
        #expect(count > 2 && (batch * seq) % count != 0, "\(count) pieces")
        var rng = SplitMix(seed: 5)
        var block = try Self.randomBlock(width: w, heads: heads, hidden: hidden, activation: activation, rng: &rng)
        block.attentionInBF16 = OneDNNAttention.bf16
        #expect(block.int8Layers != nil)
        let start = (0..<(batch * seq * w)).map { _ in rng.float(in: -2...2) }
        let mask = AttentionMask.full(rows: seq, columns: seq)
        func run(fused: Bool) -> [Float] {
            Self.run(block, start, batch: batch, seq: seq, hidden: hidden) {
                block.forward($0, batch: batch, seq: seq, mask: mask, scratch: $1, fusedInt8: fused)
            }
        }
        let fused = run(fused: true), layered = run(fused: false)
        #expect(fused == layered, "max |diff| \(zip(fused, layered).map { abs($0 - $1) }.max() ?? 0) (\(OneDNN.isaName))")
        #expect(Self.maxDiff(fused, start, m: batch * seq, n: w, ld: w).diff > 0.01, "the block changed nothing")
    }

    /// With live rows (the vision blocks before a prompted layer), `forwardInt8` gives the live rows
    /// of the whole block's results bit for bit and leaves the dead ones as they were, with the int8
    /// attention (its queries compacted) and with the attention of every row, for both activations.
    @Test(arguments: [(Activation.quickGELU, true), (.quickGELU, false), (.gelu, true)])
    func fusedInt8BlockOfLiveRowsMatchesEveryRow(_ activation: Activation, _ int8Attention: Bool) throws {
        let (w, hidden, batch) = (64, 256, 3)
        var rng = SplitMix(seed: 9)
        var (config, live, block) = try Self.promptedInt8Block(activation, rng: &rng)
        let seq = config.tokens
        block.attentionInBF16 = int8Attention ? false : OneDNNAttention.bf16
        block.attentionInInt8 = int8Attention && OneDNN.hasAVX2
        let start = (0..<(batch * seq * w)).map { _ in rng.float(in: -2...2) }
        let mask = AttentionMask.visual(prompts: config.prompts, regions: config.regions, grid: config.grid)
        func run(_ live: LiveRows?) -> [Float] {
            Self.run(block, start, batch: batch, seq: seq, hidden: hidden) {
                block.forward($0, batch: batch, seq: seq, mask: mask, live: live, scratch: $1)
            }
        }
        let every = run(nil), some = run(live)
        var liveDiff: Float = 0, deadChanged = 0, liveRows = 0
        for b in 0..<batch {
            for t in 0..<seq {
                let r = (b * seq + t) * w
                if live.index[t] >= 0 {
                    liveRows += 1
                    for j in 0..<w { liveDiff = max(liveDiff, abs(some[r + j] - every[r + j])) }
                } else {
                    for j in 0..<w where some[r + j] != start[r + j] { deadChanged += 1 }
                }
            }
        }
        #expect(liveRows == batch * live.count && live.count == seq - config.prompts, "\(liveRows) live rows")
        #expect(liveDiff == 0, "live rows differ by up to \(liveDiff) (\(OneDNN.isaName), int8 attention \(block.attentionInInt8))")
        #expect(deadChanged == 0, "\(deadChanged) values of dead rows written")
        #expect(Self.maxDiff(some, start, m: batch * seq, n: w, ld: w).diff > 0.01, "the block changed nothing")
    }

    /// With the prompt rows' q, k and v made once (`PromptQKV8`; the same prompts in every sequence, as
    /// the vision encoder inserts them), `forwardInt8` computes LayerNorm 1 and qkv for the other rows
    /// only and gives the block's results bit for bit: every row, and the live rows with `live`.
    @Test(arguments: [Activation.quickGELU, .gelu])
    func fusedInt8BlockWithPromptRowsMadeOnceMatches(_ activation: Activation) throws {
        guard OneDNN.hasAVX2 else { return }
        let (w, hidden, batch) = (64, 256, 3)
        var rng = SplitMix(seed: 13)
        var (config, others, block) = try Self.promptedInt8Block(activation, rng: &rng)
        let seq = config.tokens
        block.attentionInInt8 = true
        let prompts = (0..<(config.prompts * w)).map { _ in rng.float(in: -2...2) }
        var start = (0..<(batch * seq * w)).map { _ in rng.float(in: -2...2) }
        let positions = (0..<seq).filter { others.index[$0] < 0 }
        for b in 0..<batch {
            for (i, j) in positions.enumerated() { for k in 0..<w { start[(b * seq + j) * w + k] = prompts[i * w + k] } }
        }
        let made = prompts.withUnsafeBufferPointer { PromptQKV8(block: block, prompts: $0.baseAddress!, others: others) }
        #expect(made.positions == positions && positions.count == config.prompts)
        let mask = AttentionMask.visual(prompts: config.prompts, regions: config.regions, grid: config.grid)
        for live in [nil, others] as [LiveRows?] {
            func run(_ given: PromptQKV8?) -> [Float] {
                Self.run(block, start, batch: batch, seq: seq, hidden: hidden) {
                    block.forward($0, batch: batch, seq: seq, mask: mask, live: live, prompts: given, scratch: $1)
                }
            }
            let computed = run(nil), taken = run(made)
            var differ = 0
            for b in 0..<batch {
                for t in 0..<seq where live.map({ $0.index[t] >= 0 }) ?? true {
                    for k in 0..<w where taken[(b * seq + t) * w + k].bitPattern != computed[(b * seq + t) * w + k].bitPattern { differ += 1 }
                }
            }
            #expect(differ == 0, "\(differ) values differ (live rows only: \(live != nil), \(OneDNN.isaName))")
            #expect(Self.maxDiff(taken, start, m: batch * seq, n: w, ld: w).diff > 0.01, "the block changed nothing")
        }
    }

    /// The small prompted layout (`LiveRowsBlockTests.prompted`, width 64), its rows that are not prompts,
    /// and a random int8 block for it (4 heads, hidden 256), on two threads.
    static func promptedInt8Block(_ activation: Activation, rng: inout SplitMix) throws -> (ModelConfig, LiveRows, TransformerBlock) {
        let config = LiveRowsBlockTests.prompted(width: 64)
        let live = try #require(LiveRows.beforePrompts(config))
        OneDNN.setThreads(2)
        return (config, live, try randomBlock(width: 64, heads: 4, hidden: 256, activation: activation, rng: &rng))
    }

    /// A block of random layers (`width`, `hidden`; int8, or `kind`: nil for fp32) whose attention runs
    /// on oneDNN.
    static func randomBlock(width w: Int, heads: Int, hidden: Int, activation: Activation, kind: ReducedKind? = .int8,
                          rng: inout SplitMix) throws -> TransformerBlock {
        func values(_ count: Int, _ range: ClosedRange<Float>) -> [Float] { (0..<count).map { _ in rng.float(in: range) } }
        func linear(_ i: Int, _ o: Int) throws -> Linear {
            let l = Linear(weight: values(i * o, -0.2...0.2), bias: values(o, -0.1...0.1), inFeatures: i, outFeatures: o)
            return try kind.map { try l.reduced(to: $0, name: "test") } ?? l
        }
        func norm() -> LayerNorm { LayerNorm(gamma: values(w, 0.5...1.5), beta: values(w, -0.2...0.2), eps: 1e-5) }
        var block = TransformerBlock(norm1: norm(), qkv: try linear(w, 3 * w), attnOut: try linear(w, w), norm2: norm(),
                                     fc1: try linear(w, hidden), fc2: try linear(hidden, w), heads: heads, activation: activation)
        block.attentionOnOneDNN = true
        return block
    }

    /// `start` (`[batch, seq, block.width]`) after `forward(x, scratch)` on a workspace of its own.
    static func run(_ block: TransformerBlock, _ start: [Float], batch: Int, seq: Int, hidden: Int,
                    _ forward: (UnsafeMutablePointer<Float>, BlockScratch) -> Void) -> [Float] {
        let (w, heads) = (block.width, block.heads)
        let sizes = BlockScratch.sizes(batch: batch, seq: seq, width: w, hidden: hidden, heads: heads)
        let ws = Workspace(capacity: Workspace.size(sizes))
        let scratch = BlockScratch(ws, batch: batch, seq: seq, width: w, hidden: hidden, heads: heads)
        var x = start
        x.withUnsafeMutableBufferPointer { forward($0.baseAddress!, scratch) }
        return x
    }

    /// Pieces of rows share evenly between the team's threads: a multiple of the threads of them (or
    /// one a row), none above `pieceRows` rows, at most one row apart, covering the rows in order.
    @Test func piecesShareEvenly() {
        defer { OneDNN.setThreads(2) }
        for threads in [1, 2, 3, 4] {
            OneDNN.setThreads(threads)
            for m in [1, 2, 3, 63, 64, 65, 150, 311, 622, 1244, 2488, 9999] {
                let count = ReducedWeights.pieceCount(m: m)
                let sizes = (0..<count).map { ReducedWeights.pieceRange($0, count: count, m: m).count }
                #expect(count % threads == 0 || count == m, "m \(m), \(threads) threads: \(count) pieces")
                #expect(sizes.max()! <= ReducedWeights.pieceRows && sizes.max()! - sizes.min()! <= 1 && sizes.min()! >= 1,
                        "m \(m), \(threads) threads: pieces of \(Set(sizes).sorted()) rows")
                let ranges = (0..<count).map { ReducedWeights.pieceRange($0, count: count, m: m) }
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == m
                        && zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "m \(m): \(ranges)")
            }
        }
    }

    @Test func bf16ProductMatchesFP32() throws {
        guard OneDNN.isaBits & 0x20 != 0 else { return }
        let m = 29, n = 48, k = 160
        var rng = SplitMix(seed: 11)
        let a = (0..<(m * k)).map { _ in rng.float(in: -1...1) }, w = (0..<(n * k)).map { _ in rng.float(in: -1...1) }
        let reduced = try #require(w.withUnsafeBufferPointer { ReducedWeights(weight: $0, n: n, k: k, kind: .bf16) })
        for beta: Float in [0, 1] {
            let start = (0..<(m * n)).map { _ in rng.float(in: -1...1) }
            let got = Self.product(a, w, start) { reduced.abT(m: m, a: $0, lda: k, beta: beta, c: $2, ldc: n) }
            let want = Self.product(a, w, start) { GEMM.abT(m: m, n: n, k: k, a: $0, lda: k, b: $1, ldb: k, beta: beta, c: $2, ldc: n) }
            // bf16 keeps 8 significant bits: each product within ~2^-8 relative, sums of 160 of them.
            let diff = Self.maxDiff(got, want, m: m, n: n, ld: n).diff
            #expect(diff < 0.25, "bf16 vs fp32 max |diff| \(diff)")
        }
    }

    /// The SIMD quantising and dequantising kernels (the AVX2 build, and the AVX-512 one where the CPU
    /// has it) against their plain references, bit for bit.
    @Test(arguments: RowKernelsTests.builds) func int8KernelsMatchReferences(avx512: Bool) {
        var rng = SplitMix(seed: 3)
        for count in [1, 7, 8, 13, 16, 64, 203, 1024, 1031] {
            let x = (0..<count).map { i in i == 2 ? 0.5 : rng.float(in: -3...5) }
            var fast = [UInt8](repeating: 0, count: count), plain = fast
            let f = x.withUnsafeBufferPointer { xp in
                fast.withUnsafeMutableBufferPointer { ReducedRows.quantize(xp.baseAddress!, count: count, into: $0.baseAddress!, avx512: avx512) }
            }
            let p = x.withUnsafeBufferPointer { xp in plain.withUnsafeMutableBufferPointer { Int8Quant.quantizeRowReference(xp.baseAddress!, count: count, into: $0.baseAddress!) } }
            #expect(f.scale == p.0 && f.zero == p.1 && fast == plain, "quantizeRow, \(count) values")
            let acc = (0..<count).map { _ in Int32(rng.next() % 200_000) - 100_000 }
            let sums = (0..<count).map { _ in Int32(rng.next() % 20_000) - 10_000 }
            let scales = (0..<count).map { _ in rng.float(in: 0.001...0.01) }
            for beta: Float in [0, 1] {
                let start = (0..<count).map { _ in rng.float(in: -1...1) }
                var y1 = start, y2 = start
                y1.withUnsafeMutableBufferPointer {
                    ReducedRows.dequantize(acc, n: count, rowScale: 0.02, rowZero: 17, columnScales: scales, columnSums: sums, beta: beta,
                                           into: $0.baseAddress!, avx512: avx512)
                }
                y2.withUnsafeMutableBufferPointer {
                    Int8Quant.dequantizeRowReference(acc, n: count, rowScale: 0.02, rowZero: 17, columnScales: scales, columnSums: sums, beta: beta, into: $0.baseAddress!)
                }
                #expect(y1 == y2, "dequantizeRow, \(count) values, beta \(beta)")
            }
        }
    }

    /// The int8 attention's keys and values (a row per token and head) to s8: `Int8Quant.quantizeWeights`'s
    /// values, scales and sums, both builds, at 127 and 63; and in slices (`quantizeSlicesSymmetric`,
    /// `quantizeSlices`) as one row at a time.
    @Test(arguments: RowKernelsTests.builds) func symmetricQuantisingMatchesTheWeights(avx512: Bool) {
        var rng = SplitMix(seed: 17)
        for qmax in [127, 63] {
            for count in [1, 7, 16, 64, 203] {
                var x = (0..<count).map { _ in rng.float(in: -3...2) }
                if count == 7 { x = [Float](repeating: 0, count: 7) }
                var fast = [Int8](repeating: 0, count: count), plain = fast
                var scales = [Float](repeating: 0, count: 1), sums = [Int32](repeating: 0, count: 1)
                let f = x.withUnsafeBufferPointer { xp in
                    fast.withUnsafeMutableBufferPointer { ReducedRows.quantizeSymmetric(xp.baseAddress!, count: count, qmax: qmax, into: $0.baseAddress!, avx512: avx512) }
                }
                x.withUnsafeBufferPointer { xp in
                    plain.withUnsafeMutableBufferPointer { Int8Quant.quantizeWeights(xp.baseAddress!, n: 1, k: count, qmax: qmax, into: $0.baseAddress!, scales: &scales, sums: &sums) }
                }
                #expect(fast == plain && f.scale == scales[0] && f.sum == sums[0], "quantizeSymmetric, \(count) values, qmax \(qmax)")
                #expect(fast.allSatisfy { abs(Int($0)) <= qmax })
            }
            // 5 slices of 24 into places 40 apart, their scales and sums 3 apart: each as a row of its own.
            let (slices, length, stride, metaStride) = (5, 24, 40, 3)
            let x = (0..<(slices * length)).map { i in i / length == 2 ? 0 : rng.float(in: -1...4) }
            var s8 = [Int8](repeating: 0, count: slices * stride), u8 = [UInt8](repeating: 0, count: slices * stride)
            var scales = [Float](repeating: 0, count: slices * metaStride), sums = [Int32](repeating: 0, count: slices * metaStride)
            var uScales = scales, zeros = sums
            x.withUnsafeBufferPointer { xp in
                ReducedRows.quantizeSlicesSymmetric(xp.baseAddress!, slices: slices, length: length, qmax: qmax, into: &s8, stride: stride,
                                                    scales: &scales, sums: &sums, metaStride: metaStride, avx512: avx512)
                ReducedRows.quantizeSlices(xp.baseAddress!, slices: slices, length: length, into: &u8, stride: stride, scales: &uScales,
                                           zeros: &zeros, metaStride: metaStride, avx512: avx512)
            }
            for slice in 0..<slices {
                let part = Array(x[(slice * length)..<((slice + 1) * length)])
                var one = [Int8](repeating: 0, count: length), u = [UInt8](repeating: 0, count: length)
                let want = ReducedRows.quantizeSymmetric(part, count: length, qmax: qmax, into: &one, avx512: avx512)
                let wantU = ReducedRows.quantize(part, count: length, into: &u, avx512: avx512)
                #expect(Array(s8[(slice * stride)..<(slice * stride + length)]) == one, "slice \(slice), qmax \(qmax)")
                #expect(scales[slice * metaStride] == want.scale && sums[slice * metaStride] == want.sum, "slice \(slice)")
                #expect(Array(u8[(slice * stride)..<(slice * stride + length)]) == u, "u8 slice \(slice)")
                #expect(uScales[slice * metaStride] == wantU.scale && zeros[slice * metaStride] == wantU.zero, "u8 slice \(slice)")
            }
            #expect(s8[length..<stride].allSatisfy { $0 == 0 } && u8[length..<stride].allSatisfy { $0 == 0 }, "written between slices")
        }
    }

    @Test func bf16RoundsToNearestEven() {
        let xs: [Float] = [1, -2.5, 1 + 1.0 / 256, 1 + 3.0 / 512, 3.1415927, 0]
        var out = [UInt16](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { BF16.convert(x.baseAddress!, count: xs.count, into: $0.baseAddress!) } }
        #expect(out.map(BF16.float) == [1, -2.5, 1, 1 + 4.0 / 512, 3.140625, 0])
    }

    @Test func autoIsConcrete() {
        #expect(ModelSpec.Precision.auto.resolved != .auto)
        #expect(ModelSpec.Precision.auto.resolved == (OneDNN.hasAVX2 ? .int8 : .fp32))
    }

    /// In a child: the forced ISA is the one in effect (or the CPU's best, if lower).
    @Test func forcedISAIsInEffect() {
        guard let forced = Self.forcedISA else { return }
        let order = ["AVX2": 0x7, "AVX512_CORE": 0x27, "AVX512_CORE_VNNI": 0x67, "AVX512_CORE_BF16": 0xe7, "AVX512_CORE_AMX": 0x3e7]
        guard let limit = order[forced] else { Issue.record("unknown ISA \(forced)"); return }
        #expect(Int(OneDNN.isaBits) & ~limit == 0, "forced \(forced) but oneDNN uses \(OneDNN.isaName)")
    }

    /// Runs this suite again in a child process per ISA (`ONEDNN_MAX_CPU_ISA`), so that the AVX2 int8
    /// path (7-bit weights) and the AVX-512 ones run on this machine whatever its CPU.
    @Test(arguments: ["AVX2", "AVX512_CORE", "AVX512_CORE_VNNI", "AVX512_CORE_BF16"])
    func everyISAPathPasses(_ isa: String) throws {
        guard Self.forcedISA == nil else { return }
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = ["--testing-library", "swift-testing", "--filter", "ReducedPrecisionTests"]
        var env = ProcessInfo.processInfo.environment
        env["ONEDNN_MAX_CPU_ISA"] = isa
        env["PARD_TEST_ONEDNN_ISA"] = isa
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        for line in output.split(separator: "\n") where line.contains("max |prob - fp32|") { print("[\(isa)] \(line)") }
        #expect(process.terminationStatus == 0, "tests with ONEDNN_MAX_CPU_ISA=\(isa) failed:\n\(output.suffix(3000))")
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func float(in range: ClosedRange<Float>) -> Float {
        range.lowerBound + (range.upperBound - range.lowerBound) * Float(next() >> 40) / Float(1 << 24)
    }
}
