/* KGAT knowledge-aware attention (Wang et al. 2019).
 *
 * The attention logit of an entry (i <- j, r) is (x_j W_r) . tanh(x_i W_r +
 * e_r). Entries are processed relation by relation: the head and tail rows
 * of relation r are gathered into one (2E, D) block and projected with a
 * single GEMM (BLAS outside any OpenMP region). The backward recomputes the
 * projection instead of saving (nnz, 2Dr) floats, and scatters node
 * gradients with threads owning node ranges (no atomics, fixed order). */
#include <cblas.h>
#include <omp.h>

#include "graph/graph_internal.h"

typedef struct {
    const kgm_graph_csr *g;
    int64_t emax;
    float *blk;  /* (2*emax, D) gathered rows */
    float *proj; /* (2*emax, Dr) projections */
    float *dproj;/* (2*emax, Dr) backward */
    float *dblk; /* (2*emax, D) backward */
} kgat_saved;

/* Rows [0,E) of blk: x at the receivers, rows [E,2E): x at the neighbours. */
static void gather_rel(const kgm_graph_csr *g, int32_t r, const float *x, int32_t D, float *blk) {
    int64_t E = g->rel_ptr[r + 1] - g->rel_ptr[r];
    const int64_t *ks = g->rel_perm + g->rel_ptr[r];
#pragma omp parallel for schedule(static) if (E * D > KGM_GRAPH_PAR_MIN)
    for (int64_t p = 0; p < E; p++) {
        memcpy(blk + (size_t)p * D, x + (size_t)g->row[ks[p]] * D, (size_t)D * sizeof(float));
        memcpy(blk + (size_t)(E + p) * D, x + (size_t)g->nbr[ks[p]] * D, (size_t)D * sizeof(float));
    }
}

static void project(const float *blk, int64_t E, const float *wr, int32_t D, int32_t Dr, float *proj) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(2 * E), Dr, D, 1.0f, blk, D, wr, Dr, 0.0f,
                proj, Dr);
}

/* Entries are handed to threads in chunks of this many. */
#define KGAT_CHUNK 256

/* Scores of entries [p0, p1) of one relation from its projections P: rows
 * [0, E) heads, [E, 2E) tails. The head rows are overwritten with
 * u = tanh(x_i W_r + e_r) (first, in a loop that vectorises). */
KGM_MULTIVERSION
static void fwd_entries(float *P, int64_t E, int32_t Dr, const float *e, const int64_t *ks, float *y, int64_t p0,
                        int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
        float *restrict u = P + (size_t)p * Dr;
        const float *restrict pt = P + (size_t)(E + p) * Dr;
        for (int32_t c = 0; c < Dr; c++) u[c] = kgm_graph_tanhf(u[c] + e[c]);
        float acc = 0;
        for (int32_t c = 0; c < Dr; c++) acc += pt[c] * u[c];
        y[ks[p]] = acc;
    }
}

/* Gradients of the projections for entries [p0, p1): dP rows [0, E) for
 * the heads (through the tanh), [E, 2E) for the tails. */
KGM_MULTIVERSION
static void bwd_entries(float *P, int64_t E, int32_t Dr, const float *e, const int64_t *ks, const float *dy,
                        float *dP, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) {
        float gk = dy[ks[p]];
        float *restrict u = P + (size_t)p * Dr;
        const float *restrict pt = P + (size_t)(E + p) * Dr;
        float *restrict dh = dP + (size_t)p * Dr, *restrict dt = dP + (size_t)(E + p) * Dr;
        for (int32_t c = 0; c < Dr; c++) u[c] = kgm_graph_tanhf(u[c] + e[c]);
        for (int32_t c = 0; c < Dr; c++) {
            dt[c] = gk * u[c];
            dh[c] = gk * pt[c] * (1.0f - u[c] * u[c]);
        }
    }
}

static void kgat_bw(kgm_tape *tp, kgm_node *n) {
    kgat_saved *s = n->saved;
    const kgm_graph_csr *g = s->g;
    kgm_tensor *x = n->in[0], *wr = n->in[1], *er = n->in[2], *y = n->out;
    int32_t D = x->cols, Dr = er->cols;
    for (int32_t r = 0; r < g->n_rel; r++) {
        int64_t E = g->rel_ptr[r + 1] - g->rel_ptr[r];
        if (E == 0) continue;
        const int64_t *ks = g->rel_perm + g->rel_ptr[r];
        const float *W = wr->data + (size_t)r * D * Dr, *e = er->data + (size_t)r * Dr;
        gather_rel(g, r, x->data, D, s->blk);
        project(s->blk, E, W, D, Dr, s->proj);
        float *dP = s->dproj;
#pragma omp parallel for schedule(static) if (E * Dr > KGM_GRAPH_PAR_MIN)
        for (int64_t p0 = 0; p0 < E; p0 += KGAT_CHUNK)
            bwd_entries(s->proj, E, Dr, e, ks, y->grad, dP, p0, p0 + KGAT_CHUNK < E ? p0 + KGAT_CHUNK : E);
        if (wr->grad)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, Dr, (int)(2 * E), 1.0f, s->blk, D, dP, Dr,
                        1.0f, wr->grad + (size_t)r * D * Dr, Dr);
        if (er->grad) {
            float *de = er->grad + (size_t)r * Dr;
#pragma omp parallel if (E * Dr > KGM_GRAPH_PAR_MIN)
            {
                int nth = omp_get_num_threads(), tid = omp_get_thread_num();
                int32_t c0 = (int32_t)((int64_t)Dr * tid / nth), c1 = (int32_t)((int64_t)Dr * (tid + 1) / nth);
                for (int64_t p = 0; p < E; p++)
                    for (int32_t c = c0; c < c1; c++) de[c] += dP[(size_t)p * Dr + c];
            }
        }
        if (x->grad) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(2 * E), D, Dr, 1.0f, dP, Dr, W, Dr, 0.0f,
                        s->dblk, D);
            const float *dB = s->dblk;
            int32_t N = g->n_nodes;
            /* Threads own node ranges; each node sums in entry order. */
