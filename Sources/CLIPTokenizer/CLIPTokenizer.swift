import Foundation

/// CLIP's byte-level BPE tokenizer, a port of OpenAI's `simple_tokenizer.py` and `clip.tokenize`.
///
/// Text is cleaned (`cleanText`: HTML references, white space, lower case; ftfy is not applied, see there),
/// split by CLIP's pattern (`preTokenize`), and each piece's UTF-8 bytes are mapped to printable characters
/// (GPT-2's `bytes_to_unicode`) and merged by rank, the last symbol carrying `</w>`. The vocabulary has 49408
/// ids: 256 byte characters, the same with `</w>`, the 48894 merges of `bpe_simple_vocab_16e6.txt`, then
/// `<|startoftext|>` (49406) and `<|endoftext|>` (49407).
///
/// A value: immutable after loading and `Sendable`. Each call keeps its own cache of merged pieces (the
/// Python keeps one per tokenizer); `tokenize(_:[String])` shares one across its texts.
public struct CLIPTokenizer: Sendable {
    /// `<|startoftext|>`, first of every tokenised text.
    public static let startOfText: Int32 = 49406
    /// `<|endoftext|>`, last of every tokenised text (the text encoder reads its features there).
    public static let endOfText: Int32 = 49407
    /// Ids are `0 ..< vocabularySize`.
    public static let vocabularySize = 49408
    /// The context length of every CLIP model.
    public static let defaultContextLength = 77
    /// Merges used, as the Python slices them: lines `1 ..< 49152-256-2+1` of the file.
    static let mergeCount = 49152 - 256 - 2

    /// Every token's text (byte characters, `</w>` at word ends), by id.
    private let tokens: [String]
    /// Rank of each merge, keyed by `pairKey(first, second)` of the two symbols' ids.
    private let ranks: [UInt32: Int32]
    /// The id of each merge's result, by rank.
    private let mergedIDs: [Int32]
    /// The id of each byte's character, alone and with `</w>`, by byte value.
    private let byteIDs: [Int32], byteEndIDs: [Int32]

    /// Loads the vocabulary found by `locateVocabulary(explicit: vocabularyPath)`.
    public init(vocabularyPath: String? = nil) throws(TokenizerError) {
        try self.init(vocabulary: Self.locateVocabulary(explicit: vocabularyPath))
    }

    /// Loads the decompressed `bpe_simple_vocab_16e6.txt` at `url`.
    public init(vocabulary url: URL) throws(TokenizerError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadableVocabulary(file: url.path, error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let gzipped = data.starts(with: [0x1F, 0x8B])
            throw .malformedVocabulary(file: url.path, line: 1,
                                       gzipped ? "gzip-compressed: decompress it with `gunzip -k`" : "not UTF-8 text")
        }
        try self.init(vocabularyText: text, source: url.path)
    }

