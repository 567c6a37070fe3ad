/* core/tensor/gradcheck.h — finite-difference gradient checking for ops and plugins.
 *
 * kgm_gradcheck builds f(inputs) on a fresh tape, forms the scalar
 * L = sum(r ⊙ out) with a fixed random r, backpropagates, and compares every
 * analytic gradient element of every input that has a grad buffer against the
 * central difference (L(x+h) - L(x-h)) / 2h computed in double. The error of an
 * element is |a - n| / max(|a|, |n|, floor); the result reports the worst.
 * An element whose one-sided differences disagree (the forward function has a
 * kink within h, e.g. a ReLU input at 0) has no derivative to compare: it is
 * skipped and counted in n_kinks. That never hides a wrong backward kernel,
 * which shows at every smooth point. */
#ifndef KGMTL_GRADCHECK_H
#define KGMTL_GRADCHECK_H

#include "core/tensor/tape.h"

typedef kgm_status (*kgm_gradcheck_fn)(kgm_tape *tp, kgm_tensor **inputs, void *ctx, kgm_tensor **out);

typedef struct kgm_gradcheck_result {
    double max_rel_err;   /* worst relative error */
    int32_t worst_input;  /* which input */
    int64_t worst_index;  /* which element */
    double analytic, numeric;
    int64_t n_checked;    /* elements compared */
    int64_t n_kinks;      /* elements skipped at non-differentiable points */
} kgm_gradcheck_result;

/* Check gradients of `f` w.r.t. every input whose `grad` is non-NULL (heap
 * tensors: the caller allocates grad buffers). h: step (1e-3 suits float32
 * values of order 1); floor: denominator floor for near-zero gradients
 * (1e-2 is a good default). */
kgm_status kgm_gradcheck(kgm_gradcheck_fn f, kgm_tensor **inputs, int n_inputs, void *ctx, double h,
                         double floor, uint64_t seed, kgm_gradcheck_result *res);

#endif
