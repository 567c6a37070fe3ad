/* core/tensor/tensor.h — helpers for 2-D float32 tensors owned outside a tape. */
#ifndef KGMTL_TENSOR_H
#define KGMTL_TENSOR_H

#include "core/base/status.h"

/* Heap tensor (data zeroed, no grad); free with kgm_tensor_free. */
kgm_status kgm_tensor_new(int32_t rows, int32_t cols, kgm_tensor **out);
void kgm_tensor_free(kgm_tensor *t);
/* Fill helpers. */
void kgm_tensor_fill(kgm_tensor *t, float v);
/* Check that `t` is (rows, cols); -1 accepts any extent. */
kgm_status kgm_tensor_check_shape(const kgm_tensor *t, int32_t rows, int32_t cols, const char *what);
/* True if every element is finite. */
bool kgm_tensor_all_finite(const kgm_tensor *t);

#endif
