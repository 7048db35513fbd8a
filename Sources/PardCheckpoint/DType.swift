/// Element types pard can read and convert to Float. Raw values are PyTorch's names.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float16, bfloat16, float32, float64, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    public var description: String { rawValue }

    /// From a torch storage class name (`HalfStorage`, `FloatStorage`, ...).
    public init?(torchStorage name: String) {
        switch name {
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    /// The torch storage class name (`HalfStorage`, ...).
    public var torchStorage: String {
        switch self {
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        case .float32: "FloatStorage"
        case .float64: "DoubleStorage"
        case .int64: "LongStorage"
        case .int32: "IntStorage"
        case .int16: "ShortStorage"
        case .int8: "CharStorage"
        case .uint8: "ByteStorage"
        case .bool: "BoolStorage"
        }
    }

    /// From a safetensors dtype code (`F16`, `BF16`, `F32`, `F64`, `I64`, `I32`, `I16`, `I8`, `U8`, `BOOL`).
    public init?(safetensors code: String) {
        guard let d = DType.allCases.first(where: { $0.safetensors == code }) else { return nil }
        self = d
    }

    /// The safetensors dtype code.
    public var safetensors: String {
        switch self {
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float32: "F32"
        case .float64: "F64"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }
}
