import Foundation
import PardVideo
import Testing

/// `LineSplitter`: the one line cutter of detection text (files, sockets, FIFOs).
@Suite struct LineSplitterTests {
    /// Every piece of `bytes` fed in chunks cut at `cuts`, then `finish()`.
    static func split(_ bytes: [UInt8], cuts: [Int] = [], maximumBytes: Int = 1 << 20) -> [LineSplitter.Piece] {
        var splitter = LineSplitter(maximumBytes: maximumBytes)
        var pieces: [LineSplitter.Piece] = []
        var start = 0
        for cut in (cuts + [bytes.count]).map({ min($0, bytes.count) }) where cut >= start {
            pieces += splitter.feed(Array(bytes[start..<cut]))
            start = cut
        }
        if let last = splitter.finish() { pieces.append(last) }
        return pieces
    }

    static func split(_ text: String, cuts: [Int] = [], maximumBytes: Int = 1 << 20) -> [LineSplitter.Piece] {
        split(Array(text.utf8), cuts: cuts, maximumBytes: maximumBytes)
    }

    static func lines(_ texts: [String]) -> [LineSplitter.Piece] {
        texts.enumerated().map { .line($1, number: $0 + 1) }
    }

    @Test("\\n, \\r\\n and a lone \\r each end one line, numbered as an editor does")
    func lineEndings() {
        let expected = Self.lines(["a", "", "b", "c"])
        for ending in ["\n", "\r\n", "\r"] {
            let text = ["a", "", "b", "c"].joined(separator: ending) + ending
            #expect(Self.split(text) == expected, "ending \(ending.debugDescription)")
        }
        #expect(Self.split("a\r\n\nb\rc\n") == expected, "mixed")
        #expect(Self.split("a\r\r\nb") == Self.lines(["a", "", "b"]), "\\r then \\r\\n: two endings")
        #expect(Self.split("a\n\rb") == Self.lines(["a", "", "b"]), "\\n then \\r: two endings")
        #expect(Self.split("last without ending") == Self.lines(["last without ending"]))
        #expect(Self.split("") == [])
    }

    @Test("the same lines whatever the chunks: \\r at the end of one, \\n at the start of the next, is one ending")
    func chunkBoundaries() {
        let text = "1,-1,2\r\n\r\n3,\r4\n\r5\r\n"
        let bytes = Array(text.utf8)
        let whole = Self.split(bytes)
        #expect(whole == Self.lines(["1,-1,2", "", "3,", "4", "", "5"]))
        for cut in 0...bytes.count {
            #expect(Self.split(bytes, cuts: [cut]) == whole, "cut at \(cut)")
        }
        #expect(Self.split(bytes, cuts: Array(0...bytes.count)) == whole, "one byte at a time")
        // A chunk ending in \r completes its line at once (a live producer's line is not held back).
        var splitter = LineSplitter()
        #expect(splitter.feed(Array("x\r".utf8)) == [.line("x", number: 1)])
        #expect(!splitter.hasPartialLine)
        #expect(splitter.feed(Array("\ny\r".utf8)) == [.line("y", number: 2)])
        #expect(splitter.feed(Array("z".utf8)) == [])
        #expect(splitter.finish() == .line("z", number: 3))
    }

    @Test("a byte order mark is dropped at the start of the stream only, also split across chunks")
    func byteOrderMark() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let bytes = bom + Array("a\r\n".utf8) + bom + Array("b\n".utf8)
        let expected: [LineSplitter.Piece] = [.line("a", number: 1), .line("\u{FEFF}b", number: 2)]
        for cut in 0...bytes.count {
            #expect(Self.split(bytes, cuts: [cut]) == expected, "cut at \(cut)")
        }
        #expect(Self.split(bom) == [], "a stream of just a byte order mark has no line")
        #expect(Self.split(bom + Array("\n".utf8)) == Self.lines([""]))
        // The mark does not count against the limit.
        #expect(Self.split(bom + Array("abcd\n".utf8), maximumBytes: 4) == Self.lines(["abcd"]))
    }

    @Test("a line over the limit is reported with its number and size, not kept, and the next lines go on")
    func tooLong() {
        let long = String(repeating: "x", count: 10_000)
        let text = "ok\r\n" + long + "\r\n" + "next\r" + String(repeating: "y", count: 65) + "\rend"
        let expected: [LineSplitter.Piece] = [.line("ok", number: 1), .tooLong(number: 2, bytes: 10_000),
                                              .line("next", number: 3), .tooLong(number: 4, bytes: 65),
                                              .line("end", number: 5)]
        #expect(Self.split(text, maximumBytes: 64) == expected)
        let bytes = Array(text.utf8)
        for cut in stride(from: 0, through: bytes.count, by: 997) {
            #expect(Self.split(bytes, cuts: [cut, cut + 1, cut + 64], maximumBytes: 64) == expected, "cut at \(cut)")
        }
        #expect(Self.split(String(repeating: "z", count: 64), maximumBytes: 64) == Self.lines([String(repeating: "z", count: 64)]))
        #expect(Self.split(long, maximumBytes: 64) == [.tooLong(number: 1, bytes: 10_000)], "unterminated at the end")
        #expect(LineSplitter(maximumBytes: 64).tooLongReason(bytes: 10_000) == "line of 10000 bytes is longer than the limit of 64 bytes")
    }
}
