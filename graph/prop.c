/* Fused propagation: GCN aggregation, GraphSAGE mean, LightGCN, DiffNet.
 *
 * One kernel serves them all: y_i = self_i x_i + sum_k a_i w_k b_j x_j over
 * the entries k = (i <- j) of row i. The forward owns destination rows, the
 * backward owns source rows through the transpose, so neither needs atomics
 * and both sum in a fixed order whatever the number of threads. */
#include <omp.h>

#include "graph/graph_internal.h"

kgm_status kgm_graph_check_x(const kgm_graph_csr *g, const kgm_tensor *x, const char *what) {
    if (!g || !g->rowptr) return KGM_ERR(KGM_ERR_ARG, "%s: CSR view is NULL or empty", what);
    if (!x) return KGM_ERR(KGM_ERR_ARG, "%s: input tensor is NULL", what);
    if (x->rows != g->n_nodes)
        return KGM_ERR(KGM_ERR_SHAPE, "%s: input has %d rows but the graph has %d nodes", what, x->rows,
                       g->n_nodes);
    return KGM_OK;
}

kgm_status kgm_graph_check_kg(const kgm_graph_csr *g, const char *what) {
    if (!g->rel || !g->rel_ptr || g->n_rel <= 0)
        return KGM_ERR(KGM_ERR_ARG, "%s: needs a knowledge-graph view (relation ids)", what);
    return KGM_OK;
}

static kgm_status arena_floats(kgm_tape *tp, int64_t n, float **out) {
    return kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof(float), (void **)out);
}

kgm_status kgm_graph_prop_coef(kgm_tape *tp, const kgm_graph_csr *g, kgm_graph_norm norm,
                               bool self_loops, kgm_prop_coef *c) {
    memset(c, 0, sizeof *c);
    c->w = g->weight;
    int32_t n = g->n_nodes;
    float s = self_loops ? 1.0f : 0.0f;
    if (norm == KGM_GRAPH_NORM_NONE) {
        c->self_c = s;
        return KGM_OK;
    }
    if (norm != KGM_GRAPH_NORM_SYM && norm != KGM_GRAPH_NORM_ROW)
        return KGM_ERR(KGM_ERR_ARG, "graph propagation: unknown normalisation %d", (int)norm);
    float *a, *b = NULL, *self = NULL;
    KGM_TRY(arena_floats(tp, n, &a));
    if (norm == KGM_GRAPH_NORM_SYM) KGM_TRY(arena_floats(tp, n, &b));
    if (self_loops) KGM_TRY(arena_floats(tp, n, &self));
#pragma omp parallel for schedule(static) if (n > 4096)
    for (int32_t i = 0; i < n; i++) {
        double din = (double)g->deg_in[i] + s;
        if (norm == KGM_GRAPH_NORM_ROW) {
            a[i] = din > 0 ? (float)(1.0 / din) : 0.0f;
            if (self) self[i] = a[i];
        } else {
            double dout = (double)g->deg_out[i] + s;
            a[i] = din > 0 ? (float)(1.0 / sqrt(din)) : 0.0f;
            b[i] = dout > 0 ? (float)(1.0 / sqrt(dout)) : 0.0f;
            if (self) self[i] = a[i] * b[i];
        }
    }
    c->a = a;
    c->b = b;
    c->self = self;
    return KGM_OK;
}

/* Rows of x are read in neighbour order, which the hardware prefetcher
 * cannot guess: ask for the row PF_DIST entries ahead. */
#define PF_DIST 16
static inline void prefetch_row(const float *p, int32_t D) {
    for (int32_t d = 0; d < D; d += 16) __builtin_prefetch(p + d, 0, 1);
}

static inline float coef_self(const kgm_prop_coef *c, int32_t i) { return c->self ? c->self[i] : c->self_c; }

/* First row of thread `tid`'s share when rows [0, n) with entries ptr are
 * split into `nth` contiguous ranges of about equal work (entries + rows):
 * contiguous ranges keep each thread's index and output streams sequential. */
