import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file per process, rewritten with each input for the readers that take a path and map the file
/// (`ZipArchive`, `SafetensorsFile`). In `/dev/shm` when there is one (no disk writes per input), else in
/// the temporary folder; removed at exit.
final class ScratchFile: @unchecked Sendable {  // used by one fuzzing thread at a time
    static let shared = ScratchFile()

    /// `<folder>/pard-fuzz-<pid>.bin`.
    let path: String

    private init() {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = "\(folder)/pard-fuzz-\(getpid())-\(UInt32.random(in: 0 ... .max)).bin"
        atexit { unlink(ScratchFile.shared.path) }
    }

    /// Replaces the file's contents by `bytes`; returns its path.
    /// - Throws: `ScratchFileError` naming the path when it cannot be written (not a finding: the harness stops).
    func write(_ bytes: UnsafeRawBufferPointer) throws(ScratchFileError) -> String {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw ScratchFileError(path: path, errno: errno) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count, let start = bytes.baseAddress {
            let n = Glibc.write(fd, start + done, bytes.count - done)
            guard n > 0 else { throw ScratchFileError(path: path, errno: errno) }
            done += n
        }
        return path
    }
}

/// The scratch file could not be written: the fuzzing environment is broken, not the parser.
public struct ScratchFileError: Error, CustomStringConvertible {
    public let path: String
    public let errno: Int32
    public var description: String { "\(path): cannot write: \(String(cString: strerror(errno)))" }
}
