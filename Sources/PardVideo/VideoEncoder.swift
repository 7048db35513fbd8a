import CFFmpeg
import Foundation

/// Re-encodes decoded frames into a video file, drawing on each one first (`pard process --annotate`).
///
/// The codec is libavcodec's H.264 through libx264 when FFmpeg has it (Debian's does), else MPEG-4
/// Part 2; the container follows the file name (`.mp4`, `.mkv`, ...; MP4 when unknown; a JPEG pattern such
/// as `frame-%03d.jpg` writes one MJPEG picture per frame, 4:2:0 at q 4). Pictures keep
/// the source's chroma layout where the codec allows (4:2:0, 4:2:2 and 4:4:4 with libx264; 4:2:0 with
/// MPEG-4), and 4:4:4 for odd sizes that 4:2:0 or 4:2:2 cannot hold; its range and YUV matrix are kept
/// too, so pixels nobody draws on come out as they went in, up to the codec's loss. Each frame keeps
/// its timestamp: the output's time base is the input stream's, and frame `n` of the output has the pts
/// of frame `n` of the input (no B-frames, so no reordering delay). The encoder opens at the first
/// frame (its size and format), which fixes the output size: later frames of another size are scaled
/// to it, their drawings too. One thread only; x264 runs on the caller's thread (`threads` 1), so
/// encoding stays where the caller puts it.
public final class VideoEncoder {
    /// The output file.
    public let path: String
    /// Name of the encoder used once open ("libx264", "mpeg4"); nil before the first frame.
    public private(set) var codecName: String?
    /// Frames written so far.
    public private(set) var framesWritten = 0

    private let timeBase: AVRational
    private let frameRate: Double?
    /// Chosen by the caller instead of by the first frame (test clips in given formats).
    private let codecOverride: String?
    private let formatOverride: String?
    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var context: UnsafeMutablePointer<AVCodecContext>?
    private var picture: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var scalerSource: (format: Int32, width: Int32, height: Int32)?
    private var painter: FramePainter?
    private var lastPTS: Int64 = .min
    private var headerWritten = false
    private var finished = false

    /// An encoder writing to `path` frames decoded by `decoder` (its stream's time base and frame rate).
    public convenience init(path: String, for decoder: VideoDecoder) {
        self.init(path: path, timeBase: decoder.streamTimeBase, frameRate: decoder.frameRate)
    }

    /// An encoder of RGB pictures (`write(_:pts:)`) at `frameRate` frames/s, with `codec` (an FFmpeg
    /// encoder name such as "libx264", "mjpeg", "mpeg4"; default as above) in `pixelFormat` ("yuv422p",
    /// "yuvj420p", ...; default 4:2:0, or 4:4:4 for odd sizes): clips of any layout, for tests and demos.
    public convenience init(path: String, frameRate: Int, pixelFormat: String? = nil, codec: String? = nil) {
        self.init(path: path, timeBase: AVRational(num: 1, den: Int32(max(1, frameRate))), frameRate: Double(frameRate),
                  codec: codec, pixelFormat: pixelFormat)
    }

    /// An encoder writing to `path`; pts are kept in `timeBase` (`num`/`den` seconds).
    init(path: String, timeBase: AVRational, frameRate: Double?, codec: String? = nil, pixelFormat: String? = nil) {
        self.path = path
        self.timeBase = timeBase.num > 0 && timeBase.den > 0 ? timeBase : AVRational(num: 1, den: 90000)
        self.frameRate = frameRate
        codecOverride = codec
        formatOverride = pixelFormat
    }

    deinit {
        if headerWritten, let output { _ = av_write_trailer(output) }
        close()
    }

    /// Converts `frame` to the output's format, lets `draw` paint on it (frame coordinates), encodes it.
    /// - Throws: `VideoError.writeFailed` naming the output file.
    public func write(_ frame: DecodedFrame, draw: (Painter) -> Void) throws {
        let layout = FrameLayout(frame)
        if context == nil { try open(width: frame.width, height: frame.height, layout: layout, sampleAspect: frame.frame.pointee.sample_aspect_ratio) }
        guard let picture, let painter else { throw fail("the encoder is not open") }
        let source = frame.frame
        try convert(planes: (0..<4).map { UnsafePointer(source.plane($0)) }, strides: (0..<4).map { source.linesize($0) },
                    width: source.pointee.width, height: source.pointee.height, layout: layout, into: picture)
        painter.bind(picture, sourceWidth: frame.width, sourceHeight: frame.height)
        draw(painter)
        try encode(pts: frame.pts)
    }

