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

    /// Calls `body` with disjoint ranges covering `0..<rows` on the threads of the team (`OneDNN.threads`),
    /// concurrently; returns when all are done. `body` must only touch its rows. The rows are handed out
    /// in chunks of about an eighth of a thread's share, each to whichever thread is free (OpenMP's
    /// dynamic schedule): with an even split the faster thread waited at the join for the slower one
    /// (two vCPUs run at different speeds on a shared host), and perf counted 18 % of int8 inference
    /// in libgomp's spin.
    /// `chunk`: rows per piece handed out (nil: about an eighth of a thread's share, at least 4).
    /// `serialBelow`: row counts below it stay on the calling thread (`minimumRows`; less where a "row"
    /// is a large piece of work, such as a piece of a product).
    static func rows(_ rows: Int, chunk: Int? = nil, serialBelow: Int = minimumRows, _ body: (Range<Int>) -> Void) {
        let threads = OneDNN.threads
        guard enabled, threads > 1, rows >= serialBelow else { return body(0..<rows) }
        withoutActuallyEscaping(body) { escaping in
            var job = Job(rows: rows, chunk: chunk ?? 0, body: escaping)
            withUnsafeMutablePointer(to: &job) { pointer in
                OneDNN.applyThreads()
                GOMP_parallel({ raw in
                    guard let raw else { return }
                    let job = raw.assumingMemoryBound(to: Job.self).pointee
                    let chunk = job.chunk > 0 ? job.chunk : max(4, job.rows / (8 * Int(omp_get_num_threads())))
                    var lower = 0, upper = 0
                    var more = GOMP_loop_dynamic_start(0, job.rows, 1, chunk, &lower, &upper)
                    while more {
                        job.body(lower..<upper)
                        more = GOMP_loop_dynamic_next(&lower, &upper)
                    }
                    GOMP_loop_end_nowait()
                }, pointer, UInt32(threads), 0)
            }
        }
    }

    /// What each thread reads: the row count and the loop body.
    private struct Job {
        let rows: Int
        let chunk: Int
        let body: (Range<Int>) -> Void
    }
}
