/// What can go wrong finding the vocabulary or tokenising; each case names the input.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The vocabulary was not found (places looked, in order; whether a `.gz` was seen instead).
    case vocabularyNotFound(looked: [String], compressed: String?)
    /// The vocabulary file could not be read or is not CLIP's (file, why).
    case unreadableVocabulary(String, String)
    /// A text has more tokens than the context holds (text, tokens, limit).
    case tooLong(String, tokens: Int, limit: Int)

    public var description: String {
        switch self {
        case .vocabularyNotFound(let looked, let compressed):
            var m = "CLIP BPE vocabulary \(CLIPTokenizer.vocabularyFileName) not found; looked in: \(looked.joined(separator: ", "))"
            if let compressed { m += "; found \(compressed): decompress it with gunzip -k" }
            return m + ". `bash .ci/setup` installs it (from the clip-anytorch package on PyPI), or pass --vocabulary FILE"
        case .unreadableVocabulary(let file, let why): return "\(file): \(why)"
        case .tooLong(let text, let tokens, let limit):
            return "text '\(text)' has \(tokens) tokens, more than the context length \(limit)"
        }
    }
}
