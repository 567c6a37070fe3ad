/* Unit tests for core/metrics/metrics.h: every expected value below was computed by
 * hand (the arithmetic is in the comments), plus brute-force cross-checks of
 * AUC and top-K selection on random data with many ties. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics/metrics.h"
#include "core/base/rng.h"

#define TOL 1e-9
#define TOL_F 1e-6 /* inputs given as float literals */

/* The status must be `st`, and a message must have been recorded. */
static void expect_error(kgm_status got, kgm_status st) {
    cr_assert_eq(got, st, "status %d (%s), expected %d", got, kgm_status_str(got), st);
    cr_assert(strlen(kgm_error_message()) > 0, "no error message recorded");
}

/* ------------------------------------------------------------------ AUC */

Test(metrics_auc, distinct_scores) {
    /* positives 0.35, 0.8; negatives 0.1, 0.4: 0.35 beats 0.1 only, 0.8 beats
     * both -> 3 of 4 pairs. */
    const float s[] = {0.1f, 0.4f, 0.35f, 0.8f}, y[] = {0, 0, 1, 1};
    double auc;
    cr_assert_eq(kgm_metric_auc(s, y, 4, &auc), KGM_OK);
    cr_assert_float_eq(auc, 0.75, TOL);
}

Test(metrics_auc, ties_use_midranks) {
    /* positives 0.5, 0.9; negatives 0.5, 0.5, 0.1. Pos 0.5: two half-wins + one
     * win = 2; pos 0.9: 3 wins -> U = 5, AUC = 5/6. Midranks: 0.1->1, the three
     * 0.5s -> 3, 0.9->5; R_pos = 8, U = 8 - 2*3/2 = 5. */
    const float s[] = {0.5f, 0.5f, 0.5f, 0.9f, 0.1f}, y[] = {1, 0, 0, 1, 0};
    double auc;
    cr_assert_eq(kgm_metric_auc(s, y, 5, &auc), KGM_OK);
    cr_assert_float_eq(auc, 5.0 / 6.0, TOL);

    const float same[] = {0.3f, 0.3f, 0.3f, 0.3f}, y2[] = {1, 0, 1, 0};
    cr_assert_eq(kgm_metric_auc(same, y2, 4, &auc), KGM_OK);
    cr_assert_float_eq(auc, 0.5, TOL, "a constant scorer must get 0.5, not 0 or 1");
}

Test(metrics_auc, perfect_and_inverted) {
    const float s[] = {0.1f, 0.2f, 0.8f, 0.9f}, y[] = {0, 0, 1, 1}, yi[] = {1, 1, 0, 0};
    double auc;
    cr_assert_eq(kgm_metric_auc(s, y, 4, &auc), KGM_OK);
    cr_assert_float_eq(auc, 1.0, TOL);
    cr_assert_eq(kgm_metric_auc(s, yi, 4, &auc), KGM_OK);
    cr_assert_float_eq(auc, 0.0, TOL);
}

Test(metrics_auc, one_class_is_nan_with_error) {
    const float s[] = {0.1f, 0.7f, 0.3f}, y[] = {1, 1, 1};
    double auc = 0.0;
    expect_error(kgm_metric_auc(s, y, 3, &auc), KGM_ERR_ARG);
    cr_assert(isnan(auc));
    cr_assert(strstr(kgm_error_message(), "positive") != NULL, "message: %s", kgm_error_message());
}

Test(metrics_auc, bad_input) {
    const float s[] = {0.1f, NAN}, y[] = {0, 1}, y2[] = {0, 2};
    const float ok[] = {0.1f, 0.2f};
    double auc;
    expect_error(kgm_metric_auc(s, y, 2, &auc), KGM_ERR_NUMERIC);
    expect_error(kgm_metric_auc(ok, y2, 2, &auc), KGM_ERR_ARG);
    expect_error(kgm_metric_auc(ok, y, 0, &auc), KGM_ERR_ARG);
}

