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
///
/// A source may give both `frame` and `pts`; then **`frame` wins**: the entry is matched to a decoded
/// frame by its number only and `pts` is kept for information (`key` says which one is used).
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

    /// What the entry is matched by: its frame number when it has one, else its pts; nil with neither.
    public var key: FrameKey? {
        if let frame { return .frame(frame) }
        if let pts { return .pts(pts) }
        return nil
    }
}

/// How detections find their decoded frame: exactly one of a 1-based frame number or a pts in seconds.
public enum FrameKey: Equatable, Sendable {
    case frame(Int)
    case pts(Double)

    /// Whether a line with this key is for the frame numbered `frame` at `pts` seconds: by its number;
    /// by its time `t` when `pts - tolerance < t <= pts + tolerance`. With `tolerance` half a frame
    /// interval, every time belongs to one frame at most (a time exactly halfway between two frames to
    /// the earlier one). Times are compared to the microsecond, so that decimal times such as 0.5 between
    /// frames at 12 x 0.04 and 13 x 0.04 s fall where arithmetic says.
    public func matches(frame: Int, pts: Double, tolerance: Double) -> Bool {
        switch self {
        case .frame(let n): return n == frame
        case .pts(let t): return Self.within(t, of: pts, tolerance: tolerance)
        }
    }

    /// `pts - tolerance < t <= pts + tolerance`, to the microsecond.
    public static func within(_ t: Double, of pts: Double, tolerance: Double) -> Bool {
        let d = ((t - pts) * 1e6).rounded(), h = (tolerance * 1e6).rounded()
        return d > -h && d <= h
    }
}

/// Bounds on the numbers of detection lines; a value outside them is refused with its line.
public enum DetectionLimits {
    /// The largest frame number and the largest |id|, 10^15 - 1: integers of this size are exact in
    /// a Double, and no video has more frames. Frame numbers go from 1 to this.
    public static let maximumInteger = 999_999_999_999_999
    /// The largest |x|, |y|, |w| and |h| of a box, pixels: 10^6. A larger value is no position in
    /// any real frame (and would overflow the arithmetic of events).
    public static let maximumCoordinate = 1_000_000.0

    /// Messages for values out of range, e.g. `(frame numbers go from 1 to 999999999999999)`.
    static let frameRange = "(frame numbers go from 1 to \(maximumInteger))"
    static let idRange = "(ids go from -\(maximumInteger) to \(maximumInteger), negative = untracked)"
    static let coordinateRange = "(box values are pixels, at most \(Int(maximumCoordinate)) in magnitude)"
}

/// The two text formats of detections.
public enum DetectionFormat: String, Sendable {
    /// MOTChallenge det/gt lines: `frame,id,x,y,w,h[,conf,...]`, one box per line.
    case mot
    /// JSON lines, one frame per line: `{"frame": 12, "boxes": [{"x":..,"y":..,"w":..,"h":..}]}`.
    case jsonLines

    /// By content: the first line that is neither blank nor a `#` comment starts with `{` =>
    /// JSON lines, anything else => MOT (lines as `LineSplitter` cuts them: any line ending, a
    /// leading byte order mark skipped). Without such a line, by the file extension
    /// (`.jsonl`, `.ndjson`, `.json` => JSON lines), else MOT.
    public static func detect(text: String, file: String) -> DetectionFormat {
        var splitter = LineSplitter(maximumBytes: Int.max)
        var text = text
        var pieces = text.withUTF8 { splitter.feed(UnsafeRawBufferPointer($0)) }
        if let last = splitter.finish() { pieces.append(last) }
        for case .line(let line, _) in pieces {
            if let format = of(line: line) { return format }
        }
        return byExtension(file: file)
    }

    /// The format a line shows: nil for a blank line or a `#` comment.
    static func of(line: String) -> DetectionFormat? {
        guard let first = line.first(where: { !$0.isWhitespace }) else { return nil }
        if first == "#" { return nil }
        return first == "{" ? .jsonLines : .mot
    }

    /// By the file extension: `.jsonl`, `.ndjson`, `.json` => JSON lines, else MOT.
    static func byExtension(file: String) -> DetectionFormat {
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
    /// The longest line read, bytes; a longer line is malformed (and not quoted).
    public var maximumLineBytes: Int

    public init(format: DetectionFormat? = nil, skipBadLines: Bool = false,
                maximumLineBytes: Int = LineSplitter.defaultMaximumBytes) {
        self.format = format
        self.skipBadLines = skipBadLines
        self.maximumLineBytes = maximumLineBytes
    }
}

/// A malformed line that `skipBadLines` passed over.
public struct BadLine: Equatable, Sendable {
    /// 1-based line number in the file.
    public var line: Int
    public var reason: String
}
