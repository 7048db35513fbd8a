import Foundation

/// How a `VideoDecoder` opens and decodes its input.
///
/// Files need nothing but the defaults. A live source (RTSP, HTTP) passes demuxer options such as
/// `formatOptions = ["rtsp_transport": "tcp", "timeout": "5000000"]` (microseconds) and an
/// `interrupt` hook so that a blocking read can be abandoned from another thread.
public struct DecoderOptions: Sendable {
    /// What to do when the decoder rejects a packet as corrupt.
    public enum CorruptDataPolicy: Sendable, Equatable {
        /// Stop: deliver the frames still inside the decoder, then throw `VideoError.decodeFailed`.
        case stop
        /// Drop the packet, count it in `VideoDecoder.skippedPackets` and go on (live streams
        /// with packet loss).
        case skip
    }

    /// Decoder threads; 0 lets FFmpeg choose (one per core). Frame threading delays output by
    /// about one frame per thread; a live source wanting low latency can pass
    /// `codecOptions["thread_type"] = "slice"`.
    public var threads: Int
    /// Force a demuxer by FFmpeg name ("rtsp", "image2", "mpegts"); nil lets FFmpeg probe.
    public var formatName: String?
    /// Passed to `avformat_open_input` (demuxer and protocol options: `rtsp_transport`,
    /// `timeout`, `analyzeduration`, ...). Options nobody uses are listed in
    /// `VideoDecoder.unusedOptions`.
    public var formatOptions: [String: String]
    /// Passed to `avcodec_open2` (decoder options: `thread_type`, `flags`, `skip_frame`, ...).
    public var codecOptions: [String: String]
    /// Called by FFmpeg (`AVIOInterruptCB`) while it blocks on I/O, from the decoding thread;
    /// returning true makes the pending open or read fail with `VideoError.interrupted`.
    /// `{ stopSignal.isStopped }` (`StopSignal`) fits here.
    public var interrupt: (@Sendable () -> Bool)?
    /// See `CorruptDataPolicy`.
    public var corruptData: CorruptDataPolicy
    /// The largest picture decoded; see `PictureLimit`.
    public var pictureLimit: PictureLimit

    public init(threads: Int = 0, formatName: String? = nil, formatOptions: [String: String] = [:],
                codecOptions: [String: String] = [:], interrupt: (@Sendable () -> Bool)? = nil,
                corruptData: CorruptDataPolicy = .stop, pictureLimit: PictureLimit = .standard) {
        self.threads = threads
        self.formatName = formatName
        self.formatOptions = formatOptions
        self.codecOptions = codecOptions
        self.interrupt = interrupt
        self.corruptData = corruptData
        self.pictureLimit = pictureLimit
    }
}

/// The largest picture a `VideoDecoder` decodes. A small file can declare a huge picture (a 250 KB
/// PNG of 16000x16000 pixels decodes to 256 MB and more), so the size the stream declares is checked
/// before anything is decoded, FFmpeg's own `max_pixels` stops bigger frames from being allocated
/// (during probing too), and a frame that grows mid-stream past the limit ends the stream with
/// `VideoError.pictureTooLarge`.
public struct PictureLimit: Sendable, Equatable, CustomStringConvertible {
    /// Widest and tallest picture, in pixels.
    public var maxSide: Int
    /// Most pixels in one picture (width x height).
    public var maxPixels: Int

    public init(maxSide: Int, maxPixels: Int) {
        (self.maxSide, self.maxPixels) = (maxSide, maxPixels)
    }

    /// 16384 pixels a side and 40 Mpixel: 8K UHD (7680x4320, 33.2 Mpixel) fits; one frame then takes
    /// at most 60 MB as yuv420p and 120 MB as RGB.
    public static let standard = PictureLimit(maxSide: 16384, maxPixels: 40_000_000)

    /// Whether a `width` x `height` picture is within the limit (sizes of 0 or less, unknown, pass).
    public func admits(width: Int, height: Int) -> Bool {
        guard width > 0, height > 0 else { return true }
        return width <= maxSide && height <= maxSide && width * height <= maxPixels
    }

    /// `maxPixels` as FFmpeg's `max_pixels` option takes it (at most `Int32.max`).
    var ffmpegMaxPixels: Int { min(max(1, maxPixels), Int(Int32.max)) }

    /// "16384 pixels a side, 40000000 pixels", for messages.
    public var description: String { "\(maxSide) pixels a side, \(maxPixels) pixels" }
}
