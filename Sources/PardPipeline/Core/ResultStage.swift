import PARAttributes
import PardVideo

/// The result side of the pipeline, one for `pard process` and `pard run`: takes the work items of every
/// stream in order with the logits of their crops, and makes the events. It owns each stream's
/// `TrackBook`: every box of a track counts as seen, classified ones add their probabilities, and a track
/// unseen for its timeout of stream time (or still open at the end) gets its summary. Runs on one thread.
public final class ResultStage {
    /// A stream as the result stage sees it.
    public struct Stream: Sendable {
        /// The events' `stream` field.
        public let name: String
        /// Seconds of stream time a track may go unseen before its summary.
        public let trackTimeout: Double

        public init(name: String, trackTimeout: Double) {
            self.name = name
            self.trackTimeout = trackTimeout
        }
    }

    public let streams: [Stream]
    /// nil without a model (`--no-model`): boxes are counted, no events made.
    public let attributes: AttributeSet?
    /// Probability at or over which an attribute is a label.
    public let threshold: Float
    public let sink: EventSink
    public let observer: PipelineObserver
    /// Snapshots, cards, the annotated video (nil: none, the default: nothing is held or drawn).
    public var pictures: ResultPictures?
    private var books: [TrackBook]

    public init(streams: [Stream], attributes: AttributeSet?, threshold: Float, sink: EventSink,
                observer: PipelineObserver) {
        (self.streams, self.attributes, self.threshold) = (streams, attributes, threshold)
        (self.sink, self.observer) = (sink, observer)
        books = streams.map { TrackBook(timeout: $0.trackTimeout) }
    }

    /// Accounts for `items` in order. `logits` is `[crops, A]`: row i for the i-th `.crop` item of
    /// `items` (nil without a model).
    public func handle(_ items: [WorkItem], logits: UnsafePointer<Float>?) {
        var row = 0
        for item in items {
            switch item.kind {
            case .crop(_, let rect):
                var probabilities: [Float]?
                var labels: [String] = []
                if let logits, let attributes {
                    let a = attributes.count
                    let result = AttributeResult(logits: Array(UnsafeBufferPointer(start: logits + row * a, count: a)),
                                                 attributes: attributes, threshold: threshold)
                    emit(.attributes, stream: item.stream,
                         Events.attributes(stream: streams[item.stream].name, frame: item.frame, pts: item.pts, box: item.box,
                                           rect: rect, result: result, set: attributes))
                    probabilities = result.probabilities
                    if pictures != nil { labels = result.labelNames(attributes) }
                }
                pictures?.classified(item, rect: rect, labels: labels)
                row += 1
                observer.classified(stream: item.stream)
                see(item, probabilities: probabilities)
            case .skippedByInterval:
                observer.skippedByInterval(stream: item.stream)
                see(item, probabilities: nil)
                pictures?.seen(item)
            case .invalid:
                observer.invalid(stream: item.stream)
                pictures?.seen(item)
            case .shed(let reason, _):
                observer.shed(stream: item.stream, reason: reason)
                see(item, probabilities: nil)
                pictures?.seen(item)
            case .frameDone:
                for track in books[item.stream].expire(at: item.pts) { summarise(track, stream: item.stream) }
                pictures?.frameDone(item)
                observer.frameDone(stream: item.stream, frame: item.frame, pts: item.pts)
            }
        }
    }

    /// The summaries of every open track (end of input, shutdown), stream by stream.
    public func closeAllTracks() {
        for stream in streams.indices {
            for track in books[stream].closeAll() { summarise(track, stream: stream) }
        }
    }

    /// Tracks open now, over all streams.
    public var openTracks: Int { books.reduce(0) { $0 + $1.open.count } }

    private func see(_ item: WorkItem, probabilities: [Float]?) {
        guard let id = item.trackID else { return }
        books[item.stream].observe(id: id, frame: item.frame, pts: item.pts, probabilities: probabilities)
    }

    private func summarise(_ track: TrackBook.Track, stream: Int) {
        let snapshot = pictures?.trackEnded(track, stream: stream)
        guard let attributes else { return }
        emit(.track, stream: stream, Events.track(stream: streams[stream].name, track, set: attributes, threshold: threshold,
                                                  snapshot: snapshot))
    }

    private func emit(_ type: EventType, stream: Int, _ line: String) {
        sink.emit(Event(type: type, stream: streams[stream].name, line: line))
        observer.emitted(stream: stream, type: type)
    }
}