    /// Encodes an RGB picture shown at `pts` seconds.
    public func write(_ rgb: RGBPicture, pts: Double) throws {
        if context == nil { try open(width: rgb.width, height: rgb.height, layout: .rgb, sampleAspect: AVRational(num: 1, den: 1)) }
        guard let picture else { throw fail("the encoder is not open") }
        try rgb.pixels.withUnsafeBufferPointer { p in
            try convert(planes: [p.baseAddress, nil, nil, nil], strides: [Int32(rgb.stride), 0, 0, 0],
                        width: Int32(rgb.width), height: Int32(rgb.height), layout: .rgb, into: picture)
        }
        try encode(pts: pts)
    }

    /// Sends the converted picture at `seconds`.
    private func encode(pts seconds: Double) throws {
        guard let context, let picture else { throw fail("the encoder is not open") }
        var pts = Int64((seconds / (Double(timeBase.num) / Double(timeBase.den))).rounded())
        if pts <= lastPTS { pts = lastPTS + 1 }
        lastPTS = pts
        picture.pointee.pts = pts
        let result = avcodec_send_frame(context, picture)
        guard result >= 0 else { throw fail("avcodec_send_frame: \(ffmpegErrorString(result))") }
        try drain(context)
        framesWritten += 1
    }

    /// Flushes the encoder and completes the file. Nothing is written when no frame came.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        guard let context, let output else { return }
        _ = avcodec_send_frame(context, nil)
        try drain(context)
        headerWritten = false
        let result = av_write_trailer(output)
        close()
        guard result >= 0 else { throw fail("av_write_trailer: \(ffmpegErrorString(result))") }
    }

    // MARK: - Setup

    /// The encoder FFmpeg offers: libx264, else MPEG-4 Part 2.
    static func chooseCodec() -> UnsafePointer<AVCodec>? {
        avcodec_find_encoder_by_name("libx264") ?? avcodec_find_encoder(AV_CODEC_ID_MPEG4)
    }

    private func open(width: Int, height: Int, layout: FrameLayout, sampleAspect: AVRational) throws {
        var output: UnsafeMutablePointer<AVFormatContext>? = nil
        if avformat_alloc_output_context2(&output, nil, nil, path) < 0 || output == nil {
            _ = avformat_alloc_output_context2(&output, nil, "mp4", path)
        }
        guard let output else { throw fail("cannot make an output context") }
        self.output = output
        // JPEG pictures (`frames-%03d.jpg`, FFmpeg's image2 muxer) are MJPEG at full range, 4:2:0, q 4.
        let pictures = codecOverride == nil
            && av_guess_codec(output.pointee.oformat, nil, path, nil, AVMEDIA_TYPE_VIDEO) == AV_CODEC_ID_MJPEG
        let chosen = pictures ? avcodec_find_encoder(AV_CODEC_ID_MJPEG) : codecOverride.map({ avcodec_find_encoder_by_name($0) }) ?? Self.chooseCodec()
        guard let codec = chosen else { throw fail("FFmpeg has no encoder \(codecOverride ?? "libx264 or mpeg4")") }
        let x264 = String(cString: codec.pointee.name) == "libx264"
        var format = pictures ? AV_PIX_FMT_YUVJ420P : layout.encoderFormat(width: width, height: height, x264: x264)
        if let formatOverride {
            format = av_get_pix_fmt(formatOverride)
            guard format != AV_PIX_FMT_NONE else { throw fail("no pixel format \(formatOverride)") }
        }
        let fullRange = layout.fullRange || RegionConverter.unJPEG(format.rawValue).1
        guard let stream = avformat_new_stream(output, nil), let context = avcodec_alloc_context3(codec),
              let picture = av_frame_alloc(), let packet = av_packet_alloc() else { throw fail("out of memory") }
        self.stream = stream
        self.context = context
        self.picture = picture
        self.packet = packet

        context.pointee.width = Int32(width)
        context.pointee.height = Int32(height)
        context.pointee.pix_fmt = format
        context.pointee.time_base = timeBase
        if let frameRate, frameRate > 0 { context.pointee.framerate = av_d2q(frameRate, 100_000) }
        context.pointee.max_b_frames = 0
        context.pointee.thread_count = 1
        context.pointee.color_range = fullRange ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG
        context.pointee.colorspace = layout.bt709 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M
        context.pointee.sample_aspect_ratio = sampleAspect
        if output.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            context.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var options = makeDictionary(x264 ? ["preset": "veryfast", "crf": "18"] : [:])
        if !x264 {
            context.pointee.flags |= AV_CODEC_FLAG_QSCALE
            context.pointee.global_quality = FF_QP2LAMBDA * (pictures ? 4 : 3)
            picture.pointee.quality = context.pointee.global_quality
        }
        var result = avcodec_open2(context, codec, &options)
        av_dict_free(&options)
        guard result >= 0 else { throw fail("avcodec_open2 (\(String(cString: codec.pointee.name))): \(ffmpegErrorString(result))") }
        codecName = String(cString: codec.pointee.name)

        result = avcodec_parameters_from_context(stream.pointee.codecpar, context)
        guard result >= 0 else { throw fail("avcodec_parameters_from_context: \(ffmpegErrorString(result))") }
        stream.pointee.time_base = timeBase
        if let frameRate, frameRate > 0 { stream.pointee.avg_frame_rate = av_d2q(frameRate, 100_000) }

        picture.pointee.format = format.rawValue
        picture.pointee.width = Int32(width)
        picture.pointee.height = Int32(height)
        picture.pointee.color_range = context.pointee.color_range
        picture.pointee.colorspace = context.pointee.colorspace
        result = av_frame_get_buffer(picture, 0)
        guard result >= 0 else { throw fail("av_frame_get_buffer: \(ffmpegErrorString(result))") }
        painter = FramePainter(format: format, fullRange: fullRange, bt709: layout.bt709)

        if output.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            result = avio_open(&output.pointee.pb, path, AVIO_FLAG_WRITE)
            guard result >= 0 else { throw fail(ffmpegErrorString(result)) }
        }
        result = avformat_write_header(output, nil)
        guard result >= 0 else { throw fail("avformat_write_header: \(ffmpegErrorString(result))") }
        headerWritten = true
    }

    /// Whole-picture conversion (a plain copy when the layouts match) into the encoder's picture.
    private func convert(planes: [UnsafePointer<UInt8>?], strides: [Int32], width: Int32, height: Int32, layout: FrameLayout,
                         into picture: UnsafeMutablePointer<AVFrame>) throws {
        guard let context else { throw fail("the encoder is not open") }
        let writable = av_frame_make_writable(picture)
        guard writable >= 0 else { throw fail("av_frame_make_writable: \(ffmpegErrorString(writable))") }
        let key = (format: layout.swsFormat, width: width, height: height)
        if scalerSource.map({ $0 != key }) ?? true {
            sws_freeContext(scaler)
            let (target, _) = RegionConverter.unJPEG(context.pointee.pix_fmt.rawValue)
            scaler = sws_getContext(key.width, key.height, AVPixelFormat(rawValue: key.format),
                                    context.pointee.width, context.pointee.height, AVPixelFormat(rawValue: target),
                                    SWS_BICUBIC, nil, nil, nil)
            guard let scaler else {
                scalerSource = nil
                throw fail("swscale cannot convert \(pixelFormatName(key.format)) for the encoder")
            }
            scalerSource = key
            let matrix = sws_getCoefficients(layout.bt709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT)
            let full: Int32 = context.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
            _ = sws_setColorspaceDetails(scaler, matrix, layout.fullRange ? 1 : 0, matrix, full, 0, 1 << 16, 1 << 16)
        }
        var sourcePlanes = planes, sourceStrides = strides
        var targetPlanes: [UnsafeMutablePointer<UInt8>?] = (0..<4).map { picture.plane($0) }
        var targetStrides: [Int32] = (0..<4).map { picture.linesize($0) }
        let rows = sws_scale(scaler, &sourcePlanes, &sourceStrides, 0, height, &targetPlanes, &targetStrides)
        guard rows == context.pointee.height else { throw fail("swscale wrote \(rows) of \(context.pointee.height) rows") }
    }

    /// Writes every packet the encoder has ready.
    private func drain(_ context: UnsafeMutablePointer<AVCodecContext>) throws {
        guard let output, let stream, let packet else { return }
        let interval = frameRate.map { $0 > 0 ? Int64((1 / $0 / (Double(timeBase.num) / Double(timeBase.den))).rounded()) : 1 } ?? 1
        while true {
            let result = avcodec_receive_packet(context, packet)
            if result == pard_averror_eagain() || result == pard_averror_eof() { return }
            guard result >= 0 else { throw fail("avcodec_receive_packet: \(ffmpegErrorString(result))") }
            // One frame interval; without it MP4's edit list leaves out the last picture.
            if packet.pointee.duration == 0 { packet.pointee.duration = max(1, interval) }
            av_packet_rescale_ts(packet, context.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            let written = av_interleaved_write_frame(output, packet)
            guard written >= 0 else { throw fail("av_interleaved_write_frame: \(ffmpegErrorString(written))") }
        }
    }

    private func close() {
        if let output {
            if output.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&output.pointee.pb) }
            avformat_free_context(output)
            self.output = nil
        }
        avcodec_free_context(&context)
        av_frame_free(&picture)
        av_packet_free(&packet)
        sws_freeContext(scaler)
        scaler = nil
    }

    private func fail(_ reason: String) -> VideoError { .writeFailed(file: path, reason: reason) }
}

