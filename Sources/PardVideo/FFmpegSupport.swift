import CFFmpeg
import Foundation

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

/// FFmpeg's log messages, routed through pard instead of FFmpeg's own `[png @ 0x55d0c...]` lines on
/// standard error. Which messages arrive is FFmpeg's process-wide level (`FFmpegLogLevel.apply()`);
/// where they go is the handler. The command-line tools print errors as one line each,
/// `pard: ffmpeg: png: IEND without all image`, and hide warnings; `pard run` can point the handler
/// at its logger.
public enum FFmpegLog {
    /// One message of FFmpeg's.
    public struct Message: Sendable, Equatable {
        /// FFmpeg's level, `AV_LOG_PANIC` (0) to `AV_LOG_TRACE` (56): smaller is more severe;
        /// `AV_LOG_ERROR` is 16, `AV_LOG_WARNING` 24.
        public var level: Int32
        /// The name of the logging context ("png", "h264", "mov,mp4,m4a,3gp,3g2,mj2"), nil when none.
        public var component: String?
        /// The message, without its trailing newline, at most `maxTextBytes` bytes.
        public var text: String

        /// `ffmpeg: png: IEND without all image`.
        public var line: String { "ffmpeg: " + (component.map { $0 + ": " } ?? "") + text }
        public var isError: Bool { level <= AV_LOG_ERROR }
    }

    /// Called from whichever thread FFmpeg logs on (decoder threads included): must be thread-safe.
    public typealias Handler = @Sendable (Message) -> Void

    /// Longer messages are cut (FFmpeg may quote input, metadata for instance).
    public static let maxTextBytes = 200

    /// `@unchecked Sendable`: the handler is read and written under `lock`.
    private final class Slot: @unchecked Sendable {
        let lock = NSLock()
        var handler: Handler?
    }
    private static let slot = Slot()

    /// Sends FFmpeg's messages (those at or above its log level) to `handler`; nil gives them back to
    /// FFmpeg's own printing.
    public static func setHandler(_ handler: Handler?) {
        slot.lock.lock()
        slot.handler = handler
        slot.lock.unlock()
        pard_set_log_sink(handler == nil ? nil : { level, component, text in FFmpegLog.receive(level, component, text) })
    }

    private static func receive(_ level: Int32, _ component: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?) {
        guard let text else { return }
        var message = String(cString: text)
        while message.last?.isNewline == true { message.removeLast() }
        guard !message.isEmpty else { return }
        if message.utf8.count > maxTextBytes {
            message = String(decoding: message.utf8.prefix(maxTextBytes), as: UTF8.self) + "..."
        }
        slot.lock.lock()
        let handler = slot.handler
        slot.lock.unlock()
        handler?(Message(level: level, component: component.map { String(cString: $0) }, text: message))
    }
}
