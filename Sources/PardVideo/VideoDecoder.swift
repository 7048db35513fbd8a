import CFFmpeg

/// Decodes the best video stream of a file or URL, frame by frame, in presentation order.
///
/// Structure of FFmpeg's `doc/examples/demux_decode.c`: `avformat_open_input` ->
/// `avformat_find_stream_info` -> `av_find_best_stream` -> `avcodec_alloc_context3` ->
/// `avcodec_parameters_to_context` -> `avcodec_open2`, each step with its own error; then a
/// send/receive loop (EAGAIN = feed more, EOF = done) that unrefs every packet and frame, and a
/// final flush with a null packet.
///
/// Blocking and synchronous: call `nextFrame()` from the thread that owns the decoder. Not
/// thread-safe; the frames it returns are (see `DecodedFrame`).
///
/// How a stream ends: `nextFrame()` returns nil after the last frame of a complete stream, and
/// `state` becomes `.complete`. A read error, corrupt data (with `CorruptDataPolicy.stop`), an
/// interrupt, or a clean end well before the container's declared duration (a truncated file)
/// first delivers every frame still inside the decoder and then throws a `VideoError` naming the
/// last frame delivered; `state` becomes `.failed`, and later calls return nil.
public final class VideoDecoder {
    /// Where the decoder is.
    public enum State: Sendable, Equatable {
        /// More frames may come.
        case decoding
        /// The stream ended normally; every frame was delivered.
        case complete
        /// The stream ended with this error (already thrown by `nextFrame()`); the frames before
        /// it were delivered.
        case failed(VideoError)
    }

    /// The input as given, with credentials removed (for messages).
    public let url: String
    /// Coded picture size at open, in pixels (frames carry their own size, which may change).
    public let width: Int
    public let height: Int
    /// Pixel format at open, e.g. "yuv420p".
    public let pixelFormatName: String
    /// Decoder name, e.g. "h264", "hevc", "mpeg4", "mjpeg".
    public let codecName: String
    /// Frames per second as FFmpeg guesses it (`av_guess_frame_rate`), nil when unknown.
    public let frameRate: Double?
    /// Duration the container declares for the video stream, in seconds; nil for live sources.
    public let declaredDuration: Double?
    /// Demuxer/decoder options that nobody used (misspelt, or meant for another protocol).
    public let unusedOptions: [String]

    /// Frames delivered so far; the last one delivered had this number.
    public internal(set) var framesDelivered = 0
    /// Packets dropped as corrupt under `CorruptDataPolicy.skip`.
    public internal(set) var skippedPackets = 0
    public internal(set) var state: State = .decoding

    enum Phase { case reading, draining, finished }

    var formatContext: UnsafeMutablePointer<AVFormatContext>?
    var codecContext: UnsafeMutablePointer<AVCodecContext>?
    var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    let streamIndex: Int32
    let timeBase: Double
    let startTime: Int64?
    let corruptData: DecoderOptions.CorruptDataPolicy
    let pictureLimit: PictureLimit
    /// Kept alive for as long as `formatContext` may call it.
    let interruptHook: InterruptHook?
    var phase = Phase.reading
    var packetHeld = false
    var pendingError: VideoError?
    var lastPTS: Double?
    var lastPacketEnd: Double?

    /// Opens `url` (a path, or anything FFmpeg's protocols read: `rtsp://`, `http://`, `file:`)
    /// and sets up a decoder for its best video stream.
    /// - Throws: `VideoError.openFailed`, `.streamInfoFailed`, `.noVideoStream`,
    ///   `.decoderSetupFailed`, `.pictureTooLarge` (the stream declares a picture over
    ///   `options.pictureLimit`) or `.interrupted`, each naming the URL (credentials removed).
    public init(url: String, options: DecoderOptions = DecoderOptions()) throws {
        let shownURL = redactCredentials(url)
        let hook = options.interrupt.map(InterruptHook.init)
        let opened = try Self.open(url: url, shownURL: shownURL, options: options, hook: hook)
        self.url = shownURL
        corruptData = options.corruptData
        pictureLimit = options.pictureLimit
        interruptHook = hook
        formatContext = opened.formatContext
        codecContext = opened.codecContext
        packet = opened.packet
        frame = opened.frame
        streamIndex = opened.streamIndex

        let stream = opened.stream
        let tb = stream.pointee.time_base
        timeBase = tb.den != 0 ? Double(tb.num) / Double(tb.den) : 0
        let start = stream.pointee.start_time
        startTime = start == pard_av_nopts_value() ? nil : start
        width = Int(opened.codecContext.pointee.width)
        height = Int(opened.codecContext.pointee.height)
        pixelFormatName = PardVideo.pixelFormatName(opened.codecContext.pointee.pix_fmt.rawValue)
        codecName = String(cString: opened.codec.pointee.name)
        let rate = av_guess_frame_rate(opened.formatContext, stream, nil)
        frameRate = rate.num > 0 && rate.den > 0 ? Double(rate.num) / Double(rate.den) : nil
        declaredDuration = Self.declaredDuration(context: opened.formatContext, stream: stream)
        unusedOptions = opened.unusedOptions.sorted()
    }

    deinit {
        if packet != nil { av_packet_free(&packet) }
        if frame != nil { av_frame_free(&frame) }
        if codecContext != nil { avcodec_free_context(&codecContext) }
        if formatContext != nil { avformat_close_input(&formatContext) }
    }

    /// The next frame in presentation order, numbered from 1; nil once a complete stream has
    /// delivered its last frame (and on every call after the stream ended or failed).
    /// - Throws: `VideoError.readFailed`, `.decodeFailed`, `.endedEarly` or `.interrupted`, after
    ///   the frames decoded before the problem were delivered by earlier calls.
    public func nextFrame() throws -> DecodedFrame? {
        guard let codecContext, let frame else { return nil }
        while true {
            if phase == .finished { return nil }
            let received = avcodec_receive_frame(codecContext, frame)
            if received == 0 {
                return try deliver(frame)
            }
            if received == pard_averror_eof() {
                return try finish()
            }
            if received != pard_averror_eagain() {
                // A decoding error surfacing on the output side (frame threading reports them here).
                av_frame_unref(frame)
                if let oversized = oversizedPicture() {
                    pendingError = oversized
                    if phase == .draining { return try finish() }
                    startDraining()
                    continue
                }
                if corruptData == .skip && phase == .reading {
                    skippedPackets += 1
                    continue
                }
                if pendingError == nil {
                    pendingError = failure(.decodeFailed(url: url, frame: framesDelivered, reason: ffmpegErrorString(received)))
                }
                if phase == .draining { return try finish() }
                startDraining()
                continue
            }
            // EAGAIN: the decoder wants input.
            if phase == .draining {
                return try finish()
            }
            feed(codecContext)
        }
    }
}

/// Boxes the interrupt closure so FFmpeg's C callback can reach it through `opaque`.
final class InterruptHook {
    let check: @Sendable () -> Bool
    init(_ check: @escaping @Sendable () -> Bool) { self.check = check }
}