/// What a decoded frame's pixels are: its format as swscale names it, chroma layout, range, matrix.
struct FrameLayout {
    /// The format without the deprecated `yuvj` spelling.
    let swsFormat: Int32
    let fullRange: Bool
    let bt709: Bool
    /// 8-bit planar YUV with 3 planes; `chromaShift` (w, h) then says its subsampling.
    let planarYUV: Bool
    let chromaShift: (Int, Int)

    /// Packed 8-bit RGB (`RGBPicture`).
    static let rgb = FrameLayout(swsFormat: AV_PIX_FMT_RGB24.rawValue, fullRange: false, bt709: false, planarYUV: false,
                                 chromaShift: (0, 0))

    init(swsFormat: Int32, fullRange: Bool, bt709: Bool, planarYUV: Bool, chromaShift: (Int, Int)) {
        self.swsFormat = swsFormat
        self.fullRange = fullRange
        self.bt709 = bt709
        self.planarYUV = planarYUV
        self.chromaShift = chromaShift
    }

    init(_ frame: DecodedFrame) {
        let (format, impliedFull) = RegionConverter.unJPEG(frame.pixelFormat)
        swsFormat = format
        let descriptor = av_pix_fmt_desc_get(AVPixelFormat(rawValue: format))
        let flags = descriptor?.pointee.flags ?? 0
        let isYUV = flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 && (descriptor?.pointee.nb_components ?? 0) >= 3
        planarYUV = isYUV && flags & UInt64(AV_PIX_FMT_FLAG_PLANAR) != 0 && descriptor?.pointee.comp.0.depth == 8
            && descriptor?.pointee.nb_components == 3
        chromaShift = (Int(descriptor?.pointee.log2_chroma_w ?? 1), Int(descriptor?.pointee.log2_chroma_h ?? 1))
        fullRange = isYUV && (impliedFull || frame.frame.pointee.color_range == AVCOL_RANGE_JPEG)
        bt709 = isYUV && frame.frame.pointee.colorspace == AVCOL_SPC_BT709
    }

