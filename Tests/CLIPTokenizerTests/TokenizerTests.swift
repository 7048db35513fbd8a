import CLIPTokenizer
import Foundation
import PardTestSupport
import Testing

/// The installed vocabulary, loaded once for all tests (`bash .ci/setup` installs it).
enum Shared {
    static let tokenizer = Result { () throws(TokenizerError) in try CLIPTokenizer() }
}

func tokenizer() throws -> CLIPTokenizer { try Shared.tokenizer.get() }

/// Expected ids come from the official `simple_tokenizer.py` (with ftfy; these texts are clean, so ftfy
/// changes nothing) run on the same vocabulary.
@Suite struct TokenizerTests {
    /// Every sentence of every attribute list gives exactly the official 77 ids of `tokens.json`.
    @Test func everyAttributeSentenceMatchesTheOfficialIds() throws {
        let t = try tokenizer()
        let expected = try JSONDecoder().decode([String: [[Int32]]].self,
                                                from: Data(contentsOf: Fixtures.url("promptpar-tiny/tokens.json")))
        let sentences = try JSONDecoder().decode([String: [String]].self,
                                                 from: Data(contentsOf: Fixtures.url("attribute-sentences.json")))
        // tokens.json is keyed by the official preprocessing script of each list.
        let lists = ["pa100k_pad": "PA100k", "peta_pad": "PETA", "petazspad": "PETAzs", "rap1_pad": "RAPV1",
                     "rap2_pad": "RAPV2", "rapzspad": "RAPzs", "wider_pad": "WIDER", "upar": "UPAR"]
        #expect(Set(expected.keys) == Set(lists.keys), "a list of tokens.json is not checked")
        var checked = 0
        for (key, name) in lists.sorted(by: { $0.key < $1.key }) {
            let rows = try #require(expected[key], "\(key) missing from tokens.json")
            let texts = try #require(sentences[name], "\(name) missing from attribute-sentences.json")
            try #require(rows.count == texts.count, "\(key): \(rows.count) rows for \(texts.count) sentences")
            for (row, text) in zip(rows, texts) {
                #expect(row.count == 77)
                #expect(try t.tokenize(text) == row, "\(name): \(text)")
                checked += 1
            }
            #expect(try t.tokenize(texts) == rows, "\(name): batch")
        }
        #expect(checked == 26 + 35 + 35 + 51 + 54 + 53 + 14 + 40)
    }

    @Test(arguments: [
        // punctuation: runs of non-letters stay together, `,` `;` alone
        ("a pedestrian, wearing glasses; (hat)!? -- 'bag'/\"coat\"...",
         [320, 18256, 267, 3309, 6116, 282, 263, 3801, 8, 6004, 2432, 262, 3365, 6, 14, 257, 7356, 9049]),
        // digits: one token each
        ("18 and 60", [272, 279, 537, 277, 271]),
        ("between 2024 and 1,000.5 years", [1957, 273, 271, 273, 275, 537, 272, 267, 271, 271, 271, 269, 276, 1151]),
        // apostrophes: the contractions split off
        ("it's a man's hat, isn't it? we'll, they're, I'm, you'd, we've",
         [585, 568, 320, 786, 568, 3801, 267, 2923, 713, 585, 286, 649, 1342, 267, 889, 982, 267, 328, 880, 267, 592, 1896,
          267, 649, 1200]),
        // upper case is lower-cased
        ("A PEDESTRIAN Wearing A Hat", [320, 18256, 3309, 320, 3801]),
        // runs of white space are one separator, ends trimmed
        ("  a \t pedestrian\n\n wearing   a  hat  ", [320, 18256, 3309, 320, 3801]),
        // HTML references, unescaped twice; numeric, named, legacy without `;`
        ("black &amp; white", [1449, 261, 1579]),
        ("&amp;amp; &amp;lt; &lt", [261, 283, 283]),
        ("caf&eacute; &#233; &#xE9; &#39;s &nbsp;x&ampy", [15304, 4166, 4166, 568, 343, 261, 344]),
        // special tokens written in the text (also once unescaped) are the special ids
        ("a &lt;|endoftext|&gt; b", [320, 49407, 321]),
        ("a <|endoftext|> b <|startoftext|>", [320, 49407, 321, 49406]),
        // non-ASCII letters: UTF-8 bytes merged; Greek final sigma as Python's str.lower
        ("Café naïve Straße Ελληνικά ΟΔΟΣ 日本語 🚶‍♀️",
         [15304, 1097, 35689, 563, 1894, 127, 253, 324, 138, 113, 138, 119, 138, 119, 138, 115, 138, 121, 138, 117, 138, 118,
          138, 361, 138, 123, 138, 112, 138, 123, 139, 480, 39121, 44353, 34002, 508, 46060, 9605]),
        ("Ünïcödé 東京 ΣΑΣ İstanbul", [6522, 77, 35689, 66, 7255, 67, 4166, 48338, 21078, 361, 139, 225, 138, 109, 139, 480, 328,
                                      16384, 11231]),
        // the `regex` module's case-insensitive quirks: U+0345 matches nothing, `'ſ` is a contraction
        ("a\u{0345}b it'\u{017F}", [320, 321, 585, 6, 129, 379]),
    ] as [(String, [Int32])])
    func encodesLikeTheOfficialTokenizer(text: String, ids: [Int32]) throws {
        #expect(try tokenizer().encode(text) == ids)
    }

