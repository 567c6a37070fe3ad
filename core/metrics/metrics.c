/* Evaluation metrics: binary, regression, multi-class, multi-label, top-K
 * ranking and KG link prediction. See core/metrics/metrics.h for the definitions. */
#include "core/metrics/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static kgm_status check_rows(const char *fn, const void *a, const void *b, int64_t n) {
    if (n < 0) return KGM_ERR(KGM_ERR_ARG, "%s: negative row count %lld", fn, (long long)n);
    if (n == 0) return KGM_ERR(KGM_ERR_ARG, "%s: empty input (n = 0)", fn);
    if (!a || !b) return KGM_ERR(KGM_ERR_ARG, "%s: NULL input array", fn);
    return KGM_OK;
}

static kgm_status check_label01(const char *fn, const float *labels, int64_t i) {
    float y = labels[i];
    if (y != 0.0f && y != 1.0f)
        return KGM_ERR(KGM_ERR_ARG, "%s: label[%lld] = %g, expected 0 or 1", fn, (long long)i, (double)y);
    return KGM_OK;
}

static kgm_status check_score(const char *fn, const float *scores, int64_t i) {
    if (isnan(scores[i])) return KGM_ERR(KGM_ERR_NUMERIC, "%s: score[%lld] is NaN", fn, (long long)i);
    return KGM_OK;
}

static kgm_status check_class(const char *fn, const char *what, const int32_t *ids, int64_t i,
                              int32_t n_classes) {
    if (ids[i] < 0 || ids[i] >= n_classes)
        return KGM_ERR(KGM_ERR_INDEX, "%s: %s[%lld] = %d outside [0, %d)", fn, what, (long long)i, ids[i],
                       n_classes);
    return KGM_OK;
}

/* F1 from counts; 0/0 (no positive anywhere) is NaN, the caller decides. */
static double f1_counts(int64_t tp, int64_t fp, int64_t fn) {
    int64_t den = 2 * tp + fp + fn;
    return den > 0 ? 2.0 * (double)tp / (double)den : NAN;
}

/* ------------------------------------------------------------------ AUC */

typedef struct auc_row {
    int32_t group;
    float score;
    uint8_t pos;
} auc_row;

/* Order by group, then score ascending. */
static int auc_row_cmp(const void *pa, const void *pb) {
    const auc_row *a = pa, *b = pb;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->score != b->score) return a->score < b->score ? -1 : 1;
    return 0;
}

/* AUC of rows sorted by score ascending: for each block of tied scores every
 * positive beats the negatives below the block and half-beats the negatives
 * inside it, which is the midrank Mann-Whitney U. NaN if one class is empty. */
static double auc_sorted(const auc_row *r, int64_t n, int64_t *npos_out) {
    double u = 0.0;
    int64_t neg_below = 0, npos = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i, pos = 0;
        while (j < n && r[j].score == r[i].score) pos += r[j++].pos;
        int64_t neg = (j - i) - pos;
        u += (double)pos * ((double)neg_below + 0.5 * (double)neg);
        neg_below += neg;
        npos += pos;
        i = j;
    }
    if (npos_out) *npos_out = npos;
    if (npos == 0 || neg_below == 0) return NAN;
    return u / ((double)npos * (double)neg_below);
}

/* Validated copy of (group, score, label) rows sorted by (group, score). */
static kgm_status auc_rows(const char *fn, const float *scores, const float *labels, const int32_t *groups,
                           int64_t n, auc_row **out) {
    KGM_TRY(check_rows(fn, scores, labels, n));
    auc_row *r = malloc((size_t)n * sizeof *r);
    if (!r) return KGM_ERR(KGM_ERR_NOMEM, "%s: %lld rows", fn, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        kgm_status st = check_score(fn, scores, i);
        if (st == KGM_OK) st = check_label01(fn, labels, i);
        if (st != KGM_OK) {
            free(r);
            return st;
        }
        r[i] = (auc_row){groups ? groups[i] : 0, scores[i], labels[i] == 1.0f};
    }
    qsort(r, (size_t)n, sizeof *r, auc_row_cmp);
    *out = r;
    return KGM_OK;
}

