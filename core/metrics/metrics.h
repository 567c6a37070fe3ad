/* core/metrics/metrics.h — evaluation metrics for task plugins and the trainer.
 *
 * Every function is pure: it reads its inputs, writes its out-params (last)
 * and keeps no state between calls; accumulators are plain structs owned by
 * the caller (one per thread, combined with the *_merge functions). Sums are
 * accumulated in double.
 *
 * Rules shared by the whole module:
 * - Empty input (n == 0) is KGM_ERR_ARG: a mean over nothing is not a number.
 * - Undefined metric: when a metric has no value for a non-empty input (AUC
 *   with one class only, F1 with no positive in truth nor prediction, top-K
 *   metrics of a user without relevant items) the function stores NaN in the
 *   affected outputs and returns KGM_ERR_ARG with a message saying why, so a
 *   caller that ignores the status writes NaN, never a plausible number.
 *   Accumulators skip such units and count them instead.
 * - A NaN score or prediction is KGM_ERR_NUMERIC (the model diverged);
 *   +-Inf scores are accepted wherever only their order matters.
 * - Binary labels are floats equal to 0 or 1 (anything else is KGM_ERR_ARG,
 *   which catches ratings passed by mistake); class ids are int32 in
 *   [0, n_classes) (else KGM_ERR_INDEX).
 * - "Score >= threshold" is a positive prediction. */
#ifndef KGMTL_METRICS_H
#define KGMTL_METRICS_H

#include "core/base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- binary */

/* Counts and rates for the positive class of a thresholded binary problem. */
typedef struct kgm_prf {
    double precision;
    double recall;
    double f1;
    int64_t tp, fp, fn, tn;
} kgm_prf;

/* Area under the ROC curve of `scores` (n) against 0/1 `labels` (n): the
 * probability that a random positive scores above a random negative, ties
 * counting one half. Computed in O(n log n) by sorting and giving tied scores
 * their midrank, so the result equals the Mann-Whitney U of the positives
 * divided by n_pos * n_neg exactly (no trapezoid approximation). When one class
 * is empty AUC is undefined: *auc_out = NaN and KGM_ERR_ARG is returned. */
kgm_status kgm_metric_auc(const float *scores, const float *labels, int64_t n, double *auc_out);

/* Group AUC (GAUC, as in CTR papers): rows are grouped by `groups` (n, any
 * int32 id, typically the user; rows of a group need not be adjacent), the
 * AUC of each group is computed as in kgm_metric_auc (midranks for ties) and
 * averaged with each group weighted by its number of rows (impressions).
 * Groups whose rows are all of one class have no AUC: they are skipped and
 * counted in *n_skipped_out; *n_used_out receives the number of groups
 * averaged (both out-params may be NULL). O(n log n). If no group has both
 * classes, *gauc_out = NaN and KGM_ERR_ARG is returned (the counts are still
 * written). */
kgm_status kgm_metric_gauc(const float *scores, const float *labels, const int32_t *groups, int64_t n,
                           double *gauc_out, int64_t *n_used_out, int64_t *n_skipped_out);

/* Mean binary cross-entropy -[y log p + (1 - y) log(1 - p)] of probabilities
 * `probs` (n) against `labels` (n), natural log. Each probability is first
 * clipped to [eps, 1 - eps] so that a confident mistake costs -log(eps) rather
 * than infinity; eps must lie in (0, 0.5) (1e-15 as in scikit-learn, or 1e-7
 * for float32 outputs). Unlike the other binary metrics, labels may be soft
 * (any value in [0, 1]); probabilities outside [0, 1] (logits passed by
 * mistake) are KGM_ERR_ARG. */
kgm_status kgm_metric_logloss(const float *probs, const float *labels, int64_t n, double eps,
                              double *logloss_out);

/* Fraction of rows whose thresholded prediction (score >= threshold means 1)
 * equals the 0/1 label. */
kgm_status kgm_metric_binary_accuracy(const float *scores, const float *labels, int64_t n,
                                      float threshold, double *accuracy_out);

/* Precision, recall and F1 of the positive class with predictions
 * score >= threshold, plus the four confusion counts. F1 is
 * 2tp / (2tp + fp + fn), which equals the harmonic mean of precision and
 * recall whenever both are defined. A precision or recall whose own
 * denominator is 0 is reported as 0 (scikit-learn's zero_division=0) as long
 * as F1 is defined; when there is no positive in truth nor prediction
 * (tp + fp + fn == 0) all three rates are NaN and KGM_ERR_ARG is returned. */
kgm_status kgm_metric_binary_prf(const float *scores, const float *labels, int64_t n, float threshold,
                                 kgm_prf *out);

/* ------------------------------------------------------------ regression */

/* Root mean squared error sqrt(mean((pred - target)^2)) over n rows. */
kgm_status kgm_metric_rmse(const float *pred, const float *target, int64_t n, double *rmse_out);

