import PardCheckpoint
import PardTestSupport
import Testing

/// Bytes from hex, e.g. the output of Python's `pickle.dumps(...).hex()`.
private func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = [], it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16) ?? 0) }
    return out
}

private func parseError(_ bytes: [UInt8]) -> CheckpointError? {
    do { _ = try PickleReader.parse(bytes); return nil } catch { return error }
}

@Suite struct PickleReaderTests {
    @Test func protocol4FromPython() throws {
        // pickle.dumps({'a': {1, 2}, 'b': frozenset([3]), 'c': b'xy', 'd': (1.5, None, True),
        //               'e': [-1, 2**40, -2**63], 'é': 'ünï'}, protocol=4)
        let bytes = hex("80049560000000000000007d94288c0161948f94284b014b02908c016294284b0391948c01639443027879948c016494473ff80000000000004e8887948c0165945d94284affffffff8a060000000000018a080000000000000080658c02c3a9948c05c3bc6ec3af94752e")
        let expected: PickleValue = .dict([
            .init(.string("a"), .set([.int(1), .int(2)])),
            .init(.string("b"), .set([.int(3)])),
            .init(.string("c"), .bytes([0x78, 0x79])),
            .init(.string("d"), .tuple([.float(1.5), .none, .bool(true)])),
            .init(.string("e"), .list([.int(-1), .int(1 << 40), .int(Int.min)])),
            .init(.string("é"), .string("ünï")),
        ])
        #expect(try PickleReader.parse(bytes) == expected)
    }

    @Test func stackGlobalOrderedDictIsADict() throws {
        // pickle.dumps(OrderedDict([('x', 1), ('y', 'z')]), protocol=4)
        let bytes = hex("80049532000000000000008c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0178944b018c0179948c017a94752e")
        #expect(try PickleReader.parse(bytes) == .dict([.init(.string("x"), .int(1)), .init(.string("y"), .string("z"))]))
    }

