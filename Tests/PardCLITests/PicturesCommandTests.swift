import Foundation
import PardTestSupport
import Testing

/// `pard process --snapshots/--cards/--annotate` and `pard classify --card` as a user runs them.
@Suite struct PicturesCommandTests {
    static let clip = "Tests/Fixtures/video/vtest_first100_h264.mp4"
    static let tracks = "Tests/Fixtures/video/vtest_first100_tracks.txt"
    static let model = ["--checkpoint", "Tests/Fixtures/promptpar-tiny/checkpoint.pth"]

    /// Width and height from a PNG file's IHDR chunk, nil when it does not start like a PNG.
    static func pngSize(_ path: String) throws -> (Int, Int)? {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count > 24, data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
              data[12..<16] == Data("IHDR".utf8) else { return nil }
        func be32(_ at: Int) -> Int { data[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    /// Every file under `dir`, relative path to bytes.
    static func files(_ dir: String) throws -> [String: Data] {
        let paths = FileManager.default.subpaths(atPath: dir) ?? []
        var out: [String: Data] = [:]
        for p in paths where !p.hasSuffix("/") {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(dir)/\(p)", isDirectory: &isDir), !isDir.boolValue else { continue }
            out[p] = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(p)"))
        }
        return out
    }

    @Test func snapshotsCardsAndVideoAreWrittenAndTheSameTwice() throws {
        let tmp = try TemporaryDirectory("pard-pictures")
        var outputs: [[String: Data]] = []
        var events: [Data] = []
        for run in 0..<2 {
            let out = tmp.path("events\(run).jsonl")
            let result = try PardProcess.run(["process", Self.clip, "--detections", Self.tracks, "--out", out, "--snapshots", tmp.path("s"),
                                              "--cards", tmp.path("c"), "--annotate", tmp.path("a.mp4")] + Self.model)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("snapshots in \(tmp.path("s"))") && result.stderr.contains("100 frames annotated"), "\(result.stderr)")
            events.append(try Data(contentsOf: URL(fileURLWithPath: out)))
            outputs.append(try Self.files(tmp.path("s")))
            let tracks = String(decoding: events[run], as: UTF8.self).split(separator: "\n").filter { $0.contains("\"type\":\"track\"") }
            #expect(!tracks.isEmpty && tracks.allSatisfy { $0.contains("\"snapshot\":\"\(tmp.path("s"))/vtest_first100_h264.mp4/") })
            let cards = try Self.files(tmp.path("c"))
            #expect(cards.count == tracks.count)
            for name in cards.keys { #expect(try Self.pngSize(tmp.path("c/\(name)")) ?? (0, 0) == (640, 400), "\(name)") }
        }
        #expect(!outputs[0].isEmpty && outputs[0] == outputs[1])
        #expect(events[0] == events[1])
    }

    @Test func anUnwritableSnapshotFolderStopsProcessAtTheStart() throws {
        let tmp = try TemporaryDirectory("pard-pictures-bad")
        try Data("x".utf8).write(to: URL(fileURLWithPath: tmp.path("file")))
        let result = try PardProcess.run(["process", Self.clip, "--detections", Self.tracks, "--out", tmp.path("e.jsonl"),
                                          "--snapshots", tmp.path("file/snapshots")] + Self.model)
        #expect(result.status != 0)
        #expect(result.stderr.contains("--snapshots \(tmp.path("file/snapshots"))"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp.path("e.jsonl")), "stopped before any event")
        let noModel = try PardProcess.run(["process", Self.clip, "--detections", Self.tracks, "--no-model", "--cards", tmp.path("c")])
        #expect(noModel.status != 0 && noModel.stderr.contains("--cards needs a model"), "\(noModel.stderr)")
        let same = try PardProcess.run(["process", Self.clip, "--detections", Self.tracks, "--no-model", "--annotate", Self.clip])
        #expect(same.status != 0 && same.stderr.contains("is the input video"), "\(same.stderr)")
    }

    @Test func classifyDrawsTheCardOfAnImage() throws {
        let tmp = try TemporaryDirectory("pard-card")
        // A snapshot of the clip is a pedestrian picture to classify.
        let made = try PardProcess.run(["process", Self.clip, "--detections", Self.tracks, "--no-model", "--snapshots", tmp.path("s")])
        #expect(made.status == 0, "\(made.stderr)")
        let image = try #require(try Self.files(tmp.path("s")).keys.sorted().first)
        let run = try PardProcess.run(["classify", tmp.path("s/\(image)"), "--card", tmp.path("card.png")] + Self.model)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try run.jsonLines().count == 1)
        #expect(try Self.pngSize(tmp.path("card.png")) ?? (0, 0) == (640, 400))
        let two = try PardProcess.run(["classify", tmp.path("s/\(image)"), tmp.path("s/\(image)"), "--card", tmp.path("x.png")] + Self.model)
        #expect(two.status != 0 && two.stderr.contains("--card takes exactly one image"), "\(two.stderr)")
    }
}
