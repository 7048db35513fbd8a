import Foundation

/// All detections of a file, grouped by frame.
public struct Detections: Sendable {
    /// Where they came from (for messages).
    public let file: String
    public let format: DetectionFormat
    /// MOT: one entry per frame number, ascending, boxes in file order. JSON lines: one entry
    /// per line, in file order (a frame repeated on two lines stays two entries). Each entry is
    /// matched by its `key` only (frame number when given, else pts), so at most once.
    public let frames: [FrameDetections]
    /// Lines skipped under `skipBadLines` (empty otherwise).
    public let badLines: [BadLine]
    private let indexByFrame: [Int: [Int]]
    private let ptsKeyed: [(pts: Double, index: Int)]

    init(file: String, format: DetectionFormat, frames: [FrameDetections], badLines: [BadLine]) {
        self.file = file
        self.format = format
        self.frames = frames
        self.badLines = badLines
        var index: [Int: [Int]] = [:]
        var timed: [(pts: Double, index: Int)] = []
        for (i, f) in frames.enumerated() {
            switch f.key {
            case .frame(let n): index[n, default: []].append(i)
            case .pts(let t): timed.append((t, i))
            case nil: break
            }
        }
        indexByFrame = index
        ptsKeyed = timed.sorted { ($0.pts, $0.index) < ($1.pts, $1.index) }
    }

    /// Number of boxes over all frames.
    public var boxCount: Int { frames.reduce(0) { $0 + $1.boxes.count } }

    /// The boxes of 1-based frame `number` (empty when it has none), in file order.
    public func boxes(forFrame number: Int) -> [Box] {
        guard let entries = indexByFrame[number] else { return [] }
        return entries.flatMap { frames[$0].boxes }
    }

    /// The boxes of the pts-keyed entries (those without a frame number) whose time is within
    /// `tolerance` of `pts` by `FrameKey.within` (half-open: with `tolerance` half a frame interval, an
    /// entry is found by one frame at most), in order of time, then file order.
    public func boxes(nearPTS pts: Double, tolerance: Double) -> [Box] {
        guard !ptsKeyed.isEmpty else { return [] }
        // Binary search for the first entry at or after pts - tolerance - 1 µs.
        let start = pts - tolerance - 1e-6
        var lo = 0, hi = ptsKeyed.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ptsKeyed[mid].pts < start { lo = mid + 1 } else { hi = mid }
        }
        var boxes: [Box] = []
        var i = lo
        while i < ptsKeyed.count, ptsKeyed[i].pts <= pts + tolerance + 1e-6 {
            if FrameKey.within(ptsKeyed[i].pts, of: pts, tolerance: tolerance) { boxes += frames[ptsKeyed[i].index].boxes }
            i += 1
        }
        return boxes
    }

    /// The boxes for a decoded frame: those of the entries keyed by its number, then those of the
    /// pts-keyed entries within `tolerance` seconds of its pts (`FrameKey.within`). An entry has one key, so
    /// it is found by one frame at most.
    public func boxes(for frame: DecodedFrame, tolerance: Double) -> [Box] {
        boxes(forFrame: frame.number) + boxes(nearPTS: frame.pts, tolerance: tolerance)
    }

    /// Reads and parses a detections file (lines cut by `LineSplitter`).
    /// - Throws: `VideoError.unreadableFile`, or `VideoError.badLine` naming `path` and the line.
    public static func load(path: String, options: DetectionParseOptions = DetectionParseOptions()) throws -> Detections {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as? CocoaError)?.code == .fileReadNoSuchFile ? "no such file" : error.localizedDescription
            throw VideoError.unreadableFile(file: path, reason: reason)
        }
        return try data.withUnsafeBytes { try parse(bytes: $0, file: path, options: options) }
    }

    /// Parses the text of a detections file; `file` names it in errors.
    public static func parse(text: String, file: String,
                             options: DetectionParseOptions = DetectionParseOptions()) throws -> Detections {
        var text = text
        return try text.withUTF8 { try parse(bytes: UnsafeRawBufferPointer($0), file: file, options: options) }
    }

    /// Parses the UTF-8 bytes of a detections file; `file` names it in errors. Lines end at `\n`,
    /// `\r\n` or `\r` and are numbered as editors do; a leading byte order mark is skipped.
    public static func parse(bytes: UnsafeRawBufferPointer, file: String,
                             options: DetectionParseOptions = DetectionParseOptions()) throws -> Detections {
        var reader = Reader(file: file, options: options)
        var splitter = LineSplitter(maximumBytes: options.maximumLineBytes)
        let chunk = 1 << 16
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            for piece in splitter.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                try reader.read(piece, splitter: splitter)
            }
            start = end
        }
        if let last = splitter.finish() { try reader.read(last, splitter: splitter) }
        return reader.detections()
    }

    /// Parses lines one by one, the format decided by the first significant line.
    private struct Reader {
        let file: String
        let options: DetectionParseOptions
        var format: DetectionFormat?
        var badLines: [BadLine] = []
        var motRows: [(frame: Int, box: Box)] = []
        var jsonFrames: [FrameDetections] = []

        init(file: String, options: DetectionParseOptions) {
            self.file = file
            self.options = options
            format = options.format
        }

        mutating func read(_ piece: LineSplitter.Piece, splitter: LineSplitter) throws {
            do {
                switch piece {
                case .tooLong(let number, let bytes):
                    throw VideoError.badLine(file: file, line: number, reason: splitter.tooLongReason(bytes: bytes))
                case .line(let text, let number):
                    let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    guard let shown = DetectionFormat.of(line: line) else { return }
                    if format == nil { format = shown }
                    switch format ?? shown {
                    case .mot:
                        motRows.append(try MOTDetections.parseLine(line, file: file, line: number))
                    case .jsonLines:
                        jsonFrames.append(try JSONLDetections.parseLine(line, file: file, line: number))
                    }
                }
            } catch let VideoError.badLine(_, badLineNumber, reason) where options.skipBadLines {
                badLines.append(BadLine(line: badLineNumber, reason: reason))
            }
        }

        func detections() -> Detections {
            let resolved = format ?? DetectionFormat.byExtension(file: file)
            let frames = resolved == .mot ? MOTDetections.group(motRows) : jsonFrames
            return Detections(file: file, format: resolved, frames: frames, badLines: badLines)
        }
    }
}
