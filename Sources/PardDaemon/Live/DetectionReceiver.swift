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
    let lock = NSLock()
    var stats = Statistics()
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
    public var listeningPort: UInt16? { lock.withLock { port } }

    /// A snapshot of the counters.
    public var statistics: Statistics { lock.withLock { stats } }

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

    // MARK: - Lines

    func handle(_ piece: LineSplitter.Piece, connection: Int) {
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

    func setOpenConnections(_ count: Int) {
        lock.lock()
        stats.openConnections = count
        lock.unlock()
    }

    /// Sets `O_NONBLOCK` and `FD_CLOEXEC` on a descriptor.
    static func makeNonBlocking(_ descriptor: Int32) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
    }
}
