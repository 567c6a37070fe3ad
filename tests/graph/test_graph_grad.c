/* Finite-difference gradient checks of every message-passing layer, on
 * random small graphs (isolated nodes, self-loops, multi-edges, weights),
 * on Zachary's karate club and on Les Misérables. */
#include "tests/graph/graph_testutil.h"

#define TOL 2e-2
#define H 1e-2
#define FLOOR 5e-2

static void setup(void) { kgm_init_runtime(); }

TestSuite(grad, .init = setup);

static void check(gctx *c, kgm_tensor **in, int n, const char *what) {
    kgm_gradcheck_result res;
    kgm_status st = kgm_gradcheck(gt_layer_fn, in, n, c, H, FLOOR, 42, &res);
    cr_assert_eq(st, KGM_OK, "%s: %s", what, kgm_error_message());
    cr_assert_gt(res.n_checked, 0, "%s: nothing checked", what);
    cr_assert_lt(res.max_rel_err, TOL, "%s: rel err %g at input %d elem %lld (analytic %g numeric %g)", what,
                 res.max_rel_err, res.worst_input, (long long)res.worst_index, res.analytic, res.numeric);
    for (int i = 0; i < n; i++) kgm_tensor_free(in[i]);
}

static kgm_tensor *T(int r, int c, uint64_t seed, float scale) { return tu_tensor(r, c, seed, scale, true); }

/* ---- the propagation layers, over every graph -------------------------------- */

static void check_propagation(const kgm_graph_csr *g, const char *name) {
    int n = g->n_nodes, D = 3;
    char what[160];
    static const kgm_graph_norm norms[] = {KGM_GRAPH_NORM_SYM, KGM_GRAPH_NORM_ROW, KGM_GRAPH_NORM_NONE};
    for (int ni = 0; ni < 3; ni++)
        for (int sl = 0; sl < 2; sl++) {
            gctx c = {.layer = L_GCN_AGG, .g = g, .norm = norms[ni], .self_loops = sl};
            snprintf(what, sizeof what, "%s gcn_aggregate norm %d self %d", name, ni, sl);
            check(&c, (kgm_tensor *[]){T(n, D, 1, 1)}, 1, what);
        }
    /* The layer, both orders (O > D propagates first, O < D transforms first). */
    for (int o = 2; o <= 4; o += 2) {
        gctx c = {.layer = L_GCN, .g = g, .norm = KGM_GRAPH_NORM_SYM, .self_loops = true};
        snprintf(what, sizeof what, "%s gcn_layer O=%d", name, o);
        check(&c, (kgm_tensor *[]){T(n, D, 2, 1), T(D, o, 3, 0.5f), T(1, o, 4, 0.5f)}, 3, what);
    }
    for (int m = 0; m < 2; m++) {
        gctx c = {.layer = L_SAGE_AGG, .g = g, .mode = m};
        snprintf(what, sizeof what, "%s sage_aggregate mode %d", name, m);
        check(&c, (kgm_tensor *[]){T(n, D, 5, 1)}, 1, what);
        c.layer = L_SAGE;
        snprintf(what, sizeof what, "%s sage_layer mode %d", name, m);
        check(&c, (kgm_tensor *[]){T(n, D, 6, 1), T(m ? D : 2 * D, 2, 7, 0.5f), T(1, 2, 8, 0.5f)}, 3, what);
    }
    for (int K = 0; K <= 3; K++) {
        gctx c = {.layer = L_LIGHTGCN, .g = g, .K = K};
        snprintf(what, sizeof what, "%s lightgcn K=%d", name, K);
        check(&c, (kgm_tensor *[]){T(n, D, 9, 1)}, 1, what);
    }
    gctx c = {.layer = L_DIFFNET_LAYER, .g = g};
    snprintf(what, sizeof what, "%s diffnet_layer", name);
    check(&c, (kgm_tensor *[]){T(n, D, 10, 1), T(2 * D, 2, 11, 0.7f), T(1, 2, 12, 0.5f)}, 3, what);
    c.layer = L_DIFFNET;
    snprintf(what, sizeof what, "%s diffnet (2 layers + history)", name);
    check(&c,
          (kgm_tensor *[]){T(n, D, 13, 1), T(2 * D, D, 14, 0.7f), T(1, D, 15, 0.5f), T(2 * D, D, 16, 0.7f),
                           T(1, D, 17, 0.5f), T(n, D, 18, 1)},
          6, what);
}

/* ---- the relational layers ------------------------------------------------------------ */

