import Foundation

/// Progress of a long run on standard error: a bar redrawn in place on a terminal (frames, crops/s,
/// ETA), a plain line every `interval` seconds otherwise (logs, pipes).
public final class ProgressReporter: @unchecked Sendable {  // called from one thread at a time
    private let isTerminal: Bool
    private let interval: Double
    private let start = Date()
    private var lastPrint = Date.distantPast
    private var expected: Int?

    public init(isTerminal: Bool = isatty(STDERR_FILENO) != 0, interval: Double? = nil) {
        self.isTerminal = isTerminal
        self.interval = interval ?? (isTerminal ? 0.25 : 10)
    }

    /// Total frames, when the container says.
    public func expectFrames(_ n: Int) { expected = n > 0 ? n : nil }

    public func update(frame: Int, crops: Int) {
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = now
        emit(line(frame: frame, crops: crops, final: false))
    }

    public func finish(frames: Int, crops: Int) {
        emit(line(frame: frames, crops: crops, final: true))
        if isTerminal { StandardStream.error.writeIgnoringErrors("\n") }
    }

    private func line(frame: Int, crops: Int, final: Bool) -> String {
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(crops) / elapsed : 0
        var s = "frame \(frame)"
        if let expected {
            let fraction = min(1, Double(frame) / Double(expected))
            s += "/\(expected)"
            if isTerminal {
                let width = 24, filled = Int(fraction * Double(width))
                s = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + s
            }
            if !final, fraction > 0 {
                let eta = elapsed / fraction - elapsed
                s += String(format: ", ETA %.0f s", eta)
            }
        }
        s += String(format: ", %d crops, %.2f crops/s, %.0f s", crops, rate, elapsed)
        return s
    }

    private func emit(_ s: String) {
        let text = isTerminal ? "\r\u{1B}[K" + s : "pard: " + s + "\n"
        StandardStream.error.writeIgnoringErrors(text)
    }
}
