#ifndef PARD_CONEDNN_SHIM_H
#define PARD_CONEDNN_SHIM_H
// oneDNN's C API (Debian's libdnnl-dev 2.6, which ships no pkg-config file) and the two OpenMP calls
// pard needs: Debian builds oneDNN on the GNU OpenMP runtime, whose thread count is per calling thread.
#include <oneapi/dnnl/dnnl.h>
extern void omp_set_num_threads(int n);
extern int omp_get_max_threads(void);
/// DNNL_MEMORY_ALLOCATE (a cast macro Swift cannot import): "oneDNN allocates the buffer".
static inline void *pard_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
#endif
