/* Preparation: implicit labels, dedup, k-core filter, splits, negatives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"
#include "datasets/prep.h"
#include "core/base/rng.h"

static kgm_status no_split_yet(const kgm_dataset *ds, const char *what) {
    if (ds->split.n_train || ds->split.n_valid || ds->split.n_test)
        return KGM_ERR(KGM_ERR_STATE, "%s must run before the split (it renumbers rows)", what);
    return KGM_OK;
}

/* Remove the rows with drop[i] != 0, keeping order. */
static int64_t compact(kgm_dataset *ds, const uint8_t *drop) {
    kgm_interactions *it = &ds->inter;
    int64_t w = 0;
    for (int64_t i = 0; i < it->n; i++) {
        if (drop[i]) continue;
        it->user[w] = it->user[i];
        it->item[w] = it->item[i];
        it->label[w] = it->label[i];
        if (it->ts) it->ts[w] = it->ts[i];
        w++;
    }
    int64_t removed = it->n - w;
    it->n = w;
    ds->prov.rows_filtered += removed;
    return removed;
}

kgm_status kgm_data_binarize(kgm_dataset *ds, float threshold, bool drop_below) {
    KGM_TRY(no_split_yet(ds, "binarize"));
    if (isnan(threshold)) return KGM_ERR(KGM_ERR_ARG, "binarize: expected a threshold, found NaN");
    kgm_interactions *it = &ds->inter;
    if (drop_below) {
        uint8_t *drop = malloc((size_t)(it->n ? it->n : 1));
        if (!drop) return KGM_ERR(KGM_ERR_NOMEM, "binarize");
        for (int64_t i = 0; i < it->n; i++) drop[i] = !(it->label[i] >= threshold);
        compact(ds, drop);
        free(drop);
        for (int64_t i = 0; i < it->n; i++) it->label[i] = 1.0f;
        it->kind = KGM_LABEL_IMPLICIT;
    } else {
        for (int64_t i = 0; i < it->n; i++) it->label[i] = it->label[i] >= threshold ? 1.0f : 0.0f;
        it->kind = KGM_LABEL_BINARY;
    }
    return KGM_OK;
}

kgm_status kgm_data_dedup(kgm_dataset *ds, bool drop, int64_t *out_dups) {
    if (drop) KGM_TRY(no_split_yet(ds, "dedup"));
    kgm_interactions *it = &ds->inter;
    uint8_t *dup = malloc((size_t)(it->n ? it->n : 1));
    if (!dup) return KGM_ERR(KGM_ERR_NOMEM, "dedup");
    int64_t d = kgm__find_dups(it->user, it->item, NULL, it->n, dup);
    if (d < 0) {
        free(dup);
        return KGM_ERR(KGM_ERR_NOMEM, "dedup");
    }
    if (drop && d > 0) compact(ds, dup);
    free(dup);
    if (out_dups) *out_dups = d;
    return KGM_OK;
}

kgm_status kgm_data_filter_min(kgm_dataset *ds, int32_t min_user, int32_t min_item) {
    KGM_TRY(no_split_yet(ds, "filter"));
    if (min_user <= 1 && min_item <= 1) return KGM_OK;
    kgm_interactions *it = &ds->inter;
    int32_t nu = ds->users.count, ni = ds->items.count;
    int64_t *cu = malloc((size_t)(nu + 1) * sizeof *cu), *ci = malloc((size_t)(ni + 1) * sizeof *ci);
    uint8_t *drop = malloc((size_t)(it->n ? it->n : 1));
    kgm_status st = KGM_OK;
    if (!cu || !ci || !drop) {
        st = KGM_ERR(KGM_ERR_NOMEM, "filter");
        goto done;
    }
    for (;;) { /* k-core: repeat until nothing changes */
        memset(cu, 0, (size_t)(nu + 1) * sizeof *cu);
        memset(ci, 0, (size_t)(ni + 1) * sizeof *ci);
        for (int64_t i = 0; i < it->n; i++) {
            cu[it->user[i]]++;
            ci[it->item[i]]++;
        }
        bool any = false;
        for (int64_t i = 0; i < it->n; i++) {
            drop[i] = cu[it->user[i]] < min_user || ci[it->item[i]] < min_item;
            any |= drop[i];
        }
        if (!any) break;
        compact(ds, drop);
    }
done:
    free(cu);
    free(ci);
    free(drop);
    return st;
}

/* ---- splits ------------------------------------------------------------------- */