static int32_t balanced_start(const int64_t *ptr, int32_t n, int tid, int nth) {
    if (tid <= 0) return 0;
    if (tid >= nth) return n;
    int64_t target = (ptr[n] + n) * tid / nth;
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (ptr[mid] + mid < target) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* One direction of the propagation: rows of `ptr`, neighbour ids `idx`,
 * entry index `perm[p]` (NULL: p itself) for the weights, the row's own
 * factor and the neighbour's factor. The forward is (rowptr, nbr, -, a, b),
 * the backward the transpose (t_rowptr, t_dst, t_perm, b, a): both compute
 * the coefficient of an entry as own[row] * w * other[neighbour]. */
typedef struct {
    const int64_t *ptr, *perm;
    const int32_t *idx;
    const float *own, *other;
} prop_dir;

/* Rows [r0, r1) of  out = scale * (s_r in_r + sum_p cf_p in_idx[p])  with the
 * epilogue of kgm_prop_epi (see graph_internal.h). `in` is read at stride
 * is / offset io, `out` written at stride os / offset oo; acc and base are
 * (n, D). */
KGM_MULTIVERSION
static void prop_rows(const prop_dir *pd, const kgm_prop_coef *c, const float *in, int32_t is, int32_t io,
                      int32_t D, float *out, int32_t os, int32_t oo, bool assign, const kgm_prop_epi *e,
                      int64_t nnz, int32_t r0, int32_t r1) {
    float scale = e ? e->scale : 1.0f;
    bool to_acc = e && e->no_out;
    for (int32_t r = r0; r < r1; r++) {
        const float *restrict inr = in + (size_t)r * is + io;
        float sr = scale * coef_self(c, r), own = pd->own ? pd->own[r] : 1.0f;
        float *restrict o;
        if (to_acc) {
            o = e->acc + (size_t)r * D;
            const float *base = e->base ? e->base + (size_t)r * D : o;
            float k = e->in_coef + sr;
            if (k != 0.0f)
                for (int32_t d = 0; d < D; d++) o[d] = base[d] + k * inr[d];
            else if (e->base)
                for (int32_t d = 0; d < D; d++) o[d] = base[d];
        } else {
            o = out + (size_t)r * os + oo;
            if (assign && sr != 0.0f)
                for (int32_t d = 0; d < D; d++) o[d] = sr * inr[d];
            else if (assign)
                for (int32_t d = 0; d < D; d++) o[d] = 0.0f;
            else if (sr != 0.0f)
                for (int32_t d = 0; d < D; d++) o[d] += sr * inr[d];
        }
        for (int64_t p = pd->ptr[r]; p < pd->ptr[r + 1]; p++) {
            int32_t j = pd->idx[p];
            if (p + PF_DIST < nnz) prefetch_row(in + (size_t)pd->idx[p + PF_DIST] * is + io, D);
            float cf = scale * own * (c->w ? c->w[pd->perm ? pd->perm[p] : p] : 1.0f) *
                       (pd->other ? pd->other[j] : 1.0f);
            const float *restrict inj = in + (size_t)j * is + io;
            for (int32_t d = 0; d < D; d++) o[d] += cf * inj[d];
        }
        if (to_acc) {
            if (e->acc_scale != 1.0f)
                for (int32_t d = 0; d < D; d++) o[d] *= e->acc_scale;
        } else if (e && e->acc) {
            float *restrict ar = e->acc + (size_t)r * D;
            const float *base = e->base ? e->base + (size_t)r * D : ar;
            if (e->in_coef != 0.0f)
                for (int32_t d = 0; d < D; d++) ar[d] = e->acc_scale * (base[d] + e->in_coef * inr[d] + o[d]);
            else
                for (int32_t d = 0; d < D; d++) ar[d] = e->acc_scale * (base[d] + o[d]);
        }
    }
}

static void prop_run(const kgm_graph_csr *g, const prop_dir *pd, const kgm_prop_coef *c, const float *in,
                     int32_t is, int32_t io, int32_t D, float *out, int32_t os, int32_t oo, bool assign,
                     const kgm_prop_epi *e) {
    int32_t n = g->n_nodes;
#pragma omp parallel if ((g->nnz + n) * D > KGM_GRAPH_PAR_MIN)
    {
        int tid = omp_get_thread_num(), nth = omp_get_num_threads();
        prop_rows(pd, c, in, is, io, D, out, os, oo, assign, e, g->nnz, balanced_start(pd->ptr, n, tid, nth),
                  balanced_start(pd->ptr, n, tid + 1, nth));
    }
}

void kgm_graph_prop_fwd(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *x, int32_t D,
                        float *y, int32_t ys, int32_t yo, const kgm_prop_epi *e) {
    prop_dir pd = {g->rowptr, NULL, g->nbr, c->a, c->b};
    prop_run(g, &pd, c, x, D, 0, D, y, ys, yo, true, e);
}

void kgm_graph_prop_bwd(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *dy, int32_t ys,
                        int32_t yo, int32_t D, float *dx, bool assign, const kgm_prop_epi *e) {
    prop_dir pd = {g->t_rowptr, g->t_perm, g->t_dst, c->b, c->a};
    prop_run(g, &pd, c, dy, ys, yo, D, dx, D, 0, assign, e);
}

/* ---- GCN / SAGE aggregation op ---------------------------------------------------- */

typedef struct {
    const kgm_graph_csr *g;
    kgm_prop_coef c;
    int32_t yo;   /* column offset of the aggregate in the output */
    bool copy_x;  /* output columns [0, D) hold x itself (SAGE concat) */
} agg_saved;

static void agg_bw(kgm_tape *tp, kgm_node *n) {
    agg_saved *s = n->saved;
    kgm_tensor *x = n->in[0], *y = n->out;
    if (!x->grad) return;
    int32_t D = x->cols, ys = y->cols;
    if (s->copy_x) {
#pragma omp parallel for schedule(static) if ((int64_t)x->rows * D > KGM_GRAPH_PAR_MIN)
        for (int32_t i = 0; i < x->rows; i++)
            for (int32_t d = 0; d < D; d++) x->grad[(size_t)i * D + d] += y->grad[(size_t)i * ys + d];
    }
    kgm_graph_prop_bwd(s->g, &s->c, y->grad, ys, s->yo, D, x->grad, false, NULL);
    (void)tp;
}

static kgm_status aggregate(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, const kgm_prop_coef *c,
                            bool copy_x, kgm_tensor **out) {
    kgm_tensor *in[1] = {x};
    bool need = kgm_tape_needs_grad(tp, in, 1);
    int32_t D = x->cols, ys = copy_x ? 2 * D : D, yo = copy_x ? D : 0;
    KGM_TRY(kgm_tape_tensor(tp, g->n_nodes, ys, false, need, out));
    if (copy_x) {
#pragma omp parallel for schedule(static) if ((int64_t)x->rows * D > KGM_GRAPH_PAR_MIN)
        for (int32_t i = 0; i < x->rows; i++)
            memcpy((*out)->data + (size_t)i * ys, x->data + (size_t)i * D, (size_t)D * sizeof(float));
    }
    kgm_graph_prop_fwd(g, c, x->data, D, (*out)->data, ys, yo, NULL);
    if (need) {
        agg_saved *s;
        KGM_TRY(kgm_tape_alloc(tp, sizeof *s, (void **)&s));
        s->g = g;
        s->c = *c;
        s->yo = yo;
        s->copy_x = copy_x;
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, agg_bw, *out, in, 1, false, &nd));
        nd->saved = s;
    }
    return KGM_OK;
}

