#ifndef PARD_COPENBLAS_SHIM_H
#define PARD_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (cblas_sgemm), openblas_get_corename and openblas_set_num_threads.
#include <cblas.h>
#endif
