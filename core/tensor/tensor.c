/* Heap tensors (outside any tape) and small checks. */
#include "core/tensor/tensor.h"

#include <math.h>
#include <stdlib.h>

kgm_status kgm_tensor_new(int32_t rows, int32_t cols, kgm_tensor **out) {
    *out = NULL;
    if (rows < 0 || cols < 0) return KGM_ERR(KGM_ERR_SHAPE, "negative tensor shape (%d, %d)", rows, cols);
    kgm_tensor *t = calloc(1, sizeof *t);
    if (!t) return KGM_ERR(KGM_ERR_NOMEM, "tensor header");
    size_t n = (size_t)rows * (size_t)cols;
    t->data = calloc(n ? n : 1, sizeof(float));
    if (!t->data) {
        free(t);
        return KGM_ERR(KGM_ERR_NOMEM, "tensor (%d, %d)", rows, cols);
    }
    t->rows = rows;
    t->cols = cols;
    t->param_id = -1;
    *out = t;
    return KGM_OK;
}

void kgm_tensor_free(kgm_tensor *t) {
    if (!t) return;
    free(t->data);
    free(t->grad);
    free(t);
}

void kgm_tensor_fill(kgm_tensor *t, float v) {
    int64_t n = kgm_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) t->data[i] = v;
}

kgm_status kgm_tensor_check_shape(const kgm_tensor *t, int32_t rows, int32_t cols, const char *what) {
    if (!t) return KGM_ERR(KGM_ERR_ARG, "%s: tensor is NULL", what);
    if ((rows >= 0 && t->rows != rows) || (cols >= 0 && t->cols != cols))
        return KGM_ERR(KGM_ERR_SHAPE, "%s: expected shape (%d, %d), found (%d, %d)", what, rows, cols,
                       t->rows, t->cols);
    return KGM_OK;
}

bool kgm_tensor_all_finite(const kgm_tensor *t) {
    int64_t n = kgm_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(t->data[i])) return false;
    return true;
}
