import Foundation
import PardVideo

/// Why a crop was dropped instead of classified.
public enum ShedReason: String, Sendable, CaseIterable {
    /// The queue was full and this crop was the one the policy gave up.
    case queueFull = "queue_full"
    /// Shutdown came before it could be classified within `shutdown_timeout`.
    case shutdown
}

/// A crop waiting for the model: where it came from, and its pixels in a slot of the queue's pool.
public struct QueuedCrop: Sendable {
    public let stream: Int
    public let frame: Int
    /// Seconds.
    public let pts: Double
    public let box: Box
    public let rect: CropRect
    /// The track already has at least one classified crop (shed first under `oldestTrackedFirst`).
    public let trackHasResult: Bool
    let slot: Int
    /// Monotonic seconds when it was queued.
    let enqueued: Double
}

/// The bounded queue of crops from every stream to the one model, with its pixel memory allocated once
/// (`capacity` slots of `[3, S, S]` floats). When full, a new crop takes the slot of the crop the
/// policy sheds, which is counted by reason; nothing is dropped silently.
public final class CropQueue: @unchecked Sendable {  // all state under `condition`
    public let capacity: Int
    public let floatsPerCrop: Int
    public let policy: DaemonConfig.ShedPolicy
    private let pixels: UnsafeMutablePointer<Float>
    private let condition = NSCondition()
    private var queue: [QueuedCrop] = []
    private var freeSlots: [Int]
    /// Slots handed to producers, not yet queued.
    private var reserved = 0
    private var closed = false
    public private(set) var shed: [ShedReason: Int] = [:]
    public private(set) var accepted = 0

    public init(capacity: Int, floatsPerCrop: Int, policy: DaemonConfig.ShedPolicy) {
        self.capacity = max(1, capacity)
        self.floatsPerCrop = floatsPerCrop
        self.policy = policy
        pixels = .allocate(capacity: self.capacity * floatsPerCrop)
        pixels.initialize(repeating: 0, count: self.capacity * floatsPerCrop)
        freeSlots = Array((0..<self.capacity).reversed())
        queue.reserveCapacity(self.capacity)
    }

    deinit { pixels.deallocate() }

    /// The memory of slot `slot`.
    public func buffer(_ slot: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pixels + slot * floatsPerCrop, count: floatsPerCrop)
    }

    /// A slot to crop into: a free one, or the slot of the crop the policy sheds. nil once closed.
    public func reserveSlot() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return nil }
        if let slot = freeSlots.popLast() { reserved += 1; return slot }
        guard !queue.isEmpty else { return nil }  // every slot is being filled by another producer
        let victim = policy == .oldestTrackedFirst ? (queue.firstIndex { $0.trackHasResult } ?? 0) : 0
        let crop = queue.remove(at: victim)
        shed[.queueFull, default: 0] += 1
        reserved += 1
        return crop.slot
    }

    /// Gives back a slot that was reserved but not filled (the crop failed).
    public func release(slot: Int) {
        condition.lock()
        reserved -= 1
        freeSlots.append(slot)
        condition.broadcast()
        condition.unlock()
    }

    /// Queues a crop whose pixels are in its reserved slot.
    public func enqueue(stream: Int, frame: Int, pts: Double, box: Box, rect: CropRect, trackHasResult: Bool, slot: Int) {
        condition.lock()
        reserved -= 1
        queue.append(QueuedCrop(stream: stream, frame: frame, pts: pts, box: box, rect: rect, trackHasResult: trackHasResult,
                                slot: slot, enqueued: CropQueue.now()))
        accepted += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Up to `max` crops, waiting until `max` are queued or `wait` seconds passed since the oldest was
    /// queued (or `idle` seconds passed with none queued, returning an empty batch). The crops' slots
    /// stay taken until `finished(_:)`.
    public func nextBatch(max: Int, wait: Double, idle: Double) -> [QueuedCrop] {
        condition.lock()
        defer { condition.unlock() }
        let idleDeadline = Date(timeIntervalSinceNow: idle)
        while true {
            if queue.count >= max || (closed && !queue.isEmpty) { break }
            if let oldest = queue.first {
                let due = oldest.enqueued + wait
                let now = CropQueue.now()
                if now >= due { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: due - now))
            } else {
                if closed || !condition.wait(until: idleDeadline) { return [] }
            }
        }
        let batch = Array(queue.prefix(max))
        queue.removeFirst(batch.count)
        return batch
    }

    /// Frees the slots of crops that were run.
    public func finished(_ crops: [QueuedCrop]) {
        condition.lock()
        freeSlots.append(contentsOf: crops.map(\.slot))
        condition.broadcast()
        condition.unlock()
    }

    /// Stops intake: `reserveSlot` returns nil from now on.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Drops what is still queued, counted as `reason`; returns the crops.
    public func drain(reason: ShedReason) -> [QueuedCrop] {
        condition.lock()
        defer { condition.unlock() }
        let left = queue
        queue.removeAll()
        freeSlots.append(contentsOf: left.map(\.slot))
        shed[reason, default: 0] += left.count
        return left
    }

    /// Crops queued now.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    public var counters: (accepted: Int, shed: [ShedReason: Int]) {
        condition.lock()
        defer { condition.unlock() }
        return (accepted, shed)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