/* Mean absolute error mean(|pred - target|) over n rows. */
kgm_status kgm_metric_mae(const float *pred, const float *target, int64_t n, double *mae_out);

/* ------------------------------------------------------------ multi-class */

/* Confusion matrix of int class ids: cm (n_classes, n_classes) row-major,
 * cm[t * n_classes + p] = number of rows with truth t predicted as p. The
 * caller provides the n_classes^2 buffer; it is overwritten (zeroed first). */
kgm_status kgm_metric_confusion_matrix(const int32_t *truth, const int32_t *pred, int64_t n,
                                       int32_t n_classes, int64_t *cm /* (C, C) */);

/* Fraction of rows with pred == truth (ids validated against n_classes). */
kgm_status kgm_metric_multiclass_accuracy(const int32_t *truth, const int32_t *pred, int64_t n,
                                          int32_t n_classes, double *accuracy_out);

/* Macro-F1: the unweighted mean over classes of F1_c = 2tp_c / (2tp_c + fp_c
 * + fn_c). A class absent from both truth and prediction (tp + fp + fn == 0)
 * has no F1 and is EXCLUDED from the mean rather than counted as 0 or 1, so
 * declaring unused class ids does not change the score; a class present only
 * in truth or only in prediction counts with F1 = 0. *n_used_out (may be
 * NULL) receives the number of classes averaged. Uses O(n_classes) memory, not
 * a confusion matrix. */
kgm_status kgm_metric_macro_f1(const int32_t *truth, const int32_t *pred, int64_t n, int32_t n_classes,
                               double *f1_out, int32_t *n_used_out);

/* Micro-F1: F1 of the counts pooled over classes. With one label per row every
 * error is one false positive and one false negative, so micro-F1 equals
 * accuracy; it is provided so that reports can name the metric they mean. */
kgm_status kgm_metric_micro_f1(const int32_t *truth, const int32_t *pred, int64_t n, int32_t n_classes,
                               double *f1_out);

/* ------------------------------------------------------------ multi-label */

/* Micro- and macro-F1 of an (n, L) multi-label problem: `truth` holds 0/1
 * floats, `scores` is thresholded (score >= threshold means the label is
 * predicted). Micro-F1 pools tp/fp/fn over all n*L cells; macro-F1 averages the
 * per-label F1 over labels, excluding labels absent from both truth and
 * prediction (as kgm_metric_macro_f1). Either out-param may be NULL. When no
 * cell is positive in truth or prediction both are NaN and KGM_ERR_ARG is
 * returned. */
kgm_status kgm_metric_multilabel_f1(const float *truth /* (n, L) */, const float *scores /* (n, L) */,
                                    int64_t n, int32_t n_labels, float threshold, double *micro_f1_out,
                                    double *macro_f1_out);

/* ---------------------------------------------------------- top-K ranking */

/* Flags for the top-K functions. */
#define KGM_TOPK_NDCG_KGAT (1u << 0) /* KGAT's official NDCG (inflated), see below */

/* Per-user (or averaged) top-K values. */
typedef struct kgm_topk_result {
    double recall;
    double precision;
    double hit;
    double ndcg;
    double mrr;
} kgm_topk_result;

/* The k best candidates of `scores` (n_items), best first, into `items_out`
 * (room for k) and their count into *n_out (min(k, candidates)). Candidates are
 * items whose `exclude` byte is 0 (exclude may be NULL: all items). Order:
 * higher score first, equal scores by item index ascending, so the result is
 * deterministic. Uses a bounded heap (partial selection), O(n_items log k),
 * not a full sort. */
kgm_status kgm_metric_topk_select(const float *scores, int32_t n_items, const uint8_t *exclude,
                                  int32_t k, int32_t *items_out, int32_t *n_out);

/* Top-K metrics of one user ranked over all candidate items (see
 * kgm_metric_topk_select for candidates and tie-breaking). `relevant` lists the
 * user's test items (distinct, in range, not excluded: anything else is an
 * error, since it would silently bias every metric). With hits = relevant items
 * among the top k: recall = hits / |relevant|; precision = hits / k (k even if
 * fewer candidates exist); hit = hits > 0; NDCG = DCG / IDCG with
 * DCG = sum over hit positions i (1-based) of 1 / log2(i + 1) and IDCG the same
 * sum over i = 1..min(k, |relevant|) — the standard definition. With
 * KGM_TOPK_NDCG_KGAT in `flags`, IDCG is instead summed over i = 1..hits (the
 * official KGAT code's ideal ordering of the retrieved list), which inflates
 * NDCG; use it only to compare with KGAT-lineage papers (BASELINES.md §4).
 * MRR is 1 / rank of the best-ranked relevant item in the FULL ranking (not
 * truncated at k). An empty `relevant` sets every output to NaN and returns
 * KGM_ERR_ARG. Time O(n_items log k + |relevant| log |relevant|). */
