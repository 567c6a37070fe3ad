/* Dense ops: matmul/linear (cblas_sgemm), elementwise arithmetic, concat/slice,
 * reductions. */
#include <cblas.h>
#include <omp.h>

#include "core/tensor/ops_internal.h"

void kgm_colsum_acc(const float *m, int32_t rows, int32_t cols, float *acc) {
    /* Threads own column ranges: deterministic and race-free. */
#pragma omp parallel if ((int64_t)rows * cols > KGM_PAR_MIN)
    {
        int32_t c0, c1;
        kgm_col_range(cols, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
        for (int32_t i = 0; i < rows; i++) {
            const float *r = m + (size_t)i * cols;
            for (int32_t j = c0; j < c1; j++) acc[j] += r[j];
        }
    }
}

/* ---- matmul ---------------------------------------------------------------- */

static void matmul_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *a = n->in[0], *b = n->in[1], *c = n->out;
    bool ta = n->iarg[0], tb = n->iarg[1];
    int M = c->rows, N = c->cols, K = (int)n->iarg[2];
    const float *dC = c->grad;
    if (a->grad) {
        if (!ta) { /* dA (M,K) += dC · op(B)^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasNoTrans : CblasTrans, M, K, N, 1.0f,
                        dC, N, b->data, b->cols, 1.0f, a->grad, K);
        } else { /* dA (K,M) += op(B) · dC^T */
            cblas_sgemm(CblasRowMajor, tb ? CblasTrans : CblasNoTrans, CblasTrans, K, M, N, 1.0f,
                        b->data, b->cols, dC, N, 1.0f, a->grad, M);
        }
    }
    if (b->grad) {
        if (!tb) { /* dB (K,N) += op(A)^T · dC */
            cblas_sgemm(CblasRowMajor, ta ? CblasNoTrans : CblasTrans, CblasNoTrans, K, N, M, 1.0f,
                        a->data, a->cols, dC, N, 1.0f, b->grad, N);
        } else { /* dB (N,K) += dC^T · op(A) */
            cblas_sgemm(CblasRowMajor, CblasTrans, ta ? CblasTrans : CblasNoTrans, N, K, M, 1.0f,
                        dC, N, a->data, a->cols, 1.0f, b->grad, K);
        }
    }
    (void)tp;
}

kgm_status kgm_op_matmul(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, bool ta, bool tb,
                         kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(a, "matmul");
    KGM_CHECK_NOT_NULL(b, "matmul");
    int M = ta ? a->cols : a->rows, Ka = ta ? a->rows : a->cols;
    int Kb = tb ? b->cols : b->rows, N = tb ? b->rows : b->cols;
    if (Ka != Kb)
        return KGM_ERR(KGM_ERR_SHAPE, "matmul: inner dimensions differ: op(A) is (%d, %d), op(B) is (%d, %d)",
                       M, Ka, Kb, N);
    kgm_tensor *in[2] = {a, b};
    bool g;
    KGM_TRY(kgm_op_out(tp, M, N, in, 2, Ka == 0, out, &g));
    if (Ka > 0 && M > 0 && N > 0)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
                    Ka, 1.0f, a->data, a->cols, b->data, b->cols, 0.0f, (*out)->data, N);
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, matmul_bw, *out, in, 2, false, &nd));
        nd->iarg[0] = ta;
        nd->iarg[1] = tb;
        nd->iarg[2] = Ka;
    }
    return KGM_OK;
}

/* ---- linear ---------------------------------------------------------------- */

static void linear_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    int B = x->rows, In = x->cols, O = w->cols;
    if (x->grad && B > 0) /* dx (B,I) += dy (B,O) · W^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, In, O, 1.0f, y->grad, O, w->data, O,
                    1.0f, x->grad, In);
    if (w->grad && B > 0) /* dW (I,O) += x^T · dy */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, In, O, B, 1.0f, x->data, In, y->grad, O,
                    1.0f, w->grad, O);
    /* db += column sums of dy, on this thread: an OpenMP region between the
     * GEMMs would make OpenMP's and OpenBLAS's thread pools compete for the
     * cores (measured: 62% of the sgemm peak with spinning OpenMP workers
     * vs 95% without). Same summation order as kgm_colsum_acc. */
    if (b && b->grad)
        for (int i = 0; i < B; i++) {
            const float *r = y->grad + (size_t)i * O;
            for (int j = 0; j < O; j++) b->grad[j] += r[j];
        }
    (void)tp;
}

