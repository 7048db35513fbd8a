import PARAttributes
import PardVideo

/// pard's event lines (schema 1), one JSON object per line; see the README for the fields.
public enum Events {
    public static let schema = 1
    /// Decimals of probabilities in events.
    static let probabilityDecimals = 4

    /// `"type": "attributes"`: one classified crop.
    public static func attributes(stream: String, frame: Int, pts: Double, box: Box, rect: CropRect,
                           result: AttributeResult, set: AttributeSet) -> String {
        var o = JSONLine()
        o.add("schema", schema)
        o.add("type", "attributes")
        o.add("stream", stream)
        o.add("frame", frame)
        o.add("pts", pts, decimals: 6)
        o.add("box", object: boxObject(box))
        o.add("rect", doubles: [rect.x0, rect.y0, rect.x1, rect.y1].map(Double.init), decimals: 0)
        if let score = box.score { o.add("score", score, decimals: 4) }
        if let id = box.id, id >= 0 { o.add("id", id) }
        o.add("attributes", object: result.attributesObject(set, decimals: probabilityDecimals))
        o.add("labels", strings: result.labelNames(set))
        return o.string
    }

    /// `"type": "track"`: a finished track, with the mean of its observations; `snapshot`: the path of
    /// its snapshot (last field, only when there is one).
    public static func track(stream: String, _ t: TrackBook.Track, set: AttributeSet, threshold: Float,
                             snapshot: String? = nil) -> String {
        var o = JSONLine()
        o.add("schema", schema)
        o.add("type", "track")
        o.add("stream", stream)
        o.add("id", t.id)
        o.add("first_frame", t.firstFrame)
        o.add("last_frame", t.lastFrame)
        o.add("first_pts", t.firstPTS, decimals: 6)
        o.add("last_pts", t.lastPTS, decimals: 6)
        o.add("boxes", t.boxes)
        o.add("observations", t.observations)
        var attributes = JSONLine()
        var labels: [String] = []
        if t.observations > 0 {
            let mean = t.sums.map { Float($0 / Double(t.observations)) }
            for (i, name) in set.names.enumerated() { attributes.add(name, Double(mean[i]), decimals: probabilityDecimals) }
            labels = set.labels(probabilities: mean, threshold: threshold).map { set.names[$0] }
        }
        o.add("attributes", object: attributes)
        o.add("labels", strings: labels)
        if let snapshot { o.add("snapshot", snapshot) }
        return o.string
    }

    static func boxObject(_ b: Box) -> JSONLine {
        var o = JSONLine()
        o.add("x", b.x, decimals: 3)
        o.add("y", b.y, decimals: 3)
        o.add("w", b.w, decimals: 3)
        o.add("h", b.h, decimals: 3)
        return o
    }
}
