import CFFmpeg
import Foundation

/// Writes packed 8-bit RGB pictures as image files through FFmpeg's encoders (PNG: lossless;
/// JPEG: mjpeg at high quality, for tests and quick looks).
public enum PNGWriter {
    public enum Format: Sendable {
        case png, jpeg
    }

    /// Encodes `width` x `height` RGB pixels (3 bytes each, rows `stride` bytes apart) and writes
    /// them to `path`. Debug/diagnostic path: allocates freely.
    /// - Throws: `VideoError.writeFailed(file, reason)`.
    public static func write(rgb: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int,
                             to path: String, format: Format = .png) throws {
        func fail(_ reason: String) -> VideoError { .writeFailed(file: path, reason: reason) }
        guard width > 0, height > 0, stride >= 3 * width else { throw fail("empty picture \(width)x\(height)") }
        let codecID = format == .png ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG
        guard let encoder = avcodec_find_encoder(codecID) else { throw fail("FFmpeg has no \(format) encoder") }
        var context = avcodec_alloc_context3(encoder)
        var frame = av_frame_alloc()
        var packet = av_packet_alloc()
        defer {
            av_packet_free(&packet)
            av_frame_free(&frame)
            avcodec_free_context(&context)
        }
        guard let context, let frame, let packet else { throw fail("out of memory") }
        context.pointee.width = Int32(width)
        context.pointee.height = Int32(height)
        context.pointee.time_base = AVRational(num: 1, den: 25)
        let encodedFormat: AVPixelFormat
        switch format {
        case .png:
            encodedFormat = AV_PIX_FMT_RGB24
        case .jpeg:
            encodedFormat = AV_PIX_FMT_YUVJ444P
            context.pointee.color_range = AVCOL_RANGE_JPEG
            context.pointee.flags |= AV_CODEC_FLAG_QSCALE
            context.pointee.global_quality = FF_QP2LAMBDA * 2
        }
        context.pointee.pix_fmt = encodedFormat
        var result = avcodec_open2(context, encoder, nil)
        guard result >= 0 else { throw fail("avcodec_open2: \(ffmpegErrorString(result))") }

        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        frame.pointee.format = encodedFormat.rawValue
        if format == .png {
            // Non-refcounted frame pointing at the caller's pixels; the encoder copies them.
            frame.pointee.data.0 = UnsafeMutablePointer(mutating: rgb)
            frame.pointee.linesize.0 = Int32(stride)
        } else {
            result = av_frame_get_buffer(frame, 0)
            guard result >= 0 else { throw fail("av_frame_get_buffer: \(ffmpegErrorString(result))") }
            guard let sws = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height),
                                           AV_PIX_FMT_YUV444P, SWS_BICUBIC, nil, nil, nil) else {
                throw fail("swscale cannot convert rgb24 to yuv444p")
            }
            defer { sws_freeContext(sws) }
            _ = sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                         sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
            var sourcePlanes: [UnsafePointer<UInt8>?] = [rgb, nil, nil, nil]
            var sourceStrides: [Int32] = [Int32(stride), 0, 0, 0]
            var planes: [UnsafeMutablePointer<UInt8>?] = [frame.plane(0), frame.plane(1), frame.plane(2), nil]
            var strides: [Int32] = [frame.linesize(0), frame.linesize(1), frame.linesize(2), 0]
            _ = sws_scale(sws, &sourcePlanes, &sourceStrides, 0, Int32(height), &planes, &strides)
            frame.pointee.quality = FF_QP2LAMBDA * 2
            frame.pointee.color_range = AVCOL_RANGE_JPEG
        }

        result = avcodec_send_frame(context, frame)
        guard result >= 0 else { throw fail("avcodec_send_frame: \(ffmpegErrorString(result))") }
        _ = avcodec_send_frame(context, nil)
        var bytes = Data()
        while true {
            result = avcodec_receive_packet(context, packet)
            if result == pard_averror_eof() || result == pard_averror_eagain() { break }
            guard result >= 0 else { throw fail("avcodec_receive_packet: \(ffmpegErrorString(result))") }
            if let data = packet.pointee.data {
                bytes.append(data, count: Int(packet.pointee.size))
            }
            av_packet_unref(packet)
        }
        guard !bytes.isEmpty else { throw fail("the encoder produced nothing") }
        do {
            try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw fail(error.localizedDescription)
        }
    }
}
