import CFFmpeg

/// Converts the part of a decoded frame around a crop rectangle to packed 8-bit RGB (`rgb24`) at
/// native resolution, with swscale straight from the frame's own planes (YUV for video): the whole
/// frame is never converted.
///
/// The converted window is the rectangle widened to multiples of 32 columns and 16 rows (clamped to
/// the frame). That keeps the window's origin on whole chroma samples (so the RGB pixels are exactly
/// those a whole-frame conversion gives, whatever the rect's parity) and aligned in memory, and
/// it bounds the number of distinct window sizes, hence of swscale contexts. Contexts are made once
/// per window size and kept; all are dropped when the frames' pixel format, size, range or matrix
/// changes. The output buffer grows to the largest window seen and is reused, so after the first
/// few frames a conversion allocates nothing.
///
/// Formats that cannot be addressed by plane offsets (palette, bitstream, Bayer) are converted
/// whole-frame (images only, in practice).
final class RegionConverter {
    /// A converted window: `pixels` holds `height` rows of `width` RGB pixels, `stride` bytes apart;
    /// its top-left pixel is frame pixel (`x`, `y`). Valid until the next `convert`.
    struct Window {
        var x: Int
        var y: Int
        var width: Int
        var height: Int
        var pixels: UnsafeMutablePointer<UInt8>
        var stride: Int
    }

    private struct Source: Equatable {
        var format: Int32
        var width: Int32
        var height: Int32
        var fullRange: Bool
        var colorspace: Int32
    }

    private static let columnAlignment = 32
    private static let rowAlignment = 16
    /// More window sizes than this and the cache starts again (only for wildly varying boxes).
    private static let maxContexts = 256