kgm_status kgm_graph_gcn_aggregate(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x,
                                   kgm_graph_norm norm, bool self_loops, kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, x, "gcn_aggregate"));
    kgm_prop_coef c;
    KGM_TRY(kgm_graph_prop_coef(tp, g, norm, self_loops, &c));
    return aggregate(tp, g, x, &c, false, out);
}

kgm_status kgm_graph_sage_aggregate(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x,
                                    kgm_graph_sage_mode mode, kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, x, "sage_aggregate"));
    if (mode != KGM_GRAPH_SAGE_CONCAT && mode != KGM_GRAPH_SAGE_ADD)
        return KGM_ERR(KGM_ERR_ARG, "sage_aggregate: unknown mode %d", (int)mode);
    kgm_prop_coef c;
    KGM_TRY(kgm_graph_prop_coef(tp, g, KGM_GRAPH_NORM_ROW, false, &c));
    if (mode == KGM_GRAPH_SAGE_ADD) c.self_c = 1.0f;
    return aggregate(tp, g, x, &c, mode == KGM_GRAPH_SAGE_CONCAT, out);
}

kgm_status kgm_graph_activate(kgm_tape *tp, kgm_tensor *x, kgm_graph_act act, kgm_tensor **out) {
    switch (act) {
    case KGM_GRAPH_ACT_NONE: *out = x; return KGM_OK;
    case KGM_GRAPH_ACT_RELU: return kgm_op_relu(tp, x, out);
    case KGM_GRAPH_ACT_LEAKY_RELU: return kgm_op_leaky_relu(tp, x, 0.2f, out);
    case KGM_GRAPH_ACT_SIGMOID: return kgm_op_sigmoid(tp, x, out);
    case KGM_GRAPH_ACT_TANH: return kgm_op_tanh(tp, x, out);
    }
    return KGM_ERR(KGM_ERR_ARG, "graph layer: unknown activation %d", (int)act);
}

