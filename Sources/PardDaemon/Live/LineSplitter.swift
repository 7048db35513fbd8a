/// Cuts a byte stream into lines (`\n`, with a `\r` before it dropped), for one producer connection.
///
/// A line longer than `maximumBytes` is not kept: it is reported once as `.tooLong` and skipped up to
/// its end, so that a producer sending garbage without newlines cannot grow memory.
struct LineSplitter {
    /// One piece of output.
    enum Piece: Equatable {
        /// A complete line (without its terminator), and its 1-based number in the connection.
        case line(String, number: Int)
        /// A line over the limit was skipped.
        case tooLong(number: Int, bytes: Int)
    }

    let maximumBytes: Int
    private var pending: [UInt8] = []
    private var skipping = false
    private var skippedBytes = 0
    /// Lines completed so far (the number of the last piece returned).
    private(set) var lineCount = 0

    init(maximumBytes: Int = 1 << 20) {
        self.maximumBytes = maximumBytes
    }

    /// Whether a partial line is waiting for its end.
    var hasPartialLine: Bool { !pending.isEmpty || skipping }

    /// The lines completed by `bytes`.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [Piece] {
        var pieces: [Piece] = []
        var start = 0
        let count = bytes.count
        while start < count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            let segment = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            if skipping {
                skippedBytes += segment.count
            } else if pending.count + segment.count > maximumBytes {
                skipping = true
                skippedBytes = pending.count + segment.count
                pending.removeAll(keepingCapacity: false)
            } else {
                pending.append(contentsOf: segment)
            }
            if end < count {
                pieces.append(finishLine())
                start = end + 1
            } else {
                start = end
            }
        }
        return pieces
    }

    /// The partial line at the end of the input (the producer closed without a final newline), if any.
    mutating func finish() -> Piece? {
        hasPartialLine ? finishLine() : nil
    }

    private mutating func finishLine() -> Piece {
        lineCount += 1
        if skipping {
            skipping = false
            let bytes = skippedBytes
            skippedBytes = 0
            return .tooLong(number: lineCount, bytes: bytes)
        }
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        let text = String(decoding: pending, as: UTF8.self)
        pending.removeAll(keepingCapacity: true)
        return .line(text, number: lineCount)
    }
}
