import Foundation
import PardVideo

/// The pictures' own thread (`pard-pictures`): cuts and writes track snapshots (JPEG) and attribute
/// cards (PNG), and encodes the annotated video, in the order the result stage asks, off the model's
/// thread. Jobs wait in a bounded queue of `capacity`; when it is full, `pard process` waits
/// (`.wait`: nothing lost) and `pard run` drops the job (`.drop`, counted). A job holds a reference to
/// its decoded frame until it is done. A failure is counted and reported (`report`), never fatal here;
/// after the encoder fails, the annotated video gets no more frames.
public final class PictureWriter: @unchecked Sendable {  // queue and counts under `condition`; folders, cutter and encoder used by the writer thread (and by `finish` after it ended)
    public enum Job: Sendable {
        /// `rect` of the frame, as JPEG at `path` (in `snapshots`).
        case snapshot(DecodedFrame, CropRect, path: String)
        /// The card of `rect` of the frame, as PNG at `path` (in `cards`).
        case card(DecodedFrame, CropRect, AttributeCard.Content, path: String)
        /// The frame with its boxes drawn, into the annotated video.
        case frame(DecodedFrame, FrameAnnotation)

        var kind: Kind {
            switch self {
            case .snapshot: return .snapshot
            case .card: return .card
            case .frame: return .frame
            }
        }
    }

    public enum Kind: String, Sendable, CaseIterable {
        case snapshot, card, frame
    }

    public enum WhenFull: Sendable {
        case wait, drop
    }

    /// What happened to one job, as it happens (on the writer thread, or the submitter's for `.dropped`).
    public enum Report: Sendable {
        case written(Kind)
        /// Files deleted to keep the snapshot or card folder under its cap.
        case deleted(Kind, count: Int)
        case failed(Kind, message: String)
        /// Not done: the queue was full (`.drop`).
        case dropped(Kind)
    }

    /// Jobs done and not done, by kind.
    public struct Counts: Sendable, Equatable {
        public var written: [Kind: Int] = [:]
        public var deleted: [Kind: Int] = [:]
        public var failed: [Kind: Int] = [:]
        public var dropped: [Kind: Int] = [:]
    }

    public let snapshots: PictureFolder?
    public let cards: PictureFolder?
    private let encoder: VideoEncoder?
    private let capacity: Int
    private let whenFull: WhenFull
    private let report: (@Sendable (Report) -> Void)?
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var head = 0
    private var closed = false
    private var tally = Counts()
    private var firstFailure: String?
    private var encoderFailed = false
    private let cutter = PictureCutter()
    private var thread: WorkerThread?

    public init(snapshots: PictureFolder?, cards: PictureFolder?, annotate encoder: VideoEncoder?, capacity: Int = 16,
                whenFull: WhenFull, report: (@Sendable (Report) -> Void)? = nil) {
        self.snapshots = snapshots
        self.cards = cards
        self.encoder = encoder
        self.capacity = max(1, capacity)
        self.whenFull = whenFull
        self.report = report
        thread = WorkerThread(name: "pard-pictures") { [self] in
            while let job = next() { perform(job) }
        }
    }

    /// Queues `job`; false when it was dropped (`.drop` and the queue full, or after `finish`).
    @discardableResult
    public func submit(_ job: Job) -> Bool {
        condition.lock()
        while whenFull == .wait && queue.count - head >= capacity && !closed { condition.wait() }
        guard !closed, queue.count - head < capacity else {
            tally.dropped[job.kind, default: 0] += 1
            condition.unlock()
            report?(.dropped(job.kind))
            return false
        }
        queue.append(job)
        condition.broadcast()
        condition.unlock()
        return true
    }

    /// Lets the queue empty, waits for the thread, then completes the annotated video. Returns the counts.
    @discardableResult
    public func finish() -> Counts {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
        thread?.join()
        thread = nil
        if let encoder, !encoderFailed {
            do { try encoder.finish() } catch { failed(.frame, error) }
        }
        return counts
    }

    public var counts: Counts {
        condition.lock()
        defer { condition.unlock() }
        return tally
    }

    /// The first failure's message, nil when everything was written.
    public var failure: String? {
        condition.lock()
        defer { condition.unlock() }
        return firstFailure
    }

    // MARK: - The writer thread

    private func next() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count && !closed { condition.wait() }
        guard head < queue.count else { return nil }
        let job = queue[head]
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        condition.broadcast()
        return job
    }

    private func perform(_ job: Job) {
        do {
            switch job {
            case let .snapshot(frame, rect, path):
                guard let snapshots else { return }
                try store(cutter.cut(frame, rect: rect), at: path, in: snapshots, kind: .snapshot)
            case let .card(frame, rect, content, path):
                guard let cards else { return }
                let crop = try cutter.cut(frame, rect: rect, fitting: AttributeCard.cropWidth, AttributeCard.cropHeight)
                try store(AttributeCard.render(crop: crop, content), at: path, in: cards, kind: .card)
            case let .frame(frame, annotation):
                guard let encoder, !encoderFailed else { return }
                do { try encoder.write(frame) { annotation.draw(on: $0) } } catch {
                    encoderFailed = true
                    throw error
                }
                count(.written(.frame))
            }
        } catch {
            failed(job.kind, error)
        }
    }

    private func store(_ picture: RGBPicture, at path: String, in folder: PictureFolder, kind: Kind) throws {
        let before = folder.deleted
        try folder.store(picture, at: path)
        count(.written(kind))
        if folder.deleted > before { count(.deleted(kind, count: folder.deleted - before)) }
    }

    private func failed(_ kind: Kind, _ error: Error) {
        condition.lock()
        if firstFailure == nil { firstFailure = "\(error)" }
        condition.unlock()
        count(.failed(kind, message: "\(error)"))
    }

    private func count(_ event: Report) {
        condition.lock()
        switch event {
        case .written(let kind): tally.written[kind, default: 0] += 1
        case .deleted(let kind, let n): tally.deleted[kind, default: 0] += n
        case .failed(let kind, _): tally.failed[kind, default: 0] += 1
        case .dropped(let kind): tally.dropped[kind, default: 0] += 1
        }
        condition.unlock()
        report?(event)
    }
}
