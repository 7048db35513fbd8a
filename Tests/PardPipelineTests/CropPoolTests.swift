import Foundation
import PardPipeline
import PardVideo
import Testing

/// The batch pool shared by `pard process` (`.wait`) and `pard run` (`.shed(policy)`): capacity,
/// shedding order per policy, close, batching and drain. Every wait is bounded, so no test can hang.
@Suite struct CropPoolTests {
    // MARK: - Helpers

    /// A distinct rect per tag, so that items can be told apart after they were shed.
    static func rect(_ tag: Int) -> CropRect { CropRect(x0: tag, y0: 0, x1: tag + 10, y1: 20) }

    /// A crop item of frame `frame` in slot `slot`.
    static func crop(_ slot: Int, frame: Int, id: Int? = nil, trackHasResult: Bool = false) -> WorkItem {
        WorkItem(stream: 0, frame: frame, pts: Double(frame) / 25, box: Box(x: Double(frame), y: 0, w: 10, h: 20, id: id),
                 kind: .crop(slot: slot, rect: rect(frame)), trackHasResult: trackHasResult)
    }

    static func item(_ kind: WorkItem.Kind, frame: Int) -> WorkItem {
        WorkItem(stream: 0, frame: frame, pts: Double(frame) / 25, box: Box(x: 0, y: 0, w: 1, h: 1), kind: kind)
    }

