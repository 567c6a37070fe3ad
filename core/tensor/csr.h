/* core/tensor/csr.h — owned CSR matrices with their transpose, built once. */
#ifndef KGMTL_CSR_H
#define KGMTL_CSR_H

#include "core/base/status.h"

/* A CSR matrix with owned arrays; `m` is the view ops take. Rows are
 * destinations (messages flow from column to row), sorted by row, then by
 * column within a row, so aggregation needs no atomics. */
typedef struct kgm_csr_owned {
    kgm_csr m;
    int64_t *rowptr;
    int32_t *col;
    float *val;
    int64_t *t_rowptr;
    int32_t *t_col;
    int64_t *t_perm;
} kgm_csr_owned;

typedef enum kgm_csr_norm {
    KGM_NORM_NONE = 0, /* values as given (1 if none) */
    KGM_NORM_ROW = 1,  /* each row sums to 1 (mean of incoming messages) */
    KGM_NORM_SYM = 2   /* D_r^-1/2 A D_c^-1/2 (GCN) */
} kgm_csr_norm;

/* Build from nnz (dst=row, src=col) pairs with optional values. Duplicate
 * entries are kept (multi-edges). Optionally adds every reverse edge
 * (`symmetrise`) and self-loops on the diagonal (`self_loops`, square only). */
kgm_status kgm_csr_build(int32_t rows, int32_t cols, int64_t nnz, const int32_t *dst, const int32_t *src,
                         const float *val, bool symmetrise, bool self_loops, kgm_csr_norm norm,
                         kgm_csr_owned *out);
void kgm_csr_free(kgm_csr_owned *c);

#endif