kgm_status kgm_metric_topk_user(const float *scores, int32_t n_items, const uint8_t *exclude,
                                const int32_t *relevant, int32_t n_relevant, int32_t k, uint32_t flags,
                                kgm_topk_result *out);

/* Top-K metrics of ONE positive ranked against its own sampled negatives (the
 * sampled protocol, RecBole's "uni100"): the candidates are the positive and
 * the n_neg negatives' scores. Ties are pessimistic: the positive ranks below
 * every negative with an equal (or NaN) score, so a constant scorer gets the
 * worst rank, never a lucky one: rank = 1 + #{j : !(neg[j] < pos)}. With one
 * relevant candidate: hit = recall = (rank <= k); precision = hit / k;
 * NDCG = 1 / log2(rank + 1) when rank <= k, else 0 (IDCG = 1); MRR = 1 / rank.
 * n_neg = 0 is allowed (rank 1). k <= 0 or n_neg < 0 is KGM_ERR_ARG. */
kgm_status kgm_metric_topk_sampled(float pos, const float *neg, int32_t n_neg, int32_t k, kgm_topk_result *out);

/* Running sums of per-user top-K metrics for one (k, flags) setting. */
typedef struct kgm_topk_acc {
    int32_t k;
    uint32_t flags;
    kgm_topk_result sum;
    int64_t n_users;   /* users averaged */
    int64_t n_skipped; /* users without relevant items */
} kgm_topk_acc;

/* Reset an accumulator for cut-off k (>= 1) and KGM_TOPK_* flags. */
kgm_status kgm_metric_topk_acc_init(kgm_topk_acc *acc, int32_t k, uint32_t flags);

/* Evaluate one user as kgm_metric_topk_user and add the values to the sums;
 * a user with n_relevant == 0 is skipped and counted in n_skipped (not an
 * error). Other errors leave the accumulator unchanged. */
kgm_status kgm_metric_topk_acc_add(kgm_topk_acc *acc, const float *scores, int32_t n_items,
                                   const uint8_t *exclude, const int32_t *relevant, int32_t n_relevant);

/* Add the sums and counts of `from` into `into` (per-thread accumulators);
 * both must have the same k and flags. */
kgm_status kgm_metric_topk_acc_merge(kgm_topk_acc *into, const kgm_topk_acc *from);

/* Mean of each metric over the users added. With no user the means are NaN and
 * KGM_ERR_ARG is returned. */
kgm_status kgm_metric_topk_acc_mean(const kgm_topk_acc *acc, kgm_topk_result *out);

/* ----------------------------------------------------- KG link prediction */

/* Filtered rank of the true entity `true_idx` among `scores` (n_entities,
 * higher is better). Entities listed in `filter` (other known true answers for
 * the same query, n_filter, duplicates allowed) are removed from the
 * competition; if true_idx itself is listed it is ignored there, so the full
 * list of known answers can be passed. Ties are resolved as the mean of the
 * optimistic rank (1 + #better) and the pessimistic rank (1 + #better +
 * #tied): rank = 1 + #better + #tied / 2, the expected rank under random
 * tie-breaking (PyKEEN's "realistic" rank). This keeps a model that scores
 * everything equally from looking perfect. O(n_entities + n_filter log
 * n_filter). */
kgm_status kgm_metric_filtered_rank(const float *scores, int32_t n_entities, int32_t true_idx,
                                    const int32_t *filter, int32_t n_filter, double *rank_out);

/* Link-prediction summary. */
typedef struct kgm_linkpred_result {
    double mrr;     /* mean of 1 / rank */
    double mr;      /* mean rank */
    double hits1, hits3, hits10; /* fraction of queries with rank <= 1 / 3 / 10 */
} kgm_linkpred_result;

/* Running sums over queries. */
typedef struct kgm_linkpred_acc {
    double sum_rr, sum_rank;
    int64_t hits1, hits3, hits10;
    int64_t n;
} kgm_linkpred_acc;

/* Reset an accumulator. */
void kgm_metric_linkpred_acc_init(kgm_linkpred_acc *acc);

/* Add one query's rank (>= 1, as returned by kgm_metric_filtered_rank). Hits@k
 * counts rank <= k on that same tie-averaged rank, so a true entity tied with
 * one other at the top (rank 1.5) is not a hit@1. */
kgm_status kgm_metric_linkpred_acc_add(kgm_linkpred_acc *acc, double rank);

/* Add `from` into `into` (per-thread accumulators). */
void kgm_metric_linkpred_acc_merge(kgm_linkpred_acc *into, const kgm_linkpred_acc *from);

/* MRR, mean rank and hits@1/3/10 over the queries added; with no query the
 * values are NaN and KGM_ERR_ARG is returned. */
kgm_status kgm_metric_linkpred_acc_mean(const kgm_linkpred_acc *acc, kgm_linkpred_result *out);

#ifdef __cplusplus
}
#endif
#endif
