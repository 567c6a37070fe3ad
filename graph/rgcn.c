/* Relational GCN (Schlichtkrull et al. 2018): basis decomposition and
 * block-diagonal relation matrices, both normalised by 1/c_{i,r} = 1 /
 * |N_i^r|. Messages are aggregated per destination row; relation parameters
 * are reduced per relation (entries grouped by rel_ptr/rel_perm), so neither
 * pass needs atomics and sums run in a fixed order. */
#include <omp.h>

#include "graph/graph_internal.h"

static kgm_status add_self(kgm_tape *tp, kgm_tensor *x, kgm_tensor *w0, kgm_tensor *agg, kgm_tensor **out) {
    if (!w0) {
        *out = agg;
        return KGM_OK;
    }
    kgm_tensor *s;
    KGM_TRY(kgm_op_matmul(tp, x, w0, false, false, &s));
    return kgm_op_add(tp, agg, s, out);
}

/* ---- basis decomposition --------------------------------------------------------------- */

typedef struct {
    const kgm_graph_csr *g;
    int32_t B;
    float *edot; /* (nnz, B) scratch for the coefficient gradient */
} basis_saved;

static void basis_bw(kgm_tape *tp, kgm_node *n) {
    basis_saved *s = n->saved;
    const kgm_graph_csr *g = s->g;
    kgm_tensor *z = n->in[0], *a = n->in[1], *y = n->out;
    int32_t B = s->B, Do = y->cols, n_nodes = g->n_nodes;
    int64_t work = (g->nnz + n_nodes) * (int64_t)B * Do;
    if (z->grad) {
#pragma omp parallel for schedule(dynamic, 64) if (work > KGM_GRAPH_PAR_MIN)
        for (int32_t j = 0; j < n_nodes; j++) {
            float *restrict dz = z->grad + (size_t)j * B * Do;
            for (int64_t p = g->t_rowptr[j]; p < g->t_rowptr[j + 1]; p++) {
                int64_t k = g->t_perm[p];
                const float *restrict dy = y->grad + (size_t)g->t_dst[p] * Do;
                const float *ar = a->data + (size_t)g->rel[k] * B;
                for (int32_t b = 0; b < B; b++) {
                    float cb = g->norm_rel[k] * ar[b];
                    for (int32_t d = 0; d < Do; d++) dz[b * Do + d] += cb * dy[d];
                }
            }
        }
    }
    if (a->grad) {
        float *edot = s->edot;
#pragma omp parallel for schedule(dynamic, 64) if (work > KGM_GRAPH_PAR_MIN)
        for (int32_t i = 0; i < n_nodes; i++) {
            const float *restrict dy = y->grad + (size_t)i * Do;
            for (int64_t k = g->rowptr[i]; k < g->rowptr[i + 1]; k++) {
                const float *restrict zj = z->data + (size_t)g->nbr[k] * B * Do;
                for (int32_t b = 0; b < B; b++) {
                    float acc = 0;
                    for (int32_t d = 0; d < Do; d++) acc += dy[d] * zj[b * Do + d];
                    edot[k * B + b] = g->norm_rel[k] * acc;
                }
            }
        }
#pragma omp parallel for schedule(dynamic, 1) if (g->nnz * B > KGM_GRAPH_PAR_MIN)
        for (int32_t r = 0; r < g->n_rel; r++) {
            float *da = a->grad + (size_t)r * B;
            for (int64_t p = g->rel_ptr[r]; p < g->rel_ptr[r + 1]; p++) {
                const float *e = edot + g->rel_perm[p] * B;
                for (int32_t b = 0; b < B; b++) da[b] += e[b];
            }
        }
    }
    (void)tp;
}

