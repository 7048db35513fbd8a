import Foundation
import PardTestSupport
import Testing
@testable import CLIPTokenizer

@Suite struct CLIPTokenizerTests {
    static let tokenizer: CLIPTokenizer? = try? CLIPTokenizer(vocabulary: CLIPTokenizer.locateVocabulary())

    func tokenizer() throws -> CLIPTokenizer {
        try #require(Self.tokenizer, "CLIP vocabulary missing: run bash .ci/setup")
    }

    /// Every sentence of every attribute list gives exactly the official ids (tokens.json).
    @Test func everyAttributeSentenceMatchesTheOfficialIds() throws {
        let t = try tokenizer()
        let expected = try JSONDecoder().decode([String: [[Int32]]].self,
                                                from: Data(contentsOf: Fixtures.url("promptpar-tiny/tokens.json")))
        let sentences = try JSONDecoder().decode([String: [String]].self,
                                                 from: Data(contentsOf: Fixtures.url("attribute-sentences.json")))
        let lists = ["pa100k_pad": "PA100k", "peta_pad": "PETA", "petazspad": "PETAzs", "rap1_pad": "RAPV1",
                     "rap2_pad": "RAPV2", "rapzspad": "RAPzs", "wider_pad": "WIDER", "upar": "UPAR"]
        var checked = 0
        for (key, set) in lists {
            let ids = try #require(expected[key]), texts = try #require(sentences[set])
            #expect(ids.count == texts.count, "\(key)")
            for (want, text) in zip(ids, texts) {
                #expect(try t.tokenize(text) == want, "\(set): \(text)")
                checked += 1
            }
        }
        #expect(checked == 26 + 35 + 35 + 51 + 54 + 53 + 14 + 40)
    }

    /// Ids from the official simple_tokenizer.py for texts that exercise each rule.
    @Test(arguments: [
        ("A pedestrian's bag, it's RED!", [320, 18256, 568, 3365, 267, 585, 568, 736, 256]),
        ("Café  naïve   über &amp; co", [15304, 1097, 35689, 563, 6522, 1516, 261, 1320]),
        ("18 and 60", [272, 279, 537, 277, 271]),
        ("xxxxx", [44195]),
        ("Ünïcödé 東京 emoji 🙂", [6522, 77, 35689, 66, 7255, 67, 4166, 48338, 21078, 361, 16327, 14860]),
        ("  multiple\tspaces\nhere  ", [6470, 9006, 763]),
    ] as [(String, [Int32])])
    func encodesLikeTheOfficialTokenizer(text: String, ids: [Int32]) throws {
        #expect(try tokenizer().encode(text) == ids)
    }

    @Test func wrapsAndPads() throws {
        let ids = try tokenizer().tokenize("18 and 60")
        #expect(ids.count == 77)
        #expect(Array(ids.prefix(7)) == [49406, 272, 279, 537, 277, 271, 49407])
        #expect(ids.dropFirst(7).allSatisfy { $0 == 0 })
    }

    @Test func tooLongTextIsAnErrorNamingIt() throws {
        let text = Array(repeating: "pedestrian", count: 80).joined(separator: " ")
        #expect(throws: TokenizerError.tooLong(text, tokens: 82, limit: 77)) { try tokenizer().tokenize(text) }
        #expect(try tokenizer().tokenize(text, truncate: true).last == 49407)
    }

    @Test func missingVocabularyListsWhereItLooked() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pard-vocab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bpe_simple_vocab_16e6.txt").path
        do {
            _ = try CLIPTokenizer.locateVocabulary(explicit: path)
            Issue.record("expected an error")
        } catch {
            #expect(error == .vocabularyNotFound(looked: [path], compressed: nil))
            #expect(error.description.contains(path) && error.description.contains(".ci/setup"))
        }
        _ = FileManager.default.createFile(atPath: path + ".gz", contents: Data([0x1f, 0x8b]))
        #expect(throws: TokenizerError.vocabularyNotFound(looked: [path], compressed: path + ".gz")) {
            try CLIPTokenizer.locateVocabulary(explicit: path)
        }
    }

    @Test func notAVocabularyIsRejected() {
        #expect(throws: TokenizerError.self) { try CLIPTokenizer(vocabularyText: "#version: 0.2\na b\n", source: "tiny.txt") }
    }
}
