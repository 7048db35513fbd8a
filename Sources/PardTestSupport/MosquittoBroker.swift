import Foundation

/// A real Mosquitto broker (Debian's `mosquitto`, installed by `.ci/setup`) on a free loopback port, with
/// its configuration, persistence and log in a temporary folder; stopped when this object goes away. It
/// keeps the sessions of persistent subscribers (and their queued QoS 1 messages) across `stop()` and
/// `start()`, as a broker restarted by its service manager does.
public final class MosquittoBroker: @unchecked Sendable {  // `process` is used by the test's thread only
    public let port: Int
    public let folder: TemporaryDirectory
    private var process: Process?

    /// `users`: name to password; when given, anonymous clients are refused. `tls`: the listener speaks
    /// TLS only, with a self-signed certificate for 127.0.0.1 made by `openssl` (`caFile`).
    public init(users: [String: String] = [:], tls: Bool = false) throws {
        folder = try TemporaryDirectory("mosquitto")
        port = Self.freePort()
        var config = """
        listener \(port) 127.0.0.1
        user root
        persistence true
        persistence_location \(folder.url.path)/
        autosave_interval 1
        max_queued_messages 0
        log_dest file \(folder.path("broker.log"))
        allow_anonymous \(users.isEmpty ? "true" : "false")

        """
        if tls {
            let status = try Self.runTool("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", folder.path("key.pem"), "-out", folder.path("cert.pem"),
            ])
            guard status == 0 else { throw BrokerFailed(description: "openssl req exited with \(status)") }
            config += "certfile \(folder.path("cert.pem"))\nkeyfile \(folder.path("key.pem"))\n"
        }
        if !users.isEmpty {
            let passwords = folder.path("passwords")
            for (i, (user, password)) in users.sorted(by: { $0.key < $1.key }).enumerated() {
                let status = try Self.runTool("/usr/bin/mosquitto_passwd", (i == 0 ? ["-c"] : []) + ["-b", passwords, user, password])
                guard status == 0 else { throw BrokerFailed(description: "mosquitto_passwd exited with \(status)") }
            }
            config += "password_file \(passwords)\n"
        }
        try config.write(toFile: folder.path("mosquitto.conf"), atomically: true, encoding: .utf8)
        try start()
    }

    deinit { kill() }

    public struct BrokerFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The broker's URL for pard (`mqtt://`; `mqtts://` for a TLS broker).
    public var url: String { "\(FileManager.default.fileExists(atPath: caFile) ? "mqtts" : "mqtt")://127.0.0.1:\(port)" }
    /// The certificate of a TLS broker, its own authority.
    public var caFile: String { folder.path("cert.pem") }
    public var log: String { (try? String(contentsOfFile: folder.path("broker.log"), encoding: .utf8)) ?? "" }
    public var isRunning: Bool { process?.isRunning == true }

    /// Starts the broker and waits until it accepts connections (at most 10 s).
    public func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/mosquitto")
        p.arguments = ["-c", folder.path("mosquitto.conf")]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date(timeIntervalSinceNow: 10)
        while Date() < deadline {
            if Self.accepts(port: port) { return }
            guard p.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw BrokerFailed(description: "mosquitto did not start on port \(port): \(log)")
    }

    /// SIGTERM (the broker saves its sessions and queued messages) and waits.
    public func stop() { signal(SIGTERM) }

    /// SIGKILL and waits.
    public func kill() { signal(SIGKILL) }

    private func signal(_ number: Int32) {
        guard let p = process, p.isRunning else { return }
        Glibc.kill(p.processIdentifier, number)
        let deadline = Date(timeIntervalSinceNow: 10)
        while p.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning { Glibc.kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        process = nil
    }

    /// The retained message of `topic` (nil when there is none within 3 s).
    public func retained(_ topic: String) -> String? {
        let out = try? Self.output("/usr/bin/mosquitto_sub", ["-h", "127.0.0.1", "-p", "\(port)", "-t", topic, "-C", "1", "-W", "3"])
        return out.flatMap { $0.isEmpty ? nil : $0.trimmingCharacters(in: .newlines) }
    }

    /// A port nothing listens on now (the kernel's choice for a socket bound to port 0).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return bindLoopback(fd, port: 0)
    }

    /// A socket listening on a free loopback port that accepts TCP connections (the kernel does) and
    /// never answers: a broker that hangs. Close `fd` when done.
    public static func silentListener() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let port = bindLoopback(fd, port: 0)
        listen(fd, 8)
        return (fd, port)
    }

    /// Whether something accepts TCP connections on loopback `port`.
    public static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return withLoopback(port: port) { connect(fd, $0, $1) } == 0
    }

    /// Binds `fd` to 127.0.0.1:`port` (0: any free port); the port bound, or 0.
    static func bindLoopback(_ fd: Int32, port: Int) -> Int {
        var bound = 0
        _ = withLoopback(port: port) { address, length -> Int32 in
            guard bind(fd, address, length) == 0 else { return -1 }
            var addr = sockaddr_in()
            var size = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
            bound = Int(UInt16(bigEndian: addr.sin_port))
            return 0
        }
        return bound
    }

    /// `body` with the address 127.0.0.1:`port` and its length.
    static func withLoopback(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    @discardableResult
    static func runTool(_ path: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    static func output(_ path: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// `mosquitto_sub -v` in a persistent session (fixed client id, clean session off, QoS 1): every message
/// of `topic` as it arrives, kept across a restart of the broker (which keeps the session).
public final class MQTTSubscriber: @unchecked Sendable {  // used by the test's thread only
    private let process = Process()
    private let file: String
    public static let readyTopic = "pard-test/ready"

    /// Subscribes and waits until the subscription works (a probe message comes back; at most 10 s).
    public init(broker: MosquittoBroker, topic: String = "pard/#") throws {
        file = broker.folder.path("subscriber-\(UUID().uuidString).txt")
        FileManager.default.createFile(atPath: file, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/stdbuf")
        process.arguments = ["-oL", "/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-c",
                             "-i", "test-subscriber-\(UUID().uuidString.prefix(8))", "-v", "-t", topic, "-t", Self.readyTopic]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date(timeIntervalSinceNow: 10)
        while Date() < deadline {
            try MosquittoBroker.runTool("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", Self.readyTopic, "-m", "1"])
            Thread.sleep(forTimeInterval: 0.2)
            if text.contains(Self.readyTopic + " ") { return }
        }
        throw MosquittoBroker.BrokerFailed(description: "mosquitto_sub did not receive its probe")
    }

    deinit { stop() }

    private var text: String { (try? String(contentsOfFile: file, encoding: .utf8)) ?? "" }

    /// The messages received so far (whole lines only; not the probes), in order.
    public var messages: [(topic: String, payload: String)] {
        let text = self.text
        let whole = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
        var messages: [(topic: String, payload: String)] = []
        for line in whole.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] != Self.readyTopic else { continue }
            messages.append((String(parts[0]), String(parts[1])))
        }
        return messages
    }

    /// SIGKILL (mosquitto_sub's SIGTERM waits for a clean disconnect, which never comes when the broker is
    /// gone) and waits.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