Test(metrics_auc, matches_pair_count_on_random_ties) {
    kgm_rng r;
    kgm_rng_init(&r, 7, 0);
    enum { N = 400 };
    float s[N], y[N];
    for (int i = 0; i < N; i++) {
        s[i] = (float)kgm_rng_below(&r, 10) / 10.0f; /* 10 distinct values: many ties */
        y[i] = kgm_rng_uniform(&r) < 0.3 + 0.05 * s[i] * 10 ? 1.0f : 0.0f;
    }
    double num = 0.0, np = 0.0, nn = 0.0;
    for (int i = 0; i < N; i++) {
        np += y[i];
        nn += 1 - y[i];
        if (!y[i]) continue;
        for (int j = 0; j < N; j++)
            if (!y[j]) num += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
    }
    double auc;
    cr_assert_eq(kgm_metric_auc(s, y, N, &auc), KGM_OK);
    cr_assert_float_eq(auc, num / (np * nn), 1e-12);
}

Test(metrics_auc, group_auc_weighted_by_impressions) {
    /* user 1 (3 rows): 0.9 pos vs 0.2, 0.6 neg -> AUC 1
     * user 2 (2 rows): 0.3 pos vs 0.7 neg -> AUC 0
     * user 3 (2 rows): both positive -> skipped
     * user 4 (4 rows): all 0.5, 2 pos / 2 neg -> AUC 0.5
     * GAUC = (3*1 + 2*0 + 4*0.5) / 9 = 5/9 (unweighted would be 0.5). */
    const int32_t g[] = {1, 2, 4, 1, 3, 4, 2, 1, 4, 3, 4};
    const float s[] = {0.9f, 0.3f, 0.5f, 0.2f, 0.5f, 0.5f, 0.7f, 0.6f, 0.5f, 0.4f, 0.5f};
    const float y[] = {1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1};
    double gauc;
    int64_t used = -1, skipped = -1;
    cr_assert_eq(kgm_metric_gauc(s, y, g, 11, &gauc, &used, &skipped), KGM_OK);
    cr_assert_float_eq(gauc, 5.0 / 9.0, TOL);
    cr_assert_eq(used, 3);
    cr_assert_eq(skipped, 1);
}

Test(metrics_auc, group_auc_all_single_class) {
    const int32_t g[] = {0, 0, 1};
    const float s[] = {0.1f, 0.2f, 0.3f}, y[] = {1, 1, 0};
    double gauc = 0.0;
    int64_t used = -1, skipped = -1;
    expect_error(kgm_metric_gauc(s, y, g, 3, &gauc, &used, &skipped), KGM_ERR_ARG);
    cr_assert(isnan(gauc));
    cr_assert_eq(used, 0);
    cr_assert_eq(skipped, 2);
}

/* ---------------------------------------------------------- binary other */

Test(metrics_binary, logloss_clips) {
    /* -ln 0.9 - ln 0.8 - ln(1 - 1e-7) [p = 1 clipped] - ln(1e-7) [p = 0 clipped,
     * y = 1] = 0.1053605 + 0.2231436 + 1e-7 + 16.1180957 = 16.4466, / 4. */
    const float p[] = {0.9f, 0.2f, 1.0f, 0.0f}, y[] = {1, 0, 1, 1};
    double ll;
    cr_assert_eq(kgm_metric_logloss(p, y, 4, 1e-7, &ll), KGM_OK);
    cr_assert_float_eq(ll, 4.111649954482591, TOL_F);
    cr_assert(isfinite(ll));
}

Test(metrics_binary, logloss_soft_label_and_errors) {
    const float p[] = {0.5f}, y[] = {0.3f}; /* -(0.3 + 0.7) ln 0.5 = ln 2 */
    double ll;
    cr_assert_eq(kgm_metric_logloss(p, y, 1, 1e-15, &ll), KGM_OK);
    cr_assert_float_eq(ll, M_LN2, TOL);
    expect_error(kgm_metric_logloss(p, y, 1, 0.0, &ll), KGM_ERR_ARG);
    expect_error(kgm_metric_logloss(p, y, 1, 0.5, &ll), KGM_ERR_ARG);
    const float logit[] = {1.5f};
    expect_error(kgm_metric_logloss(logit, y, 1, 1e-7, &ll), KGM_ERR_ARG);
    cr_assert(isnan(ll));
}

