import PardVideo
import Foundation

/// Decides when FFmpeg's interrupt callback aborts a blocked call: when the stream is stopping, or when
/// the call has been running longer than its deadline (a server that stopped sending without closing
/// the connection, e.g. frozen with SIGSTOP, or a network that dropped silently).
///
/// The decoding thread `arm`s it before each FFmpeg call and `disarm`s it after; FFmpeg calls `check`
/// from the same thread while it waits (about every 100 ms).
///
/// `@unchecked Sendable`: all state is under `lock`.
final class StallWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var deadline: ContinuousClock.Instant?
    private var limit: TimeInterval = 0
    private var fired = false
    private let stop: StopSignal

    init(stop: StopSignal) { self.stop = stop }

    /// The next FFmpeg call may block for at most `seconds`.
    func arm(seconds: TimeInterval) {
        lock.lock()
        deadline = .now + .milliseconds(Int64(seconds * 1000))
        limit = seconds
        lock.unlock()
    }

    /// Forgets an earlier stall (before opening the source again). A stall stays recorded until then,
    /// because the decoder first delivers the frames it still holds and throws only afterwards.
    func reset() {
        lock.lock()
        fired = false
        deadline = nil
        lock.unlock()
    }

    /// The FFmpeg call returned.
    func disarm() {
        lock.lock()
        deadline = nil
        lock.unlock()
    }

    /// The interrupt callback: true when stopping or past the deadline.
    func check() -> Bool {
        if stop.isStopped { return true }
        lock.lock()
        defer { lock.unlock() }
        if fired { return true }
        guard let deadline, ContinuousClock.now >= deadline else { return false }
        fired = true
        return true
    }

    /// Seconds of the deadline that fired, nil if the last interruption was not a stall.
    var firedLimit: TimeInterval? {
        lock.lock()
        defer { lock.unlock() }
        return fired ? limit : nil
    }
}
