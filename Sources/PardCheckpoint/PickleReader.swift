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
    private final class Node {
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

    private enum Item {
        case value(PickleValue)
        case node(Node)
    }

    private let b: UnsafeRawBufferPointer
    private let file: String, entry: String
    private var p = 0
    private var at = 0  // offset of the opcode being run
    private var stack: [Item] = []
    private var marks: [Int] = []
    private var memo: [Int: Item] = [:]
    private var nodes: [Node] = []  // every node made, to take them apart without recursion

    private init(bytes: UnsafeRawBufferPointer, file: String, entry: String) {
        self.b = bytes; self.file = file; self.entry = entry
    }

    /// A new node, registered for `dismantle`.
    private mutating func node(_ kind: Node.Kind, _ items: [Item] = []) -> Item {
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

    private func malformed(_ what: String, at offset: Int? = nil) -> CheckpointError {
        .malformedPickle(file: file, entry: entry, offset: offset ?? at, what)
    }

    // MARK: - Reading operands

    private mutating func take(_ n: Int) throws(CheckpointError) -> UnsafeRawBufferPointer {
        guard let s = b.slice(p, n) else { throw malformed("pickle ends inside the operand of the opcode") }
        p += n
        return s
    }

    private mutating func uint<T: FixedWidthInteger>(_: T.Type) throws(CheckpointError) -> T {
        guard let v = b.le(T.self, at: p) else { throw malformed("pickle ends inside the operand of the opcode") }
        p += MemoryLayout<T>.size
        return v
    }

    /// A length operand that must fit in what is left of the pickle.
    private mutating func length<T: FixedWidthInteger>(_: T.Type) throws(CheckpointError) -> Int {
        let n = try uint(T.self)
        guard let len = Int(exactly: n), len <= b.count - p else { throw malformed("length \(n) runs past the end of the pickle") }
        return len
    }

    /// A newline-terminated text operand (protocol 0 opcodes), without the newline.
    private mutating func line() throws(CheckpointError) -> String {
        var q = p
        while q < b.count, b[q] != 0x0A { q += 1 }
        guard q < b.count, let s = b.slice(p, q - p) else { throw malformed("pickle ends inside a text operand") }
        p = q + 1
        return String(decoding: s, as: UTF8.self)
    }

    private static func utf8(_ s: UnsafeRawBufferPointer) -> String { String(decoding: s, as: UTF8.self) }

    /// Python 2 `str`: text when valid UTF-8, else bytes.
    private static func py2String(_ s: UnsafeRawBufferPointer) -> PickleValue {
        if let text = String(validating: s, as: UTF8.self) { return .string(text) }
        return .bytes(Array(s))
    }

    // MARK: - Stack

    private mutating func push(_ v: PickleValue) { stack.append(.value(v)) }

    private mutating func pop() throws(CheckpointError) -> Item {
        guard stack.count > (marks.last ?? 0) else { throw malformed("pickle stack underflow") }
        return stack.removeLast()
    }

    private func top() throws(CheckpointError) -> Item {
        guard stack.count > (marks.last ?? 0), let t = stack.last else { throw malformed("pickle stack underflow") }
        return t
    }

    /// The items pushed since the last MARK, removing them and the mark.
    private mutating func popMark() throws(CheckpointError) -> [Item] {
        guard let m = marks.popLast() else { throw malformed("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func string(_ item: Item, _ what: String) throws(CheckpointError) -> String {
        guard case .value(.string(let s)) = item else { throw malformed("\(what) is not a string") }
        return s
    }

    private func memoIndex(_ text: String) throws(CheckpointError) -> Int {
        guard let i = Int(text) else { throw malformed("bad memo index '\(text)'") }
        return i
    }

    private mutating func get(_ i: Int) throws(CheckpointError) {
        guard let v = memo[i] else { throw malformed("memo entry \(i) read before it was written") }
        stack.append(v)
    }

    private mutating func put(_ i: Int) throws(CheckpointError) { memo[i] = try top() }

    /// Adds `items` to the list, set or object on top of the stack.
    private func append(_ items: [Item]) throws(CheckpointError) {
        guard case .node(let n) = try top() else { throw malformed("APPEND to something that is not a list") }
        switch n.kind {
        case .list, .set: n.items += items
        case .call: n.appended += items
        case .tuple, .dict, .persistent: throw malformed("APPEND to something that is not a list")
        }
    }

    /// Sets `items` (alternating keys and values) on the dict or object on top of the stack.
    private func setItems(_ items: [Item]) throws(CheckpointError) {
        guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items") }
        guard case .node(let n) = try top() else { throw malformed("SETITEM on something that is not a dict") }
        let pairs = stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
        switch n.kind {
        case .dict, .call: n.pairs += pairs
        case .list, .tuple, .set, .persistent: throw malformed("SETITEM on something that is not a dict")
        }
    }

    // MARK: - The machine

    private mutating func run() throws(CheckpointError) -> Item {
        while true {
            at = p
            guard p < b.count else { throw malformed("pickle ends without STOP") }
            let op = b[p]
            p += 1
            switch op {
            case 0x80: _ = try uint(UInt8.self)  // PROTO
            case 0x95: _ = try uint(UInt64.self)  // FRAME: a length hint only
            case 0x2E: return try pop()  // STOP
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30:  // POP (of the mark when nothing was pushed after it)
                if let m = marks.last, m == stack.count { marks.removeLast() } else { _ = try pop() }
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: stack.append(try top())  // DUP

            // Scalars
            case 0x4E: push(.none)
            case 0x88: push(.bool(true))
            case 0x89: push(.bool(false))
            case 0x49:  // INT (text; 00 and 01 are the protocol 0 bools)
                let t = try line()
                if t == "00" || t == "01" { push(.bool(t == "01")) } else {
                    guard let v = Int(t) else { throw malformed("bad INT '\(t)'") }
                    push(.int(v))
                }
            case 0x4A: push(.int(Int(Int32(bitPattern: try uint(UInt32.self)))))  // BININT
            case 0x4B: push(.int(Int(try uint(UInt8.self))))  // BININT1
            case 0x4D: push(.int(Int(try uint(UInt16.self))))  // BININT2
            case 0x4C:  // LONG (text, optional trailing L)
                var t = try line()
                if t.hasSuffix("L") { t.removeLast() }
                guard let v = Int(t) else { throw malformed("LONG '\(t)' does not fit in 64 bits") }
                push(.int(v))
            case 0x8A: push(.int(try long(try length(UInt8.self))))  // LONG1
            case 0x8B: push(.int(try long(try length(UInt32.self))))  // LONG4
            case 0x46:  // FLOAT (text)
                let t = try line()
                guard let v = Double(t) else { throw malformed("bad FLOAT '\(t)'") }
                push(.float(v))
            case 0x47: push(.float(Double(bitPattern: UInt64(bigEndian: try uint(UInt64.self)))))  // BINFLOAT, big-endian

            // Strings and bytes
            case 0x53: push(.string(try Self.unquote(try line())))  // STRING (text repr)
            case 0x54: push(Self.py2String(try take(try length(UInt32.self))))  // BINSTRING
            case 0x55: push(Self.py2String(try take(try length(UInt8.self))))  // SHORT_BINSTRING
            case 0x56: push(.string(Self.rawUnicodeEscape(try line())))  // UNICODE
            case 0x58: push(.string(Self.utf8(try take(try length(UInt32.self)))))  // BINUNICODE
            case 0x8C: push(.string(Self.utf8(try take(try length(UInt8.self)))))  // SHORT_BINUNICODE
            case 0x8D: push(.string(Self.utf8(try take(try length(UInt64.self)))))  // BINUNICODE8
            case 0x42: push(.bytes(Array(try take(try length(UInt32.self)))))  // BINBYTES
            case 0x43: push(.bytes(Array(try take(try length(UInt8.self)))))  // SHORT_BINBYTES
            case 0x8E, 0x96: push(.bytes(Array(try take(try length(UInt64.self)))))  // BINBYTES8, BYTEARRAY8

            // Containers
            case 0x5D: stack.append(node(.list))  // EMPTY_LIST
            case 0x6C: stack.append(node(.list, try popMark()))  // LIST
            case 0x61: let x = try pop(); try append([x])  // APPEND
            case 0x65: let xs = try popMark(); try append(xs)  // APPENDS
            case 0x29: stack.append(node(.tuple))  // EMPTY_TUPLE
            case 0x74: stack.append(node(.tuple, try popMark()))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                var xs: [Item] = []
                for _ in 0..<Int(op - 0x84) { xs.insert(try pop(), at: 0) }
                stack.append(node(.tuple, xs))
            case 0x7D: stack.append(node(.dict))  // EMPTY_DICT
            case 0x64:  // DICT
                let xs = try popMark()
                stack.append(node(.dict))
                try setItems(xs)
            case 0x73: let v = try pop(), k = try pop(); try setItems([k, v])  // SETITEM
            case 0x75: let xs = try popMark(); try setItems(xs)  // SETITEMS
            case 0x8F: stack.append(node(.set))  // EMPTY_SET
            case 0x90: let xs = try popMark(); try append(xs)  // ADDITEMS
            case 0x91: stack.append(node(.set, try popMark()))  // FROZENSET

            // Globals and calls: recorded, never run
            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                push(.global(PickleGlobal(module, name)))
            case 0x93:  // STACK_GLOBAL
                let name = try string(try pop(), "STACK_GLOBAL name"), module = try string(try pop(), "STACK_GLOBAL module")
                push(.global(PickleGlobal(module, name)))
            case 0x52:  // REDUCE
                let args = try pop(), callee = try pop()
                stack.append(try call(callee, args, newObject: false))
            case 0x81:  // NEWOBJ
                let args = try pop(), cls = try pop()
                stack.append(try call(cls, args, newObject: true))
            case 0x92:  // NEWOBJ_EX (keyword arguments dropped)
                _ = try pop()
                let args = try pop(), cls = try pop()
                stack.append(try call(cls, args, newObject: true))
            case 0x69:  // INST
                let module = try line(), name = try line()
                let args = try popMark()
                stack.append(node(.call(callee: .value(.global(PickleGlobal(module, name))), newObject: false), args))
            case 0x6F:  // OBJ
                let xs = try popMark()
                guard let cls = xs.first else { throw malformed("OBJ without a class") }
                stack.append(node(.call(callee: cls, newObject: true), Array(xs.dropFirst())))
            case 0x62:  // BUILD
                let state = try pop()
                if case .node(let n) = try top(), case .call = n.kind { n.state = state }  // on anything else: ignored

            // Memo
            case 0x70: try put(try memoIndex(try line()))  // PUT
            case 0x71: try put(Int(try uint(UInt8.self)))  // BINPUT
            case 0x72: try put(Int(try uint(UInt32.self)))  // LONG_BINPUT
            case 0x94: try put(memo.count)  // MEMOIZE
            case 0x67: try get(try memoIndex(try line()))  // GET
            case 0x68: try get(Int(try uint(UInt8.self)))  // BINGET
            case 0x6A: try get(Int(try uint(UInt32.self)))  // LONG_BINGET

            // Persistent ids: torch's storages
            case 0x50: stack.append(node(.persistent, [.value(.string(try line()))]))  // PERSID
            case 0x51: stack.append(node(.persistent, [try pop()]))  // BINPERSID

            default:  // EXT1/2/4 (extension registry), NEXT_BUFFER, READONLY_BUFFER, and non-opcodes
                throw .unsupportedOpcode(file: file, entry: entry, opcode: op, offset: at)
            }
        }
    }

    private mutating func call(_ callee: Item, _ args: Item, newObject: Bool) throws(CheckpointError) -> Item {
        guard case .node(let t) = args, case .tuple = t.kind else { throw malformed("call arguments are not a tuple") }
        return node(.call(callee: callee, newObject: newObject), t.items)
    }

    /// Little-endian two's complement integer of `n` bytes (LONG1, LONG4).
    private mutating func long(_ n: Int) throws(CheckpointError) -> Int {
        let s = try take(n)
        guard n <= 8 else { throw malformed("integer of \(n) bytes does not fit in 64 bits") }
        guard n > 0 else { return 0 }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(s[i]) << (8 * UInt64(i)) }
        if n < 8, s[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
        return Int(Int64(bitPattern: v))
    }

    /// The contents of a Python 2 string repr, `'abc'` or `"abc"`, with the common escapes decoded.
    private static func unquote(_ repr: String) throws(CheckpointError) -> String {
        var s = Substring(repr)
        if let q = s.first, q == "'" || q == "\"", s.count >= 2, s.last == q { s = s.dropFirst().dropLast() }
        var out = "", it = s.makeIterator()
        while let c = it.next() {
            guard c == "\\", let e = it.next() else { out.append(c); continue }
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "x":
                let h = String([it.next(), it.next()].compactMap { $0 })
                out.append(Character(Unicode.Scalar(UInt8(h, radix: 16) ?? 0x3F)))
            default: out.append(e)
            }
        }
        return out
    }

    /// Protocol 0 UNICODE operand: latin-1 text with `\uXXXX` and `\UXXXXXXXX` escapes.
    private static func rawUnicodeEscape(_ text: String) -> String {
        var out = "", scalars = Array(text.unicodeScalars), i = 0
        while i < scalars.count {
            if scalars[i] == "\\", i + 1 < scalars.count, scalars[i + 1] == "u" || scalars[i + 1] == "U" {
                let width = scalars[i + 1] == "u" ? 4 : 8
                if i + 2 + width <= scalars.count,
                   let code = UInt32(String(String.UnicodeScalarView(scalars[(i + 2)..<(i + 2 + width)])), radix: 16),
                   let u = Unicode.Scalar(code) {
                    out.unicodeScalars.append(u)
                    i += 2 + width
                    continue
                }
            }
            out.unicodeScalars.append(scalars[i])
            i += 1
        }
        return out
    }

    // MARK: - Freezing and interpretation

    private func freeze(_ item: Item, depth: Int) throws(CheckpointError) -> PickleValue {
        switch item {
        case .value(let v): return v
        case .node(let n): return try freeze(n, depth: depth)
        }
    }

    private func freeze(_ items: [Item], depth: Int) throws(CheckpointError) -> [PickleValue] {
        var out: [PickleValue] = []
        out.reserveCapacity(items.count)
        for x in items { out.append(try freeze(x, depth: depth)) }
        return out
    }

    private func freeze(_ pairs: [(Item, Item)], depth: Int) throws(CheckpointError) -> [PickleValue.Entry] {
        var out: [PickleValue.Entry] = []
        out.reserveCapacity(pairs.count)
        for (k, v) in pairs { out.append(PickleValue.Entry(try freeze(k, depth: depth), try freeze(v, depth: depth))) }
        return out
    }

    private func freeze(_ n: Node, depth: Int) throws(CheckpointError) -> PickleValue {
        if let f = n.frozen { return f }
        guard !n.freezing else { throw malformed("object contains itself", at: n.offset) }
        guard depth < Self.maximumDepth else { throw malformed("objects nested deeper than \(Self.maximumDepth)", at: n.offset) }
        n.freezing = true
        defer { n.freezing = false }
        let d = depth + 1
        let v: PickleValue
        switch n.kind {
        case .list: v = .list(try freeze(n.items, depth: d))
        case .tuple: v = .tuple(try freeze(n.items, depth: d))
        case .set: v = .set(try freeze(n.items, depth: d))
        case .dict: v = .dict(try freeze(n.pairs, depth: d))
        case .persistent: v = try storage(try freeze(n.items, depth: d).first ?? .none, at: n.offset)
        case .call(let callee, let newObject):
            let object = PickleObject(
                callee: try freeze(callee, depth: d), args: try freeze(n.items, depth: d),
                state: try n.state.map { (s) throws(CheckpointError) -> PickleValue in try freeze(s, depth: d) },
                dictItems: try freeze(n.pairs, depth: d), listItems: try freeze(n.appended, depth: d), isNewObject: newObject)
            v = try interpret(object, at: n.offset)
        }
        n.frozen = v
        return v
    }

    /// `('storage', torch.HalfStorage, key, location, numel)` as a storage reference.
    private func storage(_ pid: PickleValue, at offset: Int) throws(CheckpointError) -> PickleValue {
        guard case .tuple(let t) = pid, t.count >= 5, t[0] == .string("storage"), case .global(let type) = t[1],
              case .string(let location) = t[3], case .int(let count) = t[4], count >= 0
        else { throw malformed("unsupported persistent id (torch storages are ('storage', type, key, location, numel))", at: offset) }
        let key: String
        switch t[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw malformed("storage key is not a string", at: offset)
        }
        let typeName = type.module == "torch" ? type.name : type.description
        return .storage(TorchStorage(typeName: typeName, key: key, location: location, count: count))
    }

    /// Known globals as values; any other call stays an inert object.
    private func interpret(_ o: PickleObject, at offset: Int) throws(CheckpointError) -> PickleValue {
        guard case .global(let g) = o.callee else { return .object(o) }
        switch (g.module, g.name) {
        case ("collections", "OrderedDict"):
            var entries: [PickleValue.Entry] = []
            if case .list(let pairs)? = o.args.first {  // OrderedDict([(k, v), ...])
                for p in pairs {
                    guard case .tuple(let kv) = p, kv.count == 2 else { return .object(o) }
                    entries.append(PickleValue.Entry(kv[0], kv[1]))
                }
            }
            return .dict(entries + o.dictItems)
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            let a = o.args
            guard a.count >= 4, case .storage(let s) = a[0], case .int(let off) = a[1],
                  let shape = Self.ints(a[2]), let stride = Self.ints(a[3]), shape.count == stride.count
            else { throw malformed("bad arguments to \(g): expected (storage, offset, size, stride, ...)", at: offset) }
            var requiresGrad = false
            if a.count > 4, case .bool(let r) = a[4] { requiresGrad = r }
            return .tensor(TorchTensor(storage: s, offset: off, shape: shape, stride: stride, requiresGrad: requiresGrad))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            // (data, requires_grad, backward_hooks[, state])
            guard case .tensor(var t)? = o.args.first else { throw malformed("bad arguments to \(g): expected a tensor", at: offset) }
            if o.args.count > 1, case .bool(let r) = o.args[1] { t.requiresGrad = r }
            return .tensor(t)
        case ("_codecs", "encode"):
            // How protocol 2 stores bytes (numpy arrays' data): encode(text, 'latin1').
            guard o.args.count == 2, case .string(let text) = o.args[0], case .string(let enc) = o.args[1],
                  enc == "latin1" || enc == "latin-1" else { return .object(o) }
            var out: [UInt8] = []
            out.reserveCapacity(text.unicodeScalars.count)
            for u in text.unicodeScalars {
                guard u.value <= 0xFF else { return .object(o) }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        default:
            return .object(o)
        }
    }

    /// A tuple or list of ints.
    private static func ints(_ v: PickleValue) -> [Int]? {
        let xs: [PickleValue]
        switch v {
        case .tuple(let t): xs = t
        case .list(let l): xs = l
        default: return nil
        }
        var out: [Int] = []
        for x in xs {
            guard case .int(let i) = x else { return nil }
            out.append(i)
        }
        return out
    }
}
