import PardCheckpoint

/// Writes a `PickleValue` tree back as a protocol 2 pickle (plus BINBYTES and EMPTY_SET/ADDITEMS for
/// bytes and sets), the way torch.save lays out tensors: `_rebuild_tensor_v2` calls over BINPERSID
/// storage records. No memo: shared values are written again. `PickleReader.parse(encode(v)) == v`.
public enum PickleWriter {
    /// The pickle bytes of `value`, from PROTO 2 to STOP.
    public static func encode(_ value: PickleValue) -> [UInt8] {
        var out: [UInt8] = [0x80, 2]
        write(value, into: &out)
        out.append(0x2E)  // STOP
        return out
    }

    private static func write(_ v: PickleValue, into out: inout [UInt8]) {
        switch v {
        case .none: out.append(0x4E)
        case .bool(let b): out.append(b ? 0x88 : 0x89)
        case .int(let i):
            if (0..<256).contains(i) { out += [0x4B, UInt8(i)] }
            else if (0..<65536).contains(i) { out.append(0x4D); out += le(UInt64(i), 2) }
            else if let i32 = Int32(exactly: i) { out.append(0x4A); out += le(UInt64(UInt32(bitPattern: i32)), 4) }
            else { out += [0x8A, 8]; out += le(UInt64(bitPattern: Int64(i)), 8) }  // LONG1
        case .float(let d):
            out.append(0x47)
            out += le(d.bitPattern.byteSwapped, 8)  // big-endian
        case .string(let s):
            let u = Array(s.utf8)
            out.append(0x58); out += le(UInt64(u.count), 4); out += u
        case .bytes(let b):
            out.append(0x42); out += le(UInt64(b.count), 4); out += b
        case .list(let xs):
            out.append(0x5D)
            if !xs.isEmpty { marked(xs, into: &out); out.append(0x65) }  // APPENDS
        case .tuple(let xs):
            if xs.isEmpty { out.append(0x29) } else { marked(xs, into: &out); out.append(0x74) }
        case .set(let xs):
            out.append(0x8F)
            if !xs.isEmpty { marked(xs, into: &out); out.append(0x90) }  // ADDITEMS
        case .dict(let entries):
            out.append(0x7D)
            setItems(entries, into: &out)
        case .global(let g): global(g.module, g.name, into: &out)
        case .object(let o):
            write(o.callee, into: &out)
            write(.tuple(o.args), into: &out)
            out.append(o.isNewObject ? 0x81 : 0x52)
            setItems(o.dictItems, into: &out)
            if !o.listItems.isEmpty { marked(o.listItems, into: &out); out.append(0x65) }
            if let s = o.state { write(s, into: &out); out.append(0x62) }  // BUILD
        case .storage(let s):
            out.append(0x28)
            write(.string("storage"), into: &out)
            if let dot = s.typeName.lastIndex(of: ".") {
                global(String(s.typeName[..<dot]), String(s.typeName[s.typeName.index(after: dot)...]), into: &out)
            } else {
                global("torch", s.typeName, into: &out)
            }
            for x: PickleValue in [.string(s.key), .string(s.location), .int(s.count)] { write(x, into: &out) }
            out += [0x74, 0x51]  // TUPLE, BINPERSID
        case .tensor(let t):
            global("torch._utils", "_rebuild_tensor_v2", into: &out)
            out.append(0x28)
            write(.storage(t.storage), into: &out)
            write(.int(t.offset), into: &out)
            write(.tuple(t.shape.map { .int($0) }), into: &out)
            write(.tuple(t.stride.map { .int($0) }), into: &out)
            write(.bool(t.requiresGrad), into: &out)
            global("collections", "OrderedDict", into: &out)
            out += [0x29, 0x52]  // OrderedDict()
            out += [0x74, 0x52]  // TUPLE, REDUCE
        }
    }

    private static func marked(_ xs: [PickleValue], into out: inout [UInt8]) {
        out.append(0x28)
        for x in xs { write(x, into: &out) }
    }

    private static func setItems(_ entries: [PickleValue.Entry], into out: inout [UInt8]) {
        guard !entries.isEmpty else { return }
        out.append(0x28)
        for e in entries { write(e.key, into: &out); write(e.value, into: &out) }
        out.append(0x75)  // SETITEMS
    }

    private static func global(_ module: String, _ name: String, into out: inout [UInt8]) {
        out.append(0x63)
        out += Array("\(module)\n\(name)\n".utf8)
    }
}

/// `n` little-endian bytes of `v`.
func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
