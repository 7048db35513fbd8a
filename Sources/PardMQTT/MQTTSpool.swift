import Foundation
import PardPipeline

/// The MQTT sink's write-ahead log on disk: every event is appended here before it is published, and
/// leaves once the broker has acknowledged it, so nothing is lost while the broker is away or slow, nor
/// when pard is killed (the files are written at once; the page cache survives a killed process).
///
/// The log is a folder of segment files (`<first sequence number>.seg`, records in order) and `acked`,
/// the sequence number below which everything was acknowledged (written every 0.1 s at most by the
/// sink's thread; records acknowledged since are sent again after a crash: QoS 1 allows duplicates). Records are sent in sequence order, so each stream's events arrive in the order they
/// were made, spooled ones before newer ones.
///
/// Bounded: the unacknowledged records take `maxBytes` at most. When a new event does not fit, the oldest
/// segment that still holds unsent attribute events is rewritten without them (a segment is an eighth of
/// the spool: attribute events go oldest first, in chunks); when only track summaries are left, the
/// oldest segment's are dropped too. Records already sent and awaiting their acknowledgement are never
/// dropped. Used by the sink's thread only.
final class MQTTSpool {
    /// One event read back.
    struct Record {
        let seq: UInt64
        let type: EventType
        let stream: String
        let line: String
        /// Bytes in the spool.
        let size: Int
    }

    /// Where a record is in its segment file.
    struct Entry {
        let seq: UInt64
        var offset: Int
        let size: Int
        let type: EventType
    }

    final class Segment {
        let path: String
        var entries: [Entry]
        var fileBytes: Int

        init(path: String, entries: [Entry], fileBytes: Int) {
            self.path = path
            self.entries = entries
            self.fileBytes = fileBytes
        }
    }

    static let headerSize = 20
    static let magic: [UInt8] = [0x50, 0x53]  // "PS"

    let directory: String
    let maxBytes: Int
    let segmentBytes: Int
    private var segments: [Segment] = []
    /// The last segment, open for appending; -1: the next append starts a new segment.
    private var writer: Int32 = -1
    private var reader: (path: String, fd: Int32)?
    private let ackFD: Int32
    /// `lock` in the folder, held (`flock`) while this spool is open: one pard per spool.
    private var lockFD: Int32 = -1
    private var persistedFrontier: UInt64
    private(set) var nextSeq: UInt64
    /// Every record before it has been acknowledged (or dropped).
    private(set) var frontier: UInt64
    /// The next record to send; those from `frontier` up to it are in flight.
    private(set) var cursor: UInt64
    private var inflight: [(seq: UInt64, size: Int, acked: Bool)] = []
    private var inflightHead = 0
    /// Records not yet acknowledged, and their bytes.
    private(set) var pendingCount = 0
    private(set) var pendingBytes = 0

