// PickleReader's machine: the opcode loop, and calls recorded as nodes.

extension PickleReader {
    mutating func run() throws(CheckpointError) -> Item {
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
}