kgm_status kgm_metric_auc(const float *scores, const float *labels, int64_t n, double *auc_out) {
    *auc_out = NAN;
    auc_row *r;
    KGM_TRY(auc_rows("auc", scores, labels, NULL, n, &r));
    int64_t npos;
    double auc = auc_sorted(r, n, &npos);
    free(r);
    *auc_out = auc;
    if (isnan(auc))
        return KGM_ERR(KGM_ERR_ARG, "auc: undefined, all %lld labels are %s", (long long)n,
                       npos ? "positive" : "negative");
    return KGM_OK;
}

kgm_status kgm_metric_gauc(const float *scores, const float *labels, const int32_t *groups, int64_t n,
                           double *gauc_out, int64_t *n_used_out, int64_t *n_skipped_out) {
    *gauc_out = NAN;
    if (!groups) return KGM_ERR(KGM_ERR_ARG, "gauc: NULL group array");
    auc_row *r;
    KGM_TRY(auc_rows("gauc", scores, labels, groups, n, &r));
    double wsum = 0.0, sum = 0.0;
    int64_t used = 0, skipped = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && r[j].group == r[i].group) j++;
        double auc = auc_sorted(r + i, j - i, NULL);
        if (isnan(auc)) {
            skipped++;
        } else {
            sum += (double)(j - i) * auc;
            wsum += (double)(j - i);
            used++;
        }
        i = j;
    }
    free(r);
    if (n_used_out) *n_used_out = used;
    if (n_skipped_out) *n_skipped_out = skipped;
    if (used == 0)
        return KGM_ERR(KGM_ERR_ARG, "gauc: undefined, none of the %lld groups has both classes",
                       (long long)skipped);
    *gauc_out = sum / wsum;
    return KGM_OK;
}

/* ------------------------------------------------------- binary, counting */

kgm_status kgm_metric_logloss(const float *probs, const float *labels, int64_t n, double eps,
                              double *logloss_out) {
    *logloss_out = NAN;
    KGM_TRY(check_rows("logloss", probs, labels, n));
    if (!(eps > 0.0 && eps < 0.5)) return KGM_ERR(KGM_ERR_ARG, "logloss: eps = %g must lie in (0, 0.5)", eps);
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double p = probs[i], y = labels[i];
        if (!(p >= 0.0 && p <= 1.0))
            return KGM_ERR(isnan(p) ? KGM_ERR_NUMERIC : KGM_ERR_ARG,
                           "logloss: probability[%lld] = %g outside [0, 1] (logits passed?)",
                           (long long)i, p);
        if (!(y >= 0.0 && y <= 1.0))
            return KGM_ERR(KGM_ERR_ARG, "logloss: label[%lld] = %g outside [0, 1]", (long long)i, y);
        p = p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
        sum -= y * log(p) + (1.0 - y) * log1p(-p);
    }
    *logloss_out = sum / (double)n;
    return KGM_OK;
}

/* Confusion counts of thresholded binary predictions. */
static kgm_status binary_counts(const char *fn, const float *scores, const float *labels, int64_t n,
                                float threshold, kgm_prf *c) {
    KGM_TRY(check_rows(fn, scores, labels, n));
    if (isnan(threshold)) return KGM_ERR(KGM_ERR_ARG, "%s: threshold is NaN", fn);
    memset(c, 0, sizeof *c);
    for (int64_t i = 0; i < n; i++) {
        KGM_TRY(check_score(fn, scores, i));
        KGM_TRY(check_label01(fn, labels, i));
        bool p = scores[i] >= threshold, y = labels[i] == 1.0f;
        if (p) {
            if (y) c->tp++;
            else c->fp++;
        } else {
            if (y) c->fn++;
            else c->tn++;
        }
    }
    return KGM_OK;
}

kgm_status kgm_metric_binary_accuracy(const float *scores, const float *labels, int64_t n,
                                      float threshold, double *accuracy_out) {
    *accuracy_out = NAN;
    kgm_prf c;
    KGM_TRY(binary_counts("binary_accuracy", scores, labels, n, threshold, &c));
    *accuracy_out = (double)(c.tp + c.tn) / (double)n;
    return KGM_OK;
}

