/// Cuts a byte stream into lines, the way an editor counts them: a line ends at `\n`, at `\r\n` (one
/// ending, also when the `\r` and the `\n` arrive in two different `feed` calls) or at a lone `\r`.
/// A UTF-8 byte order mark (`EF BB BF`) at the very start of the stream is dropped. The one splitter
/// of detection text: files read by `Detections.load` and sockets, files and FIFOs followed by
/// `pard run`.
///
/// A line longer than `maximumBytes` (without its ending) is not kept: it is reported once as
/// `.tooLong` and skipped up to its end, so that input without line endings cannot grow memory.
public struct LineSplitter: Sendable {
    /// One piece of output.
    public enum Piece: Equatable, Sendable {
        /// A complete line (without its ending), and its 1-based number in the stream.
        case line(String, number: Int)
        /// Line `number` was `bytes` long, over the limit, and was skipped.
        case tooLong(number: Int, bytes: Int)
    }

    /// The default longest line, bytes: 1 MiB.
    public static let defaultMaximumBytes = 1 << 20

    /// The longest line kept, bytes.
    public let maximumBytes: Int
    private var pending: [UInt8] = []
    private var skipping = false
    private var skippedBytes = 0
    /// The last byte seen ended a line with `\r`: a `\n` right after it belongs to that ending.
    private var afterCarriageReturn = false
    /// Lines completed so far (the number of the last piece returned).
    public private(set) var lineCount = 0

    public init(maximumBytes: Int = LineSplitter.defaultMaximumBytes) {
        self.maximumBytes = max(1, maximumBytes)
    }

    /// Whether a partial line is waiting for its end.
    public var hasPartialLine: Bool { !pending.isEmpty || skipping }

    /// The reason to give for a `.tooLong` piece of `bytes` bytes.
    public func tooLongReason(bytes: Int) -> String {
        "line of \(bytes) bytes is longer than the limit of \(maximumBytes) bytes"
    }

    /// The lines completed by `bytes` (the next chunk of the stream).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [Piece] {
        var pieces: [Piece] = []
        var start = 0
        let count = bytes.count
        if afterCarriageReturn, count > 0 {
            afterCarriageReturn = false
            if bytes[0] == UInt8(ascii: "\n") { start = 1 }
        }
        while start < count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "\n"), bytes[end] != UInt8(ascii: "\r") { end += 1 }
            append(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            guard end < count else { break }
            pieces.append(finishLine())
            start = end + 1
            if bytes[end] == UInt8(ascii: "\r") {
                if start < count {
                    if bytes[start] == UInt8(ascii: "\n") { start += 1 }
                } else {
                    afterCarriageReturn = true
                }
            }
        }
        return pieces
    }

    /// The lines completed by `bytes`.
    public mutating func feed(_ bytes: [UInt8]) -> [Piece] {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// The partial line at the end of the input (the producer closed without a final line ending), if any.
    public mutating func finish() -> Piece? {
        afterCarriageReturn = false
        if lineCount == 0, pending == [0xEF, 0xBB, 0xBF] { pending.removeAll() }
        return hasPartialLine ? finishLine() : nil
    }

    private mutating func append(_ segment: UnsafeRawBufferPointer) {
        if skipping {
            skippedBytes += segment.count
        } else if pending.count + segment.count - byteOrderMarkLength(then: segment) > maximumBytes {
            skipping = true
            skippedBytes = pending.count + segment.count
            pending.removeAll(keepingCapacity: false)
        } else {
            pending.append(contentsOf: segment)
        }
    }

    /// 3 when the stream starts with a byte order mark in `pending` followed by `segment`, else 0.
    private func byteOrderMarkLength(then segment: UnsafeRawBufferPointer) -> Int {
        guard lineCount == 0 else { return 0 }
        let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
        for k in 0..<3 {
            let byte: UInt8? = k < pending.count ? pending[k]
                : (k - pending.count < segment.count ? segment[k - pending.count] : nil)
            guard byte == mark[k] else { return 0 }
        }
        return 3
    }

    private mutating func finishLine() -> Piece {
        lineCount += 1
        if skipping {
            skipping = false
            let bytes = skippedBytes
            skippedBytes = 0
            return .tooLong(number: lineCount, bytes: bytes)
        }
        let start = lineCount == 1 && pending.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let text = String(decoding: pending[start...], as: UTF8.self)
        pending.removeAll(keepingCapacity: true)
        return .line(text, number: lineCount)
    }
}
