import Foundation

/// Creating the listening socket of a detection source: a Unix stream socket at a path, or TCP on a
/// loopback address. Both are non-blocking and close-on-exec.
enum ListeningSocket {
    /// Creates, binds and listens on the Unix socket `path`, mode 0660. A stale socket (nobody
    /// listening) is removed first; a live one, or a file that is not a socket, is an error.
    static func unix(path: String, stream: String) throws -> Int32 {
        let spec = "unix:\(path)"
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw LiveError.socketPathInUse(stream: stream, path: path, reason: "exists and is not a socket; not removing it")
            }
            if isListening(path: path) {
                throw LiveError.socketPathInUse(stream: stream, path: path, reason: "another process is listening on it")
            }
            guard Foundation.unlink(path) == 0 || errno == ENOENT else {
                throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "removing the stale socket", reason: errnoText())
            }
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else {
            throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "socket", reason: errnoText())
        }
        do {
            var address = try unixAddress(path, stream: stream)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0 else {
                throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "bind", reason: errnoText())
            }
            guard chmod(path, 0o660) == 0 else {
                throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "chmod 0660", reason: errnoText())
            }
            guard listen(descriptor, 16) == 0 else {
                throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "listen", reason: errnoText())
            }
        } catch {
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Creates, binds and listens on TCP `host:port` (port 0: any free port). Refuses non-loopback
    /// addresses: detections are not authenticated.
    static func tcp(_ address: ListenAddress, stream: String) throws -> Int32 {
        let spec = "tcp:\(address)"
        guard address.isLoopback else { throw LiveError.notLoopback(stream: stream, address: address.description) }
        let isIPv6 = address.host.contains(":")
        let descriptor = socket(isIPv6 ? AF_INET6 : AF_INET,
                                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else {
            throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "socket", reason: errnoText())
        }
        do {
            var yes: Int32 = 1
            _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            let bound: Int32
            if isIPv6 {
                var socketAddress = sockaddr_in6()
                socketAddress.sin6_family = sa_family_t(AF_INET6)
                socketAddress.sin6_port = address.port.bigEndian
                guard inet_pton(AF_INET6, address.host, &socketAddress.sin6_addr) == 1 else {
                    throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "inet_pton", reason: "not an IPv6 address")
                }
                bound = withUnsafePointer(to: &socketAddress) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                    }
                }
            } else {
                var socketAddress = sockaddr_in()
                socketAddress.sin_family = sa_family_t(AF_INET)
                socketAddress.sin_port = address.port.bigEndian
                guard inet_pton(AF_INET, address.host, &socketAddress.sin_addr) == 1 else {
                    throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "inet_pton", reason: "not an IPv4 address")
                }
                bound = withUnsafePointer(to: &socketAddress) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            guard bound == 0 else {
                throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "bind", reason: errnoText())
            }
            guard listen(descriptor, 16) == 0 else {
                throw LiveError.sourceSetupFailed(stream: stream, source: spec, step: "listen", reason: errnoText())
            }
        } catch {
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// The port a TCP socket is bound to (after binding port 0), nil on error.
    static func boundPort(_ descriptor: Int32) -> UInt16? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) } }
        default:
            return nil
        }
    }

    /// Whether some process accepts connections on the Unix socket `path`.
    private static func isListening(path: String) -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return false }
        defer { close(probe) }
        guard var address = try? unixAddress(path, stream: "") else { return false }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    private static func unixAddress(_ path: String, stream: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw LiveError.sourceSetupFailed(stream: stream, source: "unix:\(path)", step: "bind",
                                              reason: "the path is \(bytes.count) bytes; at most \(capacity - 1) fit")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
            raw[bytes.count] = 0
        }
        return address
    }
}
