/// One file inside a zip archive, as its central directory describes it.
public struct ZipEntry: Sendable, Equatable {
    /// Path inside the archive, e.g. `checkpoint/data/12`.
    public let name: String
    /// Compression method: 0 stored, 8 deflate, ...
    public let method: Int
    /// Size in the archive, bytes.
    public let compressedSize: Int
    /// Size once extracted, bytes.
    public let size: Int
    /// CRC-32 of the extracted bytes.
    public let crc32: UInt32
    /// Offset of the entry's local header in the file, bytes.
    public let headerOffset: Int
    /// Offset of the entry's first data byte in the file, bytes (past the local header and its extra field).
    public let dataOffset: Int
}

/// A zip archive read in place from a memory-mapped file: the central directory (zip64 included) is
/// parsed once and entries' bytes are handed out as views of the mapping. Only stored (uncompressed)
/// entries can be read, which is what `torch.save` writes.
public final class ZipArchive: Sendable {
    /// The mapped file.
    public let file: MappedFile
    /// Entries in central-directory order.
    public let entries: [ZipEntry]
    private let index: [String: Int]

    /// The largest central directory read: 64 MiB, some 700,000 entries of torch.save's names (a checkpoint
    /// has a few thousand). Indexing keeps about twice the directory's size in memory (entry records and
    /// names), so an archive costs at most ~128 MiB here whatever it claims.
    public static let maximumCentralDirectoryBytes = 64 << 20

    /// The path as given, for messages.
    public var path: String { file.path }

    /// Maps and indexes the archive at `path`.
    public convenience init(path: String) throws(CheckpointError) {
        try self.init(file: MappedFile(path: path))
    }