kgm_status kgm_graph_rgcn_basis_aggregate(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *z,
                                          kgm_tensor *a, int32_t B, kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, z, "rgcn_basis"));
    KGM_TRY(kgm_graph_check_kg(g, "rgcn_basis"));
    if (!a) return KGM_ERR(KGM_ERR_ARG, "rgcn_basis: coefficient tensor is NULL");
    if (B <= 0 || z->cols % B != 0)
        return KGM_ERR(KGM_ERR_SHAPE, "rgcn_basis: %d bases do not divide the %d projected columns", B, z->cols);
    KGM_TRY(kgm_tensor_check_shape(a, g->n_rel, B, "rgcn_basis: coefficients (n_rel, B)"));
    int32_t Do = z->cols / B;
    kgm_tensor *in[2] = {z, a};
    bool need = kgm_tape_needs_grad(tp, in, 2);
    KGM_TRY(kgm_tape_tensor(tp, g->n_nodes, Do, false, need, out));
    kgm_tensor *y = *out;
#pragma omp parallel for schedule(dynamic, 64) if ((g->nnz + g->n_nodes) * (int64_t)B * Do > KGM_GRAPH_PAR_MIN)
    for (int32_t i = 0; i < g->n_nodes; i++) {
        float *restrict yr = y->data + (size_t)i * Do;
        for (int32_t d = 0; d < Do; d++) yr[d] = 0.0f;
        for (int64_t k = g->rowptr[i]; k < g->rowptr[i + 1]; k++) {
            const float *restrict zj = z->data + (size_t)g->nbr[k] * B * Do;
            const float *ar = a->data + (size_t)g->rel[k] * B;
            for (int32_t b = 0; b < B; b++) {
                float cb = g->norm_rel[k] * ar[b];
                for (int32_t d = 0; d < Do; d++) yr[d] += cb * zj[b * Do + d];
            }
        }
    }
    if (need) {
        basis_saved *s;
        KGM_TRY(kgm_tape_alloc(tp, sizeof *s, (void **)&s));
        s->g = g;
        s->B = B;
        s->edot = NULL;
        if (a->grad)
            KGM_TRY(kgm_tape_alloc(tp, (size_t)(g->nnz ? g->nnz : 1) * B * sizeof(float), (void **)&s->edot));
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, basis_bw, y, in, 2, false, &nd));
        nd->saved = s;
    }
    return KGM_OK;
}

kgm_status kgm_graph_rgcn_basis(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *v,
                                kgm_tensor *a, kgm_tensor *w0, kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, x, "rgcn_basis"));
    if (!v || !a) return KGM_ERR(KGM_ERR_ARG, "rgcn_basis: bases or coefficients are NULL");
    kgm_tensor *z, *agg;
    KGM_TRY(kgm_op_matmul(tp, x, v, false, false, &z));
    KGM_TRY(kgm_graph_rgcn_basis_aggregate(tp, g, z, a, a->cols, &agg));
    return add_self(tp, x, w0, agg, out);
}

/* ---- block-diagonal ------------------------------------------------------------------------ */

typedef struct {
    const kgm_graph_csr *g;
    int32_t B;
} block_saved;

