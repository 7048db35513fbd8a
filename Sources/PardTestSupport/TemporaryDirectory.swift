import Foundation

/// A fresh directory under the system temporary directory, deleted with its contents when this object
/// goes away.
public final class TemporaryDirectory: Sendable {
    public let url: URL

    /// Creates `<tmp>/pard-tests-<prefix>-<uuid>`.
    public init(_ prefix: String = "tmp") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("pard-tests-\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory (not created).
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
