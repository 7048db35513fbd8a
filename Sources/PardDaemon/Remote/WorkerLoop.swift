import Foundation
import Logging
import PardNATS
import PromptPAR

/// One worker's work: pulls up to `batch_size` crops (waiting for the first as long as it takes, then at
/// most `batch_wait` for the rest), classifies them in one forward pass, publishes each result to the
/// subject its crop names, and only then acknowledges the crop; a crop whose result could not be published
/// is handed back (nak). A crop cut for another model is answered `model_mismatch` and terminated (never
/// redelivered); a malformed one is terminated. Buffers (`[batch, 3, S, S]` images, `[batch, A]` logits)
/// are allocated once. Runs on its own thread.
final class WorkerLoop {
    let config: WorkerConfig
    let identity: String
    let subscription: NATSPullSubscription
    let connection: NATSConnection
    let metrics: WorkerMetrics
    let logger: Logger
    private let session: InferenceSession
    private let size: Int
    private let attributes: Int
    private let maxBatch: Int
    /// `[maxBatch, 3, S, S]` floats.
    private let images: UnsafeMutablePointer<Float>
    /// `[maxBatch, A]` floats.
    private let logits: UnsafeMutablePointer<Float>
    /// Seconds to hold each batch before classifying it (`PARD_WORKER_HOLD`; tests only: a worker killed
    /// while it holds crops).
    private let hold: Double
    private var lastFailureLog = Date.distantPast

    init(config: WorkerConfig, model: LoadedModel, identity: String, connection: NATSConnection, subscription: NATSPullSubscription,
         metrics: WorkerMetrics, logger: Logger) {
        (self.config, self.identity, self.connection, self.subscription) = (config, identity, connection, subscription)
        (self.metrics, self.logger) = (metrics, logger)
        maxBatch = config.model.batchSize
        size = model.model.config.imageSize
        attributes = model.model.config.attributes
        session = InferenceSession(model: model.model, maxBatch: maxBatch)
        images = .allocate(capacity: maxBatch * model.model.imageFloats)
        images.initialize(repeating: 0, count: maxBatch * model.model.imageFloats)
        logits = .allocate(capacity: maxBatch * attributes)
        logits.initialize(repeating: 0, count: maxBatch * attributes)
        hold = ProcessInfo.processInfo.environment["PARD_WORKER_HOLD"].flatMap(Double.init) ?? 0
    }

    deinit {
        images.deallocate()
        logits.deallocate()
    }

    /// One batch, or nothing within `idle` seconds; the crops taken.
    @discardableResult
    func turn(idle: Double) -> Int {
        var messages = fetch(max: 1, timeout: idle)
        guard !messages.isEmpty else { return 0 }
        if maxBatch > 1 { messages += fetch(max: maxBatch - 1, timeout: max(0.001, config.model.batchWait)) }
        metrics.fetched.increment(by: Int64(messages.count))
        if hold > 0 { Thread.sleep(forTimeInterval: hold) }
        let perCrop = 3 * size * size
        var taken: [(NATSMessage, CropMessage.Header)] = []
        for message in messages {
            if message.delivered > 1 { metrics.redelivered.increment() }
            let slot = UnsafeMutableBufferPointer(start: images + taken.count * perCrop, count: perCrop)
            do {
                taken.append((message, try CropMessage.readCrop(message.data, model: identity, size: size, into: slot)))
            } catch .otherModel(let header) {
                metrics.modelMismatch.increment()
                logger.warning("crop cut for another model refused", metadata: [
                    "crop": "\(header.id)", "its_model": "\(header.model)", "this_model": "\(identity)"])
                let refusal = CropMessage.ResultHeader(id: header.id, status: "model_mismatch", model: identity, worker: config.nats.name,
                                                       delivered: message.delivered, count: 0)
                _ = publish(CropMessage.result(refusal, logits: UnsafeBufferPointer(start: nil, count: 0)), to: header.reply,
                            id: "\(header.id)/\(message.delivered)")
                message.term()
            } catch {
                metrics.malformed.increment()
                logger.warning("malformed crop dropped", metadata: ["subject": "\(message.subject)", "error": "\(error)"])
                message.term()
            }
        }
        guard !taken.isEmpty else { return messages.count }
        let started = ContinuousClock.now
        session.run(images: images, count: taken.count, logits: logits)
        let elapsed = ContinuousClock.now - started
        metrics.inferenceSeconds.record(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        metrics.batches.increment()
        metrics.batchSize.record(Double(taken.count))
        for (i, (message, header)) in taken.enumerated() {
            let result = CropMessage.ResultHeader(id: header.id, status: "ok", model: identity, worker: config.nats.name,
                                                  delivered: message.delivered, count: attributes)
            let row = UnsafeBufferPointer(start: logits + i * attributes, count: attributes)
            if publish(CropMessage.result(result, logits: row), to: header.reply, id: "\(header.id)/\(message.delivered)") {
                message.ack()
                metrics.classified.increment()
            } else {
                message.nak()
            }
        }
        return messages.count
    }

    private func fetch(max: Int, timeout: Double) -> [NATSMessage] {
        do { return try subscription.fetch(max: max, timeout: timeout) } catch {
            logFailure("fetching crops failed; retrying", error)
            Thread.sleep(forTimeInterval: 0.25)  // down: libnats reconnects meanwhile
            return []
        }
    }

    /// Publishes a result (retried for a few seconds while the server is away); whether it is stored.
    private func publish(_ message: [UInt8], to subject: String, id: String) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 10)
        while true {
            do {
                try connection.publish(message, to: subject, messageID: id, timeout: 2)
                return true
            } catch {
                logFailure("publishing a result failed", error)
                guard Date() < deadline else { break }
                Thread.sleep(forTimeInterval: 0.25)
            }
        }
        metrics.resultFailures.increment()
        return false
    }

    private func logFailure(_ text: Logger.Message, _ error: NATSError) {
        guard Date().timeIntervalSince(lastFailureLog) > 5 else { return }
        logger.warning(text, metadata: ["error": "\(error)"])
        lastFailureLog = Date()
    }
}
