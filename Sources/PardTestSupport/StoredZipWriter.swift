import PardCheckpoint

/// Builds zip archives of stored entries as torch.save does: data aligned to 64 bytes by a padding extra
/// field, CRC-32s computed, optionally every size and offset moved to zip64 records.
public enum StoredZipWriter {
    /// One file of the archive.
    public struct Entry: Sendable {
        public var name: String
        public var bytes: [UInt8]
        /// Compression method recorded (0 stored). Anything else is written as if stored: for testing readers' refusal.
        public var method: UInt16
        /// The CRC-32 of `bytes` when already known (copied from another archive); computed when nil.
        public var crc32: UInt32?

        public init(name: String, bytes: [UInt8], method: UInt16 = 0, crc32: UInt32? = nil) {
            self.name = name; self.bytes = bytes; self.method = method; self.crc32 = crc32
        }
    }

    /// The archive's bytes. With `zip64`, sizes and offsets are saturated to 0xFFFFFFFF in the classic
    /// records and given in zip64 extra fields and a zip64 end record, as for files over 4 GiB.
    public static func encode(_ entries: [Entry], zip64: Bool = false, alignment: Int = 64) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        let version: UInt64 = zip64 ? 45 : 20
        let saturated: UInt64 = 0xFFFF_FFFF
        for e in entries {
            let name = Array(e.name.utf8), crc = UInt64(e.crc32 ?? CRC32.checksum(e.bytes)), size = UInt64(e.bytes.count)
            let offset = UInt64(out.count)
            var localExtra: [UInt8] = zip64 ? le(1, 2) + le(16, 2) + le(size, 8) + le(size, 8) : []
            // Padding field ('FB', as torch) so that the data starts on an `alignment` boundary.
            let unpadded = out.count + 30 + name.count + localExtra.count
            if alignment > 1, unpadded % alignment != 0 {
                var pad = alignment - unpadded % alignment
                while pad < 4 { pad += alignment }
                localExtra += le(0x4246, 2) + le(UInt64(pad - 4), 2) + [UInt8](repeating: 0x5A, count: pad - 4)
            }
            out += le(0x0403_4B50, 4) + le(version, 2) + le(0, 2) + le(UInt64(e.method), 2) + le(0, 4)
            out += le(crc, 4) + le(zip64 ? saturated : size, 4) + le(zip64 ? saturated : size, 4)
            out += le(UInt64(name.count), 2) + le(UInt64(localExtra.count), 2) + name + localExtra
            out += e.bytes

            let centralExtra: [UInt8] = zip64 ? le(1, 2) + le(24, 2) + le(size, 8) + le(size, 8) + le(offset, 8) : []
            central += le(0x0201_4B50, 4) + le(version, 2) + le(version, 2) + le(0, 2) + le(UInt64(e.method), 2) + le(0, 4)
            central += le(crc, 4) + le(zip64 ? saturated : size, 4) + le(zip64 ? saturated : size, 4)
            central += le(UInt64(name.count), 2) + le(UInt64(centralExtra.count), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4)
            central += le(zip64 ? saturated : offset, 4) + name + centralExtra
        }
        let cdOffset = UInt64(out.count), cdSize = UInt64(central.count), count = UInt64(entries.count)
        out += central
        if zip64 {
            let record = UInt64(out.count)
            out += le(0x0606_4B50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4)
            out += le(count, 8) + le(count, 8) + le(cdSize, 8) + le(cdOffset, 8)
            out += le(0x0706_4B50, 4) + le(0, 4) + le(record, 8) + le(1, 4)
        }
        out += le(0x0605_4B50, 4) + le(0, 2) + le(0, 2)
        out += le(zip64 ? 0xFFFF : count, 2) + le(zip64 ? 0xFFFF : count, 2)
        out += le(zip64 ? saturated : cdSize, 4) + le(zip64 ? saturated : cdOffset, 4) + le(0, 2)
        return out
    }
}
