import Foundation
import Logging
import PardPipeline
import PardVideo

/// Events to an MQTT broker, beside the event file: `<prefix>/<stream>/attributes` and `.../tracks` (the
/// schema-1 event line as it is), `<prefix>/<stream>/state` (retained up or down, with the reason) and
/// `<prefix>/available` (retained `online`; `offline` at shutdown and as the last will).
///
/// `emit` never waits for the broker: it hands the event to the sink's own thread (`pard-mqtt`), which
/// appends it to the on-disk spool (`MQTTSpool`) and publishes from there in order, QoS 1 by default,
/// in a persistent session. While the broker is away or slow the spool fills (bounded; see its drop
/// policy) and is delivered first once the connection is back, also after a restart of pard. Failed
/// connections are logged with the broker (never the password) and retried with exponential backoff;
/// nothing about the broker is ever fatal.
public final class MQTTSink: EventSink, @unchecked Sendable {  // the hand-off under `condition`; `publisher` on the sink's thread
    public let settings: MQTTSettings
    /// Bytes of events handed over and not yet taken by the sink's thread, at most (beyond: the oldest
    /// attribute events are dropped, counted as `queue_full`).
    static let handoffMaxBytes = 8 << 20

    /// What the sink has done so far.
    public struct Status: Sendable, Equatable {
        /// Whether a connection to the broker is up.
        public var connected = false
        /// Events in the spool not yet acknowledged, and their bytes.
        public var spooledEvents = 0
        public var spooledBytes = 0
        /// Events handed over and not yet in the spool.
        public var waiting = 0
        /// Events the broker acknowledged, by type.
        public var published: [EventType: Int] = [:]
        /// Events dropped, by reason.
        public var dropped: [MQTTDropReason: Int] = [:]
        /// Connections made again after one was lost or failed.
        public var reconnections = 0
    }

    private let condition = NSCondition()
    private var incoming: [Event] = []
    private var incomingBytes = 0
    private var changedStates: [String: String] = [:]
    private var stopDeadline: Date?
    private var reported = Status()
    private var queueFullDrops = 0
    private let metrics: MQTTMetrics
    private let publisher: MQTTPublisher
    private var thread: WorkerThread?

    /// Reads the password file, checks the CA file and opens the spool (what a previous run left is sent
    /// first). Nothing is connected before `start()`.
    /// - Throws: `MQTTError` naming the file or folder at fault.
    public init(settings: MQTTSettings, metrics: MQTTMetrics = NoMQTTMetrics(), logger: Logger) throws(MQTTError) {
        self.settings = settings
        self.metrics = metrics
        var password: String?
        if let file = settings.passwordFile {
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                password = String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            } catch {
                throw .passwordFile(file: file, reason: MQTTSpool.reason(error))
            }
        }
        if let ca = settings.caFile, !FileManager.default.isReadableFile(atPath: ca) {
            throw .caFile(file: ca, reason: FileManager.default.fileExists(atPath: ca) ? "not readable" : "no such file")
        }
        let spool = try MQTTSpool(directory: settings.spoolDirectory, maxBytes: settings.spoolMaxBytes)
        publisher = MQTTPublisher(settings: settings, password: password, spool: spool, metrics: metrics, logger: logger)
        reported.spooledEvents = spool.pendingCount
        reported.spooledBytes = spool.pendingBytes
        metrics.spooled(events: spool.pendingCount, bytes: spool.pendingBytes)
        metrics.connected(false)
        if spool.pendingCount > 0 {
            logger.notice("MQTT spool holds undelivered events from before; they are sent first", metadata: [
                "broker": "\(settings.broker)", "spool": "\(settings.spoolDirectory)", "events": "\(spool.pendingCount)",
            ])
        }
    }

    /// Starts the sink's thread: connecting, spooling, publishing.
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard thread == nil else { return }
        let publisher = self.publisher
        thread = WorkerThread(name: "pard-mqtt") { [self] in publisher.run(self) }
    }

    /// Hands `event` to the sink's thread; never waits for it.
    public func emit(_ event: Event) {
        condition.lock()
        incoming.append(event)
        incomingBytes += event.line.utf8.count + event.stream.utf8.count
        var dropped: EventType?
        if incomingBytes > Self.handoffMaxBytes {
            let index = incoming.firstIndex { $0.type == .attributes } ?? 0
            let gone = incoming.remove(at: index)
            incomingBytes -= gone.line.utf8.count + gone.stream.utf8.count
            queueFullDrops += 1
            dropped = gone.type
        }
        condition.signal()
        condition.unlock()
        if let dropped { metrics.dropped(dropped, reason: .queueFull, count: 1) }
    }

    /// Nothing to do: events leave as soon as they are emitted, and the sink's thread keeps what it cannot
    /// deliver. Never throws.
    public func flush() throws {}

    /// A stream came up or went down: published retained on `<prefix>/<stream>/state` (again after every
    /// reconnection).
    public func setStreamState(stream: String, up: Bool, reason: String?) {
        var o = JSONLine()
        o.add("schema", Events.schema)
        o.add("type", "state")
        o.add("stream", stream)
        o.add("state", up ? "up" : "down")
        if let reason { o.add("reason", reason) }
        condition.lock()
        changedStates[stream] = o.string
        condition.signal()
        condition.unlock()
    }

    /// Stops the thread: what is spooled is published for at most `seconds` while connected, then
    /// `<prefix>/available` becomes `offline` and the session is closed. What is left stays in the spool.
    public func close(within seconds: Double) {
        condition.lock()
        let running = thread
        if stopDeadline == nil { stopDeadline = Date(timeIntervalSinceNow: seconds) }
        condition.signal()
        condition.unlock()
        _ = running?.join(timeout: seconds + 10)
    }

    /// What the sink has done so far (any thread).
    public var status: Status {
        condition.lock()
        defer { condition.unlock() }
        var status = reported
        status.waiting += incoming.count
        if queueFullDrops > 0 { status.dropped[.queueFull] = queueFullDrops }
        return status
    }

    /// Waits until every event emitted so far was acknowledged, at most `timeout` seconds; whether it was.
    public func waitUntilDelivered(timeout: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        repeat {
            let s = status
            if s.spooledEvents == 0 && s.waiting == 0 { return true }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        let s = status
        return s.spooledEvents == 0 && s.waiting == 0
    }

    // MARK: - For the sink's thread

    /// What the sink's thread has to do now.
    struct Work {
        var events: [Event]
        var states: [String: String]
        /// Set once `close` was called.
        var stopDeadline: Date?
    }

    /// Takes what was handed over since the last call.
    func take() -> Work {
        condition.lock()
        defer { condition.unlock() }
        let work = Work(events: incoming, states: changedStates, stopDeadline: stopDeadline)
        // Counted as waiting until the thread reports them spooled.
        reported.waiting += incoming.count
        incoming.removeAll(keepingCapacity: true)
        incomingBytes = 0
        changedStates.removeAll()
        return work
    }

    /// Sleeps until something is handed over or `date`.
    func wait(until date: Date) {
        condition.lock()
        if incoming.isEmpty && changedStates.isEmpty && stopDeadline == nil { _ = condition.wait(until: date) }
        condition.unlock()
    }

    /// The thread's view of its work (events not yet spooled are in `waiting`).
    func report(_ status: Status) {
        condition.lock()
        reported = status
        condition.unlock()
    }
}