    /// Builds the tokenizer from the text of `bpe_simple_vocab_16e6.txt` (`source` names it in errors).
    ///
    /// Line 0 (the version) is skipped and lines 1 to 48894 are the merges, two symbols each, as the Python
    /// reads them; the rest of the file is unused. Stricter than the Python, which would silently build
    /// another vocabulary: fewer lines, a line without exactly two symbols, or a symbol with a character
    /// outside the byte table is an error.
    public init(vocabularyText text: String, source: String) throws(TokenizerError) {
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), maxSplits: Self.mergeCount + 1,
                                    omittingEmptySubsequences: false)
        guard lines.count > Self.mergeCount else {
            throw .malformedVocabulary(file: source, line: lines.count,
                                       "\(lines.count) lines, expected the version line and \(Self.mergeCount) merges")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(Self.mergeCount)
        for number in 1...Self.mergeCount {
            let line = Array(String(Substring(lines[number])).unicodeScalars)
            let parts = line.split(whereSeparator: TextCleaning.isPythonSpace)  // Python's str.split()
            guard parts.count == 2 else {
                throw .malformedVocabulary(file: source, line: number + 1,
                                           "expected two symbols, found \(parts.count): \(String(reflecting: String(String.UnicodeScalarView(line))))")
            }
            for part in parts {
                if let bad = part.first(where: { ByteLevel.byte(of: $0) == nil }) {
                    throw .malformedVocabulary(file: source, line: number + 1,
                                               "symbol character U+\(String(bad.value, radix: 16, uppercase: true)) is not a byte character")
                }
            }
            merges.append((String(String.UnicodeScalarView(parts[0])), String(String.UnicodeScalarView(parts[1]))))
        }

        // The ids as the Python's `dict(zip(vocab, range(len(vocab))))`: a repeated text keeps its last id.
        let byteCharacters = ByteLevel.inVocabularyOrder.map { String($0) }
        var tokens = byteCharacters + byteCharacters.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { ids[token] = Int32(id) }

        var ranks: [UInt32: Int32] = [:]
        ranks.reserveCapacity(merges.count)
        var mergedIDs: [Int32] = []
        mergedIDs.reserveCapacity(merges.count)
        for (rank, (first, second)) in merges.enumerated() {
            mergedIDs.append(ids[first + second] ?? -1)  // always present: every merge's text is in `tokens`
            // A symbol that is no token never occurs in a word, so its merges can never apply.
            guard let a = ids[first], let b = ids[second] else { continue }
            ranks[Self.pairKey(a, b)] = Int32(rank)
        }
        self.tokens = tokens
        self.ranks = ranks
        self.mergedIDs = mergedIDs
        byteIDs = (0...255).map { ids[String(ByteLevel.character(of: UInt8($0)))] ?? -1 }
        byteEndIDs = (0...255).map { ids[String(ByteLevel.character(of: UInt8($0))) + "</w>"] ?? -1 }
    }

    /// The ids of `text` without start and end tokens, as the Python's `encode`.
    public func encode(_ text: String) -> [Int32] {
        var cache: [String: [Int32]] = [:]
        return encode(text, cache: &cache)
    }

    /// `[49406] + encode(text) + [49407]`, zero-padded to `contextLength`, as `clip.tokenize(text)[0]`.
    /// - Parameter truncate: cut a text that does not fit to `contextLength` ids, the last being 49407,
    ///   instead of throwing.
    /// - Throws: `TokenizerError.textTooLong` naming the text if it needs more than `contextLength` ids and
    ///   `truncate` is false; `invalidContextLength` if `contextLength` is below 2.
    public func tokenize(_ text: String, contextLength: Int = defaultContextLength,
                         truncate: Bool = false) throws(TokenizerError) -> [Int32] {
        var cache: [String: [Int32]] = [:]
        return try tokenize(text, contextLength: contextLength, truncate: truncate, cache: &cache)
    }

    /// `tokenize` of each text (one row each, as `clip.tokenize(texts)`), sharing one cache.
    public func tokenize(_ texts: [String], contextLength: Int = defaultContextLength,
                         truncate: Bool = false) throws(TokenizerError) -> [[Int32]] {
        var cache: [String: [Int32]] = [:]
        var rows: [[Int32]] = []
        rows.reserveCapacity(texts.count)
        for text in texts {
            rows.append(try tokenize(text, contextLength: contextLength, truncate: truncate, cache: &cache))
        }
        return rows
    }

    /// The text of `ids`, as the Python's `decode`: tokens joined, bytes decoded as UTF-8 (invalid sequences
    /// become U+FFFD), each `</w>` made a space. Special tokens come out as `<|startoftext|>` and
    /// `<|endoftext|>`, padding zeros as `!`.
    /// - Throws: `TokenizerError.unknownTokenID` for an id outside `0 ..< 49408`.
    public func decode(_ ids: [Int32]) throws(TokenizerError) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0, Int(id) < tokens.count else { throw .unknownTokenID(id) }
            // Every token's scalars are byte characters: checked when loading.
            bytes += tokens[Int(id)].unicodeScalars.compactMap(ByteLevel.byte(of:))
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "</w>", with: " ")
    }

    // MARK: - Internals

    private func tokenize(_ text: String, contextLength: Int, truncate: Bool,
                          cache: inout [String: [Int32]]) throws(TokenizerError) -> [Int32] {
        guard contextLength >= 2 else { throw .invalidContextLength(contextLength) }
        var ids = [Self.startOfText] + encode(text, cache: &cache) + [Self.endOfText]
        if ids.count > contextLength {
            guard truncate else { throw .textTooLong(text, tokens: ids.count, contextLength: contextLength) }
            ids.removeLast(ids.count - contextLength)
            ids[contextLength - 1] = Self.endOfText
        }
        return ids + [Int32](repeating: 0, count: contextLength - ids.count)
    }

    private func encode(_ text: String, cache: inout [String: [Int32]]) -> [Int32] {
        let cleaned = TextCleaning.clean(Array(text.unicodeScalars))
        var ids: [Int32] = []
        for piece in PreTokenizer.pieces(cleaned) {
            let piece = String(String.UnicodeScalarView(piece))
            // The Python seeds its cache with the two special tokens: they are never merged.
            switch piece {
            case "<|startoftext|>": ids.append(Self.startOfText)
            case "<|endoftext|>": ids.append(Self.endOfText)
            default:
                if let cached = cache[piece] {
                    ids += cached
                } else {
                    let merged = bpe(Array(piece.utf8))
                    cache[piece] = merged
                    ids += merged
                }
            }
        }
        return ids
    }

    /// The Python's `bpe`: the piece's byte characters, the last with `</w>`, then repeatedly the pair of
    /// lowest rank merged everywhere (left to right, not overlapping) until no pair has a rank.
    private func bpe(_ bytes: [UInt8]) -> [Int32] {
        guard let last = bytes.last else { return [] }
        var word = bytes.dropLast().map { byteIDs[Int($0)] } + [byteEndIDs[Int(last)]]
        while word.count > 1 {
            var best: (rank: Int32, at: Int)?
            for i in 0..<(word.count - 1) {
                if let rank = ranks[Self.pairKey(word[i], word[i + 1])], rank < best?.rank ?? .max { best = (rank, i) }
            }
            guard let best else { break }
            let first = word[best.at], second = word[best.at + 1], merged = mergedIDs[Int(best.rank)]
            var next = Array(word[..<best.at])
            next.reserveCapacity(word.count - 1)
            var i = best.at
            while i < word.count {
                if i + 1 < word.count, word[i] == first, word[i + 1] == second {
                    next.append(merged)
                    i += 2
                } else {
                    next.append(word[i])
                    i += 1
                }
            }
            word = next
        }
        return word
    }

    private static func pairKey(_ a: Int32, _ b: Int32) -> UInt32 { UInt32(a) << 16 | UInt32(b) }
}

