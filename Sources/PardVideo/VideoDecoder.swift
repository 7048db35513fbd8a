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
    public private(set) var framesDelivered = 0
    /// Packets dropped as corrupt under `CorruptDataPolicy.skip`.
    public private(set) var skippedPackets = 0
    public private(set) var state: State = .decoding

    private enum Phase { case reading, draining, finished }

    private var formatContext: UnsafeMutablePointer<AVFormatContext>?
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private let streamIndex: Int32
    private let timeBase: Double
    private let startTime: Int64?
    private let corruptData: DecoderOptions.CorruptDataPolicy
    private let pictureLimit: PictureLimit
    /// Kept alive for as long as `formatContext` may call it.
    private let interruptHook: InterruptHook?
    private var phase = Phase.reading
    private var packetHeld = false
    private var pendingError: VideoError?
    private var lastPTS: Double?
    private var lastPacketEnd: Double?

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

    /// What `open` sets up; all of it is owned by the decoder afterwards.
    private struct Opened {
        var formatContext: UnsafeMutablePointer<AVFormatContext>
        var codecContext: UnsafeMutablePointer<AVCodecContext>
        var codec: UnsafePointer<AVCodec>
        var stream: UnsafeMutablePointer<AVStream>
        var streamIndex: Int32
        var packet: UnsafeMutablePointer<AVPacket>
        var frame: UnsafeMutablePointer<AVFrame>
        var unusedOptions: [String]
    }

    /// The steps of demux_decode.c's `open_codec_context`, each with its own error; frees
    /// whatever it had set up when a step fails.
    private static func open(url: String, shownURL: String, options: DecoderOptions,
                             hook: InterruptHook?) throws -> Opened {
        var formatContext: UnsafeMutablePointer<AVFormatContext>? = nil
        var codecContext: UnsafeMutablePointer<AVCodecContext>? = nil
        var packet: UnsafeMutablePointer<AVPacket>? = nil
        var frame: UnsafeMutablePointer<AVFrame>? = nil
        var succeeded = false
        defer {
            if !succeeded {
                av_packet_free(&packet)
                av_frame_free(&frame)
                avcodec_free_context(&codecContext)
                avformat_close_input(&formatContext)
            }
        }

        // avformat_alloc_context first, so that the interrupt hook covers the open itself.
        guard let allocated = avformat_alloc_context() else {
            throw VideoError.openFailed(url: shownURL, reason: "cannot allocate a format context")
        }
        if let hook {
            allocated.pointee.interrupt_callback = AVIOInterruptCB(
                callback: { opaque in
                    guard let opaque else { return 0 }
                    return Unmanaged<InterruptHook>.fromOpaque(opaque).takeUnretainedValue().check() ? 1 : 0
                },
                opaque: Unmanaged.passUnretained(hook).toOpaque())
        }
        var inputFormat: UnsafePointer<AVInputFormat>? = nil
        if let name = options.formatName {
            inputFormat = av_find_input_format(name)
            if inputFormat == nil {
                avformat_free_context(allocated)
                throw VideoError.openFailed(url: shownURL, reason: "FFmpeg has no demuxer named \"\(name)\"")
            }
        }
        formatContext = allocated
        var formatOptions = makeDictionary(options.formatOptions)
        // On failure avformat_open_input frees the context and sets the pointer to nil.
        let openResult = avformat_open_input(&formatContext, url, inputFormat, &formatOptions)
        var unused = dictionaryKeys(formatOptions)
        av_dict_free(&formatOptions)
        guard openResult >= 0, let context = formatContext else {
            if openResult == pard_averror_exit() { throw VideoError.interrupted(url: shownURL, frame: 0) }
            throw VideoError.openFailed(url: shownURL, reason: ffmpegErrorString(openResult))
        }

        // The sizes the container declares: probing may replace a size FFmpeg refuses with 0x0.
        let declaredSizes = (0..<Int(context.pointee.nb_streams)).map { i -> (Int, Int) in
            guard let parameters = context.pointee.streams[i]?.pointee.codecpar else { return (0, 0) }
            return (Int(parameters.pointee.width), Int(parameters.pointee.height))
        }
        // Probing may decode a picture (image files declare their size nowhere else): FFmpeg's
        // max_pixels keeps it from allocating a huge one.
        var probeOptions = [OpaquePointer?](repeating: nil, count: Int(context.pointee.nb_streams))
        for i in probeOptions.indices { av_dict_set(&probeOptions[i], "max_pixels", "\(options.pictureLimit.ffmpegMaxPixels)", 0) }
        let infoResult = probeOptions.withUnsafeMutableBufferPointer { avformat_find_stream_info(context, $0.baseAddress) }
        for i in probeOptions.indices { av_dict_free(&probeOptions[i]) }
        guard infoResult >= 0 else {
            if infoResult == pard_averror_exit() { throw VideoError.interrupted(url: shownURL, frame: 0) }
            throw VideoError.streamInfoFailed(url: shownURL, reason: ffmpegErrorString(infoResult))
        }
        var decoder: UnsafePointer<AVCodec>? = nil
        let best = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        guard best >= 0, let codec = decoder, let stream = context.pointee.streams[Int(best)] else {
            let reason = best == pard_averror_decoder_not_found()
                ? "no decoder for its codec" : ffmpegErrorString(best)
            throw VideoError.noVideoStream(url: shownURL, reason: reason)
        }
        let probed = (Int(stream.pointee.codecpar.pointee.width), Int(stream.pointee.codecpar.pointee.height))
        // Streams may also appear during probing (MPEG-TS), with no declared size.
        let declared = declaredSizes.indices.contains(Int(best)) ? declaredSizes[Int(best)] : (0, 0)
        for (width, height) in [declared, probed] where !options.pictureLimit.admits(width: width, height: height) {
            throw VideoError.pictureTooLarge(url: shownURL, frame: 0, width: width, height: height, limit: options.pictureLimit)
        }
        for i in 0..<Int(context.pointee.nb_streams) where i != Int(best) {
            context.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }

        codecContext = avcodec_alloc_context3(codec)
        guard let codecContextPointer = codecContext else {
            throw VideoError.decoderSetupFailed(url: shownURL, step: "avcodec_alloc_context3",
                                                reason: "cannot allocate a codec context")
        }
        let parametersResult = avcodec_parameters_to_context(codecContextPointer, stream.pointee.codecpar)
        guard parametersResult >= 0 else {
            throw VideoError.decoderSetupFailed(url: shownURL, step: "avcodec_parameters_to_context",
                                                reason: ffmpegErrorString(parametersResult))
        }
        codecContextPointer.pointee.thread_count = Int32(clamping: max(0, options.threads))
        codecContextPointer.pointee.pkt_timebase = stream.pointee.time_base
        // A frame over the limit (an image file whose size probing could not read, a size change
        // mid-stream) is refused before it is allocated; `oversizedPicture` then names its size.
        pard_limit_frame_pixels(codecContextPointer, Int64(options.pictureLimit.ffmpegMaxPixels))
        var codecOptions = makeDictionary(options.codecOptions)
        let openCodecResult = avcodec_open2(codecContextPointer, codec, &codecOptions)
        unused += dictionaryKeys(codecOptions)
        av_dict_free(&codecOptions)
        guard openCodecResult >= 0 else {
            throw VideoError.decoderSetupFailed(url: shownURL, step: "avcodec_open2",
                                                reason: ffmpegErrorString(openCodecResult))
        }
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard let packetPointer = packet, let framePointer = frame else {
            throw VideoError.decoderSetupFailed(url: shownURL, step: "av_packet_alloc/av_frame_alloc",
                                                reason: "out of memory")
        }
        succeeded = true
        return Opened(formatContext: context, codecContext: codecContextPointer, codec: codec, stream: stream,
                      streamIndex: best, packet: packetPointer, frame: framePointer, unusedOptions: unused)
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

    // MARK: - Loop steps

    /// Reads one packet of our stream and sends it to the decoder, or starts draining at the end
    /// of the input or on an error.
    private func feed(_ codecContext: UnsafeMutablePointer<AVCodecContext>) {
        guard let formatContext, let packet else { return }
        if !packetHeld {
            let read = av_read_frame(formatContext, packet)
            if read == pard_averror_eagain() { return }
            if read < 0 {
                if read == pard_averror_exit() {
                    pendingError = .interrupted(url: url, frame: framesDelivered)
                } else if read != pard_averror_eof() {
                    pendingError = failure(.readFailed(url: url, frame: framesDelivered, reason: ffmpegErrorString(read)))
                } else if let pb = formatContext.pointee.pb, pb.pointee.error < 0 {
                    pendingError = failure(.readFailed(url: url, frame: framesDelivered,
                                                       reason: ffmpegErrorString(pb.pointee.error)))
                }
                startDraining()
                return
            }
            if packet.pointee.stream_index != streamIndex {
                av_packet_unref(packet)
                return
            }
            notePacketEnd(packet)
        }
        let sent = avcodec_send_packet(codecContext, packet)
        if sent == pard_averror_eagain() {
            // Not expected (we receive until EAGAIN before sending), but keep the packet for later.
            packetHeld = true
            return
        }
        packetHeld = false
        av_packet_unref(packet)
        if sent < 0 && sent != pard_averror_eof() {
            if let oversized = oversizedPicture() {
                pendingError = oversized
                startDraining()
                return
            }
            if corruptData == .skip {
                skippedPackets += 1
                return
            }
            pendingError = failure(.decodeFailed(url: url, frame: framesDelivered, reason: ffmpegErrorString(sent)))
            startDraining()
        }
    }

    /// `error`, unless the interrupt hook is raised: an interrupted read often surfaces as a short
    /// packet the decoder rejects, and the caller should hear "interrupted", not "corrupt".
    private func failure(_ error: VideoError) -> VideoError {
        if let interruptHook, interruptHook.check() {
            return .interrupted(url: url, frame: framesDelivered)
        }
        return error
    }

    /// `.pictureTooLarge` when the decoder has moved to a picture size over the limit (FFmpeg then
    /// refuses to allocate the frame, and the decoder reports an error), else nil.
    private func oversizedPicture() -> VideoError? {
        guard let codecContext else { return nil }
        let width = Int(codecContext.pointee.width), height = Int(codecContext.pointee.height)
        guard !pictureLimit.admits(width: width, height: height) else { return nil }
        return .pictureTooLarge(url: url, frame: framesDelivered, width: width, height: height, limit: pictureLimit)
    }

    /// Remembers how far into the stream the demuxer got (end of the latest packet, in seconds
    /// from the stream start), so that "ended early" is judged on what was read, not on what the
    /// decoder chose to output (`skip_frame`, say).
    private func notePacketEnd(_ packet: UnsafeMutablePointer<AVPacket>) {
        let nopts = pard_av_nopts_value()
        let stamp = packet.pointee.pts != nopts ? packet.pointee.pts : packet.pointee.dts
        guard stamp != nopts else { return }
        let end = Double(stamp - (startTime ?? 0) + max(0, packet.pointee.duration)) * timeBase
        if end.isFinite { lastPacketEnd = max(lastPacketEnd ?? end, end) }
    }

    /// Flush: a null packet makes the decoder return the frames it still holds, then EOF.
    private func startDraining() {
        phase = .draining
        if let packet, packetHeld {
            av_packet_unref(packet)
            packetHeld = false
        }
        if let codecContext {
            _ = avcodec_send_packet(codecContext, nil)
        }
    }

    private func deliver(_ frame: UnsafeMutablePointer<AVFrame>) throws -> DecodedFrame {
        let number = framesDelivered + 1
        let timestamp = frame.pointee.best_effort_timestamp
        var pts: Double
        var estimated = false
        if timestamp != pard_av_nopts_value() {
            pts = Double(timestamp - (startTime ?? 0)) * timeBase
        } else {
            estimated = true
            let interval = frameRate.map { 1 / $0 } ?? 0
            pts = lastPTS.map { $0 + interval } ?? 0
        }
        if pts.isNaN { pts = 0 }
        let width = Int(frame.pointee.width), height = Int(frame.pointee.height)
        guard pictureLimit.admits(width: width, height: height) else {
            throw stop(frame, .pictureTooLarge(url: url, frame: framesDelivered, width: width, height: height, limit: pictureLimit))
        }
        guard let decoded = DecodedFrame(takingFrom: frame, number: number, pts: pts, ptsIsEstimated: estimated) else {
            throw stop(frame, .decodeFailed(url: url, frame: framesDelivered, reason: "cannot allocate a frame"))
        }
        framesDelivered = number
        lastPTS = pts
        return decoded
    }

    /// Drops `frame` and ends the stream with `error` (returned, for the caller to throw).
    private func stop(_ frame: UnsafeMutablePointer<AVFrame>, _ error: VideoError) -> VideoError {
        av_frame_unref(frame)
        phase = .finished
        state = .failed(error)
        return error
    }

    /// End of the decoder's output: complete, or the error met on the way, or "ended early".
    private func finish() throws -> DecodedFrame? {
        phase = .finished
        if let recorded = pendingError {
            // Frames still inside the decoder were delivered after the problem was met: name the
            // last frame the caller actually got.
            let error = recorded.reachingFrame(framesDelivered)
            pendingError = nil
            state = .failed(error)
            throw error
        }
        if let expected = declaredDuration {
            let interval = frameRate.map { 1 / $0 } ?? 0
            let reached = max((lastPTS.map { $0 + interval }) ?? 0, lastPacketEnd ?? 0)
            // Container durations are approximate (rounding, an audio track that runs longer);
            // only a shortfall of more than two frames and half a second counts.
            let tolerance = max(2 * interval, 0.5)
            if reached < expected - tolerance {
                let error = VideoError.endedEarly(url: url, frame: framesDelivered, reached: reached, expected: expected)
                state = .failed(error)
                throw error
            }
        }
        state = .complete
        return nil
    }

    /// The video stream's declared duration in seconds from its start, from the stream itself or
    /// else from the container; nil when neither declares one (live sources, raw streams).
    private static func declaredDuration(context: UnsafeMutablePointer<AVFormatContext>,
                                         stream: UnsafeMutablePointer<AVStream>) -> Double? {
        let nopts = pard_av_nopts_value()
        let tb = stream.pointee.time_base
        let tbSeconds = tb.den != 0 ? Double(tb.num) / Double(tb.den) : 0
        if stream.pointee.duration != nopts && stream.pointee.duration > 0 && tbSeconds > 0 {
            return Double(stream.pointee.duration) * tbSeconds
        }
        let duration = context.pointee.duration
        guard duration != nopts, duration > 0 else { return nil }
        var seconds = Double(duration) / Double(AV_TIME_BASE)
        // The container's duration runs from its own start; the video may start later.
        if context.pointee.start_time != nopts, stream.pointee.start_time != nopts, tbSeconds > 0 {
            let offset = Double(stream.pointee.start_time) * tbSeconds - Double(context.pointee.start_time) / Double(AV_TIME_BASE)
            if offset > 0 { seconds -= offset }
        }
        return seconds > 0 ? seconds : nil
    }
}

/// Boxes the interrupt closure so FFmpeg's C callback can reach it through `opaque`.
final class InterruptHook {
    let check: @Sendable () -> Bool
    init(_ check: @escaping @Sendable () -> Bool) { self.check = check }
}
