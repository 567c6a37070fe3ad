/* Index-driven ops: gather (embedding lookup with row-sparse gradients),
 * segment reductions over CSR offsets, row-wise dot/cosine, CSR x dense. */
#include <omp.h>

#include "core/tensor/ops_internal.h"

/* ---- gather -------------------------------------------------------------------- */

static void gather_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *tab = n->in[0], *y = n->out;
    const int32_t *idx = n->ptr[0];
    int32_t cnt = (int32_t)n->iarg[0], D = tab->cols;
    if (!tab->grad) return;
    if ((tab->flags & KGM_TENSOR_SPARSE) && tab->owner) kgm_param_touch_rows(tab->owner, idx, cnt);
    /* Threads own column ranges: repeated indices accumulate in row order,
     * so the result is deterministic and needs no atomics. */
#pragma omp parallel if ((int64_t)cnt * D > KGM_PAR_MIN)
    {
        int32_t c0, c1;
        kgm_col_range(D, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
        for (int32_t i = 0; i < cnt; i++) {
            float *dst = tab->grad + (size_t)idx[i] * D;
            const float *src = y->grad + (size_t)i * D;
            for (int32_t j = c0; j < c1; j++) dst[j] += src[j];
        }
    }
    (void)tp;
}

kgm_status kgm_op_gather(kgm_tape *tp, kgm_tensor *table, const int32_t *idx, int32_t n,
                         kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(table, "gather");
    if (n < 0) return KGM_ERR(KGM_ERR_ARG, "gather: negative count %d", n);
    if (n > 0 && !idx) return KGM_ERR(KGM_ERR_ARG, "gather: index array is NULL");
    for (int32_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= table->rows)
            return KGM_ERR(KGM_ERR_INDEX, "gather: index %d at position %d outside a table of %d rows",
                           idx[i], i, table->rows);
    kgm_tensor *in[1] = {table};
    bool g;
    KGM_TRY(kgm_op_out(tp, n, table->cols, in, 1, false, out, &g));
    int32_t D = table->cols;
#pragma omp parallel for schedule(static) if ((int64_t)n * D > KGM_PAR_MIN)
    for (int32_t i = 0; i < n; i++)
        memcpy((*out)->data + (size_t)i * D, table->data + (size_t)idx[i] * D, (size_t)D * sizeof(float));
    if (g) {
        /* Keep a copy of the indices: the caller's batch buffer may be reused.
         * Allocated before recording, so a full arena leaves no half-made record. */
        int32_t *cp;
        KGM_TRY(kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof(int32_t), (void **)&cp));
        if (n) memcpy(cp, idx, (size_t)n * sizeof(int32_t));
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, gather_bw, *out, in, 1, true, &nd));
        nd->ptr[0] = cp;
        nd->iarg[0] = n;
    }
    return KGM_OK;
}

/* ---- segment ops ---------------------------------------------------------------- */

static kgm_status check_offsets(const int64_t *off, int32_t n_seg, int32_t rows, const char *what) {
    if (n_seg < 0) return KGM_ERR(KGM_ERR_ARG, "%s: negative segment count", what);
    if (!off) return KGM_ERR(KGM_ERR_ARG, "%s: offsets are NULL", what);
    if (off[0] != 0) return KGM_ERR(KGM_ERR_INDEX, "%s: offsets[0] must be 0, found %lld", what, (long long)off[0]);
    for (int32_t s = 0; s < n_seg; s++)
        if (off[s + 1] < off[s])
            return KGM_ERR(KGM_ERR_INDEX, "%s: offsets decrease at segment %d (%lld > %lld)", what, s,
                           (long long)off[s], (long long)off[s + 1]);
    if (off[n_seg] != rows)
        return KGM_ERR(KGM_ERR_INDEX, "%s: offsets end at %lld but the input has %d rows", what,
                       (long long)off[n_seg], rows);
    return KGM_OK;
}

