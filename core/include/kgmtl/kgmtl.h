/* kgmtl/kgmtl.h — umbrella header for host-side code (CLI, tests, embedders). */
#ifndef KGMTL_KGMTL_H
#define KGMTL_KGMTL_H

#include "kgmtl/arena.h"
#include "kgmtl/gradcheck.h"
#include "kgmtl/metrics.h"
#include "kgmtl/ops.h"
#include "kgmtl/optim.h"
#include "kgmtl/params.h"
#include "kgmtl/plugin.h"
#include "kgmtl/progress.h"
#include "kgmtl/rng.h"
#include "kgmtl/status.h"
#include "kgmtl/tape.h"
#include "kgmtl/tensor.h"

#define KGM_VERSION_STRING "0.1.0"

/* Process-wide set-up, called once at start-up by the CLI and by tests:
 * replaces igraph's abort-on-error handler with one that returns codes, and
 * keeps OpenBLAS single-threaded-per-call consistent with OpenMP settings. */
void kgm_init_runtime(void);

/* Threads used by kgmtl kernels (OpenMP); 0 = library default. */
void kgm_set_threads(int n);
int kgm_get_threads(void);

#endif
