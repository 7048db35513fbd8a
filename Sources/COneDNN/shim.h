#ifndef PARD_CONEDNN_SHIM_H
#define PARD_CONEDNN_SHIM_H
// oneDNN's C API (Debian's libdnnl-dev 2.6, which ships no pkg-config file) and the two OpenMP calls
// pard needs: Debian builds oneDNN on the GNU OpenMP runtime, whose thread count is per calling thread.
#include <oneapi/dnnl/dnnl.h>
extern void omp_set_num_threads(int n);
extern int omp_get_max_threads(void);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);
/// What `#pragma omp parallel num_threads(n)` compiles to (libgomp's ABI since GCC 4.9): runs
/// `fn(data)` on `n` threads of oneDNN's own OpenMP team, the caller among them, and returns when all are done.
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
/// What `#pragma omp for schedule(dynamic, chunk) nowait` compiles to inside a parallel region: each
/// call hands the calling thread the next chunk `[*istart, *iend)` of `[start, end)`, false when none is left.
extern _Bool GOMP_loop_dynamic_start(long start, long end, long incr, long chunk, long *istart, long *iend);
extern _Bool GOMP_loop_dynamic_next(long *istart, long *iend);
extern void GOMP_loop_end_nowait(void);
/// DNNL_MEMORY_ALLOCATE (a cast macro Swift cannot import): "oneDNN allocates the buffer".
static inline void *pard_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
#endif
