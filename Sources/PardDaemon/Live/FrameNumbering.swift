import PardVideo

/// Gives a stream's frames their stream-wide number and pts (see `LiveFrame`), one connection or pass
/// (a "segment") after another.
///
/// - The first segment keeps the source's own pts (a file's pts exactly), shifted only if it would
///   start below 0.
/// - Each later segment starts one frame interval after the last frame delivered.
/// - Frames at the start of a segment whose pts FFmpeg had to estimate (an RTSP stream's first frame,
///   before the RTP timestamps are synchronised, has none) are held back until the first frame with a
///   real pts, then given the times one interval apart before it. So pts never go backwards at a
///   segment's start. At most `maximumHeld` frames are held; a source without any timestamps has its
///   frames released at estimated times, one interval apart.
struct FrameNumbering {
    /// A frame ready to deliver.
    struct Numbered {
        var number: Int
        var pts: Double
        var decoded: DecodedFrame
    }

    static let maximumHeld = 25

    /// The number of the last frame handed out (0 before any).
    private(set) var lastNumber = 0
    /// The pts of the last frame handed out.
    private(set) var lastPTS: Double?
    /// Seconds between frames, from the source's frame rate (25 fps until known).
    private(set) var interval = 0.04
    private var offset: Double?
    private var held: [DecodedFrame] = []

    /// A new connection or pass over a file starts; `frameRate` as FFmpeg guesses it.
    mutating func beginSegment(frameRate: Double?) {
        offset = nil
        held.removeAll()
        if let frameRate, frameRate > 0, frameRate.isFinite { interval = 1 / frameRate }
    }

    /// The frames that can be delivered now that `decoded` came out of the decoder (none while
    /// frames without timestamps are held, several when they are released).
    mutating func accept(_ decoded: DecodedFrame) -> [Numbered] {
        if let offset { return [numbered(decoded, pts: decoded.pts + offset)] }
        if decoded.ptsIsEstimated && held.count < Self.maximumHeld {
            held.append(decoded)
            return []
        }
        // The segment's first real timestamp: place the held frames one interval apart before it.
        let heldCount = Double(held.count)
        let chosen: Double
        if let lastPTS {
            chosen = lastPTS + interval + heldCount * interval - decoded.pts
        } else {
            chosen = max(0, heldCount * interval - decoded.pts)
        }
        offset = chosen
        var result: [Numbered] = []
        for (index, frame) in held.enumerated() {
            result.append(numbered(frame, pts: decoded.pts + chosen - (heldCount - Double(index)) * interval))
        }
        held.removeAll()
        result.append(numbered(decoded, pts: decoded.pts + chosen))
        return result
    }

    /// The frames still held when a segment ends (a source that never gave a timestamp), placed one
    /// interval apart after the last frame delivered.
    mutating func flush() -> [Numbered] {
        let start = lastPTS.map { $0 + interval } ?? 0
        let frames = held
        held.removeAll()
        return frames.enumerated().map { index, frame in numbered(frame, pts: start + Double(index) * interval) }
    }

    private mutating func numbered(_ decoded: DecodedFrame, pts: Double) -> Numbered {
        lastNumber += 1
        lastPTS = max(lastPTS ?? pts, pts)
        return Numbered(number: lastNumber, pts: pts, decoded: decoded)
    }
}