kgm_status kgm_metric_binary_prf(const float *scores, const float *labels, int64_t n, float threshold,
                                 kgm_prf *out) {
    kgm_status st = binary_counts("binary_prf", scores, labels, n, threshold, out);
    if (st != KGM_OK) {
        memset(out, 0, sizeof *out);
        out->precision = out->recall = out->f1 = NAN;
        return st;
    }
    out->f1 = f1_counts(out->tp, out->fp, out->fn);
    if (isnan(out->f1)) {
        out->precision = out->recall = NAN;
        return KGM_ERR(KGM_ERR_ARG, "binary_prf: undefined, no positive in labels nor predictions");
    }
    out->precision = out->tp + out->fp ? (double)out->tp / (double)(out->tp + out->fp) : 0.0;
    out->recall = out->tp + out->fn ? (double)out->tp / (double)(out->tp + out->fn) : 0.0;
    return KGM_OK;
}

/* ------------------------------------------------------------ regression */

/* Mean of |pred - target|^power for power 1 or 2. */
static kgm_status mean_abs_pow(const char *fn, const float *pred, const float *target, int64_t n, int power,
                               double *out) {
    *out = NAN;
    KGM_TRY(check_rows(fn, pred, target, n));
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        KGM_TRY(check_score(fn, pred, i));
        if (isnan(target[i])) return KGM_ERR(KGM_ERR_ARG, "%s: target[%lld] is NaN", fn, (long long)i);
        double d = fabs((double)pred[i] - (double)target[i]);
        sum += power == 2 ? d * d : d;
    }
    *out = sum / (double)n;
    return KGM_OK;
}

kgm_status kgm_metric_rmse(const float *pred, const float *target, int64_t n, double *rmse_out) {
    KGM_TRY(mean_abs_pow("rmse", pred, target, n, 2, rmse_out));
    *rmse_out = sqrt(*rmse_out);
    return KGM_OK;
}

kgm_status kgm_metric_mae(const float *pred, const float *target, int64_t n, double *mae_out) {
    return mean_abs_pow("mae", pred, target, n, 1, mae_out);
}

/* ------------------------------------------------------------ multi-class */

static kgm_status check_classes(const char *fn, const int32_t *truth, const int32_t *pred, int64_t n,
                                int32_t n_classes) {
    KGM_TRY(check_rows(fn, truth, pred, n));
    if (n_classes <= 0) return KGM_ERR(KGM_ERR_ARG, "%s: n_classes = %d must be positive", fn, n_classes);
    for (int64_t i = 0; i < n; i++) {
        KGM_TRY(check_class(fn, "truth", truth, i, n_classes));
        KGM_TRY(check_class(fn, "pred", pred, i, n_classes));
    }
    return KGM_OK;
}

kgm_status kgm_metric_confusion_matrix(const int32_t *truth, const int32_t *pred, int64_t n,
                                       int32_t n_classes, int64_t *cm) {
    KGM_TRY(check_classes("confusion_matrix", truth, pred, n, n_classes));
    if (!cm) return KGM_ERR(KGM_ERR_ARG, "confusion_matrix: NULL output");
    memset(cm, 0, (size_t)n_classes * (size_t)n_classes * sizeof *cm);
    for (int64_t i = 0; i < n; i++) cm[(int64_t)truth[i] * n_classes + pred[i]]++;
    return KGM_OK;
}

kgm_status kgm_metric_multiclass_accuracy(const int32_t *truth, const int32_t *pred, int64_t n,
                                          int32_t n_classes, double *accuracy_out) {
    *accuracy_out = NAN;
    KGM_TRY(check_classes("multiclass_accuracy", truth, pred, n, n_classes));
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += truth[i] == pred[i];
    *accuracy_out = (double)ok / (double)n;
    return KGM_OK;
}

kgm_status kgm_metric_micro_f1(const int32_t *truth, const int32_t *pred, int64_t n, int32_t n_classes,
                               double *f1_out) {
    /* tp = correct rows, fp = fn = wrong rows: 2tp / (2tp + 2wrong) = accuracy. */
    return kgm_metric_multiclass_accuracy(truth, pred, n, n_classes, f1_out);
}

/* Mean per-unit F1 over units with tp + fp + fn > 0 (absent units excluded). */
static double macro_f1_counts(const int64_t *tp, const int64_t *fp, const int64_t *fn, int32_t m,
                              int32_t *n_used) {
    double sum = 0.0;
    int32_t used = 0;
    for (int32_t c = 0; c < m; c++) {
        double f = f1_counts(tp[c], fp[c], fn[c]);
        if (isnan(f)) continue;
        sum += f;
        used++;
    }
    if (n_used) *n_used = used;
    return used ? sum / used : NAN;
}

