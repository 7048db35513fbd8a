import CFFmpeg

/// One decoded picture: an `AVFrame` in the decoder's own pixel format (YUV for video), owned by
/// this object and freed (`av_frame_free`, which drops the references to its ref-counted buffers)
/// when the last Swift reference goes.
///
/// `@unchecked Sendable`: the frame is never written after the decoder hands it over (nothing in
/// PardVideo mutates `frame` or its planes, and it is not exposed mutably), FFmpeg's buffer reference
/// counts are atomic, and `deinit` runs once, after the last reference is gone. So it may be passed
/// to another thread (decoder thread -> cropping thread) and read from several at once.
public final class DecodedFrame: @unchecked Sendable {
    /// 1-based position in presentation order (MOTChallenge's frame numbers): the count of frames
    /// the decoder has output so far. A frame the decoder drops (corrupt data skipped under
    /// `CorruptDataPolicy.skip`, `skip_frame`) shifts the numbers after it; `pts` does not shift.
    public let number: Int
    /// Presentation time in seconds from the start of the stream (`best_effort_timestamp *
    /// time_base`, minus the stream's `start_time` when it has one). When FFmpeg knows no timestamp,
    /// the previous frame's time plus one frame interval.
    public let pts: Double
    /// True when `pts` was estimated (the stream carried no timestamp for this frame).
    public let ptsIsEstimated: Bool
    /// Picture size in pixels. May change from one frame to the next mid-stream.
    public let width: Int
    public let height: Int
    /// The `AVPixelFormat` of the planes (`AV_PIX_FMT_*` raw value).
    public let pixelFormat: Int32
    /// The frame owned by this object. Read-only by contract (see the type's comment).
    let frame: UnsafeMutablePointer<AVFrame>

    /// Takes over the references held by `source` (`av_frame_move_ref`), leaving `source` blank for
    /// the decoder's next call. Returns nil only if FFmpeg cannot allocate an `AVFrame`.
    init?(takingFrom source: UnsafeMutablePointer<AVFrame>, number: Int, pts: Double, ptsIsEstimated: Bool) {
        guard let own = av_frame_alloc() else { return nil }
        av_frame_move_ref(own, source)
        frame = own
        self.number = number
        self.pts = pts
        self.ptsIsEstimated = ptsIsEstimated
        width = Int(own.pointee.width)
        height = Int(own.pointee.height)
        pixelFormat = own.pointee.format
    }

    deinit {
        var pointer: UnsafeMutablePointer<AVFrame>? = frame
        av_frame_free(&pointer)
    }

    /// Name of the pixel format, e.g. "yuv420p".
    public var pixelFormatName: String { PardVideo.pixelFormatName(pixelFormat) }

    /// True for a key frame (an intra picture a decoder can start from).
    public var isKeyFrame: Bool { frame.pointee.key_frame != 0 }

    /// True when the decoder flagged the picture as damaged (missing references, concealed errors).
    public var isCorrupt: Bool {
        (frame.pointee.flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame.pointee.decode_error_flags != 0
    }
}
