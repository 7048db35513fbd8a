import Foundation

/// How long a live stream waits before reopening its source: exponential backoff with jitter.
///
/// The n-th consecutive failure (n = 0 for the first) waits `initial * 2^n` seconds, at most `max`,
/// multiplied by a random factor in `1 ± jitter`. Once a connection has delivered frames for
/// `resetAfter` seconds, the count starts again at 0, so that a camera that drops once a day is retried
/// after `initial` seconds, while one that keeps failing soon waits `max` between attempts.
public struct ReconnectBackoff: Hashable, Sendable {
    /// Seconds before the first retry. More than 0. Default 1.
    public var initial: TimeInterval
    /// The longest wait between two attempts, in seconds (at least `initial`). Default 30.
    public var max: TimeInterval
    /// Each wait is multiplied by a random factor within `1 ± jitter` (0...1). Default 0.2.
    public var jitter: Double
    /// Seconds a connection must have been delivering frames for the next failure to count as the
    /// first again. Default 10.
    public var resetAfter: TimeInterval

    public init(initial: TimeInterval = 1, max: TimeInterval = 30, jitter: Double = 0.2, resetAfter: TimeInterval = 10) {
        self.initial = initial
        self.max = max
        self.jitter = jitter
        self.resetAfter = resetAfter
    }

    /// The wait before retry `attempt` (0-based count of consecutive failures) without jitter, seconds.
    public func baseDelay(attempt: Int) -> TimeInterval {
        let exponent = Double(Swift.max(0, Swift.min(attempt, 62)))
        return Swift.min(Swift.max(max, initial), initial * pow(2, exponent))
    }

    /// The wait before retry `attempt`, seconds, with jitter drawn from `random` (a value in 0..<1;
    /// 0.5 means no jitter).
    public func delay(attempt: Int, random: Double = Double.random(in: 0..<1)) -> TimeInterval {
        let spread = Swift.min(1, Swift.max(0, jitter))
        let factor = 1 + spread * (2 * random - 1)
        return Swift.max(0, baseDelay(attempt: attempt) * factor)
    }
}
