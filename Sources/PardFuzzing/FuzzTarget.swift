import CLIPTokenizer
import Foundation
import PardCheckpoint
import PardDaemon
import PardVideo

/// The parsers of untrusted input that libFuzzer drives (`Fuzz/run.sh TARGET SECONDS`) and whose crash
/// inputs the tests replay (`Tests/Fixtures/fuzz-regressions/<target>/`). Both call `run` on the same bytes,
/// so a regression case exercises exactly what the fuzzer found.
///
/// `run` either returns or throws the reading module's own error (one naming the input); anything else
/// (a trap, a sanitizer report, another error type, a hang past 1 s) is a bug.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A detections file or socket stream: `LineSplitter`, then JSON lines (`JSONLDetections.parseLine`)
    /// or MOT CSV (`MOTDetections.parseLine`), strict and skipping bad lines, with a small line limit too.
    case detections
    /// A `.pth` checkpoint: the zip central directory and entries (`ZipArchive`), the pickle
    /// (`PickleReader`), the tensor records and their conversion to Float (`TorchCheckpoint`). The bytes are
    /// also given to `PickleReader` directly, so that pickles are fuzzed without a valid zip around them.
    case pth
    /// Tensor file headers: safetensors (`SafetensorsFile`, its JSON header and data offsets) and npy
    /// (`NPY.read`, its magic, version and Python-literal header).
    case tensors
    /// The YAML configuration as `pard check-config` reads it: `DaemonConfig(yaml:)`, then the checks and
    /// summaries it prints (`unusablePaths`, `missingFiles`, `summary`, stream lines).
    case config
    /// The CLIP tokenizer over arbitrary text (`tokenize` strict and truncating, `encode`).
    case tokenizer

    /// Feeds `input` to this target's parsers.
    /// - Throws: the parser's own error type (`isExpected` is true for it).
    public func run(_ input: UnsafeRawBufferPointer) throws {
        switch self {
        case .detections: try Self.detections(input)
        case .pth: try Self.pth(input)
        case .tensors: try Self.tensors(input)
        case .config: try Self.config(input)
        case .tokenizer: try Self.tokenizer(input)
        }
    }

    /// Loads what every input shares (the tokenizer's vocabulary: over a second under AddressSanitizer),
    /// so that the first input is not charged for it against the 1 s limit.
    public func prepare() {
        if self == .tokenizer { _ = SharedTokenizer.loaded }
    }

    /// Whether `error` is one `run` may throw: the reading module's own error type, whose message names the
    /// input (a file, line, entry or key path). Any other error escaping a parser is a bug.
    public func isExpected(_ error: any Error) -> Bool {
        switch self {
        case .detections: error is VideoError
        case .pth, .tensors: error is CheckpointError
        case .config: error is ConfigError
        case .tokenizer: error is TokenizerError
        }
    }
}
