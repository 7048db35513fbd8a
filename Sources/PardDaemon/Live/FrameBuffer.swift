import Foundation
import PardVideo

/// The last `seconds` of one stream's decoded frames, for detections to be matched against by frame
/// number or by pts. Thread-safe: the stream's thread `append`s, any thread looks up.
///
/// Frames are dropped as they age out (older than the newest pts minus `seconds`, or beyond
/// `maximumFrames`), so memory stays flat: at most `seconds` of pictures (a 720p YUV frame is about
/// 1.4 MB) are referenced at any time.
///
/// `@unchecked Sendable`: `frames` and `closed` are only touched under `condition`.
public final class FrameBuffer: @unchecked Sendable {
    /// Where a requested frame is relative to what the buffer holds.
    public enum Lookup: Sendable, CustomStringConvertible {
        /// Held.
        case found(LiveFrame)
        /// Older than the oldest frame held: aged out (count it as a late detection).
        case late
        /// Newer than the newest frame held: not decoded yet (the caller may `waitFor` it).
        case notYet
        /// Within the span held, but no frame matches (lost in transit, or no pts within tolerance).
        case missing

        /// `found frame 12 (pts 0.48)`, `late`, `not yet`, `missing`: short, for logs.
        public var description: String {
            switch self {
            case .found(let frame): return "found frame \(frame.number) (pts \(frame.pts))"
            case .late: return "late"
            case .notYet: return "not yet"
            case .missing: return "missing"
            }
        }
    }

    /// Seconds of video held (by pts).
    public let seconds: TimeInterval
    /// A hard cap on frames held, whatever the pts say (a stream with broken timestamps).
    public let maximumFrames: Int

    private let condition = NSCondition()
    /// In arrival order (numbers increasing).
    private var frames: [LiveFrame] = []
    private var head = 0
    private var closed = false

    /// - Parameters:
    ///   - seconds: video to keep, seconds of pts (more than 0).
    ///   - maximumFrames: cap on frames held; default `seconds` at 120 frames per second.
    public init(seconds: TimeInterval, maximumFrames: Int? = nil) {
        self.seconds = max(0.001, seconds)
        self.maximumFrames = max(1, maximumFrames ?? Int((max(0.001, seconds) * 120).rounded(.up)))
    }

    /// Frames held now.
    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return frames.count - head
    }

    /// The numbers of the oldest and newest frames held, nil when empty.
    public var span: (oldest: Int, newest: Int)? {
        condition.lock()
        defer { condition.unlock() }
        guard let first = held.first, let last = held.last else { return nil }
        return (first.number, last.number)
    }

    /// Seconds between the newest frame held and its predecessor, as its source says; nil when empty.
    public var newestInterval: Double? {
        condition.lock()
        defer { condition.unlock() }
        return held.last?.interval
    }

    /// Adds the newest frame (numbers must increase) and drops those that aged out; wakes waiters.
    public func append(_ frame: LiveFrame) {
        condition.lock()
        frames.append(frame)
        let oldestKept = frame.pts - seconds
        while head < frames.count - 1, frames.count - head > maximumFrames || frames[head].pts < oldestKept {
            head += 1
        }
        // Compact now and then, so that dropped frames are released and the array does not grow.
        if head >= 64 && head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Drops every frame (the stream stopped) and wakes waiters, who get `.late` or `.notYet`.
    public func close() {
        condition.lock()
        closed = true
        frames.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
    }

    /// The frame with stream-wide number `number` (`LiveFrame.number`).
    public func lookup(frame number: Int) -> Lookup {
        condition.lock()
        defer { condition.unlock() }
        return find(number: number)
    }

    /// The frame whose window holds `pts`: `frame.pts - tolerance < pts <= frame.pts + tolerance` (`FrameKey.within`).
    public func lookup(pts: Double, tolerance: Double) -> Lookup {
        condition.lock()
        defer { condition.unlock() }
        return find(pts: pts, tolerance: tolerance)
    }

    /// `lookup(frame:)`, waiting up to `timeout` seconds while the answer is `.notYet`. Blocks the
    /// calling thread: call it from a thread of your own, not from Swift's cooperative pool.
    public func waitFor(frame number: Int, timeout: TimeInterval) -> Lookup {
        wait(timeout: timeout) { $0.find(number: number) }
    }

    /// `lookup(pts:tolerance:)`, waiting up to `timeout` seconds while the answer is `.notYet`.
    /// Blocks the calling thread, as `waitFor(frame:timeout:)`.
    public func waitFor(pts: Double, tolerance: Double, timeout: TimeInterval) -> Lookup {
        wait(timeout: timeout) { $0.find(pts: pts, tolerance: tolerance) }
    }

    // MARK: - Under the lock

    private var held: ArraySlice<LiveFrame> { frames[head...] }

    private func wait(timeout: TimeInterval, _ find: (FrameBuffer) -> Lookup) -> Lookup {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: max(0, timeout))
        while true {
            let result = find(self)
            guard case .notYet = result, !closed else { return result }
            if !condition.wait(until: deadline) { return find(self) }
        }
    }

    private func find(number: Int) -> Lookup {
        let view = held
        guard let first = view.first, let last = view.last else { return .notYet }
        if number < first.number { return .late }
        if number > last.number { return .notYet }
        // Numbers increase; usually consecutive, so try the direct index first.
        let guess = view.startIndex + (number - first.number)
        if guess < view.endIndex, view[guess].number == number { return .found(view[guess]) }
        var low = view.startIndex, high = view.endIndex - 1
        while low <= high {
            let middle = (low + high) / 2
            let candidate = view[middle].number
            if candidate == number { return .found(view[middle]) }
            if candidate < number { low = middle + 1 } else { high = middle - 1 }
        }
        return .missing
    }

    private func find(pts: Double, tolerance: Double) -> Lookup {
        let view = held
        guard let first = view.first, let last = view.last else { return .notYet }
        // The frame whose window (`FrameKey.within`) holds the time; pts increase along the buffer.
        if let frame = view.first(where: { FrameKey.within(pts, of: $0.pts, tolerance: tolerance) }) { return .found(frame) }
        if pts < first.pts { return .late }
        if pts > last.pts { return .notYet }
        return .missing
    }
}