Test(metrics_binary, accuracy_threshold_inclusive) {
    /* thr 0.5 -> preds 0,1,1,0 (0.5 >= 0.5 is positive): 3 of 4 right;
     * thr 0.6 -> preds 0,0,1,0: 2 of 4. */
    const float s[] = {0.2f, 0.5f, 0.7f, 0.4f}, y[] = {0, 1, 0, 0};
    double acc;
    cr_assert_eq(kgm_metric_binary_accuracy(s, y, 4, 0.5f, &acc), KGM_OK);
    cr_assert_float_eq(acc, 0.75, TOL);
    cr_assert_eq(kgm_metric_binary_accuracy(s, y, 4, 0.6f, &acc), KGM_OK);
    cr_assert_float_eq(acc, 0.5, TOL);
}

Test(metrics_binary, precision_recall_f1) {
    /* preds 1,1,0,1,0,1 vs labels 1,0,1,1,0,0: tp 2, fp 2, fn 1, tn 1 ->
     * P = 1/2, R = 2/3, F1 = 4/7. */
    const float s[] = {0.9f, 0.8f, 0.3f, 0.6f, 0.1f, 0.7f}, y[] = {1, 0, 1, 1, 0, 0};
    kgm_prf m;
    cr_assert_eq(kgm_metric_binary_prf(s, y, 6, 0.5f, &m), KGM_OK);
    cr_assert_eq(m.tp, 2);
    cr_assert_eq(m.fp, 2);
    cr_assert_eq(m.fn, 1);
    cr_assert_eq(m.tn, 1);
    cr_assert_float_eq(m.precision, 0.5, TOL);
    cr_assert_float_eq(m.recall, 2.0 / 3.0, TOL);
    cr_assert_float_eq(m.f1, 4.0 / 7.0, TOL);
}

Test(metrics_binary, prf_zero_division) {
    /* Nothing predicted positive but a positive exists: P = 0 by convention. */
    const float s[] = {0.1f, 0.2f}, y[] = {1, 0};
    kgm_prf m;
    cr_assert_eq(kgm_metric_binary_prf(s, y, 2, 0.5f, &m), KGM_OK);
    cr_assert_float_eq(m.precision, 0.0, TOL);
    cr_assert_float_eq(m.recall, 0.0, TOL);
    cr_assert_float_eq(m.f1, 0.0, TOL);
    /* No positive anywhere: undefined. */
    const float yn[] = {0, 0};
    expect_error(kgm_metric_binary_prf(s, yn, 2, 0.5f, &m), KGM_ERR_ARG);
    cr_assert(isnan(m.f1) && isnan(m.precision) && isnan(m.recall));
    cr_assert_eq(m.tn, 2);
}

/* ------------------------------------------------------------ regression */

Test(metrics_regression, rmse_mae) {
    /* errors 0, -1, -2, 4: MSE = 21/4, RMSE = sqrt(5.25); MAE = 7/4. */
    const float p[] = {1, 2, 3, 4}, t[] = {1, 3, 5, 0};
    double v;
    cr_assert_eq(kgm_metric_rmse(p, t, 4, &v), KGM_OK);
    cr_assert_float_eq(v, 2.29128784747792, TOL);
    cr_assert_eq(kgm_metric_mae(p, t, 4, &v), KGM_OK);
    cr_assert_float_eq(v, 1.75, TOL);
    const float bad[] = {1, NAN, 3, 4};
    expect_error(kgm_metric_rmse(bad, t, 4, &v), KGM_ERR_NUMERIC);
    cr_assert(isnan(v));
    expect_error(kgm_metric_mae(p, t, 0, &v), KGM_ERR_ARG);
}

