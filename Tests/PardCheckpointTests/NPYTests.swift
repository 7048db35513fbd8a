import Foundation
import PardCheckpoint
import PardTestSupport
import Testing

@Suite struct NPYTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory("npy") }

    @Test func goldenLogitsAndProbsAgree() throws {
        let logits = try NPY.read(Fixtures.url("promptpar-tiny/logits.npy").path)
        let probs = try NPY.read(Fixtures.url("promptpar-tiny/probs.npy").path)
        #expect(logits.shape == [13, 26])
        #expect(probs.shape == [13, 26])
        let worst = zip(logits.values, probs.values).map { abs(1 / (1 + exp(-$0)) - $1) }.max() ?? 1
        #expect(worst < 1e-6)
        #expect(Set(logits.values).count > 300)  // real values, not a constant
    }

    @Test func otherGoldenShapes() throws {
        #expect(try NPY.read(Fixtures.url("promptpar-tiny/text_features.npy").path).shape == [26, 64])
        let tokens = try NPY.read(Fixtures.url("promptpar-tiny/visual_tokens.npy").path)
        #expect(tokens.shape == [13, 311, 64])
        #expect(tokens.values.count == 13 * 311 * 64)
        #expect(try NPY.read(Fixtures.url("promptpar-tiny/inputs.npy").path).shape == [13, 3, 224, 224])
    }

    @Test func roundTrip() throws {
        for shape in [[2, 3], [5], [], [0, 4], [1, 2, 1, 2]] {
            let count = shape.reduce(1, *)
            let array = NPYArray(shape: shape, values: (0..<count).map { Float($0) * 0.5 - 1 })
            let path = dir.path("a\(shape.count).npy")
            try NPY.write(array, to: path)
            #expect(try NPY.read(path) == array)
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(bytes[6] == 1)
            #expect((10 + Int(bytes[8]) + Int(bytes[9]) << 8) % 64 == 0)  // data 64-byte aligned, as numpy writes
        }
        let header = String(decoding: NPY.encode(NPYArray(shape: [5], values: [1, 2, 3, 4, 5])).dropFirst(10), as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"))
    }

    @Test func writerChecksTheCount() {
        let path = dir.path("bad.npy")
        #expect(throws: CheckpointError.invalidTensor("array", file: path, "3 values for shape [2, 2]")) {
            try NPY.write(NPYArray(shape: [2, 2], values: [1, 2, 3]), to: path)
        }
    }

    /// An .npy file of version `major` with header text `dict` and raw `data`.
    private func npy(_ dict: String, _ data: [UInt8], major: UInt8 = 1) throws -> String {
        var header = Array(dict.utf8)
        let prefix = major == 1 ? 10 : 12
        while (prefix + header.count + 1) % 16 != 0 { header.append(0x20) }
        header.append(0x0A)
        let n = header.count
        let length: [UInt8] = major == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : [UInt8(n & 0xFF), UInt8(n >> 8), 0, 0]
        let path = dir.path("v\(UUID().uuidString).npy")
        try write([0x93] + Array("NUMPY".utf8) + [major, 0] + length + header + data, to: path)
        return path
    }

    private func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    @Test func readsFloat64AndInt64AndVersion2() throws {
        let f8 = try npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", le([1.5, -2.25, 1e300].map(\.bitPattern)))
        #expect(try NPY.read(f8) == NPYArray(shape: [3], values: [1.5, -2.25, .infinity]))
        let i8 = try npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", le([Int64(-3), 0, 1 << 40, 7]), major: 2)
        #expect(try NPY.read(i8) == NPYArray(shape: [2, 2], values: [-3, 0, 1_099_511_627_776, 7]))
        let scalar = try npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", le([Float(0.5).bitPattern]), major: 3)
        #expect(try NPY.read(scalar) == NPYArray(shape: [], values: [0.5]))
    }

    @Test func unsupportedLayoutsFail() throws {
        let fortran = try npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", [UInt8](repeating: 0, count: 16))
        #expect(throws: CheckpointError.malformedHeader(file: fortran, "only C-order arrays are supported (fortran_order must be False)")) {
            try NPY.read(fortran)
        }
        let big = try npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0])
        #expect(throws: CheckpointError.unsupportedDType("array", file: big, dtype: ">f4")) { try NPY.read(big) }
        let short = try npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", [0, 0, 0, 0])
        #expect(throws: CheckpointError.truncated(file: short, "npy data of [4] <f4 needs 16 bytes, the file has 4")) { try NPY.read(short) }
        let notNPY = dir.path("x.npy")
        try write(Array("PK\u{3}\u{4} not numpy".utf8), to: notNPY)
        #expect(throws: CheckpointError.malformedHeader(file: notNPY, "not an .npy file (no \\x93NUMPY magic)")) { try NPY.read(notNPY) }
    }
}
