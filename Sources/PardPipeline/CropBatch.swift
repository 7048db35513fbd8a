import PardVideo

/// What became of one detection box of a frame.
enum BoxOutcome: Sendable {
    /// Cropped as crop number `sequence` (counted over the whole run).
    case classified(sequence: Int, rect: CropRect)
    /// A tracked box inside its track's interval: seen, not classified.
    case skippedByInterval
    /// No area once rounded and clamped to the frame.
    case invalid
}

/// One decoded frame's detections and what became of each.
struct FrameRecord: Sendable {
    let frame: Int
    /// Seconds.
    let pts: Double
    let boxes: [(box: Box, outcome: BoxOutcome)]
}

/// Crops on their way to the model, with the frames whose last crop is among them (or that have
/// none). The image memory is allocated once per buffer and reused for the whole run.
final class CropBatch: @unchecked Sendable {  // owned by one thread at a time, handed over through BlockingQueue
    /// `[capacity, 3, S, S]`.
    let images: UnsafeMutablePointer<Float>
    let capacity: Int
    let floatsPerCrop: Int
    /// Crops filled.
    var count = 0
    /// Crop sequence number of slot 0.
    var firstSequence = 0
    /// Frames complete once this batch has run.
    var frames: [FrameRecord] = []
    /// Set on the last batch: how decoding ended (nil = the whole video).
    var decodingError: Error?
    var isLast = false

    init(capacity: Int, floatsPerCrop: Int) {
        self.capacity = capacity
        self.floatsPerCrop = floatsPerCrop
        images = .allocate(capacity: capacity * floatsPerCrop)
        images.initialize(repeating: 0, count: capacity * floatsPerCrop)
        frames.reserveCapacity(64)
    }

    deinit { images.deallocate() }

    var isFull: Bool { count == capacity }

    /// The next free slot.
    var nextSlot: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: images + count * floatsPerCrop, count: floatsPerCrop)
    }

    func reset(firstSequence: Int) {
        count = 0
        self.firstSequence = firstSequence
        frames.removeAll(keepingCapacity: true)
        decodingError = nil
        isLast = false
    }
}
