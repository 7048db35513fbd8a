import Foundation
import Logging
import PardPipeline

/// The MQTT sink's thread: takes the events handed over, appends them to the spool, keeps a connection to
/// the broker (one attempt at a time, exponential backoff with jitter after a failure, each failure
/// logged with the broker and the reason) and publishes the spool in order, at most `window` messages
/// unacknowledged. Everything here runs on that one thread.
final class MQTTPublisher: @unchecked Sendable {  // used by the sink's thread only
    let settings: MQTTSettings
    private let password: String?
    private let spool: MQTTSpool
    private let metrics: MQTTMetrics
    private let logger: Logger
    private var connection: MQTTConnection?
    private var connected = false
    private var attemptStarted = Date.distantPast
    private var nextAttempt = Date.distantPast
    private var failures = 0
    private var everConnected = false
    /// Message id to the spool record it carries.
    private var inFlight: [Int32: (seq: UInt64, type: EventType)] = [:]
    /// Events waiting for the spool while it cannot be written (bounded by `MQTTSink.handoffMaxBytes`).
    private var unspooled: [Event] = []
    private var spoolFailure: String?
    private var lastSpoolFullLog = Date.distantPast
    /// The latest state line of each stream, and those to publish.
    private var states: [String: String] = [:]
    private var statesToSend: Set<String> = []
    private var status = MQTTSink.Status()
    private var lastPersist = Date.distantPast

    init(settings: MQTTSettings, password: String?, spool: MQTTSpool, metrics: MQTTMetrics, logger: Logger) {
        self.settings = settings
        self.password = password
        self.spool = spool
        self.metrics = metrics
        self.logger = logger
        status.spooledEvents = spool.pendingCount
        status.spooledBytes = spool.pendingBytes
    }

    private var broker: Logger.MetadataValue { "\(settings.broker)" }

    /// The thread's loop, until `close` and then what is spooled was delivered, or its deadline passed,
    /// or there is no connection.
    func run(_ sink: MQTTSink) {
        while true {
            let work = sink.take()
            for (stream, line) in work.states {
                states[stream] = line
                statesToSend.insert(stream)
            }
            spoolEvents(work.events)
            let now = Date()
            if let deadline = work.stopDeadline {
                let done = spool.pendingCount == 0 && unspooled.isEmpty && statesToSend.isEmpty
                if !connected || done || now >= deadline { break }
            }
            step(now, sink: sink, stopping: work.stopDeadline != nil)
            if now.timeIntervalSince(lastPersist) >= 0.1 {
                persist()
                lastPersist = now
            }
            status.spooledEvents = spool.pendingCount
            status.spooledBytes = spool.pendingBytes
            sink.report(status)
        }
        finish()
        sink.report(status)
    }

    /// One turn: connect when it is time, check a pending attempt, publish, read and write the socket.
    private func step(_ now: Date, sink: MQTTSink, stopping: Bool) {
        if connection == nil, now >= nextAttempt, !stopping { connect(now) }
        guard let c = connection else {
            sink.wait(until: min(nextAttempt, now.addingTimeInterval(0.25)))
            return
        }
        if !connected {
            if let code = c.connack {
                guard code == 0 else {
                    failed("the broker refused the connection: \(MQTTConnection.describeConnack(code))")
                    return
                }
                didConnect(c)
            } else if now.timeIntervalSince(attemptStarted) > settings.connectTimeout {
                failed("no answer within \(DurationFormat.seconds(settings.connectTimeout))")
                return
            }
        }
        if connected {
            guard sendStates(c), sendSpooled(c) else { return }
        }
        let problem = c.loop(milliseconds: connected ? 25 : 50)
        for mid in c.takeAcknowledged() {
            guard let message = inFlight.removeValue(forKey: mid) else { continue }
            spool.acknowledge(message.seq)
            metrics.published(message.type)
            status.published[message.type, default: 0] += 1
        }
        if !connected, let code = c.connack, code != 0 {
            // The broker's answer says more than the closed connection that follows it.
            failed("the broker refused the connection: \(MQTTConnection.describeConnack(code))")
        } else if let problem {
            if connected { lost(problem) } else { failed(problem) }
        }
    }

    private func connect(_ now: Date) {
        do {
            let c = try MQTTConnection(settings: settings, password: password)
            if let problem = c.start(settings) {
                failed(problem)
                return
            }
            connection = c
            attemptStarted = now
        } catch {
            failed("\(error)")
        }
    }

    private func didConnect(_ c: MQTTConnection) {
        connected = true
        failures = 0
        if everConnected {
            status.reconnections += 1
            metrics.reconnected()
        }
        everConnected = true
        status.connected = true
        metrics.connected(true)
        logger.notice("MQTT connected", metadata: [
            "broker": broker, "client_id": "\(settings.clientID)", "spooled": "\(spool.pendingCount)",
        ])
        _ = c.publish(topic: settings.availabilityTopic, payload: "online", qos: 1, retain: true)
        statesToSend = Set(states.keys)
    }

    /// Publishes the stream states that changed (all of them after a reconnection); false when the
    /// connection was lost meanwhile.
    private func sendStates(_ c: MQTTConnection) -> Bool {
        for stream in statesToSend.sorted() {
            guard let line = states[stream] else { continue }
            if case .failure(let failure) = c.publish(topic: settings.stateTopic(stream: stream), payload: line, qos: 1, retain: true) {
                lost(failure.reason)
                return false
            }
        }
        statesToSend.removeAll()
        return true
    }

