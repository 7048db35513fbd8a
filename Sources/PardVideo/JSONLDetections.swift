/// JSON lines detections: one frame per line,
/// `{"frame": 12, "boxes": [{"x": 10.5, "y": 20, "w": 30, "h": 80, "id": 7, "score": 0.9}]}`,
/// or `"pts"` (seconds from the stream start) instead of `"frame"` (1-based); with both, `frame` is
/// what the line is matched by (`FrameDetections.key`). `id` and `score` are optional (null =
/// absent); other keys are ignored. Box values are pixels of the full frame, at most
/// `DetectionLimits.maximumCoordinate` in magnitude; numbers are finite (JSON has no NaN or Infinity,
/// and a literal beyond the Double range is refused).
///
/// `parseLine` is the entry point for live sources that push such lines over a socket.
public enum JSONLDetections {
    /// Parses one JSON line into the detections of one frame.
    /// - Parameters:
    ///   - file: names the source in errors (a path, or e.g. "tcp:9000" for a socket).
    ///   - line: 1-based line number for errors.
    /// - Throws: `VideoError.badLine(file, line, reason)`.
    public static func parseLine(_ text: String, file: String = "<input>", line: Int = 1) throws -> FrameDetections {
        func bad(_ reason: String) -> VideoError { .badLine(file: file, line: line, reason: reason) }
        let value: JSONValue
        do {
            var parser = JSONParser(Array(text.utf8))
            value = try parser.parseDocument()
        } catch let error as JSONParser.Failure {
            throw bad("invalid JSON at column \(error.offset + 1): \(error.message)")
        }
        guard case .object(let object) = value else {
            throw bad("expected a JSON object {\"frame\": ..., \"boxes\": [...]}, found \(value.kind)")
        }
        var frame: Int? = nil
        var pts: Double? = nil
        /// An integer within `DetectionLimits.maximumInteger`, or nil when absent or null.
        func integer(_ value: JSONValue?, _ name: String, range: String) throws -> Int? {
            guard let value, value != .null else { return nil }
            guard case .number(let n) = value, n == n.rounded() else { throw bad("\(name) must be an integer, found \(value.kind)") }
            guard abs(n) <= Double(DetectionLimits.maximumInteger) else { throw bad("\(name) is out of range: \(n) \(range)") }
            return Int(n)
        }
        if let n = try integer(object["frame"], "\"frame\"", range: DetectionLimits.frameRange) {
            guard n >= 1 else { throw bad("\"frame\" numbers start at 1, found \(n)") }
            frame = n
        }
        if let t = object["pts"], t != .null {
            guard case .number(let n) = t else { throw bad("\"pts\" must be a number of seconds, found \(t.kind)") }
            pts = n
        }
        guard frame != nil || pts != nil else { throw bad("expected a \"frame\" or \"pts\" key") }
        guard let boxesValue = object["boxes"] else { throw bad("missing \"boxes\"") }
        guard case .array(let items) = boxesValue else { throw bad("\"boxes\" must be an array, found \(boxesValue.kind)") }
        var boxes: [Box] = []
        boxes.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .object(let b) = item else { throw bad("box \(i): expected an object, found \(item.kind)") }
            func coordinate(_ key: String) throws -> Double {
                guard let v = b[key] else { throw bad("box \(i): missing \"\(key)\"") }
                guard case .number(let n) = v else { throw bad("box \(i): \"\(key)\" must be a number, found \(v.kind)") }
                guard abs(n) <= DetectionLimits.maximumCoordinate else {
                    throw bad("box \(i): \"\(key)\" is out of range: \(n) \(DetectionLimits.coordinateRange)")
                }
                return n
            }
            let x = try coordinate("x"), y = try coordinate("y")
            let w = try coordinate("w"), h = try coordinate("h")
            guard w >= 0, h >= 0 else { throw bad("box \(i): negative size w=\(w) h=\(h)") }
            let id = try integer(b["id"], "box \(i): \"id\"", range: DetectionLimits.idRange).flatMap { $0 < 0 ? nil : $0 }
            var score: Double? = nil
            if let v = b["score"], v != .null {
                guard case .number(let n) = v else { throw bad("box \(i): \"score\" must be a number, found \(v.kind)") }
                score = n
            }
            boxes.append(Box(x: x, y: y, w: w, h: h, id: id, score: score))
        }
        return FrameDetections(frame: frame, pts: pts, boxes: boxes)
    }
}
