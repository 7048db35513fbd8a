import Foundation
import Logging

/// Detection boxes of one stream that were not cropped, counted by reason and logged the first time,
/// then at 10, 100, 1000, ... of each reason, so that a detector that is always late is visible without
/// flooding the journal. Used from the detection side (late, unmatched) and the result side (invalid).
final class DropLog: @unchecked Sendable {  // `counts` under `lock`
    enum Reason: String {
        case late, unmatched, invalid

        var text: String {
            switch self {
            case .late: return "detections for frames no longer held (late)"
            case .unmatched: return "detections for frames not decoded"
            case .invalid: return "detection boxes with no area inside the frame (invalid)"
            }
        }
    }

    let stream: String
    let logger: Logger
    private let lock = NSLock()
    private var counts: [Reason: Int] = [:]

    init(stream: String, logger: Logger) {
        self.stream = stream
        self.logger = logger
    }

    /// Counts `boxes` boxes dropped for `reason`, of the frame named by `frame` or `pts`.
    func note(_ reason: Reason, boxes: Int, frame: Int?, pts: Double?) {
        lock.lock()
        let before = counts[reason, default: 0], after = before + boxes
        counts[reason] = after
        lock.unlock()
        var mark = 1
        while mark <= after {
            if mark > before {
                logger.warning("\(reason.text)", metadata: [
                    "stream": "\(stream)", "total": "\(after)",
                    "frame": "\(frame.map(String.init) ?? "-")", "pts": "\(pts.map { String(format: "%.3f", $0) } ?? "-")",
                ])
                return
            }
            mark *= 10
        }
    }
}