/// GPT-2's `bytes_to_unicode`: the 188 printable bytes (`!`-`~`, `¡`-`¬`, `®`-`ÿ`) stand for themselves, the
/// other 68 (controls, space, `\u{7F}`-`\u{A0}`, soft hyphen) for U+0100 onwards, in byte order.
enum ByteLevel {
    /// The byte characters in the order the Python lists them (printable bytes first): ids 0-255.
    static let inVocabularyOrder: [Unicode.Scalar] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let others = (0...255).filter { !printable.contains($0) }
        return (printable + others).map { character(of: UInt8($0)) }
    }()

    /// The character standing for `byte`.
    static func character(of byte: UInt8) -> Unicode.Scalar {
        table[Int(byte)]
    }

    /// The byte `character` stands for, or nil if it stands for none.
    static func byte(of character: Unicode.Scalar) -> UInt8? {
        bytes[character]
    }

    private static func isPrintable(_ b: Int) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    private static let table: [Unicode.Scalar] = {
        var next: UInt32 = 0x100
        return (0...255).map { b in
            if isPrintable(b) { return Unicode.Scalar(UInt8(b)) }
            defer { next += 1 }
            return Unicode.Scalar(next) ?? "\u{FFFD}"  // U+0100-U+0143: always valid scalars
        }
    }()

    private static let bytes: [Unicode.Scalar: UInt8] = Dictionary(
        uniqueKeysWithValues: table.enumerated().map { ($0.element, UInt8($0.offset)) })
}
