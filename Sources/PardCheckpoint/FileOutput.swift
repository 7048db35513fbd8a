#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file by streaming chunks into `<path>.partial` and renaming it over `path` once complete,
/// so a failed or interrupted write never leaves a half-written file under the final name.
struct FileOutput {
    let path: String
    private let temporary: String
    private let fd: Int32

    init(path: String) throws(CheckpointError) {
        self.path = path
        temporary = path + ".partial"
        fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .io(file: path, "cannot create \(temporary): \(errnoText())") }
    }

    /// Appends `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { abandon(); throw .io(file: path, "write failed: \(errnoText())") }
            p += n
            left -= n
        }
    }

    /// Appends `bytes`.
    func append(_ bytes: [UInt8]) throws(CheckpointError) {
        try bytes.withUnsafeBytes { b in Result { () throws(CheckpointError) in try append(b) } }.get()
    }

    /// Closes the file and moves it to `path`.
    func finish() throws(CheckpointError) {
        guard close(fd) == 0 else { unlink(temporary); throw .io(file: path, "close failed: \(errnoText())") }
        guard rename(temporary, path) == 0 else { unlink(temporary); throw .io(file: path, "cannot rename \(temporary): \(errnoText())") }
    }

    /// Closes and deletes the partial file.
    func abandon() {
        close(fd)
        unlink(temporary)
    }
}
