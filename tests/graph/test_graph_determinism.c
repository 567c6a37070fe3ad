/* Determinism of every layer: forward outputs and input gradients are
 * bit-identical run to run at a fixed thread count, and agree within 1e-5
 * (relative) between 1 and 2 threads. The graph is large enough that every
 * kernel takes its parallel path. */
#include <omp.h>

#include "tests/graph/graph_testutil.h"

static void setup(void) { kgm_init_runtime(); }

TestSuite(determinism, .init = setup);

#define D 16
#define MAXIN 7

typedef struct {
    float *out;
    int64_t n_out;
    float *grad[MAXIN];
    int64_t n_grad[MAXIN];
} run_result;

static void free_result(run_result *r) {
    free(r->out);
    for (int i = 0; i < MAXIN; i++) free(r->grad[i]);
}

/* Fresh inputs (same seeds every call), forward, backward from a fixed
 * random seed gradient; copies of the output and every input gradient. */
static run_result run(gctx *c, const int (*shape)[2], int n_in, int threads) {
    kgm_set_threads(threads);
    kgm_tensor *in[MAXIN] = {0};
    for (int i = 0; i < n_in; i++) in[i] = tu_tensor(shape[i][0], shape[i][1], 100 + i, 0.5f, true);
    kgm_tape *tp;
    GT_OK(kgm_tape_new((size_t)256 << 20, &tp));
    kgm_tensor *out;
    GT_OK(gt_layer_fn(tp, in, c, &out));
    kgm_rng r;
    kgm_rng_init(&r, 5, 6);
    for (int64_t e = 0; e < kgm_tensor_numel(out); e++) out->grad[e] = (float)kgm_rng_normal(&r);
    GT_OK(kgm_tape_backward_from(tp, out));
    run_result res = {0};
    res.n_out = kgm_tensor_numel(out);
    res.out = malloc((size_t)res.n_out * sizeof(float));
    memcpy(res.out, out->data, (size_t)res.n_out * sizeof(float));
    for (int i = 0; i < n_in; i++) {
        res.n_grad[i] = kgm_tensor_numel(in[i]);
        res.grad[i] = malloc((size_t)res.n_grad[i] * sizeof(float));
        memcpy(res.grad[i], in[i]->grad, (size_t)res.n_grad[i] * sizeof(float));
        kgm_tensor_free(in[i]);
    }
    kgm_tape_free(tp);
    return res;
}

/* max |a-b| / (|b| + mean|b|): relative, with the tensor's scale as floor
 * for elements that are nearly zero. */
static double rel_diff(const float *a, const float *b, int64_t n) {
    double mean = 0, worst = 0;
    for (int64_t i = 0; i < n; i++) mean += fabs(b[i]);
    mean = n ? mean / n : 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (fabs(b[i]) + mean + 1e-30);
        if (d > worst) worst = d;
    }
    return worst;
}

static void check_layer(gctx *c, const int (*shape)[2], int n_in, const char *name) {
    run_result a = run(c, shape, n_in, 2), b = run(c, shape, n_in, 2), s = run(c, shape, n_in, 1);
    cr_assert_eq(memcmp(a.out, b.out, (size_t)a.n_out * sizeof(float)), 0, "%s: output differs between runs", name);
    double worst = rel_diff(s.out, a.out, a.n_out);
    for (int i = 0; i < n_in; i++) {
        cr_assert_eq(memcmp(a.grad[i], b.grad[i], (size_t)a.n_grad[i] * sizeof(float)), 0,
                     "%s: gradient of input %d differs between runs", name, i);
        double d = rel_diff(s.grad[i], a.grad[i], a.n_grad[i]);
        if (d > worst) worst = d;
    }
    cr_assert_leq(worst, 1e-5, "%s: 1 vs 2 threads differ by %g (relative)", name, worst);
    free_result(&a);
    free_result(&b);
    free_result(&s);
    kgm_set_threads(2);
}

Test(determinism, every_layer_runs_and_threads) {
    kgm_graph *g = gt_random_kg(1500, 20, 5, 8000, 77);
    kgm_graph_csr c = gt_csr(g, true, false);
    int N = c.n_nodes, R = c.n_rel;
    gctx ctx = {.g = &c, .norm = KGM_GRAPH_NORM_SYM, .self_loops = true};

    ctx.layer = L_GCN_AGG;
    check_layer(&ctx, (const int[][2]){{N, D}}, 1, "gcn_aggregate");
    ctx.layer = L_GCN;
    check_layer(&ctx, (const int[][2]){{N, D}, {D, D}, {1, D}}, 3, "gcn_layer");
    ctx.layer = L_SAGE;
    ctx.mode = KGM_GRAPH_SAGE_CONCAT;
    check_layer(&ctx, (const int[][2]){{N, D}, {2 * D, D}, {1, D}}, 3, "sage_layer");
    ctx.layer = L_LIGHTGCN;
    ctx.K = 3;
    check_layer(&ctx, (const int[][2]){{N, D}}, 1, "lightgcn");
    ctx.layer = L_RGCN_BASIS;
    ctx.mode = 1;
    check_layer(&ctx, (const int[][2]){{N, D}, {D, 4 * D}, {R, 4}, {D, D}}, 4, "rgcn_basis");
    ctx.layer = L_RGCN_BLOCK;
    ctx.K = 4;
    check_layer(&ctx, (const int[][2]){{N, D}, {R * D, D / 4}, {D, D}}, 3, "rgcn_block");
    ctx.layer = L_KGAT_SCORES;
    check_layer(&ctx, (const int[][2]){{N, D}, {R * D, D}, {R, D}}, 3, "kgat_scores");
    ctx.layer = L_KGAT;
    check_layer(&ctx, (const int[][2]){{N, D}, {R * D, D}, {R, D}, {D, D}, {1, D}, {D, D}, {1, D}}, 7, "kgat_layer");
    ctx.layer = L_DIFFNET_LAYER;
    check_layer(&ctx, (const int[][2]){{N, D}, {2 * D, D}, {1, D}}, 3, "diffnet_layer");
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(determinism, weighted_social_views) {
    kgm_graph *g = gt_random_social(1500, 30, 8000, false, true, 78);
    kgm_graph_csr c = gt_csr(g, false, false);
    int N = c.n_nodes;
    gctx ctx = {.g = &c, .norm = KGM_GRAPH_NORM_ROW, .self_loops = false};
    ctx.layer = L_GCN_AGG;
    check_layer(&ctx, (const int[][2]){{N, D}}, 1, "gcn_aggregate (row, weighted)");
    ctx.layer = L_SAGE_AGG;
    ctx.mode = KGM_GRAPH_SAGE_ADD;
    check_layer(&ctx, (const int[][2]){{N, D}}, 1, "sage_aggregate (add, weighted)");
    ctx.layer = L_DIFFNET;
    check_layer(&ctx, (const int[][2]){{N, D}, {2 * D, D}, {1, D}, {2 * D, D}, {1, D}, {N, D}}, 6, "diffnet");
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}