/* ------------------------------------------------------------ multi-class */

/* truth 0,0,1,1,2,2,2 vs pred 0,1,1,1,2,0,2 (5 of 7 right).
 * class 0: tp 1, fp 1 (row 5), fn 1 (row 1) -> F1 2/4 = 0.5
 * class 1: tp 2, fp 1 (row 1)               -> F1 4/5 = 0.8
 * class 2: tp 2, fn 1 (row 5)               -> F1 4/5 = 0.8
 * class 3: never seen -> excluded; macro = 2.1/3 = 0.7
 * (counting it as 0 would give 0.525, as 1 would give 0.775). */
static const int32_t MC_T[] = {0, 0, 1, 1, 2, 2, 2}, MC_P[] = {0, 1, 1, 1, 2, 0, 2};

Test(metrics_multiclass, accuracy_and_micro) {
    double v;
    cr_assert_eq(kgm_metric_multiclass_accuracy(MC_T, MC_P, 7, 4, &v), KGM_OK);
    cr_assert_float_eq(v, 5.0 / 7.0, TOL);
    cr_assert_eq(kgm_metric_micro_f1(MC_T, MC_P, 7, 4, &v), KGM_OK);
    cr_assert_float_eq(v, 5.0 / 7.0, TOL);
}

Test(metrics_multiclass, macro_excludes_empty_class) {
    double v;
    int32_t used = -1;
    cr_assert_eq(kgm_metric_macro_f1(MC_T, MC_P, 7, 4, &v, &used), KGM_OK);
    cr_assert_float_eq(v, 0.7, TOL);
    cr_assert_eq(used, 3);
    /* Declaring 100 unused classes changes nothing. */
    cr_assert_eq(kgm_metric_macro_f1(MC_T, MC_P, 7, 100, &v, &used), KGM_OK);
    cr_assert_float_eq(v, 0.7, TOL);
    cr_assert_eq(used, 3);
}

Test(metrics_multiclass, macro_counts_predicted_only_class) {
    /* class 0: tp 1, fn 1 -> 2/3; class 1 only predicted: F1 0 -> macro 1/3. */
    const int32_t t[] = {0, 0}, p[] = {0, 1};
    double v;
    int32_t used;
    cr_assert_eq(kgm_metric_macro_f1(t, p, 2, 2, &v, &used), KGM_OK);
    cr_assert_float_eq(v, 1.0 / 3.0, TOL);
    cr_assert_eq(used, 2);
}

