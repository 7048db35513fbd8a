import Foundation
import PardDaemon
import PardTestSupport
import PardVideo
import Testing

/// `DetectionReceiver`: Unix socket and loopback TCP with concurrent producers, malformed lines counted
/// without dropping the connection, FIFO and file following.
@Suite struct LiveDetectionReceiverTests {
    /// A receiver with what it delivered recorded.
    final class Harness: Sendable {
        let detections = Recorder<FrameDetections>()
        let malformed = Recorder<DetectionReceiver.Malformed>()
        let receiver: DetectionReceiver

        init(_ source: DetectionSource, maximumLineBytes: Int = 1 << 20, maximumConnections: Int = 64) {
            let detections = self.detections, malformed = self.malformed
            receiver = DetectionReceiver(stream: "cam1", source: source, maximumLineBytes: maximumLineBytes,
                                         maximumConnections: maximumConnections,
                                         onDetections: { detections.append($0) }, onMalformed: { malformed.append($0) })
        }

        func stop() {
            receiver.stop()
            #expect(receiver.join(timeout: 2), "the receiver's thread did not end")
        }
    }

    /// Two producers at once, each sending 40 good lines with two malformed ones among them, slowly
    /// enough to interleave; every good line arrives and the malformed ones are counted.
    func twoProducers(_ harness: Harness, connect: @escaping @Sendable () -> Int32) async {
        let finished = Recorder<Bool>()
        for producer in 0..<2 {
            Thread {
                let descriptor = connect()
                guard descriptor >= 0 else { finished.append(false); return }
                for index in 1...40 {
                    let frame = producer * 1000 + index
                    // Split a line across two writes now and then.
                    let line = detectionLine(frame: frame, id: producer)
                    if index % 7 == 0 {
                        let middle = line.index(line.startIndex, offsetBy: 10)
                        TestSocket.send(descriptor, String(line[..<middle]))
                        Thread.sleep(forTimeInterval: 0.005)
                        TestSocket.send(descriptor, String(line[middle...]))
                    } else {
                        TestSocket.send(descriptor, line)
                    }
                    if index == 10 { TestSocket.send(descriptor, "{\"frame\": 3, \"boxes\": \n") }
                    if index == 20 { TestSocket.send(descriptor, "not json at all\r\n\n") }
                    if index % 5 == 0 { Thread.sleep(forTimeInterval: 0.01) }
                }
                close(descriptor)
                finished.append(true)
            }.start()
        }
        #expect(await eventually(timeout: 10) { finished.count == 2 && harness.detections.count + harness.malformed.count >= 84 })
        #expect(finished.values == [true, true])
        let frames = Set(harness.detections.values.compactMap(\.frame))
        #expect(frames == Set((1...40).map { $0 } + (1...40).map { 1000 + $0 }))
        #expect(harness.detections.count == 80)
        let malformed = harness.malformed.values
        #expect(malformed.count == 4)
        #expect(Set(malformed.map(\.line)) == [11, 22], "lines: \(malformed.map(\.line))")
        #expect(Set(malformed.map(\.connection)) == [1, 2])
        #expect(malformed.allSatisfy { $0.error.description.hasPrefix("cam1: detections ") })
        let statistics = harness.receiver.statistics
        #expect(statistics.lines == 84 && statistics.detections == 80 && statistics.malformed == 4)
        #expect(statistics.connections == 2)
        #expect(await eventually(timeout: 2) { harness.receiver.statistics.openConnections == 0 })
    }

