/* The encoder's KG / social propagation (encoder.kg_layer, encoder.social_layer
 * = gcn, sage, lightgcn, diffnet) runs the graph module's layers over graph
 * CSR views built at encoder set-up. Checked here on a tiny generated world:
 *   - wiring: the propagated entity / user representation is bit-identical
 *     to a direct call of the graph layers on an independently built view
 *     with the encoder's parameters, and matches a dense double-precision
 *     reference of the documented formulas (edge directions, weights,
 *     normalisation, the mean over layers 0..L);
 *   - gradients: finite differences through kgm_encoder_items /
 *     kgm_encoder_users with KG and social propagation on (ID tables, layer
 *     weights, fusion weights). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/train/config.h"
#include "datasets/gen.h"
#include "core/model/encoder.h"
#include "core/tensor/gradcheck.h"
#include "graph/graph.h"
#include "kgmtl/kgmtl.h"
#include "core/tensor/ops.h"
#include "core/tensor/params.h"

static void setup(void) { kgm_init_runtime(); }

TestSuite(encoder_graph, .init = setup);

typedef struct {
    kgm_dataset ds;
    kgm_params *ps;
    kgm_encoder e;
    kgm_tape *tp;
    int64_t *train;
} fix;

/* A tiny world; `dw`: the social graph made directed with weights. */
static void fix_init(fix *f, const char *kg_layer, const char *soc_layer, int hops, bool dw, bool id) {
    memset(f, 0, sizeof *f);
    kgm_gen_world_cfg g;
    kgm_gen_world_cfg_default(&g);
    g.seed = 7;
    g.n_users = 24;
    g.n_items = 30;
    g.dim = 4;
    g.interactions_per_user = 6;
    g.min_per_user = 3;
    g.kg_relations = 3;
    g.kg_values = 3;
    g.social_degree = 4;
    g.social_candidates = 8;
    g.text_len = 0;
    g.user_segments = 0;
    g.item_genres = 0;
    kgm_dataset_init(&f->ds);
    cr_assert_eq(kgm_gen_world(&g, &f->ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_gt(f->ds.kg.n, 0);
    cr_assert_gt(f->ds.social.n, 0);
    if (dw) {
        kgm_social *s = &f->ds.social;
        s->directed = true;
        free(s->weight);
        s->weight = malloc((size_t)(s->cap > s->n ? s->cap : s->n) * sizeof(float));
        cr_assert_not_null(s->weight);
        for (int64_t k = 0; k < s->n; k++) s->weight[k] = 0.5f + 0.75f * (float)(k % 4);
    }
    kgm_run_config *rc = malloc(sizeof *rc);
    cr_assert_not_null(rc);
    kgm_run_config_default(rc);
    kgm_encoder_cfg c = rc->encoder;
    free(rc);
    c.dim = 4;
    c.id = id;
    c.kg = true;
    c.kg_hops = hops;
    snprintf(c.kg_layer, sizeof c.kg_layer, "%s", kg_layer);
    c.social = true;
    c.social_hops = hops;
    snprintf(c.social_layer, sizeof c.social_layer, "%s", soc_layer);
    int64_t n = f->ds.inter.n;
    f->train = malloc((size_t)n * sizeof *f->train);
    for (int64_t k = 0; k < n; k++) f->train[k] = k;
    cr_assert_eq(kgm_params_new(&f->ps), KGM_OK);
    cr_assert_eq(kgm_encoder_build(&f->e, &c, &f->ds, f->train, n, NULL, f->ps), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_params_finalize(f->ps, 11), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_encoder_after_finalize(&f->e, f->ps), KGM_OK);
    cr_assert_eq(kgm_tape_new(64u << 20, &f->tp), KGM_OK);
}

static void fix_free(fix *f) {
    kgm_tape_free(f->tp);
    kgm_encoder_destroy(&f->e);
    kgm_params_free(f->ps);
    kgm_dataset_destroy(&f->ds);
    free(f->train);
}

static kgm_tensor *param(fix *f, const char *fmt, int l) {
    char nm[KGM_PARAM_NAME_MAX];
    snprintf(nm, sizeof nm, fmt, l);
    int32_t id = kgm_params_find(f->ps, nm);
    cr_assert_geq(id, 0, "no parameter %s", nm);
    return kgm_params_tensor(f->ps, id);
}

/* ---- direct graph-module calls ------------------------------------------------ */

static kgm_tensor *direct(fix *f, const kgm_graph_csr *g, const char *layer, int hops, kgm_tensor *x0,
                          const char *wname) {
    kgm_tape *tp = f->tp;
    kgm_tensor *out;
    if (strcmp(layer, "lightgcn") == 0) {
        cr_assert_eq(kgm_graph_lightgcn(tp, g, x0, hops, &out), KGM_OK, "%s", kgm_error_message());
        return out;
    }
    kgm_tensor *h = x0, *acc = x0;
    for (int l = 0; l < hops; l++) {
        kgm_tensor *w = param(f, wname, l);
        kgm_status st;
        if (strcmp(layer, "gcn") == 0)
            st = kgm_graph_gcn_layer(tp, g, h, w, NULL, KGM_GRAPH_NORM_SYM, true, KGM_GRAPH_ACT_TANH, &h);
        else if (strcmp(layer, "sage") == 0)
            st = kgm_graph_sage_layer(tp, g, h, w, NULL, KGM_GRAPH_SAGE_CONCAT, KGM_GRAPH_ACT_TANH, &h);
        else
            st = kgm_graph_diffnet_layer(tp, g, h, w, NULL, KGM_GRAPH_ACT_TANH, &h);
        cr_assert_eq(st, KGM_OK, "%s", kgm_error_message());
        cr_assert_eq(kgm_op_add(tp, acc, h, &acc), KGM_OK);
    }
    cr_assert_eq(kgm_op_scale(tp, acc, 1.0f / (float)(hops + 1), 0.0f, &out), KGM_OK);
    return out;
}

/* ---- dense reference (double) --------------------------------------------------- */

/* A[i][j] += w: node i receives from node j. */
typedef struct {
    int n;
    double *a;
} dense;

static void dense_add(dense *m, int i, int j, double w) { m->a[(size_t)i * m->n + j] += w; }

static double *dense_ref(const dense *A, const char *layer, int hops, const kgm_tensor *x0, fix *f,
                         const char *wname) {
    int n = A->n, D = x0->cols;
    bool gcn = strcmp(layer, "gcn") == 0, lgcn = strcmp(layer, "lightgcn") == 0;
    /* the propagation matrix M */
    double *M = calloc((size_t)n * n, sizeof *M), *din = calloc((size_t)n, sizeof *din),
           *dout = calloc((size_t)n, sizeof *dout);
    double s = gcn ? 1.0 : 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            din[i] += A->a[(size_t)i * n + j];
            dout[j] += A->a[(size_t)i * n + j];
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double a = A->a[(size_t)i * n + j] + (gcn && i == j ? 1.0 : 0.0);
            if (a == 0) continue;
            if (gcn || lgcn) M[(size_t)i * n + j] = a / sqrt((din[i] + s) * (dout[j] + s));
            else M[(size_t)i * n + j] = a / din[i];
        }
    double *h = malloc((size_t)n * D * sizeof *h), *acc = malloc((size_t)n * D * sizeof *acc),
           *m = malloc((size_t)n * D * sizeof *m), *nh = malloc((size_t)n * D * sizeof *nh);
    for (int k = 0; k < n * D; k++) h[k] = acc[k] = x0->data[k];
    for (int l = 0; l < hops; l++) {
        for (int i = 0; i < n; i++)
            for (int d = 0; d < D; d++) {
                double v = 0;
                for (int j = 0; j < n; j++) v += M[(size_t)i * n + j] * h[(size_t)j * D + d];
                m[(size_t)i * D + d] = v;
            }
        if (lgcn) {
            memcpy(nh, m, (size_t)n * D * sizeof *nh);
        } else {
            kgm_tensor *w = param(f, wname, l); /* (D or 2D, D) */
            for (int i = 0; i < n; i++)
                for (int o = 0; o < D; o++) {
                    double v = 0;
                    if (gcn) {
                        for (int d = 0; d < D; d++) v += m[(size_t)i * D + d] * w->data[(size_t)d * D + o];
                    } else {
                        for (int d = 0; d < D; d++) v += h[(size_t)i * D + d] * w->data[(size_t)d * D + o];
                        for (int d = 0; d < D; d++) v += m[(size_t)i * D + d] * w->data[(size_t)(D + d) * D + o];
                    }
                    nh[(size_t)i * D + o] = tanh(v);
                }
        }
        memcpy(h, nh, (size_t)n * D * sizeof *h);
        for (int k = 0; k < n * D; k++) acc[k] += h[k];
    }
    for (int k = 0; k < n * D; k++) acc[k] /= (hops + 1);
    free(M);
    free(din);
    free(dout);
    free(h);
    free(m);
    free(nh);
    return acc;
}

static void expect_close(const float *got, const double *want, int64_t n, const char *what) {
    double worst = 0;
    int64_t at = 0;
    for (int64_t k = 0; k < n; k++) {
        double e = fabs(got[k] - want[k]) / fmax(fabs(want[k]), 1e-2);
        if (e > worst) {
            worst = e;
            at = k;
        }
    }
    cr_expect_lt(worst, 1e-4, "%s: dense reference differs by %g at %lld (%g vs %g)", what, worst, (long long)at,
                 (double)got[at], want[at]);
}

/* ---- wiring ----------------------------------------------------------------------- */

/* Compares the encoder's rows `enc` (first n rows of the propagated table)
 * with the graph layers run directly on g's view (bit-identical) and with
 * the dense reference over A; frees g and A. */
static void compare(fix *f, const kgm_tensor *enc, int32_t n, kgm_graph *g, const kgm_graph_csr_opts *co,
                    const char *layer, int hops, const char *x0name, const char *wname, dense *A,
                    const char *what) {
    kgm_graph_csr v;
    cr_assert_eq(kgm_graph_csr_build(g, co, &v), KGM_OK, "%s", kgm_error_message());
    kgm_tensor *x0 = param(f, x0name, 0);
    kgm_tensor *dir = direct(f, &v, layer, hops, x0, wname);
    cr_assert_eq(enc->cols, dir->cols);
    cr_expect(memcmp(enc->data, dir->data, (size_t)n * enc->cols * sizeof(float)) == 0,
              "%s: the encoder's rows differ from the graph module's layers", what);
    double *ref = dense_ref(A, layer, hops, x0, f, wname);
    expect_close(enc->data, ref, (int64_t)n * enc->cols, what);
    free(ref);
    free(A->a);
    kgm_tape_reset(f->tp);
    kgm_graph_csr_destroy(&v);
    kgm_graph_free(g);
}

static int32_t *iota(int32_t n) {
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    for (int32_t i = 0; i < n; i++) ids[i] = i;
    return ids;
}

static void check_kg(const char *layer, int hops) {
    fix f;
    fix_init(&f, layer, "lightgcn", hops, false, false);
    kgm_encoder_begin_step(&f.e);
    int32_t ne = f.e.n_entities - 1; /* the last row is the shared "no entity" row */
    int32_t *ids = iota(ne);
    kgm_tensor *enc;
    cr_assert_eq(kgm_encoder_entities(&f.e, f.tp, f.ps, ids, ne, &enc), KGM_OK, "%s", kgm_error_message());
    /* the same layers on a view built here from the dataset's triples */
    kgm_graph_opts go = kgm_graph_default_opts();
    go.n_nodes = f.e.n_entities;
    go.n_rel = f.ds.relations.count;
    kgm_graph *g;
    cr_assert_eq(kgm_graph_new_kg(f.ds.kg.h, f.ds.kg.r, f.ds.kg.t, f.ds.kg.n, &go, NULL, &g), KGM_OK);
    kgm_graph_csr_opts co = {.inverse = true};
    /* both edge directions of every triple, unweighted */
    dense A = {f.e.n_entities, calloc((size_t)f.e.n_entities * f.e.n_entities, sizeof(double))};
    for (int64_t k = 0; k < f.ds.kg.n; k++) {
        dense_add(&A, f.ds.kg.t[k], f.ds.kg.h[k], 1);
        dense_add(&A, f.ds.kg.h[k], f.ds.kg.t[k], 1);
    }
    char what[64];
    snprintf(what, sizeof what, "kg %s, %d hops", layer, hops);
    compare(&f, enc, ne, g, &co, layer, hops, "encoder/entity", "encoder/kg_w%d", &A, what);
    free(ids);
    fix_free(&f);
}

static void check_social(const char *layer, int hops, bool dw) {
    fix f;
    fix_init(&f, "lightgcn", layer, hops, dw, false);
    kgm_encoder_begin_step(&f.e);
    int32_t nu = f.e.n_users;
    int32_t *ids = iota(nu);
    kgm_tensor *enc;
    cr_assert_eq(kgm_encoder_users(&f.e, f.tp, f.ps, ids, nu, &enc), KGM_OK, "%s", kgm_error_message());
    const kgm_social *s = &f.ds.social;
    kgm_graph_opts go = kgm_graph_default_opts();
    go.n_nodes = nu;
    go.directed = s->directed;
    kgm_graph *g;
    cr_assert_eq(kgm_graph_new_social(s->src, s->dst, s->weight, s->n, &go, NULL, &g), KGM_OK);
    kgm_graph_csr_opts co = {.reverse = true};
    /* u -> f (u trusts f): u receives from f; undirected: both */
    dense A = {nu, calloc((size_t)nu * nu, sizeof(double))};
    for (int64_t k = 0; k < s->n; k++) {
        double w = s->weight ? s->weight[k] : 1.0;
        dense_add(&A, s->src[k], s->dst[k], w);
        if (!s->directed && s->src[k] != s->dst[k]) dense_add(&A, s->dst[k], s->src[k], w);
    }
    char what[64];
    snprintf(what, sizeof what, "social %s, %d hops%s", layer, hops, dw ? " (directed, weighted)" : "");
    compare(&f, enc, nu, g, &co, layer, hops, "encoder/user", "encoder/social_w%d", &A, what);
    free(ids);
    fix_free(&f);
}

Test(encoder_graph, kg_layers_are_the_graph_module_layers) {
    const char *layers[] = {"gcn", "sage", "lightgcn", "diffnet"};
    for (int i = 0; i < 4; i++) {
        check_kg(layers[i], 1);
        check_kg(layers[i], 2);
    }
    check_kg("gcn", 0); /* hops in [0, 8] as docs/manifest.md says: 0 = the entity table itself */
    check_kg("lightgcn", 8);
    check_kg("sage", 8);
}

Test(encoder_graph, social_layers_are_the_graph_module_layers) {
    const char *layers[] = {"diffnet", "gcn", "sage", "lightgcn"};
    for (int i = 0; i < 4; i++) {
        check_social(layers[i], 2, false);
        check_social(layers[i], 2, true);
    }
}

/* ---- gradients ---------------------------------------------------------------------- */

typedef struct {
    fix *f;
    int32_t users[5], items[5];
} gctx;

/* [users | items] (5, 2d): both encoder sides in one output. */
static kgm_status enc_fn(kgm_tape *tp, kgm_tensor **in, void *vctx, kgm_tensor **out) {
    (void)in; /* the encoder reads the parameters the inputs point to */
    gctx *c = vctx;
    fix *f = c->f;
    kgm_encoder_begin_step(&f->e); /* a fresh tape every evaluation: no cached propagation */
    kgm_tensor *uv[2];
    KGM_TRY(kgm_encoder_users(&f->e, tp, f->ps, c->users, 5, &uv[0]));
    KGM_TRY(kgm_encoder_items(&f->e, tp, f->ps, c->items, 5, &uv[1]));
    return kgm_op_concat_cols(tp, 2, uv, out);
}

static void check_grad(const char *kg_layer, const char *soc_layer, bool dw) {
    fix f;
    fix_init(&f, kg_layer, soc_layer, 2, dw, true);
    gctx c = {.f = &f};
    for (int i = 0; i < 5; i++) c.users[i] = (i * 5 + 1) % f.e.n_users;
    for (int i = 0; i < 5; i++) c.items[i] = (i * 7 + 2) % f.e.n_items;
    /* every parameter the two sides use */
    kgm_tensor *in[32];
    int n = 0;
    in[n++] = kgm_params_tensor(f.ps, f.e.p_user);
    in[n++] = kgm_params_tensor(f.ps, f.e.p_item);
    in[n++] = kgm_params_tensor(f.ps, f.e.p_entity);
    for (int l = 0; l < KGM_ENC_MAX_HOPS; l++) {
        if (f.e.p_kg_w[l] >= 0) in[n++] = kgm_params_tensor(f.ps, f.e.p_kg_w[l]);
        if (f.e.p_soc_w[l] >= 0) in[n++] = kgm_params_tensor(f.ps, f.e.p_soc_w[l]);
    }
    for (int s = 0; s < 2; s++) {
        if (f.e.p_fuse_w[s] >= 0) in[n++] = kgm_params_tensor(f.ps, f.e.p_fuse_w[s]);
        if (f.e.p_fuse_b[s] >= 0) in[n++] = kgm_params_tensor(f.ps, f.e.p_fuse_b[s]);
    }
    for (int k = 0; k < n; k++) cr_assert_not_null(in[k]->grad);
    kgm_gradcheck_result res;
    kgm_status st = kgm_gradcheck(enc_fn, in, n, &c, 1e-2, 5e-2, 42, &res);
    cr_assert_eq(st, KGM_OK, "%s", kgm_error_message());
    cr_assert_gt(res.n_checked, 100);
    cr_expect_lt(res.max_rel_err, 2e-2,
                 "kg %s / social %s%s: rel err %g at input %d elem %lld (analytic %g numeric %g, %lld checked)",
                 kg_layer, soc_layer, dw ? " (directed, weighted)" : "", res.max_rel_err, res.worst_input,
                 (long long)res.worst_index, res.analytic, res.numeric, (long long)res.n_checked);
    fix_free(&f);
}

Test(encoder_graph, grad_through_items_and_users) {
    check_grad("gcn", "diffnet", true);
    check_grad("sage", "lightgcn", false);
    check_grad("lightgcn", "gcn", true);
    check_grad("diffnet", "sage", false);
}
