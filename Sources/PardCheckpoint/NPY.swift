/// An n-dimensional array of Float, row-major.
public struct NPYArray: Sendable, Equatable {
    /// Dimensions, outermost first; `[]` for a scalar.
    public var shape: [Int]
    /// `shape.reduce(1, *)` values, row-major.
    public var values: [Float]

    public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
}

/// NumPy `.npy` files: magic `\x93NUMPY`, version, a header length (2 bytes in version 1.0, 4 in 2.0 and
/// 3.0), a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (13, 26), }`, then
/// the data. Reads little-endian C-order `f2`, `f4`, `f8`, `i1`-`i8`, `u1`, `b1` as Float; writes `<f4`.
public enum NPY {
    /// The largest header read: 64 KiB, what version 1.0's 16-bit length allows (numpy itself refuses
    /// headers over 10,000 bytes by default); versions 2 and 3 could claim 4 GiB.
    public static let maximumHeaderBytes = 1 << 16

    /// Reads the array at `path`.
    public static func read(_ path: String) throws(CheckpointError) -> NPYArray {
        try MappedFile(path: path).contents.withUnsafeBytes { (b) throws(CheckpointError) in try read(b, file: path) }
    }

    /// Reads an array from the bytes of an `.npy` file; `file` labels errors.
    public static func read(_ b: UnsafeRawBufferPointer, file: String) throws(CheckpointError) -> NPYArray {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard b.count >= 10, Array(b[0..<6]) == magic else { throw .malformedHeader(file: file, "not an .npy file (no \\x93NUMPY magic)") }
        let major = b[6]
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(b.le(UInt16.self, at: 8) ?? 0); start = 10
        case 2, 3:
            guard let n = b.le(UInt32.self, at: 8) else { throw .truncated(file: file, "npy header length") }
            headerLength = Int(n); start = 12
        default: throw .malformedHeader(file: file, "npy version \(major).\(b[7]) is not supported")
        }
        guard headerLength <= maximumHeaderBytes else {
            throw .malformedHeader(file: file, "npy header of \(headerLength) bytes is larger than the limit of \(maximumHeaderBytes) bytes (NPY.maximumHeaderBytes)")
        }
        guard let text = b.slice(start, headerLength) else { throw .truncated(file: file, "npy header ends past end of file") }
        let header = String(decoding: text, as: UTF8.self)

        guard let descr = stringValue(of: "descr", in: header) else { throw .malformedHeader(file: file, "no 'descr' in \(header)") }
        guard let dtype = dtype(descr) else { throw .unsupportedDType("array", file: file, dtype: descr) }
        guard let fortran = literal(after: "fortran_order", in: header), fortran.hasPrefix("False") else {
            throw .malformedHeader(file: file, "only C-order arrays are supported (fortran_order must be False)")
        }
        guard let shape = shapeValue(in: header), let count = TensorConversion.count(shape) else {
            throw .malformedHeader(file: file, "bad 'shape' in \(header)")
        }
        let dataStart = start + headerLength
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, let data = b.slice(dataStart, bytes) else {
            throw .truncated(file: file, "npy data of \(shape) \(descr) needs \(bytes) bytes, the file has \(b.count - dataStart)")
        }
        guard let base = data.baseAddress, count > 0 else { return NPYArray(shape: shape, values: []) }
        return NPYArray(shape: shape, values: TensorConversion.convert(base, dtype, count: count))
    }

    /// The bytes of a version 1.0 `<f4` file (version 2.0 if the header needs it); data 64-byte aligned.
    public static func encode(_ array: NPYArray) -> [UInt8] {
        let dims = array.shape.map(String.init)
        let shape = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }".utf8)
        let version: UInt8 = header.count + 11 <= 0xFFFF ? 1 : 2
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        let n = UInt32(header.count)
        out += version == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : (0..<4).map { UInt8(truncatingIfNeeded: n >> (8 * UInt32($0))) }
        out += header
        out += TensorConversion.bytes(array.values, as: .float32)
        return out
    }

    /// Writes `array` as `<f4` to `path` (replaced atomically). Throws `.invalidTensor` if the value count
    /// does not match the shape.
    public static func write(_ array: NPYArray, to path: String) throws(CheckpointError) {
        guard TensorConversion.count(array.shape) == array.values.count else {
            throw .invalidTensor("array", file: path, "\(array.values.count) values for shape \(array.shape)")
        }
        let out = try FileOutput(path: path)
        try out.append(encode(array))
        try out.finish()
    }

    // MARK: - Header dict literal

    private static func dtype(_ descr: String) -> DType? {
        switch descr {
        case "<f2": .float16
        case "<f4": .float32
        case "<f8": .float64
        case "<i8": .int64
        case "<i4": .int32
        case "<i2": .int16
        case "|i1", "<i1": .int8
        case "|u1", "<u1": .uint8
        case "|b1": .bool
        default: nil
        }
    }

    /// Text following `'key':` (or `"key":`), leading spaces dropped.
    private static func literal(after key: String, in header: String) -> Substring? {
        for q in ["'", "\""] {
            if let r = header.firstRange(of: "\(q)\(key)\(q)") {
                var rest = header[r.upperBound...].drop { $0 == " " }
                guard rest.first == ":" else { return nil }
                rest = rest.dropFirst().drop { $0 == " " }
                return rest
            }
        }
        return nil
    }

    private static func stringValue(of key: String, in header: String) -> String? {
        guard let rest = literal(after: key, in: header), let q = rest.first, q == "'" || q == "\"" else { return nil }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: q) else { return nil }
        return String(body[..<end])
    }

    private static func shapeValue(in header: String) -> [Int]? {
        guard let rest = literal(after: "shape", in: header), rest.first == "(", let end = rest.firstIndex(of: ")") else { return nil }
        var dims: [Int] = []
        for part in rest[rest.index(after: rest.startIndex)..<end].split(separator: ",") {
            let t = part.trimmingCharacters(in: " ")
            if t.isEmpty { continue }
            guard let d = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), d >= 0 else { return nil }
            dims.append(d)
        }
        return dims
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