    /// Opens (creating it if needed) the spool in `directory` and reads what a previous run left: every
    /// record not acknowledged is sent again first. A record cut by a crash at the end of a segment is
    /// removed.
    init(directory: String, maxBytes: Int) throws(MQTTError) {
        self.directory = directory
        self.maxBytes = maxBytes
        segmentBytes = min(max(maxBytes / 8, 4096), 8 << 20)
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        catch { throw .spool(directory: directory, reason: "cannot create the folder: \(MQTTSpool.reason(error))") }
        // The lock first: a second process must not even read (and cut) the files of a spool in use.
        let lockPath = directory + "/lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard lock >= 0 else { throw .spoolFile(file: lockPath, reason: String(cString: strerror(errno))) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw .spool(directory: directory, reason: "in use by another pard process (it holds \(lockPath))")
        }
        let ackPath = directory + "/acked"
        let stored = (try? Data(contentsOf: URL(fileURLWithPath: ackPath))).map { [UInt8]($0) } ?? []
        let acked = stored.count == 8 ? stored.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } : 0
        var loaded: [Segment] = [], count = 0, bytes = 0
        var last: UInt64?
        let fd: Int32
        do throws(MQTTError) {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted() }
            catch { throw MQTTError.spool(directory: directory, reason: "cannot list the folder: \(MQTTSpool.reason(error))") }
            for name in names {
                let path = directory + "/" + name
                let data: Data
                do { data = try Data(contentsOf: URL(fileURLWithPath: path)) }
                catch { throw MQTTError.spoolFile(file: path, reason: MQTTSpool.reason(error)) }
                let (entries, valid) = MQTTSpool.parse([UInt8](data))
                if valid < data.count { _ = truncate(path, off_t(valid)) }
                let live = entries.filter { $0.seq >= acked }
                if let seq = entries.last?.seq { last = max(last ?? seq, seq) }
                if live.isEmpty { unlink(path); continue }
                loaded.append(Segment(path: path, entries: entries, fileBytes: valid))
                count += live.count
                bytes += live.reduce(0) { $0 + $1.size }
            }
            fd = open(ackPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw MQTTError.spoolFile(file: ackPath, reason: String(cString: strerror(errno))) }
        } catch {
            close(lock)
            throw error
        }
        ackFD = fd
        lockFD = lock
        segments = loaded
        pendingCount = count
        pendingBytes = bytes
        frontier = acked
        persistedFrontier = acked
        nextSeq = max(last.map { $0 + 1 } ?? 0, acked)
        cursor = acked
    }

    deinit {
        if writer >= 0 { close(writer) }
        if let reader { close(reader.fd) }
        close(ackFD)
        releaseLock()
    }

    /// Lets another process (or sink) open this spool; called when the sink's thread ends.
    func releaseLock() {
        if lockFD >= 0 { close(lockFD) }
        lockFD = -1
    }

    // MARK: - Appending

    /// Appends `event`, making room by the drop policy first; what had to be dropped for it (maybe the
    /// event itself), by type.
    /// - Throws: `MQTTError.spoolFile` when the file cannot be written (the event is not in the spool).
    func append(_ event: Event) throws(MQTTError) -> [EventType: Int] {
        let record = Self.encode(seq: nextSeq, event)
        var dropped: [EventType: Int] = [:]
        while pendingBytes + record.count > maxBytes {
            guard try makeRoom(&dropped) else {
                dropped[event.type, default: 0] += 1
                return dropped
            }
        }
        if writer < 0 || (segments.last?.fileBytes ?? 0) >= segmentBytes { try startSegment() }
        guard let segment = segments.last else { return dropped }
        try Self.writeAll(writer, record, file: segment.path, truncatingTo: segment.fileBytes)
        segment.entries.append(Entry(seq: nextSeq, offset: segment.fileBytes, size: record.count, type: event.type))
        segment.fileBytes += record.count
        nextSeq += 1
        pendingCount += 1
        pendingBytes += record.count
        return dropped
    }

    private func startSegment() throws(MQTTError) {
        if writer >= 0 { close(writer); writer = -1 }
        let path = directory + "/" + Self.segmentName(nextSeq)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw .spoolFile(file: path, reason: String(cString: strerror(errno))) }
        writer = fd
        segments.append(Segment(path: path, entries: [], fileBytes: 0))
    }

    /// Frees room by the drop policy; false when nothing unsent is left to drop.
    private func makeRoom(_ dropped: inout [EventType: Int]) throws(MQTTError) -> Bool {
        let cursor = self.cursor
        if let i = segments.firstIndex(where: { $0.entries.contains { $0.seq >= cursor && $0.type == .attributes } }) {
            try compact(i, keepTracks: true, &dropped)
            return true
        }
        if let i = segments.firstIndex(where: { $0.entries.contains { $0.seq >= cursor } }) {
            try compact(i, keepTracks: false, &dropped)
            return true
        }
        return false
    }

    /// Rewrites segment `i` without its acknowledged records and its unsent ones (but track summaries
    /// when `keepTracks`); records in flight stay.
    private func compact(_ i: Int, keepTracks: Bool, _ dropped: inout [EventType: Int]) throws(MQTTError) {
        let segment = segments[i]
        if i == segments.count - 1, writer >= 0 { close(writer); writer = -1 }
        forgetReader()
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment.path))) }
        catch { throw .spoolFile(file: segment.path, reason: Self.reason(error)) }
        var kept: [Entry] = [], keptBytes: [UInt8] = [], gone: [Entry] = []
        for entry in segment.entries where entry.seq >= frontier {
            if entry.seq < cursor || (keepTracks && entry.type == .track) {
                guard entry.offset + entry.size <= bytes.count else { continue }
                kept.append(Entry(seq: entry.seq, offset: keptBytes.count, size: entry.size, type: entry.type))
                keptBytes += bytes[entry.offset..<entry.offset + entry.size]
            } else {
                gone.append(entry)
            }
        }
        if kept.isEmpty {
            unlink(segment.path)
            segments.remove(at: i)
        } else {
            let temporary = segment.path + ".tmp"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw .spoolFile(file: temporary, reason: String(cString: strerror(errno))) }
            do { try Self.writeAll(fd, keptBytes, file: temporary, truncatingTo: nil) } catch { close(fd); unlink(temporary); throw error }
            close(fd)
            guard rename(temporary, segment.path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw .spoolFile(file: segment.path, reason: reason)
            }
            segment.entries = kept
            segment.fileBytes = keptBytes.count
        }
        for entry in gone {
            dropped[entry.type, default: 0] += 1
            pendingCount -= 1
            pendingBytes -= entry.size
        }
    }

    // MARK: - Sending and acknowledgements

    /// The next record to send (from `cursor`), or nil when everything was sent.
    func nextUnsent() throws(MQTTError) -> Record? {
        guard let (segment, entry) = locate(cursor) else { return nil }
        return try read(entry, in: segment)
    }

    /// `record` went to the broker: the cursor moves past it and it awaits its acknowledgement.
    func markSent(_ record: Record) {
        inflight.append((record.seq, record.size, false))
        cursor = record.seq + 1
    }

    /// The broker acknowledged `seq`: the frontier moves past every acknowledged record at the front.
    func acknowledge(_ seq: UInt64) {
        guard let index = inflight[inflightHead...].firstIndex(where: { $0.seq == seq }) else { return }
        inflight[index].acked = true
        while inflightHead < inflight.count, inflight[inflightHead].acked {
            pendingCount -= 1
            pendingBytes -= inflight[inflightHead].size
            inflightHead += 1
        }
        if inflightHead == inflight.count {
            inflight.removeAll(keepingCapacity: true)
            inflightHead = 0
            frontier = cursor
        } else {
            frontier = inflight[inflightHead].seq
            if inflightHead > 4096 { inflight.removeFirst(inflightHead); inflightHead = 0 }
        }
    }

    /// Skips the record at the cursor (unreadable): counted as sent and acknowledged; its type.
    func skipNext() -> EventType? {
        guard let (_, entry) = locate(cursor) else { return nil }
        markSent(Record(seq: entry.seq, type: entry.type, stream: "", line: "", size: entry.size))
        acknowledge(entry.seq)
        return entry.type
    }

    /// Records sent and not acknowledged.
    var inflightCount: Int { inflight.count - inflightHead }

    /// The connection was lost: what was in flight is sent again, from the frontier.
    func rewind() {
        inflight.removeAll(keepingCapacity: true)
        inflightHead = 0
        cursor = frontier
    }

    /// Records the frontier in `acked` and deletes the segments acknowledged entirely.
    func persist() {
        guard frontier != persistedFrontier else { return }
        var value = frontier.littleEndian
        let n = withUnsafeBytes(of: &value) { pwrite(ackFD, $0.baseAddress, 8, 0) }
        guard n == 8 else { return }
        persistedFrontier = frontier
        let frontier = self.frontier
        while let first = segments.first, first.entries.allSatisfy({ $0.seq < frontier }),
              !(segments.count == 1 && writer >= 0) {
            if reader?.path == first.path { forgetReader() }
            unlink(first.path)
            segments.removeFirst()
        }
    }

    // MARK: - Files

    /// The segment and entry of the first record at or after `seq`.
    private func locate(_ seq: UInt64) -> (Segment, Entry)? {
        var low = 0, high = segments.count
        while low < high {
            let mid = (low + high) / 2
            if let last = segments[mid].entries.last, last.seq >= seq { high = mid } else { low = mid + 1 }
        }
        guard low < segments.count else { return nil }
        let entries = segments[low].entries
        var a = 0, b = entries.count
        while a < b {
            let mid = (a + b) / 2
            if entries[mid].seq >= seq { b = mid } else { a = mid + 1 }
        }
        guard a < entries.count else { return nil }
        return (segments[low], entries[a])
    }

    private func read(_ entry: Entry, in segment: Segment) throws(MQTTError) -> Record {
        if reader?.path != segment.path {
            forgetReader()
            let fd = open(segment.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .spoolFile(file: segment.path, reason: String(cString: strerror(errno))) }
            reader = (segment.path, fd)
        }
        guard let fd = reader?.fd else { throw .spoolFile(file: segment.path, reason: "not open") }
        var bytes = [UInt8](repeating: 0, count: entry.size)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, entry.size, off_t(entry.offset)) }
        guard n == entry.size, let record = Self.decode(bytes[...]) else {
            throw .spoolFile(file: segment.path, reason: n < 0 ? String(cString: strerror(errno)) : "record \(entry.seq) unreadable")
        }
        return record
    }

    private func forgetReader() {
        if let reader { close(reader.fd) }
        reader = nil
    }

    /// Writes all of `bytes`; on failure cuts the file back to `size` (no partial record) and throws.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], file: String, truncatingTo size: Int?) throws(MQTTError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let reason = n < 0 ? String(cString: strerror(errno)) : "nothing written"
                if let size { _ = ftruncate(fd, off_t(size)) }
                throw .spoolFile(file: file, reason: reason)
            }
            offset += n
        }
    }

    // MARK: - Record format

    /// `PS`, type (0 attributes, 1 track), 0, stream length (UInt32), line length (UInt32), sequence
    /// number (UInt64), all little-endian; the stream name, the line, a newline.
    static func encode(seq: UInt64, _ event: Event) -> [UInt8] {
        let stream = Array(event.stream.utf8), line = Array(event.line.utf8)
        var bytes = magic
        bytes.reserveCapacity(headerSize + stream.count + line.count + 1)
        bytes += [event.type == .attributes ? 0 : 1, 0]
        withUnsafeBytes(of: UInt32(stream.count).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(line.count).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: seq.littleEndian) { bytes += $0 }
        return bytes + stream + line + [0x0A]
    }

    /// The record at the start of `bytes`, or nil if it is not a whole, well-formed one.
    static func decode(_ bytes: ArraySlice<UInt8>) -> Record? {
        guard let (seq, type, streamLength, lineLength) = header(bytes) else { return nil }
        let start = bytes.startIndex + headerSize
        guard bytes.count >= headerSize + streamLength + lineLength + 1,
              bytes[start + streamLength + lineLength] == 0x0A else { return nil }
        let stream = String(decoding: bytes[start..<start + streamLength], as: UTF8.self)
        let line = String(decoding: bytes[start + streamLength..<start + streamLength + lineLength], as: UTF8.self)
        return Record(seq: seq, type: type, stream: stream, line: line, size: headerSize + streamLength + lineLength + 1)
    }

    private static func header(_ bytes: ArraySlice<UInt8>) -> (UInt64, EventType, Int, Int)? {
        guard bytes.count >= headerSize else { return nil }
        let s = bytes.startIndex
        guard bytes[s] == magic[0], bytes[s + 1] == magic[1], bytes[s + 2] <= 1 else { return nil }
        func integer(_ at: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[s + at + $1]) << (8 * UInt64($1)) }
        }
        return (integer(12, 8), bytes[s + 2] == 0 ? .attributes : .track, Int(integer(4, 4)), Int(integer(8, 4)))
    }

    /// The whole records of a segment file and the length they cover (anything after is a cut record).
    static func parse(_ bytes: [UInt8]) -> (entries: [Entry], valid: Int) {
        var entries: [Entry] = []
        var offset = 0
        while offset < bytes.count, let (seq, type, streamLength, lineLength) = header(bytes[offset...]) {
            let size = headerSize + streamLength + lineLength + 1
            guard offset + size <= bytes.count, bytes[offset + size - 1] == 0x0A else { break }
            entries.append(Entry(seq: seq, offset: offset, size: size, type: type))
            offset += size
        }
        return (entries, offset)
    }

    static func segmentName(_ seq: UInt64) -> String {
        let digits = String(seq)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    static func reason(_ error: Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}
