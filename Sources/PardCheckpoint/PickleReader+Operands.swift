// PickleReader's operands: fixed-size and length-prefixed ones, text lines, long integers, Python 2 string escapes.

extension PickleReader {
    mutating func take(_ n: Int) throws(CheckpointError) -> UnsafeRawBufferPointer {
        guard let s = b.slice(p, n) else { throw malformed("pickle ends inside the operand of the opcode") }
        p += n
        return s
    }

    mutating func uint<T: FixedWidthInteger>(_: T.Type) throws(CheckpointError) -> T {
        guard let v = b.le(T.self, at: p) else { throw malformed("pickle ends inside the operand of the opcode") }
        p += MemoryLayout<T>.size
        return v
    }

    /// A length operand that must fit in what is left of the pickle.
    mutating func length<T: FixedWidthInteger>(_: T.Type) throws(CheckpointError) -> Int {
        let n = try uint(T.self)
        guard let len = Int(exactly: n), len <= b.count - p else { throw malformed("length \(n) runs past the end of the pickle") }
        return len
    }

    /// A newline-terminated text operand (protocol 0 opcodes), without the newline.
    mutating func line() throws(CheckpointError) -> String {
        var q = p
        while q < b.count, b[q] != 0x0A { q += 1 }
        guard q < b.count, let s = b.slice(p, q - p) else { throw malformed("pickle ends inside a text operand") }
        p = q + 1
        return String(decoding: s, as: UTF8.self)
    }

    static func utf8(_ s: UnsafeRawBufferPointer) -> String { String(decoding: s, as: UTF8.self) }

    /// Python 2 `str`: text when valid UTF-8, else bytes.
    static func py2String(_ s: UnsafeRawBufferPointer) -> PickleValue {
        if let text = String(validating: s, as: UTF8.self) { return .string(text) }
        return .bytes(Array(s))
    }

    /// Little-endian two's complement integer of `n` bytes (LONG1, LONG4).
    mutating func long(_ n: Int) throws(CheckpointError) -> Int {
        let s = try take(n)
        guard n <= 8 else { throw malformed("integer of \(n) bytes does not fit in 64 bits") }
        guard n > 0 else { return 0 }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(s[i]) << (8 * UInt64(i)) }
        if n < 8, s[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
        return Int(Int64(bitPattern: v))
    }

    /// The contents of a Python 2 string repr, `'abc'` or `"abc"`, with the common escapes decoded.
    static func unquote(_ repr: String) throws(CheckpointError) -> String {
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
    static func rawUnicodeEscape(_ text: String) -> String {
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
}