    /// The encoder's format: the source's chroma layout when the codec has it and the size fits it,
    /// else 4:2:0, or 4:4:4 (libx264) for odd sizes.
    func encoderFormat(width: Int, height: Int, x264: Bool) -> AVPixelFormat {
        guard x264 else { return AV_PIX_FMT_YUV420P }
        let shift = planarYUV ? chromaShift : (1, 1)
        switch shift {
        case (0, 0): return AV_PIX_FMT_YUV444P
        case (1, 0) where width % 2 == 0: return AV_PIX_FMT_YUV422P
        case (1, 1) where width % 2 == 0 && height % 2 == 0: return AV_PIX_FMT_YUV420P
        default: return AV_PIX_FMT_YUV444P
        }
    }
}

/// Draws on a planar 8-bit YUV `AVFrame` (the encoder's picture), colours converted with its matrix
/// and range; chroma samples touched by a filled pixel take the colour. Coordinates are those of the
/// source frame, scaled when the encoder's size differs.
final class FramePainter: Painter {
    private(set) var width = 0
    private(set) var height = 0
    private let shiftX: Int, shiftY: Int
    private let fullRange: Bool
    private let kr: Double, kb: Double
    private var planes: [UnsafeMutablePointer<UInt8>?] = [nil, nil, nil]
    private var strides = [0, 0, 0]
    private var scaleX = 1.0, scaleY = 1.0
    private var cached: (RGBColour, (UInt8, UInt8, UInt8))?

