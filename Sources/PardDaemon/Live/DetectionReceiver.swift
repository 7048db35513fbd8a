import Foundation
import PardVideo

/// Receives one stream's detections: JSON lines (`JSONLDetections`) pushed by the detector into a Unix
/// socket, a loopback TCP port, or a file/FIFO that is followed.
///
/// - Sockets: any number of producers may be connected at once; one thread serves them all with
///   poll(2). Each connection is read line by line; line numbers count from 1 per connection.
/// - Files: read from the beginning, then followed like `tail -f` (appended lines are picked up; a
///   truncated file is read again from its start, a replaced one is reopened). A FIFO is reopened
///   when its writer closes, so one detector after another may write into it. A path that does not
///   exist yet is waited for.
/// - A good line goes to `onDetections`; a malformed one (bad JSON, missing keys, longer than
///   `maximumLineBytes`) goes to `onMalformed` and the connection goes on. Blank lines are ignored.
///   Both callbacks run on the receiver's thread.
///
/// `@unchecked Sendable`: counters and descriptors are under `lock`; the rest is immutable or owned
/// by the receiver's thread.
public final class DetectionReceiver: @unchecked Sendable {
    /// A line that is not a detection line.
    public struct Malformed: Sendable, Equatable {
        /// The stream's name.
        public var stream: String
        /// The source's spec, e.g. `unix:/run/pard/cam1.sock`.
        public var source: String
        /// Which connection (socket) or writer session (FIFO) sent it, counted from 1 for the receiver.
        public var connection: Int
        /// 1-based line number within that connection (or within the file).
        public var line: Int
        /// Why the line was refused.
        public var reason: String

        /// The same as a `LiveError` (`cam1: detections unix:/run/pard/cam1.sock: line 7: ...`).
        public var error: LiveError {
            .malformedLine(stream: stream, source: source, line: line, reason: reason)
        }
    }

    /// Counters as of the moment they were read.
    public struct Statistics: Sendable, Equatable {
        /// Non-blank lines received.
        public var lines = 0
        /// Lines that parsed and were passed to `onDetections`.
        public var detections = 0
        /// Lines passed to `onMalformed`.
        public var malformed = 0
        /// Connections accepted (or FIFO writer sessions / file openings), in all.
        public var connections = 0
        /// Connections open now.
        public var openConnections = 0
        /// Connections refused because `maximumConnections` were already open.
        public var refusedConnections = 0
    }

    /// The stream's name (in messages).
    public let stream: String
    /// Where detections come from.
    public let source: DetectionSource
    /// The longest line accepted, bytes. Default 1 MiB.
    public let maximumLineBytes: Int
    /// The most producers connected at once; later ones are closed at once and counted. Default 64.
    public let maximumConnections: Int

    private let onDetections: @Sendable (FrameDetections) -> Void
    private let onMalformed: @Sendable (Malformed) -> Void
    private let lock = NSLock()
    private var stats = Statistics()
    private var worker: WorkerThread?
    private var wakeWriter: Int32 = -1
    private var port: UInt16?

    public init(stream: String, source: DetectionSource, maximumLineBytes: Int = 1 << 20, maximumConnections: Int = 64,
                onDetections: @escaping @Sendable (FrameDetections) -> Void,
                onMalformed: @escaping @Sendable (Malformed) -> Void = { _ in }) {
        self.stream = stream
        self.source = source
        self.maximumLineBytes = max(64, maximumLineBytes)
        self.maximumConnections = max(1, maximumConnections)
        self.onDetections = onDetections
        self.onMalformed = onMalformed
    }

    /// The TCP port listened on once started (useful with port 0), nil for other sources.
    public var listeningPort: UInt16? {
        lock.lock()
        defer { lock.unlock() }
        return port
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }

