import PardVideo

/// Runs blocking `body` (a model loop, joining threads) on a thread of its own and waits for it without
/// holding one of Swift's cooperative threads.
func onOwnThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        _ = WorkerThread(name: name) { continuation.resume(returning: body()) }
    }
}