    /// Reserves a slot, which must be granted.
    static func slot(_ pool: CropPool, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        guard case .slot(let slot) = pool.reserveSlot() else {
            Issue.record("no slot", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return slot
    }

    /// Reserves a slot and queues a crop of frame `frame` in it.
    @discardableResult
    static func pushCrop(_ pool: CropPool, frame: Int, trackHasResult: Bool = false) throws -> WorkItem {
        let item = crop(try slot(pool), frame: frame, trackHasResult: trackHasResult)
        pool.push([item])
        return item
    }

    /// What a background `reserveSlot` returned, and when.
    final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var value: CropPool.Reservation?
        let done = DispatchSemaphore(value: 0)
        var reservation: CropPool.Reservation? { lock.withLock { value } }
        func set(_ r: CropPool.Reservation) {
            lock.withLock { value = r }
            done.signal()
        }
    }

    /// Calls `reserveSlot` on a thread of its own.
    static func reserveInBackground(_ pool: CropPool) -> Outcome {
        let outcome = Outcome()
        Thread { outcome.set(pool.reserveSlot()) }.start()
        return outcome
    }

    static func seconds(_ body: () -> Void) -> Double {
        let start = Date()
        body()
        return Date().timeIntervalSince(start)
    }

    static func frames(_ items: [WorkItem]) -> [Int] { items.map(\.frame) }

    // MARK: - Capacity

    @Test func capacityIsAtLeastOneAndSlotsAreDistinct() throws {
        #expect(CropPool(capacity: 0, floatsPerCrop: 4, whenFull: .wait).capacity == 1)
        let pool = CropPool(capacity: 3, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        let slots = try (0..<3).map { _ in try Self.slot(pool) }
        #expect(Set(slots) == [0, 1, 2])
        // Reserved but not queued: nothing to shed.
        #expect(pool.reserveSlot() == .refused(.queueFull))
        // The slots' memory does not overlap.
        for s in slots { pool.buffer(s).update(repeating: Float(s + 1)) }
        for s in slots { #expect(pool.buffer(s).allSatisfy { $0 == Float(s + 1) }) }
    }

    @Test func waitPoolBlocksAProducerUntilFinishedFreesASlot() throws {
        let pool = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .wait)
        try Self.pushCrop(pool, frame: 1)
        try Self.pushCrop(pool, frame: 2)
        let batch = pool.nextBatch(maxCrops: 2, wait: 0, idle: 0)
        #expect(Self.frames(batch) == [1, 2])

        let outcome = Self.reserveInBackground(pool)
        // Both slots are in flight: the producer waits.
        #expect(outcome.done.wait(timeout: .now() + 0.3) == .timedOut)
        #expect(outcome.reservation == nil)

        pool.finished(batch)
        #expect(outcome.done.wait(timeout: .now() + 5) == .success)
        let granted = try #require(outcome.reservation)
        guard case .slot(let slot) = granted else {
            Issue.record("expected a slot, got \(granted)")
            return
        }
        #expect([0, 1].contains(slot))
    }

    @Test func waitPoolBlocksOnQueuedCropsToo() throws {
        // Queued crops (not yet taken) hold their slots: `.wait` never sheds them.
        let pool = CropPool(capacity: 1, floatsPerCrop: 4, whenFull: .wait)
        try Self.pushCrop(pool, frame: 1)
        let outcome = Self.reserveInBackground(pool)
        #expect(outcome.done.wait(timeout: .now() + 0.3) == .timedOut)
        let batch = pool.nextBatch(maxCrops: 1, wait: 0, idle: 0)
        #expect(Self.frames(batch) == [1])
        #expect(batch.first?.kind == .crop(slot: 0, rect: Self.rect(1)))
        // Taken but not finished: still waiting.
        #expect(outcome.done.wait(timeout: .now() + 0.2) == .timedOut)
        pool.finished(batch)
        #expect(outcome.done.wait(timeout: .now() + 5) == .success)
        #expect(outcome.reservation == .slot(0))
    }

    @Test func releaseGivesBackAReservedSlot() throws {
        let pool = CropPool(capacity: 1, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        let slot = try Self.slot(pool)
        #expect(pool.reserveSlot() == .refused(.queueFull))
        pool.release(slot: slot)
        #expect(pool.reserveSlot() == .slot(slot))
        #expect(pool.accepted == 0)
    }

    @Test func releaseWakesAWaitingProducer() throws {
        let pool = CropPool(capacity: 1, floatsPerCrop: 4, whenFull: .wait)
        let slot = try Self.slot(pool)
        let outcome = Self.reserveInBackground(pool)
        #expect(outcome.done.wait(timeout: .now() + 0.2) == .timedOut)
        pool.release(slot: slot)
        #expect(outcome.done.wait(timeout: .now() + 5) == .success)
        #expect(outcome.reservation == .slot(slot))
    }

    // MARK: - Shedding

    @Test func shedOldestGivesUpTheOldestQueuedCrop() throws {
        let pool = CropPool(capacity: 3, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        let c1 = try Self.pushCrop(pool, frame: 1)
        try Self.pushCrop(pool, frame: 2, trackHasResult: true)
        try Self.pushCrop(pool, frame: 3)
        #expect(pool.depth == 3)

        // The oldest crop (frame 1) is given up, whether its track has a result or not; its slot is reused.
        let reused = try Self.slot(pool)
        #expect(reused == Self.slotOf(c1))
        #expect(pool.depth == 2)
        pool.push([Self.crop(reused, frame: 4)])
        #expect(pool.accepted == 4)
        #expect(pool.depth == 3)

        // Next to go: frame 2 (now the oldest crop), though frame 3 has no track result.
        let reused2 = try Self.slot(pool)
        pool.push([Self.crop(reused2, frame: 5)])

        let batch = pool.nextBatch(maxCrops: 8, wait: 0, idle: 0)
        #expect(Self.frames(batch) == [1, 2, 3, 4, 5])
        #expect(batch[0].kind == .shed(.queueFull, rect: Self.rect(1)))
        #expect(batch[1].kind == .shed(.queueFull, rect: Self.rect(2)))
        #expect(batch[2].kind == .crop(slot: Self.slotOf(batch[2]), rect: Self.rect(3)))
        #expect(batch[3].kind == .crop(slot: reused, rect: Self.rect(4)))
        #expect(batch[4].kind == .crop(slot: reused2, rect: Self.rect(5)))
        #expect(pool.depth == 0)
        #expect(pool.accepted == 5)
    }

    @Test func shedOldestTrackedFirstPrefersCropsOfTracksWithAResult() throws {
        let pool = CropPool(capacity: 4, floatsPerCrop: 4, whenFull: .shed(.oldestTrackedFirst))
        let c1 = try Self.pushCrop(pool, frame: 1)
        let c2 = try Self.pushCrop(pool, frame: 2, trackHasResult: true)
        try Self.pushCrop(pool, frame: 3)
        let c4 = try Self.pushCrop(pool, frame: 4, trackHasResult: true)

        // The oldest crop whose track has a result: frame 2, not frame 1.
        let first = try Self.slot(pool)
        #expect(first == Self.slotOf(c2))
        pool.push([Self.crop(first, frame: 5)])
        // Then frame 4 (tracked), still before the older untracked frame 1.
        let second = try Self.slot(pool)
        #expect(second == Self.slotOf(c4))
        pool.push([Self.crop(second, frame: 6)])
        // No tracked crop left: the oldest crop, frame 1.
        let third = try Self.slot(pool)
        #expect(third == Self.slotOf(c1))
        pool.push([Self.crop(third, frame: 7)])

        let batch = pool.nextBatch(maxCrops: 8, wait: 0, idle: 0)
        #expect(Self.frames(batch) == [1, 2, 3, 4, 5, 6, 7])
        #expect(batch[0].kind == .shed(.queueFull, rect: Self.rect(1)))
        #expect(batch[1].kind == .shed(.queueFull, rect: Self.rect(2)))
        #expect(batch[2].kind == .crop(slot: Self.slotOf(batch[2]), rect: Self.rect(3)))
        #expect(batch[3].kind == .shed(.queueFull, rect: Self.rect(4)))
        #expect(batch[4].kind == .crop(slot: first, rect: Self.rect(5)))
        #expect(batch[5].kind == .crop(slot: second, rect: Self.rect(6)))
        #expect(batch[6].kind == .crop(slot: third, rect: Self.rect(7)))
        // The shed items keep their track flag.
        #expect(batch[1].trackHasResult && batch[3].trackHasResult && !batch[0].trackHasResult)
    }

    @Test func shedSkipsCropsAlreadyTakenByTheModel() throws {
        let pool = CropPool(capacity: 3, floatsPerCrop: 4, whenFull: .shed(.oldestTrackedFirst))
        try Self.pushCrop(pool, frame: 1, trackHasResult: true)
        let taken = pool.nextBatch(maxCrops: 1, wait: 0, idle: 0)
        #expect(Self.frames(taken) == [1])
        let c2 = try Self.pushCrop(pool, frame: 2)
        try Self.pushCrop(pool, frame: 3)
        // Frame 1 is in flight: the victim is the oldest queued crop, frame 2.
        let reused = try Self.slot(pool)
        #expect(reused == Self.slotOf(c2))
        pool.push([Self.crop(reused, frame: 4)])
        let batch = pool.nextBatch(maxCrops: 8, wait: 0, idle: 0)
        #expect(Self.frames(batch) == [2, 3, 4])
        #expect(batch[0].kind == .shed(.queueFull, rect: Self.rect(2)))
    }

    @Test func refusedWhenEverySlotIsInFlight() throws {
        for policy in ShedPolicy.allCases {
            let pool = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .shed(policy))
            try Self.pushCrop(pool, frame: 1, trackHasResult: true)
            try Self.pushCrop(pool, frame: 2)
            // A crop-less item queued is nothing to shed.
            pool.push([Self.item(.skippedByInterval, frame: 3)])
            let batch = pool.nextBatch(maxCrops: 2, wait: 0, idle: 0)
            #expect(Self.frames(batch) == [1, 2, 3], "\(policy)")
            #expect(pool.reserveSlot() == .refused(.queueFull), "\(policy)")
            #expect(pool.depth == 0)
            pool.finished(Array(batch.prefix(1)))
            #expect(pool.reserveSlot() == .slot(Self.slotOf(batch[0])), "\(policy)")
            #expect(pool.reserveSlot() == .refused(.queueFull), "\(policy)")
        }
    }

    @Test func shedItemsAreNotShedTwice() throws {
        let pool = CropPool(capacity: 1, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        try Self.pushCrop(pool, frame: 1)
        let reused = try Self.slot(pool)  // sheds frame 1, slot reserved and not queued
        #expect(reused == 0)
        // The only queued item is a shed one: nothing left to give up.
        #expect(pool.reserveSlot() == .refused(.queueFull))
        #expect(pool.depth == 0)
        let batch = pool.nextBatch(maxCrops: 4, wait: 5, idle: 5)
        #expect(batch.count == 1 && batch[0].kind == .shed(.queueFull, rect: Self.rect(1)))
    }

    // MARK: - Close

    @Test func closeRefusesReservationsAndWakesABlockedProducer() throws {
        let pool = CropPool(capacity: 1, floatsPerCrop: 4, whenFull: .wait)
        try Self.pushCrop(pool, frame: 1)
        let outcome = Self.reserveInBackground(pool)
        #expect(outcome.done.wait(timeout: .now() + 0.2) == .timedOut)
        pool.close()
        #expect(outcome.done.wait(timeout: .now() + 5) == .success)
        #expect(outcome.reservation == .refused(.shutdown))
        // Even with a free slot.
        let free = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        free.close()
        #expect(free.reserveSlot() == .refused(.shutdown))
    }

    @Test func closedPoolHandsOutWhatIsQueuedWithoutWaiting() throws {
        let pool = CropPool(capacity: 4, floatsPerCrop: 4, whenFull: .wait)
        try Self.pushCrop(pool, frame: 1)
        pool.close()
        // Pushed after close (its slot was reserved before): accepted.
        pool.push([Self.item(.frameDone, frame: 1)])
        var batch: [WorkItem] = []
        let elapsed = Self.seconds { batch = pool.nextBatch(maxCrops: 4, wait: 30, idle: 30) }
        #expect(Self.frames(batch) == [1, 1])
        #expect(elapsed < 2)
        // Closed and empty: at once, empty.
        let empty = Self.seconds { batch = pool.nextBatch(maxCrops: 4, wait: 30, idle: 30) }
        #expect(batch.isEmpty)
        #expect(empty < 2)
    }

    @Test func closeWakesAConsumerWaitingForWork() {
        let pool = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .wait)
        let done = DispatchSemaphore(value: 0)
        let counted = Outcome()
        Thread {
            let batch = pool.nextBatch(maxCrops: 2, wait: 30, idle: 30)
            counted.set(batch.isEmpty ? .refused(.shutdown) : .slot(batch.count))
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 0.2) == .timedOut)
        pool.close()
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(counted.reservation == .refused(.shutdown))
    }

    // MARK: - nextBatch

    @Test func nextBatchHoldsAtMostMaxCropsInOrderWithCroplessItems() throws {
        let pool = CropPool(capacity: 8, floatsPerCrop: 4, whenFull: .wait)
        let c1 = try Self.pushCrop(pool, frame: 1)
        pool.push([Self.item(.skippedByInterval, frame: 2), Self.item(.invalid, frame: 3)])
        let c4 = try Self.pushCrop(pool, frame: 4)
        pool.push([Self.item(.frameDone, frame: 5)])
        let c6 = try Self.pushCrop(pool, frame: 6)
        try Self.pushCrop(pool, frame: 7)
        #expect(pool.depth == 4)
        #expect(pool.accepted == 4)

        // Enough crops queued: at once, even with a long wait.
        var batch: [WorkItem] = []
        let elapsed = Self.seconds { batch = pool.nextBatch(maxCrops: 2, wait: 30, idle: 30) }
        #expect(elapsed < 2)
        // Two crops, with the crop-less items between and after them (up to the next crop).
        #expect(Self.frames(batch) == [1, 2, 3, 4, 5])
        #expect(batch[0].kind == c1.kind && batch[3].kind == c4.kind)
        #expect(batch[1].kind == .skippedByInterval && batch[2].kind == .invalid && batch[4].kind == .frameDone)
        #expect(pool.depth == 2)

        batch = pool.nextBatch(maxCrops: 1, wait: 30, idle: 30)
        #expect(Self.frames(batch) == [6])
        #expect(batch[0].kind == c6.kind)
        #expect(pool.depth == 1)
        batch = pool.nextBatch(maxCrops: 5, wait: 0, idle: 0)
        #expect(Self.frames(batch) == [7])
        #expect(pool.depth == 0)
        #expect(pool.accepted == 4)
    }

    @Test func nextBatchReturnsPixellessItemsAtOnce() {
        let pool = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .wait)
        pool.push([Self.item(.skippedByInterval, frame: 1), Self.item(.invalid, frame: 1),
                   Self.item(.shed(.queueFull, rect: Self.rect(1)), frame: 1), Self.item(.frameDone, frame: 1)])
        #expect(pool.depth == 0)
        // A crop shed at once (no slot) is accepted, and shed: it counts; the other items do not.
        #expect(pool.accepted == 1)
        var batch: [WorkItem] = []
        let elapsed = Self.seconds { batch = pool.nextBatch(maxCrops: 4, wait: 30, idle: 30) }
        #expect(elapsed < 2)
        #expect(batch.count == 4)
        #expect(batch.last?.kind == .frameDone)
    }

    @Test func nextBatchWaitsForAPartialBatch() throws {
        let pool = CropPool(capacity: 4, floatsPerCrop: 4, whenFull: .wait)
        try Self.pushCrop(pool, frame: 1)
        var batch: [WorkItem] = []
        let elapsed = Self.seconds { batch = pool.nextBatch(maxCrops: 4, wait: 0.3, idle: 30) }
        #expect(Self.frames(batch) == [1])
        #expect(elapsed >= 0.25)
        #expect(elapsed < 3)
    }

    @Test func nextBatchReturnsOnceAWaitedBatchFills() throws {
        let pool = CropPool(capacity: 4, floatsPerCrop: 4, whenFull: .wait)
        try Self.pushCrop(pool, frame: 1)
        let second = Self.crop(try Self.slot(pool), frame: 2)
        Thread {
            Thread.sleep(forTimeInterval: 0.1)
            pool.push([second])
        }.start()
        var batch: [WorkItem] = []
        let elapsed = Self.seconds { batch = pool.nextBatch(maxCrops: 2, wait: 30, idle: 30) }
        #expect(Self.frames(batch) == [1, 2])
        #expect(elapsed < 5)
    }

    @Test func nextBatchIsEmptyAfterIdle() {
        let pool = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .wait)
        var batch: [WorkItem] = [Self.item(.invalid, frame: 0)]
        let elapsed = Self.seconds { batch = pool.nextBatch(maxCrops: 2, wait: 0, idle: 0.3) }
        #expect(batch.isEmpty)
        #expect(elapsed >= 0.25)
        #expect(elapsed < 3)
    }

