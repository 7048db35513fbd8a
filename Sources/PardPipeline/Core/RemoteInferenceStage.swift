import Foundation
import PardVideo

/// The model side of the pipeline when the model runs elsewhere (`pard run` with `inference: {nats: ...}`):
/// where `InferenceStage` sits, it takes items from the `CropPool`, hands each crop to a `RemoteCropQueue`
/// (its pixels copied out, so the slot is free at once), and gives items to the `ResultStage` in the order
/// they were taken, each crop once its result came back. So tracks, events, sinks and metrics are the same
/// as with local inference.
///
/// At most `maxInFlight` crops are out at once: beyond that the stage takes nothing from the pool, which
/// then fills and sheds as it does for a slow local model (`queue_full`). A crop whose result has not come
/// back `resultTimeout` seconds after it was taken is shed (`result_timeout`; `not_published` when it could
/// not even be handed over), so none is held for ever. A second result for a crop (a redelivery after a
/// slow acknowledgement) is dropped and counted. Runs on one thread.
public final class RemoteInferenceStage {
    public let pool: CropPool
    public let results: ResultStage
    public let queue: RemoteCropQueue
    /// Crops published and not yet answered, at most.
    public let maxInFlight: Int
    /// Seconds from taking a crop to giving it up.
    public let resultTimeout: Double
    /// Logits per result (the attribute count).
    public let attributes: Int
    private let observer: RemoteObserver?
    /// Taken items in order; `head` is the oldest not yet handed on.
    private var order: [Entry] = []
    private var head = 0
    /// Crop id to its index in `order`, while unanswered.
    private var waiting: [String: Int] = [:]
    /// Ids answered lately, and given up lately, to tell a duplicate or a late result from an unknown id.
    private var answered = RecentIDs(capacity: 100_000)
    private var givenUp = RecentIDs(capacity: 100_000)
    private var unsent = 0
    private var nextSequence: UInt64 = 0
    /// Differs at every start, so crop ids never repeat across restarts.
    private let session = String(UInt64.random(in: 0...UInt64.max), radix: 36)

    /// Told of what only remote inference has (metrics).
    public protocol RemoteObserver: AnyObject {
        /// A crop was handed to the queue.
        func published(bytes: Int)
        /// Handing a crop over failed (it is tried again).
        func publishFailed(_ error: Error)
        /// A result came back `seconds` after its crop was taken; `delivered` > 1: a redelivered crop's.
        func answered(seconds: Double, delivered: Int)
        /// A result dropped: for a crop answered already (`duplicate`), given up already (`late`), or
        /// unknown (`unknown`: another session's, or forgotten).
        func dropped(reason: String)
        /// Crops out now.
        func inFlight(_ count: Int)
    }

    /// One taken item.
    private struct Entry {
        var item: WorkItem
        /// For a crop: its id, its message until handed over, when taken (monotonic seconds), its outcome.
        var id = ""
        var message: [UInt8]?
        var taken = 0.0
        var logits: [Float]?
        var refused: ShedReason?
    }

    public init(pool: CropPool, results: ResultStage, queue: RemoteCropQueue, attributes: Int, maxInFlight: Int,
                resultTimeout: Double, observer: RemoteObserver? = nil) {
        (self.pool, self.results, self.queue, self.observer) = (pool, results, queue, observer)
        self.attributes = attributes
        self.maxInFlight = max(1, maxInFlight)
        self.resultTimeout = resultTimeout
    }

    /// Crops taken and not yet handed on.
    public var inFlight: Int { waiting.count }

    /// One turn: takes what the pool has (waiting up to `idle` seconds when nothing is out), hands it over,
    /// collects results for up to `poll` seconds, gives up crops past their time, and passes on what is
    /// complete at the head. The number of items passed on.
    @discardableResult
    public func step(idle: Double, poll: Double) -> Int {
        take(idle: order.count > head ? 0 : idle)
        sendUnsent()
        collect(timeout: order.count > head ? poll : 0.001)
        expire(now: CropPool.now())
        observer?.inFlight(waiting.count)
        return release()
    }

    /// Shutdown: nothing more is taken; what is out gets `seconds` to come
    /// back, the rest (and what is still queued) is shed for `shutdown`. `turned` runs after each turn (a
    /// flush). The crops shed so.
    @discardableResult
    public func finish(within seconds: Double, poll: Double, turned: () -> Void = {}) -> Int {
        let deadline = CropPool.now() + seconds
        pool.close()
        while CropPool.now() < deadline, pool.depth > 0 || order.count > head {
            step(idle: 0, poll: poll)
            turned()
        }
        let left = pool.depth + waiting.count
        for i in head..<order.count where !order[i].id.isEmpty && order[i].logits == nil && order[i].refused == nil {
            giveUp(i, reason: .shutdown)
        }
        release()
        results.handle(pool.drain(reason: .shutdown), logits: nil)
        return left
    }

    // MARK: - Steps

