/// Errors of the pipeline; each names the offending input.
public enum PipelineError: Error, CustomStringConvertible {
    /// An input file is unreadable or of the wrong shape (message names file and problem).
    case input(String)
    /// Output could not be written (file, what the OS said).
    case output(String)

    public var description: String {
        switch self {
        case .input(let m): m
        case .output(let m): m
        }
    }
}