enum { SEG_SUM, SEG_MEAN };

static void segment_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *y = n->out;
    const int64_t *off = n->ptr[0];
    int32_t S = y->rows, D = y->cols;
    bool mean = n->iarg[0] == SEG_MEAN;
#pragma omp parallel for schedule(dynamic, 64) if ((int64_t)x->rows * D > KGM_PAR_MIN)
    for (int32_t s = 0; s < S; s++) {
        int64_t cnt = off[s + 1] - off[s];
        if (!cnt) continue;
        float f = mean ? 1.0f / (float)cnt : 1.0f;
        const float *dy = y->grad + (size_t)s * D;
        for (int64_t e = off[s]; e < off[s + 1]; e++)
            for (int32_t j = 0; j < D; j++) x->grad[(size_t)e * D + j] += f * dy[j];
    }
    (void)tp;
}

static kgm_status segment_reduce(kgm_tape *tp, kgm_tensor *x, const int64_t *off, int32_t S, int kind,
                                 kgm_tensor **out) {
    const char *name = kind == SEG_MEAN ? "segment_mean" : "segment_sum";
    KGM_CHECK_NOT_NULL(x, name);
    KGM_TRY(check_offsets(off, S, x->rows, name));
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, S, x->cols, in, 1, true, out, &g));
    int32_t D = x->cols;
#pragma omp parallel for schedule(dynamic, 64) if ((int64_t)x->rows * D > KGM_PAR_MIN)
    for (int32_t s = 0; s < S; s++) {
        float *yr = (*out)->data + (size_t)s * D;
        for (int64_t e = off[s]; e < off[s + 1]; e++)
            for (int32_t j = 0; j < D; j++) yr[j] += x->data[(size_t)e * D + j];
        int64_t cnt = off[s + 1] - off[s];
        if (kind == SEG_MEAN && cnt > 0)
            for (int32_t j = 0; j < D; j++) yr[j] /= (float)cnt;
    }
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, segment_bw, *out, in, 1, false, &nd));
        nd->ptr[0] = off;
        nd->iarg[0] = kind;
    }
    return KGM_OK;
}

kgm_status kgm_op_segment_sum(kgm_tape *tp, kgm_tensor *x, const int64_t *offsets, int32_t n_seg,
                              kgm_tensor **out) {
    return segment_reduce(tp, x, offsets, n_seg, SEG_SUM, out);
}
kgm_status kgm_op_segment_mean(kgm_tape *tp, kgm_tensor *x, const int64_t *offsets, int32_t n_seg,
                               kgm_tensor **out) {
    return segment_reduce(tp, x, offsets, n_seg, SEG_MEAN, out);
}

static void segsoftmax_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *y = n->out;
    const int64_t *off = n->ptr[0];
    int32_t S = (int32_t)n->iarg[0], D = y->cols;
#pragma omp parallel for schedule(dynamic, 64) if ((int64_t)x->rows * D > KGM_PAR_MIN)
    for (int32_t s = 0; s < S; s++) {
        for (int32_t j = 0; j < D; j++) {
            double dot = 0;
            for (int64_t e = off[s]; e < off[s + 1]; e++)
                dot += (double)y->data[(size_t)e * D + j] * y->grad[(size_t)e * D + j];
            for (int64_t e = off[s]; e < off[s + 1]; e++) {
                size_t k = (size_t)e * D + j;
                x->grad[k] += y->data[k] * (y->grad[k] - (float)dot);
            }
        }
    }
    (void)tp;
}

kgm_status kgm_op_segment_softmax(kgm_tape *tp, kgm_tensor *x, const int64_t *off, int32_t S,
                                  kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "segment_softmax");
    KGM_TRY(check_offsets(off, S, x->rows, "segment_softmax"));
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, x->cols, in, 1, false, out, &g));
    int32_t D = x->cols;
