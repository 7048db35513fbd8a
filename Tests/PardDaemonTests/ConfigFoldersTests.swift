import Foundation
import PardDaemon
import PardTestSupport
import Testing

/// A detection socket or event file in a folder that does not exist fails check-config (as `pard run`
/// would fail to bind or open it), except in the folders systemd creates for the service.
@Suite struct ConfigFoldersTests {
    /// The minimal configuration with `socket` as the detection source and `events` as the event file.
    static func config(socket: String, events: String = "-") throws -> DaemonConfig {
        let yaml = minimalYAML(top: ["output:", "  events: \"\(events)\""])
            .replacingOccurrences(of: "unix:/run/pard/cam1.sock", with: "unix:\(socket)")
        return try DaemonConfig(yaml: yaml, file: "pard.yaml")
    }

    @Test func socketInAMissingFolder() throws {
        let tmp = try TemporaryDirectory("folders")
        let problems = try Self.config(socket: tmp.path("missing/cam1.sock")).unusablePaths()
        #expect(problems.map(\.description) == [
            "pard.yaml:6: streams[0].detections: \(tmp.path("missing")): no such folder, so pard run cannot create the detection socket of stream cam1 \(tmp.path("missing/cam1.sock"))",
        ])
    }

    @Test func socketWhereAFileIs() throws {
        let tmp = try TemporaryDirectory("folders")
        #expect(FileManager.default.createFile(atPath: tmp.path("plain"), contents: Data()))
        let underFile = try Self.config(socket: tmp.path("plain/cam1.sock")).unusablePaths()
        #expect(underFile.count == 1 && underFile[0].line == 6 && underFile[0].keyPath == "streams[0].detections")
        #expect(underFile.first?.message.contains("not a folder") == true, "\(underFile)")
        let taken = try Self.config(socket: tmp.path("plain")).unusablePaths()
        #expect(taken.map(\.message) == ["\(tmp.path("plain")) exists and is not a socket (pard replaces only a stale socket)"])
        #expect(try Self.config(socket: tmp.path("cam1.sock")).unusablePaths().isEmpty)
    }

    @Test func eventFileFolder() throws {
        let tmp = try TemporaryDirectory("folders")
        let missing = try Self.config(socket: tmp.path("cam1.sock"), events: tmp.path("none/events.jsonl")).unusablePaths()
        #expect(missing.count == 1 && missing.first?.keyPath == "output.events" && missing.first?.line == 8, "\(missing)")
        #expect(missing.first?.message.contains("no such folder") == true)
        let folder = try Self.config(socket: tmp.path("cam1.sock"), events: tmp.path("")).unusablePaths()
        #expect(folder.map(\.keyPath) == ["output.events"])
        #expect(try Self.config(socket: tmp.path("cam1.sock"), events: tmp.path("events.jsonl")).unusablePaths().isEmpty)
    }

    /// `/run/pard` and `/var/log/pard` appear when the service starts: a warning at most, never an error.
    @Test func serviceFoldersAreWarnings() throws {
        let config = try Self.config(socket: "/run/pard/cam1.sock", events: "/var/log/pard/events.jsonl")
        #expect(config.unusablePaths().isEmpty)
        let warnings = config.missingFiles().filter { $0.keyPath == "streams[0].detections" || $0.keyPath == "output.events" }
        let missing = ["/run/pard", "/var/log/pard"].filter { !FileManager.default.fileExists(atPath: $0) }
        #expect(warnings.count == missing.count, "\(warnings)")
        for warning in warnings { #expect(warning.message.contains("systemd creates it when pard.service starts"), "\(warning)") }
        #expect(DaemonConfig.serviceFolders == ["/run/pard", "/var/log/pard", "/var/lib/pard"])
    }
}