    @Test func protocol0TextOpcodes() throws {
        // pickle.dumps({'a': [1, 2.5, 's', None, True, 10**12]}, protocol=0)
        let bytes = hex("286470300a56610a70310a286c70320a49310a6146322e350a6156730a70330a614e614930310a614c313030303030303030303030304c0a61732e")
        #expect(try PickleReader.parse(bytes) == .dict([
            .init(.string("a"), .list([.int(1), .float(2.5), .string("s"), .none, .bool(true), .int(1_000_000_000_000)])),
        ]))
    }

    @Test func memoSharesObjectsFilledAfterTheyWereMemoized() throws {
        // l = [1]; pickle.dumps({'x': l, 'y': l}, protocol=2): the list is memoized empty, then appended to.
        let bytes = hex("80027d71002858010000007871015d71024b016158010000007971036802752e")
        #expect(try PickleReader.parse(bytes) == .dict([.init(.string("x"), .list([.int(1)])), .init(.string("y"), .list([.int(1)]))]))
    }

    @Test func unknownClassesStayInertObjects() throws {
        // pickle.dumps(argparse.Namespace(lr=0.5), protocol=2): NEWOBJ then BUILD with the instance dict.
        let bytes = hex("80026361726770617273650a4e616d6573706163650a7100298171017d710258020000006c727103473fe000000000000073622e")
        #expect(try PickleReader.parse(bytes) == .object(PickleObject(
            callee: .global(PickleGlobal("argparse", "Namespace")), args: [],
            state: .dict([.init(.string("lr"), .float(0.5))]), isNewObject: true)))
    }

    @Test func numpyArrayIsRecordedWithItsBytes() throws {
        // pickle.dumps(numpy.arange(3, dtype='<f4'), protocol=2)
        let bytes = hex("8002636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e6461727261790a71014b00857102635f636f646563730a656e636f64650a7103580100000062710458060000006c6174696e317105867106527107877108527109284b014b0385710a636e756d70790a64747970650a710b58020000006634710c898887710d52710e284b0358010000003c710f4e4e4e4affffffff4affffffff4b0074711062896803580d000000000000000000c2803f0000004071116805867112527113747114622e")
        guard case .object(let array) = try PickleReader.parse(bytes), case .tuple(let state)? = array.state, state.count == 5 else {
            Issue.record("not a numpy reconstruct with state")
            return
        }
        #expect(array.calleeName == "numpy._core.multiarray._reconstruct")
        #expect(state[1] == .tuple([.int(3)]))
        guard case .object(let dtype) = state[2] else { Issue.record("dtype is not an object"); return }
        #expect(dtype.calleeName == "numpy.dtype")
        #expect(state[4] == .bytes([0, 0, 0, 0, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]))  // 0.0, 1.0, 2.0 as <f4
    }

    @Test func lessCommonOpcodes() throws {
        var b: [UInt8] = [0x80, 2, 0x28]  // PROTO 2, MARK
        b += [0x55, 2] + Array("ab".utf8)  // SHORT_BINSTRING
        b += [0x54, 2, 0, 0, 0] + Array("cd".utf8)  // BINSTRING
        b += [0x8D, 2, 0, 0, 0, 0, 0, 0, 0, 0xC3, 0xA9]  // BINUNICODE8 'é'
        b += [0x8E, 1, 0, 0, 0, 0, 0, 0, 0, 0xFF]  // BINBYTES8
        b += [0x8B, 2, 0, 0, 0, 0x00, 0x80]  // LONG4 -32768
        b += Array("S'x\\n'\n".utf8)  // STRING 'x\n' (protocol 0 repr)
        b += Array("V\\u00e9t\u{e9}\n".utf8)  // UNICODE raw-unicode-escape
        b += [0x4E, 0x32, 0x30]  // NONE, DUP, POP
        b += [0x28, 0x4B, 1, 0x31]  // MARK, 1, POP_MARK
        b += [0x28, 0x4B, 3] + Array("ifoo\nBar\n".utf8)  // INST foo.Bar(3)
        b += [0x28] + Array("cfoo\nBaz\n".utf8) + [0x4B, 4, 0x6F]  // OBJ foo.Baz(4)
        b += [0x96, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2]  // BYTEARRAY8
        b += Array("p9\ng9\n".utf8)  // PUT 9, GET 9 (text)
        b += [0x74, 0x2E]  // TUPLE, STOP
        #expect(try PickleReader.parse(b) == .tuple([
            .string("ab"), .string("cd"), .string("é"), .bytes([0xFF]), .int(-32768), .string("x\n"), .string("été"), .none,
            .object(PickleObject(callee: .global(PickleGlobal("foo", "Bar")), args: [.int(3)])),
            .object(PickleObject(callee: .global(PickleGlobal("foo", "Baz")), args: [.int(4)], isNewObject: true)),
            .bytes([1, 2]), .bytes([1, 2]),
        ]))
    }

    @Test func torchRebuildersAreInterpreted() throws {
        let storage = TorchStorage(typeName: "HalfStorage", key: "0", location: "cpu", count: 6)
        let tensor = TorchTensor(storage: storage, offset: 0, shape: [2, 3], stride: [3, 1])
        var parameter = tensor
        parameter.requiresGrad = true
        let call = PickleObject(callee: .global(PickleGlobal("torch._utils", "_rebuild_parameter")),
                                args: [.tensor(tensor), .bool(true), .dict([])])
        #expect(try PickleReader.parse(PickleWriter.encode(.object(call))) == .tensor(parameter))
        // torch.save's own layout: _rebuild_tensor_v2 over a BINPERSID storage record; metadata argument accepted.
        let v2 = PickleObject(callee: .global(PickleGlobal("torch._utils", "_rebuild_tensor_v2")),
                              args: [.storage(storage), .int(0), .tuple([.int(2), .int(3)]), .tuple([.int(3), .int(1)]), .bool(false),
                                     .dict([]), .dict([])])
        #expect(try PickleReader.parse(PickleWriter.encode(.object(v2))) == .tensor(tensor))
        #expect(storage.dtype == .float16)
        // _codecs.encode(text, 'latin1') is how protocol 2 stores bytes.
        let encode = PickleObject(callee: .global(PickleGlobal("_codecs", "encode")), args: [.string("\u{0}\u{ff}A"), .string("latin1")])
        #expect(try PickleReader.parse(PickleWriter.encode(.object(encode))) == .bytes([0, 0xFF, 0x41]))
    }

    @Test func buildOnAnythingDoesNotCrash() throws {
        // BUILD on a dict, on a list, on a global, on an OrderedDict, on an object, twice.
        #expect(try PickleReader.parse([0x80, 2, 0x7D, 0x7D, 0x62, 0x2E]) == .dict([]))
        #expect(try PickleReader.parse([0x80, 2, 0x5D, 0x4E, 0x62, 0x2E]) == .list([]))
        let global = Array("cfoo\nbar\n".utf8)
        #expect(try PickleReader.parse([0x80, 2] + global + [0x4B, 1, 0x62, 0x2E]) == .global(PickleGlobal("foo", "bar")))
        let ordered = Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52]
        #expect(try PickleReader.parse([0x80, 2] + ordered + [0x7D, 0x62, 0x2E]) == .dict([]))
        let object = try PickleReader.parse([0x80, 2] + global + [0x29, 0x52, 0x4B, 1, 0x62, 0x4B, 2, 0x62, 0x2E])
        #expect(object == .object(PickleObject(callee: .global(PickleGlobal("foo", "bar")), args: [], state: .int(2))))
    }

    @Test func extensionAndBufferOpcodesAreUnsupported() {
        for op: UInt8 in [0x82, 0x83, 0x84, 0x97, 0x98, 0xFF, 0x00] {
            #expect(parseError([0x80, 4, 0x4E, op, 0x2E]) == .unsupportedOpcode(file: "<memory>", entry: "pickle", opcode: op, offset: 3))
        }
    }

    @Test func malformedPicklesAreErrorsNotCrashes() {
        func what(_ bytes: [UInt8]) -> String? {
            guard case .malformedPickle(_, _, _, let w)? = parseError(bytes) else { return nil }
            return w
        }
        #expect(what([0x80, 2, 0x61, 0x2E]) == "pickle stack underflow")  // APPEND on nothing
        #expect(what([0x80, 2, 0x28, 0x61, 0x2E]) == "pickle stack underflow")  // cannot pop across a MARK
        #expect(what([0x80, 2, 0x4E]) == "pickle ends without STOP")
        #expect(what([0x80, 2, 0x58, 0xFF, 0xFF, 0, 0, 0x41]) == "length 65535 runs past the end of the pickle")
        #expect(what([0x80, 2, 0x68, 7, 0x2E]) == "memo entry 7 read before it was written")
        #expect(what([0x80, 2, 0x75, 0x2E]) == "no MARK on the stack")
        #expect(what([0x80, 2, 0x4E, 0x4E, 0x52, 0x2E]) == "call arguments are not a tuple")
        #expect(what([0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]) == "object contains itself")  // l = []; l.append(l)
        #expect(what([0x80, 2, 0x8A, 9] + [UInt8](repeating: 1, count: 9) + [0x2E]) == "integer of 9 bytes does not fit in 64 bits")
        let deep = [0x80, 2] + [UInt8](repeating: 0x5D, count: 10_000) + [UInt8](repeating: 0x61, count: 9_999) + [0x2E]
        #expect(what(deep) == "objects nested deeper than \(PickleReader.maximumDepth)")
        let badTensor = Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x4E, 0x4B, 0, 0x29, 0x29, 0x74, 0x52, 0x2E]
        #expect(what([0x80, 2] + badTensor) == "bad arguments to torch._utils._rebuild_tensor_v2: expected (storage, offset, size, stride, ...)")
    }

    @Test func writerRoundTripsEveryKind() throws {
        let storage = TorchStorage(typeName: "BFloat16Storage", key: "3", location: "cuda:0", count: 12)
        let value: PickleValue = .dict([
            .init(.string("scalars"), .tuple([.none, .bool(false), .int(-5), .int(70_000), .int(-3_000_000_000), .float(-0.25)])),
            .init(.string("text"), .list([.string("ünï"), .bytes([0, 255])])),
            .init(.int(7), .set([.int(1)])),
            .init(.string("tensor"), .tensor(TorchTensor(storage: storage, offset: 2, shape: [2, 5], stride: [5, 1], requiresGrad: true))),
            .init(.string("object"), .object(PickleObject(callee: .global(PickleGlobal("a.b", "C")), args: [.int(1)], state: .string("s"),
                                                            dictItems: [.init(.string("k"), .none)], listItems: [.int(2)], isNewObject: true))),
            .init(.string("global"), .global(PickleGlobal("torch", "float16"))),
        ])
        #expect(try PickleReader.parse(PickleWriter.encode(value)) == value)
        // A tensor whose storage class is unknown to pard keeps its name; its dtype is nil.
        guard case .tensor(let t)? = value["tensor"] else { Issue.record("no tensor"); return }
        #expect(t.storage.dtype == .bfloat16)
    }
}

@Suite struct PickleRobustnessTests {
    private func fixturePickle() throws -> [UInt8] {
        try ZipArchive(path: fixturePath).data(named: "checkpoint/data.pkl").array
    }

    @Test func everyCutShortPickleIsRejected() throws {
        let pickle = try fixturePickle()
        var accepted: [Int] = []
        for cut in stride(from: 0, to: pickle.count - 1, by: 53) where (try? PickleReader.parse(Array(pickle.prefix(cut)))) != nil {
            accepted.append(cut)
        }
        #expect(accepted.isEmpty)
    }

    @Test func corruptedPicklesFailCleanly() throws {
        let pickle = try fixturePickle()
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15, rejected = 0
        for _ in 0..<200 {
            var bytes = pickle
            for _ in 0..<4 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes[Int(seed >> 33) % bytes.count] = UInt8(truncatingIfNeeded: seed >> 17)
            }
            do { _ = try PickleReader.parse(bytes) } catch { rejected += 1 }
        }
        #expect(rejected > 50)  // most corruptions are caught; none may crash
    }
}
