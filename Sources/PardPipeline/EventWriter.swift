import Foundation

/// Writes event lines to a file (appending) or to standard output: whole lines only, buffered and
/// flushed when asked (per batch).
///
/// A write that fails part-way never leaves a cut line behind: when the target is a regular file, the
/// bytes of the unfinished line are cut off again (`ftruncate` to the end of the last whole line), so
/// the file always ends in a newline. What happens next depends on `FailurePolicy`:
/// - `.stop` (`pard process`): `flush` throws, naming the file and what the system said.
/// - `.keepRunning` (`pard run`): `flush` returns; the unwritten lines stay queued (at most
///   `backlogBytes`; the oldest whole lines beyond that are dropped and counted by reason) and are
///   written by a later `flush` once writing works again. `status` says whether writes are failing.
public final class EventWriter {
    /// What a failed write does.
    public enum FailurePolicy: Sendable {
        /// `flush` throws (the caller stops).
        case stop
        /// `flush` keeps at most `backlogBytes` of unwritten lines for the next try; older lines are
        /// dropped and counted.
        case keepRunning(backlogBytes: Int)
    }

    /// Why lines were dropped (the `reason` label of `pard_events_dropped_total`).
    public enum DropReason: String, Sendable, CaseIterable {
        /// The file system is full (ENOSPC, EDQUOT).
        case noSpace = "no_space"
        /// The file reached the largest size allowed (EFBIG: file system or `RLIMIT_FSIZE`).
        case fileTooLarge = "file_too_large"
        /// Any other write error (EIO, EBADF, EPIPE, ...).
        case writeError = "write_error"

        init(errno code: Int32) {
            switch code {
            case ENOSPC, EDQUOT: self = .noSpace
            case EFBIG: self = .fileTooLarge
            default: self = .writeError
            }
        }
    }

    /// Whether writing works, as of the last `flush`.
    public struct Status: Sendable, Equatable {
        /// nil while writes succeed; else the last failure (file and the system's message).
        public var failure: String?
        /// The kind of the last failure (nil while writes succeed).
        public var failureReason: DropReason?
        /// Lines dropped since the writer was made, by reason.
        public var dropped: [DropReason: Int] = [:]
        /// Lines waiting to be written.
        public var backlogLines = 0
    }

    private var fd: Int32
    private let path: String
    private let ownsDescriptor: Bool
    private let policy: FailurePolicy
    /// Whole lines waiting to be written, each ending in `\n`.
    private var buffer: [UInt8] = []
    private var lineCount = 0
    public private(set) var status = Status()
    private let onDrop: (DropReason, Int) -> Void

    /// `path` "-" is standard output. `onDrop` is told of every line dropped, by reason (on the caller's
    /// thread, inside `flush` or `discardBacklog`).
    public init(path: String, policy: FailurePolicy = .stop, onDrop: @escaping (DropReason, Int) -> Void = { _, _ in }) throws {
        self.path = path
        self.policy = policy
        self.onDrop = onDrop
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

    /// The file's name in messages.
    public var displayName: String { path == "-" ? "standard output" : path }

    private static func open(_ path: String) throws -> Int32 {
        let d = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard d >= 0 else { throw PipelineError.cannotOpen(file: path, reason: String(cString: strerror(errno))) }
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
        lineCount += 1
    }

    /// Writes what is queued; lines are never split across calls, and a failed write never leaves part
    /// of a line in a regular file. See `FailurePolicy` for what a failure does.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        let start = regularFileSize()
        var offset = 0
        var failure: Int32 = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { raw in
                raw.baseAddress.map { Glibc.write(fd, $0 + offset, raw.count - offset) } ?? 0
            }
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            if n == 0 { failure = EIO; break }
            offset += n
        }
        if failure == 0 {
            buffer.removeAll(keepingCapacity: true)
            lineCount = 0
            status.failure = nil
            status.failureReason = nil
            status.backlogLines = 0
            return
        }
        removeWrittenLines(upTo: offset, fileStart: start)
        let error = PipelineError.writeFailed(target: displayName, reason: String(cString: strerror(failure)))
        status.failure = error.description
        status.failureReason = DropReason(errno: failure)
        switch policy {
        case .stop:
            throw error
        case .keepRunning(let backlogBytes):
            trimBacklog(to: backlogBytes, reason: DropReason(errno: failure))
            status.backlogLines = lineCount
        }
    }

    /// Drops every queued line (at shutdown, when they cannot be written), counted under the last
    /// failure's reason; the number dropped.
    @discardableResult
    public func discardBacklog() -> Int {
        let dropped = lineCount
        if dropped > 0 { count(dropped, reason: status.failureReason ?? .writeError) }
        buffer.removeAll(keepingCapacity: true)
        lineCount = 0
        status.backlogLines = 0
        return dropped
    }

    // MARK: - After a failed write

    /// The size of the file if it is a regular file (only such a file can be cut back), else nil.
    private func regularFileSize() -> Int64? {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// `written` bytes of the queue reached the file: the whole lines among them leave the queue, and
    /// the start of an unfinished line is cut off the file again.
    private func removeWrittenLines(upTo written: Int, fileStart: Int64?) {
        var whole = written
        while whole > 0 && buffer[whole - 1] != 0x0A { whole -= 1 }
        if whole < written, let fileStart {
            // A cut line: take it back (O_APPEND: the file ended at `fileStart` before this flush).
            _ = ftruncate(fd, off_t(fileStart) + off_t(whole))
        }
        if whole > 0 {
            lineCount -= buffer[0..<whole].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            buffer.removeFirst(whole)
        }
    }

    /// Drops the oldest whole lines until at most `limit` bytes are queued, counting them.
    private func trimBacklog(to limit: Int, reason: DropReason) {
        guard buffer.count > limit else { return }
        var cut = buffer.count - limit
        while cut < buffer.count && buffer[cut - 1] != 0x0A { cut += 1 }
        let dropped = buffer[0..<cut].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        buffer.removeFirst(cut)
        lineCount -= dropped
        count(dropped, reason: reason)
    }

    private func count(_ dropped: Int, reason: DropReason) {
        status.dropped[reason, default: 0] += dropped
        onDrop(reason, dropped)
    }
}
