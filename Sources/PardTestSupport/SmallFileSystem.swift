import Foundation

/// A real file system of a few kilobytes (tmpfs), mounted on a fresh directory for a test that needs a
/// disk that fills up; unmounted and removed when this object goes away. Needs root (as CI runs).
public final class SmallFileSystem: Sendable {
    /// The mount point.
    public let url: URL

    /// Why mounting failed.
    public struct MountFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Mounts a tmpfs of `bytes` (rounded up to pages by the kernel).
    public init(bytes: Int) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("pard-tests-smallfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        guard mount("tmpfs", url.path, "tmpfs", 0, "size=\(bytes),mode=0755") == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: url)
            throw MountFailed(description: "mount -t tmpfs on \(url.path): \(reason) (these tests need root)")
        }
    }

    /// The path of `name` on the file system.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Free bytes now.
    public var freeBytes: Int {
        var info = statvfs()
        guard statvfs(url.path, &info) == 0 else { return 0 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Fills the file system with a file `name` until at most `leaving` bytes are free (the kernel counts
    /// in pages, so somewhat less may remain).
    public func fill(_ name: String, leaving: Int) throws {
        let size = max(0, freeBytes - leaving)
        FileManager.default.createFile(atPath: path(name), contents: Data(count: size))
        guard FileManager.default.fileExists(atPath: path(name)) else {
            throw MountFailed(description: "cannot create \(path(name))")
        }
    }

    deinit {
        _ = umount2(url.path, Int32(MNT_DETACH))
        try? FileManager.default.removeItem(at: url)
    }
}