/* tp, fp, fn arrays of m counts each in one zeroed block. */
static kgm_status alloc_counts(const char *fn, int32_t m, int64_t **block) {
    *block = calloc((size_t)m * 3, sizeof **block);
    if (!*block) return KGM_ERR(KGM_ERR_NOMEM, "%s: counts for %d classes", fn, m);
    return KGM_OK;
}

kgm_status kgm_metric_macro_f1(const int32_t *truth, const int32_t *pred, int64_t n, int32_t n_classes,
                               double *f1_out, int32_t *n_used_out) {
    *f1_out = NAN;
    if (n_used_out) *n_used_out = 0;
    KGM_TRY(check_classes("macro_f1", truth, pred, n, n_classes));
    int64_t *cnt;
    KGM_TRY(alloc_counts("macro_f1", n_classes, &cnt));
    int64_t *tp = cnt, *fp = cnt + n_classes, *fn = cnt + 2 * (int64_t)n_classes;
    for (int64_t i = 0; i < n; i++) {
        if (truth[i] == pred[i]) {
            tp[truth[i]]++;
        } else {
            fn[truth[i]]++;
            fp[pred[i]]++;
        }
    }
    *f1_out = macro_f1_counts(tp, fp, fn, n_classes, n_used_out); /* n > 0: some class is present */
    free(cnt);
    return KGM_OK;
}

/* ------------------------------------------------------------ multi-label */

kgm_status kgm_metric_multilabel_f1(const float *truth, const float *scores, int64_t n, int32_t n_labels,
                                    float threshold, double *micro_f1_out, double *macro_f1_out) {
    if (micro_f1_out) *micro_f1_out = NAN;
    if (macro_f1_out) *macro_f1_out = NAN;
    KGM_TRY(check_rows("multilabel_f1", truth, scores, n));
    if (n_labels <= 0) return KGM_ERR(KGM_ERR_ARG, "multilabel_f1: n_labels = %d must be positive", n_labels);
    if (isnan(threshold)) return KGM_ERR(KGM_ERR_ARG, "multilabel_f1: threshold is NaN");
    int64_t *cnt;
    KGM_TRY(alloc_counts("multilabel_f1", n_labels, &cnt));
    int64_t *tp = cnt, *fp = cnt + n_labels, *fn = cnt + 2 * (int64_t)n_labels;
    kgm_status st = KGM_OK;
    for (int64_t i = 0; i < n * n_labels && st == KGM_OK; i++) {
        st = check_score("multilabel_f1", scores, i);
        if (st == KGM_OK) st = check_label01("multilabel_f1", truth, i);
        int32_t l = (int32_t)(i % n_labels);
        bool p = scores[i] >= threshold, y = truth[i] == 1.0f;
        tp[l] += p && y;
        fp[l] += p && !y;
        fn[l] += !p && y;
    }
    int64_t TP = 0, FP = 0, FN = 0;
    for (int32_t l = 0; l < n_labels; l++) {
        TP += tp[l];
        FP += fp[l];
        FN += fn[l];
    }
    double macro = macro_f1_counts(tp, fp, fn, n_labels, NULL);
    free(cnt);
    if (st != KGM_OK) return st;
    if (micro_f1_out) *micro_f1_out = f1_counts(TP, FP, FN);
    if (macro_f1_out) *macro_f1_out = macro;
    if (isnan(macro))
        return KGM_ERR(KGM_ERR_ARG, "multilabel_f1: undefined, no positive label in truth nor prediction");
    return KGM_OK;
}

/* ---------------------------------------------------------- top-K ranking */

/* Ranking order: a before b when it scores higher, ties by lower index. */
static inline bool ranks_before(const float *s, int32_t a, int32_t b) {
    return s[a] > s[b] || (s[a] == s[b] && a < b);
}

/* Restore the heap property below position i in a heap whose root is the
 * item ranked LAST among the heap's items. */
static void heap_sift_down(const float *s, int32_t *h, int32_t m, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < m && ranks_before(s, h[w], h[l])) w = l;
        if (r < m && ranks_before(s, h[w], h[r])) w = r;
        if (w == i) return;
        int32_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

