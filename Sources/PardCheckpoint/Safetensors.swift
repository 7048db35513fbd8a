#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A safetensors file read in place (memory-mapped): an 8-byte little-endian header length N, N bytes of
/// JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the
/// data, offsets counted from the end of the header. Every entry's dtype, shape and byte range are
/// checked when the file is opened.
public final class SafetensorsFile: TensorSource {
    /// The mapped file.
    public let file: MappedFile
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Tensor names in data order.
    public let tensorNames: [String]
    private let entries: [String: Entry]

    private struct Entry {
        let dtypeCode: String  // as written, e.g. F16
        let shape: [Int]
        let dataOffset: Int  // from the start of the file, bytes
    }

    public var path: String { file.path }

    /// The largest JSON header read: 100 MB, the limit of the reference implementation (`safetensors`'
    /// `MAX_HEADER_SIZE`). Decoding copies it and builds its objects: a few times its size in memory.
    public static let maximumHeaderBytes = 100_000_000

    /// Maps and indexes the file at `path`.
    public init(path: String) throws(CheckpointError) {
        let file = try MappedFile(path: path)
        self.file = file
        let b = file.raw
        guard let n64 = b.le(UInt64.self, at: 0) else { throw .truncated(file: path, "no safetensors header length") }
        guard n64 <= UInt64(Self.maximumHeaderBytes) else {
            throw .malformedHeader(file: path, "safetensors header of \(n64) bytes is larger than the limit of "
                                   + "\(Self.maximumHeaderBytes) bytes (SafetensorsFile.maximumHeaderBytes)")
        }
        guard let n = Int(exactly: n64), n <= b.count - 8, let json = b.slice(8, n) else {
            throw .truncated(file: path, "safetensors header of \(n64) bytes ends past end of file")
        }
        let header: [String: HeaderValue]
        do {
            header = try JSONDecoder().decode([String: HeaderValue].self, from: Data(json))
        } catch {
            throw .malformedHeader(file: path, "safetensors header is not a JSON object of tensors and __metadata__")
        }
        let dataStart = 8 + n, dataSize = b.count - dataStart
        var metadata: [String: String] = [:], entries: [String: Entry] = [:], order: [(Int, String)] = []
        for (name, value) in header {
            switch value {
            case .metadata(let m) where name == "__metadata__": metadata = m
            case .tensor(let t) where name != "__metadata__":
                guard t.data_offsets.count == 2, let count = TensorConversion.count(t.shape) else {
                    throw .malformedHeader(file: path, "tensor '\(name)': bad shape \(t.shape) or data_offsets \(t.data_offsets)")
                }
                let begin = t.data_offsets[0], end = t.data_offsets[1]
                guard begin >= 0, begin <= end else {
                    throw .malformedHeader(file: path, "tensor '\(name)': data_offsets \(t.data_offsets) are reversed")
                }
                guard end <= dataSize else { throw .outOfBounds(name, file: path, needed: end, available: dataSize) }
                if let dtype = DType(safetensors: t.dtype) {
                    let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
                    guard !overflow, bytes == end - begin else {
                        throw .invalidTensor(name, file: path,
                                             "data_offsets span \(end - begin) bytes but \(t.dtype) \(t.shape) needs \(overflow ? Int.max : bytes)")
                    }
                }
                entries[name] = Entry(dtypeCode: t.dtype, shape: t.shape, dataOffset: dataStart + begin)
                order.append((begin, name))
            default:
                throw .malformedHeader(file: path, name == "__metadata__"
                    ? "__metadata__ is not a map of strings to strings"
                    : "entry '\(name)' is not a tensor {dtype, shape, data_offsets}")
            }
        }
        self.metadata = metadata
        self.entries = entries
        tensorNames = order.sorted { $0 < $1 }.map(\.1)
    }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    public func tensorInfo(_ name: String) throws(CheckpointError) -> TensorInfo {
        guard let e = entries[name] else { throw .missingTensor(name, file: path) }
        guard let dtype = DType(safetensors: e.dtypeCode) else { throw .unsupportedDType(name, file: path, dtype: e.dtypeCode) }
        return TensorInfo(name: name, dtype: dtype, shape: e.shape)
    }