    /// Publishes spooled events in order while the window allows; false when the connection was lost.
    private func sendSpooled(_ c: MQTTConnection) -> Bool {
        while spool.inflightCount < settings.window {
            let record: MQTTSpool.Record?
            do { record = try spool.nextUnsent() } catch {
                logger.error("MQTT spool record unreadable; skipped", metadata: ["error": "\(error)"])
                if let type = spool.skipNext() { count(type, .spoolError, 1) }
                continue
            }
            guard let record else { return true }
            switch c.publish(topic: settings.topic(record.type, stream: record.stream), payload: record.line,
                             qos: settings.qos, retain: false) {
            case .success(let mid):
                inFlight[mid] = (record.seq, record.type)
                spool.markSent(record)
            case .failure(let failure):
                lost(failure.reason)
                return false
            }
        }
        return true
    }

    /// A connection attempt failed: logged, retried after the backoff.
    private func failed(_ reason: String) {
        connection = nil
        failures += 1
        let delay = backoff(failures)
        nextAttempt = Date(timeIntervalSinceNow: delay)
        logger.error("MQTT broker unavailable; events are spooled and the connection retried", metadata: [
            "broker": broker, "reason": "\(reason)", "attempt": "\(failures)",
            "retry_in_s": "\(String(format: "%.1f", delay))", "spooled": "\(spool.pendingCount)",
        ])
    }

    /// A working connection ended: what was in flight is sent again on the next one.
    private func lost(_ reason: String) {
        connection = nil
        connected = false
        status.connected = false
        metrics.connected(false)
        spool.rewind()
        inFlight.removeAll()
        failures = 0
        let delay = backoff(1)
        nextAttempt = Date(timeIntervalSinceNow: delay)
        logger.warning("MQTT connection lost; events are spooled until it is back", metadata: [
            "broker": broker, "reason": "\(reason)", "retry_in_s": "\(String(format: "%.1f", delay))",
        ])
    }

    /// `reconnectInitial` doubled per failure up to `reconnectMax`, times a random factor in 0.8...1.2.
    private func backoff(_ failures: Int) -> Double {
        let base = min(settings.reconnectMax, settings.reconnectInitial * pow(2, Double(max(0, failures - 1))))
        return base * Double.random(in: 0.8...1.2)
    }

    /// Appends the events handed over (and those waiting since the spool failed) to the spool.
    private func spoolEvents(_ events: [Event]) {
        unspooled.append(contentsOf: events)
        status.waiting = unspooled.count
        guard !unspooled.isEmpty else { return }
        var written = 0
        var full = 0
        for event in unspooled {
            do {
                for (type, n) in try spool.append(event) {
                    count(type, .spoolFull, n)
                    full += n
                }
            } catch {
                if spoolFailure == nil {
                    logger.error("MQTT spool cannot be written; events wait in memory", metadata: [
                        "error": "\(error)", "memory_mb": "\(MQTTSink.handoffMaxBytes >> 20)",
                    ])
                }
                spoolFailure = "\(error)"
                break
            }
            written += 1
        }
        unspooled.removeFirst(written)
        if spoolFailure != nil, unspooled.isEmpty {
            logger.notice("MQTT spool written again", metadata: ["spool": "\(settings.spoolDirectory)"])
            spoolFailure = nil
        }
        if full > 0, Date().timeIntervalSince(lastSpoolFullLog) >= 30 {
            lastSpoolFullLog = Date()
            logger.warning("MQTT spool full; oldest attribute events dropped first", metadata: [
                "broker": broker, "spool": "\(settings.spoolDirectory)", "spool_max_bytes": "\(settings.spoolMaxBytes)",
                "dropped_total": "\(status.dropped[.spoolFull] ?? 0)",
            ])
        }
        var bytes = unspooled.reduce(0) { $0 + $1.line.utf8.count }
        while bytes > MQTTSink.handoffMaxBytes, !unspooled.isEmpty {
            let gone = unspooled.remove(at: unspooled.firstIndex { $0.type == .attributes } ?? 0)
            bytes -= gone.line.utf8.count
            count(gone.type, .spoolError, 1)
        }
        status.waiting = unspooled.count
    }

    private func count(_ type: EventType, _ reason: MQTTDropReason, _ n: Int) {
        metrics.dropped(type, reason: reason, count: n)
        status.dropped[reason, default: 0] += n
    }

    private func persist() {
        spool.persist()
        status.spooledEvents = spool.pendingCount
        status.spooledBytes = spool.pendingBytes
        metrics.spooled(events: spool.pendingCount, bytes: spool.pendingBytes)
    }

    /// Shutdown: `available` = `offline` (retained, waited for at most 2 s) and a clean DISCONNECT.
    private func finish() {
        if connected, let c = connection {
            if case .success(let mid) = c.publish(topic: settings.availabilityTopic, payload: "offline", qos: 1, retain: true) {
                let deadline = Date(timeIntervalSinceNow: 2)
                var acknowledged = false
                while !acknowledged, Date() < deadline, c.loop(milliseconds: 50) == nil {
                    for m in c.takeAcknowledged() {
                        if m == mid { acknowledged = true }
                        if let message = inFlight.removeValue(forKey: m) {
                            spool.acknowledge(message.seq)
                            metrics.published(message.type)
                            status.published[message.type, default: 0] += 1
                        }
                    }
                }
            }
            c.disconnect()
            _ = c.loop(milliseconds: 50)
            logger.info("MQTT disconnected", metadata: ["broker": broker, "spooled": "\(spool.pendingCount)"])
        }
        connection = nil
        connected = false
        status.connected = false
        metrics.connected(false)
        spool.rewind()
        persist()
        spool.releaseLock()
    }
}

/// `10 s`, `0.5 s`.
enum DurationFormat {
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
