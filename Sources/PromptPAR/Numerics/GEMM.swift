import COpenBLAS
import Glibc
import Foundation

/// Thin wrappers over OpenBLAS's single-precision GEMM. All matrices are row-major.
enum GEMM {
    /// Time spent inside GEMM calls while `GEMMClock.enabled` (for `pard bench`'s `gemm_share`).
    @inline(__always)
    static func timed(_ body: () -> Void) {
        guard GEMMClock.enabled else { return body() }
        let t0 = GEMMClock.now()
        body()
        GEMMClock.nanoseconds &+= GEMMClock.now() &- t0
    }

    /// `c[m,n] = alpha * a[m,k] · bᵀ + beta * c` where `b` is `[n,k]` (PyTorch's Linear weight layout).
    @inline(__always)
    static func abT(m: Int, n: Int, k: Int, alpha: Float = 1,
                    a: UnsafePointer<Float>, lda: Int,
                    b: UnsafePointer<Float>, ldb: Int,
                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        timed {
            byRows(m) { rows in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows.count), Int32(n), Int32(k),
                            alpha, a + rows.lowerBound * lda, Int32(lda), b, Int32(ldb), beta, c + rows.lowerBound * ldc, Int32(ldc))
            }
        }
    }

    /// `c[m,n] = alpha * a[m,k] · b[k,n] + beta * c`.
    @inline(__always)
    static func ab(m: Int, n: Int, k: Int, alpha: Float = 1,
                   a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int,
                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        timed {
            byRows(m) { rows in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows.count), Int32(n), Int32(k),
                            alpha, a + rows.lowerBound * lda, Int32(lda), b, Int32(ldb), beta, c + rows.lowerBound * ldc, Int32(ldc))
            }
        }
    }

    /// Runs `product(rows)` for all `m` rows: in one call where OpenBLAS has the threads; split over
    /// oneDNN's team (`TeamParallel`, one OpenBLAS thread each) where a bf16 or int8 model left OpenBLAS
    /// one thread (`ModelSpec.load`) and oneDNN several: the fp32 products such a model keeps (patch
    /// embedding, the fusion's block) then run on the threads that are awake anyway. (OpenBLAS's idle
    /// threads call `sched_yield` for about 0.1 s after each call, taking a core from oneDNN's: 7 % of
    /// int8 inference in perf.)
    @inline(__always)
    private static func byRows(_ m: Int, _ product: (Range<Int>) -> Void) {
        let team = OneDNN.threads
        guard m >= 2 * TeamParallel.minimumRows, team > 1, BLAS.threads == 1 else { return product(0..<m) }
        TeamParallel.rows(m, chunk: max(TeamParallel.minimumRows, (m + 2 * team - 1) / (2 * team)), product)
    }
}

/// The OpenBLAS build in use.
public enum BLAS {
    /// The kernel OpenBLAS picked for this CPU (`Haswell`, `SkylakeX`, ... ; `Prescott` is the slow
    /// generic fallback).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Number of threads OpenBLAS uses for one GEMM.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses for one GEMM.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
}

/// Process-wide GEMM stopwatch for benchmarks: enable it only while one thread runs the model.
public enum GEMMClock {
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) public static var nanoseconds: UInt64 = 0

    /// Monotonic clock in nanoseconds.
    @inline(__always)
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

extension BLAS {
    /// The `OPENBLAS_CORETYPE` that suits this CPU, from `/proc/cpuinfo` flags: Debian's OpenBLAS 0.3.21
    /// does not recognise recent CPUs and falls back to the generic `Prescott` kernel (about 5x slower).
    public static func recommendedCoreType(cpuinfo: String? = nil) -> String? {
        let text = cpuinfo ?? ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
        guard let flagsLine = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// Kernels that mean OpenBLAS did not recognise the CPU.
    public static let genericCores: Set<String> = ["Prescott", "Core2", "Katmai", "Northwood", "Banias", "Atom", "unknown"]
}
