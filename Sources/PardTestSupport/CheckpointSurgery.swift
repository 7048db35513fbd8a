import Foundation
import PardCheckpoint

/// Derives malformed or altered `.pth` files from a good one, at test time: byte-level damage (cut,
/// wrong magic) and edits of the unpickled tree (tensor removed, renamed, reshaped, re-strided) written
/// back with `PickleWriter` into a fresh stored zip with correct CRC-32s. Dotted paths are as in
/// `TorchCheckpoint.tensorNames` (`ViT_model.visual.proj`: key `visual.proj` of dict `ViT_model`).
public enum CheckpointSurgery {
    /// What went wrong deriving a file.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    // MARK: - Byte-level damage

    /// The first `bytes` bytes of `source`, as a real cut-short download would be.
    public static func truncatedCopy(of source: URL, keeping bytes: Int, to destination: String) throws {
        let data = try Data(contentsOf: source)
        try data.prefix(bytes).write(to: URL(fileURLWithPath: destination))
    }

    /// The first `bytes` bytes of `source` followed by its last `tail` bytes (the end records): a cut
    /// whose end-of-central-directory record survived, so the directory it points to lies past the end.
    public static func cutCopy(of source: URL, keeping bytes: Int, tail: Int, to destination: String) throws {
        let data = try Data(contentsOf: source)
        try (data.prefix(bytes) + data.suffix(tail)).write(to: URL(fileURLWithPath: destination))
    }

    /// `source` with its first four bytes (the zip magic `PK\3\4`) replaced by `magic`.
    public static func wrongMagicCopy(of source: URL, magic: [UInt8] = Array("NOZP".utf8), to destination: String) throws {
        var data = try Data(contentsOf: source)
        data.replaceSubrange(0..<min(4, data.count), with: magic.prefix(4))
        try data.write(to: URL(fileURLWithPath: destination))
    }

    // MARK: - Malicious pickles

    /// The pickle `posix.system(command)` (what `pickle.dumps` makes of an object whose `__reduce__`
    /// returns `(os.system, (command,))`), built by hand.
    public static func osSystemPickle(command: String) -> [UInt8] {
        let c = Array(command.utf8)
        return [0x80, 2] + Array("cposix\nsystem\n".utf8) + [0x58] + le(UInt64(c.count), 4) + c + [0x85, 0x52, 0x2E]
    }

    /// A `.pth` (zip with `archive/data.pkl`) whose pickle calls `os.system(command)` when unpickled by Python.
    public static func writeOSSystemCheckpoint(command: String, to destination: String) throws {
        let zip = StoredZipWriter.encode([
            .init(name: "archive/data.pkl", bytes: osSystemPickle(command: command)),
            .init(name: "archive/version", bytes: Array("3\n".utf8)),
        ])
        try Data(zip).write(to: URL(fileURLWithPath: destination))
    }

    // MARK: - Tree edits

    /// Rewrites `source` into `destination` with its unpickled object changed by `edit`; every other
    /// entry is copied as is. With `zip64`, the new archive uses zip64 records throughout.
    public static func rewrite(_ source: URL, to destination: String, zip64: Bool = false,
                               _ edit: (inout PickleValue) throws -> Void) throws {
        let archive = try ZipArchive(path: source.path)
        guard let pickle = archive.entries.first(where: { $0.name.hasSuffix("data.pkl") }) else {
            throw Failure(description: "\(source.path): no data.pkl")
        }
        var root = try PickleReader.parse(try archive.data(pickle), file: source.path, entry: pickle.name)
        try edit(&root)
        var entries: [StoredZipWriter.Entry] = []
        for e in archive.entries {
            if e.name == pickle.name {
                entries.append(.init(name: e.name, bytes: PickleWriter.encode(root)))
            } else {
                entries.append(.init(name: e.name, bytes: try archive.data(e).array, crc32: e.crc32))  // unchanged: CRC as recorded
            }
        }
        try Data(StoredZipWriter.encode(entries, zip64: zip64)).write(to: URL(fileURLWithPath: destination))
    }

    /// A copy without the tensor at dotted path `name`.
    public static func removingTensor(_ name: String, from source: URL, to destination: String) throws {
        try rewrite(source, to: destination) { root in
            try editEntry(name, in: &root) { entries, i in entries.remove(at: i) }
        }
    }

    /// A copy where the dict key holding the tensor at `name` is renamed to `newKey`
    /// (`renamingTensor("ViT_model.visual.proj", toKey: "visual.projection", ...)`).
    public static func renamingTensor(_ name: String, toKey newKey: String, from source: URL, to destination: String) throws {
        try rewrite(source, to: destination) { root in
            try editEntry(name, in: &root) { entries, i in entries[i].key = .string(newKey) }
        }
    }

    /// A copy where the tensor at `name` is changed by `edit` (shape, strides, offset, storage).
    public static func editingTensor(_ name: String, from source: URL, to destination: String,
                                     _ edit: @escaping (inout TorchTensor) -> Void) throws {
        try rewrite(source, to: destination) { root in
            try editEntry(name, in: &root) { entries, i in
                guard case .tensor(var t) = entries[i].value else { return }
                edit(&t)
                entries[i].value = .tensor(t)
            }
        }
    }

    /// A copy where the tensor at `name` claims `shape` (contiguous strides, same storage).
    public static func changingShape(of name: String, to shape: [Int], from source: URL, to destination: String) throws {
        try editingTensor(name, from: source, to: destination) { t in
            t.shape = shape
            t.stride = TorchTensor.contiguousStrides(shape)
        }
    }

    /// Finds the dict entry at dotted path `path` (keys may contain dots) and lets `edit` change the entries
    /// of the dict holding it. Throws if there is no such entry.
    public static func editEntry(_ path: String, in value: inout PickleValue,
                                 _ edit: (inout [PickleValue.Entry], Int) -> Void) throws {
        guard case .dict(var entries) = value else { throw Failure(description: "no dict on the way to '\(path)'") }
        for i in entries.indices {
            guard case .string(let key) = entries[i].key else { continue }
            if key == path {
                edit(&entries, i)
                value = .dict(entries)
                return
            }
            if path.hasPrefix(key + "."), case .dict = entries[i].value {
                try editEntry(String(path.dropFirst(key.count + 1)), in: &entries[i].value, edit)
                value = .dict(entries)
                return
            }
        }
        throw Failure(description: "no entry '\(path)'")
    }
}
