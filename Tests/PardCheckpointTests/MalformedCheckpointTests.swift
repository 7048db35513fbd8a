import Foundation
import PardCheckpoint
import PardTestSupport
import Testing

/// Every way a `.pth` can be broken fails with its own error naming the file and the culprit.
@Suite struct MalformedCheckpointTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory("malformed") }

    @Test func wrongMagicIsNotAZip() throws {
        let path = dir.path("checkpoint.pth")
        try CheckpointSurgery.wrongMagicCopy(of: fixtureURL, to: path)
        #expect(throws: CheckpointError.notZip(file: path)) { try TorchCheckpoint(path: path) }
        #expect(CheckpointError.notZip(file: "checkpoint.pth").description
            == "checkpoint.pth: not a zip archive (PyTorch checkpoints are zip files)")
    }

    @Test func emptyAndTinyFilesAreNotZips() throws {
        for (i, bytes) in [[], [0x50], Array("hello world, not a checkpoint".utf8)].enumerated() {
            let path = dir.path("tiny\(i).pth")
            try write(bytes, to: path)
            #expect(throws: CheckpointError.notZip(file: path)) { try TorchCheckpoint(path: path) }
        }
    }

    @Test func legacyTorchSaveIsNamed() throws {
        let path = dir.path("legacy.pth")
        try write([0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E], to: path)
        #expect(throws: CheckpointError.legacyTorchFormat(file: path)) { try TorchCheckpoint(path: path) }
    }

    @Test func missingFileIsAnIOError() throws {
        let path = dir.path("absent.pth")
        #expect(throws: CheckpointError.io(file: path, "cannot open: No such file or directory")) { try TorchCheckpoint(path: path) }
    }

    @Test func truncatedFileHasNoEndRecord() throws {
        let path = dir.path("half.pth")
        try CheckpointSurgery.truncatedCopy(of: fixtureURL, keeping: 7_000_000, to: path)
        #expect(throws: CheckpointError.truncated(file: path, "no zip end-of-central-directory record (the file was cut short)")) {
            try TorchCheckpoint(path: path)
        }
    }

    @Test func cutFileWithItsEndRecordPointsPastTheEnd() throws {
        // Plain (non-zip64) archive: the end record survives, the central directory it points to does not.
        let plain = dir.path("plain.pth"), cut = dir.path("cut.pth")
        try CheckpointSurgery.rewrite(fixtureURL, to: plain) { _ in }
        try CheckpointSurgery.cutCopy(of: URL(fileURLWithPath: plain), keeping: 1_000_000, tail: 22, to: cut)
        #expect(throws: CheckpointError.truncated(file: cut, "zip central directory ends past end of file")) {
            try TorchCheckpoint(path: cut)
        }
        #expect(CheckpointError.truncated(file: "model.pth", "zip central directory ends past end of file").description
            == "model.pth: truncated: zip central directory ends past end of file")

        // torch's own zip64 layout: the zip64 end record is what lies past the end.
        let cut64 = dir.path("cut64.pth")
        try CheckpointSurgery.cutCopy(of: fixtureURL, keeping: 1_000_000, tail: 98, to: cut64)
        #expect(throws: CheckpointError.truncated(file: cut64, "zip64 end-of-central-directory record lies past end of file")) {
            try TorchCheckpoint(path: cut64)
        }
    }

    @Test func entryPastTheEndIsTruncated() throws {
        var zip = StoredZipWriter.encode([.init(name: "archive/data.pkl", bytes: [0x80, 2, 0x7D, 0x2E]),
                                          .init(name: "archive/data/0", bytes: [1, 2, 3, 4])])
        // Claim a 1 MB size for the second entry in the central directory (compressed size at +20, size at +24).
        let cd = Int(zip[zip.count - 6]) | Int(zip[zip.count - 5]) << 8
        let second = cd + 46 + "archive/data.pkl".utf8.count
        for field in [20, 24] { zip.replaceSubrange((second + field)..<(second + field + 4), with: [0, 0, 0x10, 0]) }
        let path = dir.path("overrun.pth")
        try write(zip, to: path)
        #expect(throws: CheckpointError.truncated(file: path, "zip entry 'archive/data/0' ends past end of file")) {
            try ZipArchive(path: path)
        }
    }

    @Test func compressedEntryIsRefused() throws {
        let path = dir.path("deflated.pth")
        try write(StoredZipWriter.encode([.init(name: "archive/data.pkl", bytes: [0x80, 2, 0x7D, 0x2E], method: 8)]), to: path)
        #expect(throws: CheckpointError.compressedEntry(file: path, entry: "archive/data.pkl", method: 8)) {
            try TorchCheckpoint(path: path)
        }
    }

    @Test func corruptPickleFailsItsChecksum() throws {
        var bytes = Array(try Data(contentsOf: fixtureURL))
        let archive = try ZipArchive(path: fixturePath)
        let pickle = try #require(archive.entry("checkpoint/data.pkl"))
        bytes[pickle.dataOffset + 6] ^= 0x20  // 'epoch' -> 'Epoch'
        let path = dir.path("flipped.pth")
        try write(bytes, to: path)
        #expect(throws: CheckpointError.malformedZip(file: path, "entry 'checkpoint/data.pkl' fails its CRC-32 check")) {
            try TorchCheckpoint(path: path)
        }
    }

    @Test func archiveWithoutPickle() throws {
        let path = dir.path("nopickle.pth")
        try write(StoredZipWriter.encode([.init(name: "archive/version", bytes: Array("3\n".utf8))]), to: path)
        #expect(throws: CheckpointError.missingEntry(file: path, entry: "<archive>/data.pkl")) { try TorchCheckpoint(path: path) }
    }

    @Test func removedTensorIsMissingByTheKeyAsked() throws {
        let path = dir.path("removed.pth")
        try CheckpointSurgery.removingTensor("ViT_model.visual.proj", from: fixtureURL, to: path)
        let ckpt = try TorchCheckpoint(path: path)
        #expect(ckpt.tensorNames.count == 169)
        #expect(throws: CheckpointError.missingTensor("ViT_model.visual.proj", file: path)) { try ckpt.floats("ViT_model.visual.proj") }
        #expect(throws: CheckpointError.missingTensor("ViT_model.visual.proj", file: path)) { try ckpt.tensorInfo("ViT_model.visual.proj") }
        #expect(CheckpointError.missingTensor("ViT_model.visual.proj", file: "model.pth").description
            == "missing tensor 'ViT_model.visual.proj' in model.pth")
    }

    @Test func renamedTensorIsMissingUnderItsOldName() throws {
        let path = dir.path("renamed.pth")
        try CheckpointSurgery.renamingTensor("model_state_dict.bn.weight", toKey: "bn.gamma", from: fixtureURL, to: path)
        let ckpt = try TorchCheckpoint(path: path)
        #expect(!ckpt.contains("model_state_dict.bn.weight"))
        #expect(ckpt.shape(of: "model_state_dict.bn.gamma") == [26])
        #expect(throws: CheckpointError.missingTensor("model_state_dict.bn.weight", file: path)) {
            try ckpt.floats("model_state_dict.bn.weight", shape: [26])
        }
    }

    @Test func reshapedTensorHasTheWrongShape() throws {
        let path = dir.path("reshaped.pth")
        try CheckpointSurgery.changingShape(of: "ViT_model.visual.conv1.weight", to: [64, 3, 14, 14], from: fixtureURL, to: path)
        let ckpt = try TorchCheckpoint(path: path)
        let error = CheckpointError.wrongShape("ViT_model.visual.conv1.weight", file: path, expected: [128, 3, 14, 14], found: [64, 3, 14, 14])
        #expect(throws: error) { try ckpt.floats("ViT_model.visual.conv1.weight", shape: [128, 3, 14, 14]) }
        #expect(CheckpointError.wrongShape("visual.conv1.weight", file: "model.pth", expected: [128, 3, 14, 14], found: [64, 3, 14, 14]).description
            == "tensor 'visual.conv1.weight' in model.pth has shape [64, 3, 14, 14], expected [128, 3, 14, 14]")
        // The first half of the storage, unchanged.
        #expect(try ckpt.floats("ViT_model.visual.conv1.weight")
            == Array(try TorchCheckpoint(path: fixturePath).floats("ViT_model.visual.conv1.weight").prefix(64 * 588)))
    }

    @Test func tensorLargerThanItsStorage() throws {
        let path = dir.path("enlarged.pth")
        try CheckpointSurgery.changingShape(of: "ViT_model.visual.conv1.weight", to: [129, 3, 14, 14], from: fixtureURL, to: path)
        #expect(throws: CheckpointError.outOfBounds("ViT_model.visual.conv1.weight", file: path, needed: 129 * 588 * 2, available: 128 * 588 * 2)) {
            try TorchCheckpoint(path: path)
        }
    }

    @Test func storageLargerThanItsEntry() throws {
        let path = dir.path("storage.pth")
        try CheckpointSurgery.editingTensor("model_state_dict.bn.weight", from: fixtureURL, to: path) { $0.storage.count = 1000 }
        #expect(throws: CheckpointError.outOfBounds("model_state_dict.bn.weight", file: path, needed: 4000, available: 104)) {
            try TorchCheckpoint(path: path)
        }
    }

    @Test func storageEntryMissing() throws {
        let path = dir.path("nostorage.pth")
        try CheckpointSurgery.editingTensor("model_state_dict.bn.weight", from: fixtureURL, to: path) { $0.storage.key = "9999" }
        #expect(throws: CheckpointError.missingEntry(file: path, entry: "checkpoint/data/9999")) { try TorchCheckpoint(path: path) }
    }

    @Test func negativeStrideIsInvalid() throws {
        let path = dir.path("negative.pth")
        try CheckpointSurgery.editingTensor("model_state_dict.bn.weight", from: fixtureURL, to: path) { $0.stride = [-1] }
        #expect(throws: CheckpointError.invalidTensor("model_state_dict.bn.weight", file: path,
                                                      "negative or overflowing shape [26], stride [-1], offset 0")) {
            try TorchCheckpoint(path: path)
        }
    }

    @Test func unsupportedStorageTypeFailsOnlyThatTensor() throws {
        let path = dir.path("complex.pth")
        try CheckpointSurgery.editingTensor("model_state_dict.bn.bias", from: fixtureURL, to: path) { $0.storage.typeName = "ComplexFloatStorage" }
        let ckpt = try TorchCheckpoint(path: path)
        #expect(ckpt.shape(of: "model_state_dict.bn.bias") == [26])
        #expect(throws: CheckpointError.unsupportedDType("model_state_dict.bn.bias", file: path, dtype: "ComplexFloatStorage")) {
            try ckpt.floats("model_state_dict.bn.bias")
        }
        #expect(try ckpt.floats("model_state_dict.bn.weight").count == 26)
    }

    @Test func unknownOpcodeIsNamedWithItsOffset() throws {
        let path = dir.path("opcode.pth")
        try write(StoredZipWriter.encode([.init(name: "archive/data.pkl", bytes: [0x80, 2, 0x7D, 0xFF, 0x2E])]), to: path)
        let error = CheckpointError.unsupportedOpcode(file: path, entry: "archive/data.pkl", opcode: 0xFF, offset: 3)
        #expect(throws: error) { try TorchCheckpoint(path: path) }
        #expect(CheckpointError.unsupportedOpcode(file: "evil.pth", entry: "data.pkl", opcode: 0x93, offset: 1234).description
            == "evil.pth: data.pkl: unsupported pickle opcode 0x93 at offset 1234")
    }

    @Test func topLevelThatIsNotADict() throws {
        let path = dir.path("list.pth")
        try write(StoredZipWriter.encode([.init(name: "archive/data.pkl", bytes: PickleWriter.encode(.list([.int(1)])))]), to: path)
        #expect(throws: CheckpointError.notACheckpoint(file: path, found: "a list")) { try TorchCheckpoint(path: path) }
    }

    @Test func osSystemPickleRunsNothing() throws {
        let marker = dir.path("pwned-\(UUID().uuidString)")
        let path = dir.path("evil.pth")
        try CheckpointSurgery.writeOSSystemCheckpoint(command: "touch \(marker)", to: path)
        #expect(throws: CheckpointError.notExecuted(file: path, global: "posix.system")) { try TorchCheckpoint(path: path) }
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(CheckpointError.notExecuted(file: "evil.pth", global: "posix.system").description
            == "evil.pth: the pickle's top-level object is a call to 'posix.system', which was not executed (pard never runs pickled code)")

        // The call is recorded, inert.
        let value = try PickleReader.parse(CheckpointSurgery.osSystemPickle(command: "touch \(marker)"))
        #expect(value == .object(PickleObject(callee: .global(PickleGlobal("posix", "system")), args: [.string("touch \(marker)")])))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func nestedCallsStayInertInsideAGoodCheckpoint() throws {
        let marker = dir.path("pwned-\(UUID().uuidString)")
        let path = dir.path("nested.pth")
        let evil = try PickleReader.parse(CheckpointSurgery.osSystemPickle(command: "touch \(marker)"))
        try CheckpointSurgery.rewrite(fixtureURL, to: path) { root in
            guard case .dict(var entries) = root else { return }
            entries.append(.init(.string("payload"), evil))
            root = .dict(entries)
        }
        let ckpt = try TorchCheckpoint(path: path)
        #expect(ckpt.tensorNames.count == 170)
        #expect(ckpt.value(at: ["payload"]) == evil)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
