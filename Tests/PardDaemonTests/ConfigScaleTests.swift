import Foundation
import PardDaemon
import PardTestSupport
import Testing

/// What a configuration can cost to check is bounded: linear in its size, and its size is bounded.
@Suite struct ConfigScaleTests {
    /// `count` streams, each with its own name, camera and socket.
    static func manyStreams(_ count: Int) -> String {
        var text = "model:\n  checkpoint: /models/m.pth\nstreams:\n"
        text.reserveCapacity(count * 110)
        for index in 0..<count {
            text += "  - name: cam\(index)\n    url: rtsp://u:p@10.\(index / 65536).\((index / 256) % 256).\(index % 256)/live\n"
            text += "    detections: unix:/run/pard/s\(index).sock\n"
        }
        return text
    }

    /// 20,000 streams took 92 s (quadratic: each stream's name and detection source were compared with
    /// every earlier stream's); now about 2 s in a debug build.
    @Test func twentyThousandStreamsValidateQuickly() throws {
        let tmp = try TemporaryDirectory("scale")
        let file = tmp.path("many.yaml")
        try Self.manyStreams(20_000).write(toFile: file, atomically: true, encoding: .utf8)
        let clock = ContinuousClock()
        var config: DaemonConfig?
        let elapsed = try clock.measure {
            config = try DaemonConfig.load(path: file)
            _ = config?.missingFiles()
            _ = config?.unusablePaths()
            _ = config?.description
        }
        #expect(config?.streams.count == 20_000)
        #expect(config?.streams.last?.name == "cam19999")
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }

    /// A repeated name or detection source is still found, and named, at the end of a long list.
    @Test func duplicatesFoundInLongLists() throws {
        let base = Self.manyStreams(3_000)
        let name = try #require(configError(base + "  - name: cam17\n    url: /v.mp4\n    detections: /d.txt\n"))
        #expect(name.description == "pard.yaml:9004: streams[3000].name: \"cam17\" is already the name of streams[17]; names must be unique")
        let socket = try #require(configError(base + "  - name: last\n    url: /v.mp4\n    detections: unix:/run/pard/s2999.sock\n"))
        #expect(socket.description == "pard.yaml:9006: streams[3000].detections: unix:/run/pard/s2999.sock is already the detection source of streams[2999] (cam2999)")
        let tcp = "  - name: a\n    url: /v.mp4\n    detections: tcp:127.0.0.1:9101\n  - name: b\n    url: /w.mp4\n    detections: tcp:[::1]:9101\n"
        let port = try #require(configError(base + tcp))
        #expect(port.keyPath == "streams[3001].detections" && port.message.contains("streams[3000] (a)"), "\(port)")
    }

    /// A file over `maximumFileBytes` is refused from its size, without being read: an 8 GiB sparse
    /// file would take far longer than the bound to read.
    @Test func oversizedFileRefused() throws {
        let tmp = try TemporaryDirectory("scale")
        let file = tmp.path("huge.yaml")
        #expect(FileManager.default.createFile(atPath: file, contents: Data("model:\n".utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: 8 << 30)
        try handle.close()
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: ConfigError.self) { _ = try DaemonConfig.load(path: file) }
        #expect(error?.file == file && error?.line == nil)
        #expect(error?.message == "is 8192 MiB; a configuration file may have at most 16 MiB (DaemonConfig.maximumFileBytes)")
        #expect(clock.now - start < .seconds(2))
        #expect(DaemonConfig.maximumFileBytes == 16 << 20)
    }

    /// A FIFO has no size: it is read up to the bound and refused there.
    @Test func oversizedStreamRefused() throws {
        let tmp = try TemporaryDirectory("scale")
        let fifo = tmp.path("pard.yaml")
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
            // Exactly one byte over the bound, so that the writer is done when pard stops reading.
            let chunk = Data(repeating: UInt8(ascii: "#"), count: 1 << 20)
            for _ in 0..<16 { guard (try? handle.write(contentsOf: chunk)) != nil else { break } }
            try? handle.write(contentsOf: Data("\n".utf8))
            try? handle.close()
        }
        writer.start()
        #expect(throws: ConfigError(file: fifo, line: nil, keyPath: "", message: "is more than 16 MiB; a configuration file may have at most 16 MiB (DaemonConfig.maximumFileBytes)")) {
            _ = try DaemonConfig.load(path: fifo)
        }
    }
}