Test(metrics_multiclass, confusion_matrix) {
    int64_t cm[16];
    for (int i = 0; i < 16; i++) cm[i] = 99; /* must be overwritten */
    cr_assert_eq(kgm_metric_confusion_matrix(MC_T, MC_P, 7, 4, cm), KGM_OK);
    const int64_t want[16] = {1, 1, 0, 0, /* truth 0 */
                              0, 2, 0, 0, /* truth 1 */
                              1, 0, 2, 0, /* truth 2 */
                              0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        cr_assert_eq(cm[i], want[i], "cm[%d][%d] = %lld", i / 4, i % 4, (long long)cm[i]);
}

Test(metrics_multiclass, out_of_range) {
    const int32_t t[] = {0, 3}, p[] = {0, 1}, neg[] = {0, -1};
    double v;
    int32_t used;
    expect_error(kgm_metric_macro_f1(t, p, 2, 3, &v, &used), KGM_ERR_INDEX);
    expect_error(kgm_metric_multiclass_accuracy(p, neg, 2, 3, &v), KGM_ERR_INDEX);
    expect_error(kgm_metric_multiclass_accuracy(p, p, 2, 0, &v), KGM_ERR_ARG);
}

/* ------------------------------------------------------------ multi-label */

Test(metrics_multilabel, micro_macro) {
    /* thr 0.5. label 0: truth 1,0,1 pred 1,0,1 -> F1 1
     *          label 1: truth 0,1,1 pred 1,1,0 -> tp 1 fp 1 fn 1 -> 0.5
     *          label 2: truth 1,0,0 pred 0,0,0 -> fn 1 -> 0
     *          label 3: never positive nor predicted -> excluded
     * micro: TP 3, FP 1, FN 2 -> 6/9; macro (1 + 0.5 + 0)/3 = 0.5. */
    const float t[] = {1, 0, 1, 0, /**/ 0, 1, 0, 0, /**/ 1, 1, 0, 0};
    const float s[] = {0.9f, 0.6f, 0.2f, 0.1f, /**/ 0.1f, 0.8f, 0.3f, 0.4f, /**/ 0.7f, 0.4f, 0.1f, 0.0f};
    double mi, ma;
    cr_assert_eq(kgm_metric_multilabel_f1(t, s, 3, 4, 0.5f, &mi, &ma), KGM_OK);
    cr_assert_float_eq(mi, 2.0 / 3.0, TOL);
    cr_assert_float_eq(ma, 0.5, TOL);
}

Test(metrics_multilabel, all_empty_is_undefined) {
    const float t[] = {0, 0, 0, 0}, s[] = {0.1f, 0.2f, 0.3f, 0.4f};
    double mi = 0, ma = 0;
    expect_error(kgm_metric_multilabel_f1(t, s, 2, 2, 0.5f, &mi, &ma), KGM_ERR_ARG);
    cr_assert(isnan(mi) && isnan(ma));
    const float bad[] = {0, 2, 0, 0};
    expect_error(kgm_metric_multilabel_f1(bad, s, 2, 2, 0.5f, &mi, &ma), KGM_ERR_ARG);
}

/* ---------------------------------------------------------- top-K ranking */

/* Items 0..7; item 4 (the best score) is a training item and is excluded.
 * Candidate ranking: 0 (0.9), 2, 3, 6 (all 0.8, by index), 7 (0.5), 5, 1. */
static const float TK_S[] = {0.9f, 0.1f, 0.8f, 0.8f, 0.95f, 0.3f, 0.8f, 0.5f};
static const uint8_t TK_X[] = {0, 0, 0, 0, 1, 0, 0, 0};
static const int32_t TK_REL[] = {6, 3, 5};

Test(metrics_topk, select_ties_by_index) {
    int32_t out[10], n;
    cr_assert_eq(kgm_metric_topk_select(TK_S, 8, TK_X, 3, out, &n), KGM_OK);
    cr_assert_eq(n, 3);
    cr_assert(out[0] == 0 && out[1] == 2 && out[2] == 3, "got %d %d %d", out[0], out[1], out[2]);
    cr_assert_eq(kgm_metric_topk_select(TK_S, 8, TK_X, 10, out, &n), KGM_OK);
    const int32_t all[] = {0, 2, 3, 6, 7, 5, 1};
    cr_assert_eq(n, 7);
    for (int i = 0; i < 7; i++) cr_assert_eq(out[i], all[i], "position %d", i);
    cr_assert_eq(kgm_metric_topk_select(TK_S, 8, NULL, 2, out, &n), KGM_OK);
    cr_assert(n == 2 && out[0] == 4 && out[1] == 0);
}

/* Run kgm_metric_topk_user on the TK_ fixture and check all five values. */
static void expect_topk(const uint8_t *exclude, int32_t k, uint32_t flags, double recall, double precision,
                        double hit, double ndcg, double mrr) {
    kgm_topk_result r;
    cr_assert_eq(kgm_metric_topk_user(TK_S, 8, exclude, TK_REL, 3, k, flags, &r), KGM_OK, "k %d: %s", k,
                 kgm_error_message());
    cr_assert_float_eq(r.recall, recall, TOL, "k %d flags %u: recall", k, flags);
    cr_assert_float_eq(r.precision, precision, TOL, "k %d flags %u: precision", k, flags);
    cr_assert_float_eq(r.hit, hit, TOL, "k %d flags %u: hit", k, flags);
    cr_assert_float_eq(r.ndcg, ndcg, TOL, "k %d flags %u: ndcg", k, flags);
    cr_assert_float_eq(r.mrr, mrr, TOL, "k %d flags %u: mrr", k, flags);
}

Test(metrics_topk, user_k3) {
    /* top 3 = 0, 2, 3: one hit (item 3) at rank 3. DCG = 1/log2(4) = 0.5;
     * IDCG = 1 + 1/log2 3 + 1/2 = 2.1309 -> NDCG 0.234639. KGAT variant: IDCG
     * over the 1 hit = 1 -> 0.5. MRR: best relevant item 3 has full rank 3. */
    expect_topk(TK_X, 3, 0, 1.0 / 3.0, 1.0 / 3.0, 1.0, 0.23463936301137822, 1.0 / 3.0);
    expect_topk(TK_X, 3, KGM_TOPK_NDCG_KGAT, 1.0 / 3.0, 1.0 / 3.0, 1.0, 0.5, 1.0 / 3.0);
}

Test(metrics_topk, user_k5_and_k_beyond_candidates) {
    /* k 5: top 0,2,3,6,7, hits at ranks 3, 4: DCG = 1/2 + 1/log2 5;
     * correct NDCG 0.436747, KGAT 0.570642 (IDCG over 2 hits). */
    expect_topk(TK_X, 5, 0, 2.0 / 3.0, 2.0 / 5.0, 1.0, 0.4367467095119258, 1.0 / 3.0);
    expect_topk(TK_X, 5, KGM_TOPK_NDCG_KGAT, 2.0 / 3.0, 2.0 / 5.0, 1.0, 0.5706417189553201, 1.0 / 3.0);
    /* k 10 > 7 candidates: hits at ranks 3, 4, 6 (DCG 1/2 + 1/log2 5 +
     * 1/log2 7, IDCG over min(10, 3) = 3 items); precision still over k. */
    expect_topk(TK_X, 10, 0, 1.0, 0.3, 1.0, 0.6039071644781281, 1.0 / 3.0);
}

Test(metrics_topk, mask_matters) {
    /* Without the mask item 4 takes rank 1: top 3 = 4, 0, 2, no hit; MRR:
     * item 3 now has full rank 4 (MRR is not truncated at k). */
    expect_topk(NULL, 3, 0, 0.0, 0.0, 0.0, 0.0, 0.25);
}

Test(metrics_topk, bad_relevant_lists) {
    kgm_topk_result r;
    const int32_t excluded[] = {4}, dup[] = {3, 3}, out[] = {8};
    expect_error(kgm_metric_topk_user(TK_S, 8, TK_X, excluded, 1, 3, 0, &r), KGM_ERR_ARG);
    expect_error(kgm_metric_topk_user(TK_S, 8, TK_X, dup, 2, 3, 0, &r), KGM_ERR_ARG);
    expect_error(kgm_metric_topk_user(TK_S, 8, TK_X, out, 1, 3, 0, &r), KGM_ERR_INDEX);
    expect_error(kgm_metric_topk_user(TK_S, 8, TK_X, TK_REL, 0, 3, 0, &r), KGM_ERR_ARG);
    cr_assert(isnan(r.recall) && isnan(r.ndcg) && isnan(r.mrr));
    expect_error(kgm_metric_topk_user(TK_S, 8, TK_X, TK_REL, 3, 0, 0, &r), KGM_ERR_ARG);
    float nan_s[8];
    memcpy(nan_s, TK_S, sizeof nan_s);
    nan_s[4] = NAN; /* excluded: ignored */
    cr_assert_eq(kgm_metric_topk_user(nan_s, 8, TK_X, TK_REL, 3, 3, 0, &r), KGM_OK);
    nan_s[1] = NAN;
    expect_error(kgm_metric_topk_user(nan_s, 8, TK_X, TK_REL, 3, 3, 0, &r), KGM_ERR_NUMERIC);
}

/* Reference order for the brute-force check: score desc, index asc. */
static const float *ref_scores;
static int ref_cmp(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    if (ref_scores[a] != ref_scores[b]) return ref_scores[a] > ref_scores[b] ? -1 : 1;
    return (a > b) - (a < b);
}

Test(metrics_topk, select_matches_full_sort_on_many_items) {
    enum { N = 100000, K = 50 };
    float *s = malloc(N * sizeof *s);
    uint8_t *x = malloc(N);
    int32_t *all = malloc(N * sizeof *all), top[K], n, m = 0;
    kgm_rng r;
    kgm_rng_init(&r, 11, 0);
    for (int32_t i = 0; i < N; i++) {
        s[i] = (float)kgm_rng_below(&r, 300); /* ~333 items per value: heavy ties */
        x[i] = kgm_rng_uniform(&r) < 0.2;
        if (!x[i]) all[m++] = i;
    }
    ref_scores = s;
    qsort(all, (size_t)m, sizeof *all, ref_cmp);
    cr_assert_eq(kgm_metric_topk_select(s, N, x, K, top, &n), KGM_OK);
    cr_assert_eq(n, K);
    for (int i = 0; i < K; i++) cr_assert_eq(top[i], all[i], "position %d: %d vs %d", i, top[i], all[i]);
    free(s);
    free(x);
    free(all);
}

Test(metrics_topk, accumulator_skips_and_merges) {
    /* user A = user_k3 above; user B has no relevant item (skipped); user C:
     * scores 0.4 > 0.3 > 0.2 > 0.1, relevant {0}: recall 1, precision 1/3, hit
     * 1, NDCG 1, MRR 1. Means over A and C. */
    const float sc[] = {0.4f, 0.3f, 0.2f, 0.1f};
    const int32_t rc[] = {0};
    kgm_topk_acc a, b;
    cr_assert_eq(kgm_metric_topk_acc_init(&a, 3, 0), KGM_OK);
    cr_assert_eq(kgm_metric_topk_acc_init(&b, 3, 0), KGM_OK);
    cr_assert_eq(kgm_metric_topk_acc_add(&a, TK_S, 8, TK_X, TK_REL, 3), KGM_OK);
    cr_assert_eq(kgm_metric_topk_acc_add(&b, sc, 4, NULL, NULL, 0), KGM_OK);
    cr_assert_eq(kgm_metric_topk_acc_add(&b, sc, 4, NULL, rc, 1), KGM_OK);
    /* a failing user leaves the sums untouched */
    const int32_t bad[] = {9};
    expect_error(kgm_metric_topk_acc_add(&b, sc, 4, NULL, bad, 1), KGM_ERR_INDEX);
    cr_assert_eq(kgm_metric_topk_acc_merge(&a, &b), KGM_OK);
    cr_assert_eq(a.n_users, 2);
    cr_assert_eq(a.n_skipped, 1);
    kgm_topk_result m;
    cr_assert_eq(kgm_metric_topk_acc_mean(&a, &m), KGM_OK);
    cr_assert_float_eq(m.recall, 2.0 / 3.0, TOL);
    cr_assert_float_eq(m.precision, 1.0 / 3.0, TOL);
    cr_assert_float_eq(m.hit, 1.0, TOL);
    cr_assert_float_eq(m.ndcg, 0.6173196815056892, TOL);
    cr_assert_float_eq(m.mrr, 2.0 / 3.0, TOL);

    kgm_topk_acc other, empty;
    cr_assert_eq(kgm_metric_topk_acc_init(&other, 5, 0), KGM_OK);
    expect_error(kgm_metric_topk_acc_merge(&a, &other), KGM_ERR_ARG);
    cr_assert_eq(kgm_metric_topk_acc_init(&empty, 3, 0), KGM_OK);
    expect_error(kgm_metric_topk_acc_mean(&empty, &m), KGM_ERR_ARG);
    cr_assert(isnan(m.ndcg));
}

/* ----------------------------------------------------- KG link prediction */

Test(metrics_linkpred, filtered_rank_with_ties) {
    /* true entity 2 (0.7). Better: 1 (0.9), 6 (0.95); tied: 3, 5.
     * raw rank = 1 + 2 + 2/2 = 4. Filtering {6, 3} (6 twice, 2 itself listed
     * and ignored) leaves better {1}, tied {5}: optimistic 2, pessimistic 3,
     * rank 2.5. */
    const float s[] = {0.5f, 0.9f, 0.7f, 0.7f, 0.2f, 0.7f, 0.95f, 0.1f};
    const int32_t f[] = {6, 3, 2, 6};
    double rank;
    cr_assert_eq(kgm_metric_filtered_rank(s, 8, 2, NULL, 0, &rank), KGM_OK);
    cr_assert_float_eq(rank, 4.0, TOL);
    cr_assert_eq(kgm_metric_filtered_rank(s, 8, 2, f, 4, &rank), KGM_OK);
    cr_assert_float_eq(rank, 2.5, TOL);
    /* A constant scorer gets the middle rank, not rank 1. */
    const float c[] = {1, 1, 1, 1, 1};
    cr_assert_eq(kgm_metric_filtered_rank(c, 5, 0, NULL, 0, &rank), KGM_OK);
    cr_assert_float_eq(rank, 3.0, TOL);
    const int32_t bad[] = {8};
    expect_error(kgm_metric_filtered_rank(s, 8, 2, bad, 1, &rank), KGM_ERR_INDEX);
    expect_error(kgm_metric_filtered_rank(s, 8, 8, NULL, 0, &rank), KGM_ERR_INDEX);
}

Test(metrics_linkpred, accumulator) {
    /* ranks 1, 2.5, 4, 12: MRR = (1 + 0.4 + 0.25 + 1/12)/4 = 0.433333,
     * MR = 19.5/4, hits@1 1/4, hits@3 2/4 (2.5 counts), hits@10 3/4. */
    kgm_linkpred_acc a, b;
    kgm_metric_linkpred_acc_init(&a);
    kgm_metric_linkpred_acc_init(&b);
    cr_assert_eq(kgm_metric_linkpred_acc_add(&a, 1.0), KGM_OK);
    cr_assert_eq(kgm_metric_linkpred_acc_add(&a, 2.5), KGM_OK);
    cr_assert_eq(kgm_metric_linkpred_acc_add(&b, 4.0), KGM_OK);
    cr_assert_eq(kgm_metric_linkpred_acc_add(&b, 12.0), KGM_OK);
    expect_error(kgm_metric_linkpred_acc_add(&b, 0.5), KGM_ERR_ARG);
    expect_error(kgm_metric_linkpred_acc_add(&b, NAN), KGM_ERR_ARG);
    kgm_metric_linkpred_acc_merge(&a, &b);
    kgm_linkpred_result m;
    cr_assert_eq(kgm_metric_linkpred_acc_mean(&a, &m), KGM_OK);
    cr_assert_float_eq(m.mrr, (1.0 + 0.4 + 0.25 + 1.0 / 12.0) / 4.0, TOL);
    cr_assert_float_eq(m.mr, 4.875, TOL);
    cr_assert_float_eq(m.hits1, 0.25, TOL);
    cr_assert_float_eq(m.hits3, 0.5, TOL);
    cr_assert_float_eq(m.hits10, 0.75, TOL);
    /* tied at the top: rank 1.5 is not a hit@1 */
    kgm_metric_linkpred_acc_init(&a);
    cr_assert_eq(kgm_metric_linkpred_acc_add(&a, 1.5), KGM_OK);
    cr_assert_eq(kgm_metric_linkpred_acc_mean(&a, &m), KGM_OK);
    cr_assert_float_eq(m.hits1, 0.0, TOL);
    kgm_metric_linkpred_acc_init(&b);
    expect_error(kgm_metric_linkpred_acc_mean(&b, &m), KGM_ERR_ARG);
}