static void block_bw(kgm_tape *tp, kgm_node *n) {
    block_saved *s = n->saved;
    const kgm_graph_csr *g = s->g;
    kgm_tensor *x = n->in[0], *q = n->in[1], *y = n->out;
    int32_t B = s->B, Din = x->cols, bi = Din / B, bo = q->cols, Do = y->cols;
    int64_t work = (g->nnz + g->n_nodes) * (int64_t)bi * Do;
    if (x->grad) {
#pragma omp parallel for schedule(dynamic, 64) if (work > KGM_GRAPH_PAR_MIN)
        for (int32_t j = 0; j < g->n_nodes; j++) {
            float *restrict dx = x->grad + (size_t)j * Din;
            for (int64_t p = g->t_rowptr[j]; p < g->t_rowptr[j + 1]; p++) {
                int64_t k = g->t_perm[p];
                const float *restrict dy = y->grad + (size_t)g->t_dst[p] * Do;
                float c = g->norm_rel[k];
                for (int32_t b = 0; b < B; b++) {
                    const float *restrict Q = q->data + ((size_t)g->rel[k] * Din + (size_t)b * bi) * bo;
                    for (int32_t pp = 0; pp < bi; pp++) {
                        float acc = 0;
                        for (int32_t o = 0; o < bo; o++) acc += Q[pp * bo + o] * dy[b * bo + o];
                        dx[b * bi + pp] += c * acc;
                    }
                }
            }
        }
    }
    if (q->grad) {
        /* One task per relation: its Q_r gradient is private, and every
         * entry's rows are read once for all blocks. */
#pragma omp parallel for schedule(dynamic, 1) if (work > KGM_GRAPH_PAR_MIN)
        for (int32_t r = 0; r < g->n_rel; r++) {
            float *restrict dQr = q->grad + (size_t)r * Din * bo;
            for (int64_t p = g->rel_ptr[r]; p < g->rel_ptr[r + 1]; p++) {
                int64_t k = g->rel_perm[p];
                float c = g->norm_rel[k];
                const float *xj = x->data + (size_t)g->nbr[k] * Din;
                const float *dy = y->grad + (size_t)g->row[k] * Do;
                for (int32_t b = 0; b < B; b++)
                    for (int32_t pp = 0; pp < bi; pp++) {
                        float cx = c * xj[b * bi + pp];
                        float *restrict dq = dQr + (size_t)(b * bi + pp) * bo;
                        for (int32_t o = 0; o < bo; o++) dq[o] += cx * dy[b * bo + o];
                    }
            }
        }
    }
    (void)tp;
}

kgm_status kgm_graph_rgcn_block(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *q,
                                int32_t B, kgm_tensor *w0, kgm_tensor **out) {
    KGM_TRY(kgm_graph_check_x(g, x, "rgcn_block"));
    KGM_TRY(kgm_graph_check_kg(g, "rgcn_block"));
    if (!q) return KGM_ERR(KGM_ERR_ARG, "rgcn_block: block tensor is NULL");
    int32_t Din = x->cols;
    if (B <= 0 || Din % B != 0)
        return KGM_ERR(KGM_ERR_SHAPE, "rgcn_block: %d blocks do not divide the input width %d", B, Din);
    KGM_TRY(kgm_tensor_check_shape(q, g->n_rel * Din, -1, "rgcn_block: blocks (n_rel*Din, Dout/B)"));
    int32_t bi = Din / B, bo = q->cols, Do = B * bo;
    kgm_tensor *in[2] = {x, q};
    bool need = kgm_tape_needs_grad(tp, in, 2);
    kgm_tensor *y;
    KGM_TRY(kgm_tape_tensor(tp, g->n_nodes, Do, false, need, &y));
#pragma omp parallel for schedule(dynamic, 64) if ((g->nnz + g->n_nodes) * (int64_t)bi * Do > KGM_GRAPH_PAR_MIN)
    for (int32_t i = 0; i < g->n_nodes; i++) {
        float *restrict yr = y->data + (size_t)i * Do;
        for (int32_t d = 0; d < Do; d++) yr[d] = 0.0f;
        for (int64_t k = g->rowptr[i]; k < g->rowptr[i + 1]; k++) {
            const float *restrict xj = x->data + (size_t)g->nbr[k] * Din;
            float c = g->norm_rel[k];
            for (int32_t b = 0; b < B; b++) {
                const float *restrict Q = q->data + ((size_t)g->rel[k] * Din + (size_t)b * bi) * bo;
                for (int32_t pp = 0; pp < bi; pp++) {
                    float cx = c * xj[b * bi + pp];
                    for (int32_t o = 0; o < bo; o++) yr[b * bo + o] += cx * Q[pp * bo + o];
                }
            }
        }
    }
    if (need) {
        block_saved *s;
        KGM_TRY(kgm_tape_alloc(tp, sizeof *s, (void **)&s));
        s->g = g;
        s->B = B;
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, block_bw, y, in, 2, false, &nd));
        nd->saved = s;
    }
    return add_self(tp, x, w0, y, out);
}
