/// Everything that can go wrong reading or writing a checkpoint or tensor file. Every case carries the
/// offending input (file, entry, tensor name, opcode and offset, shapes) and `description` is one line.
public enum CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be opened, mapped, created or written (file, what the OS said).
    case io(file: String, String)
    /// The file does not start with a zip local-file header.
    case notZip(file: String)
    /// A torch.save file from before PyTorch 1.6 (a bare pickle stream, not a zip).
    case legacyTorchFormat(file: String)
    /// A structure ends past the end of the file (file, which structure).
    case truncated(file: String, String)
    /// The zip structure is inconsistent (file, what is wrong).
    case malformedZip(file: String, String)
    /// A zip entry is compressed; torch.save only writes stored entries (file, entry, zip method number).
    case compressedEntry(file: String, entry: String, method: Int)
    /// A zip entry the format needs is absent (file, entry or pattern).
    case missingEntry(file: String, entry: String)
    /// The pickle uses an opcode pard does not parse (file, pickle entry, opcode byte, byte offset in the pickle).
    case unsupportedOpcode(file: String, entry: String, opcode: UInt8, offset: Int)
    /// The pickle is malformed (file, pickle entry, byte offset in the pickle, what is wrong).
    case malformedPickle(file: String, entry: String, offset: Int, String)
    /// The pickle's top-level object is a call pard refuses to run (file, qualified name such as `posix.system`).
    case notExecuted(file: String, global: String)
    /// The top-level object is not a dict of tensors (file, what it is).
    case notACheckpoint(file: String, found: String)
    /// A tensor asked for is not in the file (tensor name as asked, file).
    case missingTensor(String, file: String)
    /// A tensor has another shape than the caller expects (name, file, expected, found).
    case wrongShape(String, file: String, expected: [Int], found: [Int])
    /// A tensor's element type cannot be converted to Float (name, file, dtype as written in the file).
    case unsupportedDType(String, file: String, dtype: String)
    /// A tensor's elements lie outside its storage or file region (name, file, bytes needed, bytes available).
    case outOfBounds(String, file: String, needed: Int, available: Int)
    /// A safetensors or npy header is malformed (file, what is wrong).
    case malformedHeader(file: String, String)
    /// A tensor is described inconsistently: values given to a writer that do not match the declared shape,
    /// negative strides in a checkpoint (file, tensor, what is wrong).
    case invalidTensor(String, file: String, String)

    public var description: String {
        switch self {
        case .io(let file, let why): "\(file): \(why)"
        case .notZip(let file): "\(file): not a zip archive (PyTorch checkpoints are zip files)"
        case .legacyTorchFormat(let file):
            "\(file): legacy torch.save format (PyTorch < 1.6, not a zip archive); re-save it with a current PyTorch"
        case .truncated(let file, let what): "\(file): truncated: \(what)"
        case .malformedZip(let file, let what): "\(file): malformed zip archive: \(what)"
        case .compressedEntry(let file, let entry, let method):
            "\(file): zip entry '\(entry)' is compressed (method \(method)); only stored entries are supported, as torch.save writes them"
        case .missingEntry(let file, let entry): "\(file): no zip entry '\(entry)'"
        case .unsupportedOpcode(let file, let entry, let opcode, let offset):
            "\(file): \(entry): unsupported pickle opcode 0x\(hex(opcode)) at offset \(offset)"
        case .malformedPickle(let file, let entry, let offset, let what): "\(file): \(entry): \(what) at offset \(offset)"
        case .notExecuted(let file, let global):
            "\(file): the pickle's top-level object is a call to '\(global)', which was not executed (pard never runs pickled code)"
        case .notACheckpoint(let file, let found): "\(file): not a checkpoint: the top-level object is \(found), not a dict of tensors"
        case .missingTensor(let name, let file): "missing tensor '\(name)' in \(file)"
        case .wrongShape(let name, let file, let expected, let found):
            "tensor '\(name)' in \(file) has shape \(found), expected \(expected)"
        case .unsupportedDType(let name, let file, let dtype): "tensor '\(name)' in \(file) has unsupported dtype \(dtype)"
        case .outOfBounds(let name, let file, let needed, let available):
            "tensor '\(name)' in \(file) needs \(needed) bytes but its storage has \(available)"
        case .malformedHeader(let file, let what): "\(file): malformed header: \(what)"
        case .invalidTensor(let name, let file, let what): "\(file): tensor '\(name)': \(what)"
        }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