    /// Creates the listening socket (so that setup errors surface here, at startup) and starts the
    /// receiver's thread (`pard-det-<stream>`). Calling it again does nothing.
    /// - Throws: `LiveError.sourceSetupFailed`, `.socketPathInUse` or `.notLoopback`.
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        guard worker == nil else { return }
        var listener: Int32 = -1
        switch source {
        case .unix(let path):
            listener = try ListeningSocket.unix(path: path, stream: stream)
        case .tcp(let address):
            listener = try ListeningSocket.tcp(address, stream: stream)
            port = ListeningSocket.boundPort(listener)
        case .file:
            break
        }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            let reason = errnoText()
            if listener >= 0 { close(listener) }
            throw LiveError.sourceSetupFailed(stream: stream, source: source.description, step: "pipe2", reason: reason)
        }
        for end in ends { Self.makeNonBlocking(end) }
        wakeWriter = ends[1]
        let wakeReader = ends[0]
        let listenerDescriptor = listener
        let socketIdentity = listener >= 0 ? Self.identity(ofPath: socketPath) : nil
        worker = WorkerThread(name: "pard-det-\(stream)") { [self] in
            if listenerDescriptor >= 0 {
                serveSockets(listener: listenerDescriptor, wake: wakeReader)
                close(listenerDescriptor)
                removeSocketFile(ifStill: socketIdentity)
            } else if case .file(let path) = source {
                follow(path: path, wake: wakeReader)
            }
            close(wakeReader)
            lock.lock()
            stats.openConnections = 0
            lock.unlock()
        }
    }

    /// Closes the listener and every connection promptly (a Unix socket file is removed). Returns at
    /// once; `join` waits. A partial last line of a connection is dropped.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        if wakeWriter >= 0 {
            var byte: UInt8 = 1
            _ = write(wakeWriter, &byte, 1)
            close(wakeWriter)
            wakeWriter = -1
        }
    }

    /// Waits for the receiver's thread to end, at most `timeout` seconds (nil: forever). True if it
    /// ended (or never started).
    @discardableResult
    public func join(timeout: TimeInterval? = nil) -> Bool {
        lock.lock()
        let current = worker
        lock.unlock()
        return current?.join(timeout: timeout) ?? true
    }

    // MARK: - Sockets

    /// One producer's connection.
    private struct Connection {
        let descriptor: Int32
        let id: Int
        var splitter: LineSplitter
    }

    private func serveSockets(listener: Int32, wake: Int32) {
        var connections: [Connection] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        defer { for connection in connections { close(connection.descriptor) } }
        while true {
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            descriptors += connections.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[0].revents != 0 { return }
            if descriptors[1].revents != 0 {
                acceptAll(listener: listener, into: &connections)
            }
            // Serve the connections polled (new ones are at the end and were not polled yet).
            var closed: Set<Int32> = []
            for entry in descriptors.dropFirst(2) where entry.revents != 0 {
                guard let index = connections.firstIndex(where: { $0.descriptor == entry.fd }) else { continue }
                if !readAvailable(&connections[index], buffer: &buffer) {
                    if let last = connections[index].splitter.finish() { handle(last, connection: connections[index].id) }
                    close(entry.fd)
                    closed.insert(entry.fd)
                }
            }
            if !closed.isEmpty {
                connections.removeAll { closed.contains($0.descriptor) }
                setOpenConnections(connections.count)
            }
        }
    }

    private func acceptAll(listener: Int32, into connections: inout [Connection]) {
        while true {
            let descriptor = accept(listener, nil, nil)
            if descriptor < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // EAGAIN: all accepted
            }
            Self.makeNonBlocking(descriptor)
            if connections.count >= maximumConnections {
                close(descriptor)
                lock.lock()
                stats.refusedConnections += 1
                lock.unlock()
                continue
            }
            lock.lock()
            stats.connections += 1
            let id = stats.connections
            stats.openConnections = connections.count + 1
            lock.unlock()
            connections.append(Connection(descriptor: descriptor, id: id, splitter: LineSplitter(maximumBytes: maximumLineBytes)))
        }
    }

    /// Reads what is available; false when the connection ended (end of file or error).
    private func readAvailable(_ connection: inout Connection, buffer: inout [UInt8]) -> Bool {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(connection.descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                let pieces = buffer.withUnsafeBytes { connection.splitter.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                for piece in pieces { handle(piece, connection: connection.id) }
                if count < buffer.count { return true }
                continue
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK
        }
    }

    // MARK: - Files and FIFOs

    private func follow(path: String, wake: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var descriptor: Int32 = -1
        var isFIFO = false
        var identity: (device: UInt64, inode: UInt64)?
        var offset: Int64 = 0
        var splitter = LineSplitter(maximumBytes: maximumLineBytes)
        var session = 0
        defer { if descriptor >= 0 { close(descriptor) } }
        while true {
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                if descriptor >= 0 {
                    var info = stat()
                    fstat(descriptor, &info)
                    isFIFO = (info.st_mode & S_IFMT) == S_IFIFO
                    identity = (UInt64(info.st_dev), UInt64(info.st_ino))
                    offset = 0
                    splitter = LineSplitter(maximumBytes: maximumLineBytes)
                    if !isFIFO { session = beginSession() }
                }
            }
            // FIFO: wait for data or the writer's close. File: look again in a quarter of a second.
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            if descriptor >= 0 && isFIFO { descriptors.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
            let timeout: Int32 = descriptor >= 0 && isFIFO ? -1 : 250
            if descriptor >= 0 && !isFIFO {
                // Read what is there before sleeping.
                offset += readFile(descriptor, splitter: &splitter, session: session, buffer: &buffer)
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 && errno != EINTR { return }
            if descriptors[0].revents != 0 { return }
            guard descriptor >= 0 else { continue }
            if isFIFO {
                guard descriptors.count > 1, descriptors[1].revents != 0 else { continue }
                let ended = readFIFO(descriptor, splitter: &splitter, session: &session, buffer: &buffer)
                if ended {
                    // The writer closed: a last line without newline still counts; reopen for the next.
                    if let last = splitter.finish() { handle(last, connection: session) }
                    close(descriptor)
                    descriptor = -1
                    session = 0
                    setOpenConnections(0)
                }
            } else {
                offset += readFile(descriptor, splitter: &splitter, session: session, buffer: &buffer)
                // Truncated (copytruncate) or replaced (rename + create): start again.
                var current = stat()
                var info = stat()
                fstat(descriptor, &info)
                let replaced = stat(path, &current) == 0
                    && (UInt64(current.st_dev), UInt64(current.st_ino)) != identity.map { ($0.device, $0.inode) } ?? (0, 0)
                if Int64(info.st_size) < offset || replaced {
                    close(descriptor)
                    descriptor = -1
                    setOpenConnections(0)
                }
            }
        }
    }

    /// Counts a new FIFO writer session or file opening; its id.
    private func beginSession() -> Int {
        lock.lock()
        defer { lock.unlock() }
        stats.connections += 1
        stats.openConnections = 1
        return stats.connections
    }

    /// Reads a regular file up to its current end; the bytes read.
    private func readFile(_ descriptor: Int32, splitter: inout LineSplitter, session: Int, buffer: inout [UInt8]) -> Int64 {
        var total: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return total }
            total += Int64(count)
            let pieces = buffer.withUnsafeBytes { splitter.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            for piece in pieces { handle(piece, connection: session) }
        }
    }

    /// Reads what a FIFO holds; true when its writer has closed.
    private func readFIFO(_ descriptor: Int32, splitter: inout LineSplitter, session: inout Int, buffer: inout [UInt8]) -> Bool {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                if session == 0 { session = beginSession() }
                let id = session
                let pieces = buffer.withUnsafeBytes { splitter.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                for piece in pieces { handle(piece, connection: id) }
                continue
            }
            if count == 0 { return true }
            if errno == EINTR { continue }
            return !(errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }

    // MARK: - Lines

    private func handle(_ piece: LineSplitter.Piece, connection: Int) {
        switch piece {
        case .tooLong(let number, let bytes):
            reportMalformed(connection: connection, line: number, reason: LineSplitter(maximumBytes: maximumLineBytes).tooLongReason(bytes: bytes))
        case .line(let text, let number):
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { return }
            do {
                let detections = try JSONLDetections.parseLine(text, file: source.description, line: number)
                lock.lock()
                stats.lines += 1
                stats.detections += 1
                lock.unlock()
                onDetections(detections)
            } catch let VideoError.badLine(_, _, reason) {
                reportMalformed(connection: connection, line: number, reason: reason)
            } catch {
                reportMalformed(connection: connection, line: number, reason: String(describing: error))
            }
        }
    }

    private func reportMalformed(connection: Int, line: Int, reason: String) {
        lock.lock()
        stats.lines += 1
        stats.malformed += 1
        lock.unlock()
        onMalformed(Malformed(stream: stream, source: source.description, connection: connection, line: line, reason: reason))
    }

    private func setOpenConnections(_ count: Int) {
        lock.lock()
        stats.openConnections = count
        lock.unlock()
    }

    /// Sets `O_NONBLOCK` and `FD_CLOEXEC` on a descriptor.
    private static func makeNonBlocking(_ descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
    }

    // MARK: - The socket file

    private var socketPath: String {
        if case .unix(let path) = source { return path }
        return ""
    }

    private static func identity(ofPath path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard !path.isEmpty, lstat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Removes the socket file we created, unless someone replaced it since.
    private func removeSocketFile(ifStill identity: (device: UInt64, inode: UInt64)?) {
        guard let identity, let current = Self.identity(ofPath: socketPath),
              current.device == identity.device, current.inode == identity.inode else { return }
        _ = Foundation.unlink(socketPath)
    }
}
