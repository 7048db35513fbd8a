/// A PyTorch checkpoint (`torch.save` zip format, PyTorch ≥ 1.6) read in place: `<archive>/data.pkl` is
/// parsed without executing anything and every tensor is a view of a storage entry `<archive>/data/<key>`
/// in the memory-mapped file. Tensors are named by their dotted path from the top-level dict
/// (`ViT_model.visual.conv1.weight`, `model_state_dict.bn.weight`); optimizer states (top-level keys
/// starting with `optimizer`, and any dict holding `state` and `param_groups`) are skipped unread. Every listed tensor's storage, shape and strides are checked
/// against the file when it is opened; values are only read by `floats`.
public final class TorchCheckpoint: TensorSource {
    /// The zip archive.
    public let archive: ZipArchive
    /// The archive's top folder (`checkpoint`, `archive`, ...): the name `torch.save` was given.
    public let archiveName: String
    /// The whole unpickled object.
    public let root: PickleValue
    /// Dotted paths of the tensors, in pickle order, optimizer states excluded.
    public let tensorNames: [String]
    private let located: [String: Located]

    /// A tensor and where its storage starts in the file.
    private struct Located {
        let tensor: TorchTensor
        let dataOffset: Int  // of storage element 0, bytes from the start of the file
    }

    /// The largest `data.pkl` parsed: 64 MiB (a ViT-L checkpoint's is under 100 KiB). Parsing keeps the
    /// pickle's objects, some tens of bytes each per pickle byte at worst, so well under 4 GiB.
    public static let maximumPickleBytes = 64 << 20

    /// Most objects visited listing tensors (shared references can make a small pickle a huge tree).
    static let visitBudget = 10_000_000

    public var path: String { archive.path }

    /// Opens and indexes the checkpoint at `path`.
    public init(path: String) throws(CheckpointError) {
        let archive = try ZipArchive(path: path)
        self.archive = archive
        guard let pickle = archive.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw .missingEntry(file: path, entry: "<archive>/data.pkl")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        archiveName = String(prefix.dropLast())
        if let order = archive.entry(prefix + "byteorder") {
            let text = String(decoding: try archive.data(order).view, as: UTF8.self)
            guard text == "little" else {
                throw .malformedHeader(file: path, "\(order.name) says '\(text)'; only little-endian checkpoints are supported")
            }
        }
        guard pickle.size <= Self.maximumPickleBytes else {
            throw .malformedPickle(file: path, entry: pickle.name, offset: 0,
                                   "pickle of \(pickle.size) bytes is larger than the limit of \(Self.maximumPickleBytes) bytes "
                                   + "(TorchCheckpoint.maximumPickleBytes)")
        }
        try archive.verifyChecksum(pickle)
        let root = try PickleReader.parse(try archive.data(pickle).view, file: path, entry: pickle.name)
        self.root = root

        switch root {
        case .dict: break
        case .object(let o): throw .notExecuted(file: path, global: o.calleeName)
        default: throw .notACheckpoint(file: path, found: root.kindDescription)
        }
        var found: [(String, TorchTensor)] = []
        var budget = Self.visitBudget
        guard Self.collect(root, path: "", depth: 0, into: &found, budget: &budget) else {
            throw .malformedPickle(file: path, entry: pickle.name, offset: 0,
                                   "object graph expands past \(Self.visitBudget) objects through shared references")
        }

        var names: [String] = [], located: [String: Located] = [:]
        for (name, t) in found where located[name] == nil {
            located[name] = try Self.locate(name, t, in: archive, prefix: prefix)
            names.append(name)
        }
        tensorNames = names
        self.located = located
    }

