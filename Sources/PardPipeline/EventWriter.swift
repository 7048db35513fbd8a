import Foundation

/// Writes event lines to a file (appending) or to standard output: whole lines only, buffered and
/// flushed when asked (per batch).
public final class EventWriter {
    private var fd: Int32
    private let path: String
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []

    /// `path` "-" is standard output.
    public init(path: String) throws {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
            ownsDescriptor = false
        } else {
            fd = try EventWriter.open(path)
            ownsDescriptor = true
        }
        buffer.reserveCapacity(1 << 16)
    }

    deinit { if ownsDescriptor { close(fd) } }

    private static func open(_ path: String) throws -> Int32 {
        let d = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard d >= 0 else { throw PipelineError.output("\(path): cannot open for writing: \(String(cString: strerror(errno)))") }
        return d
    }

    /// Writes what is queued to the old file, then opens `path` anew (after logrotate renamed it: SIGHUP).
    /// If the new file cannot be opened, the old one stays in use and the error is thrown.
    public func reopen() throws {
        try flush()
        guard ownsDescriptor else { return }
        let d = try EventWriter.open(path)
        close(fd)
        fd = d
    }

    /// Queues one line (the newline is added).
    public func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
    }

    /// Writes what is queued; lines are never split across calls.
    public func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PipelineError.output("\(path == "-" ? "standard output" : path): write failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
