import PardVideo

/// Why a crop was dropped instead of classified.
public enum ShedReason: String, Sendable, CaseIterable {
    /// The pool was full and this crop was the one the policy gave up.
    case queueFull = "queue_full"
    /// Shutdown came before it could be classified (within `shutdown_timeout`).
    case shutdown
    /// Remote inference (`inference: {nats: ...}`): no result came back within `result_timeout` (the
    /// workers were lost and redelivery ran out, or none ran).
    case resultTimeout = "result_timeout"
    /// Remote inference: the worker that took it runs a different model (its identity differs).
    case modelMismatch = "model_mismatch"
    /// Remote inference: it could not be handed to the message server within `result_timeout`.
    case notPublished = "not_published"

    /// The reasons of local inference (`pard process`, `pard run` with `inference: local`).
    public static let local: [ShedReason] = [.queueFull, .shutdown]
}

/// Which crop a full pool gives up for a new one (`pard run`; `pard process` waits instead).
public enum ShedPolicy: String, Hashable, Sendable, CaseIterable {
    /// `oldest_tracked_first`: the oldest crop of a track that already had a crop admitted, else the
    /// oldest crop.
    case oldestTrackedFirst = "oldest_tracked_first"
    /// `oldest_first`: the oldest crop.
    case oldestFirst = "oldest_first"
}

/// One detection box on its way from admission to the result stage, in detection order, or the end of
/// a frame's detections. Items that need no model (a box skipped by the track interval, an invalid box,
/// a shed crop, the end of a frame) travel down the same path as crops, so the result stage sees every
/// box of a stream in order and nothing has to be pulled back from the detection side.
public struct WorkItem: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Cropped: the pixels (`[3, S, S]` floats) are in slot `slot` of the `CropPool`.
        case crop(slot: Int, rect: CropRect)
        /// A tracked box inside its track's interval: seen, not classified.
        case skippedByInterval
        /// No area once rounded and clamped to the frame.
        case invalid
        /// Cropped, then given up before the model ran it.
        case shed(ShedReason, rect: CropRect)
        /// Every box of the frame has been admitted: the stream's clock is at `pts` (track timeouts).
        case frameDone
    }

    /// Index of the stream (0 for `pard process`).
    public let stream: Int
    /// Stream-wide 1-based frame number.
    public let frame: Int
    /// Stream-wide presentation time, seconds.
    public let pts: Double
    /// The detection as given (a zero box for `.frameDone`).
    public let box: Box
    public internal(set) var kind: Kind
    /// For a crop: its track already had a crop admitted (such crops are shed first).
    public let trackHasResult: Bool
    /// Monotonic seconds when it entered the pool.
    var enqueued = 0.0
    /// The decoded frame, only when pictures are made (`ResultPictures`): on a crop when snapshots or
    /// cards want it (`BoxAdmission.keepPictures`), on a `.frameDone` for the annotated video. nil
    /// otherwise, so the default path holds no frame.
    public internal(set) var picture: DecodedFrame?

    public init(stream: Int, frame: Int, pts: Double, box: Box, kind: Kind, trackHasResult: Bool = false) {
        self.stream = stream
        self.frame = frame
        self.pts = pts
        self.box = box
        self.kind = kind
        self.trackHasResult = trackHasResult
    }

    /// The end of frame `frame`'s detections; `picture`: the frame itself, for the annotated video.
    public static func frameDone(stream: Int, frame: Int, pts: Double, picture: DecodedFrame? = nil) -> WorkItem {
        var item = WorkItem(stream: stream, frame: frame, pts: pts, box: Box(x: 0, y: 0, w: 0, h: 0), kind: .frameDone)
        item.picture = picture
        return item
    }

    /// The box's track id, nil when untracked.
    public var trackID: Int? { box.id.flatMap { $0 >= 0 ? $0 : nil } }

    /// A `.frameDone` carrying its picture (counted against `CropPool.pictureLimit`).
    var holdsFramePicture: Bool {
        if case .frameDone = kind { return picture != nil }
        return false
    }

    /// The pool slot holding the pixels, for a crop.
    var slot: Int? {
        if case .crop(let slot, _) = kind { return slot }
        return nil
    }
}
