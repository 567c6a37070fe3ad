/* Samplers: fixed fan-out receptive fields and mini-batch subgraphs. */
#include <omp.h>

#include "tests/graph/graph_testutil.h"

static void setup(void) { kgm_init_runtime(); }

TestSuite(sample, .init = setup);

/* Is (v, r) an entry of row u (or the self-pad of an isolated u)? Returns the
 * entry index or -1 (-2 for the pad). */
static int64_t find_entry(const kgm_graph_csr *g, int32_t u, int32_t v, int32_t r, const uint8_t *used) {
    if (g->rowptr[u] == g->rowptr[u + 1]) return v == u && (!g->rel || r == g->n_rel) ? -2 : -1;
    for (int64_t k = g->rowptr[u]; k < g->rowptr[u + 1]; k++)
        if (g->nbr[k] == v && (!g->rel || g->rel[k] == r) && !(used && used[k])) return k;
    return -1;
}

static void check_fanout(const kgm_graph_csr *g, const kgm_fanout *f) {
    uint8_t *used = calloc((size_t)g->nnz + 1, 1);
    for (int32_t h = 1; h <= f->n_hops; h++) {
        cr_assert_eq(f->count[h], f->count[h - 1] * f->fanout);
        for (int64_t p = 0; p < f->count[h - 1]; p++) {
            int32_t u = f->nodes[h - 1][p];
            int64_t deg = g->rowptr[u + 1] - g->rowptr[u];
            bool distinct = deg >= f->fanout;
            for (int32_t q = 0; q < f->fanout; q++) {
                int32_t v = f->nodes[h][p * f->fanout + q];
                int32_t r = g->rel ? f->rels[h][p * f->fanout + q] : 0;
                cr_assert(v >= 0 && v < g->n_nodes, "out-of-range id %d", v);
                if (g->rel) cr_assert(r >= 0 && r <= g->n_rel);
                /* Without replacement: every sampled entry is a distinct entry of the row. */
                int64_t k = find_entry(g, u, v, r, distinct ? used : NULL);
                cr_assert_neq(k, -1, "hop %d: %d <- %d (rel %d) is not an entry", h, u, v, r);
                if (distinct && k >= 0) used[k] = 1;
            }
            if (distinct)
                for (int64_t k = g->rowptr[u]; k < g->rowptr[u + 1]; k++) used[k] = 0;
        }
    }
    free(used);
}

