// PickleReader's freezing: the parse-time nodes turned into `PickleValue`s, torch storages and known globals interpreted.

extension PickleReader {
    func freeze(_ item: Item, depth: Int) throws(CheckpointError) -> PickleValue {
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
