import Foundation
import PardVideo

/// Runs blocking `body` (a model loop, joining threads) on a thread of its own and waits for it without
/// holding one of Swift's cooperative threads.
func onOwnThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        _ = WorkerThread(name: name) { continuation.resume(returning: body()) }
    }
}

/// When a loop on its own thread last turned, for systemd's watchdog (any thread).
final class Heartbeat: @unchecked Sendable {  // under `lock`
    private let lock = NSLock()
    private var last = Date()

    /// The loop turned now.
    func beat() { lock.lock(); last = Date(); lock.unlock() }

    /// Whether the loop has turned within `seconds`.
    func isAlive(within seconds: Double) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return Date().timeIntervalSince(last) <= seconds
    }
}
