import Foundation
import PardPipeline
import PardTestSupport
import PardVideo
import Testing

/// What becomes of each detection box (invalid, skipped by the track interval, cropped into a pool
/// slot, shed), on the first frame of the sample clip.
@Suite struct BoxAdmissionTests {
    static let size = 32
    static let floats = 3 * size * size

    /// The first frame of the sample clip (768 x 576).
    static func firstFrame() throws -> DecodedFrame {
        let decoder = try VideoDecoder(url: Fixtures.url("video/vtest_first100_h264.mp4").path)
        return try #require(try decoder.nextFrame())
    }

    static func admission(interval: Double = 1.0, timeout: Double = 2.0) -> BoxAdmission {
        BoxAdmission(imageSize: size, resize: .letterbox, trackInterval: interval, trackTimeout: timeout)
    }

    static func at(_ frame: Int, _ pts: Double, stream: Int = 0) -> FramePosition {
        FramePosition(stream: stream, frame: frame, pts: pts)
    }

    static func slot(_ item: WorkItem) -> Int? {
        if case .crop(let slot, _) = item.kind { return slot }
        return nil
    }

    static let person = Box(x: 498.27, y: 151.7, w: 35.47, h: 90.6)

    /// `person` with track id `id` (-1: untracked).
    static func person(id: Int) -> Box {
        var box = person
        box.id = id
        return box
    }

    @Test func boxesWithNoAreaInTheFrameAreInvalid() throws {
        let picture = try Self.firstFrame()
        #expect(picture.width == 768 && picture.height == 576)
        var admission = Self.admission()
        let pool = CropPool(capacity: 1, floatsPerCrop: Self.floats, whenFull: .shed(.oldestFirst))
        for box in [Box(x: 800, y: 10, w: 50, h: 50), Box(x: -100, y: 10, w: 50, h: 50),
                    Box(x: 10, y: 600, w: 50, h: 50), Box(x: 10, y: 10, w: 0, h: 50), Box(x: 10, y: 10, w: 0.4, h: 50),
                    Box(x: .nan, y: 10, w: 50, h: 50), Box(x: 10, y: 10, w: 50, h: -5, id: 3)] {
            let item = try admission.admit(box, in: picture, at: Self.at(4, 0.12, stream: 2), pool: pool)
            #expect(item.kind == .invalid, "\(box)")
            #expect(item.stream == 2 && item.frame == 4 && item.pts == 0.12)
            #expect(item.box.w == box.w && item.box.id == box.id)
            #expect(!item.trackHasResult)
        }
        // No slot was taken.
        #expect(pool.reserveSlot() == .slot(0))
    }

    @Test func aBoxIsCroppedIntoASlotOfThePool() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission()
        let pool = CropPool(capacity: 2, floatsPerCrop: Self.floats, whenFull: .wait)
        let item = try admission.admit(Self.person, in: picture, at: Self.at(1, 0), pool: pool)
        let expectedRect = CropRect(x0: 498, y0: 152, x1: 534, y1: 242)
        let slot = try #require(Self.slot(item))
        #expect(item.kind == .crop(slot: slot, rect: expectedRect))
        #expect(item.frame == 1 && item.pts == 0 && item.box == Self.person)

        // The slot holds the same pixels as a crop made directly.
        var direct = [Float](repeating: 0, count: Self.floats)
        let rect = try direct.withUnsafeMutableBufferPointer {
            try CropExtractor(size: Self.size, resize: .letterbox).crop(Self.person, from: picture, into: $0)
        }
        #expect(rect == expectedRect)
        #expect(Array(pool.buffer(slot)) == direct)
        #expect(direct.contains { $0 > -1 })

