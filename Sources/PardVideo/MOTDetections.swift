import Foundation

/// MOTChallenge detection/track lines: `frame,id,x,y,w,h[,conf[,x3d,y3d,z3d]]`.
///
/// `frame` is 1-based; `id` is -1 for untracked boxes; `x,y,w,h` are fractional pixels
/// (top-left corner, width, height); `conf` is optional and later fields are ignored.
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
        func number(_ index: Int, _ name: String) throws -> Double {
            guard let value = Double(fields[index]), value.isFinite else {
                throw bad("field \(index + 1) (\(name)) is not a number: \"\(fields[index])\"")
            }
            return value
        }
        func integer(_ index: Int, _ name: String) throws -> Int {
            let value = try number(index, name)
            guard value == value.rounded(), abs(value) < 1e15 else {
                throw bad("field \(index + 1) (\(name)) is not an integer: \"\(fields[index])\"")
            }
            return Int(value)
        }
        let frame = try integer(0, "frame")
        guard frame >= 1 else { throw bad("frame numbers start at 1, found \(frame)") }
        let id = try integer(1, "id")
        let x = try number(2, "x"), y = try number(3, "y")
        let w = try number(4, "w"), h = try number(5, "h")
        guard w >= 0, h >= 0 else { throw bad("negative box size w=\(fields[4]) h=\(fields[5])") }
        var score: Double? = nil
        if fields.count >= 7, !fields[6].isEmpty {
            score = try number(6, "conf")
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
