import Foundation

/// The bounded pool between admission and the model: `capacity` crop slots of `[3, S, S]` floats
/// allocated once, and the work items of every stream in the order they were admitted.
///
/// When every slot is taken, `WhenFull` decides: `pard process` waits for the model (nothing is lost);
/// `pard run` sheds the crop its policy names, which keeps its place in the order as a `.shed` item (its
/// sighting still reaches the track book, and the result stage counts it), and its slot is reused.
public final class CropPool: @unchecked Sendable {  // all state under `condition`
    /// What a producer meets when every slot is taken.
    public enum WhenFull: Sendable, Equatable {
        /// Wait until the model frees a slot.
        case wait
        /// Give up a queued crop, chosen by the policy.
        case shed(ShedPolicy)
    }

    public let capacity: Int
    public let floatsPerCrop: Int
    public let whenFull: WhenFull
    /// Frames (`.frameDone` items carrying their picture, for the annotated video) queued at most: a
    /// producer pushing more waits, and `nextBatch` hands out what is queued once the limit is reached,
    /// so that frames without boxes cannot pile up decoded pictures ahead of the model.
    public let pictureLimit: Int
    private var queuedPictures = 0
    private let pixels: UnsafeMutablePointer<Float>
    private let condition = NSCondition()
    /// Items not yet taken, oldest first; `head` is the first one still queued.
    private var items: [WorkItem] = []
    private var head = 0
    /// Crop items among the queued ones.
    private var queuedCrops = 0
    private var freeSlots: [Int]
    private var closed = false
    private var acceptedCrops = 0

    public init(capacity: Int, floatsPerCrop: Int, whenFull: WhenFull, pictureLimit: Int = .max) {
        self.capacity = max(1, capacity)
        self.pictureLimit = max(1, pictureLimit)
        self.floatsPerCrop = floatsPerCrop
        self.whenFull = whenFull
        pixels = .allocate(capacity: self.capacity * floatsPerCrop)
        pixels.initialize(repeating: 0, count: self.capacity * floatsPerCrop)
        freeSlots = Array((0..<self.capacity).reversed())
        items.reserveCapacity(4 * self.capacity)
    }

    deinit { pixels.deallocate() }

