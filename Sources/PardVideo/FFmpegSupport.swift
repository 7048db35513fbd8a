import CFFmpeg

/// FFmpeg's text for an error code (`av_strerror`), e.g. "Invalid data found when processing input".
func ffmpegErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    if av_strerror(code, &buffer, buffer.count) < 0 {
        return "FFmpeg error \(code)"
    }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `url` with any `user:password@` of its authority removed, for error messages and logs:
/// `rtsp://admin:secret@cam/stream` -> `rtsp://cam/stream`. Plain paths are returned unchanged.
public func redactCredentials(_ url: String) -> String {
    guard let scheme = url.range(of: "://") else { return url }
    let authorityStart = scheme.upperBound
    let rest = url[authorityStart...]
    let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? url.endIndex
    let authority = url[authorityStart..<authorityEnd]
    guard let at = authority.lastIndex(of: "@") else { return url }
    return String(url[..<authorityStart]) + String(url[url.index(after: at)...])
}

/// How much FFmpeg itself prints on stderr (decoder warnings such as "error while decoding MB").
public enum FFmpegLogLevel: Sendable {
    case quiet, error, warning, info

    /// Sets FFmpeg's process-wide log level (`av_log_set_level`).
    public func apply() {
        switch self {
        case .quiet: av_log_set_level(AV_LOG_QUIET)
        case .error: av_log_set_level(AV_LOG_ERROR)
        case .warning: av_log_set_level(AV_LOG_WARNING)
        case .info: av_log_set_level(AV_LOG_INFO)
        }
    }
}

/// An `AVDictionary` built from Swift strings; free it with `av_dict_free`.
func makeDictionary(_ entries: [String: String]) -> OpaquePointer? {
    var dict: OpaquePointer? = nil
    for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
        av_dict_set(&dict, key, value, 0)
    }
    return dict
}

/// The keys left in an `AVDictionary` (options nobody consumed).
func dictionaryKeys(_ dict: OpaquePointer?) -> [String] {
    var keys: [String] = []
    var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
    while let e = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX) {
        keys.append(String(cString: e.pointee.key))
        entry = e
    }
    return keys
}

/// Name of a pixel format, e.g. "yuv420p".
func pixelFormatName(_ format: Int32) -> String {
    guard let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: format)) else { return "unknown(\(format))" }
    return String(cString: name)
}