kgm_status kgm_op_linear(kgm_tape *tp, kgm_tensor *x, kgm_tensor *w, kgm_tensor *b,
                         kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "linear");
    KGM_CHECK_NOT_NULL(w, "linear");
    if (x->cols != w->rows)
        return KGM_ERR(KGM_ERR_SHAPE, "linear: input has %d columns but the weight is (%d, %d)", x->cols,
                       w->rows, w->cols);
    if (b && (b->rows != 1 || b->cols != w->cols))
        return KGM_ERR(KGM_ERR_SHAPE, "linear: bias must be (1, %d), found (%d, %d)", w->cols, b->rows,
                       b->cols);
    int B = x->rows, In = x->cols, O = w->cols;
    kgm_tensor *in[3] = {x, w, b};
    bool g;
    KGM_TRY(kgm_op_out(tp, B, O, in, b ? 3 : 2, false, out, &g));
    float *y = (*out)->data;
    float beta = 0.0f;
    if (b) {
        for (int i = 0; i < B; i++) memcpy(y + (size_t)i * O, b->data, (size_t)O * sizeof(float));
        beta = 1.0f;
    }
    if (B > 0 && In > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, O, In, 1.0f, x->data, In, w->data, O,
                    beta, y, O);
    else if (!b)
        memset(y, 0, (size_t)B * O * sizeof(float));
    if (g) KGM_TRY(kgm_tape_record(tp, linear_bw, *out, in, b ? 3 : 2, false, NULL));
    return KGM_OK;
}

/* ---- bias add -------------------------------------------------------------- */

static void bias_add_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *b = n->in[1], *y = n->out;
    int64_t N = kgm_tensor_numel(y);
    if (x->grad) {
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
        for (int64_t i = 0; i < N; i++) x->grad[i] += y->grad[i];
    }
    if (b->grad) kgm_colsum_acc(y->grad, y->rows, y->cols, b->grad);
    (void)tp;
}

kgm_status kgm_op_bias_add(kgm_tape *tp, kgm_tensor *x, kgm_tensor *b, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "bias_add");
    KGM_CHECK_NOT_NULL(b, "bias_add");
    if (b->rows != 1 || b->cols != x->cols)
        return KGM_ERR(KGM_ERR_SHAPE, "bias_add: bias must be (1, %d), found (%d, %d)", x->cols, b->rows,
                       b->cols);
    kgm_tensor *in[2] = {x, b};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, x->cols, in, 2, false, out, &g));
    int R = x->rows, C = x->cols;
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++)
            (*out)->data[(size_t)i * C + j] = x->data[(size_t)i * C + j] + b->data[j];
    if (g) KGM_TRY(kgm_tape_record(tp, bias_add_bw, *out, in, 2, false, NULL));
    return KGM_OK;
}

/* ---- elementwise add / sub / mul / min / max ------------------------------ */

enum { EW_ADD, EW_SUB, EW_MUL, EW_MIN, EW_MAX };

/* min / max: does entry i come from a? Ties go to a, so exactly one input
 * receives each gradient entry (the sum of both gradients stays dy). */
static inline bool ew_pick_a(int kind, float a, float b) { return kind == EW_MIN ? a <= b : a >= b; }

/* Backward of min / max: dy flows to the input that was selected. */
static void ew_select_bw(kgm_tensor *a, kgm_tensor *b, const float *dy, int64_t N, int kind) {
    if (a->grad) {
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
        for (int64_t i = 0; i < N; i++)
            if (ew_pick_a(kind, a->data[i], b->data[i])) a->grad[i] += dy[i];
    }
    if (b->grad) {
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
        for (int64_t i = 0; i < N; i++)
            if (!ew_pick_a(kind, a->data[i], b->data[i])) b->grad[i] += dy[i];
    }
}

static void ew_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    int64_t N = kgm_tensor_numel(y);
    int kind = (int)n->iarg[0];
    const float *dy = y->grad;
    if (kind == EW_MIN || kind == EW_MAX) {
        ew_select_bw(a, b, dy, N, kind);
        return;
    }
    if (a->grad) {
        if (kind == EW_MUL) {
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
            for (int64_t i = 0; i < N; i++) a->grad[i] += dy[i] * b->data[i];
        } else {
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
            for (int64_t i = 0; i < N; i++) a->grad[i] += dy[i];
        }
    }
    if (b->grad) {
        if (kind == EW_MUL) {
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
            for (int64_t i = 0; i < N; i++) b->grad[i] += dy[i] * a->data[i];
        } else {
            float s = kind == EW_SUB ? -1.0f : 1.0f;
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
            for (int64_t i = 0; i < N; i++) b->grad[i] += s * dy[i];
        }
    }
    (void)tp;
}

