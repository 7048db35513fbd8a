import PARAttributes
import PardVideo

/// The pictures the result stage makes besides events, for `pard process` and `pard run` alike; it
/// sees every item the `ResultStage` handles, on its thread, and hands the work to a `PictureWriter`.
///
/// - Snapshots and cards: each open track keeps its best classified observation so far, a reference
///   to that decoded frame and the box's rect (one frame per open track at most, never more). The best
///   is the largest rect (pixels inside the frame), then the highest detector score (a box without one
///   ranks lowest), then the earliest. When the track ends, its snapshot is that rect grown by
///   `margin` (10 %) of its width and height on each side, clamped to the frame, cut at full
///   resolution as JPEG `<snapshots>/<stream>/<track id>-<first frame>.jpg`; its card
///   (`AttributeCard`, with the track's mean probabilities) the same crop as PNG in `<cards>/...png`.
///   The track event gains `"snapshot"`, the snapshot's path, when one was queued.
/// - Annotation: the boxes of each frame with their labels (a box classified now: its own; a tracked
///   box in its interval or shed: its track's last ones), sent with the frame when its `.frameDone`
///   arrives carrying the picture.
public final class ResultPictures {
    public let writer: PictureWriter
    /// Whether frames' boxes are collected for the annotated video.
    public let annotates: Bool
    /// Fraction of the box added on each side of a snapshot.
    public let margin: Double
    private let names: [String]
    private let attributes: AttributeSet?
    private let threshold: Float

    private struct TrackKey: Hashable {
        let stream: Int
        let id: Int
    }

    private struct Best {
        let picture: DecodedFrame
        let rect: CropRect
        let score: Double
    }

    private var best: [TrackKey: Best] = [:]
    private var lastLabels: [TrackKey: [String]] = [:]
    /// A box of the frame in progress, per stream.
    private struct Pending {
        let box: Box
        let rect: CropRect?
        let track: Int?
        let labels: [String]
    }

    private var pending: [[Pending]]

    /// `streams`: the streams' names (the events' `stream` field), by index.
    public init(writer: PictureWriter, streams: [String], attributes: AttributeSet?, threshold: Float, annotates: Bool,
                margin: Double = 0.1) {
        self.writer = writer
        self.annotates = annotates
        self.margin = margin
        names = streams
        self.attributes = attributes
        self.threshold = threshold
        pending = streams.map { _ in [] }
    }

    /// Whether crops must carry their frame (`BoxAdmission.keepPictures`).
    public var keepsBest: Bool { writer.snapshots != nil || writer.cards != nil }

    /// A crop went through the model (`labels`: its labels; none without a model).
    func classified(_ item: WorkItem, rect: CropRect, labels: [String]) {
        if let id = item.trackID {
            let key = TrackKey(stream: item.stream, id: id)
            if keepsBest, let picture = item.picture { consider(key, picture: picture, rect: rect, score: item.box.score) }
            if annotates { lastLabels[key] = labels }
        }
        if annotates { pending[item.stream].append(Pending(box: item.box, rect: rect, track: item.trackID, labels: labels)) }
    }

    /// A box that was not classified now (skipped by the interval, shed, invalid).
    func seen(_ item: WorkItem) {
        guard annotates else { return }
        let labels = item.trackID.flatMap { lastLabels[TrackKey(stream: item.stream, id: $0)] } ?? []
        pending[item.stream].append(Pending(box: item.box, rect: nil, track: item.trackID, labels: labels))
    }

    /// Every box of the frame is accounted for: the annotated frame goes to the writer.
    func frameDone(_ item: WorkItem) {
        guard annotates else { return }
        let boxes = pending[item.stream]
        pending[item.stream].removeAll(keepingCapacity: true)
        guard let picture = item.picture else { return }
        // A box not cut has its rect made now, by the same rule; one with no area is not drawn.
        let items = boxes.compactMap { b in
            (b.rect ?? CropRect(box: b.box, frameWidth: picture.width, frameHeight: picture.height))
                .map { FrameAnnotation.Item(rect: $0, track: b.track, labels: b.labels) }
        }
        writer.submit(.frame(picture, FrameAnnotation(items: items)))
    }

    /// Track `track` of stream `stream` ended: its snapshot and card are queued. Returns the
    /// snapshot's path, nil when there is none (no classified observation with a picture, no
    /// snapshot folder, or the writer dropped it).
    func trackEnded(_ track: TrackBook.Track, stream: Int) -> String? {
        let key = TrackKey(stream: stream, id: track.id)
        lastLabels[key] = nil
        guard let chosen = best.removeValue(forKey: key) else { return nil }
        let rect = chosen.rect.expanded(by: margin, within: chosen.picture.width, chosen.picture.height)
        var path: String?
        if let snapshots = writer.snapshots {
            let file = snapshots.path(stream: names[stream], track: track.id, firstFrame: track.firstFrame)
            if writer.submit(.snapshot(chosen.picture, rect, path: file)) { path = file }
        }
        if let cards = writer.cards, let attributes, track.observations > 0 {
            let mean = track.sums.map { Float($0 / Double(track.observations)) }
            let title = "\(names[stream]) track \(track.id), frames \(track.firstFrame)-\(track.lastFrame), \(track.observations) obs."
            let content = AttributeCard.Content(title: title, set: attributes, probabilities: mean, threshold: threshold)
            writer.submit(.card(chosen.picture, rect, content,
                                path: cards.path(stream: names[stream], track: track.id, firstFrame: track.firstFrame)))
        }
        return path
    }

    /// Keeps `picture` as the track's best when its rect ranks higher (area, then score, then earlier).
    private func consider(_ key: TrackKey, picture: DecodedFrame, rect: CropRect, score: Double?) {
        let candidate = Best(picture: picture, rect: rect, score: score ?? -.infinity)
        guard let current = best[key] else { best[key] = candidate; return }
        let area = rect.width * rect.height, currentArea = current.rect.width * current.rect.height
        if area > currentArea || (area == currentArea && candidate.score > current.score) { best[key] = candidate }
    }
}
