import CFFmpeg
import Foundation

/// A fresh temporary directory for one test, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("pard-video-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

struct RemuxFailure: Error, CustomStringConvertible {
    var description: String
}

/// Copies the streams of `input` into a new container `format` ("matroska", "mpegts") at `output`
/// without re-encoding: what `ffmpeg -i input -c copy output` does, in-process so that the tests do
/// not need the ffmpeg program.
func remux(_ input: String, to output: String, format: String) throws {
    func check(_ result: Int32, _ step: String) throws {
        if result < 0 { throw RemuxFailure(description: "\(step) failed (\(result))") }
    }
    var inputContext: UnsafeMutablePointer<AVFormatContext>? = nil
    try check(avformat_open_input(&inputContext, input, nil, nil), "avformat_open_input")
    defer { avformat_close_input(&inputContext) }
    guard let source = inputContext else { throw RemuxFailure(description: "no input context") }
    try check(avformat_find_stream_info(source, nil), "avformat_find_stream_info")

    var outputContext: UnsafeMutablePointer<AVFormatContext>? = nil
    try check(avformat_alloc_output_context2(&outputContext, nil, format, output), "avformat_alloc_output_context2")
    guard let sink = outputContext else { throw RemuxFailure(description: "no output context") }
    defer { avformat_free_context(sink) }
    for i in 0..<Int(source.pointee.nb_streams) {
        guard let inStream = source.pointee.streams[i], let outStream = avformat_new_stream(sink, nil) else {
            throw RemuxFailure(description: "avformat_new_stream failed")
        }
        try check(avcodec_parameters_copy(outStream.pointee.codecpar, inStream.pointee.codecpar), "avcodec_parameters_copy")
        outStream.pointee.codecpar.pointee.codec_tag = 0
    }
    try check(avio_open(&sink.pointee.pb, output, AVIO_FLAG_WRITE), "avio_open")
    defer { avio_closep(&sink.pointee.pb) }
    try check(avformat_write_header(sink, nil), "avformat_write_header")
    var packet = av_packet_alloc()
    defer { av_packet_free(&packet) }
    guard let packet else { throw RemuxFailure(description: "av_packet_alloc failed") }
    while av_read_frame(source, packet) >= 0 {
        let index = Int(packet.pointee.stream_index)
        guard let inStream = source.pointee.streams[index], let outStream = sink.pointee.streams[index] else {
            av_packet_unref(packet)
            continue
        }
        av_packet_rescale_ts(packet, inStream.pointee.time_base, outStream.pointee.time_base)
        packet.pointee.pos = -1
        try check(av_interleaved_write_frame(sink, packet), "av_interleaved_write_frame")
    }
    try check(av_write_trailer(sink), "av_write_trailer")
}

/// Writes the first `fraction` of `source`'s bytes to `destination`.
func truncateCopy(_ source: URL, to destination: URL, fraction: Double) throws {
    let data = try Data(contentsOf: source)
    try data.prefix(Int(Double(data.count) * fraction)).write(to: destination)
}
