import Foundation

/// A dedicated `Thread` running one blocking loop (decoding, socket reads, the model), never Swift's
/// cooperative pool, with a `join` that waits for the loop to return.
///
/// `@unchecked Sendable`: `finished` is only touched under `condition`.
public final class WorkerThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var finished = false

    /// Starts `body` on a new thread named `name` (visible in debuggers and `top -H`, truncated to 15
    /// bytes by Linux).
    public init(name: String, body: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            body()
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    /// Whether the loop has returned.
    public var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    /// Waits until the loop returns, at most `timeout` seconds (nil: forever). True if it returned.
    @discardableResult
    public func join(timeout: TimeInterval? = nil) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date(timeIntervalSinceNow: $0) }
        while !finished {
            if let deadline {
                if !condition.wait(until: deadline) { return finished }
            } else {
                condition.wait()
            }
        }
        return true
    }
}

/// A stop request one thread raises and a worker checks or sleeps on: `sleep(_:)` returns early
/// when `stop()` is called.
///
/// `@unchecked Sendable`: `stopped` is only touched under `condition`.
public final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    public init() {}

    /// Raises the signal and wakes every sleeper.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    public var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Sleeps `seconds` unless stopped first. Returns false when the signal is (or becomes) raised.
    public func sleep(_ seconds: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: max(0, seconds))
        while !stopped {
            if !condition.wait(until: deadline) { break }
        }
        return !stopped
    }
}
