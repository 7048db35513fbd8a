import CLIPTokenizer
import Foundation
import PardCheckpoint
import PardDaemon
import PardVideo

extension FuzzTarget {
    /// The whole input as one detections file, strictly and skipping bad lines (1 MiB lines), then with
    /// 64-byte lines so that the too-long path runs on small inputs too.
    static func detections(_ input: UnsafeRawBufferPointer) throws {
        for skip in [true, false] {
            for lineLimit in [LineSplitter.defaultMaximumBytes, 64] {
                let options = DetectionParseOptions(skipBadLines: skip, maximumLineBytes: lineLimit)
                let found = try Detections.parse(bytes: input, file: "<fuzz>", options: options)
                _ = found.boxCount
            }
        }
    }

    /// The input as a pickle, then as a whole `.pth` file with every tensor converted to Float.
    static func pth(_ input: UnsafeRawBufferPointer) throws {
        _ = try? PickleReader.parse(input, file: "<fuzz>", entry: "data.pkl")
        let checkpoint = try TorchCheckpoint(path: try ScratchFile.shared.write(input))
        for name in checkpoint.tensorNames {
            _ = try checkpoint.tensorInfo(name)
            _ = try checkpoint.floats(name)
        }
    }

    /// The input as an npy array, then as a safetensors file with every tensor converted to Float.
    static func tensors(_ input: UnsafeRawBufferPointer) throws {
        var failure: CheckpointError?
        do { _ = try NPY.read(input, file: "<fuzz>") } catch { failure = error }
        let path = try ScratchFile.shared.write(input)
        do {
            let file = try SafetensorsFile(path: path)
            for name in file.tensorNames {
                _ = try file.tensorInfo(name)
                _ = try file.floats(name)
            }
        } catch {
            failure = error
        }
        if let failure { throw failure }
    }

    /// The input as the text of a configuration file (refused unless UTF-8, as `DaemonConfig.load` does),
    /// relative paths resolved against a folder that does not exist.
    static func config(_ input: UnsafeRawBufferPointer) throws {
        guard let text = String(bytes: input, encoding: .utf8) else { return }
        let config = try DaemonConfig(yaml: text, file: "<fuzz>", baseDirectory: "/nonexistent/pard-fuzz")
        _ = config.unusablePaths()
        _ = config.missingFiles()
        _ = config.description
    }

    /// The input as text (invalid UTF-8 repaired as `String(decoding:)` does) through the installed
    /// vocabulary (found as `pard` finds it: `$PARD_VOCAB`, `$PARD_DATA_DIR`, `/usr/share/pard`, ...).
    static func tokenizer(_ input: UnsafeRawBufferPointer) throws {
        let tokenizer = try SharedTokenizer.loaded.get()
        let text = String(decoding: input, as: UTF8.self)
        _ = tokenizer.encode(text)
        _ = try tokenizer.tokenize(text, truncate: true)
        _ = try? tokenizer.tokenize(text)
    }
}

/// The tokenizer, loaded once per process (loading the 49k merges takes ~100 ms).
enum SharedTokenizer {
    static let loaded = Result { () throws(TokenizerError) in try CLIPTokenizer() }
}
