// VideoDecoder's decode loop steps: feeding packets, draining, delivering frames, and how the stream ends.
import CFFmpeg

extension VideoDecoder {
    /// Reads one packet of our stream and sends it to the decoder, or starts draining at the end
    /// of the input or on an error.
    func feed(_ codecContext: UnsafeMutablePointer<AVCodecContext>) {
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
    func failure(_ error: VideoError) -> VideoError {
        if let interruptHook, interruptHook.check() {
            return .interrupted(url: url, frame: framesDelivered)
        }
        return error
    }

    /// `.pictureTooLarge` when the decoder has moved to a picture size over the limit (FFmpeg then
    /// refuses to allocate the frame, and the decoder reports an error), else nil.
    func oversizedPicture() -> VideoError? {
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
    func startDraining() {
        phase = .draining
        if let packet, packetHeld {
            av_packet_unref(packet)
            packetHeld = false
        }
        if let codecContext {
            _ = avcodec_send_packet(codecContext, nil)
        }
    }

    func deliver(_ frame: UnsafeMutablePointer<AVFrame>) throws -> DecodedFrame {
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
    func finish() throws -> DecodedFrame? {
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
}
