/* CSR construction by counting sort, with normalisation and transpose. */
#include "core/tensor/csr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void kgm_csr_free(kgm_csr_owned *c) {
    free(c->rowptr);
    free(c->col);
    free(c->val);
    free(c->t_rowptr);
    free(c->t_col);
    free(c->t_perm);
    memset(c, 0, sizeof *c);
}

kgm_status kgm_csr_build(int32_t rows, int32_t cols, int64_t nnz, const int32_t *dst, const int32_t *src,
                         const float *val, bool sym, bool self_loops, kgm_csr_norm norm, kgm_csr_owned *out) {
    memset(out, 0, sizeof *out);
    if (sym && rows != cols) return KGM_ERR(KGM_ERR_SHAPE, "csr: symmetrising needs a square matrix, not %dx%d", rows, cols);
    if (self_loops && rows != cols) return KGM_ERR(KGM_ERR_SHAPE, "csr: self-loops need a square matrix");
    for (int64_t k = 0; k < nnz; k++)
        if (dst[k] < 0 || dst[k] >= rows || src[k] < 0 || src[k] >= cols)
            return KGM_ERR(KGM_ERR_INDEX, "csr: entry %lld (%d, %d) outside %dx%d", (long long)k, dst[k], src[k], rows, cols);
    int64_t total = nnz * (sym ? 2 : 1) + (self_loops ? rows : 0);
    out->rowptr = calloc((size_t)rows + 1, sizeof(int64_t));
    out->col = malloc((size_t)(total ? total : 1) * sizeof(int32_t));
    out->val = malloc((size_t)(total ? total : 1) * sizeof(float));
    out->t_rowptr = calloc((size_t)cols + 1, sizeof(int64_t));
    out->t_col = malloc((size_t)(total ? total : 1) * sizeof(int32_t));
    out->t_perm = malloc((size_t)(total ? total : 1) * sizeof(int64_t));
    int64_t *fill = malloc(((size_t)(rows > cols ? rows : cols) + 1) * sizeof(int64_t));
    if (!out->rowptr || !out->col || !out->val || !out->t_rowptr || !out->t_col || !out->t_perm || !fill) {
        free(fill);
        kgm_csr_free(out);
        return KGM_ERR(KGM_ERR_NOMEM, "csr with %lld entries", (long long)total);
    }
    /* count */
    for (int64_t k = 0; k < nnz; k++) {
        out->rowptr[dst[k] + 1]++;
        if (sym) out->rowptr[src[k] + 1]++;
    }
    if (self_loops)
        for (int32_t r = 0; r < rows; r++) out->rowptr[r + 1]++;
    for (int32_t r = 0; r < rows; r++) out->rowptr[r + 1] += out->rowptr[r];
    memcpy(fill, out->rowptr, (size_t)rows * sizeof(int64_t));
    /* place: self-loop first, then edges in input order (stable) */
    if (self_loops)
        for (int32_t r = 0; r < rows; r++) {
            int64_t p = fill[r]++;
            out->col[p] = r;
            out->val[p] = 1.0f;
        }
    for (int64_t k = 0; k < nnz; k++) {
        float v = val ? val[k] : 1.0f;
        int64_t p = fill[dst[k]]++;
        out->col[p] = src[k];
        out->val[p] = v;
        if (sym) {
            p = fill[src[k]]++;
            out->col[p] = dst[k];
            out->val[p] = v;
        }
    }
    /* normalise */
    if (norm != KGM_NORM_NONE) {
        double *rs = calloc((size_t)rows + 1, sizeof(double)), *cs = calloc((size_t)cols + 1, sizeof(double));
        if (!rs || !cs) {
            free(rs);
            free(cs);
            free(fill);
            kgm_csr_free(out);
            return KGM_ERR(KGM_ERR_NOMEM, "csr normalisation");
        }
        for (int32_t r = 0; r < rows; r++)
            for (int64_t p = out->rowptr[r]; p < out->rowptr[r + 1]; p++) {
                rs[r] += out->val[p];
                cs[out->col[p]] += out->val[p];
            }
        for (int32_t r = 0; r < rows; r++)
            for (int64_t p = out->rowptr[r]; p < out->rowptr[r + 1]; p++) {
                int32_t c = out->col[p];
                if (norm == KGM_NORM_ROW) out->val[p] = rs[r] > 0 ? (float)(out->val[p] / rs[r]) : 0.0f;
                else out->val[p] = (rs[r] > 0 && cs[c] > 0) ? (float)(out->val[p] / sqrt(rs[r] * cs[c])) : 0.0f;
            }
        free(rs);
        free(cs);
    }
    /* transpose */
    for (int64_t p = 0; p < total; p++) out->t_rowptr[out->col[p] + 1]++;
    for (int32_t c = 0; c < cols; c++) out->t_rowptr[c + 1] += out->t_rowptr[c];
    memcpy(fill, out->t_rowptr, (size_t)cols * sizeof(int64_t));
    for (int32_t r = 0; r < rows; r++)
        for (int64_t p = out->rowptr[r]; p < out->rowptr[r + 1]; p++) {
            int64_t q = fill[out->col[p]]++;
            out->t_col[q] = r;
            out->t_perm[q] = p;
        }
    free(fill);
    out->m = (kgm_csr){.rows = rows, .cols = cols, .nnz = total, .rowptr = out->rowptr, .col = out->col,
                       .val = out->val, .t_rowptr = out->t_rowptr, .t_col = out->t_col, .t_perm = out->t_perm};
    return KGM_OK;
}