    @Test("unix socket: created 0660 over a stale one, two producers, malformed lines counted, removed at stop")
    func unixSocket() async throws {
        let directory = try TemporaryDirectory("live-unix")
        let path = directory.path("cam1.sock")
        // A stale socket left by a crashed pard: bound, never listened on, not removed.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)
        #expect(FileManager.default.fileExists(atPath: path))

        let harness = Harness(.unix(path: path))
        try harness.receiver.start()
        var info = stat()
        #expect(stat(path, &info) == 0 && (info.st_mode & 0o777) == 0o660)
        await twoProducers(harness) { TestSocket.connectUnix(path) }

        // A second receiver on the same path is refused while the first listens.
        let second = Harness(.unix(path: path))
        #expect(throws: LiveError.self) { try second.receiver.start() }
        harness.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("unix socket: a path that is not a socket is neither used nor removed")
    func notASocket() throws {
        let directory = try TemporaryDirectory("live-unix")
        let path = directory.path("cam1.sock")
        try "keep me".write(toFile: path, atomically: true, encoding: .utf8)
        let harness = Harness(.unix(path: path))
        #expect { try harness.receiver.start() } throws: { error in
            guard case LiveError.socketPathInUse(let stream, let reported, _) = error else { return false }
            return stream == "cam1" && reported == path
        }
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == "keep me")
    }

    @Test("tcp on loopback: two producers, malformed lines counted; other addresses refused")
    func tcp() async throws {
        let harness = Harness(.tcp(ListenAddress(host: "127.0.0.1", port: 0)))
        try harness.receiver.start()
        defer { harness.stop() }
        let port = try #require(harness.receiver.listeningPort)
        #expect(port > 0)
        await twoProducers(harness) { TestSocket.connectTCP(port) }

        let open = Harness(.tcp(ListenAddress(host: "0.0.0.0", port: 0)))
        #expect(throws: LiveError.notLoopback(stream: "cam1", address: "0.0.0.0:0")) { try open.receiver.start() }
    }

    /// A started receiver on a free loopback TCP port, and that port (stop the harness when done).
    static func startedOnLoopback(maximumLineBytes: Int = 1 << 20, maximumConnections: Int = 64) throws -> (Harness, UInt16) {
        let harness = Harness(.tcp(ListenAddress(host: "127.0.0.1", port: 0)), maximumLineBytes: maximumLineBytes,
                              maximumConnections: maximumConnections)
        try harness.receiver.start()
        guard let port = harness.receiver.listeningPort else {
            harness.stop()
            throw TestFailure("the receiver has no listening port")
        }
        return (harness, port)
    }

    @Test("a line over the length limit is counted as malformed and the connection goes on")
    func longLine() async throws {
        let (harness, port) = try Self.startedOnLoopback(maximumLineBytes: 256)
        defer { harness.stop() }
        let descriptor = TestSocket.connectTCP(port)
        #expect(descriptor >= 0)
        TestSocket.send(descriptor, detectionLine(frame: 1) + String(repeating: "x", count: 100_000) + "\n" + detectionLine(frame: 2))
        #expect(await eventually(timeout: 5) { harness.detections.count == 2 })
        close(descriptor)
        #expect(harness.malformed.values.map(\.line) == [2])
        #expect(harness.malformed.values.first?.reason.contains("longer than") == true)
    }

    @Test("producers beyond maximumConnections are closed at once and counted; the connected ones go on")
    func connectionLimit() async throws {
        let (harness, port) = try Self.startedOnLoopback(maximumConnections: 2)
        defer { harness.stop() }
        let first = TestSocket.connectTCP(port), second = TestSocket.connectTCP(port)
        defer { close(first); close(second) }
        #expect(await eventually(timeout: 5) { harness.receiver.statistics.openConnections == 2 })
        let third = TestSocket.connectTCP(port)
        defer { close(third) }
        #expect(await eventually(timeout: 5) { harness.receiver.statistics.refusedConnections == 1 })
        var byte: UInt8 = 0
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(third, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #expect(recv(third, &byte, 1, 0) == 0, "the refused producer's connection is closed")
        TestSocket.send(first, detectionLine(frame: 1))
        TestSocket.send(second, detectionLine(frame: 2))
        #expect(await eventually(timeout: 5) { harness.detections.count == 2 })
        #expect(harness.receiver.statistics.openConnections == 2)
    }

    @Test("a byte order mark at the start of a connection or file is skipped; CR-only and CRLF lines are lines")
    func byteOrderMarkAndLineEndings() async throws {
        func body(_ first: Int) -> String {
            "\u{FEFF}" + detectionLine(frame: first).dropLast() + "\r" + detectionLine(frame: first + 1).dropLast() + "\r\n"
                + "not json\r" + detectionLine(frame: first + 2)
        }
        let tcp = Harness(.tcp(ListenAddress(host: "127.0.0.1", port: 0)))
        try tcp.receiver.start()
        defer { tcp.stop() }
        let port = try #require(tcp.receiver.listeningPort)
        let descriptor = TestSocket.connectTCP(port)
        #expect(descriptor >= 0)
        TestSocket.send(descriptor, body(1))
        #expect(await eventually(timeout: 5) { tcp.detections.count == 3 && tcp.malformed.count == 1 })
        close(descriptor)
        #expect(tcp.detections.values.compactMap(\.frame) == [1, 2, 3])
        #expect(tcp.malformed.values.map(\.line) == [3])

        let directory = try TemporaryDirectory("live-bom")
        let path = directory.path("cam1.jsonl")
        try Data(body(10).utf8).write(to: URL(fileURLWithPath: path))
        let file = Harness(.file(path: path))
        try file.receiver.start()
        defer { file.stop() }
        #expect(await eventually(timeout: 5) { file.detections.count == 3 && file.malformed.count == 1 })
        #expect(file.detections.values.compactMap(\.frame) == [10, 11, 12])
        #expect(file.malformed.values.map(\.line) == [3])
    }

    @Test("a FIFO is followed across writers: reopened when one closes, ready for the next")
    func fifo() async throws {
        let directory = try TemporaryDirectory("live-fifo")
        let path = directory.path("cam1.fifo")
        #expect(mkfifo(path, 0o600) == 0)
        let harness = Harness(.file(path: path))
        try harness.receiver.start()
        defer { harness.stop() }
        // Writer 1: three lines, then closes.
        let done = Recorder<Int>()
        Thread {
            guard let writer = FileHandle(forWritingAtPath: path) else { return }
            writer.write(Data((detectionLine(frame: 1) + detectionLine(frame: 2) + "garbage\n" + detectionLine(frame: 3)).utf8))
            try? writer.close()
            done.append(1)
        }.start()
        #expect(await eventually(timeout: 5) { harness.detections.count == 3 })
        try await Task.sleep(for: .milliseconds(200))
        // Writer 2, after the first closed: its last line has no newline but still counts.
        Thread {
            guard let writer = FileHandle(forWritingAtPath: path) else { return }
            writer.write(Data((detectionLine(frame: 4) + detectionLine(frame: 5).dropLast()).utf8))
            try? writer.close()
            done.append(2)
        }.start()
        #expect(await eventually(timeout: 5) { harness.detections.count == 5 }, "got \(harness.detections.count)")
        #expect(harness.detections.values.compactMap(\.frame) == [1, 2, 3, 4, 5])
        #expect(harness.malformed.values.map(\.line) == [3])
        #expect(harness.receiver.statistics.connections == 2)
    }

    @Test("a regular file is read from its start and followed like tail -f, also across truncation")
    func followFile() async throws {
        let directory = try TemporaryDirectory("live-file")
        let path = directory.path("cam1.jsonl")
        try (detectionLine(frame: 1) + detectionLine(frame: 2)).write(toFile: path, atomically: false, encoding: .utf8)
        let harness = Harness(.file(path: path))
        try harness.receiver.start()
        defer { harness.stop() }
        #expect(await eventually(timeout: 5) { harness.detections.count == 2 })
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        // A line written in two pieces is delivered once complete.
        let line = detectionLine(frame: 3)
        handle.write(Data(line.prefix(12).utf8))
        try await Task.sleep(for: .milliseconds(400))
        #expect(harness.detections.count == 2)
        handle.write(Data(line.dropFirst(12).utf8))
        #expect(await eventually(timeout: 5) { harness.detections.count == 3 })
        try handle.truncate(atOffset: 0)
        try handle.close()
        try detectionLine(frame: 10).write(toFile: path, atomically: false, encoding: .utf8)
        #expect(await eventually(timeout: 5) { harness.detections.count == 4 })
        #expect(harness.detections.values.compactMap(\.frame) == [1, 2, 3, 10])
    }
}
