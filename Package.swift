// swift-tools-version: 6.1
import PackageDescription

// The model's element-wise kernels (softmax, GELU, LayerNorm) are plain loops the compiler vectorises;
// on x86-64 they are built for AVX2/FMA (x86-64-v3: Haswell, Zen and later), about twice as fast as the
// SSE2 baseline. OpenBLAS picks its own kernels at run time.
// The numeric code is optimised in debug builds too, so that the tests run the model at a usable speed.
// `RowKernelsAVX512` compiles the reduced paths' row kernels again for AVX-512 (x86-64-v4: Skylake-SP,
// Zen 4 and later) with 512-bit vectors (LLVM prefers 256 bits there unless told); PromptPAR calls it
// only where the CPU has AVX-512.
#if arch(x86_64)
let vectorISA: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"]), .unsafeFlags(["-O"], .when(configuration: .debug))]
let wideISA: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v4", "-Xcc", "-mprefer-vector-width=512"]),
                               .unsafeFlags(["-O"], .when(configuration: .debug))]
#else
let vectorISA: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
let wideISA = vectorISA
#endif

// Fuzzing (`Fuzz/run.sh TARGET SECONDS`): with PARD_FUZZ=1 in the environment the parsing modules are built
// with libFuzzer's coverage and AddressSanitizer, and the package gains `pard-fuzz` (libFuzzer's driver over
// PardFuzzing), optimised (-O: several times the executions per second of a debug build). Plain
// `swift build` and `swift test` never see either.
let fuzzing = Context.environment["PARD_FUZZ"] == "1"
let fuzzed: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address", "-O"])] : []

let package = Package(
    name: "pard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pard", targets: ["pard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // Thin C targets: system libraries plus header-only shims.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // oneDNN (Debian's libdnnl-dev 2.6, no pkg-config file): the bf16 and int8 products of the Linear layers.
        .systemLibrary(name: "COneDNN", path: "Sources/COneDNN", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CFFmpeg", path: "Sources/CFFmpeg", pkgConfig: "libavformat libavcodec libswscale libavutil",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CMosquitto", path: "Sources/CMosquitto", pkgConfig: "libmosquitto",
                       providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CNATS", path: "Sources/CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),

        // Reading checkpoints and tensor files (zip, pickle, safetensors, npy). Knows nothing of the model.
        .target(name: "PardCheckpoint", swiftSettings: fuzzed),
        // CLIP's byte-level BPE tokenizer.
        .target(name: "CLIPTokenizer", swiftSettings: fuzzed),
        // Attribute sets: names, sentences, exclusive groups, labels over a threshold.
        .target(name: "PARAttributes"),
        // Shared by every test target: fixture paths, checkpoint rewriting.
        .target(name: "PardTestSupport", dependencies: ["PardCheckpoint"]),
        // The bf16 and int8 paths' row kernels (softmax, QuickGELU): inlined into PromptPAR for AVX2, and
        // compiled again for AVX-512.
        .target(name: "RowKernels", swiftSettings: vectorISA),
        .target(name: "RowKernelsAVX512", dependencies: ["RowKernels"], swiftSettings: wideISA),
        // The PromptPAR model: numeric core, encoders, fusion, attribute sets. Knows nothing of video.
        .target(name: "PromptPAR", dependencies: ["COpenBLAS", "COneDNN", "PardCheckpoint", "CLIPTokenizer", "PARAttributes",
                                                  "RowKernels", "RowKernelsAVX512"],
                swiftSettings: vectorISA),
        // FFmpeg decoding, detections, crops. Knows nothing of the model.
        .target(name: "PardVideo", dependencies: ["CFFmpeg"], swiftSettings: fuzzed),
        // Joins video and model: batching, tracks, events.
        .target(name: "PardPipeline", dependencies: ["PromptPAR", "PardVideo", "PARAttributes", "PardCheckpoint"]),
        // Events to an MQTT broker (libmosquitto): the sink, its on-disk spool, its connection thread.
        .target(name: "PardMQTT", dependencies: ["CMosquitto", "PardPipeline", "PardVideo",
                                                 .product(name: "Logging", package: "swift-log")]),
        // NATS JetStream (libnats through CNATS): connection with reconnects, streams, publish, pull fetch, acks.
        .target(name: "PardNATS", dependencies: ["CNATS"]),
        // The long-running service: configuration, live streams, detection sources, scheduling.
        .target(name: "PardDaemon", dependencies: ["PardPipeline", "PardVideo", "PromptPAR", "PARAttributes", "PardMQTT", "PardNATS",
                                                   .product(name: "Yams", package: "Yams"),
                                                   .product(name: "Hummingbird", package: "hummingbird"),
                                                   .product(name: "Prometheus", package: "swift-prometheus"),
                                                   .product(name: "Logging", package: "swift-log"),
                                                   .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                   .product(name: "UnixSignals", package: "swift-service-lifecycle")],
                swiftSettings: fuzzed),
        // The parsers of untrusted input as fuzz targets: what `pard-fuzz` drives and the regression tests replay.
        .target(name: "PardFuzzing", dependencies: ["PardVideo", "PardCheckpoint", "CLIPTokenizer", "PardDaemon"],
                swiftSettings: fuzzed),
        .executableTarget(name: "pard", dependencies: [
            "PardDaemon", "PardMQTT",
            .product(name: "Logging", package: "swift-log"),
            "PromptPAR", "PardVideo", "PardPipeline", "PardCheckpoint", "PARAttributes",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "PardCheckpointTests", dependencies: ["PardCheckpoint", "PardTestSupport"]),
        .testTarget(name: "CLIPTokenizerTests", dependencies: ["CLIPTokenizer", "PardTestSupport"]),
        .testTarget(name: "PARAttributesTests", dependencies: ["PARAttributes", "PardTestSupport"]),
        .testTarget(name: "PromptPARTests", dependencies: ["PromptPAR", "RowKernels", "PardCheckpoint", "PardTestSupport"]),
        .testTarget(name: "PardVideoTests", dependencies: ["PardVideo", "PardCheckpoint", "PardTestSupport"]),
        .testTarget(name: "PardPipelineTests", dependencies: ["PardPipeline", "PardVideo", "PromptPAR", "PardCheckpoint", "PardTestSupport"]),
        .testTarget(name: "PardMQTTTests", dependencies: ["PardMQTT", "PardPipeline", "PardTestSupport",
                                                         .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "PardDaemonTests", dependencies: ["PardDaemon", "PardMQTT", "PardNATS", "PardPipeline", "PardVideo", "PromptPAR", "PardTestSupport",
                                                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                           .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                                                           .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "PardFuzzingTests", dependencies: ["PardFuzzing", "PardTestSupport"]),
        .testTarget(name: "PardCLITests", dependencies: ["PardCheckpoint", "PardTestSupport"]),
    ]
)

if fuzzing {
    package.targets += [
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        // lld: gold stops with an internal error on the sanitizer runtimes' debug information.
        .executableTarget(name: "pard-fuzz", dependencies: ["PardFuzzing", "CFuzzerDriver"], path: "Fuzz/Harness",
                          swiftSettings: fuzzed, linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])]),
    ]
}
