/* The topk plugin's sampled evaluation protocol (dataset.eval_negatives = K),
 * against numbers computed by hand.
 *
 * A backend with fixed one-dimensional embeddings: every user is [1] and item
 * i is [S[i]], so s(u, i) = S[i]. Three test positives, each with its four
 * stored negatives; k = 3:
 *   row 0: positive item 1 (0.5) vs items 0 (0.9), 3 (0.5, a tie), 4, 5
 *          rank = 1 + |{0.9, 0.5}| = 3 (ties pessimistic; optimistic would be 2)
 *   row 1: positive item 2 (0.7) vs items 1, 4, 5, 3 — all lower: rank 1
 *   row 2: positive item 5 (0.3) vs items 0, 2, 3 (higher), 4 (lower): rank 4
 * hit@3 = recall@3 = 2/3; ndcg@3 = (1/log2(4) + 1/log2(2) + 0) / 3 = 0.5;
 * mrr = (1/3 + 1 + 1/4) / 3 = 19/36. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/plugin/host.h"
#include "kgmtl/kgmtl.h"

#define NU 2
#define NI 6
#define NR 3
#define NK 4

static const float S[NI] = {0.9f, 0.5f, 0.7f, 0.5f, 0.1f, 0.3f};
static const int32_t row_user[NR] = {0, 1, 0}, row_item[NR] = {1, 2, 5};
static const int32_t negs[NR * NK] = {0, 3, 4, 5, /**/ 1, 4, 5, 3, /**/ 0, 2, 3, 4};
static const int64_t row_idx[NR] = {0, 1, 2};

typedef struct fixed {
    bool with_negatives; /* false: the backend has no stored negatives */
    int asked;           /* eval_negatives calls */
} fixed;

static int64_t f_count(void *self, kgm_task_ctx *ctx, kgm_count_kind what) {
    (void)self, (void)ctx;
    return what == KGM_COUNT_USERS ? NU : what == KGM_COUNT_ITEMS ? NI : what == KGM_COUNT_DIM ? 1 : 0;
}

static kgm_status f_split_rows(void *self, kgm_task_ctx *ctx, kgm_split_id split, kgm_batch *out) {
    (void)self, (void)ctx;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->split = split;
    out->n = split == KGM_SPLIT_TEST ? NR : 0;
    out->row = row_idx;
    out->user = row_user;
    out->item = row_item;
    return KGM_OK;
}

static kgm_status f_embed(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, const int32_t *ids, int32_t n,
                          kgm_tensor **out) {
    (void)self, (void)ctx;
    KGM_TRY(kgm_tape_tensor(tp, n, 1, false, false, out));
    for (int32_t i = 0; i < n; i++) (*out)->data[i] = kind == KGM_KIND_USER ? 1.0f : S[ids[i]];
    return KGM_OK;
}

static kgm_status f_embed_all(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, kgm_tensor **out) {
    static const int32_t all[NI] = {0, 1, 2, 3, 4, 5};
    return f_embed(self, ctx, tp, kind, all, kind == KGM_KIND_USER ? NU : NI, out);
}

static kgm_status f_eval_negatives(void *self, kgm_task_ctx *ctx, kgm_split_id split, int32_t *k,
                                   const int32_t **items) {
    fixed *f = self;
    (void)ctx;
    f->asked++;
    if (!f->with_negatives || split != KGM_SPLIT_TEST) return KGM_OK;
    *k = NK;
    *items = negs;
    return KGM_OK;
}

/* Evaluate test with the topk plugin over the fixed backend (k = 3, plus
 * `extra` options); returns the evaluation's status. */
static kgm_status eval_fixed(fixed *fx, double m[4], const char *extra_key, const char *extra_value) {
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, MB_PLUGIN_DIR);
    kgm_plugin *pl;
    cr_assert_eq(kgm_plugin_open(&sp, "topk", &pl), KGM_OK, "%s", kgm_error_message());
    kgm_plugin_path_destroy(&sp);
    kgm_params *ps;
    kgm_params_new(&ps);
    kgm_task_backend be = {.self = fx, .count = f_count, .split_rows = f_split_rows, .embed = f_embed,
                           .embed_all = f_embed_all, .eval_negatives = f_eval_negatives};
    kgm_task_cfg c = {.params = ps, .param_group = 1, .seed = 1, .backend = &be};
    kgm_opt_kv o[] = {{"k", "3", "t"}, {extra_key, extra_value, "t"}};
    kgm_task_ctx *t;
    cr_assert_eq(kgm_task_new(pl, NULL, o, extra_key ? 2 : 1, &c, &t), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_task_declare_params(t), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_params_finalize(ps, 1), KGM_OK);
    kgm_tape *tp;
    kgm_tape_new((size_t)1 << 20, &tp);
    kgm_tape_set_grad(tp, false);
    kgm_tape_set_training(tp, false);
    for (int j = 0; j < 4; j++) m[j] = NAN;
    kgm_status st = kgm_task_eval(t, tp, KGM_SPLIT_TEST, m);
    kgm_tape_free(tp);
    kgm_task_free(t);
    kgm_params_free(ps);
    kgm_plugin_close(pl);
    return st;
}

