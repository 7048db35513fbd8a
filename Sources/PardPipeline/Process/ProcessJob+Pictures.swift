import PardVideo

/// The pictures `pard process` makes besides events (README: What it looks like). All off by default,
/// and then nothing of the picture path runs.
public struct PictureOptions: Sendable, Equatable {
    /// `--snapshots DIR`: each track's best crop, `DIR/<stream>/<track id>-<first frame>.jpg`.
    public var snapshots: String?
    /// `--cards DIR`: each track's attribute card, `DIR/<stream>/<track id>-<first frame>.png`.
    public var cards: String?
    /// `--annotate OUT.mp4`: the video with every box drawn.
    public var annotate: String?

    public init(snapshots: String? = nil, cards: String? = nil, annotate: String? = nil) {
        self.snapshots = snapshots
        self.cards = cards
        self.annotate = annotate
    }

    public var isEmpty: Bool { snapshots == nil && cards == nil && annotate == nil }
}

extension ProcessJob {
    /// Decoded frames that may wait for the model on their way to the annotated video (beside the
    /// writer's own queue of as many).
    static let framesHeld = 16

    /// The picture side of a run: a writer thread that waits rather than drop (nothing is lost in
    /// `process`), its folders and encoder.
    func makePictures(decoder: VideoDecoder) -> ResultPictures {
        let p = options.pictures
        let writer = PictureWriter(snapshots: p.snapshots.map { PictureFolder(root: $0, fileExtension: "jpg") },
                                   cards: p.cards.map { PictureFolder(root: $0, fileExtension: "png") },
                                   annotate: p.annotate.map { VideoEncoder(path: $0, for: decoder) },
                                   capacity: Self.framesHeld, whenFull: .wait)
        return ResultPictures(writer: writer, streams: [options.streamName], attributes: model?.attributes,
                              threshold: options.threshold, annotates: p.annotate != nil)
    }
}