#pragma omp parallel if (E * D > KGM_GRAPH_PAR_MIN)
            {
                int nth = omp_get_num_threads(), tid = omp_get_thread_num();
                int32_t lo = (int32_t)((int64_t)N * tid / nth), hi = (int32_t)((int64_t)N * (tid + 1) / nth);
                for (int64_t p = 0; p < E; p++) {
                    int32_t i = g->row[ks[p]], j = g->nbr[ks[p]];
                    if (i >= lo && i < hi) {
                        float *dx = x->grad + (size_t)i * D;
                        const float *src = dB + (size_t)p * D;
                        for (int32_t d = 0; d < D; d++) dx[d] += src[d];
                    }
                    if (j >= lo && j < hi) {
                        float *dx = x->grad + (size_t)j * D;
                        const float *src = dB + (size_t)(E + p) * D;
                        for (int32_t d = 0; d < D; d++) dx[d] += src[d];
                    }
                }
            }
        }
    }
    (void)tp;
}

kgm_status kgm_graph_kgat_scores(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *wr,
                                 kgm_tensor *er, kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, x, "kgat_scores"));
    KGM_TRY(kgm_graph_check_kg(g, "kgat_scores"));
    if (!wr || !er) return KGM_ERR(KGM_ERR_ARG, "kgat_scores: relation parameters are NULL");
    int32_t D = x->cols, Dr = er->cols;
    KGM_TRY(kgm_tensor_check_shape(er, g->n_rel, -1, "kgat_scores: relation embeddings (n_rel, Dr)"));
    KGM_TRY(kgm_tensor_check_shape(wr, g->n_rel * D, Dr, "kgat_scores: projections (n_rel*D, Dr)"));
    if (g->nnz > INT32_MAX / 2) return KGM_ERR(KGM_ERR_ARG, "kgat_scores: too many entries for one GEMM");
    kgm_tensor *in[3] = {x, wr, er};
    bool need = kgm_tape_needs_grad(tp, in, 3);
    KGM_TRY(kgm_tape_tensor(tp, (int32_t)g->nnz, 1, false, need, out));
    kgm_tensor *y = *out;
    int64_t emax = 0;
    for (int32_t r = 0; r < g->n_rel; r++)
        if (g->rel_ptr[r + 1] - g->rel_ptr[r] > emax) emax = g->rel_ptr[r + 1] - g->rel_ptr[r];
    kgat_saved *s;
    KGM_TRY(kgm_tape_alloc(tp, sizeof *s, (void **)&s));
    memset(s, 0, sizeof *s);
    s->g = g;
    s->emax = emax;
    size_t nb = (size_t)(emax ? 2 * emax : 1);
    KGM_TRY(kgm_tape_alloc(tp, nb * D * sizeof(float), (void **)&s->blk));
    KGM_TRY(kgm_tape_alloc(tp, nb * Dr * sizeof(float), (void **)&s->proj));
    for (int32_t r = 0; r < g->n_rel; r++) {
        int64_t E = g->rel_ptr[r + 1] - g->rel_ptr[r];
        if (E == 0) continue;
        const int64_t *ks = g->rel_perm + g->rel_ptr[r];
        const float *e = er->data + (size_t)r * Dr;
        gather_rel(g, r, x->data, D, s->blk);
        project(s->blk, E, wr->data + (size_t)r * D * Dr, D, Dr, s->proj);
#pragma omp parallel for schedule(static) if (E * Dr > KGM_GRAPH_PAR_MIN)
        for (int64_t p0 = 0; p0 < E; p0 += KGAT_CHUNK)
            fwd_entries(s->proj, E, Dr, e, ks, y->data, p0, p0 + KGAT_CHUNK < E ? p0 + KGAT_CHUNK : E);
    }
    if (need) {
        KGM_TRY(kgm_tape_alloc(tp, nb * Dr * sizeof(float), (void **)&s->dproj));
        if (x->grad) KGM_TRY(kgm_tape_alloc(tp, nb * D * sizeof(float), (void **)&s->dblk));
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, kgat_bw, y, in, 3, false, &nd));
        nd->saved = s;
    }
    return KGM_OK;
}

kgm_status kgm_graph_kgat_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *wr,
                                kgm_tensor *er, kgm_tensor *w1, kgm_tensor *b1, kgm_tensor *w2,
                                kgm_tensor *b2, kgm_tensor **out) {
    kgm_tensor *sc, *att, *nb, *sum, *prod, *l1, *l2;
    KGM_TRY(kgm_graph_kgat_scores(tp, g, x, wr, er, &sc));
    KGM_TRY(kgm_op_segment_softmax(tp, sc, g->rowptr, g->n_nodes, &att));
    KGM_TRY(kgm_op_spmm(tp, &g->view, att, x, &nb));
    KGM_TRY(kgm_op_add(tp, x, nb, &sum));
    KGM_TRY(kgm_op_mul(tp, x, nb, &prod));
    KGM_TRY(kgm_op_linear(tp, sum, w1, b1, &l1));
    KGM_TRY(kgm_op_leaky_relu(tp, l1, 0.2f, &l1));
    KGM_TRY(kgm_op_linear(tp, prod, w2, b2, &l2));
    KGM_TRY(kgm_op_leaky_relu(tp, l2, 0.2f, &l2));
    return kgm_op_add(tp, l1, l2, out);
}