static kgm_status split_alloc(kgm_split *s, int64_t ntr, int64_t nva, int64_t nte) {
    free(s->train);
    free(s->valid);
    free(s->test);
    memset(s, 0, sizeof *s);
    s->train = malloc((size_t)(ntr ? ntr : 1) * sizeof *s->train);
    s->valid = malloc((size_t)(nva ? nva : 1) * sizeof *s->valid);
    s->test = malloc((size_t)(nte ? nte : 1) * sizeof *s->test);
    if (!s->train || !s->valid || !s->test) return KGM_ERR(KGM_ERR_NOMEM, "split");
    return KGM_OK;
}

/* Assign rows by a 0/1/2 tag array (train/valid/test), in row order. */
static kgm_status split_from_tags(kgm_dataset *ds, const uint8_t *tag) {
    int64_t c[3] = {0, 0, 0};
    for (int64_t i = 0; i < ds->inter.n; i++) c[tag[i]]++;
    kgm_split *s = &ds->split;
    KGM_TRY(split_alloc(s, c[0], c[1], c[2]));
    for (int64_t i = 0; i < ds->inter.n; i++) {
        if (tag[i] == 0) s->train[s->n_train++] = i;
        else if (tag[i] == 1) s->valid[s->n_valid++] = i;
        else s->test[s->n_test++] = i;
    }
    return KGM_OK;
}

typedef struct {
    int64_t ts, row;
} ts_row;

static int cmp_ts_row(const void *a, const void *b) {
    const ts_row *x = a, *y = b;
    if (x->ts != y->ts) return (x->ts > y->ts) - (x->ts < y->ts);
    return (x->row > y->row) - (x->row < y->row);
}

/* Sort row ids by (timestamp, row). */
static kgm_status sort_rows_by_time(const int64_t *ts, int64_t *rows, int64_t n) {
    ts_row *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return KGM_ERR(KGM_ERR_NOMEM, "sorting by time");
    for (int64_t i = 0; i < n; i++) v[i] = (ts_row){ts[rows[i]], rows[i]};
    qsort(v, (size_t)n, sizeof *v, cmp_ts_row);
    for (int64_t i = 0; i < n; i++) rows[i] = v[i].row;
    free(v);
    return KGM_OK;
}

