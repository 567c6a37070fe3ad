/* Process-wide runtime set-up. */
#include <igraph.h>
#include <omp.h>
#include <cblas.h>

#include "kgmtl/kgmtl.h"

void kgm_init_runtime(void) {
    /* igraph aborts on error by default; kgmtl checks every return code. */
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_set_warning_handler(igraph_warning_handler_ignore);
}

void kgm_set_threads(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int kgm_get_threads(void) { return omp_get_max_threads(); }
