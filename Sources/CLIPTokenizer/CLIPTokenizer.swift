import Foundation

/// CLIP's byte-level BPE tokenizer (OpenAI's `simple_tokenizer.py`): text is cleaned (HTML entities
/// unescaped, whitespace collapsed, lower-cased), split by CLIP's pattern, each piece's UTF-8 bytes
/// mapped to printable characters and merged by rank, with `</w>` marking word ends. 49408 ids;
/// `<|startoftext|>` is 49406 and `<|endoftext|>` 49407.
///
/// `ftfy.fix_text` is not applied: input is assumed to be valid Unicode (attribute sentences are).
public final class CLIPTokenizer: Sendable {
    public static let startOfText: Int32 = 49406
    public static let endOfText: Int32 = 49407
    public static let vocabularyFileName = "bpe_simple_vocab_16e6.txt"

    private let encoder: [String: Int32]
    private let ranks: [Pair: Int]
    private let byteEncoder: [String]  // byte value -> printable character
    private let pattern: NSRegularExpression

    struct Pair: Hashable, Sendable { let a: String, b: String }

    /// Reads the merges from the (decompressed) vocabulary file.
    public convenience init(vocabulary url: URL) throws(TokenizerError) {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) }
        catch { throw .unreadableVocabulary(url.path, error.localizedDescription) }
        try self.init(vocabularyText: text, source: url.path)
    }

    /// - Parameter vocabularyText: the contents of `bpe_simple_vocab_16e6.txt`.
    public init(vocabularyText text: String, source: String) throws(TokenizerError) {
        // As the Python: lines 1 ..< 49152-256-2+1 are the merges.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let mergeCount = 49152 - 256 - 2
        guard lines.count > mergeCount else {
            throw .unreadableVocabulary(source, "\(lines.count) lines, expected at least \(mergeCount + 1): not CLIP's BPE vocabulary")
        }
        var merges: [Pair] = []
        merges.reserveCapacity(mergeCount)
        for (i, line) in lines[1...mergeCount].enumerated() {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw .unreadableVocabulary(source, "line \(i + 2): expected two symbols, found '\(line)'") }
            merges.append(Pair(a: String(parts[0]), b: String(parts[1])))
        }
        let table = CLIPTokenizer.byteTable()
        var vocab = table.inOrder
        vocab += table.inOrder.map { $0 + "</w>" }
        vocab += merges.map { $0.a + $0.b }
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        var enc: [String: Int32] = [:]
        for (i, v) in vocab.enumerated() { enc[v] = Int32(i) }
        encoder = enc
        var r: [Pair: Int] = [:]
        for (i, m) in merges.enumerated() where r[m] == nil { r[m] = i }
        ranks = r
        byteEncoder = table.byByte
        do {
            pattern = try NSRegularExpression(
                pattern: #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#,
                options: [.caseInsensitive])
        } catch { throw .unreadableVocabulary(source, "pattern: \(error)") }
    }

    /// GPT-2's byte table: the 188 printable bytes stand for themselves, the other 68 for U+0100
    /// onwards. `inOrder` lists the characters in the order the Python builds them (printable bytes
    /// first), which fixes ids 0-255; `byByte[b]` is the character for byte `b`.
    static func byteTable() -> (inOrder: [String], byByte: [String]) {
        var bs = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) { bs.append(b); cs.append(256 + n); n += 1 }
        let chars = cs.map { String(Character(Unicode.Scalar(UInt32($0)) ?? " ")) }
        var byByte = [String](repeating: "", count: 256)
        for (b, c) in zip(bs, chars) { byByte[b] = c }
        return (chars, byByte)
    }

    /// BPE ids of `text`, without start/end tokens.
    public func encode(_ text: String) -> [Int32] {
        let cleaned = Self.clean(text)
        let ns = cleaned as NSString
        var ids: [Int32] = []
        for match in pattern.matches(in: cleaned, range: NSRange(location: 0, length: ns.length)) {
            let piece = ns.substring(with: match.range)
            if piece == "<|startoftext|>" { ids.append(Self.startOfText); continue }
            if piece == "<|endoftext|>" { ids.append(Self.endOfText); continue }
            let symbols = piece.utf8.map { byteEncoder[Int($0)] }
            for token in bpe(symbols) {
                if let id = encoder[token] { ids.append(id) }
            }
        }
        return ids
    }

    /// `[49406] + ids + [49407]`, zero-padded to `contextLength` (77).
    public func tokenize(_ text: String, contextLength: Int = 77, truncate: Bool = false) throws(TokenizerError) -> [Int32] {
        var ids = [Self.startOfText] + encode(text) + [Self.endOfText]
        if ids.count > contextLength {
            guard truncate else { throw .tooLong(text, tokens: ids.count, limit: contextLength) }
            ids = Array(ids.prefix(contextLength))
            ids[contextLength - 1] = Self.endOfText
        }
        return ids + [Int32](repeating: 0, count: contextLength - ids.count)
    }

    /// Merges the symbols of one piece by rank; the last symbol carries `</w>`.
    func bpe(_ symbols: [String]) -> [String] {
        guard var word = symbols.isEmpty ? nil : symbols else { return [] }
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: (rank: Int, pair: Pair)?
            for i in 0..<(word.count - 1) {
                let p = Pair(a: word[i], b: word[i + 1])
                if let r = ranks[p], r < (best?.rank ?? .max) { best = (r, p) }
            }
            guard let pair = best?.pair else { break }
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i < word.count - 1, word[i] == pair.a, word[i + 1] == pair.b {
                    merged.append(pair.a + pair.b); i += 2
                } else {
                    merged.append(word[i]); i += 1
                }
            }
            word = merged
        }
        return word
    }

    /// HTML entities unescaped (twice, as the Python), whitespace collapsed, trimmed, lower-cased.
    static func clean(_ text: String) -> String {
        let unescaped = HTMLEntities.unescape(HTMLEntities.unescape(text))
        return unescaped.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
    }
}
