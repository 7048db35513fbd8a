import Foundation

extension CLIPTokenizer {
    /// The vocabulary's file name: OpenAI's `bpe_simple_vocab_16e6.txt`, decompressed.
    public static let vocabularyFileName = "bpe_simple_vocab_16e6.txt"

    /// The system-wide folders looked at last, in order. `bash .ci/setup` installs the file in the first.
    public static let systemVocabularyDirectories = ["/usr/local/share/pard", "/usr/share/pard"]

    /// Finds the decompressed vocabulary file.
    ///
    /// `explicit` (a file path, e.g. pard's `--vocabulary`), if given, is the only place looked at: a wrong
    /// path is an error rather than silently replaced. Otherwise looks at, in order, and returns the first
    /// regular file found:
    /// 1. `$PARD_VOCAB` (a file path);
    /// 2. `$PARD_DATA_DIR/bpe_simple_vocab_16e6.txt`;
    /// 3. `<exe>/../share/pard/bpe_simple_vocab_16e6.txt`, beside the folder of the running executable
    ///    (symbolic links resolved), so `/usr/local/bin/pard` finds `/usr/local/share/pard`;
    /// 4. each of `systemDirectories` (`/usr/local/share/pard`, `/usr/share/pard`).
    ///
    /// Empty settings count as unset. A place given twice is looked at once.
    /// - Parameters:
    ///   - environment: where `PARD_VOCAB` and `PARD_DATA_DIR` are read (the process's by default).
    ///   - executableURL: the running executable (the process's by default; `nil` skips that place).
    ///   - systemDirectories: the folders looked at last.
    /// - Throws: `TokenizerError.vocabularyNotFound` listing every place looked at; when only a `.gz` copy
    ///   exists at one of them, the error says to gunzip it.
    public static func locateVocabulary(
        explicit: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executableURL: URL? = Bundle.main.executableURL,
        systemDirectories: [String] = systemVocabularyDirectories
    ) throws(TokenizerError) -> URL {
        var places: [VocabularyPlace] = []
        func add(_ path: String, _ reason: String) {
            let path = URL(fileURLWithPath: path).standardizedFileURL.path
            if !places.contains(where: { $0.path == path }) { places.append(VocabularyPlace(path: path, reason: reason)) }
        }
        func setting(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

        if let explicit = setting(explicit) {
            add(explicit, "explicit path")
        } else {
            if let file = setting(environment["PARD_VOCAB"]) { add(file, "$PARD_VOCAB") }
            if let dir = setting(environment["PARD_DATA_DIR"]) {
                add(URL(fileURLWithPath: dir).appendingPathComponent(vocabularyFileName).path, "$PARD_DATA_DIR")
            }
            if let exe = executableURL?.resolvingSymlinksInPath() {
                let prefix = exe.deletingLastPathComponent().deletingLastPathComponent()
                add(prefix.appendingPathComponent("share/pard/\(vocabularyFileName)").path, "beside the executable")
            }
            for dir in systemDirectories {
                add(URL(fileURLWithPath: dir).appendingPathComponent(vocabularyFileName).path, "system")
            }
        }

        for place in places where !place.path.hasSuffix(".gz") && isRegularFile(place.path) {
            return URL(fileURLWithPath: place.path)
        }
        for i in places.indices {
            let path = places[i].path
            let gz = path.hasSuffix(".gz") ? path : path + ".gz"
            if isRegularFile(gz) { places[i].compressedCopy = gz }
        }
        throw .vocabularyNotFound(looked: places)
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
