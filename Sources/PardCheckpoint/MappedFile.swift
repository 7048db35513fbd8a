#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory (`mmap`), so that gigabyte checkpoints are paged in on
/// demand instead of read. The mapping lives as long as this object; `MappedBytes` views keep it alive.
public final class MappedFile: @unchecked Sendable {  // immutable after init; the mapping is read-only
    /// The path as given, for messages.
    public let path: String
    /// The file's bytes (empty for an empty file); valid while `self` lives, so never handed out as is.
    let raw: UnsafeRawBufferPointer

    /// Maps `path`; throws `.io` if it cannot be opened or mapped.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(file: path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(file: path, "cannot stat: \(errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .io(file: path, "not a regular file") }
        let size = Int(info.st_size)
        guard size > 0 else { raw = UnsafeRawBufferPointer(start: nil, count: 0); return }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .io(file: path, "cannot map \(size) bytes: \(errnoText())")
        }
        raw = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Number of bytes in the file.
    public var count: Int { raw.count }

    /// The whole file.
    public var contents: MappedBytes { MappedBytes(file: self, offset: 0, count: raw.count) }

    /// `count` bytes at `offset`, or nil if they are not all inside the file.
    public func slice(offset: Int, count: Int) -> MappedBytes? {
        raw.slice(offset, count).map { _ in MappedBytes(file: self, offset: offset, count: count) }
    }

    deinit {
        if let base = raw.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), raw.count) }
    }
}

/// Bytes of a mapped file that keep the mapping alive: safe to store, copy and pass around.
public struct MappedBytes: RandomAccessCollection, Sendable {
    /// The file they belong to.
    public let file: MappedFile
    /// Offset of the first byte in the file.
    public let offset: Int
    public let count: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(i: Int) -> UInt8 {
        precondition(i >= 0 && i < count, "index \(i) out of \(count) mapped bytes")
        return file.raw[offset + i]
    }

    /// The bytes as a raw buffer, valid inside `body` only.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(file) {} }
        return try body(view)
    }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        defer { withExtendedLifetime(file) {} }
        return try body(view.assumingMemoryBound(to: UInt8.self))
    }

    /// A copy of the bytes (one memcpy; `Array(self)` would copy byte by byte).
    public var array: [UInt8] { withUnsafeBytes { Array($0) } }

    /// The view without lifetime protection, for this module's code that holds the file.
    var view: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: file.raw[offset..<(offset + count)]) }
}

/// The current `errno` as text.
func errnoText() -> String { String(cString: strerror(errno)) }
