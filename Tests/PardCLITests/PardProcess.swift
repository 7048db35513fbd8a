import Foundation
import PardTestSupport

/// Runs the `pard` executable built beside the test bundle.
struct PardProcess {
    let status: Int32
    let stdout: String
    let stderr: String

    /// `.build/<config>/pard`, next to the test runner; found once, at the first use (a rebuild that
    /// replaces the runner's file while tests run leaves `/proc/self/exe` pointing at a deleted file).
    static let executable: URL =
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("pard")

    /// `timeout`: seconds after which the child is killed (SIGTERM, then SIGKILL 5 s later), so that a
    /// hang fails the test instead of the suite.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double? = nil) throws -> PardProcess {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        p.currentDirectoryURL = Fixtures.repositoryRoot
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        if let timeout {
            let pid = p.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                guard p.isRunning else { return }
                kill(pid, SIGTERM)
                DispatchQueue.global().asyncAfter(deadline: .now() + 5) { if p.isRunning { kill(pid, SIGKILL) } }
            }
        }
        // Read both pipes before waiting, so a full pipe cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return PardProcess(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                           stderr: String(decoding: e, as: UTF8.self))
    }

    /// stdout's lines as JSON objects.
    func jsonLines() throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            guard let o = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
                throw NotJSON(line: String($0))
            }
            return o
        }
    }
}

struct NotJSON: Error { let line: String }
