/// Everything that can go wrong in PardVideo. Each case carries the offending input (file and line,
/// URL with any credentials removed, frame number, FFmpeg's own error text) and `description` is one
/// line, e.g. `dets.txt:17: expected at least 6 comma-separated fields, found 3`.
public enum VideoError: Error, Equatable, Sendable, CustomStringConvertible {
    // Opening a video or image (`url` has credentials removed).
    /// `avformat_open_input` failed.
    case openFailed(url: String, reason: String)
    /// `avformat_find_stream_info` failed.
    case streamInfoFailed(url: String, reason: String)
    /// `av_find_best_stream` found no video stream (or no decoder for it).
    case noVideoStream(url: String, reason: String)
    /// One step of setting up the decoder failed: `step` is the FFmpeg function
    /// (`avcodec_alloc_context3`, `avcodec_parameters_to_context`, `avcodec_open2`, an option).
    case decoderSetupFailed(url: String, step: String, reason: String)

    // Decoding. `frame` is the number of the last frame delivered (0 = none): frames 1...frame
    // were delivered before the problem.
    /// `av_read_frame` failed with something other than end of file (I/O error, corrupt container).
    case readFailed(url: String, frame: Int, reason: String)
    /// The decoder rejected the data (`avcodec_send_packet` / `avcodec_receive_frame`).
    case decodeFailed(url: String, frame: Int, reason: String)
    /// The input ended cleanly but well before the duration its container declares (a truncated
    /// file whose container does not notice). `reached` and `expected` are in seconds.
    case endedEarly(url: String, frame: Int, reached: Double, expected: Double)
    /// The interrupt hook of `DecoderOptions` asked FFmpeg to stop.
    case interrupted(url: String, frame: Int)
    /// An image file opened but held no picture.
    case noPicture(url: String)
    /// The stream declares (or, after frame `frame`, changes to) a picture larger than `limit`;
    /// refused before the picture is decoded.
    case pictureTooLarge(url: String, frame: Int, width: Int, height: Int, limit: PictureLimit)

    // Detections.
    /// A detections file could not be read at all.
    case unreadableFile(file: String, reason: String)
    /// One line of a detections file (1-based `line`) is malformed.
    case badLine(file: String, line: Int, reason: String)

    // Crops.
    /// A box has no area once rounded and clamped to the frame; it is not cropped.
    case emptyCrop(frame: Int, x: Double, y: Double, w: Double, h: Double, frameWidth: Int, frameHeight: Int)
    /// The caller's buffer is smaller than one crop (`needed` = 3 * size * size floats).
    case bufferTooSmall(needed: Int, got: Int)
    /// swscale could not convert frame `frame` (pixel format `pixelFormat`).
    case conversionFailed(frame: Int, pixelFormat: String, reason: String)
    /// Writing an image file failed.
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .openFailed(url, reason):
            return "\(url): cannot open: \(reason)"
        case let .streamInfoFailed(url, reason):
            return "\(url): cannot read stream information: \(reason)"
        case let .noVideoStream(url, reason):
            return "\(url): no decodable video stream: \(reason)"
        case let .decoderSetupFailed(url, step, reason):
            return "\(url): decoder setup failed in \(step): \(reason)"
        case let .readFailed(url, frame, reason):
            return "\(url): reading failed after frame \(frame): \(reason)"
        case let .decodeFailed(url, frame, reason):
            return "\(url): decoding failed after frame \(frame): \(reason)"
        case let .endedEarly(url, frame, reached, expected):
            return "\(url): stream ended early after frame \(frame) (at \(Self.seconds(reached)) s of \(Self.seconds(expected)) s): truncated?"
        case let .interrupted(url, frame):
            return "\(url): interrupted after frame \(frame)"
        case let .noPicture(url):
            return "\(url): no picture in the file"
        case let .pictureTooLarge(url, frame, width, height, limit):
            let when = frame == 0 ? "" : " after frame \(frame)"
            return "\(url): picture of \(width)x\(height) pixels\(when), larger than pard decodes (\(limit))"
        case let .unreadableFile(file, reason):
            return "\(file): cannot read: \(reason)"
        case let .badLine(file, line, reason):
            return "\(file):\(line): \(reason)"
        case let .emptyCrop(frame, x, y, w, h, fw, fh):
            return "frame \(frame): box x=\(x) y=\(y) w=\(w) h=\(h) has no area inside the \(fw)x\(fh) frame"
        case let .bufferTooSmall(needed, got):
            return "crop buffer holds \(got) floats, one crop needs \(needed)"
        case let .conversionFailed(frame, pixelFormat, reason):
            return "frame \(frame): cannot convert pixel format \(pixelFormat): \(reason)"
        case let .writeFailed(file, reason):
            return "\(file): cannot write: \(reason)"
        }
    }

    /// The same decoding error, saying frame `frame` was reached.
    func reachingFrame(_ frame: Int) -> VideoError {
        switch self {
        case let .readFailed(url, _, reason): return .readFailed(url: url, frame: frame, reason: reason)
        case let .decodeFailed(url, _, reason): return .decodeFailed(url: url, frame: frame, reason: reason)
        case let .endedEarly(url, _, reached, expected):
            return .endedEarly(url: url, frame: frame, reached: reached, expected: expected)
        case let .interrupted(url, _): return .interrupted(url: url, frame: frame)
        case let .pictureTooLarge(url, _, width, height, limit):
            return .pictureTooLarge(url: url, frame: frame, width: width, height: height, limit: limit)
        default: return self
        }
    }

    private static func seconds(_ t: Double) -> String {
        let r = (t * 1000).rounded() / 1000
        return "\(r)"
    }
}
