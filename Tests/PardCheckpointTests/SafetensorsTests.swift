import Foundation
import PardCheckpoint
import PardTestSupport
import Testing

@Suite struct SafetensorsTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory("safetensors") }

    @Test func roundTripOfEveryWrittenDType() throws {
        let path = dir.path("model.safetensors")
        let values: [Float] = [0, 1, -2.5, 3.25, 1e-3, -65504, 0.1, 7]
        let metadata = [
            "attributes": #"["A female pedestrian","A pedestrian \"over\" 60"]"#,
            "flags": "--use_div\n--use_GL",
            "note": "ünïcode / slashes \\ and tabs\t",
        ]
        try SafetensorsWriter.write([
            .init(name: "visual.proj", shape: [2, 4], floats: values),
            .init(name: "half", shape: [8], floats: values, as: .float16),
            .init(name: "brain", shape: [4, 2], floats: values, as: .bfloat16),
            .init(name: "bn.num_batches_tracked", shape: [], floats: [12345], as: .int64),
            .init(name: "double", shape: [8], floats: values, as: .float64),
            .init(name: "empty", shape: [0, 3], floats: []),
        ], metadata: metadata, to: path)

        let file = try SafetensorsFile(path: path)
        #expect(file.metadata == metadata)
        #expect(file.tensorNames == ["visual.proj", "half", "brain", "bn.num_batches_tracked", "double", "empty"])
        #expect(try file.tensorInfo("visual.proj") == TensorInfo(name: "visual.proj", dtype: .float32, shape: [2, 4]))
        #expect(try file.floats("visual.proj", shape: [2, 4]) == values)
        #expect(try file.tensorInfo("half").dtype == .float16)
        #expect(try file.floats("half") == values.map { Float(Float16($0)) })
        #expect(try file.floats("brain") == [0, 1, -2.5, 3.25, 0.00099945068359375, -65536, 0.10009765625, 7])  // torch .to(bfloat16)
        #expect(try file.floats("bn.num_batches_tracked") == [12345])
        #expect(try file.tensorInfo("bn.num_batches_tracked").shape == [])
        #expect(try file.floats("double") == values)
        #expect(try file.floats("empty") == [])

        // Layout: u64 header length, multiple of 8; data right after.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        #expect(bytes.count == 8 + headerLength + 4 * 8 + 2 * 8 + 2 * 8 + 8 + 8 * 8)
    }

    @Test func everyHalfBitPatternConvertsExactly() throws {
        let path = dir.path("halves.safetensors")
        let patterns = (0...0xFFFF).map { UInt16($0) }
        try SafetensorsWriter.write([.init(name: "all", dtype: .float16, shape: [65536],
                                           bytes: patterns.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })], to: path)
        let values = try SafetensorsFile(path: path).floats("all")
        var mismatches = 0
        for (h, v) in zip(patterns, values) {
            let expected = Float(Float16(bitPattern: h))
            if expected.isNaN ? !v.isNaN : expected.bitPattern != v.bitPattern { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func floatToHalfRoundsLikeFloat16() throws {
        let path = dir.path("rounding.safetensors")
        var inputs: [Float] = [0, -0, 1, 65504, 65519.99, 65520, 1e9, -1e9, .infinity, -.infinity, 5.96e-8, 2.98e-8, 2.99e-8, 1e-10,
                               6.1e-5, 6.097555e-5, 1.00048828125, 1.000732421875, 1.0009765625 + 0.00048828125]
        var x: UInt32 = 0x1234_5678
        for _ in 0..<5000 {  // assorted magnitudes
            x = x &* 1_664_525 &+ 1_013_904_223
            inputs.append(Float(bitPattern: (x & 0x8FFF_FFFF) | 0x3000_0000) * (x & 1 == 0 ? 1e-3 : 1e3))
        }
        try SafetensorsWriter.write([.init(name: "h", shape: [inputs.count], floats: inputs, as: .float16)], to: path)
        let raw = try SafetensorsFile(path: path).rawBytes("h").array
        let bits = stride(from: 0, to: raw.count, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
        #expect(bits == inputs.map { Float16($0).bitPattern })
    }

    @Test func missingAndWrongShapeNameTheTensor() throws {
        let path = dir.path("m.safetensors")
        try SafetensorsWriter.write([.init(name: "bn.weight", shape: [26], floats: [Float](repeating: 1, count: 26))], to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata.isEmpty)
        #expect(throws: CheckpointError.missingTensor("bn.bias", file: path)) { try file.floats("bn.bias") }
        #expect(throws: CheckpointError.wrongShape("bn.weight", file: path, expected: [27], found: [26])) { try file.floats("bn.weight", shape: [27]) }
    }

    @Test func writerChecksByteCountsAndNames() {
        let path = dir.path("bad.safetensors")
        #expect(throws: CheckpointError.invalidTensor("x", file: path, "12 bytes given for float32 [2, 2]")) {
            try SafetensorsWriter.write([.init(name: "x", dtype: .float32, shape: [2, 2], bytes: [UInt8](repeating: 0, count: 12))], to: path)
        }
        #expect(throws: CheckpointError.invalidTensor("x", file: path, "the name is used twice or reserved")) {
            try SafetensorsWriter.write([.init(name: "x", shape: [1], floats: [1]), .init(name: "x", shape: [1], floats: [2])], to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A file with the given JSON header and `data` after it.
    private func file(_ json: String, data: [UInt8] = [], declaredLength: UInt64? = nil) throws -> String {
        let path = dir.path("h\(UUID().uuidString).safetensors")
        let header = Array(json.utf8)
        let n = declaredLength ?? UInt64(header.count)
        try write((0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + header + data, to: path)
        return path
    }

    @Test func malformedFilesFailWithTheirErrors() throws {
        let short = try file("{}", declaredLength: 1000)
        #expect(throws: CheckpointError.truncated(file: short, "safetensors header of 1000 bytes ends past end of file")) {
            try SafetensorsFile(path: short)
        }
        let notJSON = try file("{\"a\": ")
        #expect(throws: CheckpointError.malformedHeader(file: notJSON, "safetensors header is not a JSON object of tensors and __metadata__")) {
            try SafetensorsFile(path: notJSON)
        }
        let notTensor = try file(#"{"a": {"dtype": "F32"}}"#)
        #expect(throws: CheckpointError.malformedHeader(file: notTensor, "entry 'a' is not a tensor {dtype, shape, data_offsets}")) {
            try SafetensorsFile(path: notTensor)
        }
        let badMetadata = try file(#"{"__metadata__": {"n": 1}}"#)
        #expect(throws: CheckpointError.malformedHeader(file: badMetadata, "__metadata__ is not a map of strings to strings")) {
            try SafetensorsFile(path: badMetadata)
        }
        let past = try file(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: [0, 0, 0, 0])
        #expect(throws: CheckpointError.outOfBounds("a", file: past, needed: 8, available: 4)) { try SafetensorsFile(path: past) }
        let span = try file(#"{"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])
        #expect(throws: CheckpointError.invalidTensor("a", file: span, "data_offsets span 4 bytes but F16 [3] needs 6")) {
            try SafetensorsFile(path: span)
        }
        let odd = try file(#"{"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}"#, data: [UInt8](repeating: 0, count: 8))
        let f = try SafetensorsFile(path: odd)
        #expect(throws: CheckpointError.unsupportedDType("a", file: odd, dtype: "C64")) { try f.floats("a") }
    }

    @Test func unalignedDataIsRead() throws {
        // A 5-byte header puts F16 and F32 data at odd offsets.
        var data: [UInt8] = [0x00, 0x3C]  // 1.0 as F16
        data += Array(withUnsafeBytes(of: Float(-3.5).bitPattern.littleEndian) { Array($0) })
        let path = try file(#"{"h": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}, "f": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}"#, data: data)
        let f = try SafetensorsFile(path: path)
        #expect(try f.floats("h") == [1])
        #expect(try f.floats("f") == [-3.5])
    }
}