    /// The memory of slot `slot`: `[3, S, S]` floats.
    public func buffer(_ slot: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pixels + slot * floatsPerCrop, count: floatsPerCrop)
    }

    /// The first float of slot `slot`.
    func start(of slot: Int) -> UnsafePointer<Float> { UnsafePointer(pixels + slot * floatsPerCrop) }

    /// A slot to crop into, or why there is none.
    public enum Reservation: Sendable, Equatable {
        case slot(Int)
        /// No slot: the new crop itself is shed (`.shutdown` once the pool is closed; `.queueFull` when
        /// every slot is being filled or run by the model right now).
        case refused(ShedReason)
    }

    /// A slot to crop into. `.wait`: blocks until one is free. `.shed`: a free one, else the slot of the
    /// queued crop the policy gives up.
    public func reserveSlot() -> Reservation {
        condition.lock()
        defer { condition.unlock() }
        while true {
            guard !closed else { return .refused(.shutdown) }
            if let slot = freeSlots.popLast() { return .slot(slot) }
            switch whenFull {
            case .wait:
                condition.wait()
            case .shed(let policy):
                return shedOne(policy).map(Reservation.slot) ?? .refused(.queueFull)
            }
        }
    }

    /// Whether a slot is free right now (`reserveSlot` would not wait). A producer that holds reserved,
    /// unpushed crops pushes them before it reserves another where none is free: with `.wait`, every slot
    /// reserved and none queued would leave it waiting for a model that has nothing to run.
    public var hasFreeSlot: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !freeSlots.isEmpty
    }

    /// Gives back a slot that was reserved but not filled (the crop failed).
    public func release(slot: Int) {
        condition.lock()
        freeSlots.append(slot)
        condition.broadcast()
        condition.unlock()
    }

    /// Queues the items of one detection line (or frame), in order; crop items' pixels are in the slots
    /// they reserved. Accepted even after `close` (their slots were reserved before it): `drain` sheds them.
    public func push(_ batch: [WorkItem]) {
        guard !batch.isEmpty else { return }
        condition.lock()
        let pictures = pictureLimit == .max ? 0 : batch.reduce(0) { $0 + ($1.holdsFramePicture ? 1 : 0) }
        while pictures > 0 && queuedPictures > 0 && queuedPictures + pictures > pictureLimit && !closed { condition.wait() }
        queuedPictures += pictures
        let now = Self.now()
        for var item in batch {
            item.enqueued = now
            switch item.kind {
            case .crop: queuedCrops += 1; acceptedCrops += 1
            case .shed: acceptedCrops += 1  // refused at once: accepted, and shed
            default: break
            }
            items.append(item)
        }
        condition.broadcast()
        condition.unlock()
    }

    /// The next items in order, holding at most `maxCrops` crops. Returns once `maxCrops` crops are
    /// queued, or `wait` seconds after the oldest queued crop arrived, or at once when only items without
    /// pixels are queued; with nothing queued, after `idle` seconds (an empty array), or at once when
    /// closed. The crops' slots stay taken until `finished(_:)`.
    public func nextBatch(maxCrops: Int, wait: Double, idle: Double) -> [WorkItem] {
        condition.lock()
        defer { condition.unlock() }
        let idleDeadline = Date(timeIntervalSinceNow: idle)
        while true {
            if queuedCrops >= maxCrops || (closed && head < items.count) || queuedPictures >= pictureLimit { break }
            if head < items.count {
                guard let oldest = items[head...].first(where: { $0.slot != nil }) else { break }
                let due = oldest.enqueued + wait
                let now = Self.now()
                if now >= due { break }
                _ = condition.wait(until: Date(timeIntervalSinceNow: min(due - now, 3600)))
            } else {
                if closed || !condition.wait(until: idleDeadline) { return [] }
            }
        }
        return take(maxCrops: maxCrops)
    }

    /// Frees the slots of the crops of `batch` (after the model ran them).
    public func finished(_ batch: [WorkItem]) {
        condition.lock()
        for item in batch { if let slot = item.slot { freeSlots.append(slot) } }
        condition.broadcast()
        condition.unlock()
    }

    /// Stops intake: `reserveSlot` answers `.refused(.shutdown)` from now on, waiting producers wake, and `nextBatch`
    /// returns what is queued without waiting.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Everything still queued, in order, its crops turned into `.shed(reason)` and their slots freed.
    public func drain(reason: ShedReason) -> [WorkItem] {
        condition.lock()
        defer { condition.unlock() }
        var left = Array(items[head...])
        items.removeAll(keepingCapacity: true)
        head = 0
        queuedCrops = 0
        queuedPictures = 0
        for i in left.indices {
            if case .crop(let slot, let rect) = left[i].kind {
                freeSlots.append(slot)
                left[i].kind = .shed(reason, rect: rect)
            }
        }
        condition.broadcast()
        return left
    }

    /// Crops queued now.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedCrops
    }

    /// Crops accepted into the pool since it was made (cropped boxes, including those shed at once because
    /// no slot could be had): each is classified or shed in the end.
    public var accepted: Int {
        condition.lock()
        defer { condition.unlock() }
        return acceptedCrops
    }

    // MARK: - Under the lock

    /// Removes the next items holding at most `maxCrops` crops (and the crop-less items after them).
    private func take(maxCrops: Int) -> [WorkItem] {
        var end = head, crops = 0
        while end < items.count {
            if items[end].slot != nil {
                if crops == maxCrops { break }
                crops += 1
            }
            end += 1
        }
        let batch = Array(items[head..<end])
        head = end
        queuedCrops -= crops
        if pictureLimit != .max {
            queuedPictures -= batch.reduce(0) { $0 + ($1.holdsFramePicture ? 1 : 0) }
            condition.broadcast()
        }
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 {
            items.removeFirst(head)
            head = 0
        }
        return batch
    }

    /// Turns the queued crop the policy names into a `.shed` item; its slot. nil with no crop queued.
    private func shedOne(_ policy: ShedPolicy) -> Int? {
        let queued = items.indices.dropFirst(head)
        let victim: Int?
        switch policy {
        case .oldestTrackedFirst:
            victim = queued.first { items[$0].slot != nil && items[$0].trackHasResult } ?? queued.first { items[$0].slot != nil }
        case .oldestFirst:
            victim = queued.first { items[$0].slot != nil }
        }
        guard let victim, case .crop(let slot, let rect) = items[victim].kind else { return nil }
        items[victim].kind = .shed(.queueFull, rect: rect)
        items[victim].picture = nil  // a shed crop makes no snapshot: its frame is not held
        queuedCrops -= 1
        return slot
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