    @Test func cleaningAndSplitting() {
        #expect(CLIPTokenizer.cleanText("  A\u{00A0}&amp;amp;\t\u{2003}B  ") == "a & b")
        #expect(CLIPTokenizer.cleanText("ΟΔΟΣ Σ AΣ.") == "οδος σ aς.")
        #expect(CLIPTokenizer.cleanText("\u{1C}x\u{1C}y\u{1C}") == "x\u{1C}y")  // str.strip() takes U+001C, `\s` does not
        #expect(CLIPTokenizer.preTokenize("it's 18 x<|endoftext|>!!'s") == ["it", "'s", "1", "8", "x", "<|endoftext|>", "!!'", "s"])
    }

    @Test func wrapsAndPadsToTheContextLength() throws {
        let ids = try tokenizer().tokenize("18 and 60")
        #expect(ids.count == 77)
        #expect(Array(ids.prefix(7)) == [49406, 272, 279, 537, 277, 271, 49407])
        #expect(ids.dropFirst(7).allSatisfy { $0 == 0 })
        #expect(try tokenizer().tokenize("") == [49406, 49407] + [Int32](repeating: 0, count: 75))
        #expect(try tokenizer().tokenize("18 and 60", contextLength: 8) == [49406, 272, 279, 537, 277, 271, 49407, 0])
    }

    @Test func tooLongTextIsAnErrorNamingIt() throws {
        let t = try tokenizer()
        let fits = Array(repeating: "pedestrian", count: 75).joined(separator: " ")
        #expect(try t.tokenize(fits) == [49406] + [Int32](repeating: 18256, count: 75) + [49407])

        let text = fits + " pedestrian"
        #expect(throws: TokenizerError.textTooLong(text, tokens: 78, contextLength: 77)) { try t.tokenize(text) }
        #expect(throws: TokenizerError.textTooLong(text, tokens: 78, contextLength: 77)) { try t.tokenize(["a", text]) }
        let description = TokenizerError.textTooLong("a\nb", tokens: 80, contextLength: 77).description
        #expect(description == #"text "a\nb" needs 80 tokens, more than the context length 77 (pass truncate: true to cut it)"#)

        let cut = try t.tokenize(text, truncate: true)
        #expect(cut == [49406] + [Int32](repeating: 18256, count: 75) + [49407])
        #expect(try t.tokenize("18 and 60", contextLength: 4, truncate: true) == [49406, 272, 279, 49407])
    }

    @Test func contextLengthMustHoldStartAndEnd() throws {
        #expect(throws: TokenizerError.invalidContextLength(1)) { try tokenizer().tokenize("a", contextLength: 1, truncate: true) }
        #expect(throws: TokenizerError.invalidContextLength(0)) { try tokenizer().tokenize("a", contextLength: 0) }
    }

    @Test func decodesAsThePython() throws {
        let t = try tokenizer()
        #expect(try t.decode(t.encode("A pedestrian's bag, 18 and 60!")) == "a pedestrian 's bag , 1 8 and 6 0 ! ")
        #expect(try t.decode([15304, 39121, 44353, 34002, 508, 2730, 370]) == "café 日本語 🚶 ")
        #expect(try t.decode([49406, 320, 49407, 0, 0]) == "<|startoftext|>a <|endoftext|>!!")
        #expect(try t.decode([139]) == "\u{FFFD}")  // a lone UTF-8 lead byte
        #expect(throws: TokenizerError.unknownTokenID(49408)) { try t.decode([320, 49408]) }
        #expect(throws: TokenizerError.unknownTokenID(-1)) { try t.decode([-1]) }
    }

    @Test func isUsableFromConcurrentTasks() async throws {
        let t = try tokenizer()
        let texts = ["A pedestrian wearing a hat", "18 and 60", "it's RED!"]
        let expected = try texts.map { try t.tokenize($0) }
        let results = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for i in 0..<24 { group.addTask { (i % 3, try t.tokenize(texts[i % 3])) } }
            return try await group.reduce(into: [(Int, [Int32])]()) { $0.append($1) }
        }
        #expect(results.count == 24)
        for (i, ids) in results { #expect(ids == expected[i]) }
    }
}
