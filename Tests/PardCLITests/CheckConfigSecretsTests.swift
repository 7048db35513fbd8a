import Foundation
import PardTestSupport
import Testing

/// `pard check-config`, the real executable, never prints a camera password, whatever shape the URL
/// has, and still names the line and key of the problem.
@Suite struct CheckConfigSecretsTests {
    /// The stream's lines, the exit status, and what standard error must say.
    static let cases: [(name: String, lines: [String], status: Int32, words: String)] = [
        ("one slash", ["url: rtsp:/admin:Pw9s3cr3t@10.0.0.5/x"], 1, ":5: streams[0].url: "),
        ("no scheme", ["url: admin:Pw9s3cr3t@10.0.0.5/x"], 1, ":5: streams[0].url: "),
        ("comment inside the password", ["url: rtsp://admin:Pw9 #s3cr3t@10.0.0.5/x"], 1, ":5: streams[0].url: a YAML comment"),
        ("as a key", ["url: rtsp://10.0.0.5/x", "rtsp://admin:Pw9s3cr3t@10.0.0.5/x: 1"], 1, ":6: streams[0].rtsp://***@10.0.0.5/x: unknown key"),
        ("valid, @ in the password", ["url: rtsp://admin:Pw9@s3cr3t@10.0.0.5/x"], 0, "warning: "),
    ]

    @Test(arguments: cases.indices) func passwordNeverPrinted(index: Int) throws {
        let item = Self.cases[index]
        let tmp = try TemporaryDirectory("check-config")
        let file = tmp.path("pard.yaml")
        let stream = ["  - name: cam1"] + (item.lines + ["detections: tcp:127.0.0.1:9101"]).map { "    " + $0 }
        let yaml = (["model:", "  checkpoint: /models/m.pth", "streams:"] + stream).joined(separator: "\n") + "\n"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try PardProcess.run(["check-config", file])
        #expect(result.status == item.status, "\(item.name): \(result.stderr)")
        #expect(result.stderr.contains(item.words), "\(item.name): \(result.stderr)")
        for fragment in ["Pw9", "s3cr3t"] {
            #expect(!(result.stdout + result.stderr).contains(fragment), "\(item.name): \(result.stdout)\(result.stderr)")
        }
        if item.status == 0 { #expect(result.stdout.contains("stream cam1: rtsp://***@10.0.0.5/x"), "\(result.stdout)") }
    }

    /// A socket in a folder that does not exist fails, naming the stream, key and line.
    @Test func socketFolderMissing() throws {
        let tmp = try TemporaryDirectory("check-config")
        let file = tmp.path("pard.yaml")
        let yaml = "model:\n  checkpoint: /models/m.pth\nstreams:\n  - name: cam1\n    url: rtsp://10.0.0.5/x\n"
            + "    detections: unix:\(tmp.path("nope/cam1.sock"))\n"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try PardProcess.run(["check-config", file])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(file):6: streams[0].detections: \(tmp.path("nope")): no such folder"), "\(result.stderr)")
        #expect(result.stderr.contains("stream cam1"), "\(result.stderr)")
    }
}
