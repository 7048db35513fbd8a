import Foundation
import PardVideo

/// One stream's decoding thread: opens an RTSP URL or a file, delivers every decoded frame, and keeps
/// reopening the source with backoff when it fails, until `stop()`.
///
/// - `onFrame` receives every frame, on the stream's own thread, in order; it should hand the frame on
///   quickly (into a `FrameBuffer`, say): while it runs, the stream does not read the network.
/// - `onState` receives each state change once (see `LiveStreamState`), on the stream's thread.
/// - `onConnectFailure` receives the reason of every attempt to open the source that failed (refused,
///   unreachable, no answer within twice the timeout, not a stream), on the stream's thread; `down` is
///   reported once per outage, this once per attempt.
/// - A stalled source (no frame within `timeout`) is abandoned through FFmpeg's interrupt callback; a
///   closed connection ends at once. Both count as `down` and lead to a reconnection.
/// - Nothing one stream does touches another: each has its own thread, decoder and counters.
///
/// `@unchecked Sendable`: mutable state (`statistics`, `worker`) is under `lock`; the rest is immutable.
public final class LiveStream: @unchecked Sendable {
    /// The options the stream was made with.
    public let options: LiveStreamOptions

    private let onFrame: @Sendable (LiveFrame) -> Void
    private let onState: @Sendable (LiveStreamState) -> Void
    private let onConnectFailure: @Sendable (String) -> Void
    private let lock = NSLock()
    private var stats = LiveStreamStatistics()
    private var reportedAny = false
    private var worker: WorkerThread?
    private let stopSignal = StopSignal()
    private let watchdog: StallWatchdog

    /// A stream that does nothing until `start()`.
    public init(options: LiveStreamOptions, onFrame: @escaping @Sendable (LiveFrame) -> Void,
                onState: @escaping @Sendable (LiveStreamState) -> Void = { _ in },
                onConnectFailure: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options
        self.onFrame = onFrame
        self.onState = onState
        self.onConnectFailure = onConnectFailure
        watchdog = StallWatchdog(stop: stopSignal)
    }

    /// The stream's name.
    public var name: String { options.name }

    /// A snapshot of the counters and state.
    public var statistics: LiveStreamStatistics {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }

    /// Starts the decoding thread (`pard-<name>`); reports `connecting` first. Calling it again does
    /// nothing.
    public func start() {
        lock.lock()
        defer { lock.unlock() }
        guard worker == nil else { return }
        worker = WorkerThread(name: "pard-\(options.name)") { [self] in run() }
    }

    /// Asks the thread to end: a blocked FFmpeg call is interrupted, a backoff wait or realtime pause
    /// cut short. Returns at once; `join` waits. The last state reported is `stopped` (or `finished`).
    public func stop() {
        stopSignal.stop()
    }

    /// Waits for the thread to end, at most `timeout` seconds (nil: forever). True if it ended (or
    /// was never started).
    @discardableResult
    public func join(timeout: TimeInterval? = nil) -> Bool {
        lock.lock()
        let current = worker
        lock.unlock()
        return current?.join(timeout: timeout) ?? true
    }

    // MARK: - The thread

    /// How one connection ended.
    private enum Ending {
        /// `stop()` was called.
        case stopped
        /// A file without `loop` ended cleanly.
        case finished
        /// The source failed; `upFor` is how long it had been delivering frames (nil: never up).
        case failed(reason: String, upFor: TimeInterval?)
    }

    /// Stream-wide numbering and counts carried from one connection or pass to the next.
    private struct Progress {
        var numbering = FrameNumbering()
        var connection = 0
        var pass = 1
    }

    private func run() {
        report(.connecting)
        var progress = Progress()
        var attempt = 0
        while true {
            let ending = runConnection(&progress)
            switch ending {
            case .stopped:
                report(.stopped)
                return
            case .finished:
                report(.finished)
                return
            case .failed(let reason, let upFor):
                update { $0.failures += 1; $0.lastError = reason }
                if stopSignal.isStopped {
                    report(.stopped)
                    return
                }
                if let upFor, upFor >= options.backoff.resetAfter { attempt = 0 }
                report(.down(reason: reason))
                let wait = options.backoff.delay(attempt: attempt)
                attempt += 1
                if !stopSignal.sleep(wait) {
                    report(.stopped)
                    return
                }
            }
        }
    }