#pragma omp parallel for schedule(dynamic, 64) if ((int64_t)x->rows * D > KGM_PAR_MIN)
    for (int32_t s = 0; s < S; s++) {
        for (int32_t j = 0; j < D; j++) {
            float mx = -INFINITY;
            for (int64_t e = off[s]; e < off[s + 1]; e++) mx = fmaxf(mx, x->data[(size_t)e * D + j]);
            double sum = 0;
            for (int64_t e = off[s]; e < off[s + 1]; e++) {
                size_t k = (size_t)e * D + j;
                (*out)->data[k] = expf(x->data[k] - mx);
                sum += (*out)->data[k];
            }
            float inv = (float)(1.0 / sum);
            for (int64_t e = off[s]; e < off[s + 1]; e++) (*out)->data[(size_t)e * D + j] *= inv;
        }
    }
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, segsoftmax_bw, *out, in, 1, false, &nd));
        nd->ptr[0] = off;
        nd->iarg[0] = S;
    }
    return KGM_OK;
}

/* ---- row-wise dot and cosine --------------------------------------------------- */

static void rowdot_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    int32_t R = a->rows, D = a->cols;
#pragma omp parallel for schedule(static) if ((int64_t)R * D > KGM_PAR_MIN)
    for (int32_t i = 0; i < R; i++) {
        float g = y->grad[i];
        const float *ar = a->data + (size_t)i * D, *br = b->data + (size_t)i * D;
        if (a->grad)
            for (int32_t j = 0; j < D; j++) a->grad[(size_t)i * D + j] += g * br[j];
        if (b->grad)
            for (int32_t j = 0; j < D; j++) b->grad[(size_t)i * D + j] += g * ar[j];
    }
    (void)tp;
}

kgm_status kgm_op_rowdot(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(a, "rowdot");
    KGM_CHECK_NOT_NULL(b, "rowdot");
    KGM_CHECK_SAME_SHAPE(a, b, "rowdot");
    kgm_tensor *in[2] = {a, b};
    bool g;
    KGM_TRY(kgm_op_out(tp, a->rows, 1, in, 2, false, out, &g));
    int32_t R = a->rows, D = a->cols;
#pragma omp parallel for schedule(static) if ((int64_t)R * D > KGM_PAR_MIN)
    for (int32_t i = 0; i < R; i++) {
        float acc = 0;
        for (int32_t j = 0; j < D; j++) acc += a->data[(size_t)i * D + j] * b->data[(size_t)i * D + j];
        (*out)->data[i] = acc;
    }
    if (g) KGM_TRY(kgm_tape_record(tp, rowdot_bw, *out, in, 2, false, NULL));
    return KGM_OK;
}

static void rowcos_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    const float *nrm = n->saved; /* per row: clamped |a|, clamped |b|, clamp flags */
    int32_t R = a->rows, D = a->cols;
#pragma omp parallel for schedule(static) if ((int64_t)R * D > KGM_PAR_MIN)
    for (int32_t i = 0; i < R; i++) {
        float na = nrm[4 * i], nb = nrm[4 * i + 1];
        bool ca = nrm[4 * i + 2] != 0, cb = nrm[4 * i + 3] != 0;
        float g = y->grad[i], c = y->data[i];
        const float *ar = a->data + (size_t)i * D, *br = b->data + (size_t)i * D;
        /* d cos / d a = b / (na nb) - cos * a / na^2 (second term absent when
         * the norm was clamped to eps and is therefore constant). */
        if (a->grad)
            for (int32_t j = 0; j < D; j++)
                a->grad[(size_t)i * D + j] += g * (br[j] / (na * nb) - (ca ? 0.0f : c * ar[j] / (na * na)));
        if (b->grad)
            for (int32_t j = 0; j < D; j++)
                b->grad[(size_t)i * D + j] += g * (ar[j] / (na * nb) - (cb ? 0.0f : c * br[j] / (nb * nb)));
    }
    (void)tp;
}