static kgm_status ew(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, int kind, const char *name,
                     kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(a, name);
    KGM_CHECK_NOT_NULL(b, name);
    KGM_CHECK_SAME_SHAPE(a, b, name);
    kgm_tensor *in[2] = {a, b};
    bool g;
    KGM_TRY(kgm_op_out(tp, a->rows, a->cols, in, 2, false, out, &g));
    int64_t N = kgm_tensor_numel(a);
    float *y = (*out)->data;
    const float *pa = a->data, *pb = b->data;
    switch (kind) {
    case EW_ADD:
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
        for (int64_t i = 0; i < N; i++) y[i] = pa[i] + pb[i];
        break;
    case EW_SUB:
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
        for (int64_t i = 0; i < N; i++) y[i] = pa[i] - pb[i];
        break;
    case EW_MIN:
    case EW_MAX:
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
        for (int64_t i = 0; i < N; i++) y[i] = ew_pick_a(kind, pa[i], pb[i]) ? pa[i] : pb[i];
        break;
    default:
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
        for (int64_t i = 0; i < N; i++) y[i] = pa[i] * pb[i];
        break;
    }
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, ew_bw, *out, in, 2, false, &nd));
        nd->iarg[0] = kind;
    }
    return KGM_OK;
}

kgm_status kgm_op_add(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out) {
    return ew(tp, a, b, EW_ADD, "add", out);
}
kgm_status kgm_op_sub(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out) {
    return ew(tp, a, b, EW_SUB, "sub", out);
}
kgm_status kgm_op_mul(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out) {
    return ew(tp, a, b, EW_MUL, "mul", out);
}
kgm_status kgm_op_min(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out) {
    return ew(tp, a, b, EW_MIN, "min", out);
}
kgm_status kgm_op_max(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out) {
    return ew(tp, a, b, EW_MAX, "max", out);
}

/* ---- scale ------------------------------------------------------------------ */

static void scale_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *y = n->out;
    int64_t N = kgm_tensor_numel(y);
    float a = n->farg[0];
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
    for (int64_t i = 0; i < N; i++) x->grad[i] += a * y->grad[i];
    (void)tp;
}

kgm_status kgm_op_scale(kgm_tape *tp, kgm_tensor *x, float alpha, float beta, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "scale");
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, x->cols, in, 1, false, out, &g));
    int64_t N = kgm_tensor_numel(x);
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
    for (int64_t i = 0; i < N; i++) (*out)->data[i] = alpha * x->data[i] + beta;
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, scale_bw, *out, in, 1, false, &nd));
        nd->farg[0] = alpha;
    }
    return KGM_OK;
}

/* ---- broadcast multiply ---------------------------------------------------- */

static void mul_bcast_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *s = n->in[1], *y = n->out;
    int R = x->rows, C = x->cols;
    const float *dy = y->grad;
    if (x->grad) {
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
        for (int i = 0; i < R; i++)
            for (int j = 0; j < C; j++) {
                float sv = s->rows == 1 ? (s->cols == 1 ? s->data[0] : s->data[j]) : s->data[i];
                x->grad[(size_t)i * C + j] += dy[(size_t)i * C + j] * sv;
            }
    }
    if (s->grad) {
        if (s->rows == R && s->cols == 1 && R != 1) {
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
            for (int i = 0; i < R; i++) {
                double acc = 0;
                for (int j = 0; j < C; j++) acc += (double)dy[(size_t)i * C + j] * x->data[(size_t)i * C + j];
                s->grad[i] += (float)acc;
            }
        } else if (s->rows == 1 && s->cols == C && C != 1) {
            for (int i = 0; i < R; i++)
                for (int j = 0; j < C; j++) s->grad[j] += dy[(size_t)i * C + j] * x->data[(size_t)i * C + j];
        } else {
            double acc = 0;
            for (int64_t k = 0; k < (int64_t)R * C; k++) acc += (double)dy[k] * x->data[k];
            s->grad[0] += (float)acc;
        }
    }
    (void)tp;
}