    /// Opens the source and delivers frames until it fails, ends or the stream is stopped; a looping
    /// file is reopened here without leaving the `up` state.
    private func runConnection(_ progress: inout Progress) -> Ending {
        var upSince: ContinuousClock.Instant?
        var pacer = options.realtime && !options.isRTSP ? FramePacer() : nil
        while true {
            if stopSignal.isStopped { return .stopped }
            watchdog.reset()
            let decoder: VideoDecoder
            do {
                watchdog.arm(seconds: 2 * options.timeout)
                defer { watchdog.disarm() }
                decoder = try VideoDecoder(url: options.url, options: decoderOptions())
            } catch {
                let ending = failure(error, upSince: upSince)
                if case .failed(let reason, _) = ending {
                    update { $0.connectFailures += 1 }
                    onConnectFailure(reason)
                }
                return ending
            }
            progress.numbering.beginSegment(frameRate: decoder.frameRate)
            var passFrames = 0
            var skipped = 0
            var failed: Error?
            while true {
                var next: DecodedFrame?
                do {
                    watchdog.arm(seconds: options.timeout)
                    defer { watchdog.disarm() }
                    next = try decoder.nextFrame()
                } catch {
                    failed = error
                }
                if decoder.skippedPackets != skipped {
                    let added = decoder.skippedPackets - skipped
                    skipped = decoder.skippedPackets
                    update { $0.corruptPackets += added }
                }
                if stopSignal.isStopped { return .stopped }
                let ready: [FrameNumbering.Numbered]
                if let decoded = next {
                    ready = progress.numbering.accept(decoded)
                } else {
                    ready = progress.numbering.flush()
                }
                for numbered in ready {
                    if upSince == nil {
                        upSince = .now
                        progress.connection += 1
                        let isReconnect = progress.connection > 1
                        update {
                            $0.connections += 1
                            if isReconnect { $0.reconnects += 1 }
                        }
                        report(.up)
                    }
                    passFrames += 1
                    let frame = LiveFrame(number: numbered.number, pts: numbered.pts, connection: progress.connection,
                                          pass: progress.pass, decodedAt: .now, decoded: numbered.decoded,
                                          interval: progress.numbering.interval)
                    if var current = pacer {
                        let keepGoing = current.wait(untilPTS: frame.pts, stop: stopSignal)
                        pacer = current
                        if !keepGoing { return .stopped }
                    }
                    onFrame(frame)
                    update { $0.framesDecoded = frame.number }
                }
                if let failed { return failure(failed, upSince: upSince) }
                if next == nil { break }
            }
            // The decoder ended cleanly.
            if options.isRTSP {
                return .failed(reason: "the server ended the stream", upFor: upSince.map(seconds(since:)))
            }
            guard options.loop else { return .finished }
            guard passFrames > 0 else {
                return .failed(reason: "the file holds no frames", upFor: upSince.map(seconds(since:)))
            }
            progress.pass += 1
            update { $0.loops += 1 }
        }
    }

    /// FFmpeg options for this source: RTSP transport and socket timeout, the stall watchdog as
    /// interrupt callback, corrupt packets skipped (a live stream goes on after packet loss).
    private func decoderOptions() -> DecoderOptions {
        var format: [String: String] = [:]
        if options.isRTSP {
            format["rtsp_transport"] = options.transport.rawValue
            format["timeout"] = String(Int64(max(0.001, options.timeout) * 1_000_000))
        }
        let watchdog = self.watchdog
        return DecoderOptions(threads: options.decoderThreads, formatOptions: format,
                              interrupt: { watchdog.check() }, corruptData: .skip)
    }

    /// The `Ending` for a decoder error: stopped, a stall, or FFmpeg's message without credentials.
    private func failure(_ error: Error, upSince: ContinuousClock.Instant?) -> Ending {
        if stopSignal.isStopped { return .stopped }
        let reason: String
        if let limit = watchdog.firedLimit {
            reason = "no data for \(Self.formatSeconds(limit)) s (timeout)"
        } else {
            reason = URLRedaction.scrub(String(describing: error), url: options.url)
        }
        return .failed(reason: reason, upFor: upSince.map(seconds(since:)))
    }

    private func seconds(since instant: ContinuousClock.Instant) -> TimeInterval {
        let elapsed = ContinuousClock.now - instant
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    private static func formatSeconds(_ value: TimeInterval) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    /// Sets the state and calls `onState`, unless the state is unchanged: the first `connecting` is
    /// reported, and `down` once per outage however many attempts fail.
    private func report(_ state: LiveStreamState) {
        lock.lock()
        var changed = !reportedAny || stats.state != state
        if case .down = stats.state, case .down = state { changed = false }
        if changed {
            stats.state = state
            reportedAny = true
        }
        lock.unlock()
        if changed { onState(state) }
    }

    private func update(_ change: (inout LiveStreamStatistics) -> Void) {
        lock.lock()
        change(&stats)
        lock.unlock()
    }
}
