import Foundation

/// Everything a `LiveStream` needs to know about its source.
public struct LiveStreamOptions: Sendable {
    /// The stream's name in logs, events and metrics.
    public var name: String
    /// `rtsp://[user:password@]host[:port]/path`, `rtsps://...`, or a file path. Never printed as is:
    /// see `redactedURL`.
    public var url: String
    /// RTSP transport (`rtsp_transport`). Ignored for files.
    public var transport: DaemonConfig.Transport
    /// Seconds without a frame after which the source counts as lost (FFmpeg's `timeout` socket option
    /// for RTSP plus an interrupt callback for any source). Opening a source may take twice as long.
    public var timeout: TimeInterval
    /// Pace a file at its native rate, using its pts. Ignored for RTSP (live by nature).
    public var realtime: Bool
    /// Start a file again when it ends (numbers and pts keep increasing, see `LiveFrame`). Ignored for
    /// RTSP.
    public var loop: Bool
    /// Waits between attempts to (re)open the source.
    public var backoff: ReconnectBackoff
    /// FFmpeg decoding threads per stream (0: one per core). Default 1: each stream already has its
    /// own thread, and one thread decodes 720p25 H.264 many times faster than real time.
    public var decoderThreads: Int

    public init(name: String, url: String, transport: DaemonConfig.Transport = .tcp, timeout: TimeInterval = 5,
                realtime: Bool = false, loop: Bool = false, backoff: ReconnectBackoff = ReconnectBackoff(),
                decoderThreads: Int = 1) {
        self.name = name
        self.url = url
        self.transport = transport
        self.timeout = timeout
        self.realtime = realtime
        self.loop = loop
        self.backoff = backoff
        self.decoderThreads = decoderThreads
    }

    /// The options of a configured stream.
    public init(_ stream: DaemonConfig.Stream) {
        self.init(name: stream.name, url: stream.url, transport: stream.transport, timeout: stream.timeout,
                  realtime: stream.realtime, loop: stream.loop,
                  backoff: ReconnectBackoff(initial: stream.reconnect.initial, max: stream.reconnect.max,
                                            jitter: stream.reconnect.jitter))
    }

    /// Whether `url` is a network stream (`rtsp://`, `rtsps://`) rather than a file.
    public var isRTSP: Bool {
        let lower = url.lowercased()
        return lower.hasPrefix("rtsp://") || lower.hasPrefix("rtsps://")
    }

    /// `url` with user information and secret query values replaced by `***`.
    public var redactedURL: String { URLRedaction.redact(url) }
}

/// Where a `LiveStream` is. Each change is reported once through `onState`.
public enum LiveStreamState: Sendable, Equatable, CustomStringConvertible {
    /// Opening the source for the first time.
    case connecting
    /// Frames are arriving (reported at the first frame of each connection).
    case up
    /// The source was lost or could not be opened; retrying with backoff. Reported once per outage:
    /// further failed attempts while down are only counted (`LiveStreamStatistics.failures`).
    /// `reason` carries no credentials.
    case down(reason: String)
    /// A file without `loop` reached its end; the stream's thread has ended.
    case finished
    /// `stop()` was called; the stream's thread has ended.
    case stopped

    /// `connecting`, `up`, `down: reason`, `finished`, `stopped`.
    public var description: String {
        switch self {
        case .connecting: return "connecting"
        case .up: return "up"
        case .down(let reason): return "down: \(reason)"
        case .finished: return "finished"
        case .stopped: return "stopped"
        }
    }

    /// Whether frames are arriving (for an up/down gauge).
    public var isUp: Bool { self == .up }
}

/// Counters of one stream, as of the moment they were read.
public struct LiveStreamStatistics: Sendable, Equatable {
    /// Frames delivered to `onFrame` (the last `LiveFrame.number`).
    public var framesDecoded: Int = 0
    /// Connections that delivered at least one frame.
    public var connections: Int = 0
    /// Connections that delivered frames after an earlier one was lost (`connections - 1` once up).
    public var reconnects: Int = 0
    /// Attempts to open the source that failed, or connections lost, in all.
    public var failures: Int = 0
    /// Attempts to open the source that failed (refused, unreachable, no answer, not a stream).
    public var connectFailures: Int = 0
    /// Passes over a looping file started after the first.
    public var loops: Int = 0
    /// Packets the decoder dropped as corrupt, over all connections.
    public var corruptPackets: Int = 0
    /// The current state.
    public var state: LiveStreamState = .connecting
    /// Why the source was last lost (nil before any failure); no credentials.
    public var lastError: String?
}
