import CFFmpeg
import Foundation

/// Writes a small synthetic clip with FFmpeg's own encoders, for codecs and containers the fixtures
/// lack (MPEG-4 Part 2, MJPEG; AVI, MKV, MP4). Each picture is dark grey (luma 40) left of its
/// middle column and light grey (luma 200) from it on, with neutral chroma. `sizes[i]` is the size
/// of frame i; a change of size mid-clip starts a new encoder (MJPEG pictures are independent, so
/// the stream then really changes size mid-way). Frame i has pts i / fps.
func writeSyntheticClip(to path: String, container: String, codec: AVCodecID, pixelFormat: AVPixelFormat,
                        sizes: [(Int, Int)], fps: Int32 = 10) throws {
    func check(_ result: Int32, _ step: String) throws {
        if result < 0 { throw RemuxFailure(description: "\(step) failed (\(result))") }
    }
    guard let encoderCodec = avcodec_find_encoder(codec), let first = sizes.first else {
        throw RemuxFailure(description: "no encoder")
    }
    var outputContext: UnsafeMutablePointer<AVFormatContext>? = nil
    try check(avformat_alloc_output_context2(&outputContext, nil, container, path), "avformat_alloc_output_context2")
    guard let sink = outputContext, let stream = avformat_new_stream(sink, nil) else {
        throw RemuxFailure(description: "no output context")
    }
    defer { avformat_free_context(sink) }
    let globalHeader = (sink.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0

    func makeEncoder(_ width: Int, _ height: Int) throws -> UnsafeMutablePointer<AVCodecContext> {
        guard let context = avcodec_alloc_context3(encoderCodec) else { throw RemuxFailure(description: "alloc") }
        context.pointee.width = Int32(width)
        context.pointee.height = Int32(height)
        context.pointee.pix_fmt = pixelFormat
        context.pointee.time_base = AVRational(num: 1, den: fps)
        context.pointee.framerate = AVRational(num: fps, den: 1)
        context.pointee.gop_size = 5
        context.pointee.max_b_frames = 0
        context.pointee.bit_rate = 2_000_000
        if pixelFormat == AV_PIX_FMT_YUVJ420P { context.pointee.color_range = AVCOL_RANGE_JPEG }
        if globalHeader { context.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var c: UnsafeMutablePointer<AVCodecContext>? = context
        let opened = avcodec_open2(context, encoderCodec, nil)
        if opened < 0 { avcodec_free_context(&c) }
        try check(opened, "avcodec_open2")
        return context
    }

    var encoder: UnsafeMutablePointer<AVCodecContext>? = try makeEncoder(first.0, first.1)
    defer { avcodec_free_context(&encoder) }
    guard let firstEncoder = encoder else { throw RemuxFailure(description: "no encoder") }
    try check(avcodec_parameters_from_context(stream.pointee.codecpar, firstEncoder), "avcodec_parameters_from_context")
    stream.pointee.time_base = firstEncoder.pointee.time_base
    try check(avio_open(&sink.pointee.pb, path, AVIO_FLAG_WRITE), "avio_open")
    defer { avio_closep(&sink.pointee.pb) }
    try check(avformat_write_header(sink, nil), "avformat_write_header")

    var packet = av_packet_alloc()
    defer { av_packet_free(&packet) }
    guard let packet else { throw RemuxFailure(description: "av_packet_alloc") }
    func drain(_ context: UnsafeMutablePointer<AVCodecContext>) throws {
        while avcodec_receive_packet(context, packet) >= 0 {
            // One frame interval; without it MP4's edit list leaves out the last picture.
            if packet.pointee.duration == 0 { packet.pointee.duration = 1 }
            av_packet_rescale_ts(packet, context.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            try check(av_interleaved_write_frame(sink, packet), "av_interleaved_write_frame")
        }
    }

    var currentSize = (first.0, first.1)
    for (i, size) in sizes.enumerated() {
        if size != currentSize, let old = encoder {
            _ = avcodec_send_frame(old, nil)
            try drain(old)
            avcodec_free_context(&encoder)
            encoder = try makeEncoder(size.0, size.1)
            currentSize = size
        }
        guard let context = encoder else { throw RemuxFailure(description: "no encoder") }
        var frame = av_frame_alloc()
        defer { av_frame_free(&frame) }
        guard let frame else { throw RemuxFailure(description: "av_frame_alloc") }
        frame.pointee.format = pixelFormat.rawValue
        frame.pointee.width = Int32(size.0)
        frame.pointee.height = Int32(size.1)
        try check(av_frame_get_buffer(frame, 0), "av_frame_get_buffer")
        guard let y = frame.pointee.data.0, let u = frame.pointee.data.1, let v = frame.pointee.data.2 else {
            throw RemuxFailure(description: "no planes")
        }
        for row in 0..<size.1 {
            for column in 0..<size.0 {
                y[row * Int(frame.pointee.linesize.0) + column] = column < size.0 / 2 ? 40 : 200
            }
        }
        for row in 0..<(size.1 + 1) / 2 {
            for column in 0..<(size.0 + 1) / 2 {
                u[row * Int(frame.pointee.linesize.1) + column] = 128
                v[row * Int(frame.pointee.linesize.2) + column] = 128
            }
        }
        frame.pointee.pts = Int64(i)
        try check(avcodec_send_frame(context, frame), "avcodec_send_frame")
        try drain(context)
    }
    if let context = encoder {
        _ = avcodec_send_frame(context, nil)
        try drain(context)
    }
    try check(av_write_trailer(sink), "av_write_trailer")
}