Test(sample, fanout_respected_and_valid) {
    kgm_graph *g = gt_random_kg(60, 5, 4, 300, 3);
    kgm_graph_csr c = gt_csr(g, true, false);
    int32_t seeds[] = {0, 1, 2, 59, 17, 17, 30};
    kgm_fanout f;
    kgm_fanout_init(&f);
    for (int32_t F = 1; F <= 16; F *= 4) {
        GT_OK(kgm_graph_sample_fanout(&c, seeds, 7, 3, F, 99, &f));
        cr_assert_eq(f.count[0], 7);
        cr_assert_eq(f.count[3], 7 * F * F * F);
        /* Seed 59 is isolated: it samples itself with the pad relation. */
        cr_assert_eq(f.nodes[1][3 * F], 59);
        cr_assert_eq(f.rels[1][3 * F], c.n_rel);
        check_fanout(&c, &f);
    }
    kgm_fanout_destroy(&f);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(sample, social_view_has_no_relations) {
    kgm_graph *g = gt_lesmis(true);
    kgm_graph_csr c = gt_csr(g, false, false);
    int32_t seeds[40];
    for (int i = 0; i < 40; i++) seeds[i] = (i * 7) % 77;
    kgm_fanout f;
    kgm_fanout_init(&f);
    GT_OK(kgm_graph_sample_fanout(&c, seeds, 40, 2, 5, 1, &f));
    cr_assert_null(f.rels[1]);
    check_fanout(&c, &f);
    kgm_fanout_destroy(&f);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(sample, seeds_reproduce_and_threads_do_not_matter) {
    kgm_graph *g = gt_random_kg(3000, 10, 5, 20000, 5);
    kgm_graph_csr c = gt_csr(g, true, false);
    int32_t seeds[500];
    for (int i = 0; i < 500; i++) seeds[i] = (i * 37) % 3000;
    kgm_fanout a, b;
    kgm_fanout_init(&a);
    kgm_fanout_init(&b);
    omp_set_num_threads(2);
    GT_OK(kgm_graph_sample_fanout(&c, seeds, 500, 2, 8, 1234, &a));
    GT_OK(kgm_graph_sample_fanout(&c, seeds, 500, 2, 8, 1234, &b));
    for (int h = 1; h <= 2; h++) {
        cr_assert_eq(memcmp(a.nodes[h], b.nodes[h], (size_t)a.count[h] * 4), 0);
        cr_assert_eq(memcmp(a.rels[h], b.rels[h], (size_t)a.count[h] * 4), 0);
    }
    omp_set_num_threads(1);
    GT_OK(kgm_graph_sample_fanout(&c, seeds, 500, 2, 8, 1234, &b));
    for (int h = 1; h <= 2; h++) cr_assert_eq(memcmp(a.nodes[h], b.nodes[h], (size_t)a.count[h] * 4), 0);
    GT_OK(kgm_graph_sample_fanout(&c, seeds, 500, 2, 8, 1235, &b));
    cr_assert_neq(memcmp(a.nodes[2], b.nodes[2], (size_t)a.count[2] * 4), 0, "another seed, the same sample");
    omp_set_num_threads(2);
    check_fanout(&c, &a);
    kgm_fanout_destroy(&a);
    kgm_fanout_destroy(&b);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(sample, bad_arguments) {
    kgm_graph *g = gt_karate();
    kgm_graph_csr c = gt_csr(g, false, false);
    kgm_fanout f;
    kgm_fanout_init(&f);
    int32_t s[] = {0, 34};
    cr_assert_eq(kgm_graph_sample_fanout(&c, s, 2, 1, 3, 0, &f), KGM_ERR_INDEX);
    cr_assert_eq(kgm_graph_sample_fanout(&c, s, 1, 1, 0, 0, &f), KGM_ERR_ARG);
    cr_assert_eq(kgm_graph_sample_fanout(&c, s, 1, KGM_FANOUT_MAX_HOPS + 1, 2, 0, &f), KGM_ERR_ARG);
    cr_assert_eq(kgm_graph_sample_fanout(&c, s, 1, 8, 1000, 0, &f), KGM_ERR_ARG); /* 1000^8 ids */
    kgm_graph_csr sub;
    cr_assert_eq(kgm_graph_subgraph(&c, s, 2, 1, &sub), KGM_ERR_INDEX);
    cr_assert_eq(kgm_graph_subgraph(&c, s, 1, -1, &sub), KGM_ERR_ARG);
    kgm_fanout_destroy(&f);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

/* ---- subgraphs ---------------------------------------------------------------------- */

Test(sample, subgraph_nodes_match_igraph_khop) {
    kgm_graph *g = gt_random_kg(200, 10, 3, 500, 8);
    kgm_graph_csr c = gt_csr(g, false, false); /* messages follow edges: k-hop IN */
    int32_t seeds[] = {5, 9, 5, 150};
    for (int32_t L = 0; L <= 3; L++) {
        kgm_graph_csr sub;
        GT_OK(kgm_graph_subgraph(&c, seeds, 4, L, &sub));
        int32_t *nodes, cnt;
        GT_OK(kgm_graph_khop(g, seeds, 4, L, KGM_GRAPH_IN, &nodes, &cnt));
        cr_assert_eq(sub.n_nodes, cnt, "L=%d: subgraph %d nodes, igraph %d", L, sub.n_nodes, cnt);
        uint8_t *in = calloc(200, 1);
        for (int32_t i = 0; i < cnt; i++) in[nodes[i]] = 1;
        for (int32_t u = 0; u < sub.n_nodes; u++) cr_assert(in[sub.global_id[u]]);
        cr_assert_eq(sub.n_seeds, 4);
        cr_assert_eq(sub.seed_local[0], 0);
        cr_assert_eq(sub.seed_local[2], 0); /* repeated seed */
        cr_assert_eq(sub.seed_local[3], 2);
        cr_assert_eq(sub.global_id[2], 150);
        for (int64_t k = 0; k < sub.nnz; k++) {
            cr_assert(sub.nbr[k] >= 0 && sub.nbr[k] < sub.n_nodes);
            int64_t gk = -1;
            int32_t gu = sub.global_id[sub.row[k]];
            for (int64_t q = c.rowptr[gu]; q < c.rowptr[gu + 1]; q++)
                if (c.eid[q] == sub.eid[k]) gk = q;
            cr_assert_geq(gk, 0);
            cr_assert_eq(c.nbr[gk], sub.global_id[sub.nbr[k]]);
            cr_assert_eq(c.rel[gk], sub.rel[k]);
        }
        free(in);
        free(nodes);
        kgm_graph_csr_destroy(&sub);
    }
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

/* An L-layer network on the subgraph gives, at the seeds, exactly the
 * full-graph result: the degrees and norms are the full graph's. */
Test(sample, subgraph_propagation_is_exact_at_seeds) {
    kgm_graph *g = gt_lesmis(true);
    kgm_graph_csr c = gt_csr(g, false, false);
    int32_t seeds[] = {3, 11, 48, 76};
    kgm_tensor *x = tu_tensor(77, 5, 4, 1, false);
    kgm_tape *tp;
    GT_OK(kgm_tape_new(16 << 20, &tp));
    for (int32_t L = 1; L <= 3; L++) {
        kgm_graph_csr sub;
        GT_OK(kgm_graph_subgraph(&c, seeds, 4, L, &sub));
        kgm_tensor *xs, *full = x, *part;
        kgm_tensor xt = *x;
        GT_OK(kgm_op_gather(tp, &xt, sub.global_id, sub.n_nodes, &xs));
        part = xs;
        for (int32_t l = 0; l < L; l++) {
            GT_OK(kgm_graph_gcn_aggregate(tp, &c, full, KGM_GRAPH_NORM_SYM, true, &full));
            GT_OK(kgm_graph_gcn_aggregate(tp, &sub, part, KGM_GRAPH_NORM_SYM, true, &part));
        }
        kgm_tensor *lf, *lp;
        GT_OK(kgm_graph_lightgcn(tp, &c, x, L, &lf));
        GT_OK(kgm_graph_lightgcn(tp, &sub, xs, L, &lp));
        for (int s = 0; s < 4; s++)
            for (int d = 0; d < 5; d++) {
                int32_t ls = sub.seed_local[s];
                cr_assert_eq(full->data[seeds[s] * 5 + d], part->data[ls * 5 + d], "L=%d seed %d", L, s);
                cr_assert_float_eq(lf->data[seeds[s] * 5 + d], lp->data[ls * 5 + d], 1e-6);
            }
        kgm_graph_csr_destroy(&sub);
        kgm_tape_reset(tp);
    }
    kgm_tape_free(tp);
    kgm_tensor_free(x);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}
