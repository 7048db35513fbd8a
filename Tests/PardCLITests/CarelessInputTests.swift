import Foundation
import PardTestSupport
import Testing

/// Issue 8, items 4, 7, 9a and 10: what pard does with outputs that fail and inputs that lie.
@Suite struct CarelessInputTests {
    // Absolute: `MeasuredRun` does not change directory.
    static let model = ["--checkpoint", Fixtures.url("promptpar-tiny/checkpoint.pth").path]
    static let npy = Fixtures.url("promptpar-tiny/inputs.npy").path
    static let clip = Fixtures.url("video/vtest_first100_h264.mp4").path

    /// Runs pard with standard output on /dev/full.
    func runToDevFull(_ arguments: [String]) throws -> MeasuredRun {
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(full >= 0)
        defer { close(full) }
        return try MeasuredRun.run(arguments, stdout: full)
    }

    /// A detections file with one box of frame 1 of the clip.
    func oneBox(in tmp: TemporaryDirectory) throws -> String {
        let dets = tmp.path("dets.txt")
        try "1,-1,498.27,151.7,35.47,90.6,1\n".write(toFile: dets, atomically: true, encoding: .utf8)
        return dets
    }

    // MARK: Item 4: standard output that cannot be written

    @Test func classifyToAFullDeviceFailsWithAMessage() throws {
        let run = try runToDevFull(["classify"] + Self.model + ["--npy", Self.npy])
        #expect(run.signal == nil, "killed by signal \(run.signal ?? 0): \(run.stderr.prefix(300))")
        #expect(run.status == 1, "\(run.stderr.prefix(300))")
        #expect(run.stderr.contains("standard output: write failed: No space left on device"), "\(run.stderr.prefix(300))")
        // One message for the failure, after the line every command logs at start naming the model's arithmetic.
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 2 && lines.first?.hasPrefix("pard: model ") == true, "\(run.stderr.prefix(300))")
    }

    /// A pipe whose reader has gone: EPIPE, reported, not a silent death by SIGPIPE.
    @Test func classifyToAClosedPipeReportsBrokenPipe() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        close(ends[0])
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        defer { close(ends[1]) }
        let run = try MeasuredRun.run(["classify"] + Self.model + ["--npy", Self.npy], stdout: ends[1])
        #expect(run.signal == nil, "killed by signal \(run.signal ?? 0)")
        #expect(run.status == 1)
        #expect(run.stderr.contains("standard output: write failed: Broken pipe"), "\(run.stderr.prefix(300))")
    }

    @Test func processEventsToAFullStandardOutputFail() throws {
        let tmp = try TemporaryDirectory("pard-full-out")
        let dets = try oneBox(in: tmp)
        let run = try runToDevFull(["process", Self.clip, "--detections", dets, "--out", "-"] + Self.model)
        #expect(run.signal == nil, "killed by signal \(run.signal ?? 0)")
        #expect(run.status == 1)
        #expect(run.stderr.contains("standard output: write failed: No space left on device"), "\(run.stderr.prefix(300))")
    }

    // MARK: Item 7: non-finite pixels

    @Test func nonFinitePixelsAreRefusedWithTheirPosition() throws {
        let tmp = try TemporaryDirectory("pard-nan")
        for (value, name) in [(Float.nan, "NaN"), (Float.infinity, "+infinity"), (-Float.infinity, "-infinity")] {
            let path = tmp.path("inputs-\(name).npy")
            try CarelessInputFiles.npy(images: 4, value: value, at: (3, 1, 17, 5), to: path)
            let run = try PardProcess.run(["classify"] + Self.model + ["--npy", path])
            #expect(run.status == 1)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.contains("\(path): image 3, channel 1, row 17, column 5: \(name)"), "\(run.stderr)")
        }
    }

    // MARK: Item 9a: a small file declaring a huge picture

    @Test func aHugePictureIsRefusedBeforeItIsDecoded() throws {
        let tmp = try TemporaryDirectory("pard-huge-png")
        let path = tmp.path("huge.png")
        try Data(CarelessInputFiles.grayPNG(width: 16000, height: 16000, rows: 4)).write(to: URL(fileURLWithPath: path))
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(null) }
        let run = try MeasuredRun.run(["classify"] + Self.model + [path], stdout: null)
        #expect(run.status == 1)
        let last = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("\(path): picture of 16000x16000 pixels, larger than pard decodes (16384 pixels a side, 40000000 pixels)"),
                "\(run.stderr)")
        print("huge PNG: peak RSS \(run.peakKiB / 1024) MiB")
        #expect(run.peakKiB < 500 * 1024)
    }

    /// `pard process --no-model` on a frame-less Matroska file declaring `width` x `height`.
    func processFrameLessVideo(width: Int, height: Int) throws -> (video: String, run: PardProcess) {
        let tmp = try TemporaryDirectory("pard-frameless")
        let video = tmp.path("frameless.mkv"), dets = tmp.path("dets.txt")
        try Data(CarelessInputFiles.frameLessMKV(width: width, height: height)).write(to: URL(fileURLWithPath: video))
        try "1,-1,10,10,40,30,1\n".write(toFile: dets, atomically: true, encoding: .utf8)
        return (video, try PardProcess.run(["process", video, "--detections", dets, "--no-model"]))
    }

    @Test func aVideoDeclaringAHugePictureIsRefused() throws {
        let (video, run) = try processFrameLessVideo(width: 16000, height: 16000)
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(video): picture of 16000x16000 pixels, larger than pard decodes"), "\(run.stderr)")
    }

    // MARK: Item 10: misleading messages

    @Test func aVideoWithoutFramesIsAnError() throws {
        let (video, run) = try processFrameLessVideo(width: 64, height: 48)
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(video): nothing decoded"), "\(run.stderr)")
    }

    @Test func withoutAModelTheSummarySaysCropped() throws {
        let tmp = try TemporaryDirectory("pard-cropped")
        let dets = try oneBox(in: tmp)
        let run = try PardProcess.run(["process", Self.clip, "--detections", dets, "--no-model"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("1 boxes read: 1 cropped,"), "\(run.stderr)")
        #expect(!run.stderr.contains("classified"), "\(run.stderr)")
    }

    /// Directories no one can write into, root included: under a regular file, and /proc.
    @Test func anUnwritableCropFolderFailsBeforeTheModelLoads() throws {
        let tmp = try TemporaryDirectory("pard-crops-dir")
        let file = tmp.path("a-file"), dets = try oneBox(in: tmp)
        try "not a folder".write(toFile: file, atomically: true, encoding: .utf8)
        for folder in [file + "/crops", "/proc"] {
            // A missing checkpoint would fail when the model loads: the folder must be refused first.
            let run = try PardProcess.run(["process", Self.clip, "--detections", dets, "--dump-crops", folder,
                                           "--checkpoint", Fixtures.url("promptpar-tiny/config.json").path])
            #expect(run.status == 1)
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].contains("--dump-crops \(folder): cannot"), "\(run.stderr)")
        }
    }

    /// FFmpeg's complaints come out as pard's lines, not as `[png @ 0x55...]`.
    @Test func aCorruptImageGivesNoRawFFmpegLines() throws {
        let tmp = try TemporaryDirectory("pard-corrupt-png")
        let path = tmp.path("corrupt.png")
        try Data(CarelessInputFiles.grayPNG(width: 40, height: 80, rows: 3)).write(to: URL(fileURLWithPath: path))
        let run = try PardProcess.run(["classify"] + Self.model + [path])
        #expect(run.status == 1)
        #expect(!run.stderr.contains("@ 0x"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("pard: ") || $0.hasPrefix("Error: ") }, "\(run.stderr)")
        #expect(run.stderr.contains(path), "\(run.stderr)")
    }
}
