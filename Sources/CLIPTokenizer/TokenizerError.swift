/// Everything that can go wrong finding or reading CLIP's vocabulary and tokenising text. Every case carries
/// the offending input (paths looked at, file and line, text) and `description` is one line.
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The vocabulary file is at none of the places looked at (each place, in the order looked at).
    case vocabularyNotFound(looked: [VocabularyPlace])
    /// The vocabulary file exists but could not be read (file, what the OS said).
    case unreadableVocabulary(file: String, String)
    /// The vocabulary file is not CLIP's merges list (file, 1-based line number, what is wrong).
    case malformedVocabulary(file: String, line: Int, String)
    /// The text needs more tokens than the context holds, start and end tokens included (text, tokens needed,
    /// context length). `clip.tokenize` raises `RuntimeError` here; `truncate: true` cuts the text instead.
    case textTooLong(String, tokens: Int, contextLength: Int)
    /// The context length cannot hold the start and end tokens (the length asked for).
    case invalidContextLength(Int)
    /// `decode` was given an id outside the vocabulary (the id).
    case unknownTokenID(Int32)

    public var description: String {
        switch self {
        case .vocabularyNotFound(let looked):
            let places = looked.map(\.description).joined(separator: ", ")
            let compressed = looked.compactMap(\.compressedCopy)
            var message = "CLIP vocabulary \(CLIPTokenizer.vocabularyFileName) not found; looked at: \(places)"
            if let gz = compressed.first {
                message += "; only a gzipped copy exists: decompress it with `gunzip -k \(gz)`"
            } else {
                message += "; get it with `bash .ci/setup` (fetches it from the clip-anytorch package on PyPI into "
                    + "/usr/local/share/pard), or give its path with --vocabulary or $PARD_VOCAB"
            }
            return message
        case .unreadableVocabulary(let file, let why):
            return "\(file): cannot read the CLIP vocabulary: \(why)"
        case .malformedVocabulary(let file, let line, let what):
            return "\(file):\(line): not CLIP's BPE vocabulary: \(what)"
        case .textTooLong(let text, let tokens, let contextLength):
            return "text \(Self.quoted(text)) needs \(tokens) tokens, more than the context length \(contextLength) "
                + "(pass truncate: true to cut it)"
        case .invalidContextLength(let length):
            return "context length \(length) is too small: it must hold at least the start and end tokens (2)"
        case .unknownTokenID(let id):
            return "token id \(id) is not in CLIP's vocabulary (0..<\(CLIPTokenizer.vocabularySize))"
        }
    }

    /// The text as a one-line Swift literal (newlines escaped), shortened past 200 characters.
    private static func quoted(_ text: String) -> String {
        let limit = 200
        guard text.count > limit else { return String(reflecting: text) }
        return String(reflecting: String(text.prefix(limit))) + "… (\(text.count) characters)"
    }
}

/// One place `CLIPTokenizer.locateVocabulary` looked at for the vocabulary file.
public struct VocabularyPlace: Sendable, Equatable, CustomStringConvertible {
    /// The file looked for.
    public var path: String
    /// Why this place was looked at: `explicit path`, `$PARD_VOCAB`, `$PARD_DATA_DIR`, `beside the executable`,
    /// `system`.
    public var reason: String
    /// A gzipped copy found there instead (`path` itself if it ends in `.gz`, else `path + ".gz"`), if any.
    public var compressedCopy: String?

    public init(path: String, reason: String, compressedCopy: String? = nil) {
        self.path = path
        self.reason = reason
        self.compressedCopy = compressedCopy
    }

    public var description: String { "\(path) (\(reason))" }
}