kgm_status kgm_graph_gcn_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *w,
                               kgm_tensor *b, kgm_graph_norm norm, bool self_loops,
                               kgm_graph_act act, kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, x, "gcn_layer"));
    if (!w) return KGM_ERR(KGM_ERR_ARG, "gcn_layer: weight is NULL");
    kgm_tensor *h;
    if (w->cols < x->cols) {
        /* Â (x W) = (Â x) W: propagate the narrower matrix. */
        kgm_tensor *t;
        KGM_TRY(kgm_op_linear(tp, x, w, NULL, &t));
        KGM_TRY(kgm_graph_gcn_aggregate(tp, g, t, norm, self_loops, &h));
        if (b) KGM_TRY(kgm_op_bias_add(tp, h, b, &h));
    } else {
        kgm_tensor *t;
        KGM_TRY(kgm_graph_gcn_aggregate(tp, g, x, norm, self_loops, &t));
        KGM_TRY(kgm_op_linear(tp, t, w, b, &h));
    }
    return kgm_graph_activate(tp, h, act, out);
}

kgm_status kgm_graph_sage_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *w,
                                kgm_tensor *b, kgm_graph_sage_mode mode, kgm_graph_act act,
                                kgm_tensor **out) {
    kgm_tensor *t, *h;
    KGM_TRY(kgm_graph_sage_aggregate(tp, g, x, mode, &t));
    KGM_TRY(kgm_op_linear(tp, t, w, b, &h));
    return kgm_graph_activate(tp, h, act, out);
}

/* ---- LightGCN ----------------------------------------------------------------------- */

typedef struct {
    const kgm_graph_csr *g;
    kgm_prop_coef c;
    int32_t K;
    float *buf[2]; /* scratch, reused by the backward */
} lgcn_saved;

/* Layer k of K of the fused LightGCN chain, forward or backward: the first
 * layer starts the accumulator (forward: from x; backward: + dy/(K+1)), the
 * last one only accumulates (its output is not needed) and, forward, scales
 * by 1/(K+1). So the chain streams no extra copy or scaling pass. */
static kgm_prop_epi lgcn_epi(float *acc, const float *x, int32_t k, int32_t K, bool fwd) {
    float inv = 1.0f / (float)(K + 1);
    kgm_prop_epi e = {.acc = acc, .scale = 1.0f, .acc_scale = 1.0f, .no_out = k == K - 1};
    if (fwd) {
        e.base = k == 0 ? x : NULL;
        if (k == K - 1) e.acc_scale = inv;
    } else if (k == 0) {
        e.scale = inv;
        e.in_coef = inv;
    }
    return e;
}

