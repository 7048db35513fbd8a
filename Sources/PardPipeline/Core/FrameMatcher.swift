import PardVideo

/// Which decoded frame a detection line is for, one rule for `pard process` and `pard run`:
/// - a line with `frame` is for the frame of that stream-wide 1-based number (`frame` wins when a line
///   has both `frame` and `pts`);
/// - a line with only `pts` `t` is for the frame at `pts` when `pts - h < t <= pts + h`, `h` half a
///   frame interval (`tolerance`: 0.02 s at 25 frames/s), to the microsecond (`FrameKey.within`): the
///   nearest frame, a time exactly halfway going to the earlier one, so that a line is for one frame at
///   most; a time no frame is that near is for none.
/// MOTChallenge files always give frame numbers.
public struct FrameMatcher: Sendable, Equatable {
    /// Half a frame interval, seconds.
    public let tolerance: Double

    /// `frameRate` in frames/s as the decoder reports it; 25 when unknown.
    public init(frameRate: Double?) {
        let rate = frameRate.flatMap { $0.isFinite && $0 > 0 ? $0 : nil } ?? 25
        tolerance = 0.5 / rate
    }

    /// Whether a line with `key` (`FrameDetections.key`: its frame when it has one) is for the frame numbered `frame` at `pts` seconds.
    public func matches(_ key: FrameKey, frame: Int, pts: Double) -> Bool {
        key.matches(frame: frame, pts: pts, tolerance: tolerance)
    }

    /// The boxes of a detections file for the decoded frame at `position`, by this rule.
    public func boxes(in detections: Detections, for position: FramePosition) -> [Box] {
        detections.boxes(forFrame: position.frame) + detections.boxes(nearPTS: position.pts, tolerance: tolerance)
    }
}
