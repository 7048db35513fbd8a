import Foundation
import ServiceLifecycle

/// systemd's side (`Type=notify`): READY=1 once every other service has started, STATUS= every 5 s
/// (streams up, crops/s, queue), WATCHDOG=1 at half the watchdog interval while the inference loop turns,
/// STOPPING=1 when graceful shutdown begins (this service is the last started, so the first stopped).
/// Without `$NOTIFY_SOCKET` it only waits for shutdown.
struct SystemdService: Service {
    let notifier: SystemdNotifier?
    /// The STATUS= text.
    let status: @Sendable () -> String
    /// Whether the inference loop has turned within the given seconds.
    let alive: @Sendable (Double) -> Bool

    func run() async throws {
        guard let notifier else {
            try? await gracefulShutdown()
            return
        }
        notifier.notify("READY=1")
        let tick = min(notifier.watchdogInterval ?? 1, 1)
        var lastStatus = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let interval = notifier.watchdogInterval, alive(2 * interval) { notifier.notify("WATCHDOG=1") }
            if Date().timeIntervalSince(lastStatus) >= 5 {
                notifier.notify("STATUS=\(status())")
                lastStatus = Date()
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(tick)) }
        }
        notifier.notify("STOPPING=1")
    }
}
