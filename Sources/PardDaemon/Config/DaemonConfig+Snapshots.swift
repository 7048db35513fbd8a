import Foundation

extension DaemonConfig {
    /// `output.snapshots`: the best crop of each track as JPEG, `<directory>/<stream>/<track id>-<first
    /// frame>.jpg`, named by the track event's `"snapshot"` field. Off unless given.
    public struct Snapshots: Hashable, Sendable {
        /// `directory`: where they go (made when missing). Required. A folder that cannot be written
        /// does not stop pard: each failure is counted (`pard_snapshots_total{result="failed"}`) and logged.
        public var directory: String
        /// `max_size`: bytes the folder's snapshots may take; beyond that the oldest are deleted first
        /// (`pard_snapshots_total{result="deleted"}`). A number of bytes or a string with a unit
        /// (`"500MB"`, `"2GiB"`, `kB`/`MB`/`GB` = powers of 1000, `KiB`/`MiB`/`GiB` of 1024). Default 1 GiB.
        public var maxBytes: Int = 1 << 30

        public init(directory: String) { self.directory = directory }
    }
}

extension ConfigParser {
    /// `output.snapshots`: a mapping with `directory` and `max_size`.
    mutating func snapshots(_ value: ConfigValue) throws(ConfigError) -> DaemonConfig.Snapshots {
        let map = try value.mapping(keys: ["directory", "max_size"])
        var snapshots = DaemonConfig.Snapshots(directory: try path(note(map.required("directory", "the folder for the snapshots"))))
        if let size = map.optional("max_size") { snapshots.maxBytes = try Self.byteSize(note(size)) }
        return snapshots
    }

    /// A size in bytes: a whole number, or a number with a unit (`kB`, `MB`, `GB`, `TB`, `KiB`, `MiB`,
    /// `GiB`, `TiB`, `B`), at least 1 MB... to 1 PB.
    static func byteSize(_ value: ConfigValue) throws(ConfigError) -> Int {
        let (text, _) = try value.scalarText("a size such as 500MB or 2GiB")
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
                                         ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var number = trimmed, factor = 1.0
        for (unit, size) in units where trimmed.hasSuffix(unit) {
            number = String(trimmed.dropLast(unit.count)).trimmingCharacters(in: .whitespaces)
            factor = size
            break
        }
        guard let n = Double(number), n.isFinite, n > 0 else {
            throw value.error("expected a size such as 500MB or 2GiB, got \(value.shown)")
        }
        let bytes = n * factor
        guard bytes >= 1e6, bytes <= 1e15 else { throw value.error("expected a size from 1MB to 1PB, got \(value.shown)") }
        return Int(bytes)
    }
}
