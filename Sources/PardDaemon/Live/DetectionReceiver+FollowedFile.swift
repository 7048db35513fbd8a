// DetectionReceiver's file and FIFO sources, followed like `tail -f`.
import Foundation
import PardVideo

extension DetectionReceiver {
    func follow(path: String, wake: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var descriptor: Int32 = -1
        var isFIFO = false
        var identity: (device: UInt64, inode: UInt64)?
        var offset: Int64 = 0
        var splitter = LineSplitter(maximumBytes: maximumLineBytes)
        var session = 0
        defer { if descriptor >= 0 { close(descriptor) } }
        while true {
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                if descriptor >= 0 {
                    var info = stat()
                    fstat(descriptor, &info)
                    isFIFO = (info.st_mode & S_IFMT) == S_IFIFO
                    identity = (UInt64(info.st_dev), UInt64(info.st_ino))
                    offset = 0
                    splitter = LineSplitter(maximumBytes: maximumLineBytes)
                    if !isFIFO { session = beginSession() }
                }
            }
            // FIFO: wait for data or the writer's close. File: look again in a quarter of a second.
            var descriptors = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            if descriptor >= 0 && isFIFO { descriptors.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
            let timeout: Int32 = descriptor >= 0 && isFIFO ? -1 : 250
            if descriptor >= 0 && !isFIFO {
                // Read what is there before sleeping.
                offset += readFile(descriptor, splitter: &splitter, session: session, buffer: &buffer)
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 && errno != EINTR { return }
            if descriptors[0].revents != 0 { return }
            guard descriptor >= 0 else { continue }
            if isFIFO {
                guard descriptors.count > 1, descriptors[1].revents != 0 else { continue }
                let ended = readFIFO(descriptor, splitter: &splitter, session: &session, buffer: &buffer)
                if ended {
                    // The writer closed: a last line without newline still counts; reopen for the next.
                    if let last = splitter.finish() { handle(last, connection: session) }
                    close(descriptor)
                    descriptor = -1
                    session = 0
                    setOpenConnections(0)
                }
            } else {
                offset += readFile(descriptor, splitter: &splitter, session: session, buffer: &buffer)
                // Truncated (copytruncate) or replaced (rename + create): start again.
                var current = stat()
                var info = stat()
                fstat(descriptor, &info)
                let replaced = stat(path, &current) == 0
                    && (UInt64(current.st_dev), UInt64(current.st_ino)) != identity.map { ($0.device, $0.inode) } ?? (0, 0)
                if Int64(info.st_size) < offset || replaced {
                    close(descriptor)
                    descriptor = -1
                    setOpenConnections(0)
                }
            }
        }
    }

    /// Counts a new FIFO writer session or file opening; its id.
    private func beginSession() -> Int {
        lock.lock()
        defer { lock.unlock() }
        stats.connections += 1
        stats.openConnections = 1
        return stats.connections
    }

    /// Reads a regular file up to its current end; the bytes read.
    private func readFile(_ descriptor: Int32, splitter: inout LineSplitter, session: Int, buffer: inout [UInt8]) -> Int64 {
        var total: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return total }
            total += Int64(count)
            let pieces = buffer.withUnsafeBytes { splitter.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            for piece in pieces { handle(piece, connection: session) }
        }
    }

    /// Reads what a FIFO holds; true when its writer has closed.
    private func readFIFO(_ descriptor: Int32, splitter: inout LineSplitter, session: inout Int, buffer: inout [UInt8]) -> Bool {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                if session == 0 { session = beginSession() }
                let id = session
                let pieces = buffer.withUnsafeBytes { splitter.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                for piece in pieces { handle(piece, connection: id) }
                continue
            }
            if count == 0 { return true }
            if errno == EINTR { continue }
            return !(errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }
}