    @Test func nextBatchWakesForWorkArrivingWhileIdle() {
        let pool = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .wait)
        Thread {
            Thread.sleep(forTimeInterval: 0.1)
            pool.push([Self.item(.frameDone, frame: 9)])
        }.start()
        var batch: [WorkItem] = []
        let elapsed = Self.seconds { batch = pool.nextBatch(maxCrops: 2, wait: 30, idle: 30) }
        #expect(Self.frames(batch) == [9])
        #expect(elapsed < 5)
    }

    // MARK: - Drain

    @Test func drainShedsQueuedCropsInOrderAndFreesTheirSlots() throws {
        let pool = CropPool(capacity: 3, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        try Self.pushCrop(pool, frame: 1)
        let taken = pool.nextBatch(maxCrops: 1, wait: 0, idle: 0)  // frame 1 in flight
        try Self.pushCrop(pool, frame: 2)
        pool.push([Self.item(.skippedByInterval, frame: 2)])
        try Self.pushCrop(pool, frame: 3)
        let reused = try Self.slot(pool)  // sheds frame 2 for queue_full
        pool.push([Self.crop(reused, frame: 4), Self.item(.frameDone, frame: 4)])
        #expect(pool.depth == 2)

        let left = pool.drain(reason: .shutdown)
        #expect(Self.frames(left) == [2, 2, 3, 4, 4])
        #expect(left[0].kind == .shed(.queueFull, rect: Self.rect(2)))
        #expect(left[1].kind == .skippedByInterval)
        #expect(left[2].kind == .shed(.shutdown, rect: Self.rect(3)))
        #expect(left[3].kind == .shed(.shutdown, rect: Self.rect(4)))
        #expect(left[4].kind == .frameDone)
        #expect(pool.depth == 0)
        #expect(pool.accepted == 4)

        // The two drained slots are free again; the one in flight is not.
        #expect(pool.reserveSlot() != .refused(.queueFull))
        #expect(pool.reserveSlot() != .refused(.queueFull))
        #expect(pool.reserveSlot() == .refused(.queueFull))
        pool.finished(taken)
        #expect(pool.reserveSlot() == .slot(Self.slotOf(taken[0])))

        // Nothing left to hand out.
        #expect(pool.drain(reason: .shutdown).isEmpty)
        #expect(pool.nextBatch(maxCrops: 4, wait: 0, idle: 0).isEmpty)
    }

    @Test func drainWakesAWaitingProducer() throws {
        let pool = CropPool(capacity: 1, floatsPerCrop: 4, whenFull: .wait)
        try Self.pushCrop(pool, frame: 1)
        let outcome = Self.reserveInBackground(pool)
        #expect(outcome.done.wait(timeout: .now() + 0.2) == .timedOut)
        let left = pool.drain(reason: .queueFull)
        #expect(left.count == 1 && left[0].kind == .shed(.queueFull, rect: Self.rect(1)))
        #expect(outcome.done.wait(timeout: .now() + 5) == .success)
        #expect(outcome.reservation == .slot(0))
    }

    @Test func acceptedCountsCropsOnlyAndDepthFollowsTheQueue() throws {
        let pool = CropPool(capacity: 2, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        #expect(pool.accepted == 0 && pool.depth == 0)
        pool.push([])
        pool.push([Self.item(.invalid, frame: 1), Self.item(.frameDone, frame: 1)])
        #expect(pool.accepted == 0 && pool.depth == 0)
        let a = try Self.slot(pool), b = try Self.slot(pool)
        pool.push([Self.crop(a, frame: 2), Self.crop(b, frame: 2)])
        #expect(pool.accepted == 2 && pool.depth == 2)
        let c = try Self.slot(pool)  // sheds one
        #expect(pool.accepted == 2 && pool.depth == 1)
        pool.push([Self.crop(c, frame: 3)])
        #expect(pool.accepted == 3 && pool.depth == 2)
        let batch = pool.nextBatch(maxCrops: 1, wait: 0, idle: 0)
        // The invalid, frame-done and shed items, then one crop.
        #expect(batch.count == 4)
        #expect(pool.accepted == 3 && pool.depth == 1)
        _ = pool.drain(reason: .shutdown)
        #expect(pool.accepted == 3 && pool.depth == 0)
        // Refused at once (no slot): pushed as shed, accepted, never queued as a crop.
        pool.push([Self.item(.shed(.queueFull, rect: Self.rect(5)), frame: 5), Self.item(.shed(.shutdown, rect: Self.rect(6)), frame: 6)])
        #expect(pool.accepted == 5 && pool.depth == 0)
    }

    /// The slot of a crop item (the pool's accessor is internal).
    static func slotOf(_ item: WorkItem) -> Int {
        if case .crop(let slot, _) = item.kind { return slot }
        return -1
    }
}
