import Foundation
import PardFuzzing
import PardTestSupport
import Testing

/// Replays every input under `Tests/Fixtures/fuzz-regressions/<target>/` (inputs that once crashed a fuzz
/// target, kept after the fix) and the seed corpus `Fuzz/corpus/<target>/` through the very entry the
/// fuzzer calls: each must return or throw the parser's own error, never trap.
@Suite struct FuzzRegressionTests {
    /// Files directly in `folder` (none when it does not exist), sorted by name.
    static func inputs(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    static func regressionInputs(_ target: FuzzTarget) -> [URL] {
        inputs(in: Fixtures.url("fuzz-regressions/\(target.rawValue)"))
    }

    static func seedInputs(_ target: FuzzTarget) -> [URL] {
        inputs(in: Fixtures.repositoryRoot.appendingPathComponent("Fuzz/corpus/\(target.rawValue)"))
    }

    /// Runs `file` through `target`; records an issue naming the file for an error of another type.
    static func replay(_ file: URL, through target: FuzzTarget) throws {
        let bytes = try Data(contentsOf: file)
        do {
            try bytes.withUnsafeBytes { try target.run($0) }
        } catch {
            #expect(target.isExpected(error), "\(file.lastPathComponent): unexpected \(type(of: error)): \(error)")
            #expect(!String(describing: error).isEmpty)
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyRegressionInputIsRefusedOrRead(_ target: FuzzTarget) throws {
        for file in Self.regressionInputs(target) { try Self.replay(file, through: target) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everySeedIsReadAndTheCorpusIsThere(_ target: FuzzTarget) throws {
        let seeds = Self.seedInputs(target)
        #expect(!seeds.isEmpty, "Fuzz/corpus/\(target.rawValue) has no seeds")
        for file in seeds { try Self.replay(file, through: target) }
    }
}
