import Foundation

/// A real NATS server with JetStream (Debian's `nats-server`, installed by `.ci/setup`) on a free port,
/// its file storage and log in a temporary folder; killed when this object goes away. The storage stays
/// across `kill()` and `start()`, as for a server restarted by its service manager. `namespace`: started
/// inside that network namespace (`ip netns exec`), listening on `host` there.
public final class NATSServer: @unchecked Sendable {  // used by the test's thread only
    public let port: Int
    public let host: String
    public let namespace: String?
    public let folder: TemporaryDirectory
    private var process: Process?

    public init(host: String = "127.0.0.1", namespace: String? = nil) throws {
        folder = try TemporaryDirectory("nats")
        port = MosquittoBroker.freePort()
        (self.host, self.namespace) = (host, namespace)
        try start()
    }

    deinit { kill() }

    /// `nats://host:port`.
    public var url: String { "nats://\(host):\(port)" }
    public var log: String { (try? String(contentsOfFile: folder.path("nats.log"), encoding: .utf8)) ?? "" }
    public var isRunning: Bool { process?.isRunning == true }

    /// Starts the server (`-js -sd <folder>/jetstream`) and waits until it has started JetStream (at most 10 s).
    public func start() throws {
        let arguments = ["-js", "-sd", folder.path("jetstream"), "-a", host, "-p", "\(port)", "-l", folder.path("nats.log")]
        // Counted before the launch: a server that is ready before the count would otherwise be waited
        // for a second time, in vain (seen under the sanitizers: "did not start" after "Server is ready").
        let mark = log.components(separatedBy: "Server is ready").count
        let p = try NetworkNamespace.launch("/usr/sbin/nats-server", arguments, in: namespace)
        process = p
        let deadline = Date(timeIntervalSinceNow: 10)
        while Date() < deadline {
            if log.components(separatedBy: "Server is ready").count > mark { return }
            guard p.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw MosquittoBroker.BrokerFailed(description: "nats-server did not start on port \(port): \(log.suffix(2000))")
    }

    /// SIGKILL (nothing saved beyond what JetStream has written) and waits.
    public func kill() {
        guard let p = process, p.isRunning else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }
}

/// Network namespaces made by a test (`ip netns`, as root): one for a server with a bridge on `prefix.1/24`,
/// and one per client, each joined to the bridge by a veth pair (`prefix.2`, `prefix.3`, ...). All of them
/// (and so their veths) are deleted when this object goes away, and any left by an earlier run that died.
public final class NetworkNamespace: @unchecked Sendable {  // used by the test's thread only
    /// The server's namespace and address.
    public let server: String
    public let serverAddress: String
    /// The clients' namespaces and addresses, in order.
    public let clients: [(name: String, address: String)]
    private static let tag = "pardt"

    /// `clients` client namespaces on a /24 of 10.213.x.0.
    public init(clients count: Int) throws {
        Self.removeStale()
        let id = String(UInt32.random(in: 0...0xffffff), radix: 16)
        let net = "10.213.\(Int.random(in: 100...200))"
        server = "\(Self.tag)-\(id)-s"
        serverAddress = "\(net).1"
        clients = (0..<count).map { ("\(Self.tag)-\(id)-c\($0)", "\(net).\($0 + 2)") }
        do {
            try Self.ip(["netns", "add", server])
            try Self.ip(["-n", server, "link", "set", "lo", "up"])
            try Self.ip(["-n", server, "link", "add", "br0", "type", "bridge"])
            try Self.ip(["-n", server, "addr", "add", "\(serverAddress)/24", "dev", "br0"])
            try Self.ip(["-n", server, "link", "set", "br0", "up"])
            for (i, client) in clients.enumerated() {
                let inner = "pt\(id.prefix(6))c\(i)", outer = "pt\(id.prefix(6))s\(i)"
                try Self.ip(["netns", "add", client.name])
                try Self.ip(["-n", client.name, "link", "set", "lo", "up"])
                try Self.ip(["link", "add", inner, "type", "veth", "peer", "name", outer])
                try Self.ip(["link", "set", inner, "netns", client.name])
                try Self.ip(["link", "set", outer, "netns", server])
                try Self.ip(["-n", server, "link", "set", outer, "master", "br0"])
                try Self.ip(["-n", server, "link", "set", outer, "up"])
                try Self.ip(["-n", client.name, "addr", "add", "\(client.address)/24", "dev", inner])
                try Self.ip(["-n", client.name, "link", "set", inner, "up"])
            }
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// Deletes every namespace (their veth ends go with them).
    public func remove() {
        for name in [server] + clients.map(\.name) { _ = try? MosquittoBroker.runTool("/usr/sbin/ip", ["netns", "delete", name]) }
    }

    /// Namespaces of earlier test runs that did not clean up (killed mid-test).
    static func removeStale() {
        let list = (try? MosquittoBroker.output("/usr/sbin/ip", ["netns", "list"])) ?? ""
        for line in list.split(separator: "\n") {
            guard let name = line.split(separator: " ").first, name.hasPrefix(tag + "-") else { continue }
            _ = try? MosquittoBroker.runTool("/usr/sbin/ip", ["netns", "delete", String(name)])
        }
    }

    struct Failed: Error, CustomStringConvertible { let description: String }

    static func ip(_ arguments: [String]) throws {
        let status = try MosquittoBroker.runTool("/usr/sbin/ip", arguments)
        guard status == 0 else { throw Failed(description: "ip \(arguments.joined(separator: " ")) exited with \(status)") }
    }

    /// Starts `executable` with `arguments`, inside network namespace `namespace` when given (`ip netns
    /// exec` execs it, so the process is the program itself), output to /dev/null.
    public static func launch(_ executable: String, _ arguments: [String], in namespace: String?,
                              environment: [String: String] = [:], stderr: FileHandle? = nil) throws -> Process {
        let p = Process()
        if let namespace {
            p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            p.arguments = ["netns", "exec", namespace, executable] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        }
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = stderr ?? FileHandle.nullDevice
        try p.run()
        return p
    }
}
