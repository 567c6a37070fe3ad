/* core/base/runtime.h — process-wide set-up and the kernels' thread count. */
#ifndef KGMTL_BASE_RUNTIME_H
#define KGMTL_BASE_RUNTIME_H

/* Process-wide set-up, called once at start-up by the CLI and by tests:
 * replaces igraph's abort-on-error handler with one that returns codes, and
 * keeps OpenBLAS single-threaded-per-call consistent with OpenMP settings. */
void kgm_init_runtime(void);

/* Threads used by kgmtl kernels (OpenMP); 0 = library default. */
void kgm_set_threads(int n);
int kgm_get_threads(void);

#endif
