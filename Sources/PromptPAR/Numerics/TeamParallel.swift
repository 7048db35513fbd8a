import COneDNN
import Foundation

/// Row loops of the bf16/int8 path (quantising activations, softmax, bias and activation, LayerNorm)
/// split over oneDNN's OpenMP team: the threads that run the matmuls, already awake (GNU OpenMP
/// spins them between parallel regions), so a row loop costs no thread start and no second pool
/// competes for the cores. The fp32 path keeps its loops serial: there OpenBLAS's threads are the
/// pool, and waking OpenMP's beside them would fight over the cores.
enum TeamParallel {
    /// Rows below which a loop stays on the calling thread (a fork and join costs a few microseconds).
    static let minimumRows = 16
    /// `PARD_SERIAL_ROWS=1` keeps every row loop on the calling thread (for measuring what the split brings).
    static let enabled = ProcessInfo.processInfo.environment["PARD_SERIAL_ROWS"] == nil

    /// Calls `body` with disjoint ranges covering `0..<rows`, one per thread of the team
    /// (`OneDNN.threads`), concurrently; returns when all are done. `body` must only touch its rows.
    static func rows(_ rows: Int, _ body: (Range<Int>) -> Void) {
        let threads = OneDNN.threads
        guard enabled, threads > 1, rows >= minimumRows else { return body(0..<rows) }
        withoutActuallyEscaping(body) { escaping in
            var job = Job(rows: rows, body: escaping)
            withUnsafeMutablePointer(to: &job) { pointer in
                OneDNN.applyThreads()
                GOMP_parallel({ raw in
                    guard let raw else { return }
                    let job = raw.assumingMemoryBound(to: Job.self).pointee
                    let n = Int(omp_get_num_threads()), t = Int(omp_get_thread_num())
                    let lower = job.rows * t / n, upper = job.rows * (t + 1) / n
                    if lower < upper { job.body(lower..<upper) }
                }, pointer, UInt32(threads), 0)
            }
        }
    }

    /// What each thread reads: the row count and the loop body.
    private struct Job {
        let rows: Int
        let body: (Range<Int>) -> Void
    }
}
