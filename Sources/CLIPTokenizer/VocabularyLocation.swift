import Foundation

extension CLIPTokenizer {
    /// The places the vocabulary is looked for, in order: `$PARD_VOCAB`, `$PARD_DATA_DIR`,
    /// `<prefix>/share/pard` of the running executable, `/usr/local/share/pard`, `/usr/share/pard`.
    public static func vocabularyCandidates(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var c: [String] = []
        if let v = environment["PARD_VOCAB"] { c.append(v) }
        if let d = environment["PARD_DATA_DIR"] { c.append("\(d)/\(vocabularyFileName)") }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        c.append(exe.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("share/pard/\(vocabularyFileName)").path)
        c.append("/usr/local/share/pard/\(vocabularyFileName)")
        c.append("/usr/share/pard/\(vocabularyFileName)")
        return c
    }

    /// The vocabulary file: `explicit` if given (it must exist), else the first candidate that exists.
    public static func locateVocabulary(explicit: String? = nil,
                                        environment: [String: String] = ProcessInfo.processInfo.environment) throws(TokenizerError) -> URL {
        let fm = FileManager.default
        let candidates = explicit.map { [$0] } ?? vocabularyCandidates(environment: environment)
        for path in candidates where fm.fileExists(atPath: path) { return URL(fileURLWithPath: path) }
        let gz = candidates.map { $0.hasSuffix(".gz") ? $0 : $0 + ".gz" }.first { fm.fileExists(atPath: $0) }
        throw .vocabularyNotFound(looked: candidates, compressed: gz)
    }
}