    private var source: Source?
    private var contexts: [Int: OpaquePointer] = [:]
    private var buffer: UnsafeMutableRawPointer
    private var bufferBytes: Int
    // sws_scale's pointer and stride arrays, allocated once.
    private let sourcePlanes = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: 4)
    private let sourceStrides = UnsafeMutablePointer<Int32>.allocate(capacity: 4)
    private let destinationPlanes = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 4)
    private let destinationStrides = UnsafeMutablePointer<Int32>.allocate(capacity: 4)

    /// Number of swscale contexts made so far (for tests and diagnostics).
    private(set) var contextsCreated = 0

    init() {
        bufferBytes = 0
        buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    }

    deinit {
        dropContexts()
        buffer.deallocate()
        sourcePlanes.deallocate()
        sourceStrides.deallocate()
        destinationPlanes.deallocate()
        destinationStrides.deallocate()
    }

    private func dropContexts() {
        for context in contexts.values { sws_freeContext(context) }
        contexts.removeAll(keepingCapacity: true)
    }

    /// Converts a window of `frame` that contains `rect` (which must lie inside the frame).
    func convert(_ decoded: DecodedFrame, covering rect: CropRect) throws -> Window {
        let frame = decoded.frame
        let frameWidth = Int(frame.pointee.width), frameHeight = Int(frame.pointee.height)
        guard let descriptor = av_pix_fmt_desc_get(AVPixelFormat(rawValue: frame.pointee.format)) else {
            throw VideoError.conversionFailed(frame: decoded.number, pixelFormat: decoded.pixelFormatName,
                                              reason: "unknown pixel format")
        }
        let (swsFormat, impliedFullRange) = Self.unJPEG(frame.pointee.format)
        let current = Source(format: swsFormat, width: frame.pointee.width, height: frame.pointee.height,
                             fullRange: impliedFullRange || frame.pointee.color_range == AVCOL_RANGE_JPEG,
                             colorspace: Int32(frame.pointee.colorspace.rawValue))
        if current != source || contexts.count >= Self.maxContexts {
            dropContexts()
            source = current
        }

        // The window.
        let flags = descriptor.pointee.flags
        let wholeFrameOnly = flags & UInt64(AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM
                                            | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BAYER) != 0
        var x0 = 0, y0 = 0, x1 = frameWidth, y1 = frameHeight
        if !wholeFrameOnly {
            let ca = Self.columnAlignment, ra = max(Self.rowAlignment, 1 << Int(descriptor.pointee.log2_chroma_h))
            x0 = rect.x0 / ca * ca
            y0 = rect.y0 / ra * ra
            x1 = min(frameWidth, (rect.x1 + ca - 1) / ca * ca)
            y1 = min(frameHeight, (rect.y1 + ra - 1) / ra * ra)
        }
        let width = x1 - x0, height = y1 - y0

        // The window's start in each plane.
        for plane in 0..<4 {
            sourcePlanes[plane] = UnsafePointer(frame.plane(plane))
            sourceStrides[plane] = frame.linesize(plane)
        }
        if x0 != 0 || y0 != 0 {
            let isRGB = flags & UInt64(AV_PIX_FMT_FLAG_RGB) != 0
            let components = Int(descriptor.pointee.nb_components)
            var done = 0  // bit per plane
            for c in 0..<components {
                let component = descriptor.pointee.component(c)
                let plane = Int(component.plane)
                guard plane < 4, done & (1 << plane) == 0, let base = sourcePlanes[plane] else { continue }
                done |= 1 << plane
                let chroma = !isRGB && components >= 3 && (c == 1 || c == 2)
                let column = chroma ? x0 >> Int(descriptor.pointee.log2_chroma_w) : x0
                let row = chroma ? y0 >> Int(descriptor.pointee.log2_chroma_h) : y0
                sourcePlanes[plane] = base + row * Int(sourceStrides[plane]) + column * Int(component.step)
            }
        }

        // The output buffer: rows 64-byte aligned, plus slack for SIMD writers.
        let stride = (width * 3 + 63) / 64 * 64
        let needed = stride * height + 64
        if needed > bufferBytes {
            buffer.deallocate()
            buffer = UnsafeMutableRawPointer.allocate(byteCount: needed, alignment: 64)
            bufferBytes = needed
        }
        let pixels = buffer.assumingMemoryBound(to: UInt8.self)
        destinationPlanes[0] = pixels
        destinationPlanes[1] = nil
        destinationPlanes[2] = nil
        destinationPlanes[3] = nil
        destinationStrides[0] = Int32(stride)
        destinationStrides[1] = 0
        destinationStrides[2] = 0
        destinationStrides[3] = 0

        let context = try self.context(width: width, height: height, source: current,
                                       descriptor: descriptor, decoded: decoded)
        let rows = sws_scale(context, sourcePlanes, sourceStrides, 0, Int32(height), destinationPlanes, destinationStrides)
        guard rows == Int32(height) else {
            throw VideoError.conversionFailed(frame: decoded.number, pixelFormat: decoded.pixelFormatName,
                                              reason: rows < 0 ? ffmpegErrorString(rows) : "sws_scale wrote \(rows) of \(height) rows")
        }
        return Window(x: x0, y: y0, width: width, height: height, pixels: pixels, stride: stride)
    }

    /// The cached context for a window size, made on first use.
    private func context(width: Int, height: Int, source: Source,
                         descriptor: UnsafePointer<AVPixFmtDescriptor>, decoded: DecodedFrame) throws -> OpaquePointer {
        let key = width << 32 | height
        if let context = contexts[key] { return context }
        // SWS_BICUBIC as the ffmpeg CLI; the scaler only matters for chroma upsampling of formats
        // without a direct converter (for 8-bit 4:2:0 and 4:2:2 swscale replicates chroma).
        guard let context = sws_getContext(Int32(width), Int32(height), AVPixelFormat(rawValue: source.format),
                                           Int32(width), Int32(height), AV_PIX_FMT_RGB24,
                                           SWS_BICUBIC, nil, nil, nil) else {
            throw VideoError.conversionFailed(frame: decoded.number, pixelFormat: decoded.pixelFormatName,
                                              reason: "swscale cannot convert it to rgb24")
        }
        let isYUV = descriptor.pointee.flags & UInt64(AV_PIX_FMT_FLAG_RGB) == 0 && descriptor.pointee.nb_components >= 3
        let matrix = Self.swsColorspace(source.colorspace)
        if isYUV && (source.fullRange || matrix != SWS_CS_DEFAULT) {
            _ = sws_setColorspaceDetails(context, sws_getCoefficients(matrix), source.fullRange ? 1 : 0,
                                         sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        }
        contexts[key] = context
        contextsCreated += 1
        return context
    }

    /// The deprecated full-range `yuvj*` formats as their plain twin plus "full range", so that
    /// swscale does not warn.
    static func unJPEG(_ format: Int32) -> (Int32, Bool) {
        switch format {
        case AV_PIX_FMT_YUVJ420P.rawValue: return (AV_PIX_FMT_YUV420P.rawValue, true)
        case AV_PIX_FMT_YUVJ422P.rawValue: return (AV_PIX_FMT_YUV422P.rawValue, true)
        case AV_PIX_FMT_YUVJ444P.rawValue: return (AV_PIX_FMT_YUV444P.rawValue, true)
        case AV_PIX_FMT_YUVJ440P.rawValue: return (AV_PIX_FMT_YUV440P.rawValue, true)
        case AV_PIX_FMT_YUVJ411P.rawValue: return (AV_PIX_FMT_YUV411P.rawValue, true)
        default: return (format, false)
        }
    }

    /// The frame's YUV matrix as a `SWS_CS_*` value (BT.601 when unspecified, as FFmpeg does).
    private static func swsColorspace(_ colorspace: Int32) -> Int32 {
        switch colorspace {
        case Int32(AVCOL_SPC_BT709.rawValue): return SWS_CS_ITU709
        case Int32(AVCOL_SPC_FCC.rawValue): return SWS_CS_FCC
        case Int32(AVCOL_SPC_SMPTE240M.rawValue): return SWS_CS_SMPTE240M
        case Int32(AVCOL_SPC_BT2020_NCL.rawValue), Int32(AVCOL_SPC_BT2020_CL.rawValue): return SWS_CS_BT2020
        default: return SWS_CS_DEFAULT
        }
    }
}

extension UnsafeMutablePointer where Pointee == AVFrame {
    /// `data[i]` of the frame.
    func plane(_ i: Int) -> UnsafeMutablePointer<UInt8>? {
        switch i {
        case 0: return pointee.data.0
        case 1: return pointee.data.1
        case 2: return pointee.data.2
        case 3: return pointee.data.3
        default: return nil
        }
    }

    /// `linesize[i]` of the frame, in bytes (negative for bottom-up frames).
    func linesize(_ i: Int) -> Int32 {
        switch i {
        case 0: return pointee.linesize.0
        case 1: return pointee.linesize.1
        case 2: return pointee.linesize.2
        case 3: return pointee.linesize.3
        default: return 0
        }
    }
}

extension AVPixFmtDescriptor {
    /// `comp[i]`.
    func component(_ i: Int) -> AVComponentDescriptor {
        switch i {
        case 0: return comp.0
        case 1: return comp.1
        case 2: return comp.2
        default: return comp.3
        }
    }
}
