import Foundation

extension DaemonConfig {
    /// The folders systemd creates for `pard.service` when it starts (`RuntimeDirectory=`, `LogsDirectory=`,
    /// `StateDirectory=` in `systemd/pard.service`): missing before the service first starts, not an error.
    public static let serviceFolders: Set<String> = ["/run/pard", "/var/log/pard", "/var/lib/pard"]

    /// Places `pard run` must create something in but cannot: a `unix:` detection socket or the event
    /// file in a folder that does not exist (or is no folder), a socket path taken by something that is
    /// no socket, an event file that is a folder. Each is a `ConfigError` at the key that names it;
    /// `pard check-config` fails with them, as `pard run` would. A missing folder of `serviceFolders`
    /// is not among them (see `missingFiles()`).
    public func unusablePaths() -> [ConfigError] {
        outputPlaces().compactMap { $0.managed ? nil : $0.problem }
    }

    /// Missing `serviceFolders` that a socket or the event file goes in: warnings, with `missingFiles()`.
    func missingServiceFolders() -> [ConfigError] {
        outputPlaces().compactMap { $0.managed ? $0.problem : nil }
    }

    /// Every problem with a path pard creates, marked when it is a missing `serviceFolders` folder.
    private func outputPlaces() -> [(problem: ConfigError, managed: Bool)] {
        var problems: [(problem: ConfigError, managed: Bool)] = []
        func check(_ path: String, at keyPath: String, creating what: String, isSocket: Bool) {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
                if Self.serviceFolders.contains(folder) {
                    problems.append((error(at: keyPath, "\(folder): no such folder yet, for \(what); systemd creates it when pard.service starts; without systemd, create it first"), true))
                } else {
                    problems.append((error(at: keyPath, "\(folder): no such folder, so pard run cannot create \(what) \(path)"), false))
                }
            } else if !isDirectory.boolValue {
                problems.append((error(at: keyPath, "\(folder): not a folder, so pard run cannot create \(what) \(path)"), false))
            } else if let kind = Self.fileKind(path), isSocket ? kind != S_IFSOCK : kind == S_IFDIR {
                let what = isSocket ? "exists and is not a socket (pard replaces only a stale socket)" : "is a folder"
                problems.append((error(at: keyPath, "\(path) \(what)"), false))
            }
        }
        for (index, stream) in streams.enumerated() {
            guard case .unix(let path) = stream.detections else { continue }
            check(path, at: "streams[\(index)].detections", creating: "the detection socket of stream \(stream.name)", isSocket: true)
        }
        if case .file(let path) = output.events { check(path, at: "output.events", creating: "the event file", isSocket: false) }
        return problems
    }

    /// The `S_IFMT` bits of the file at `path` (not following a symbolic link), nil when there is none.
    private static func fileKind(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
    }
}
