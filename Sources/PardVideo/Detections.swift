import Foundation

/// One pedestrian box, in pixels of the full frame, fractional: top-left corner (`x`, `y`), width
/// `w` and height `h`.
public struct Box: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var w: Double
    public var h: Double
    /// Track id; nil when untracked (MOT's -1, or absent in JSON).
    public var id: Int?
    /// Detector confidence; nil when the source gives none. MOT's `conf` column is kept as is.
    public var score: Double?

    public init(x: Double, y: Double, w: Double, h: Double, id: Int? = nil, score: Double? = nil) {
        self.x = x
        self.y = y
        self.w = w
        self.h = h
        self.id = id
        self.score = score
    }
}

/// The boxes of one frame, keyed by its 1-based frame number or by its presentation time.
public struct FrameDetections: Equatable, Sendable {
    /// 1-based frame number (MOTChallenge convention), when the source gives one.
    public var frame: Int?
    /// Presentation time in seconds from the stream start, when the source gives one.
    public var pts: Double?
    public var boxes: [Box]

    public init(frame: Int? = nil, pts: Double? = nil, boxes: [Box]) {
        self.frame = frame
        self.pts = pts
        self.boxes = boxes
    }
}

/// The two text formats of detections.
public enum DetectionFormat: String, Sendable {
    /// MOTChallenge det/gt lines: `frame,id,x,y,w,h[,conf,...]`, one box per line.
    case mot
    /// JSON lines, one frame per line: `{"frame": 12, "boxes": [{"x":..,"y":..,"w":..,"h":..}]}`.
    case jsonLines

    /// By content: the first line that is neither blank nor a `#` comment starts with `{` =>
    /// JSON lines, anything else => MOT. Without such a line, by the file extension
    /// (`.jsonl`, `.ndjson`, `.json` => JSON lines), else MOT.
    public static func detect(text: String, file: String) -> DetectionFormat {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let first = line.first(where: { !$0.isWhitespace }) else { continue }
            if first == "#" { continue }
            return first == "{" ? .jsonLines : .mot
        }
        switch URL(fileURLWithPath: file).pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": return .jsonLines
        default: return .mot
        }
    }
}

/// How to read a detections file.
public struct DetectionParseOptions: Sendable {
    /// nil = detect (see `DetectionFormat.detect`).
    public var format: DetectionFormat?
    /// false: the first malformed line throws `VideoError.badLine`. true: malformed lines are
    /// skipped and listed in `Detections.badLines`.
    public var skipBadLines: Bool

    public init(format: DetectionFormat? = nil, skipBadLines: Bool = false) {
        self.format = format
        self.skipBadLines = skipBadLines
    }
}

/// A malformed line that `skipBadLines` passed over.
public struct BadLine: Equatable, Sendable {
    /// 1-based line number in the file.
    public var line: Int
    public var reason: String
}

/// All detections of a file, grouped by frame.
public struct Detections: Sendable {
    /// Where they came from (for messages).
    public let file: String
    public let format: DetectionFormat
    /// MOT: one entry per frame number, ascending, boxes in file order. JSON lines: one entry
    /// per line, in file order (a frame repeated on two lines stays two entries).
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
            if let n = f.frame { index[n, default: []].append(i) }
            if let t = f.pts { timed.append((t, i)) }
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

    /// The boxes of the pts-keyed entry nearest to `pts` seconds, if it is within `tolerance`
    /// seconds (typically half a frame interval); empty otherwise.
    public func boxes(nearPTS pts: Double, tolerance: Double) -> [Box] {
        guard !ptsKeyed.isEmpty else { return [] }
        // Binary search for the first entry at or after pts.
        var lo = 0, hi = ptsKeyed.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ptsKeyed[mid].pts < pts { lo = mid + 1 } else { hi = mid }
        }
        var best: Int?
        var bestDistance = Double.infinity
        for candidate in [lo - 1, lo] where candidate >= 0 && candidate < ptsKeyed.count {
            let d = abs(ptsKeyed[candidate].pts - pts)
            if d < bestDistance { bestDistance = d; best = candidate }
        }
        guard let best, bestDistance <= tolerance else { return [] }
        // Entries with the same pts sit next to each other.
        let t = ptsKeyed[best].pts
        var first = best, last = best
        while first > 0 && ptsKeyed[first - 1].pts == t { first -= 1 }
        while last + 1 < ptsKeyed.count && ptsKeyed[last + 1].pts == t { last += 1 }
        return ptsKeyed[first...last].flatMap { frames[$0.index].boxes }
    }

    /// The boxes for a decoded frame: by its number when the file has frame numbers for it,
    /// else by its pts (within `tolerance` seconds).
    public func boxes(for frame: DecodedFrame, tolerance: Double) -> [Box] {
        if indexByFrame[frame.number] != nil { return boxes(forFrame: frame.number) }
        return boxes(nearPTS: frame.pts, tolerance: tolerance)
    }

    /// Reads and parses a detections file.
    /// - Throws: `VideoError.unreadableFile`, or `VideoError.badLine` naming `path` and the line.
    public static func load(path: String, options: DetectionParseOptions = DetectionParseOptions()) throws -> Detections {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as? CocoaError)?.code == .fileReadNoSuchFile ? "no such file" : error.localizedDescription
            throw VideoError.unreadableFile(file: path, reason: reason)
        }
        return try parse(text: String(decoding: data, as: UTF8.self), file: path, options: options)
    }

    /// Parses the text of a detections file; `file` names it in errors.
    public static func parse(text: String, file: String,
                             options: DetectionParseOptions = DetectionParseOptions()) throws -> Detections {
        let format = options.format ?? DetectionFormat.detect(text: text, file: file)
        var badLines: [BadLine] = []
        var lineNumber = 0
        var motRows: [(frame: Int, box: Box)] = []
        var jsonFrames: [FrameDetections] = []
        // Split on \n only, so that line numbers match editors; a trailing \r is whitespace.
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                switch format {
                case .mot:
                    motRows.append(try MOTDetections.parseLine(line, file: file, line: lineNumber))
                case .jsonLines:
                    jsonFrames.append(try JSONLDetections.parseLine(line, file: file, line: lineNumber))
                }
            } catch let VideoError.badLine(_, badLineNumber, reason) where options.skipBadLines {
                badLines.append(BadLine(line: badLineNumber, reason: reason))
            }
        }
        let frames: [FrameDetections]
        switch format {
        case .mot: frames = MOTDetections.group(motRows)
        case .jsonLines: frames = jsonFrames
        }
        return Detections(file: file, format: format, frames: frames, badLines: badLines)
    }
}
