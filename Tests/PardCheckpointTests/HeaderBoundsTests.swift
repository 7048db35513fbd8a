import Foundation
import PardCheckpoint
import PardTestSupport
import Testing

/// The header bounds of README's "Resource bounds" table: a header claiming more than its limit is refused
/// by its claim, before anything of that size is read or allocated, naming the file and the limit.
@Suite struct HeaderBoundsTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory("header-bounds") }

    /// `value` as `count` little-endian bytes.
    static func le(_ value: UInt64, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    @Test func aZipCentralDirectoryOverItsLimitIsRefusedByItsClaim() throws {
        // A local header, then an end record claiming a directory of 64 MiB + 1 at offset 0.
        let size = UInt64(ZipArchive.maximumCentralDirectoryBytes + 1)
        let bytes = [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 26)
            + [0x50, 0x4B, 0x05, 0x06] + Self.le(0, 4) + Self.le(1, 2) + Self.le(1, 2) + Self.le(size, 4) + Self.le(0, 4) + Self.le(0, 2)
        let path = dir.path("big-directory.pth")
        try write(bytes, to: path)
        #expect(throws: CheckpointError.malformedZip(file: path, "zip central directory of \(size) bytes is larger than the limit of "
                                                     + "\(ZipArchive.maximumCentralDirectoryBytes) bytes (ZipArchive.maximumCentralDirectoryBytes)")) {
            try ZipArchive(path: path)
        }
    }

    @Test func aZipClaimingMoreEntriesThanItsDirectoryHoldsIsRefused() throws {
        let bytes = [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 26)
            + [0x50, 0x4B, 0x05, 0x06] + Self.le(0, 4) + Self.le(60000, 2) + Self.le(60000, 2) + Self.le(46, 4) + Self.le(0, 4) + Self.le(0, 2)
        let path = dir.path("many-entries.pth")
        try write(bytes, to: path)
        #expect(throws: CheckpointError.malformedZip(file: path, "zip central directory of 46 bytes cannot hold the 60000 entries it claims")) {
            try ZipArchive(path: path)
        }
    }

    @Test func aPickleOverItsLimitIsRefusedBeforeItIsParsed() throws {
        let pickle = [UInt8](repeating: 0x4E, count: TorchCheckpoint.maximumPickleBytes + 1)  // NONE opcodes
        let zip = StoredZipWriter.encode([.init(name: "archive/data.pkl", bytes: pickle, crc32: 0)])
        let path = dir.path("big-pickle.pth")
        try write(zip, to: path)
        #expect(throws: CheckpointError.malformedPickle(file: path, entry: "archive/data.pkl", offset: 0,
                                                        "pickle of \(pickle.count) bytes is larger than the limit of "
                                                        + "\(TorchCheckpoint.maximumPickleBytes) bytes (TorchCheckpoint.maximumPickleBytes)")) {
            try TorchCheckpoint(path: path)
        }
    }

    @Test func aSafetensorsHeaderOverItsLimitIsRefusedByItsClaim() throws {
        let claim = UInt64(SafetensorsFile.maximumHeaderBytes + 1)
        let path = dir.path("big-header.safetensors")
        try write(Self.le(claim, 8) + Array("{}".utf8), to: path)
        #expect(throws: CheckpointError.malformedHeader(file: path, "safetensors header of \(claim) bytes is larger than the limit of "
                                                        + "\(SafetensorsFile.maximumHeaderBytes) bytes (SafetensorsFile.maximumHeaderBytes)")) {
            try SafetensorsFile(path: path)
        }
    }

    @Test func anNPYHeaderOverItsLimitIsRefusedByItsClaim() throws {
        let claim = NPY.maximumHeaderBytes + 1
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0] + Self.le(UInt64(claim), 4) + Array("{'descr': '<f4'}".utf8)
        let path = dir.path("big.npy")
        try write(bytes, to: path)
        #expect(throws: CheckpointError.malformedHeader(file: path, "npy header of \(claim) bytes is larger than the limit of "
                                                        + "\(NPY.maximumHeaderBytes) bytes (NPY.maximumHeaderBytes)")) {
            try NPY.read(path)
        }
    }
}
