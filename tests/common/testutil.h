/* Helpers shared by the Criterion suites. */
#ifndef KGMTL_TESTUTIL_H
#define KGMTL_TESTUTIL_H

#include <stdlib.h>
#include <string.h>

#include "kgmtl/kgmtl.h"

/* A heap tensor with N(0, scale^2) values and (optionally) a zeroed grad. */
static inline kgm_tensor *tu_tensor(int rows, int cols, uint64_t seed, float scale, bool grad) {
    kgm_tensor *t = NULL;
    if (kgm_tensor_new(rows, cols, &t) != KGM_OK) abort();
    kgm_rng r;
    kgm_rng_init(&r, seed, (uint64_t)rows * 131 + (uint64_t)cols);
    for (int64_t i = 0; i < (int64_t)rows * cols; i++) t->data[i] = scale * (float)kgm_rng_normal(&r);
    if (grad) t->grad = calloc((size_t)rows * (size_t)cols + 1, sizeof(float));
    return t;
}

/* Push values away from a kink at `at` (relu/margin) by at least `gap`. */
static inline void tu_avoid(kgm_tensor *t, float at, float gap) {
    for (int64_t i = 0; i < kgm_tensor_numel(t); i++) {
        float d = t->data[i] - at;
        if (d > -gap && d < gap) t->data[i] = at + (d >= 0 ? gap : -gap) * 2.0f;
    }
}

#endif