kgm_status kgm_op_mul_bcast(kgm_tape *tp, kgm_tensor *x, kgm_tensor *s, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "mul_bcast");
    KGM_CHECK_NOT_NULL(s, "mul_bcast");
    int R = x->rows, C = x->cols;
    bool ok = (s->rows == R && s->cols == 1) || (s->rows == 1 && s->cols == C) ||
              (s->rows == 1 && s->cols == 1);
    if (!ok)
        return KGM_ERR(KGM_ERR_SHAPE,
                       "mul_bcast: scale must be (%d, 1), (1, %d) or (1, 1), found (%d, %d)", R, C,
                       s->rows, s->cols);
    kgm_tensor *in[2] = {x, s};
    bool g;
    KGM_TRY(kgm_op_out(tp, R, C, in, 2, false, out, &g));
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) {
            float sv = s->rows == 1 ? (s->cols == 1 ? s->data[0] : s->data[j]) : s->data[i];
            (*out)->data[(size_t)i * C + j] = x->data[(size_t)i * C + j] * sv;
        }
    if (g) KGM_TRY(kgm_tape_record(tp, mul_bcast_bw, *out, in, 2, false, NULL));
    return KGM_OK;
}

/* ---- concat / slice -------------------------------------------------------- */

typedef struct {
    int n;
    kgm_tensor **xs;
} concat_saved;

static void concat_bw(kgm_tape *tp, kgm_node *nd) {
    concat_saved *s = nd->saved;
    kgm_tensor *y = nd->out;
    int R = y->rows, C = y->cols, off = 0;
    for (int k = 0; k < s->n; k++) {
        kgm_tensor *x = s->xs[k];
        if (x->grad) {
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
            for (int i = 0; i < R; i++)
                for (int j = 0; j < x->cols; j++)
                    x->grad[(size_t)i * x->cols + j] += y->grad[(size_t)i * C + off + j];
        }
        off += x->cols;
    }
    (void)tp;
}

kgm_status kgm_op_concat_cols(kgm_tape *tp, int n, kgm_tensor *const *xs, kgm_tensor **out) {
    if (n <= 0) return KGM_ERR(KGM_ERR_ARG, "concat_cols: need at least one tensor");
    int R = -1, C = 0;
    for (int k = 0; k < n; k++) {
        KGM_CHECK_NOT_NULL(xs[k], "concat_cols");
        if (R < 0) R = xs[k]->rows;
        if (xs[k]->rows != R)
            return KGM_ERR(KGM_ERR_SHAPE, "concat_cols: tensor %d has %d rows, tensor 0 has %d", k,
                           xs[k]->rows, R);
        C += xs[k]->cols;
    }
    bool g;
    KGM_TRY(kgm_op_out(tp, R, C, xs, n, false, out, &g));
    int off = 0;
    for (int k = 0; k < n; k++) {
        const kgm_tensor *x = xs[k];
        for (int i = 0; i < R; i++)
            memcpy((*out)->data + (size_t)i * C + off, x->data + (size_t)i * x->cols,
                   (size_t)x->cols * sizeof(float));
        off += x->cols;
    }
    if (g) {
        /* saved state first: a full arena must not leave a half-made record */
        concat_saved *s;
        KGM_TRY(kgm_tape_alloc(tp, sizeof *s + (size_t)n * sizeof(kgm_tensor *), (void **)&s));
        s->n = n;
        s->xs = (kgm_tensor **)(s + 1);
        for (int k = 0; k < n; k++) s->xs[k] = xs[k];
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, concat_bw, *out, xs, n, false, &nd));
        nd->saved = s;
    }
    return KGM_OK;
}

static void slice_bw(kgm_tape *tp, kgm_node *nd) {
    kgm_tensor *x = nd->in[0], *y = nd->out;
    int R = y->rows, L = y->cols, start = (int)nd->iarg[0];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < L; j++) x->grad[(size_t)i * x->cols + start + j] += y->grad[(size_t)i * L + j];
    (void)tp;
}

kgm_status kgm_op_slice_cols(kgm_tape *tp, kgm_tensor *x, int32_t start, int32_t len,
                             kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "slice_cols");
    if (start < 0 || len < 0 || start > x->cols || len > x->cols - start)
        return KGM_ERR(KGM_ERR_INDEX, "slice_cols: columns [%d, %d) outside a tensor of %d columns",
                       start, start + len, x->cols);
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, len, in, 1, false, out, &g));
    for (int i = 0; i < x->rows; i++)
        memcpy((*out)->data + (size_t)i * len, x->data + (size_t)i * x->cols + start,
               (size_t)len * sizeof(float));
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, slice_bw, *out, in, 1, false, &nd));
        nd->iarg[0] = start;
    }
    return KGM_OK;
}

/* ---- reductions ------------------------------------------------------------ */

