import Foundation

/// systemd's notification protocol (`sd_notify`): datagrams such as `READY=1`, `STATUS=...`,
/// `WATCHDOG=1`, `STOPPING=1` to the socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the
/// abstract namespace). Does nothing when the variable is unset (not started by systemd).
public final class SystemdNotifier: @unchecked Sendable {  // the socket is only written; send is thread-safe
    private let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t
    /// Interval at which to send `WATCHDOG=1` (half of `$WATCHDOG_USEC`), or nil.
    public let watchdogInterval: Double?

    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return nil }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            if bytes.first == UInt8(ascii: "@") { raw[0] = 0 }  // abstract namespace
        }
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == UInt8(ascii: "@") ? 0 : 1))
        if let usec = environment["WATCHDOG_USEC"].flatMap(Double.init), usec > 0,
           environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true {
            watchdogInterval = usec / 1e6 / 2
        } else {
            watchdogInterval = nil
        }
    }

    deinit { close(fd) }

    /// Sends one notification, e.g. `"READY=1"` or `"STATUS=2 of 2 streams up"`.
    public func notify(_ message: String) {
        var a = address
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, addressLength) }
            }
        }
    }
}
