import ArgumentParser
import Foundation
import PromptPAR

/// `pard bench --synthetic`: throughput of the full-size model with random weights.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure inference throughput; prints one JSON line per batch size.",
        discussion: """
        With --synthetic, builds the released ViT-L/14 layout (26 attributes) with random weights in \
        memory: no checkpoint needed. Build with -c release to measure.
        """)

    @Flag(help: "Use random weights of the released model's size (required for now).")
    var synthetic = false

    @Option(name: .long, parsing: .upToNextOption, help: "Batch sizes to measure.")
    var batch: [Int] = [4]

    @Option(help: "Timed iterations per batch size (after one warm-up).")
    var iterations = 5

    @Option(help: "OpenBLAS threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Arithmetic of the vision transformer's Linear layers: fp32, bf16, int8 or auto.")
    var precision: ModelSpec.Precision = .fp32

    @Option(name: .customLong("fp32-layers"), help: "With bf16 or int8: layers kept fp32 (as for classify).")
    var fp32Layers: String?

    func validate() throws {
        guard synthetic else { throw ValidationError("pard bench needs --synthetic (random weights of the released size)") }
        guard batch.allSatisfy({ $0 >= 1 && $0 <= 256 }) else { throw ValidationError("--batch must be between 1 and 256, got \(batch)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        _ = try ModelOptions.fullPrecision(fp32Layers)
    }

    func run() throws {
        let config = SyntheticWeights.releasedShape
        let loadStart = Date()
        let model: PromptPARModel
        let kept = try ModelOptions.fullPrecision(fp32Layers)
        do { model = try ModelSpec(source: .synthetic, threads: threads, precision: precision, fullPrecision: kept).load().model } catch { throw CLIError(error.description) }
        let loadSeconds = Date().timeIntervalSince(loadStart)

        for b in batch {
            let session = InferenceSession(model: model, maxBatch: b)
            var images = [Float](repeating: 0, count: b * model.imageFloats)
            var rng = SystemRandomNumberGenerator()
            for i in images.indices { images[i] = Float.random(in: -1...1, using: &rng) }
            var logits = [Float](repeating: 0, count: b * config.attributes)
            var total: [Double] = [], vision: [Double] = [], gemm: [Double] = []
            images.withUnsafeBufferPointer { img in
                logits.withUnsafeMutableBufferPointer { out in
                    guard let input = img.baseAddress, let output = out.baseAddress else { return }
                    session.run(images: input, count: b, logits: output)  // warm-up
                    for _ in 0..<iterations {
                        let t0 = GEMMClock.now()
                        session.run(images: input, count: b, logits: output)
                        total.append(Double(GEMMClock.now() - t0) / 1e9)
                    }
                    // The vision encoder again with the GEMM stopwatch on, for gemm_share.
                    for _ in 0..<max(1, min(3, iterations)) {
                        GEMMClock.nanoseconds = 0
                        GEMMClock.enabled = true
                        let t0 = GEMMClock.now()
                        session.runVision(images: input, count: b)
                        vision.append(Double(GEMMClock.now() - t0) / 1e9)
                        GEMMClock.enabled = false
                        gemm.append(Double(GEMMClock.nanoseconds) / 1e9)
                    }
                }
            }
            let seconds = median(total)
            let share = zip(gemm, vision).map { $0 / $1 }
            let line: [String: Any] = [
                "model": "synthetic ViT-L/14 (26 attributes)",
                "precision": model.precision.rawValue,
                "precision_requested": precision.rawValue,
                "onednn_isa": OneDNN.isaName,
                "products": model.products,
                "attention": model.attention,
                "fp32_layers": model.fullPrecision.description,
                "batch": b,
                "threads": threads,
                "iterations": iterations,
                "crops_per_s": round3(Double(b) / seconds),
                "ms_per_crop": round3(seconds * 1000 / Double(b)),
                "seconds_per_batch_median": round3(seconds),
                "seconds_per_batch_min": round3(total.min() ?? 0),
                "gemm_share": round3(median(share)),
                "gflops": round3(config.visionGFLOP * Double(b) / seconds),
                "peak_rss_mb": round3(ProcessMemory.peakResidentMB),
                "workspace_mb": round3(Double(session.workspaceBytes) / 1_048_576),
                "load_s": round3(loadSeconds),
                "blas_core": BLAS.coreName,
            ]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            try Output.standardOutput(String(decoding: data, as: UTF8.self) + "\n")
        }
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

/// This process's memory use.
enum ProcessMemory {
    /// Peak resident set size in MiB (`getrusage`'s `ru_maxrss`).
    static var peakResidentMB: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
