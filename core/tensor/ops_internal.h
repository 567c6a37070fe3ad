/* Shared helpers for op implementations (not installed). */
#ifndef KGMTL_OPS_INTERNAL_H
#define KGMTL_OPS_INTERNAL_H

#include <math.h>
#include <string.h>

#include "core/tensor/ops.h"
#include "core/tensor/params.h"
#include "core/tensor/tensor.h"

/* Elementwise loops below this many elements stay on one thread: the fork
 * costs more than the work. */
#define KGM_PAR_MIN 32768

/* Allocate the output of an op whose inputs are `in[0..n)`. *g tells whether
 * a gradient flows (and a record must be made). */
static inline kgm_status kgm_op_out(kgm_tape *tp, int32_t rows, int32_t cols, kgm_tensor *const *in,
                                    int n, bool zero, kgm_tensor **out, bool *g) {
    *g = kgm_tape_needs_grad(tp, in, n);
    return kgm_tape_tensor(tp, rows, cols, zero, *g, out);
}

#define KGM_CHECK_NOT_NULL(t, what)                                                                \
    do {                                                                                           \
        if (!(t)) return KGM_ERR(KGM_ERR_ARG, "%s: tensor argument is NULL", what);              \
    } while (0)

#define KGM_CHECK_SAME_SHAPE(a, b, what)                                                           \
    do {                                                                                           \
        if ((a)->rows != (b)->rows || (a)->cols != (b)->cols)                                      \
            return KGM_ERR(KGM_ERR_SHAPE, "%s: shapes differ: (%d, %d) vs (%d, %d)", what,         \
                           (a)->rows, (a)->cols, (b)->rows, (b)->cols);                           \
    } while (0)

/* Column range [c0, c1) owned by thread `tid` of `nth` (for column-split
 * reductions that stay deterministic and need no atomics). */
static inline void kgm_col_range(int32_t cols, int tid, int nth, int32_t *c0, int32_t *c1) {
    *c0 = (int32_t)((int64_t)cols * tid / nth);
    *c1 = (int32_t)((int64_t)cols * (tid + 1) / nth);
}

/* Column sums of a (rows, cols) matrix accumulated into acc (cols). */
void kgm_colsum_acc(const float *m, int32_t rows, int32_t cols, float *acc);

#endif