    public func floats(_ name: String) throws(CheckpointError) -> [Float] {
        let info = try tensorInfo(name)
        guard let e = entries[name], let base = file.raw.baseAddress, info.count > 0 else { return [] }
        return TensorConversion.convert(base + e.dataOffset, info.dtype, count: info.count)
    }

    /// The raw little-endian bytes of `name` (a view of the mapping).
    public func rawBytes(_ name: String) throws(CheckpointError) -> MappedBytes {
        let info = try tensorInfo(name)
        guard let e = entries[name], let bytes = file.slice(offset: e.dataOffset, count: info.count * info.dtype.size) else {
            throw .missingTensor(name, file: path)
        }
        return bytes
    }
}

/// One value of the header object: a tensor, the metadata map, or something else (reported by name).
private enum HeaderValue: Decodable {
    case tensor(TensorHeader)
    case metadata([String: String])
    case other

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let t = try? c.decode(TensorHeader.self) { self = .tensor(t) }
        else if let m = try? c.decode([String: String].self) { self = .metadata(m) }
        else { self = .other }
    }
}

private struct TensorHeader: Codable {
    let dtype: String
    let shape: [Int]
    let data_offsets: [Int]
}

/// Writes safetensors files: tensors in the order given, header padded with spaces to a multiple of 8 bytes.
public enum SafetensorsWriter {
    /// A tensor to write: its raw little-endian bytes must be exactly `shape` elements of `dtype`.
    public struct Tensor: Sendable {
        public var name: String
        public var dtype: DType
        /// Dimensions, outermost first.
        public var shape: [Int]
        /// Raw little-endian element bytes, row-major.
        public var bytes: [UInt8]

        public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
        }

        /// Float values stored as `dtype` (float32 exactly; float16 and bfloat16 rounded to nearest even).
        public init(name: String, shape: [Int], floats: [Float], as dtype: DType = .float32) {
            self.init(name: name, dtype: dtype, shape: shape, bytes: TensorConversion.bytes(floats, as: dtype))
        }
    }

    /// Writes `tensors` and `metadata` to `path` (replaced atomically). Throws `.invalidTensor` when a
    /// tensor's byte count does not match its shape and dtype, or a name repeats.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws(CheckpointError) {
        var seen = Set<String>(), offset = 0
        var header: [String: EncodedValue] = [:]
        if !metadata.isEmpty { header["__metadata__"] = .metadata(metadata) }
        for t in tensors {
            guard t.name != "__metadata__", seen.insert(t.name).inserted else {
                throw .invalidTensor(t.name, file: path, "the name is used twice or reserved")
            }
            guard let count = TensorConversion.count(t.shape), count * t.dtype.size == t.bytes.count else {
                throw .invalidTensor(t.name, file: path, "\(t.bytes.count) bytes given for \(t.dtype) \(t.shape)")
            }
            header[t.name] = .tensor(TensorHeader(dtype: t.dtype.safetensors, shape: t.shape, data_offsets: [offset, offset + t.bytes.count]))
            offset += t.bytes.count
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var json: [UInt8]
        do { json = Array(try encoder.encode(header)) } catch { throw .io(file: path, "cannot encode the header: \(error)") }
        while json.count % 8 != 0 { json.append(0x20) }
        var length = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { length[i] = UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64(i))) }

        let out = try FileOutput(path: path)
        try out.append(length)
        try out.append(json)
        for t in tensors { try out.append(t.bytes) }
        try out.finish()
    }

    private enum EncodedValue: Encodable {
        case tensor(TensorHeader)
        case metadata([String: String])

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .tensor(let t): try c.encode(t)
            case .metadata(let m): try c.encode(m)
            }
        }
    }
}