kgm_status kgm_op_rowcos(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, float eps, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(a, "rowcos");
    KGM_CHECK_NOT_NULL(b, "rowcos");
    KGM_CHECK_SAME_SHAPE(a, b, "rowcos");
    if (!(eps > 0)) eps = 1e-8f;
    kgm_tensor *in[2] = {a, b};
    bool g;
    KGM_TRY(kgm_op_out(tp, a->rows, 1, in, 2, false, out, &g));
    int32_t R = a->rows, D = a->cols;
    float *nrm;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(R ? R : 1) * 4 * sizeof(float), (void **)&nrm));
#pragma omp parallel for schedule(static) if ((int64_t)R * D > KGM_PAR_MIN)
    for (int32_t i = 0; i < R; i++) {
        double dot = 0, sa = 0, sb = 0;
        for (int32_t j = 0; j < D; j++) {
            float x = a->data[(size_t)i * D + j], z = b->data[(size_t)i * D + j];
            dot += (double)x * z;
            sa += (double)x * x;
            sb += (double)z * z;
        }
        float na = (float)sqrt(sa), nb = (float)sqrt(sb);
        nrm[4 * i + 2] = na < eps;
        nrm[4 * i + 3] = nb < eps;
        na = fmaxf(na, eps);
        nb = fmaxf(nb, eps);
        nrm[4 * i] = na;
        nrm[4 * i + 1] = nb;
        (*out)->data[i] = (float)(dot / ((double)na * nb));
    }
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, rowcos_bw, *out, in, 2, false, &nd));
        nd->saved = nrm;
    }
    return KGM_OK;
}

/* ---- CSR x dense --------------------------------------------------------------- */

typedef struct {
    kgm_csr a;         /* copy of the descriptor; arrays must outlive the step */
    int64_t *t_rowptr; /* transpose built here when the caller gave none */
    int32_t *t_col;
    int64_t *t_perm;
} spmm_saved;

static kgm_status build_transpose(kgm_tape *tp, spmm_saved *s) {
    const kgm_csr *a = &s->a;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(a->cols + 1) * sizeof(int64_t), (void **)&s->t_rowptr));
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(a->nnz ? a->nnz : 1) * sizeof(int32_t), (void **)&s->t_col));
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(a->nnz ? a->nnz : 1) * sizeof(int64_t), (void **)&s->t_perm));
    memset(s->t_rowptr, 0, (size_t)(a->cols + 1) * sizeof(int64_t));
    for (int64_t k = 0; k < a->nnz; k++) s->t_rowptr[a->col[k] + 1]++;
    for (int32_t c = 0; c < a->cols; c++) s->t_rowptr[c + 1] += s->t_rowptr[c];
    int64_t *fill;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(a->cols ? a->cols : 1) * sizeof(int64_t), (void **)&fill));
    memcpy(fill, s->t_rowptr, (size_t)a->cols * sizeof(int64_t));
    for (int32_t r = 0; r < a->rows; r++)
        for (int64_t k = a->rowptr[r]; k < a->rowptr[r + 1]; k++) {
            int64_t pos = fill[a->col[k]]++;
            s->t_col[pos] = r;
            s->t_perm[pos] = k;
        }
    return KGM_OK;
}

