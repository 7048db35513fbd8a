import PardVideo

/// Where a frame sits in its stream: the stream's index, the stream-wide 1-based frame number and pts
/// (seconds). A live stream's numbers go on across loops and reconnections; a file's are its own.
public struct FramePosition: Sendable, Equatable {
    public let stream: Int
    public let frame: Int
    public let pts: Double

    public init(stream: Int, frame: Int, pts: Double) {
        (self.stream, self.frame, self.pts) = (stream, frame, pts)
    }
}

/// What becomes of each detection box, one rule for `pard process` and `pard run`:
/// 1. the box is cut as the integer rect `round(x), round(y), round(x+w), round(y+h)` clamped to the
///    frame; with no area left it is `.invalid`;
/// 2. a tracked box (`id` >= 0) is classified when its track is first seen, then at most once per
///    `trackInterval` seconds of stream time (`TrackIntervalGate`); in between it is `.skippedByInterval`;
/// 3. otherwise it is cropped (letterboxed or stretched to `S x S`) into a slot of the `CropPool`, or,
///    when the pool has no slot for it, `.shed`.
/// One admission per stream; it runs on the stream's detection side.
public struct BoxAdmission {
    public let extractor: CropExtractor
    private var gate: TrackIntervalGate
    /// Whether a crop item carries its decoded frame (`WorkItem.picture`), for snapshots and cards.
    public var keepPictures = false

    public init(imageSize: Int, resize: CropExtractor.Resize, trackInterval: Double, trackTimeout: Double) {
        extractor = CropExtractor(size: imageSize, resize: resize)
        gate = TrackIntervalGate(interval: trackInterval, timeout: trackTimeout)
    }

    /// The work item for `box` of `picture` at `position`; a crop's pixels are in its pool slot.
    /// - Throws: `VideoError` when the pixels cannot be converted (the slot is given back first).
    public mutating func admit(_ box: Box, in picture: DecodedFrame, at position: FramePosition,
                               pool: CropPool) throws -> WorkItem {
        func item(_ kind: WorkItem.Kind, trackHasResult: Bool = false) -> WorkItem {
            WorkItem(stream: position.stream, frame: position.frame, pts: position.pts, box: box, kind: kind,
                     trackHasResult: trackHasResult)
        }
        guard let rect = extractor.rect(for: box, in: picture) else { return item(.invalid) }
        let trackID = box.id.flatMap { $0 >= 0 ? $0 : nil }
        if let trackID, !gate.admit(id: trackID, pts: position.pts) { return item(.skippedByInterval) }
        let hadCrop = trackID.map { gate.hasCrop($0) } ?? false
        switch pool.reserveSlot() {
        case .refused(let reason):
            return item(.shed(reason, rect: rect), trackHasResult: hadCrop)
        case .slot(let slot):
            do {
                let cut = try extractor.crop(box, from: picture, into: pool.buffer(slot))
                if let trackID { gate.noteCrop(trackID) }
                var admitted = item(.crop(slot: slot, rect: cut), trackHasResult: hadCrop)
                if keepPictures { admitted.picture = picture }
                return admitted
            } catch {
                pool.release(slot: slot)
                throw error
            }
        }
    }
}