/* Sum in fixed chunks combined in order: the result does not depend on the
 * number of threads. */
#define SUM_CHUNK 65536
static double det_sum(const float *x, int64_t n) {
    int64_t nch = (n + SUM_CHUNK - 1) / SUM_CHUNK;
    if (nch <= 1) {
        double acc = 0;
        for (int64_t i = 0; i < n; i++) acc += x[i];
        return acc;
    }
    double part[1024];
    double total = 0;
    for (int64_t base = 0; base < nch; base += 1024) {
        int64_t m = nch - base < 1024 ? nch - base : 1024;
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < m; c++) {
            int64_t lo = (base + c) * SUM_CHUNK, hi = lo + SUM_CHUNK < n ? lo + SUM_CHUNK : n;
            double acc = 0;
            for (int64_t i = lo; i < hi; i++) acc += x[i];
            part[c] = acc;
        }
        for (int64_t c = 0; c < m; c++) total += part[c];
    }
    return total;
}

static void sum_bw(kgm_tape *tp, kgm_node *nd) {
    kgm_tensor *x = nd->in[0];
    float g = nd->out->grad[0] * nd->farg[0];
    int64_t N = kgm_tensor_numel(x);
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
    for (int64_t i = 0; i < N; i++) x->grad[i] += g;
    (void)tp;
}

static kgm_status reduce(kgm_tape *tp, kgm_tensor *x, bool mean, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, mean ? "mean" : "sum");
    int64_t N = kgm_tensor_numel(x);
    if (mean && N == 0) return KGM_ERR(KGM_ERR_SHAPE, "mean of an empty tensor");
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, 1, 1, in, 1, false, out, &g));
    float f = mean ? 1.0f / (float)N : 1.0f;
    (*out)->data[0] = (float)(det_sum(x->data, N) * (mean ? 1.0 / (double)N : 1.0));
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, sum_bw, *out, in, 1, false, &nd));
        nd->farg[0] = f;
    }
    return KGM_OK;
}

kgm_status kgm_op_sum(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) { return reduce(tp, x, false, out); }
kgm_status kgm_op_mean(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) { return reduce(tp, x, true, out); }

/* ---- gated mixture of experts ------------------------------------------------ */

static void mixture_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *g = n->in[1], *y = n->out;
    int B = y->rows, H = y->cols, E = g->cols;
#pragma omp parallel for schedule(static) if ((int64_t)B * E * H > KGM_PAR_MIN)
    for (int b = 0; b < B; b++) {
        const float *dy = y->grad + (size_t)b * H;
        for (int e = 0; e < E; e++) {
            const float *xe = x->data + (size_t)b * E * H + (size_t)e * H;
            float ge = g->data[(size_t)b * E + e];
            if (x->grad) {
                float *dx = x->grad + (size_t)b * E * H + (size_t)e * H;
                for (int h = 0; h < H; h++) dx[h] += ge * dy[h];
            }
            if (g->grad) {
                float acc = 0;
                for (int h = 0; h < H; h++) acc += xe[h] * dy[h];
                g->grad[(size_t)b * E + e] += acc;
            }
        }
    }
    (void)tp;
}

kgm_status kgm_op_mixture(kgm_tape *tp, kgm_tensor *x, kgm_tensor *g, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "mixture");
    KGM_CHECK_NOT_NULL(g, "mixture");
    if (g->rows != x->rows || g->cols <= 0 || x->cols % g->cols != 0)
        return KGM_ERR(KGM_ERR_SHAPE, "mixture: experts (%d, %d) do not split into the %d gates of (%d, %d)",
                       x->rows, x->cols, g->cols, g->rows, g->cols);
    int B = x->rows, E = g->cols, H = x->cols / E;
    kgm_tensor *in[2] = {x, g};
    bool need;
    KGM_TRY(kgm_op_out(tp, B, H, in, 2, true, out, &need));
#pragma omp parallel for schedule(static) if ((int64_t)B * E * H > KGM_PAR_MIN)
    for (int b = 0; b < B; b++) {
        float *yr = (*out)->data + (size_t)b * H;
        for (int e = 0; e < E; e++) {
            const float *xe = x->data + (size_t)b * E * H + (size_t)e * H;
            float ge = g->data[(size_t)b * E + e];
            for (int h = 0; h < H; h++) yr[h] += ge * xe[h];
        }
    }
    if (need) KGM_TRY(kgm_tape_record(tp, mixture_bw, *out, in, 2, false, NULL));
    return KGM_OK;
}