static void lgcn_bw(kgm_tape *tp, kgm_node *n) {
    lgcn_saved *s = n->saved;
    kgm_tensor *x = n->in[0], *y = n->out;
    if (!x->grad) return;
    int64_t N = (int64_t)x->rows * x->cols;
    int32_t D = x->cols;
    if (s->K == 0) {
#pragma omp parallel for schedule(static) if (N > KGM_GRAPH_PAR_MIN)
        for (int64_t e = 0; e < N; e++) x->grad[e] += y->grad[e];
        return;
    }
    /* dx += sum_k (Â^T)^k dy / (K+1): the chain of transposed propagations. */
    const float *cur = y->grad;
    for (int32_t k = 0; k < s->K; k++) {
        kgm_prop_epi e = lgcn_epi(x->grad, NULL, k, s->K, false);
        float *nxt = s->buf[k & 1];
        kgm_graph_prop_bwd(s->g, &s->c, cur, D, 0, D, nxt, true, &e);
        cur = nxt;
    }
    (void)tp;
}

kgm_status kgm_graph_lightgcn(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, int32_t K,
                              kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, x, "lightgcn"));
    if (K < 0) return KGM_ERR(KGM_ERR_ARG, "lightgcn: negative layer count %d", K);
    kgm_tensor *in[1] = {x};
    bool need = kgm_tape_needs_grad(tp, in, 1);
    int32_t D = x->cols;
    int64_t N = (int64_t)x->rows * D;
    KGM_TRY(kgm_tape_tensor(tp, x->rows, D, false, need, out));
    kgm_tensor *y = *out;
    kgm_prop_coef c;
    KGM_TRY(kgm_graph_prop_coef(tp, g, KGM_GRAPH_NORM_SYM, false, &c));
    float *buf[2] = {NULL, NULL};
    if (K > 1) {
        KGM_TRY(arena_floats(tp, N, &buf[0]));
        KGM_TRY(arena_floats(tp, N, &buf[1]));
    }
    lgcn_saved *s = NULL;
    if (need) KGM_TRY(kgm_tape_alloc(tp, sizeof *s, (void **)&s));
    if (K == 0) {
#pragma omp parallel for schedule(static) if (N > KGM_GRAPH_PAR_MIN)
        for (int64_t e = 0; e < N; e++) y->data[e] = x->data[e];
    }
    const float *cur = x->data;
    for (int32_t k = 0; k < K; k++) {
        kgm_prop_epi e = lgcn_epi(y->data, x->data, k, K, true);
        float *nxt = buf[k & 1];
        kgm_graph_prop_fwd(g, &c, cur, D, nxt, D, 0, &e);
        cur = nxt;
    }
    if (need) {
        s->g = g;
        s->c = c;
        s->K = K;
        s->buf[0] = buf[0];
        s->buf[1] = buf[1];
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, lgcn_bw, y, in, 1, false, &nd));
        nd->saved = s;
    }
    return KGM_OK;
}

/* ---- DiffNet ------------------------------------------------------------------------ */

kgm_status kgm_graph_diffnet_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *w,
                                   kgm_tensor *b, kgm_graph_act act, kgm_tensor **out) {
    /* [h_u | mean of trusted h_v] W + b is GraphSAGE-concat on the social view. */
    return kgm_graph_sage_layer(tp, g, x, w, b, KGM_GRAPH_SAGE_CONCAT, act, out);
}

kgm_status kgm_graph_diffnet(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, int32_t n_layers,
                             kgm_tensor *const *w, kgm_tensor *const *b, kgm_graph_act act,
                             kgm_tensor *hist, kgm_tensor **out) {
    if (n_layers < 0 || (n_layers > 0 && !w)) return KGM_ERR(KGM_ERR_ARG, "diffnet: bad layer weights");
    kgm_tensor *h = x;
    for (int32_t k = 0; k < n_layers; k++)
        KGM_TRY(kgm_graph_diffnet_layer(tp, g, h, w[k], b ? b[k] : NULL, act, &h));
    if (hist) KGM_TRY(kgm_op_add(tp, h, hist, &h));
    *out = h;
    return KGM_OK;
}
