import Foundation
import PardVideo

/// One decoded frame of a live stream, numbered for the whole life of the stream.
///
/// Numbering (what detections refer to as `frame` and `pts`):
/// - `number` is 1 for the stream's first frame and goes up by one for every frame delivered, across
///   reconnections (RTSP) and loops (files): it never repeats, so a detection keyed by frame number is
///   never ambiguous. A frame lost on the network simply never gets a number.
/// - `pts` (seconds) is the source's own presentation time during the first connection and first pass
///   of a file (so a detection file made for a video file matches it by `pts`), then shifted so that it
///   keeps increasing: each new connection or loop starts one frame interval after the last frame
///   delivered. It is therefore also unambiguous.
/// - `decoded.number` and `decoded.pts` are the decoder's own values for the current connection
///   (restarting at 1 and near 0 on every reconnection or loop); `connection` and `pass` say which.
public struct LiveFrame: Sendable {
    /// Stream-wide 1-based frame number (see the type's comment).
    public let number: Int
    /// Stream-wide presentation time, seconds (see the type's comment).
    public let pts: Double
    /// Which successful connection of the stream delivered it (1 = the first).
    public let connection: Int
    /// Which pass over a looping file (1 = the first); always 1 for RTSP.
    public let pass: Int
    /// When the frame left the decoder (monotonic clock).
    public let decodedAt: ContinuousClock.Instant
    /// The picture, with the decoder's per-connection number and pts.
    public let decoded: DecodedFrame
    /// Seconds between frames, from the source's frame rate (0.04 until known).
    public let interval: Double

    public init(number: Int, pts: Double, connection: Int, pass: Int, decodedAt: ContinuousClock.Instant, decoded: DecodedFrame,
                interval: Double = 0.04) {
        (self.number, self.pts, self.interval) = (number, pts, interval)
        (self.connection, self.pass, self.decodedAt, self.decoded) = (connection, pass, decodedAt, decoded)
    }

    /// Picture width in pixels.
    public var width: Int { decoded.width }
    /// Picture height in pixels.
    public var height: Int { decoded.height }
}
