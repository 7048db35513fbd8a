/// A Python object as a pickle describes it, built without running anything. Calls to globals pard
/// knows (`collections.OrderedDict`, torch's tensor rebuilders, `_codecs.encode`) are interpreted; every
/// other call stays an inert `.object` recording what would have been called.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    /// A set or frozenset, in pickle order.
    case set([PickleValue])
    /// A dict or `collections.OrderedDict`, in insertion order.
    case dict([Entry])
    /// A reference to a module attribute, e.g. `torch.HalfStorage`.
    case global(PickleGlobal)
    /// A call pard did not interpret (never executed): callee, arguments and any state or items given after.
    case object(PickleObject)
    /// A torch storage (a BINPERSID record): which zip entry holds it and its element type.
    case storage(TorchStorage)
    /// A torch tensor: a view (offset, shape, strides) of a storage.
    case tensor(TorchTensor)

    /// One key-value pair of a dict.
    public struct Entry: Sendable, Equatable {
        public var key: PickleValue
        public var value: PickleValue
        public init(_ key: PickleValue, _ value: PickleValue) { self.key = key; self.value = value }
    }

    /// The value for string key `key` of a dict (or of an object's dict items), if any.
    public subscript(key: String) -> PickleValue? {
        let entries: [Entry]
        switch self {
        case .dict(let e): entries = e
        case .object(let o): entries = o.dictItems
        default: return nil
        }
        return entries.first { $0.key == .string(key) }?.value
    }

    /// A short description of the kind of value, for messages (`dict`, `a call to posix.system`, ...).
    public var kindDescription: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int: "an int"
        case .float: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case .list: "a list"
        case .tuple: "a tuple"
        case .set: "a set"
        case .dict: "a dict"
        case .global(let g): "the global \(g)"
        case .object(let o): "a call to \(o.calleeName)"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

/// `module.name` of a pickled global.
public struct PickleGlobal: Sendable, Equatable, CustomStringConvertible {
    public var module: String
    public var name: String
    public init(_ module: String, _ name: String) { self.module = module; self.name = name }
    /// `module.name`.
    public var description: String { "\(module).\(name)" }
}

/// An uninterpreted call `callee(*args)` (REDUCE, NEWOBJ, INST, OBJ), plus whatever the pickle did to
/// the result afterwards (BUILD state, SETITEMS, APPENDS). Nothing was executed.
public struct PickleObject: Sendable, Equatable {
    /// What would have been called: usually `.global`, possibly another object (a call result).
    public var callee: PickleValue
    /// Positional arguments.
    public var args: [PickleValue]
    /// The state given by BUILD (`__setstate__` / `__dict__` update), if any.
    public var state: PickleValue?
    /// Items set by SETITEM(S) on the result (dict subclasses such as `easydict.EasyDict`).
    public var dictItems: [PickleValue.Entry]
    /// Items added by APPEND(S) on the result (list subclasses).
    public var listItems: [PickleValue]
    /// True for NEWOBJ (`cls.__new__(cls, *args)`), false for REDUCE.
    public var isNewObject: Bool

    public init(callee: PickleValue, args: [PickleValue], state: PickleValue? = nil, dictItems: [PickleValue.Entry] = [],
                listItems: [PickleValue] = [], isNewObject: Bool = false) {
        self.callee = callee; self.args = args; self.state = state
        self.dictItems = dictItems; self.listItems = listItems; self.isNewObject = isNewObject
    }

    /// The global ultimately called (`posix.system`), or a description when the callee is not a global.
    public var calleeName: String {
        switch callee {
        case .global(let g): g.description
        case .object(let o): "\(o.calleeName)(...)"
        default: "<\(callee.kindDescription)>"
        }
    }
}

/// A torch storage as recorded by `torch.save`: BINPERSID of `('storage', torch.HalfStorage, key, location, numel)`.
/// Its bytes are the zip entry `<archive>/data/<key>`.
public struct TorchStorage: Sendable, Equatable {
    /// Storage class name, e.g. `HalfStorage` (module `torch`).
    public var typeName: String
    /// Key naming the zip entry `<archive>/data/<key>`.
    public var key: String
    /// Device it was saved from, e.g. `cpu`, `cuda:0` (ignored: pard loads to the CPU).
    public var location: String
    /// Number of elements of the storage's dtype.
    public var count: Int

    public init(typeName: String, key: String, location: String, count: Int) {
        self.typeName = typeName; self.key = key; self.location = location; self.count = count
    }

    /// The element type, or nil for storages pard cannot convert (complex, quantized).
    public var dtype: DType? { DType(torchStorage: typeName) }
}

/// A tensor as `torch._utils._rebuild_tensor_v2` would build it: `shape` elements of `storage` starting at
/// element `offset`, element `i` of dimension `d` at `offset + Σ i_d·stride[d]` (strides in elements).
public struct TorchTensor: Sendable, Equatable {
    public var storage: TorchStorage
    /// Offset of the first element in the storage, elements.
    public var offset: Int
    public var shape: [Int]
    /// Strides, elements.
    public var stride: [Int]
    public var requiresGrad: Bool

    public init(storage: TorchStorage, offset: Int, shape: [Int], stride: [Int], requiresGrad: Bool = false) {
        self.storage = storage; self.offset = offset; self.shape = shape; self.stride = stride; self.requiresGrad = requiresGrad
    }

    /// Row-major strides of `shape`: a tensor with these strides is contiguous.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for d in shape.indices.reversed() { s[d] = acc; acc &*= max(shape[d], 1) }
        return s
    }
}