kgm_status kgm_data_split(kgm_dataset *ds, const kgm_prep_settings *p) {
    kgm_interactions *it = &ds->inter;
    int64_t n = it->n;
    kgm_rng rng;
    kgm_rng_init(&rng, p->seed, kgm_rng_stream_id("split", 0));
    uint8_t *tag = calloc((size_t)(n ? n : 1), 1);
    if (!tag) return KGM_ERR(KGM_ERR_NOMEM, "split");
    kgm_status st = KGM_OK;
    switch (p->split) {
    case KGM_SPLIT_NONE:
    case KGM_SPLIT_GIVEN:
        if (p->split == KGM_SPLIT_GIVEN && (ds->split.n_train || ds->split.n_test)) break; /* keep the files' */
        break;
    case KGM_SPLIT_RANDOM:
    case KGM_SPLIT_MKR: {
        double fv = p->split == KGM_SPLIT_MKR ? 0.2 : p->valid_frac, ft = p->split == KGM_SPLIT_MKR ? 0.2 : p->test_frac;
        if (!(fv >= 0 && ft >= 0 && fv + ft < 1.0)) {
            st = KGM_ERR(KGM_ERR_ARG, "split fractions valid %g + test %g must be in [0, 1)", fv, ft);
            break;
        }
        /* MKR/KGCN: eval = choice(n, floor(n*0.2)), test = choice(rest, floor(n*0.2)) */
        int64_t nv = p->split == KGM_SPLIT_MKR ? (int64_t)floor((double)n * fv) : (int64_t)llround((double)n * fv);
        int64_t nt = p->split == KGM_SPLIT_MKR ? (int64_t)floor((double)n * ft) : (int64_t)llround((double)n * ft);
        if (nv + nt > n) nt = n - nv;
        /* partial Fisher-Yates over row ids (int64) */
        int64_t *perm = malloc((size_t)(n ? n : 1) * sizeof *perm);
        if (!perm) {
            st = KGM_ERR(KGM_ERR_NOMEM, "split");
            break;
        }
        for (int64_t i = 0; i < n; i++) perm[i] = i;
        for (int64_t i = 0; i < nv + nt; i++) {
            int64_t j = i + (int64_t)kgm_rng_below(&rng, (uint64_t)(n - i));
            int64_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int64_t i = 0; i < nv; i++) tag[perm[i]] = 1;
        for (int64_t i = nv; i < nv + nt; i++) tag[perm[i]] = 2;
        free(perm);
        st = split_from_tags(ds, tag);
        break;
    }
    case KGM_SPLIT_TEMPORAL: {
        if (!it->ts) {
            st = KGM_ERR(KGM_ERR_ARG, "temporal split: expected timestamps, found none in the interactions");
            break;
        }
        if (!(p->valid_frac >= 0 && p->test_frac >= 0 && p->valid_frac + p->test_frac < 1.0)) {
            st = KGM_ERR(KGM_ERR_ARG, "split fractions must be in [0, 1)");
            break;
        }
        int64_t *ord = malloc((size_t)(n ? n : 1) * sizeof *ord);
        if (!ord) {
            st = KGM_ERR(KGM_ERR_NOMEM, "split");
            break;
        }
        for (int64_t i = 0; i < n; i++) ord[i] = i;
        st = sort_rows_by_time(it->ts, ord, n);
        if (st != KGM_OK) {
            free(ord);
            break;
        }
        int64_t nt = llround((double)n * p->test_frac), nv = llround((double)n * p->valid_frac);
        if (nv + nt > n) nt = n - nv;
        for (int64_t k = n - nt; k < n; k++) tag[ord[k]] = 2;
        for (int64_t k = n - nt - nv; k < n - nt; k++) tag[ord[k]] = 1;
        free(ord);
        st = split_from_tags(ds, tag);
        break;
    }
    case KGM_SPLIT_LOO: {
        /* group rows by user (counting sort), order each group by time (or
         * randomly), last -> test, the one before -> valid */
        int32_t nu = ds->users.count;
        int64_t *ptr = calloc((size_t)nu + 2, sizeof *ptr);
        int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof *rows);
        if (!ptr || !rows) {
            free(ptr);
            free(rows);
            st = KGM_ERR(KGM_ERR_NOMEM, "split");
            break;
        }
        for (int64_t i = 0; i < n; i++) ptr[it->user[i] + 1]++;
        for (int32_t u = 0; u < nu; u++) ptr[u + 1] += ptr[u];
        int64_t *fill = malloc((size_t)(nu + 1) * sizeof *fill);
        if (!fill) {
            free(ptr);
            free(rows);
            st = KGM_ERR(KGM_ERR_NOMEM, "split");
            break;
        }
        memcpy(fill, ptr, (size_t)(nu + 1) * sizeof *fill);
        for (int64_t i = 0; i < n; i++) rows[fill[it->user[i]]++] = i;
        free(fill);
        for (int32_t u = 0; u < nu && st == KGM_OK; u++) {
            int64_t a = ptr[u], m = ptr[u + 1] - a;
            if (m < 2) continue;
            if (it->ts) {
                st = sort_rows_by_time(it->ts, rows + a, m);
            } else {
                for (int64_t i = m - 1; i > 0; i--) {
                    int64_t j = (int64_t)kgm_rng_below(&rng, (uint64_t)i + 1);
                    int64_t t = rows[a + i];
                    rows[a + i] = rows[a + j];
                    rows[a + j] = t;
                }
            }
            tag[rows[a + m - 1]] = 2;
            if (p->loo_valid && m >= 3) tag[rows[a + m - 2]] = 1;
        }
        free(ptr);
        free(rows);
        if (st == KGM_OK) st = split_from_tags(ds, tag);
        break;
    }
    default:
        st = KGM_ERR(KGM_ERR_ARG, "unknown split kind %d", (int)p->split);
    }
    free(tag);
    return st;
}

/* ---- positives and negative sampling ------------------------------------------------ */

