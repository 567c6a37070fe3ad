/* Fused propagation: GCN aggregation, GraphSAGE mean, LightGCN, DiffNet.
 *
 * One kernel serves them all: y_i = self_i x_i + sum_k a_i w_k b_j x_j over
 * the entries k = (i <- j) of row i. The forward owns destination rows, the
 * backward owns source rows through the transpose, so neither needs atomics
 * and both sum in a fixed order whatever the number of threads. */
#include <omp.h>

#include "graph_internal.h"

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
#define PF_DIST 8
static inline void prefetch_row(const float *p, int32_t D) {
    for (int32_t d = 0; d < D; d += 16) __builtin_prefetch(p + d, 0, 1);
}

static inline float coef_self(const kgm_prop_coef *c, int32_t i) { return c->self ? c->self[i] : c->self_c; }

/* Rows are handed out in chunks of this many. */
#define PROP_CHUNK 64

KGM_MULTIVERSION
static void fwd_rows(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *x, int32_t D, float *y,
                     int32_t ys, int32_t yo, float *acc, int32_t i0, int32_t i1) {
    const int64_t *rp = g->rowptr;
    const int32_t *nbr = g->nbr;
    int64_t nnz = g->nnz;
    for (int32_t i = i0; i < i1; i++) {
        float *restrict yr = y + (size_t)i * ys + yo;
        const float *restrict xi = x + (size_t)i * D;
        float si = coef_self(c, i), ai = c->a ? c->a[i] : 1.0f;
        for (int32_t d = 0; d < D; d++) yr[d] = si * xi[d];
        for (int64_t k = rp[i]; k < rp[i + 1]; k++) {
            int32_t j = nbr[k];
            if (k + PF_DIST < nnz) prefetch_row(x + (size_t)nbr[k + PF_DIST] * D, D);
            float cf = ai * (c->w ? c->w[k] : 1.0f) * (c->b ? c->b[j] : 1.0f);
            const float *restrict xj = x + (size_t)j * D;
            for (int32_t d = 0; d < D; d++) yr[d] += cf * xj[d];
        }
        if (acc) {
            float *restrict ar = acc + (size_t)i * D;
            for (int32_t d = 0; d < D; d++) ar[d] += yr[d];
        }
    }
}

void kgm_graph_prop_fwd(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *x, int32_t D,
                        float *y, int32_t ys, int32_t yo, float *acc) {
    int32_t n = g->n_nodes, chunks = (n + PROP_CHUNK - 1) / PROP_CHUNK;
#pragma omp parallel for schedule(dynamic, 1) if ((g->nnz + n) * D > KGM_GRAPH_PAR_MIN)
    for (int32_t ch = 0; ch < chunks; ch++) {
        int32_t i0 = ch * PROP_CHUNK, i1 = i0 + PROP_CHUNK < n ? i0 + PROP_CHUNK : n;
        fwd_rows(g, c, x, D, y, ys, yo, acc, i0, i1);
    }
}

KGM_MULTIVERSION
static void bwd_rows(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *dy, int32_t ys, int32_t yo,
                     int32_t D, float *dx, bool assign, float *acc, int32_t j0, int32_t j1) {
    const int64_t *tp = g->t_rowptr, *perm = g->t_perm;
    const int32_t *td = g->t_dst;
    int64_t nnz = g->nnz;
    for (int32_t j = j0; j < j1; j++) {
        float *restrict dxr = dx + (size_t)j * D;
        const float *restrict dyj = dy + (size_t)j * ys + yo;
        float sj = coef_self(c, j), bj = c->b ? c->b[j] : 1.0f;
        if (assign)
            for (int32_t d = 0; d < D; d++) dxr[d] = sj * dyj[d];
        else if (sj != 0.0f)
            for (int32_t d = 0; d < D; d++) dxr[d] += sj * dyj[d];
        for (int64_t p = tp[j]; p < tp[j + 1]; p++) {
            int32_t i = td[p];
            if (p + PF_DIST < nnz) prefetch_row(dy + (size_t)td[p + PF_DIST] * ys + yo, D);
            float cf = bj * (c->w ? c->w[perm[p]] : 1.0f) * (c->a ? c->a[i] : 1.0f);
            const float *restrict dyi = dy + (size_t)i * ys + yo;
            for (int32_t d = 0; d < D; d++) dxr[d] += cf * dyi[d];
        }
        if (acc) {
            float *restrict ar = acc + (size_t)j * D;
            for (int32_t d = 0; d < D; d++) ar[d] += dxr[d];
        }
    }
}

void kgm_graph_prop_bwd(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *dy, int32_t ys,
                        int32_t yo, int32_t D, float *dx, bool assign, float *acc) {
    int32_t n = g->n_nodes, chunks = (n + PROP_CHUNK - 1) / PROP_CHUNK;
#pragma omp parallel for schedule(dynamic, 1) if ((g->nnz + n) * D > KGM_GRAPH_PAR_MIN)
    for (int32_t ch = 0; ch < chunks; ch++) {
        int32_t j0 = ch * PROP_CHUNK, j1 = j0 + PROP_CHUNK < n ? j0 + PROP_CHUNK : n;
        bwd_rows(g, c, dy, ys, yo, D, dx, assign, acc, j0, j1);
    }
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

static void lgcn_bw(kgm_tape *tp, kgm_node *n) {
    lgcn_saved *s = n->saved;
    kgm_tensor *x = n->in[0], *y = n->out;
    if (!x->grad) return;
    int64_t N = (int64_t)x->rows * x->cols;
    int32_t D = x->cols;
    float inv = 1.0f / (float)(s->K + 1);
    float *cur = s->buf[0], *nxt = s->buf[1];
    /* dx += sum_k (Â^T)^k dy / (K+1): the chain of transposed propagations. */
#pragma omp parallel for schedule(static) if (N > KGM_GRAPH_PAR_MIN)
    for (int64_t e = 0; e < N; e++) {
        float gv = y->grad[e] * inv;
        if (s->K > 0) cur[e] = gv;
        x->grad[e] += gv;
    }
    for (int32_t k = 0; k < s->K; k++) {
        kgm_graph_prop_bwd(s->g, &s->c, cur, D, 0, D, nxt, true, x->grad);
        float *t = cur;
        cur = nxt;
        nxt = t;
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
    memcpy(y->data, x->data, (size_t)N * sizeof(float));
    kgm_prop_coef c;
    KGM_TRY(kgm_graph_prop_coef(tp, g, KGM_GRAPH_NORM_SYM, false, &c));
    float *buf[2] = {NULL, NULL};
    if (K > 0) {
        KGM_TRY(arena_floats(tp, N, &buf[0]));
        KGM_TRY(arena_floats(tp, N, &buf[1]));
    }
    const float *cur = x->data;
    for (int32_t k = 0; k < K; k++) {
        float *nxt = buf[k & 1];
        kgm_graph_prop_fwd(g, &c, cur, D, nxt, D, 0, y->data);
        cur = nxt;
    }
    float inv = 1.0f / (float)(K + 1);
#pragma omp parallel for schedule(static) if (N > KGM_GRAPH_PAR_MIN)
    for (int64_t e = 0; e < N; e++) y->data[e] *= inv;
    if (need) {
        lgcn_saved *s;
        KGM_TRY(kgm_tape_alloc(tp, sizeof *s, (void **)&s));
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
