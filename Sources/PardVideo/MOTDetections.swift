import Foundation

/// MOTChallenge detection/track lines: `frame,id,x,y,w,h[,conf[,x3d,y3d,z3d]]`.
///
/// `frame` is 1-based; `id` is -1 for untracked boxes; `x,y,w,h` are fractional pixels
/// (top-left corner, width, height); `conf` is optional and later fields are ignored.
/// Every number must be finite; `frame` and `id` are integers of at most
/// `DetectionLimits.maximumInteger`, `x,y,w,h` at most `DetectionLimits.maximumCoordinate` in magnitude.
public enum MOTDetections {
    /// Parses one non-blank, non-comment line into its frame number and box.
    /// - Throws: `VideoError.badLine(file, line, reason)`.
    public static func parseLine(_ text: String, file: String, line: Int) throws -> (frame: Int, box: Box) {
        func bad(_ reason: String) -> VideoError { .badLine(file: file, line: line, reason: reason) }
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.count >= 6 else {
            throw bad("expected at least 6 comma-separated fields, found \(fields.count)")
        }
        /// Field `index` as a finite number of magnitude at most `limit` (`range` says so in messages).
        func number(_ index: Int, _ name: String, limit: Double, range: String) throws -> Double {
            let text = fields[index]
            func refuse(_ what: String, _ suffix: String = "") -> VideoError {
                bad("field \(index + 1) (\(name)) \(what): \(InputExcerpt.quoted(text))\(suffix)")
            }
            guard let value = Double(text) else { throw refuse("is not a number") }
            // "nan", "inf", "infinity" are literals; any other infinity is a number beyond the Double range.
            if value.isNaN || (value.isInfinite && text.lowercased().contains("inf")) { throw refuse("is not a finite number") }
            guard abs(value) <= limit else { throw refuse("is out of range", " " + range) }
            return value
        }
        func integer(_ index: Int, _ name: String, range: String) throws -> Int {
            let value = try number(index, name, limit: Double(DetectionLimits.maximumInteger), range: range)
            guard value == value.rounded() else {
                throw bad("field \(index + 1) (\(name)) is not an integer: \(InputExcerpt.quoted(fields[index]))")
            }
            return Int(value)
        }
        func coordinate(_ index: Int, _ name: String) throws -> Double {
            try number(index, name, limit: DetectionLimits.maximumCoordinate, range: DetectionLimits.coordinateRange)
        }
        let frame = try integer(0, "frame", range: DetectionLimits.frameRange)
        guard frame >= 1 else { throw bad("frame numbers start at 1, found \(frame)") }
        let id = try integer(1, "id", range: DetectionLimits.idRange)
        let x = try coordinate(2, "x"), y = try coordinate(3, "y")
        let w = try coordinate(4, "w"), h = try coordinate(5, "h")
        guard w >= 0, h >= 0 else {
            throw bad("negative box size w=\(InputExcerpt.quoted(fields[4])) h=\(InputExcerpt.quoted(fields[5]))")
        }
        var score: Double? = nil
        if fields.count >= 7, !fields[6].isEmpty {
            score = try number(6, "conf", limit: .greatestFiniteMagnitude, range: "(beyond the range of a Double)")
        }
        return (frame, Box(x: x, y: y, w: w, h: h, id: id < 0 ? nil : id, score: score))
    }

    /// Groups rows by frame number: ascending frames, boxes in file order within a frame.
    static func group(_ rows: [(frame: Int, box: Box)]) -> [FrameDetections] {
        var byFrame: [Int: [Box]] = [:]
        for row in rows { byFrame[row.frame, default: []].append(row.box) }
        return byFrame.keys.sorted().map { FrameDetections(frame: $0, pts: nil, boxes: byFrame[$0] ?? []) }
    }
}
