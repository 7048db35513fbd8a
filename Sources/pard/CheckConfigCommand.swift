import ArgumentParser
import Foundation
import PardDaemon

/// `pard check-config`: validates a `pard run` configuration without starting anything.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a pard run configuration file (YAML); print one line per stream.",
        discussion: """
        Reads FILE as pard run would and reports the first problem as FILE:LINE: KEY.PATH: MESSAGE \
        (exit status 1), or prints a summary of the model settings and one line per stream, with \
        stream credentials redacted (exit status 0). A detection socket or event file in a folder that \
        does not exist is an error, unless the folder is one systemd creates for pard.service (/run/pard, \
        /var/log/pard, /var/lib/pard). Files the configuration names but that are not on this machine \
        (checkpoint, attribute set, vocabulary, video files, those folders) are warnings; --strict makes \
        them errors.
        """)

    @Argument(help: "The configuration file (e.g. /etc/pard/pard.yaml).")
    var file: String

    @Flag(help: "Fail (exit status 1) when files the configuration names are missing on this machine.")
    var strict = false

    func run() throws {
        let config: DaemonConfig
        do {
            config = try DaemonConfig.load(path: file)
        } catch {
            Self.standardError("pard: \(error)")
            throw ExitCode(1)
        }
        let unusable = config.unusablePaths()
        guard unusable.isEmpty else {
            for problem in unusable { Self.standardError("pard: \(problem)") }
            throw ExitCode(1)
        }
        try Output.standardOutput(config.summary + "\n")
        for stream in config.streams { try Output.standardOutput("stream \(stream)\n") }
        let missing = config.missingFiles()
        for problem in missing { Self.standardError("pard: \(strict ? "" : "warning: ")\(problem)") }
        if strict && !missing.isEmpty { throw ExitCode(1) }
        let streams = config.streams.count == 1 ? "1 stream" : "\(config.streams.count) streams"
        try Output.standardOutput("\(file): ok (\(streams)\(missing.isEmpty ? "" : ", \(missing.count) missing file\(missing.count == 1 ? "" : "s")"))\n")
    }

    /// Writes one line to standard error.
    static func standardError(_ line: String) { Output.message(line) }
}