kgm_status kgm_metric_topk_select(const float *scores, int32_t n_items, const uint8_t *exclude,
                                  int32_t k, int32_t *items_out, int32_t *n_out) {
    *n_out = 0;
    if (!scores || !items_out || n_items < 0)
        return KGM_ERR(KGM_ERR_ARG, "topk_select: NULL array or negative item count");
    if (k <= 0) return KGM_ERR(KGM_ERR_ARG, "topk_select: k = %d must be positive", k);
    int32_t *h = items_out, m = 0;
    for (int32_t i = 0; i < n_items; i++) {
        if (exclude && exclude[i]) continue;
        KGM_TRY(check_score("topk_select", scores, i));
        if (m < k) {
            /* sift up */
            int32_t c = m++;
            h[c] = i;
            while (c > 0 && ranks_before(scores, h[(c - 1) / 2], h[c])) {
                int32_t p = (c - 1) / 2, t = h[p];
                h[p] = h[c];
                h[c] = t;
                c = p;
            }
        } else if (ranks_before(scores, i, h[0])) {
            h[0] = i;
            heap_sift_down(scores, h, m, 0);
        }
    }
    /* Heap sort: move the last-ranked item to the end repeatedly -> best first. */
    for (int32_t e = m - 1; e > 0; e--) {
        int32_t t = h[0];
        h[0] = h[e];
        h[e] = t;
        heap_sift_down(scores, h, e, 0);
    }
    *n_out = m;
    return KGM_OK;
}

