// DetectionReceiver's socket sources (Unix and TCP): the poll loop, accepting and reading producers, the socket file.
import Foundation
import PardVideo

extension DetectionReceiver {
    /// One producer's connection.
    private struct Connection {
        let descriptor: Int32
        let id: Int
        var splitter: LineSplitter
    }

    func serveSockets(listener: Int32, wake: Int32) {
        var connections: [Connection] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        defer { for connection in connections { close(connection.descriptor) } }
        while true {
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            descriptors += connections.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[0].revents != 0 { return }
            if descriptors[1].revents != 0 {
                acceptAll(listener: listener, into: &connections)
            }
            // Serve the connections polled (new ones are at the end and were not polled yet).
            var closed: Set<Int32> = []
            for entry in descriptors.dropFirst(2) where entry.revents != 0 {
                guard let index = connections.firstIndex(where: { $0.descriptor == entry.fd }) else { continue }
                if !readAvailable(&connections[index], buffer: &buffer) {
                    if let last = connections[index].splitter.finish() { handle(last, connection: connections[index].id) }
                    close(entry.fd)
                    closed.insert(entry.fd)
                }
            }
            if !closed.isEmpty {
                connections.removeAll { closed.contains($0.descriptor) }
                setOpenConnections(connections.count)
            }
        }
    }

    private func acceptAll(listener: Int32, into connections: inout [Connection]) {
        while true {
            let descriptor = accept(listener, nil, nil)
            if descriptor < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // EAGAIN: all accepted
            }
            Self.makeNonBlocking(descriptor)
            if connections.count >= maximumConnections {
                close(descriptor)
                lock.lock()
                stats.refusedConnections += 1
                lock.unlock()
                continue
            }
            lock.lock()
            stats.connections += 1
            let id = stats.connections
            stats.openConnections = connections.count + 1
            lock.unlock()
            connections.append(Connection(descriptor: descriptor, id: id, splitter: LineSplitter(maximumBytes: maximumLineBytes)))
        }
    }

    /// Reads what is available; false when the connection ended (end of file or error).
    private func readAvailable(_ connection: inout Connection, buffer: inout [UInt8]) -> Bool {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(connection.descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                let pieces = buffer.withUnsafeBytes { connection.splitter.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                for piece in pieces { handle(piece, connection: connection.id) }
                if count < buffer.count { return true }
                continue
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK
        }
    }

    // MARK: - The socket file

    var socketPath: String {
        if case .unix(let path) = source { return path }
        return ""
    }

    static func identity(ofPath path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard !path.isEmpty, lstat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Removes the socket file we created, unless someone replaced it since.
    func removeSocketFile(ifStill identity: (device: UInt64, inode: UInt64)?) {
        guard let identity, let current = Self.identity(ofPath: socketPath),
              current.device == identity.device, current.inode == identity.inode else { return }
        _ = Foundation.unlink(socketPath)
    }
}