        // A second box takes the other slot; nothing is queued until pushed.
        let other = try admission.admit(Box(x: 246.13, y: 215.87, w: 41.07, h: 105.6), in: picture, at: Self.at(1, 0), pool: pool)
        #expect(Self.slot(other) != nil && Self.slot(other) != slot)
        #expect(pool.depth == 0 && pool.accepted == 0)
    }

    @Test func trackedBoxesGoThroughTheIntervalGate() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission(interval: 1.0, timeout: 2.0)
        let pool = CropPool(capacity: 8, floatsPerCrop: Self.floats, whenFull: .wait)
        var t7 = Self.person(id: 7)
        var untracked = Self.person(id: -1)

        func admit(_ box: Box, _ frame: Int, _ pts: Double) throws -> WorkItem {
            let item = try admission.admit(box, in: picture, at: Self.at(frame, pts), pool: pool)
            if let slot = Self.slot(item) { pool.release(slot: slot) }
            return item
        }
        // First seen: cropped; its track had no crop yet.
        var item = try admit(t7, 1, 0)
        #expect(Self.slot(item) != nil)
        #expect(!item.trackHasResult)
        // Within the interval: skipped, no slot.
        item = try admit(t7, 13, 0.5)
        #expect(item.kind == .skippedByInterval)
        // Untracked boxes are never gated.
        for (frame, pts) in [(1, 0.0), (13, 0.5), (14, 0.52)] {
            item = try admit(untracked, frame, pts)
            #expect(Self.slot(item) != nil)
            #expect(!item.trackHasResult)
        }
        item = try admit(t7, 25, 0.96)
        #expect(item.kind == .skippedByInterval)
        // One interval after the last classification: cropped again, its track already had a crop.
        item = try admit(t7, 26, 1.0)
        #expect(Self.slot(item) != nil)
        #expect(item.trackHasResult)
        // Another track is gated on its own.
        var t8 = Self.person(id: 8)
        item = try admit(t8, 26, 1.0)
        #expect(Self.slot(item) != nil && !item.trackHasResult)

        // An invalid tracked box does not go through the gate.
        var admission2 = Self.admission(interval: 1.0, timeout: 2.0)
        let outside = Box(x: 900, y: 0, w: 10, h: 10, id: 9)
        #expect(try admission2.admit(outside, in: picture, at: Self.at(1, 0), pool: pool).kind == .invalid)
        var inside = Self.person(id: 9)
        let after = try admission2.admit(inside, in: picture, at: Self.at(2, 0.04), pool: pool)
        #expect(Self.slot(after) != nil)
    }

    @Test func intervalZeroCropsEveryBox() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission(interval: 0, timeout: 2.0)
        let pool = CropPool(capacity: 1, floatsPerCrop: Self.floats, whenFull: .wait)
        var t = Self.person(id: 1)
        for n in 1...4 {
            let item = try admission.admit(t, in: picture, at: Self.at(n, Double(n - 1) * 0.04), pool: pool)
            let slot = try #require(Self.slot(item))
            #expect(item.trackHasResult == (n > 1))
            pool.release(slot: slot)
        }
    }

    @Test func aCropIsShedWhenThePoolRefusesIt() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission(interval: 0)
        let pool = CropPool(capacity: 1, floatsPerCrop: Self.floats, whenFull: .shed(.oldestFirst))
        let first = try admission.admit(Self.person, in: picture, at: Self.at(1, 0), pool: pool)
        #expect(Self.slot(first) == 0)
        // The only slot is being filled (not queued): nothing to give up, the new crop is shed.
        var t = Box(x: 246.13, y: 215.87, w: 41.07, h: 105.6, id: 4)
        let shed = try admission.admit(t, in: picture, at: Self.at(1, 0), pool: pool)
        #expect(shed.kind == .shed(.queueFull, rect: CropRect(x0: 246, y0: 216, x1: 287, y1: 321)))
        #expect(shed.box == t)
        // Once closed: shed for shutdown.
        pool.close()
        t.id = nil
        let late = try admission.admit(t, in: picture, at: Self.at(2, 0.04), pool: pool)
        #expect(late.kind == .shed(.shutdown, rect: CropRect(x0: 246, y0: 216, x1: 287, y1: 321)))
    }

    @Test func aQueuedCropIsGivenUpForANewOne() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission(interval: 0)
        let pool = CropPool(capacity: 1, floatsPerCrop: Self.floats, whenFull: .shed(.oldestFirst))
        let first = try admission.admit(Self.person, in: picture, at: Self.at(1, 0), pool: pool)
        pool.push([first])
        let second = try admission.admit(Box(x: 246.13, y: 215.87, w: 41.07, h: 105.6), in: picture, at: Self.at(2, 0.04), pool: pool)
        #expect(Self.slot(second) == 0)
        pool.push([second])
        let batch = pool.nextBatch(maxCrops: 2, wait: 0, idle: 0)
        #expect(batch.map(\.frame) == [1, 2])
        #expect(batch[0].kind == .shed(.queueFull, rect: CropRect(x0: 498, y0: 152, x1: 534, y1: 242)))
        #expect(batch[1].kind == .crop(slot: 0, rect: CropRect(x0: 246, y0: 216, x1: 287, y1: 321)))
    }

    @Test func aFailedCropGivesItsSlotBack() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission(interval: 0)
        // Slots too small for the crop: the extractor refuses to write.
        let pool = CropPool(capacity: 1, floatsPerCrop: 4, whenFull: .shed(.oldestFirst))
        #expect(throws: (any Error).self) {
            _ = try admission.admit(Self.person, in: picture, at: Self.at(1, 0), pool: pool)
        }
        #expect(pool.reserveSlot() == .slot(0))
    }

    /// A crop the pool refused was never admitted: its track still has no crop, so its next crop must not
    /// be the first to be shed (`trackHasResult` false), or under load a track whose first crop was
    /// refused keeps losing its crops to the oldest-tracked-first policy.
    @Test func aRefusedCropDoesNotCountAsTheTracksCrop() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission(interval: 0)
        let pool = CropPool(capacity: 1, floatsPerCrop: Self.floats, whenFull: .shed(.oldestTrackedFirst))
        let filler = try admission.admit(Self.person, in: picture, at: Self.at(1, 0), pool: pool)
        let slot = try #require(Self.slot(filler))
        let t = Box(x: 246.13, y: 215.87, w: 41.07, h: 105.6, id: 4)
        let refused = try admission.admit(t, in: picture, at: Self.at(1, 0), pool: pool)
        #expect(refused.kind == .shed(.queueFull, rect: CropRect(x0: 246, y0: 216, x1: 287, y1: 321)))
        pool.release(slot: slot)
        let next = try admission.admit(t, in: picture, at: Self.at(2, 0.04), pool: pool)
        #expect(Self.slot(next) != nil)
        #expect(!next.trackHasResult, "track 4's only earlier crop was refused by the pool")
    }

    /// A track that comes back after its timeout is a new track (the gate classifies it as first seen,
    /// the result stage summarised the old one): its first crop is not that of a track with a result.
    @Test func aTrackBackAfterItsTimeoutStartsWithoutAResult() throws {
        let picture = try Self.firstFrame()
        var admission = Self.admission(interval: 1.0, timeout: 2.0)
        let pool = CropPool(capacity: 1, floatsPerCrop: Self.floats, whenFull: .wait)
        var t = Self.person(id: 5)
        let first = try admission.admit(t, in: picture, at: Self.at(1, 0), pool: pool)
        pool.release(slot: try #require(Self.slot(first)))
        let back = try admission.admit(t, in: picture, at: Self.at(101, 4.0), pool: pool)
        #expect(Self.slot(back) != nil)
        #expect(!back.trackHasResult, "track 5 unseen for 4 s with a 2 s timeout is a new track")
    }
}
