import Foundation
import PardTestSupport
import Testing

/// A GStreamer RTSP server (`Tests/Fixtures/rtsp/serve.py`) run by a test: started on a free loopback
/// port, killed, restarted on the same port, frozen (SIGSTOP) and resumed.
///
/// `@unchecked Sendable`: `process` and `output` are only touched under `lock`.
final class RTSPTestServer: @unchecked Sendable {
    /// The system python3, which has Debian's `gi` (pyenv's python does not).
    static let python = "/usr/bin/python3"
    static let script = Fixtures.url("rtsp/serve.py").path

    /// Whether `python3-gi` and GStreamer's RTSP server are installed (the tests are skipped if not).
    static let isAvailable: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    let port: UInt16
    let path: String
    let arguments: [String]
    private let lock = NSLock()
    private var process: Process?
    private var output = ""

    /// `arguments` are serve.py's source arguments, e.g. `["--file", path, "--loop"]`.
    init(arguments: [String], port: UInt16 = freeTCPPort(), path: String = "/cam") {
        self.arguments = arguments
        self.port = port
        self.path = path
    }

    var url: String { "rtsp://127.0.0.1:\(port)\(path)" }

    /// Starts serve.py and waits (up to `timeout` seconds) for it to print READY.
    func start(timeout: TimeInterval = 20) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script, "--port", String(port), "--path", path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        lock.withLock { output = "" }
        try process.run()
        lock.withLock { self.process = process }
        // Read its output on a thread of its own (blocking reads stay off the cooperative pool).
        let handle = pipe.fileHandleForReading
        Thread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                lock.lock()
                output += String(decoding: data, as: UTF8.self)
                lock.unlock()
            }
        }.start()
        let ready = await eventually(timeout: timeout) { [self] in
            lock.lock()
            defer { lock.unlock() }
            return output.contains("READY") || !(self.process?.isRunning ?? false)
        }
        guard ready, log.contains("READY") else {
            stop()
            throw TestFailure("serve.py did not become ready: \(log)")
        }
    }

    /// What serve.py printed.
    var log: String {
        lock.lock()
        defer { lock.unlock() }
        return output
    }

    /// Sends `signal` to the server.
    func send(_ signal: Int32) {
        lock.lock()
        let pid = process?.processIdentifier
        lock.unlock()
        if let pid { kill(pid, signal) }
    }

    /// Kills the server (SIGKILL, after resuming it if frozen) and waits for it to exit.
    func stop() {
        lock.lock()
        let current = process
        process = nil
        lock.unlock()
        guard let current, current.isRunning else { return }
        kill(current.processIdentifier, SIGCONT)
        kill(current.processIdentifier, SIGKILL)
        current.waitUntilExit()
    }

    deinit { stop() }
}

/// A test failure with a message.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
func freeTCPPort() -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return 18554 }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { return 18554 }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// Polls `condition` every 20 ms (sleeping the task, not blocking a thread) until it holds or
/// `timeout` seconds pass. Whether it held.
func eventually(timeout: TimeInterval, _ condition: @Sendable () -> Bool) async -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Values callbacks deliver on other threads, collected for a test to look at.
///
/// `@unchecked Sendable`: `items` is only touched under `lock`.
final class Recorder<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(value: Value, at: Date)] = []

    func append(_ value: Value) {
        lock.lock()
        items.append((value, Date()))
        lock.unlock()
    }

    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return items.map(\.value)
    }

    /// The values with the time each arrived.
    var timed: [(value: Value, at: Date)] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return items.count
    }
}

/// A blocking client socket for producers in tests.
enum TestSocket {
    /// Connects to the Unix socket `path`; -1 on failure.
    static func connectUnix(_ path: String) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 { close(descriptor); return -1 }
        return descriptor
    }

    /// Connects to 127.0.0.1:`port`; -1 on failure.
    static func connectTCP(_ port: UInt16) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 { close(descriptor); return -1 }
        return descriptor
    }

    /// Writes all of `text`; false on error.
    @discardableResult
    static func send(_ descriptor: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 { if errno == EINTR { continue }; return false }
            bytes = bytes.dropFirst(written)
        }
        return true
    }
}

/// A detection line for frame `frame` with one box.
func detectionLine(frame: Int, id: Int = 1) -> String {
    "{\"frame\": \(frame), \"boxes\": [{\"x\": 10, \"y\": 20, \"w\": 30, \"h\": 60, \"id\": \(id)}]}\n"
}
