import Foundation
import PardPipeline
import PardVideo

/// Where the commands write. Standard output goes through a write that fails with an error naming
/// it (never `FileHandle.write`, which traps on /dev/full or a closed pipe); messages go to standard
/// error, and are dropped if that fails too; FFmpeg's log comes out as pard's own lines.
enum Output {
    /// Writes `text` to standard output.
    /// - Throws: `CLIError("standard output: write failed: No space left on device")`.
    static func standardOutput(_ text: String) throws {
        do { try StandardStream.output.write(text) } catch { throw CLIError(error.description) }
    }

    /// Writes one line (the newline is added) to standard error, ignoring failure.
    static func message(_ line: String) {
        StandardStream.error.writeIgnoringErrors(line + "\n")
    }

    /// Process-wide set-up done before any command runs: SIGPIPE (and SIGXFSZ) ignored, so that a closed pipe on
    /// standard output is EPIPE, reported as an error, instead of a silent death; FFmpeg's errors as
    /// `pard: ffmpeg: png: IEND without all image` lines, its warnings and chatter hidden.
    /// (`pard run` may point `FFmpegLog.setHandler` at its logger instead.)
    static func setUpProcess() {
        signal(SIGPIPE, SIG_IGN)
        // A file over RLIMIT_FSIZE is then EFBIG, reported (and survived by `pard run`), not a core dump.
        signal(SIGXFSZ, SIG_IGN)
        FFmpegLogLevel.error.apply()
        FFmpegLog.setHandler { message("pard: " + $0.line) }
    }
}
