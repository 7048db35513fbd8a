import Foundation
import Logging
import PardNATS
import PardPipeline

/// The edge's `RemoteCropQueue` on NATS JetStream: crops are published to `subject` (message id = crop id,
/// so a publish retried after a lost acknowledgement is stored once), results are pulled from
/// `<results>.<edge>` through the durable consumer `pard-edge-<edge>` and acknowledged once read.
/// Used by the remote stage's thread only.
final class NATSCropQueue: RemoteCropQueue {
    let edge: String
    let names: DaemonConfig.NATSNames
    /// `ModelIdentity` of this edge's model.
    let model: String
    /// The model's S.
    let size: Int
    /// The streams' names by index, for the crops' headers.
    let streams: [String]
    let connection: NATSConnection
    private let results: NATSPullSubscription
    private let metrics: RemoteMetrics
    private let logger: Logger
    private var lastFailureLog = Date.distantPast
    /// `PARD_REMOTE_PIXELS=f32`: crops always as float32 (for measuring what sending bytes saves).
    private let bytePixels = ProcessInfo.processInfo.environment["PARD_REMOTE_PIXELS"] != "f32"

    /// Connects (waiting up to `startTimeout` seconds for the server), makes the stream and this edge's consumer.
    /// - Throws: `NATSError` naming the server, stream or subject.
    init(settings: DaemonConfig.RemoteInference, model: String, size: Int, streams: [String], metrics: RemoteMetrics,
         logger: Logger, startTimeout: Double = 10) throws(NATSError) {
        (edge, names, self.model, self.size, self.metrics, self.logger) = (settings.edge, settings.nats, model, size, metrics, logger)
        self.streams = streams
        connection = try NATSConnection.started(url: settings.nats.url, name: "pard-edge-\(settings.edge)", metrics: metrics.nats,
                                                logger: logger, within: startTimeout)
        try connection.ensureWorkQueueStream(names.stream, subjects: names.streamSubjects)
        results = try connection.pullSubscribe(subject: "\(settings.nats.results).\(settings.edge)", durable: "pard-edge-\(edge)", stream: names.stream,
                                               ackWait: 30, maxDeliver: -1, maxAckPending: 100_000)
    }

    /// Where this edge's results come.
    var replySubject: String { "\(names.results).\(edge)" }

    func message(for crop: RemoteCrop, pixels: UnsafeBufferPointer<Float>) -> [UInt8] {
        let item = crop.item
        let header = CropMessage.Header(id: crop.id, reply: replySubject, model: model, stream: streams.indices.contains(item.stream) ? streams[item.stream] : "\(item.stream)", frame: item.frame,
                                        pts: item.pts, box: [item.box.x, item.box.y, item.box.w, item.box.h], track: item.trackID,
                                        pixels: "", size: size)
        return CropMessage.crop(header, pixels: pixels, bytes: bytePixels)
    }

    func send(_ message: [UInt8], id: String) throws {
        do { try connection.publish(message, to: names.subject, messageID: id, timeout: 2) }
        catch {
            if Date().timeIntervalSince(lastFailureLog) > 5 {
                logger.warning("crop not published; retrying", metadata: ["error": "\(error)"])
                lastFailureLog = Date()
            }
            throw error
        }
    }

    func receive(timeout: Double) -> [RemoteResult] {
        let messages: [NATSMessage]
        // The rest of what is there comes within a round trip each; 2 ms is the wait for one that is not.
        do { messages = try results.fetch(max: 256, timeout: timeout, linger: 0.002) } catch {
            Thread.sleep(forTimeInterval: max(timeout, 0.01))  // down: libnats reconnects meanwhile
            return []
        }
        var out: [RemoteResult] = []
        for message in messages {
            do {
                let (_, result) = try CropMessage.readResult(message.data)
                out.append(result)
            } catch {
                metrics.resultsMalformed.increment()
                logger.warning("malformed result dropped", metadata: ["subject": "\(message.subject)", "error": "\(error)"])
            }
            message.ack()
        }
        return out
    }
}

extension NATSConnection {
    /// A connection whose state goes to `metrics` and the log, up within `seconds` (else it goes on trying,
    /// and the caller's first request fails, naming the server).
    static func started(url: String, name: String, metrics: NATSPrometheusMetrics, logger: Logger,
                        within seconds: Double) throws(NATSError) -> NATSConnection {
        let connection = try NATSConnection(url: url, name: name) { event in
            switch event {
            case .disconnected:
                metrics.connected.set(0.0)
                logger.warning("NATS connection lost; reconnecting", metadata: ["server": "\(url)"])
            case .reconnected:
                metrics.connected.set(1.0)
                metrics.reconnects.increment()
                logger.info("NATS connection back", metadata: ["server": "\(url)"])
            case .closed:
                metrics.connected.set(0.0)
            }
        }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !connection.isConnected, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        metrics.connected.set(connection.isConnected ? 1.0 : 0.0)
        return connection
    }
}