static void spmm_bw(kgm_tape *tp, kgm_node *n) {
    spmm_saved *s = n->saved;
    kgm_tensor *w = n->in[0], *x = n->in[1], *y = n->out;
    const kgm_csr *a = &s->a;
    int32_t D = x->cols;
    const float *wv = w ? w->data : a->val;
    if (x->grad) {
        const int64_t *trp = a->t_rowptr ? a->t_rowptr : s->t_rowptr;
        const int32_t *tc = a->t_rowptr ? a->t_col : s->t_col;
        const int64_t *tpm = a->t_rowptr ? a->t_perm : s->t_perm;
        /* dx[c] += sum over entries (r, c): v * dy[r]; rows of the transpose
         * are owned by one thread each. */
#pragma omp parallel for schedule(dynamic, 64) if (a->nnz * D > KGM_PAR_MIN)
        for (int32_t c = 0; c < a->cols; c++) {
            float *dx = x->grad + (size_t)c * D;
            for (int64_t k = trp[c]; k < trp[c + 1]; k++) {
                float v = wv ? wv[tpm[k]] : 1.0f;
                const float *dy = y->grad + (size_t)tc[k] * D;
                for (int32_t j = 0; j < D; j++) dx[j] += v * dy[j];
            }
        }
    }
    if (w && w->grad) {
#pragma omp parallel for schedule(dynamic, 64) if (a->nnz * D > KGM_PAR_MIN)
        for (int32_t r = 0; r < a->rows; r++) {
            const float *dy = y->grad + (size_t)r * D;
            for (int64_t k = a->rowptr[r]; k < a->rowptr[r + 1]; k++) {
                const float *xr = x->data + (size_t)a->col[k] * D;
                float acc = 0;
                for (int32_t j = 0; j < D; j++) acc += dy[j] * xr[j];
                w->grad[k] += acc;
            }
        }
    }
    (void)tp;
}

kgm_status kgm_op_spmm(kgm_tape *tp, const kgm_csr *a, kgm_tensor *w, kgm_tensor *x, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "spmm");
    if (!a || !a->rowptr || (a->nnz > 0 && !a->col)) return KGM_ERR(KGM_ERR_ARG, "spmm: CSR matrix is incomplete");
    if (a->cols != x->rows)
        return KGM_ERR(KGM_ERR_SHAPE, "spmm: matrix is (%d, %d) but the dense input has %d rows", a->rows,
                       a->cols, x->rows);
    if (w && (w->rows != a->nnz || w->cols != 1))
        return KGM_ERR(KGM_ERR_SHAPE, "spmm: edge values must be (%lld, 1), found (%d, %d)",
                       (long long)a->nnz, w->rows, w->cols);
    if (a->rowptr[0] != 0 || a->rowptr[a->rows] != a->nnz)
        return KGM_ERR(KGM_ERR_INDEX, "spmm: row pointer must run from 0 to nnz=%lld", (long long)a->nnz);
    for (int64_t k = 0; k < a->nnz; k++)
        if (a->col[k] < 0 || a->col[k] >= a->cols)
            return KGM_ERR(KGM_ERR_INDEX, "spmm: column index %d of entry %lld outside [0, %d)", a->col[k],
                           (long long)k, a->cols);
    kgm_tensor *in[2] = {w, x};
    bool g;
    KGM_TRY(kgm_op_out(tp, a->rows, x->cols, in, 2, false, out, &g));
    int32_t D = x->cols;
    const float *wv = w ? w->data : a->val;
#pragma omp parallel for schedule(dynamic, 64) if (a->nnz * D > KGM_PAR_MIN)
    for (int32_t r = 0; r < a->rows; r++) {
        float *yr = (*out)->data + (size_t)r * D;
        for (int32_t j = 0; j < D; j++) yr[j] = 0.0f;
        for (int64_t k = a->rowptr[r]; k < a->rowptr[r + 1]; k++) {
            float v = wv ? wv[k] : 1.0f;
            const float *xr = x->data + (size_t)a->col[k] * D;
            for (int32_t j = 0; j < D; j++) yr[j] += v * xr[j];
        }
    }
    if (g) {
        /* saved state first: a full arena must not leave a half-made record */
        spmm_saved *s;
        KGM_TRY(kgm_tape_alloc(tp, sizeof *s, (void **)&s));
        memset(s, 0, sizeof *s);
        s->a = *a;
        if (x->grad && !a->t_rowptr) KGM_TRY(build_transpose(tp, s));
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, spmm_bw, *out, in, 2, false, &nd));
        nd->saved = s;
    }
    return KGM_OK;
}
