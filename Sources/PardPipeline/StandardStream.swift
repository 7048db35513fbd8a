import Foundation

/// Standard output and standard error, written with `write(2)`.
///
/// swift-corelibs-foundation's `FileHandle.write(_:)` traps (SIGILL) when the write fails: a full
/// disk, `> /dev/full`, a closed pipe (EPIPE, once SIGPIPE is ignored), a closed descriptor. These
/// writes report the failure instead: as an error for standard output, where the data matters, and
/// not at all for standard error, where there is nowhere left to report it.
public enum StandardStream: Sendable {
    case output, error

    /// "standard output" or "standard error", for messages.
    public var name: String { self == .output ? "standard output" : "standard error" }

    private var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes all of `text` (partial writes and EINTR are retried).
    /// - Throws: `PipelineError.writeFailed` ("standard output: write failed: No space left on device").
    public func write(_ text: String) throws(PipelineError) {
        let bytes = Array(text.utf8)
        let failure: Int32? = bytes.withUnsafeBytes { raw -> Int32? in
            guard let base = raw.baseAddress else { return nil }
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(descriptor, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        if let failure {
            throw .writeFailed(target: name, reason: String(cString: strerror(failure)))
        }
    }

    /// `write`, ignoring failure: for messages on standard error.
    public func writeIgnoringErrors(_ text: String) {
        do { try write(text) } catch {}
    }
}