    /// Indexes an already mapped archive. Throws `.notZip` unless the file starts with a local header,
    /// `.truncated` when the central directory or an entry lies past the end of the file.
    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        let b = file.raw, path = file.path
        guard b.le(UInt32.self, at: 0) == 0x0403_4B50 else {
            // torch.save before 1.6 wrote a bare pickle starting with PROTO 2, LONG1 of 10 bytes (the magic number).
            if b.count >= 4, b[0] == 0x80, b[1] == 0x02, b[2] == 0x8A, b[3] == 0x0A { throw .legacyTorchFormat(file: path) }
            throw .notZip(file: path)
        }
        let (cdOffset, cdSize, count) = try Self.endOfCentralDirectory(b, path: path)
        guard cdSize <= Self.maximumCentralDirectoryBytes else {
            throw .malformedZip(file: path, "zip central directory of \(cdSize) bytes is larger than the limit of "
                                + "\(Self.maximumCentralDirectoryBytes) bytes (ZipArchive.maximumCentralDirectoryBytes)")
        }
        guard count <= cdSize / 46 else {  // each header is at least 46 bytes
            throw .malformedZip(file: path, "zip central directory of \(cdSize) bytes cannot hold the \(count) entries it claims")
        }
        guard cdOffset <= b.count, cdSize <= b.count - cdOffset else {
            throw .truncated(file: path, "zip central directory ends past end of file")
        }
        var entries: [ZipEntry] = [], index: [String: Int] = [:]
        entries.reserveCapacity(count)
        var p = cdOffset
        for _ in 0..<count {
            let entry = try Self.centralEntry(b, at: &p, end: cdOffset + cdSize, path: path)
            guard index[entry.name] == nil else { throw .malformedZip(file: path, "duplicate entry '\(entry.name)'") }
            index[entry.name] = entries.count
            entries.append(entry)
        }
        self.entries = entries
        self.index = index
    }

    /// The entry called `name`, if any.
    public func entry(_ name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// The bytes of a stored entry (a view of the mapping). Throws `.compressedEntry` for any other method.
    public func data(_ entry: ZipEntry) throws(CheckpointError) -> MappedBytes {
        guard entry.method == 0, entry.compressedSize == entry.size else {
            throw .compressedEntry(file: path, entry: entry.name, method: entry.method)
        }
        guard let bytes = file.slice(offset: entry.dataOffset, count: entry.size) else {
            throw .truncated(file: path, "zip entry '\(entry.name)' ends past end of file")
        }
        return bytes
    }

    /// The bytes of the stored entry called `name`; `.missingEntry` if there is none.
    public func data(named name: String) throws(CheckpointError) -> MappedBytes {
        guard let e = entry(name) else { throw .missingEntry(file: path, entry: name) }
        return try data(e)
    }

    /// Checks a stored entry's bytes against its CRC-32 (reads every byte: use it on small entries).
    public func verifyChecksum(_ entry: ZipEntry) throws(CheckpointError) {
        guard CRC32.checksum(try data(entry).view) == entry.crc32 else {
            throw .malformedZip(file: path, "entry '\(entry.name)' fails its CRC-32 check")
        }
    }

    // MARK: - Structures

    /// (central directory offset, size, entry count) from the end record, or the zip64 end record when there is one.
    private static func endOfCentralDirectory(_ b: UnsafeRawBufferPointer, path: String) throws(CheckpointError) -> (Int, Int, Int) {
        // The end record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
        var eocd = -1
        var p = b.count - 22
        while p >= max(0, b.count - 22 - 0xFFFF) {
            if b.le(UInt32.self, at: p) == 0x0605_4B50 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0,
              let disk = b.le(UInt16.self, at: eocd + 4), let count16 = b.le(UInt16.self, at: eocd + 10),
              let size32 = b.le(UInt32.self, at: eocd + 12), let offset32 = b.le(UInt32.self, at: eocd + 16)
        else { throw .truncated(file: path, "no zip end-of-central-directory record (the file was cut short)") }
        guard disk == 0 || disk == 0xFFFF else { throw .malformedZip(file: path, "multi-disk archives are not supported") }

        // Zip64: a locator just before the end record points at the zip64 end record.
        if eocd >= 20, b.le(UInt32.self, at: eocd - 20) == 0x0706_4B50 {
            guard let at64 = b.le(UInt64.self, at: eocd - 12), let at = Int(exactly: at64), at <= eocd - 20 else {
                throw .truncated(file: path, "zip64 end-of-central-directory record lies past end of file")
            }
            guard b.le(UInt32.self, at: at) == 0x0606_4B50,
                  let count = b.le(UInt64.self, at: at + 32), let size = b.le(UInt64.self, at: at + 40),
                  let offset = b.le(UInt64.self, at: at + 48)
            else { throw .malformedZip(file: path, "bad zip64 end-of-central-directory record at offset \(at)") }
            guard let c = Int(exactly: count), let s = Int(exactly: size), let o = Int(exactly: offset) else {
                throw .truncated(file: path, "zip central directory ends past end of file")
            }
            return (o, s, c)
        }
        guard count16 != 0xFFFF, size32 != 0xFFFF_FFFF, offset32 != 0xFFFF_FFFF else {
            throw .malformedZip(file: path, "zip64 fields without a zip64 end-of-central-directory locator")
        }
        return (Int(offset32), Int(size32), Int(count16))
    }

    /// Parses the central-directory header at `p` (advancing it) and locates the entry's data.
    private static func centralEntry(_ b: UnsafeRawBufferPointer, at p: inout Int, end: Int, path: String) throws(CheckpointError) -> ZipEntry {
        guard p <= end - 46, b.le(UInt32.self, at: p) == 0x0201_4B50,
              let flags = b.le(UInt16.self, at: p + 8), let method = b.le(UInt16.self, at: p + 10),
              let crc = b.le(UInt32.self, at: p + 16),
              let csize32 = b.le(UInt32.self, at: p + 20), let usize32 = b.le(UInt32.self, at: p + 24),
              let nameLength = b.le(UInt16.self, at: p + 28), let extraLength = b.le(UInt16.self, at: p + 30),
              let commentLength = b.le(UInt16.self, at: p + 32), let offset32 = b.le(UInt32.self, at: p + 42)
        else { throw .malformedZip(file: path, "bad central directory header at offset \(p)") }
        let headerEnd = p + 46 + Int(nameLength) + Int(extraLength) + Int(commentLength)
        guard headerEnd <= end, let nameBytes = b.slice(p + 46, Int(nameLength)),
              let extra = b.slice(p + 46 + Int(nameLength), Int(extraLength))
        else { throw .malformedZip(file: path, "central directory header at offset \(p) overruns the directory") }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard flags & 1 == 0 else { throw .malformedZip(file: path, "entry '\(name)' is encrypted") }

        // Fields saturated at 0xFFFFFFFF are in the zip64 extra field (id 1), in this order.
        var usize = UInt64(usize32), csize = UInt64(csize32), offset = UInt64(offset32)
        if usize32 == 0xFFFF_FFFF || csize32 == 0xFFFF_FFFF || offset32 == 0xFFFF_FFFF {
            var q = 0, found = false
            while q + 4 <= extra.count, let id = extra.le(UInt16.self, at: q), let length = extra.le(UInt16.self, at: q + 2) {
                if id == 1, let field = extra.slice(q + 4, Int(length)) {
                    var r = 0
                    func next() throws(CheckpointError) -> UInt64 {
                        guard let v = field.le(UInt64.self, at: r) else {
                            throw .malformedZip(file: path, "entry '\(name)': zip64 extra field too short")
                        }
                        r += 8
                        return v
                    }
                    if usize32 == 0xFFFF_FFFF { usize = try next() }
                    if csize32 == 0xFFFF_FFFF { csize = try next() }
                    if offset32 == 0xFFFF_FFFF { offset = try next() }
                    found = true
                    break
                }
                q += 4 + Int(length)
            }
            guard found else { throw .malformedZip(file: path, "entry '\(name)' has zip64 sizes but no zip64 extra field") }
        }
        guard let size = Int(exactly: usize), let compressedSize = Int(exactly: csize), let headerOffset = Int(exactly: offset),
              headerOffset <= b.count - 30
        else { throw .truncated(file: path, "zip entry '\(name)' starts past end of file") }

        // The local header repeats name and has its own extra field (torch pads it to align data to 64 bytes).
        // Its sizes may be zero (data descriptor), so the central directory's are used.
        guard b.le(UInt32.self, at: headerOffset) == 0x0403_4B50,
              let localName = b.le(UInt16.self, at: headerOffset + 26), let localExtra = b.le(UInt16.self, at: headerOffset + 28)
        else { throw .malformedZip(file: path, "entry '\(name)': no local header at offset \(headerOffset)") }
        let dataOffset = headerOffset + 30 + Int(localName) + Int(localExtra)
        guard dataOffset <= b.count, compressedSize <= b.count - dataOffset else {
            throw .truncated(file: path, "zip entry '\(name)' ends past end of file")
        }
        p = headerEnd
        return ZipEntry(name: name, method: Int(method), compressedSize: compressedSize, size: size, crc32: crc,
                        headerOffset: headerOffset, dataOffset: dataOffset)
    }
}