Test(topk_sampled, hand_computed_hr_ndcg_mrr) {
    fixed fx = {.with_negatives = true};
    double m[4]; /* recall@k, ndcg@k, hit@k, mrr */
    cr_assert_eq(eval_fixed(&fx, m, NULL, NULL), KGM_OK, "%s", kgm_error_message());
    cr_expect_eq(fx.asked, 1, "the plugin asks for the stored negatives once per evaluation");
    cr_expect(fabs(m[0] - 2.0 / 3.0) < 1e-12, "recall@3 %.12g, expected 2/3", m[0]);
    cr_expect(fabs(m[1] - 0.5) < 1e-12, "ndcg@3 %.12g, expected 0.5 (pessimistic ties; optimistic gives 0.5436)", m[1]);
    cr_expect(fabs(m[2] - 2.0 / 3.0) < 1e-12, "hit@3 %.12g, expected 2/3", m[2]);
    cr_expect(fabs(m[3] - 19.0 / 36.0) < 1e-12, "mrr %.12g, expected 19/36", m[3]);
}

Test(topk_sampled, metric_ties_and_nan_are_pessimistic) {
    kgm_topk_result r;
    const float neg[3] = {1.0f, 1.0f, 0.0f};
    cr_assert_eq(kgm_metric_topk_sampled(1.0f, neg, 3, 1, &r), KGM_OK);
    cr_expect_eq(r.mrr, 1.0 / 3.0, "two ties rank the positive third: mrr %g", r.mrr);
    cr_expect_eq(r.hit, 0.0);
    /* a constant scorer gets the worst rank, not the best */
    const float flat[4] = {0, 0, 0, 0};
    cr_assert_eq(kgm_metric_topk_sampled(0.0f, flat, 4, 10, &r), KGM_OK);
    cr_expect_eq(r.mrr, 0.2);
    cr_expect(fabs(r.ndcg - 1.0 / log2(6.0)) < 1e-15);
    cr_assert_eq(kgm_metric_topk_sampled(NAN, flat, 4, 10, &r), KGM_OK);
    cr_expect_eq(r.mrr, 0.2, "a NaN positive ranks last");
    cr_expect_eq(kgm_metric_topk_sampled(0.0f, flat, 4, 0, &r), KGM_ERR_ARG);
    kgm_error_clear();
}

Test(topk_sampled, without_negatives_the_full_ranking_runs) {
    /* the same backend without stored negatives: full ranking needs
     * user_items, which this backend lacks, so the plugin must fail rather
     * than silently produce sampled numbers */
    fixed fx = {.with_negatives = false};
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, MB_PLUGIN_DIR);
    kgm_plugin *pl;
    cr_assert_eq(kgm_plugin_open(&sp, "topk", &pl), KGM_OK, "%s", kgm_error_message());
    kgm_plugin_path_destroy(&sp);
    kgm_params *ps;
    kgm_params_new(&ps);
    kgm_task_backend be = {.self = &fx, .count = f_count, .split_rows = f_split_rows, .embed = f_embed,
                           .embed_all = f_embed_all, .eval_negatives = f_eval_negatives};
    kgm_task_cfg c = {.params = ps, .param_group = 1, .seed = 1, .backend = &be};
    kgm_task_ctx *t;
    cr_assert_eq(kgm_task_new(pl, NULL, NULL, 0, &c, &t), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_params_finalize(ps, 1), KGM_OK);
    kgm_tape *tp;
    kgm_tape_new((size_t)1 << 20, &tp);
    double m[4];
    kgm_status st = kgm_task_eval(t, tp, KGM_SPLIT_TEST, m);
    cr_expect_eq(fx.asked, 1);
    cr_expect_neq(st, KGM_OK, "full ranking was attempted (user_items missing)");
    cr_expect(strstr(kgm_error_message(), "user_items") != NULL, "%s", kgm_error_message());
    kgm_error_clear();
    kgm_tape_free(tp);
    kgm_task_free(t);
    kgm_params_free(ps);
    kgm_plugin_close(pl);
}

Test(topk_sampled, kgat_ndcg_is_refused_under_the_sampled_protocol) {
    /* one relevant item per list: KGAT's IDCG would change nothing (no silent no-op) */
    fixed fx = {.with_negatives = true};
    double m[4];
    cr_assert_eq(eval_fixed(&fx, m, "kgat_ndcg", "true"), KGM_ERR_ARG);
    cr_expect(strstr(kgm_error_message(), "kgat_ndcg: expected false under the sampled protocol"), "%s",
              kgm_error_message());
    kgm_error_clear();
}