    private func take(idle: Double) {
        let room = maxInFlight - waiting.count
        guard room > 0 else { return }
        let items = pool.nextBatch(maxCrops: room, wait: 0, idle: idle)
        guard !items.isEmpty else { return }
        let now = CropPool.now()
        for item in items {
            var entry = Entry(item: item)
            if case .crop(let slot, let rect) = item.kind {
                nextSequence += 1
                entry.id = "\(queue.edge).\(session).\(nextSequence)"
                entry.taken = now
                let pixels = UnsafeBufferPointer(start: pool.start(of: slot), count: pool.floatsPerCrop)
                entry.message = queue.message(for: RemoteCrop(id: entry.id, item: item, rect: rect), pixels: pixels)
                // The pixels are in the message: the slot is free, and the item no longer names it.
                entry.item.kind = .crop(slot: -1, rect: rect)
                waiting[entry.id] = order.count
                unsent += 1
            }
            order.append(entry)
        }
        pool.finished(items)
    }

    private func sendUnsent() {
        guard unsent > 0 else { return }
        for i in head..<order.count {
            guard let message = order[i].message else { continue }
            do {
                try queue.send(message, id: order[i].id)
            } catch {
                observer?.publishFailed(error)
                return  // the server is away: try again next turn, in order
            }
            observer?.published(bytes: message.count)
            order[i].message = nil
            unsent -= 1
        }
    }

    private func collect(timeout: Double) {
        let now = CropPool.now()
        for result in queue.receive(timeout: timeout) {
            guard let index = waiting.removeValue(forKey: result.id) else {
                observer?.dropped(reason: answered.contains(result.id) ? "duplicate" : givenUp.contains(result.id) ? "late" : "unknown")
                continue
            }
            answered.insert(result.id)
            switch result.outcome {
            case .logits(let logits) where logits.count == attributes:
                order[index].logits = logits
                observer?.answered(seconds: now - order[index].taken, delivered: result.delivered)
            case .logits:
                order[index].refused = .modelMismatch  // a model with another attribute count
            case .refused(let reason):
                order[index].refused = reason
            }
        }
    }

    private func expire(now: Double) {
        for i in head..<order.count where !order[i].id.isEmpty && order[i].logits == nil && order[i].refused == nil {
            guard now - order[i].taken >= resultTimeout else { break }  // taken in order: the rest are younger
            giveUp(i, reason: order[i].message == nil ? .resultTimeout : .notPublished)
        }
    }

    private func giveUp(_ i: Int, reason: ShedReason) {
        waiting[order[i].id] = nil
        givenUp.insert(order[i].id)
        if order[i].message != nil { order[i].message = nil; unsent -= 1 }
        order[i].refused = reason
    }

    /// Hands on the complete items at the head, in order; how many.
    @discardableResult
    private func release() -> Int {
        var items: [WorkItem] = []
        var logits: [Float] = []
        while head < order.count {
            var entry = order[head]
            if case .crop(_, let rect) = entry.item.kind {
                if let reason = entry.refused {
                    if waiting[entry.id] != nil { giveUp(head, reason: reason) }
                    entry.item.kind = .shed(reason, rect: rect)
                } else if let l = entry.logits {
                    logits += l
                } else {
                    break
                }
            }
            items.append(entry.item)
            head += 1
        }
        if head == order.count {
            order.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 {
            order.removeFirst(head)
            for (id, index) in waiting { waiting[id] = index - head }
            head = 0
        }
        guard !items.isEmpty else { return 0 }
        logits.withUnsafeBufferPointer { results.handle(items, logits: $0.baseAddress) }
        return items.count
    }
}

/// A crop going out: its id and where it came from.
public struct RemoteCrop: Sendable {
    public let id: String
    public let item: WorkItem
    public let rect: CropRect
}

/// A result coming back for crop `id`.
public struct RemoteResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// `[A]` logits.
        case logits([Float])
        /// The worker would not classify it.
        case refused(ShedReason)
    }

    public let id: String
    public let outcome: Outcome
    /// How often the queue had delivered the crop to a worker when this result was made (1: first time).
    public let delivered: Int

    public init(id: String, outcome: Outcome, delivered: Int) {
        (self.id, self.outcome, self.delivered) = (id, outcome, delivered)
    }
}

/// Where `RemoteInferenceStage` sends crops and gets results (NATS JetStream in `pard run`; a fake in tests).
public protocol RemoteCropQueue: AnyObject {
    /// This edge's name, the first part of every crop id.
    var edge: String { get }
    /// The message for `crop` with its `[3, S, S]` pixels (called once per crop).
    func message(for crop: RemoteCrop, pixels: UnsafeBufferPointer<Float>) -> [UInt8]
    /// Hands a message over; throws when it could not be (it is tried again later).
    func send(_ message: [UInt8], id: String) throws
    /// Results that came within `timeout` seconds (none when nothing came).
    func receive(timeout: Double) -> [RemoteResult]
}

/// A set of the last `capacity` strings inserted.
struct RecentIDs {
    let capacity: Int
    private var set: Set<String> = []
    private var ring: [String] = []
    private var next = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func contains(_ id: String) -> Bool { set.contains(id) }

    mutating func insert(_ id: String) {
        guard set.insert(id).inserted else { return }
        if ring.count < capacity {
            ring.append(id)
        } else {
            set.remove(ring[next])
            ring[next] = id
            next = (next + 1) % capacity
        }
    }
}