static void check_relational(const kgm_graph_csr *g, const char *name) {
    int n = g->n_nodes, R = g->n_rel, D = 4;
    char what[160];
    for (int w0 = 0; w0 < 2; w0++) {
        int B = 2, Do = 3;
        gctx c = {.layer = L_RGCN_BASIS, .g = g, .mode = w0};
        snprintf(what, sizeof what, "%s rgcn_basis w0 %d", name, w0);
        kgm_tensor *bin[4] = {T(n, D, 20, 1), T(D, B * Do, 21, 0.5f), T(R, B, 22, 1), w0 ? T(D, Do, 23, 0.5f) : NULL};
        check(&c, bin, w0 ? 4 : 3, what);
        c.layer = L_RGCN_BLOCK;
        c.K = 2;
        snprintf(what, sizeof what, "%s rgcn_block w0 %d", name, w0);
        /* Din 4 = 2 blocks of 2, Dout 6 = 2 blocks of 3. */
        kgm_tensor *kin[3] = {T(n, D, 24, 1), T(R * D, 3, 25, 0.5f), w0 ? T(D, 6, 26, 0.5f) : NULL};
        check(&c, kin, w0 ? 3 : 2, what);
    }
    gctx c = {.layer = L_KGAT_SCORES, .g = g};
    snprintf(what, sizeof what, "%s kgat_scores", name);
    check(&c, (kgm_tensor *[]){T(n, D, 30, 1), T(R * D, 3, 31, 0.5f), T(R, 3, 32, 0.5f)}, 3, what);
    /* Bias far from the LeakyReLU kink on each side, so finite differences
     * stay on one linear piece (the kink itself is tested by the core op). */
    for (int side = 0; side < 2; side++) {
        kgm_tensor *b1 = T(1, 2, 36, 0.1f), *b2 = T(1, 2, 38, 0.1f);
        for (int j = 0; j < 2; j++) {
            b1->data[j] += side ? -4.0f : 4.0f;
            b2->data[j] += side ? -4.0f : 4.0f;
        }
        c.layer = L_KGAT;
        snprintf(what, sizeof what, "%s kgat_layer (%s side)", name, side ? "negative" : "positive");
        check(&c,
              (kgm_tensor *[]){T(n, D, 33, 0.5f), T(R * D, 3, 34, 0.5f), T(R, 3, 35, 0.5f), T(D, 2, 37, 0.3f), b1,
                               T(D, 2, 39, 0.3f), b2},
              7, what);
    }
}

Test(grad, random_kg_with_isolated_nodes_self_loops_multi_edges) {
    kgm_graph *g = gt_random_kg(12, 2, 3, 22, 1);
    kgm_graph_csr fwd = gt_csr(g, false, false), inv = gt_csr(g, true, false), rev = gt_csr(g, true, true);
    check_propagation(&fwd, "random KG (directed)");
    check_relational(&fwd, "random KG");
    check_relational(&inv, "random KG + inverse");
    check_relational(&rev, "random KG reversed + inverse");
    kgm_graph_csr_destroy(&fwd);
    kgm_graph_csr_destroy(&inv);
    kgm_graph_csr_destroy(&rev);
    kgm_graph_free(g);
}

Test(grad, random_social_weighted_and_directed) {
    for (int dir = 0; dir < 2; dir++)
        for (int w = 0; w < 2; w++) {
            kgm_graph *g = gt_random_social(10, 2, 18, dir, w, 2 + dir * 2 + w);
            kgm_graph_csr c = gt_csr(g, false, dir);
            char name[64];
            snprintf(name, sizeof name, "random social (%s, %s)", dir ? "directed" : "undirected",
                     w ? "weighted" : "unweighted");
            check_propagation(&c, name);
            kgm_graph_csr_destroy(&c);
            kgm_graph_free(g);
        }
}

Test(grad, karate_club) {
    kgm_graph *g = gt_karate();
    kgm_graph_csr c = gt_csr(g, false, false);
    check_propagation(&c, "karate");
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
    g = gt_karate_kg();
    c = gt_csr(g, true, false);
    check_relational(&c, "karate KG");
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(grad, les_miserables) {
    kgm_graph *g = gt_lesmis(true);
    kgm_graph_csr c = gt_csr(g, false, false);
    check_propagation(&c, "les miserables (weighted)");
    /* As a KG: relation = co-appearance weight band (1, 2-3, 4+). */
    kgm_graph_edges e = kgm_graph_get_edges(g);
    int32_t *r = malloc((size_t)e.n * sizeof *r);
    for (int64_t k = 0; k < e.n; k++) r[k] = e.weight[k] < 1.5f ? 0 : e.weight[k] < 3.5f ? 1 : 2;
    kgm_graph *kg = NULL;
    GT_OK(kgm_graph_new_kg(e.src, r, e.dst, e.n, NULL, NULL, &kg));
    free(r);
    kgm_graph_csr kc = gt_csr(kg, true, false);
    check_relational(&kc, "les miserables KG");
    kgm_graph_csr_destroy(&kc);
    kgm_graph_free(kg);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(grad, shape_errors_are_reported) {
    kgm_graph *g = gt_karate();
    kgm_graph_csr c = gt_csr(g, false, false);
    kgm_tape *tp;
    GT_OK(kgm_tape_new(1 << 20, &tp));
    kgm_tensor *x = T(33, 3, 1, 1), *out;
    cr_assert_eq(kgm_graph_gcn_aggregate(tp, &c, x, KGM_GRAPH_NORM_SYM, true, &out), KGM_ERR_SHAPE);
    kgm_tensor *x2 = T(34, 4, 1, 1), *q = T(10, 2, 1, 1);
    cr_assert_eq(kgm_graph_rgcn_block(tp, &c, x2, q, 2, NULL, &out), KGM_ERR_ARG); /* no relations */
    cr_assert_eq(kgm_graph_lightgcn(tp, &c, x2, -1, &out), KGM_ERR_ARG);
    kgm_tensor_free(x);
    kgm_tensor_free(x2);
    kgm_tensor_free(q);
    kgm_tape_free(tp);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}
