import CLIPTokenizer
import Foundation
import Testing

/// A fresh folder under the system temporary folder, removed with its contents when released.
final class ScratchFolder: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("pard-tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `relative` inside the folder (not created).
    func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }

    /// Writes `contents` at `relative`, creating folders on the way; returns the path.
    @discardableResult
    func write(_ relative: String, _ contents: Data = Data("x".utf8)) throws -> String {
        let file = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: file)
        return file.path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

@Suite struct VocabularyTests {
    let dir: ScratchFolder
    let name = CLIPTokenizer.vocabularyFileName
    init() throws { dir = try ScratchFolder() }

    /// The settings of a search where nothing exists, all inside `dir`.
    var environment: [String: String] { ["PARD_VOCAB": dir.path("env/vocab.txt"), "PARD_DATA_DIR": dir.path("data")] }
    var executable: URL { URL(fileURLWithPath: dir.path("prefix/bin/pard")) }
    var systemDirectories: [String] { [dir.path("sys1"), dir.path("sys2")] }

    func locate(explicit: String? = nil, environment: [String: String]? = nil) throws(TokenizerError) -> URL {
        try CLIPTokenizer.locateVocabulary(explicit: explicit, environment: environment ?? self.environment,
                                           executableURL: executable, systemDirectories: systemDirectories)
    }

    @Test func missingVocabularyListsEveryPlaceLooked() throws {
        let looked = [
            VocabularyPlace(path: dir.path("env/vocab.txt"), reason: "$PARD_VOCAB"),
            VocabularyPlace(path: dir.path("data/\(name)"), reason: "$PARD_DATA_DIR"),
            VocabularyPlace(path: dir.path("prefix/share/pard/\(name)"), reason: "beside the executable"),
            VocabularyPlace(path: dir.path("sys1/\(name)"), reason: "system"),
            VocabularyPlace(path: dir.path("sys2/\(name)"), reason: "system"),
        ]
        let error = #expect(throws: TokenizerError.self) { try locate() }
        #expect(error == .vocabularyNotFound(looked: looked))
        let description = error?.description ?? ""
        for place in looked { #expect(description.contains("\(place.path) (\(place.reason))")) }
        #expect(description.contains("bash .ci/setup") && description.contains("clip-anytorch"))
        #expect(!description.contains("\n") && !description.contains("gunzip"))
    }

    @Test func explicitPathIsTheOnlyPlaceLookedAt() throws {
        try dir.write("data/\(name)")
        let explicit = dir.path("typo/\(name)")
        #expect(throws: TokenizerError.vocabularyNotFound(looked: [VocabularyPlace(path: explicit, reason: "explicit path")])) {
            try locate(explicit: explicit)
        }
        let given = try dir.write("given.txt")
        #expect(try locate(explicit: given).path == given)
    }

    @Test func gzippedCopyIsNamedWithHowToDecompressIt() throws {
        let gz = try dir.write("data/\(name).gz", Data([0x1F, 0x8B, 0x08, 0x00]))
        let error = #expect(throws: TokenizerError.self) { try locate() }
        guard case .vocabularyNotFound(let looked) = error else { Issue.record("unexpected \(String(describing: error))"); return }
        #expect(looked.count == 5)
        #expect(looked.map(\.compressedCopy) == [nil, gz, nil, nil, nil])
        #expect(error?.description.hasSuffix("only a gzipped copy exists: decompress it with `gunzip -k \(gz)`") == true)

        let explicitGz = try dir.write("mine.txt.gz")
        #expect(throws: TokenizerError.vocabularyNotFound(looked: [
            VocabularyPlace(path: explicitGz, reason: "explicit path", compressedCopy: explicitGz),
        ])) { try locate(explicit: explicitGz) }
    }

    @Test func firstPlaceThatExistsWins() throws {
        let system = try dir.write("sys2/\(name)")
        #expect(try locate().path == system)
        let beside = try dir.write("prefix/share/pard/\(name)")
        #expect(try locate().path == beside)
        let data = try dir.write("data/\(name)")
        #expect(try locate().path == data)
        let env = try dir.write("env/vocab.txt")
        #expect(try locate().path == env)
        // Empty settings count as unset.
        #expect(try locate(environment: ["PARD_VOCAB": "", "PARD_DATA_DIR": ""]).path == beside)
        // A folder is not the file.
        try FileManager.default.createDirectory(atPath: dir.path("folder"), withIntermediateDirectories: true)
        #expect(try locate(environment: ["PARD_VOCAB": dir.path("folder")]).path == beside)
    }

    @Test func executableIsFollowedThroughSymbolicLinks() throws {
        let beside = try dir.write("prefix/share/pard/\(name)")
        try dir.write("prefix/bin/pard")
        try FileManager.default.createDirectory(atPath: dir.path("elsewhere/bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir.path("elsewhere/bin/pard"), withDestinationPath: dir.path("prefix/bin/pard"))
        let found = try CLIPTokenizer.locateVocabulary(environment: [:], executableURL: URL(fileURLWithPath: dir.path("elsewhere/bin/pard")),
                                                       systemDirectories: [])
        #expect(found.path == beside)
        #expect(CLIPTokenizer.systemVocabularyDirectories == ["/usr/local/share/pard", "/usr/share/pard"])
    }

    @Test func notAVocabularyIsRejectedNamingTheLine() throws {
        let tiny = try dir.write("tiny.txt", Data("#version: 0.2\na b\n".utf8))
        let error = #expect(throws: TokenizerError.self) { try CLIPTokenizer(vocabulary: URL(fileURLWithPath: tiny)) }
        guard case .malformedVocabulary(tiny, 3, _) = error else { Issue.record("unexpected \(String(describing: error))"); return }

        let gz = try dir.write("vocab.gz", Data([0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFE]))
        let gzError = #expect(throws: TokenizerError.self) { try CLIPTokenizer(vocabulary: URL(fileURLWithPath: gz)) }
        #expect(gzError?.description.contains("gunzip") == true)

        let folder = URL(fileURLWithPath: dir.path("folder"))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let folderError = #expect(throws: TokenizerError.self) { try CLIPTokenizer(vocabulary: folder) }
        guard case .unreadableVocabulary(folder.path, _) = folderError else {
            Issue.record("unexpected \(String(describing: folderError))"); return
        }
    }

    @Test func brokenMergeLineIsNamed() throws {
        let real = try String(contentsOf: CLIPTokenizer.locateVocabulary(), encoding: .utf8)
        var lines = real.components(separatedBy: "\n")
        lines[99] = "a b c"  // line 100 of the file
        #expect(throws: TokenizerError.malformedVocabulary(file: "v.txt", line: 100, #"expected two symbols, found 3: "a b c""#)) {
            try CLIPTokenizer(vocabularyText: lines.joined(separator: "\n"), source: "v.txt")
        }
        lines[99] = "a \u{0100}\u{0144}"
        #expect(throws: TokenizerError.malformedVocabulary(file: "v.txt", line: 100, "symbol character U+144 is not a byte character")) {
            try CLIPTokenizer(vocabularyText: lines.joined(separator: "\n"), source: "v.txt")
        }
        // The unused lines past the merges do not matter; CRLF line ends read as the Python reads them.
        let merges = real.components(separatedBy: "\n").prefix(48895)
        let crlf = try CLIPTokenizer(vocabularyText: merges.joined(separator: "\r\n"), source: "crlf.txt")
        #expect(try crlf.tokenize("A pedestrian wearing a hat") == tokenizer().tokenize("A pedestrian wearing a hat"))
    }
}
