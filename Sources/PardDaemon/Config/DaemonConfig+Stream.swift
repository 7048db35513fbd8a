import Foundation

extension DaemonConfig {
    /// One entry of `streams`: a camera (RTSP) or a video file, and where its detections come from.
    ///
    /// `url` holds the credentials the camera needs; everything pard prints uses `redactedURL` instead
    /// (`description`, `dump`, errors).
    public struct Stream: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        /// `name`: the stream's name in events, logs and metrics; unique, letters, digits, `_`, `.` and `-`.
        /// Required.
        public var name: String
        /// `url`: `rtsp://[user:password@]host[:port]/path`, `rtsps://...`, or a file path (relative to the
        /// config file). Required. Never printed: see `redactedURL`.
        public var url: String
        /// `transport`: RTSP over `tcp` (interleaved) or `udp`. Default `tcp`. RTSP only.
        public var transport: Transport = .tcp
        /// `timeout`: seconds without data after which the source counts as lost (FFmpeg's `timeout` and
        /// an interrupt callback), and pard reconnects. More than 0. Default 5.
        public var timeout: TimeInterval = 5
        /// `realtime`: read a file at its native frame rate, as a camera would send it. Default false.
        /// Files only (RTSP is live by nature).
        public var realtime = false
        /// `loop`: start a file again when it ends. Default false. Files only.
        public var loop = false
        /// `detections`: where the detector pushes JSON lines: `unix:PATH` (a socket pard creates),
        /// `tcp:127.0.0.1:PORT` (loopback only) or a file/FIFO path that is followed. Required; two
        /// streams cannot share one.
        public var detections: DetectionSource
        /// `frame_buffer`: seconds of decoded frames kept for detections to refer to; a detection for an
        /// older frame counts as late. More than 0. Default 4 (a 720p25 stream holds about 35 MB a second).
        public var frameBuffer: TimeInterval = 4
        /// `track_interval`: seconds of video between two classifications of one tracked person
        /// (0: every box). Default 1.
        public var trackInterval: TimeInterval = 1.0
        /// `track_timeout`: seconds a track may go unseen before its summary is written. More than 0.
        /// Default 2.
        public var trackTimeout: TimeInterval = 2.0
        /// `reconnect`: backoff between attempts to (re)open the source. Default 1 s doubling up to 30 s,
        /// ±20 % jitter.
        public var reconnect = Reconnect()

        /// A stream with defaults for everything but its name, URL and detection source.
        public init(name: String, url: String, detections: DetectionSource) {
            self.name = name
            self.url = url
            self.detections = detections
        }

        /// Whether `url` is a network stream (`rtsp://`, `rtsps://`) rather than a file.
        public var isRTSP: Bool { Self.isRTSP(url) }

        /// Whether frames arrive at the source's own pace: RTSP, or a file read in `realtime`.
        public var isLive: Bool { isRTSP || realtime }

        /// `url` with user and password replaced by `***` (and secret query values too):
        /// `rtsp://***@10.0.0.5:554/stream1`. The form to print, log and count under.
        public var redactedURL: String { URLRedaction.redact(url) }

        /// `text` (e.g. an FFmpeg error message) with this stream's URL and secrets replaced by their
        /// redacted forms.
        public func redact(_ text: String) -> String { URLRedaction.scrub(text, url: url) }

        /// One line: `cam1: rtsp://***@host/path over tcp (timeout 5s); detections unix:/run/pard/cam1.sock; ...`.
        public var description: String {
            var source = redactedURL
            if isRTSP {
                source += " over \(transport.rawValue) (timeout \(DurationText.format(seconds: timeout)))"
            } else {
                let modes = [realtime ? "realtime" : nil, loop ? "loop" : nil].compactMap { $0 }
                if !modes.isEmpty { source += " (\(modes.joined(separator: ", ")))" }
            }
            return "\(name): \(source); detections \(detections); buffer \(DurationText.format(seconds: frameBuffer)); "
                + "track interval \(DurationText.format(seconds: trackInterval)), timeout \(DurationText.format(seconds: trackTimeout)); "
                + "reconnect \(reconnect)"
        }

        /// The same as `description` (so that arrays and `String(reflecting:)` stay redacted too).
        public var debugDescription: String { description }

        /// The fields for `dump` and debuggers, with the URL redacted.
        public var customMirror: Mirror {
            Mirror(self, children: ["name": name, "url": redactedURL, "transport": transport, "timeout": timeout,
                                    "realtime": realtime, "loop": loop, "detections": detections,
                                    "frameBuffer": frameBuffer, "trackInterval": trackInterval,
                                    "trackTimeout": trackTimeout, "reconnect": reconnect],
                   displayStyle: .struct)
        }

        /// Whether `url` names an RTSP source.
        static func isRTSP(_ url: String) -> Bool {
            let lower = url.lowercased()
            return lower.hasPrefix("rtsp://") || lower.hasPrefix("rtsps://")
        }
    }

    /// How RTSP media travel.
    public enum Transport: String, Hashable, Sendable, CaseIterable {
        /// Interleaved in the RTSP TCP connection: works through NAT and firewalls, no packet loss.
        case tcp
        /// RTP over UDP: lower latency; packets may be lost.
        case udp
    }

    /// `reconnect`: exponential backoff with jitter between attempts to open a source.
    public struct Reconnect: Hashable, Sendable, CustomStringConvertible {
        /// `initial`: seconds before the first retry; doubled after each failure. More than 0. Default 1.
        public var initial: TimeInterval = 1
        /// `max`: the longest wait between two attempts, at least `initial`. Default 30.
        public var max: TimeInterval = 30
        /// `jitter`: each wait is multiplied by a random factor within 1 ± jitter, 0...1. Default 0.2.
        public var jitter = 0.2

        /// Defaults everywhere.
        public init() {}

        /// The wait before attempt `attempt` (0 = the first retry) without jitter: `initial * 2^attempt`,
        /// at most `max`.
        public func baseDelay(attempt: Int) -> TimeInterval {
            Swift.min(self.max, initial * pow(2, Double(Swift.max(0, Swift.min(attempt, 62)))))
        }

        /// `1s..30s ±20%`.
        public var description: String {
            "\(DurationText.format(seconds: initial))..\(DurationText.format(seconds: self.max)) ±\(DurationText.format(number: (jitter * 100).rounded()))%"
        }
    }
}
