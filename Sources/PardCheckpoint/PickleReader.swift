/// Parses Python pickles (protocols 0-5, as torch.save writes them) into a `PickleValue` tree without
/// executing anything: GLOBAL only names a module attribute, REDUCE/NEWOBJ/BUILD only record what would
/// have been called. Known globals (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
/// `torch._utils._rebuild_parameter`, `_codecs.encode`) and torch's storage records (BINPERSID
/// `('storage', torch.HalfStorage, key, location, numel)`) are interpreted; all else stays `.object`.
public struct PickleReader {
    /// Objects nest at most this deep (real checkpoints: under 10).
    public static let maximumDepth = 100

    /// Parses the pickle in `bytes`; `file` and `entry` (e.g. `checkpoint/data.pkl`) label errors.
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String, entry: String) throws(CheckpointError) -> PickleValue {
        var reader = PickleReader(bytes: bytes, file: file, entry: entry)
        defer { reader.dismantle() }
        let root = try reader.run()
        return try reader.freeze(root, depth: 0)
    }

    /// Parses the pickle in a zip entry or other mapped bytes.
    public static func parse(_ bytes: MappedBytes, file: String, entry: String) throws(CheckpointError) -> PickleValue {
        try bytes.withUnsafeBytes { (b) throws(CheckpointError) in try parse(b, file: file, entry: entry) }
    }

    /// Parses a pickle held in memory.
    public static func parse(_ bytes: [UInt8], file: String = "<memory>", entry: String = "pickle") throws(CheckpointError) -> PickleValue {
        try bytes.withUnsafeBytes { b in Result { () throws(CheckpointError) in try parse(b, file: file, entry: entry) } }.get()
    }

    // MARK: - Machine state

    /// A mutable container while parsing: memo entries share it, so later SETITEMS/APPENDS/BUILD are seen
    /// through every reference. Frozen into a `PickleValue` once parsing is done.
    final class Node {
        enum Kind { case list, tuple, dict, set, call(callee: Item, newObject: Bool), persistent }
        var kind: Kind
        let offset: Int
        var items: [Item]               // list, tuple, set elements; call arguments; persistent id
        var pairs: [(Item, Item)] = []  // dict entries; SETITEMS on a call result
        var appended: [Item] = []       // APPENDS on a call result
        var state: Item?                // BUILD on a call result
        var frozen: PickleValue?
        var freezing = false
        init(_ kind: Kind, at offset: Int, _ items: [Item] = []) { self.kind = kind; self.offset = offset; self.items = items }
    }

    enum Item {
        case value(PickleValue)
        case node(Node)
    }

    let b: UnsafeRawBufferPointer
    let file: String, entry: String
    var p = 0
    var at = 0  // offset of the opcode being run
    var stack: [Item] = []
    var marks: [Int] = []
    var memo: [Int: Item] = [:]
    private var nodes: [Node] = []  // every node made, to take them apart without recursion

    private init(bytes: UnsafeRawBufferPointer, file: String, entry: String) {
        self.b = bytes; self.file = file; self.entry = entry
    }

    /// A new node, registered for `dismantle`.
    mutating func node(_ kind: Node.Kind, _ items: [Item] = []) -> Item {
        let n = Node(kind, at: at, items)
        nodes.append(n)
        return .node(n)
    }

    /// Empties every node so that releasing them never recurses through a deep chain (a pickle can nest
    /// lists a million deep in a few megabytes; releasing that chain recursively would overflow the stack).
    private mutating func dismantle() {
        for n in nodes {
            n.kind = .list
            n.items = []; n.pairs = []; n.appended = []; n.state = nil
        }
        stack = []; memo = [:]; nodes = []
    }

    func malformed(_ what: String, at offset: Int? = nil) -> CheckpointError {
        .malformedPickle(file: file, entry: entry, offset: offset ?? at, what)
    }

    // MARK: - Stack

    mutating func push(_ v: PickleValue) { stack.append(.value(v)) }

    mutating func pop() throws(CheckpointError) -> Item {
        guard stack.count > (marks.last ?? 0) else { throw malformed("pickle stack underflow") }
        return stack.removeLast()
    }

    func top() throws(CheckpointError) -> Item {
        guard stack.count > (marks.last ?? 0), let t = stack.last else { throw malformed("pickle stack underflow") }
        return t
    }

    /// The items pushed since the last MARK, removing them and the mark.
    mutating func popMark() throws(CheckpointError) -> [Item] {
        guard let m = marks.popLast() else { throw malformed("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    func string(_ item: Item, _ what: String) throws(CheckpointError) -> String {
        guard case .value(.string(let s)) = item else { throw malformed("\(what) is not a string") }
        return s
    }

    func memoIndex(_ text: String) throws(CheckpointError) -> Int {
        guard let i = Int(text) else { throw malformed("bad memo index '\(text)'") }
        return i
    }

    mutating func get(_ i: Int) throws(CheckpointError) {
        guard let v = memo[i] else { throw malformed("memo entry \(i) read before it was written") }
        stack.append(v)
    }

    mutating func put(_ i: Int) throws(CheckpointError) { memo[i] = try top() }

    /// Adds `items` to the list, set or object on top of the stack.
    func append(_ items: [Item]) throws(CheckpointError) {
        guard case .node(let n) = try top() else { throw malformed("APPEND to something that is not a list") }
        switch n.kind {
        case .list, .set: n.items += items
        case .call: n.appended += items
        case .tuple, .dict, .persistent: throw malformed("APPEND to something that is not a list")
        }
    }

    /// Sets `items` (alternating keys and values) on the dict or object on top of the stack.
    func setItems(_ items: [Item]) throws(CheckpointError) {
        guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items") }
        guard case .node(let n) = try top() else { throw malformed("SETITEM on something that is not a dict") }
        let pairs = stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
        switch n.kind {
        case .dict, .call: n.pairs += pairs
        case .list, .tuple, .set, .persistent: throw malformed("SETITEM on something that is not a dict")
        }
    }
}