static bool is_positive(const kgm_interactions *it, int64_t i) {
    return it->kind == KGM_LABEL_IMPLICIT || it->label[i] > 0.0f;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

kgm_status kgm_user_items_build(const kgm_dataset *ds, const int64_t *rows, int64_t n_rows, kgm_user_items *out) {
    memset(out, 0, sizeof *out);
    const kgm_interactions *it = &ds->inter;
    int32_t nu = ds->users.count;
    int64_t m = rows ? n_rows : it->n;
    out->n_users = nu;
    out->ptr = calloc((size_t)nu + 1, sizeof *out->ptr);
    int64_t cnt = 0;
    if (!out->ptr) return KGM_ERR(KGM_ERR_NOMEM, "user items");
    for (int64_t k = 0; k < m; k++) {
        int64_t i = rows ? rows[k] : k;
        if (i < 0 || i >= it->n) {
            kgm_user_items_destroy(out);
            return KGM_ERR(KGM_ERR_INDEX, "row %lld of %lld interactions", (long long)i, (long long)it->n);
        }
        if (!is_positive(it, i)) continue;
        out->ptr[it->user[i] + 1]++;
        cnt++;
    }
    /* ptr[u+1] holds counts: prefix sums (ptr[0] = 0) */
    for (int32_t u = 0; u < nu; u++) out->ptr[u + 1] += out->ptr[u];
    out->items = malloc((size_t)(cnt ? cnt : 1) * sizeof *out->items);
    int64_t *fill = malloc((size_t)(nu + 1) * sizeof *fill);
    if (!out->items || !fill) {
        free(fill);
        kgm_user_items_destroy(out);
        return KGM_ERR(KGM_ERR_NOMEM, "user items");
    }
    memcpy(fill, out->ptr, (size_t)(nu + 1) * sizeof *fill);
    for (int64_t k = 0; k < m; k++) {
        int64_t i = rows ? rows[k] : k;
        if (!is_positive(it, i)) continue;
        out->items[fill[it->user[i]]++] = it->item[i];
    }
    free(fill);
    /* sort and unique each user's items, compacting in place */
    int64_t w = 0;
    for (int32_t u = 0; u < nu; u++) {
        int64_t a = out->ptr[u], b = out->ptr[u + 1];
        qsort(out->items + a, (size_t)(b - a), sizeof *out->items, cmp_i32);
        out->ptr[u] = w;
        for (int64_t k = a; k < b; k++)
            if (k == a || out->items[k] != out->items[k - 1]) out->items[w++] = out->items[k];
    }
    out->ptr[nu] = w;
    return KGM_OK;
}

void kgm_user_items_destroy(kgm_user_items *u) {
    free(u->ptr);
    free(u->items);
    memset(u, 0, sizeof *u);
}

bool kgm_user_items_has(const kgm_user_items *u, int32_t user, int32_t item) {
    if (user < 0 || user >= u->n_users) return false;
    int64_t lo = u->ptr[user], hi = u->ptr[user + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (u->items[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo < u->ptr[user + 1] && u->items[lo] == item;
}

kgm_status kgm_neg_sampler_init(kgm_neg_sampler *s, const kgm_dataset *ds, const kgm_user_items *pos,
                                kgm_neg_kind kind) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->n_items = ds->items.count;
    s->pos = pos;
    if (kind != KGM_NEG_POPULARITY || s->n_items == 0) return KGM_OK;
    /* Vose alias table over counts + 1 */
    int32_t n = s->n_items;
    double *w = malloc((size_t)n * sizeof *w);
    int32_t *small = malloc((size_t)n * sizeof *small), *large = malloc((size_t)n * sizeof *large);
    s->alias_prob = malloc((size_t)n * sizeof *s->alias_prob);
    s->alias_idx = malloc((size_t)n * sizeof *s->alias_idx);
    if (!w || !small || !large || !s->alias_prob || !s->alias_idx) {
        free(w);
        free(small);
        free(large);
        kgm_neg_sampler_destroy(s);
        return KGM_ERR(KGM_ERR_NOMEM, "alias table");
    }
    for (int32_t i = 0; i < n; i++) w[i] = 1.0;
    for (int64_t i = 0; i < ds->inter.n; i++) w[ds->inter.item[i]] += 1.0;
    double total = 0;
    for (int32_t i = 0; i < n; i++) total += w[i];
    int32_t ns = 0, nl = 0;
    for (int32_t i = 0; i < n; i++) {
        w[i] = w[i] * n / total;
        if (w[i] < 1.0) small[ns++] = i;
        else large[nl++] = i;
    }
    while (ns && nl) {
        int32_t a = small[--ns], b = large[--nl];
        s->alias_prob[a] = (float)w[a];
        s->alias_idx[a] = b;
        w[b] = w[b] + w[a] - 1.0;
        if (w[b] < 1.0) small[ns++] = b;
        else large[nl++] = b;
    }
    while (nl) {
        int32_t b = large[--nl];
        s->alias_prob[b] = 1.0f;
        s->alias_idx[b] = b;
    }
    while (ns) {
        int32_t a = small[--ns];
        s->alias_prob[a] = 1.0f;
        s->alias_idx[a] = a;
    }
    free(w);
    free(small);
    free(large);
    return KGM_OK;
}

void kgm_neg_sampler_destroy(kgm_neg_sampler *s) {
    free(s->alias_prob);
    free(s->alias_idx);
    memset(s, 0, sizeof *s);
}

static inline int32_t draw_item(const kgm_neg_sampler *s, kgm_rng *rng) {
    int32_t i = (int32_t)kgm_rng_below(rng, (uint64_t)s->n_items);
    if (s->kind == KGM_NEG_POPULARITY && s->alias_prob && kgm_rng_uniform(rng) >= s->alias_prob[i])
        i = s->alias_idx[i];
    return i;
}

kgm_status kgm_neg_sampler_draw(const kgm_neg_sampler *s, kgm_rng *rng, int32_t user, int32_t k, int32_t *out,
                                int32_t *out_n) {
    if (k < 0) return KGM_ERR(KGM_ERR_ARG, "negative count %d", k);
    int64_t npos = (user >= 0 && user < s->pos->n_users) ? s->pos->ptr[user + 1] - s->pos->ptr[user] : 0;
    int64_t avail = (int64_t)s->n_items - npos;
    int32_t want = (int64_t)k < avail ? k : (int32_t)(avail > 0 ? avail : 0);
    int32_t got = 0;
    /* rejection while it is cheap: positives and repeats are redrawn */
    int64_t tries = 0, max_tries = 32 * (int64_t)want + 64;
    if (avail > 2 * (int64_t)want) {
        while (got < want && tries < max_tries) {
            tries++;
            int32_t i = draw_item(s, rng);
            if (kgm_user_items_has(s->pos, user, i)) continue;
            bool rep = false;
            for (int32_t j = 0; j < got && !rep; j++) rep = out[j] == i;
            if (!rep) out[got++] = i;
        }
    }
    if (got < want) {
        /* dense users (or unlucky draws): enumerate the candidates left and
         * draw uniformly among them */
        int32_t *cand = malloc((size_t)(avail > 0 ? avail : 1) * sizeof *cand);
        if (!cand) return KGM_ERR(KGM_ERR_NOMEM, "negative candidates");
        int64_t nc = 0;
        for (int32_t i = 0; i < s->n_items; i++) {
            if (kgm_user_items_has(s->pos, user, i)) continue;
            bool rep = false;
            for (int32_t j = 0; j < got && !rep; j++) rep = out[j] == i;
            if (!rep) cand[nc++] = i;
        }
        for (int64_t t = 0; got < want && t < nc; t++) {
            int64_t j = t + (int64_t)kgm_rng_below(rng, (uint64_t)(nc - t));
            int32_t x = cand[t];
            cand[t] = cand[j];
            cand[j] = x;
            out[got++] = cand[t];
        }
        free(cand);
    }
    for (int32_t j = got; j < k; j++) out[j] = -1;
    if (out_n) *out_n = got;
    return KGM_OK;
}

static kgm_status draw_for(const kgm_dataset *ds, const kgm_neg_sampler *s, const int64_t *rows, int64_t n,
                           int32_t k, uint64_t seed, uint64_t stream, kgm_eval_negatives *out) {
    free(out->items);
    memset(out, 0, sizeof *out);
    if (n == 0 || k <= 0) return KGM_OK;
    out->items = malloc((size_t)n * (size_t)k * sizeof *out->items);
    if (!out->items) return KGM_ERR(KGM_ERR_NOMEM, "eval negatives");
    out->n = n;
    out->k = k;
    kgm_rng rng;
    kgm_rng_init(&rng, seed, kgm_rng_stream_id("eval-negatives", stream));
    for (int64_t j = 0; j < n; j++)
        KGM_TRY(kgm_neg_sampler_draw(s, &rng, ds->inter.user[rows[j]], k, out->items + j * k, NULL));
    return KGM_OK;
}

/* A row whose user has fewer than k items that are not its positives cannot
 * get k distinct negatives; padding would give that user an easier candidate
 * list than the others, so the setting is refused, naming the tightest user. */
static kgm_status check_room(const kgm_dataset *ds, const kgm_user_items *pos, int32_t k) {
    int64_t least = INT64_MAX;
    int32_t who = -1;
    const int64_t *rows[2] = {ds->split.valid, ds->split.test};
    int64_t n[2] = {ds->split.n_valid, ds->split.n_test};
    for (int s = 0; s < 2; s++)
        for (int64_t j = 0; j < n[s]; j++) {
            int32_t u = ds->inter.user[rows[s][j]];
            int64_t avail = (int64_t)ds->items.count - (pos->ptr[u + 1] - pos->ptr[u]);
            if (avail < least) least = avail, who = u;
        }
    if (who < 0 || least >= k) return KGM_OK;
    return KGM_ERR(KGM_ERR_ARG,
                   "dataset.eval_negatives: expected at most %lld (user '%s' of the valid/test split has %lld of the %d "
                   "items among its non-positives), found %d",
                   (long long)least, kgm_idmap_name(&ds->users, who), (long long)least, ds->items.count, k);
}

kgm_status kgm_data_eval_negatives(kgm_dataset *ds, int32_t k, kgm_neg_kind kind, uint64_t seed) {
    if (k < 0) return KGM_ERR(KGM_ERR_ARG, "eval negatives: expected k >= 0, found %d", k);
    kgm_user_items pos;
    KGM_TRY(kgm_user_items_build(ds, NULL, 0, &pos));
    kgm_status st = check_room(ds, &pos, k);
    if (st) {
        kgm_user_items_destroy(&pos);
        return st;
    }
    kgm_neg_sampler s;
    st = kgm_neg_sampler_init(&s, ds, &pos, kind);
    if (st == KGM_OK) {
        st = draw_for(ds, &s, ds->split.valid, ds->split.n_valid, k, seed, 0, &ds->valid_neg);
        if (st == KGM_OK) st = draw_for(ds, &s, ds->split.test, ds->split.n_test, k, seed, 1, &ds->test_neg);
        kgm_neg_sampler_destroy(&s);
    }
    kgm_user_items_destroy(&pos);
    return st;
}

kgm_status kgm_data_prepare(kgm_dataset *ds, const kgm_prep_settings *p) {
    if (ds->prov.prepared) return KGM_ERR(KGM_ERR_STATE, "dataset %s is prepared already", ds->name);
    bool given = ds->prov.prep.split == KGM_SPLIT_GIVEN && (ds->split.n_train || ds->split.n_test);
    if (given && p->split != KGM_SPLIT_GIVEN && p->split != KGM_SPLIT_NONE)
        return KGM_ERR(KGM_ERR_ARG, "this dataset comes with its split; expected split 'given', found another");
    if (!given) {
        if (!isnan(p->rating_threshold)) KGM_TRY(kgm_data_binarize(ds, p->rating_threshold, p->drop_below_threshold));
        int64_t d;
        KGM_TRY(kgm_data_dedup(ds, p->dedup, &d));
        KGM_TRY(kgm_data_filter_min(ds, p->min_user_interactions, p->min_item_interactions));
        KGM_TRY(kgm_data_split(ds, p));
    } else if (!isnan(p->rating_threshold) || p->dedup || p->min_user_interactions > 1 ||
               p->min_item_interactions > 1) {
        return KGM_ERR(KGM_ERR_ARG, "filters cannot be applied to a dataset with a given split");
    }
    if (p->eval_negatives > 0) KGM_TRY(kgm_data_eval_negatives(ds, p->eval_negatives, p->eval_neg_kind, p->seed));
    ds->prov.prep = *p;
    if (given) ds->prov.prep.split = KGM_SPLIT_GIVEN;
    ds->prov.prepared = true;
    return KGM_OK;
}

kgm_status kgm_data_resplit(kgm_dataset *ds, const kgm_prep_settings *p) {
    if (p->split == KGM_SPLIT_NONE || p->split == KGM_SPLIT_GIVEN)
        return KGM_ERR(KGM_ERR_ARG, "re-split: expected a split kind (random, loo, temporal, mkr), found %s",
                       p->split == KGM_SPLIT_NONE ? "none" : "given");
    /* rows stay as generated: per-row columns (the world's conversion) keep their alignment */
    if (!isnan(p->rating_threshold) || p->dedup || p->min_user_interactions > 1 || p->min_item_interactions > 1)
        return KGM_ERR(KGM_ERR_ARG, "re-split of %s: filters (threshold, dedup, min interactions) would remove rows; "
                       "expected a split only", ds->name);
    KGM_TRY(kgm_data_split(ds, p));
    if (p->eval_negatives > 0) KGM_TRY(kgm_data_eval_negatives(ds, p->eval_negatives, p->eval_neg_kind, p->seed));
    ds->prov.prep = *p;
    ds->prov.prepared = true;
    return KGM_OK;
}
