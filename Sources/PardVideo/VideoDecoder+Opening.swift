// VideoDecoder's setup: opening the input, choosing the video stream, opening its decoder; the declared duration.
import CFFmpeg

extension VideoDecoder {
    /// What `open` sets up; all of it is owned by the decoder afterwards.
    struct Opened {
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
    static func open(url: String, shownURL: String, options: DecoderOptions,
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

    /// The video stream's declared duration in seconds from its start, from the stream itself or
    /// else from the container; nil when neither declares one (live sources, raw streams).
    static func declaredDuration(context: UnsafeMutablePointer<AVFormatContext>,
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
