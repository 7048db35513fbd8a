/// Errors of the pipeline; each case carries the offending input, and `description` is one line naming it.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    /// An input file could not be read (`reason`: what its reader said).
    case unreadable(file: String, reason: String)
    /// An array of images has the wrong shape; `expected` reads like `[N, 3, 224, 224]`.
    case wrongShape(file: String, shape: [Int], expected: String)
    /// Element (`image`, `channel`, `row`, `column`) of an `[N, C, H, W]` array is NaN or infinite.
    case nonFinite(file: String, image: Int, channel: Int, row: Int, column: Int, value: Float)
    /// An output file could not be opened.
    case cannotOpen(file: String, reason: String)
    /// Writing failed: `target` is a file or "standard output"; `reason` what the system said.
    case writeFailed(target: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return reason.hasPrefix(file) ? reason : "\(file): \(reason)"
        case let .wrongShape(file, shape, expected):
            return "\(file): shape \(shape), expected \(expected)"
        case let .nonFinite(file, image, channel, row, column, value):
            let text = value.isNaN ? "NaN" : (value > 0 ? "+infinity" : "-infinity")
            return "\(file): image \(image), channel \(channel), row \(row), column \(column): \(text) (the images must be finite numbers)"
        case let .cannotOpen(file, reason):
            return "\(file): cannot open for writing: \(reason)"
        case let .writeFailed(target, reason):
            return "\(target): write failed: \(reason)"
        }
    }
}
