import Foundation
import PardTestSupport
import Testing
@testable import PARAttributes

/// Where presets are looked for.
@Suite struct SearchPathTests {
    @Test func orderDataDirThenAboveTheExecutableThenSystem() throws {
        let tmp = try TemporaryDirectory("attr-search")
        let root = tmp.url.resolvingSymlinksInPath()
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("checkout/configs/attributes"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("checkout/.build/share/pard/attributes"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("checkout/.build/release"), withIntermediateDirectories: true)
        let executable = root.appendingPathComponent("checkout/.build/release/pard")
        let paths = AttributeSet.searchPaths(dataDirectory: "/data/pard", executables: [executable, executable]).map(\.path)
        #expect(paths == [
            "/data/pard/attributes",
            root.appendingPathComponent("checkout/.build/share/pard/attributes").path,
            root.appendingPathComponent("checkout/configs/attributes").path,
            "/usr/local/share/pard/attributes",
            "/usr/share/pard/attributes",
        ])
    }

    @Test func withoutDataDirOrFoldersOnlyTheSystemPlaces() {
        let paths = AttributeSet.searchPaths(dataDirectory: "", executables: [URL(fileURLWithPath: "/nonexistent/bin/pard")])
        #expect(paths.map(\.path) == ["/usr/local/share/pard/attributes", "/usr/share/pard/attributes"])
    }

    @Test func theDataDirComesFromTheEnvironmentName() throws {
        // defaultSearchPaths reads PARD_DATA_DIR; whatever it holds here, the first path follows it.
        let paths = AttributeSet.defaultSearchPaths()
        if let dir = ProcessInfo.processInfo.environment["PARD_DATA_DIR"], !dir.isEmpty {
            #expect(paths.first?.path == URL(fileURLWithPath: dir).appendingPathComponent("attributes").standardizedFileURL.path)
        }
        #expect(paths.suffix(2).map(\.path) == ["/usr/local/share/pard/attributes", "/usr/share/pard/attributes"])
    }

    /// The test runner is built inside the checkout (`.build*/...`), so walking up from it finds the
    /// repository's presets, as `swift run pard` does.
    @Test func aBuildInsideTheCheckoutFindsTheRepositoryPresets() throws {
        let repository = Fixtures.repositoryRoot.resolvingSymlinksInPath().standardizedFileURL.path
        let executables = AttributeSet.executableLocations(environment: ProcessInfo.processInfo.environment)
        #expect(!executables.isEmpty)
        try #require(executables.contains { $0.path.hasPrefix(repository + "/") },
                     "the test runner is not built inside the checkout; nothing to check")
        let configs = Fixtures.repositoryRoot.appendingPathComponent("configs/attributes").resolvingSymlinksInPath().standardizedFileURL.path
        #expect(AttributeSet.defaultSearchPaths().map { $0.resolvingSymlinksInPath().standardizedFileURL.path }.contains(configs))
        #expect(try AttributeSet.preset(named: "wider", searchPaths: AttributeSet.defaultSearchPaths()).count == 14)
    }
}