static int cmp_i32(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

static void topk_set_nan(kgm_topk_result *out) {
    out->recall = out->precision = out->hit = out->ndcg = out->mrr = NAN;
}

/* Sorted copy of `relevant`, checked: distinct, in range, not excluded. */
static kgm_status topk_relevant(const int32_t *relevant, int32_t n_rel, int32_t n_items,
                                const uint8_t *exclude, int32_t *sorted) {
    for (int32_t j = 0; j < n_rel; j++) {
        int32_t it = relevant[j];
        if (it < 0 || it >= n_items)
            return KGM_ERR(KGM_ERR_INDEX, "topk: relevant item %d outside [0, %d)", it, n_items);
        if (exclude && exclude[it])
            return KGM_ERR(KGM_ERR_ARG, "topk: relevant item %d is also excluded (train/test overlap)", it);
        sorted[j] = it;
    }
    qsort(sorted, (size_t)n_rel, sizeof *sorted, cmp_i32);
    for (int32_t j = 1; j < n_rel; j++)
        if (sorted[j] == sorted[j - 1])
            return KGM_ERR(KGM_ERR_ARG, "topk: relevant item %d listed twice", sorted[j]);
    return KGM_OK;
}

kgm_status kgm_metric_topk_user(const float *scores, int32_t n_items, const uint8_t *exclude,
                                const int32_t *relevant, int32_t n_relevant, int32_t k, uint32_t flags,
                                kgm_topk_result *out) {
    topk_set_nan(out);
    if (n_relevant < 0 || (n_relevant > 0 && !relevant))
        return KGM_ERR(KGM_ERR_ARG, "topk: bad relevant list (n_relevant = %d)", n_relevant);
    if (n_relevant == 0) return KGM_ERR(KGM_ERR_ARG, "topk: undefined, the user has no relevant item");
    if (k <= 0) return KGM_ERR(KGM_ERR_ARG, "topk: k = %d must be positive", k);
    if (flags & ~(uint32_t)KGM_TOPK_NDCG_KGAT) return KGM_ERR(KGM_ERR_ARG, "topk: unknown flags 0x%x", flags);
    int32_t kk = k < n_items ? k : n_items;
    int32_t *buf = malloc(((size_t)kk + (size_t)n_relevant) * sizeof *buf);
    if (!buf) return KGM_ERR(KGM_ERR_NOMEM, "topk: work space for k = %d", k);
    int32_t *top = buf, *rel = buf + kk, n_top = 0;
    kgm_status st = topk_relevant(relevant, n_relevant, n_items, exclude, rel);
    if (st == KGM_OK && kk > 0) st = kgm_metric_topk_select(scores, n_items, exclude, kk, top, &n_top);
    if (st != KGM_OK) {
        free(buf);
        return st;
    }
    double dcg = 0.0;
    int32_t hits = 0;
    for (int32_t i = 0; i < n_top; i++) {
        if (bsearch(&top[i], rel, (size_t)n_relevant, sizeof *rel, cmp_i32)) {
            hits++;
            dcg += 1.0 / log2((double)i + 2.0);
        }
    }
    /* Full-ranking rank of the best relevant item: 1 + candidates ranked before it. */
    int32_t best = rel[0];
    for (int32_t j = 1; j < n_relevant; j++)
        if (ranks_before(scores, rel[j], best)) best = rel[j];
    int64_t before = 0;
    for (int32_t i = 0; i < n_items; i++)
        before += (!exclude || !exclude[i]) && ranks_before(scores, i, best);
    free(buf);

    int32_t n_ideal = (flags & KGM_TOPK_NDCG_KGAT) ? hits : (k < n_relevant ? k : n_relevant);
    double idcg = 0.0;
    for (int32_t i = 0; i < n_ideal; i++) idcg += 1.0 / log2((double)i + 2.0);
    out->recall = (double)hits / (double)n_relevant;
    out->precision = (double)hits / (double)k;
    out->hit = hits > 0 ? 1.0 : 0.0;
    out->ndcg = idcg > 0.0 ? dcg / idcg : 0.0;
    out->mrr = 1.0 / (double)(before + 1);
    return KGM_OK;
}

kgm_status kgm_metric_topk_sampled(float pos, const float *neg, int32_t n_neg, int32_t k, kgm_topk_result *out) {
    topk_set_nan(out);
    if (k <= 0) return KGM_ERR(KGM_ERR_ARG, "topk_sampled: k = %d must be positive", k);
    if (n_neg < 0 || (n_neg > 0 && !neg)) return KGM_ERR(KGM_ERR_ARG, "topk_sampled: bad negatives (n_neg = %d)", n_neg);
    int64_t rank = 1;
    for (int32_t j = 0; j < n_neg; j++) rank += !(neg[j] < pos); /* ties and NaN rank the positive lower */
    bool hit = rank <= k;
    out->hit = out->recall = hit ? 1.0 : 0.0;
    out->precision = out->hit / (double)k;
    out->ndcg = hit ? 1.0 / log2((double)rank + 1.0) : 0.0;
    out->mrr = 1.0 / (double)rank;
    return KGM_OK;
}

kgm_status kgm_metric_topk_acc_init(kgm_topk_acc *acc, int32_t k, uint32_t flags) {
    memset(acc, 0, sizeof *acc);
    if (k <= 0) return KGM_ERR(KGM_ERR_ARG, "topk_acc: k = %d must be positive", k);
    if (flags & ~(uint32_t)KGM_TOPK_NDCG_KGAT)
        return KGM_ERR(KGM_ERR_ARG, "topk_acc: unknown flags 0x%x", flags);
    acc->k = k;
    acc->flags = flags;
    return KGM_OK;
}

static void topk_sum_into(kgm_topk_result *s, const kgm_topk_result *r) {
    s->recall += r->recall;
    s->precision += r->precision;
    s->hit += r->hit;
    s->ndcg += r->ndcg;
    s->mrr += r->mrr;
}

kgm_status kgm_metric_topk_acc_add(kgm_topk_acc *acc, const float *scores, int32_t n_items,
                                   const uint8_t *exclude, const int32_t *relevant, int32_t n_relevant) {
    if (acc->k <= 0) return KGM_ERR(KGM_ERR_STATE, "topk_acc: accumulator not initialised");
    if (n_relevant == 0) {
        acc->n_skipped++;
        return KGM_OK;
    }
    kgm_topk_result r;
    KGM_TRY(kgm_metric_topk_user(scores, n_items, exclude, relevant, n_relevant, acc->k, acc->flags, &r));
    topk_sum_into(&acc->sum, &r);
    acc->n_users++;
    return KGM_OK;
}

kgm_status kgm_metric_topk_acc_merge(kgm_topk_acc *into, const kgm_topk_acc *from) {
    if (into->k != from->k || into->flags != from->flags)
        return KGM_ERR(KGM_ERR_ARG, "topk_acc_merge: k/flags differ (%d/0x%x vs %d/0x%x)", into->k,
                       into->flags, from->k, from->flags);
    topk_sum_into(&into->sum, &from->sum);
    into->n_users += from->n_users;
    into->n_skipped += from->n_skipped;
    return KGM_OK;
}

kgm_status kgm_metric_topk_acc_mean(const kgm_topk_acc *acc, kgm_topk_result *out) {
    topk_set_nan(out);
    if (acc->n_users == 0)
        return KGM_ERR(KGM_ERR_ARG, "topk_acc: no user with relevant items (%lld skipped)",
                       (long long)acc->n_skipped);
    double n = (double)acc->n_users;
    out->recall = acc->sum.recall / n;
    out->precision = acc->sum.precision / n;
    out->hit = acc->sum.hit / n;
    out->ndcg = acc->sum.ndcg / n;
    out->mrr = acc->sum.mrr / n;
    return KGM_OK;
}

/* ----------------------------------------------------- KG link prediction */

kgm_status kgm_metric_filtered_rank(const float *scores, int32_t n_entities, int32_t true_idx,
                                    const int32_t *filter, int32_t n_filter, double *rank_out) {
    *rank_out = NAN;
    if (!scores || n_entities <= 0 || n_filter < 0 || (n_filter > 0 && !filter))
        return KGM_ERR(KGM_ERR_ARG, "filtered_rank: bad arguments (n_entities = %d, n_filter = %d)",
                       n_entities, n_filter);
    if (true_idx < 0 || true_idx >= n_entities)
        return KGM_ERR(KGM_ERR_INDEX, "filtered_rank: true entity %d outside [0, %d)", true_idx, n_entities);
    float t = scores[true_idx];
    int64_t better = 0, tied = 0;
    for (int32_t e = 0; e < n_entities; e++) {
        KGM_TRY(check_score("filtered_rank", scores, e));
        better += scores[e] > t;
        tied += scores[e] == t;
    }
    tied--; /* the true entity itself */
    if (n_filter > 0) {
        int32_t *f = malloc((size_t)n_filter * sizeof *f);
        if (!f) return KGM_ERR(KGM_ERR_NOMEM, "filtered_rank: %d filter entries", n_filter);
        memcpy(f, filter, (size_t)n_filter * sizeof *f);
        qsort(f, (size_t)n_filter, sizeof *f, cmp_i32);
        for (int32_t j = 0; j < n_filter; j++) {
            int32_t e = f[j];
            if (e < 0 || e >= n_entities) {
                free(f);
                return KGM_ERR(KGM_ERR_INDEX, "filtered_rank: filter entity %d outside [0, %d)", e,
                               n_entities);
            }
            if (e == true_idx || (j > 0 && e == f[j - 1])) continue;
            better -= scores[e] > t;
            tied -= scores[e] == t;
        }
        free(f);
    }
    *rank_out = 1.0 + (double)better + 0.5 * (double)tied;
    return KGM_OK;
}

void kgm_metric_linkpred_acc_init(kgm_linkpred_acc *acc) { memset(acc, 0, sizeof *acc); }

kgm_status kgm_metric_linkpred_acc_add(kgm_linkpred_acc *acc, double rank) {
    if (!(rank >= 1.0) || isinf(rank))
        return KGM_ERR(KGM_ERR_ARG, "linkpred_acc: rank %g must be finite and >= 1", rank);
    acc->sum_rr += 1.0 / rank;
    acc->sum_rank += rank;
    acc->hits1 += rank <= 1.0;
    acc->hits3 += rank <= 3.0;
    acc->hits10 += rank <= 10.0;
    acc->n++;
    return KGM_OK;
}

void kgm_metric_linkpred_acc_merge(kgm_linkpred_acc *into, const kgm_linkpred_acc *from) {
    into->sum_rr += from->sum_rr;
    into->sum_rank += from->sum_rank;
    into->hits1 += from->hits1;
    into->hits3 += from->hits3;
    into->hits10 += from->hits10;
    into->n += from->n;
}

kgm_status kgm_metric_linkpred_acc_mean(const kgm_linkpred_acc *acc, kgm_linkpred_result *out) {
    out->mrr = out->mr = out->hits1 = out->hits3 = out->hits10 = NAN;
    if (acc->n == 0) return KGM_ERR(KGM_ERR_ARG, "linkpred_acc: no query added");
    double n = (double)acc->n;
    out->mrr = acc->sum_rr / n;
    out->mr = acc->sum_rank / n;
    out->hits1 = (double)acc->hits1 / n;
    out->hits3 = (double)acc->hits3 / n;
    out->hits10 = (double)acc->hits10 / n;
    return KGM_OK;
}
