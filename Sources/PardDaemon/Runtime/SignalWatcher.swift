import Dispatch
import Foundation

/// SIGTERM/SIGINT (stop) and SIGHUP (reopen the event file), turned into flags the main loop polls.
public final class SignalWatcher: @unchecked Sendable {  // flags under `lock`
    private let lock = NSLock()
    private var stopRequested = false
    private var reopenRequested = false
    private var sources: [DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "pard.signals")

    public init() {
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)  // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [weak self] in self?.received(sig) }
            source.resume()
            sources.append(source)
        }
    }

    private func received(_ sig: Int32) {
        lock.lock()
        if sig == SIGHUP { reopenRequested = true } else { stopRequested = true }
        lock.unlock()
    }

    /// A stop was asked for (stays true).
    public var shouldStop: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopRequested
    }

    /// A reopen was asked for since the last call.
    public func takeReopen() -> Bool {
        lock.lock(); defer { lock.unlock() }
        let r = reopenRequested
        reopenRequested = false
        return r
    }
}
