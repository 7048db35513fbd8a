import Foundation
import PardCheckpoint
import PardTestSupport
import Testing

@Suite struct TorchCheckpointTests {
    @Test func fixtureOpensWithTheReleasedLayout() throws {
        let ckpt = try TorchCheckpoint(path: fixturePath)
        #expect(ckpt.archiveName == "checkpoint")
        #expect(try ckpt.tensorInfo("ViT_model.visual.conv1.weight") ==
            TensorInfo(name: "ViT_model.visual.conv1.weight", dtype: .float16, shape: [128, 3, 14, 14]))
        #expect(try ckpt.tensorInfo("model_state_dict.bn.weight").shape == [26])
        #expect(try ckpt.tensorInfo("model_state_dict.bn.num_batches_tracked") ==
            TensorInfo(name: "model_state_dict.bn.num_batches_tracked", dtype: .int64, shape: []))
        #expect(ckpt.value(at: ["epoch"]) == .int(21))
    }

    @Test func namesAreThoseTorchSeesInFileOrder() throws {
        let ckpt = try TorchCheckpoint(path: fixturePath)
        #expect(ckpt.tensorNames == (try Reference.load()).names)
        #expect(ckpt.tensorNames.count == 95 + 75)
    }

    @Test func valuesEqualWhatTorchReads() throws {
        let ckpt = try TorchCheckpoint(path: fixturePath)
        let reference = try Reference.load()
        #expect(reference.tensors.count == 9)
        for (name, r) in reference.tensors {
            let info = try ckpt.tensorInfo(name)
            #expect(info.dtype.rawValue == r.dtype, "\(name)")
            #expect(info.shape == r.shape, "\(name)")
            let v = try ckpt.floats(name, shape: r.shape)
            #expect(v.count == info.count)
            #expect(v.prefix(8).map(Double.init) == r.head, "\(name)")
            #expect(v.suffix(8).map(Double.init) == r.tail, "\(name)")
            let sum = v.reduce(0.0) { $0 + Double($1) }, squares = v.reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect(abs(sum - r.sum) <= 1e-9 * max(1, abs(r.sum)), "\(name): sum \(sum) vs \(r.sum)")
            #expect(abs(squares - r.sumOfSquares) <= 1e-9 * max(1, r.sumOfSquares), "\(name)")
        }
    }

    @Test func optimizerStateIsNotListed() throws {
        let ckpt = try TorchCheckpoint(path: fixturePath)
        #expect(ckpt.value(at: ["optimizer", "param_groups"]) != nil)
        #expect(!ckpt.tensorNames.contains { $0.hasPrefix("optimizer") })

        // An optimizer state holding tensors (Adam's exp_avg), even under another key, is skipped.
        let dir = try TemporaryDirectory("ckpt")
        let copy = dir.path("adam.pth")
        let proj = try #require(ckpt.tensor("ViT_model.visual.proj"))
        let state: PickleValue = .dict([
            .init(.string("state"), .dict([.init(.int(0), .dict([.init(.string("exp_avg"), .tensor(proj))]))])),
            .init(.string("param_groups"), .list([])),
        ])
        try CheckpointSurgery.rewrite(fixtureURL, to: copy) { root in
            guard case .dict(var entries) = root else { return }
            entries.append(.init(.string("opt"), state))
            entries.append(.init(.string("extra"), .dict([.init(.string("w"), .tensor(proj))])))
            root = .dict(entries)
        }
        let edited = try TorchCheckpoint(path: copy)
        #expect(edited.tensorNames.count == ckpt.tensorNames.count + 1)
        #expect(edited.tensorNames.last == "extra.w")
        #expect(!edited.tensorNames.contains { $0.hasPrefix("opt.") })
    }

    @Test func resultIsAnInertEasyDictOfNumpyArrays() throws {
        let ckpt = try TorchCheckpoint(path: fixturePath)
        guard case .object(let result)? = ckpt.value(at: ["result"]) else {
            Issue.record("result is not an object")
            return
        }
        #expect(result.calleeName == "easydict.EasyDict")
        #expect(result.isNewObject)
        #expect(ckpt.value(at: ["result", "ma"]) == .float(0.5))
        guard case .object(let array)? = ckpt.value(at: ["result", "label_neg_recall"]),
              case .tuple(let state)? = array.state, state.count == 5, case .bytes(let data) = state[4] else {
            Issue.record("label_neg_recall is not a numpy reconstruct with a (version, shape, dtype, fortran, data) state")
            return
        }
        #expect(array.calleeName == "numpy._core.multiarray._reconstruct")
        #expect(state[1] == .tuple([.int(26)]))
        // 26 float64 ones, stored through _codecs.encode(text, 'latin1').
        #expect(data == Array(repeating: [0, 0, 0, 0, 0, 0, 0xF0, 0x3F] as [UInt8], count: 26).flatMap { $0 })
    }

    @Test func prefixedViewFindsKeysAndNamesTheKeyAsked() throws {
        let ckpt = try TorchCheckpoint(path: fixturePath)
        let view = ckpt.withPrefixes(["ViT_model.", "model_state_dict."])
        #expect(view.shape(of: "visual.conv1.weight") == [128, 3, 14, 14])
        #expect(view.resolve("bn.weight") == "model_state_dict.bn.weight")
        #expect(try view.floats("bn.weight") == (try ckpt.floats("model_state_dict.bn.weight")))
        #expect(view.tensorNames.count == 170)
        #expect(throws: CheckpointError.missingTensor("visual.nope", file: fixturePath)) { try view.floats("visual.nope") }
        #expect(throws: CheckpointError.wrongShape("bn.weight", file: fixturePath, expected: [27], found: [26])) {
            try view.floats("bn.weight", shape: [27])
        }
    }

    @Test func stridedAndOffsetViewsAreGathered() throws {
        let dir = try TemporaryDirectory("ckpt")
        let ckpt = try TorchCheckpoint(path: fixturePath)
        let proj = try ckpt.floats("ViT_model.visual.proj")  // [128, 64] fp16
        let conv = try ckpt.floats("ViT_model.visual.conv1.weight")  // [128, 3, 14, 14] fp16
        let copy = dir.path("views.pth")
        try CheckpointSurgery.rewrite(fixtureURL, to: copy) { root in
            try CheckpointSurgery.editEntry("ViT_model.visual.proj", in: &root) { entries, i in
                guard case .tensor(let t) = entries[i].value else { return }
                var transposed = t, rows = t, permuted = t
                transposed.shape = [64, 128]; transposed.stride = [1, 64]
                rows.shape = [10, 64]; rows.stride = [64, 1]; rows.offset = 5 * 64
                permuted.shape = [2, 64, 3]; permuted.stride = [3 * 64, 1, 64]; permuted.offset = 7
                entries += [.init(.string("transposed"), .tensor(transposed)), .init(.string("rows"), .tensor(rows)),
                            .init(.string("permuted"), .tensor(permuted))]
            }
            try CheckpointSurgery.editEntry("ViT_model.visual.conv1.weight", in: &root) { entries, i in
                guard case .tensor(var t) = entries[i].value else { return }
                t.shape = [128, 14, 14, 3]; t.stride = [588, 14, 1, 196]  // permute(0, 2, 3, 1)
                entries.append(.init(.string("nhwc"), .tensor(t)))
            }
        }
        let views = try TorchCheckpoint(path: copy)
        #expect(try views.floats("ViT_model.transposed") == transpose(proj, rows: 128, cols: 64))
        #expect(try views.floats("ViT_model.rows") == Array(proj[(5 * 64)..<(15 * 64)]))
        var permuted: [Float] = []
        for a in 0..<2 { for b in 0..<64 { for c in 0..<3 { permuted.append(proj[7 + a * 192 + b + c * 64]) } } }
        #expect(try views.floats("ViT_model.permuted") == permuted)
        var nhwc: [Float] = []
        for o in 0..<128 { for y in 0..<14 { for x in 0..<14 { for c in 0..<3 { nhwc.append(conv[o * 588 + c * 196 + y * 14 + x]) } } } }
        #expect(try views.floats("ViT_model.nhwc") == nhwc)
    }

    @Test func pickleTreeSurvivesWritingBack() throws {
        let archive = try ZipArchive(path: fixturePath)
        let bytes = try archive.data(named: "checkpoint/data.pkl")
        let tree = try PickleReader.parse(bytes, file: fixturePath, entry: "checkpoint/data.pkl")
        #expect(try PickleReader.parse(PickleWriter.encode(tree)) == tree)
    }

    @Test func zip64CopyReadsTheSame() throws {
        let dir = try TemporaryDirectory("ckpt")
        let copy = dir.path("zip64.pth")
        try CheckpointSurgery.rewrite(fixtureURL, to: copy, zip64: true) { _ in }
        let original = try TorchCheckpoint(path: fixturePath), rewritten = try TorchCheckpoint(path: copy)
        let archive = try ZipArchive(path: copy)
        #expect(archive.entries.count == 176)
        #expect(archive.entries.allSatisfy { $0.dataOffset % 64 == 0 })
        #expect(rewritten.tensorNames == original.tensorNames)
        for name in original.tensorNames {
            #expect(try rewritten.floats(name) == (try original.floats(name)), "\(name)")
        }
    }

    @Test func everyTensorConvertsToItsElementCount() throws {
        let ckpt = try TorchCheckpoint(path: fixturePath)
        for name in ckpt.tensorNames {
            let info = try ckpt.tensorInfo(name)
            let values = try ckpt.floats(name)
            #expect(values.count == info.count, "\(name)")
            #expect(values.allSatisfy { $0.isFinite }, "\(name)")
        }
    }
}
