import Foundation

/// Paths of the files under `Tests/Fixtures`, found from this source file's location so that tests
/// run from any working directory.
public enum Fixtures {
    /// `Tests/Fixtures` of this repository.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // PardTestSupport
        .deletingLastPathComponent()  // Sources
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("Tests/Fixtures")

    /// The repository root (for `configs/`).
    public static let repositoryRoot: URL = root.deletingLastPathComponent().deletingLastPathComponent()

    /// A file under `Tests/Fixtures`, e.g. `Fixtures.url("promptpar-tiny/logits.npy")`.
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
}