    init(format: AVPixelFormat, fullRange: Bool, bt709: Bool) {
        let descriptor = av_pix_fmt_desc_get(format)
        shiftX = Int(descriptor?.pointee.log2_chroma_w ?? 1)
        shiftY = Int(descriptor?.pointee.log2_chroma_h ?? 1)
        self.fullRange = fullRange
        (kr, kb) = bt709 ? (0.2126, 0.0722) : (0.299, 0.114)
    }

    /// Points the painter at `picture`; drawings come in `sourceWidth` x `sourceHeight` coordinates.
    func bind(_ picture: UnsafeMutablePointer<AVFrame>, sourceWidth: Int, sourceHeight: Int) {
        width = sourceWidth
        height = sourceHeight
        for i in 0..<3 {
            planes[i] = picture.plane(i)
            strides[i] = Int(picture.linesize(i))
        }
        scaleX = Double(picture.pointee.width) / Double(max(1, sourceWidth))
        scaleY = Double(picture.pointee.height) / Double(max(1, sourceHeight))
    }

    func fill(_ rect: CropRect, _ colour: RGBColour) {
        guard let r = clipped(rect), let y = planes[0], let u = planes[1], let v = planes[2] else { return }
        // Into the picture's coordinates (the identity unless the source changed size).
        let x0 = Int(Double(r.x0) * scaleX), x1 = max(x0 + 1, Int((Double(r.x1) * scaleX).rounded()))
        let y0 = Int(Double(r.y0) * scaleY), y1 = max(y0 + 1, Int((Double(r.y1) * scaleY).rounded()))
        let (luma, cb, cr) = yuv(colour)
        for row in y0..<y1 { (y + row * strides[0] + x0).update(repeating: luma, count: x1 - x0) }
        let cx0 = x0 >> shiftX, cx1 = ((x1 - 1) >> shiftX) + 1
        for row in (y0 >> shiftY)...((y1 - 1) >> shiftY) {
            (u + row * strides[1] + cx0).update(repeating: cb, count: cx1 - cx0)
            (v + row * strides[2] + cx0).update(repeating: cr, count: cx1 - cx0)
        }
    }

    /// `colour` as (Y, Cb, Cr) in the picture's matrix and range.
    private func yuv(_ colour: RGBColour) -> (UInt8, UInt8, UInt8) {
        if let cached, cached.0 == colour { return cached.1 }
        let r = Double(colour.r) / 255, g = Double(colour.g) / 255, b = Double(colour.b) / 255
        let luma = kr * r + (1 - kr - kb) * g + kb * b
        let cb = (b - luma) / (2 * (1 - kb)), cr = (r - luma) / (2 * (1 - kr))
        func byte(_ v: Double) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }
        let value = fullRange
            ? (byte(255 * luma), byte(128 + 255 * cb), byte(128 + 255 * cr))
            : (byte(16 + 219 * luma), byte(128 + 224 * cb), byte(128 + 224 * cr))
        cached = (colour, value)
        return value
    }
}

extension VideoDecoder {
    /// The time base of the decoded stream (its pts unit), 1/90000 when unknown.
    var streamTimeBase: AVRational {
        guard let formatContext, let stream = formatContext.pointee.streams[Int(streamIndex)] else {
            return AVRational(num: 1, den: 90000)
        }
        return stream.pointee.time_base
    }
}