    /// Walks dicts (string or int keys), dict-like objects (`EasyDict`), lists and tuples. False when over budget.
    private static func collect(_ v: PickleValue, path: String, depth: Int, into out: inout [(String, TorchTensor)],
                                budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        func join(_ key: PickleValue) -> String? {
            let k: String
            switch key {
            case .string(let s): k = s
            case .int(let i): k = String(i)
            default: return nil
            }
            return path.isEmpty ? k : "\(path).\(k)"
        }
        var entries: [PickleValue.Entry] = []
        switch v {
        case .tensor(let t): out.append((path, t))
        case .dict(let e): entries = e
        case .object(let o): entries = o.dictItems
        case .list(let xs), .tuple(let xs):
            for (i, x) in xs.enumerated() {
                guard collect(x, path: join(.int(i)) ?? "", depth: depth + 1, into: &out, budget: &budget) else { return false }
            }
        default: break
        }
        if !entries.isEmpty, !isOptimizerState(entries) {
            for e in entries {
                guard let p = join(e.key) else { continue }
                if depth == 0, case .string(let k) = e.key, k.hasPrefix("optimizer") { continue }
                guard collect(e.value, path: p, depth: depth + 1, into: &out, budget: &budget) else { return false }
            }
        }
        return true
    }

    /// `torch.optim.Optimizer.state_dict()`: `{state: {...}, param_groups: [...]}`.
    private static func isOptimizerState(_ entries: [PickleValue.Entry]) -> Bool {
        let keys = entries.map(\.key)
        return keys.contains(.string("state")) && keys.contains(.string("param_groups"))
    }

    /// Checks the tensor against its storage entry and the storage against the file.
    private static func locate(_ name: String, _ t: TorchTensor, in archive: ZipArchive, prefix: String) throws(CheckpointError) -> Located {
        let file = archive.path, entryName = prefix + "data/" + t.storage.key
        guard let entry = archive.entry(entryName) else { throw .missingEntry(file: file, entry: entryName) }
        let bytes = try archive.data(entry)  // stored, inside the file
        guard let extent = TensorConversion.extent(shape: t.shape, stride: t.stride, offset: t.offset) else {
            throw .invalidTensor(name, file: file, "negative or overflowing shape \(t.shape), stride \(t.stride), offset \(t.offset)")
        }
        if let dtype = t.storage.dtype {
            let (storageBytes, overflow) = t.storage.count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, storageBytes <= bytes.count else {
                throw .outOfBounds(name, file: file, needed: overflow ? Int.max : storageBytes, available: bytes.count)
            }
            guard extent <= t.storage.count else {
                throw .outOfBounds(name, file: file, needed: extent * dtype.size, available: storageBytes)
            }
        }
        return Located(tensor: t, dataOffset: entry.dataOffset)
    }

    // MARK: - Lookup

    /// The tensor record at dotted path `name`, if listed.
    public func tensor(_ name: String) -> TorchTensor? { located[name]?.tensor }

    /// The value at a path of dict keys from the root, e.g. `["epoch"]`, `["result", "ma"]`.
    public func value(at keys: [String]) -> PickleValue? {
        var v = root
        for k in keys {
            guard let next = v[k] else { return nil }
            v = next
        }
        return v
    }

    public func shape(of name: String) -> [Int]? { located[name]?.tensor.shape }

    public func tensorInfo(_ name: String) throws(CheckpointError) -> TensorInfo {
        guard let t = located[name]?.tensor else { throw .missingTensor(name, file: path) }
        guard let dtype = t.storage.dtype else { throw .unsupportedDType(name, file: path, dtype: t.storage.typeName) }
        return TensorInfo(name: name, dtype: dtype, shape: t.shape)
    }

    public func floats(_ name: String) throws(CheckpointError) -> [Float] {
        guard let l = located[name] else { throw .missingTensor(name, file: path) }
        let t = l.tensor
        guard let dtype = t.storage.dtype else { throw .unsupportedDType(name, file: path, dtype: t.storage.typeName) }
        guard let base = archive.file.raw.baseAddress else { return [] }  // an empty file has no tensors
        return TensorConversion.floats(base + l.dataOffset, dtype, shape: t.shape, stride: t.stride, offset: t.offset)
    }
}
