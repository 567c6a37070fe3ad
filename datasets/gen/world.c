/* A recommendation world with planted structure (docs/generators.md).
 *
 * Latent user and item factors drive everything: impressions (popularity ×
 * affinity), click/rating/conversion labels, KG tails (quantised projections
 * of item factors), social edges (homophily), item text (factor vocabularies),
 * a user segment and item genres. Each part draws from its own rng stream of
 * cfg->seed, so the hidden truth can be recomputed from the configuration
 * (kgm_gen_world_truth_new) and changing one knob leaves unrelated parts as
 * they were. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/gen.h"
#include "core/base/rng.h"
#include "core/base/status.h"

void kgm_gen_world_cfg_default(kgm_gen_world_cfg *c) {
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->n_users = 600;
    c->n_items = 800;
    c->dim = 8;
    c->interactions_per_user = 40;
    c->density = 0;
    c->activity_sigma = 0.5;
    c->min_per_user = 5;
    c->popularity_exponent = 0.8;
    c->affinity_temp = 1.0;
    c->labels = KGM_GEN_LABEL_CLICK;
    c->click_scale = 3.0;
    c->click_bias = -3.0;
    c->item_bias_std = 0.3;
    c->rating_scale = 1.2;
    c->rating_noise = 0.5;
    c->label_noise = 0.05;
    c->conversion = false;
    c->cvr_scale = 2.0;
    c->cvr_quality = 2.0;
    c->cvr_bias = -5.0;
    c->ts_start = 1577836800; /* 2020-01-01 */
    c->ts_span = 365LL * 86400;
    c->valid_frac = 0.1;
    c->test_frac = 0.2;
    c->cold_user_frac = 0.1;
    c->cold_item_frac = 0.1;
    c->cold_train_max = 0;
    c->kg_relations = 12;
    c->kg_values = 6;
    c->kg_noise = 0.3;
    c->kg_coverage = 0.9;
    c->kg_chain = true;
    c->social_degree = 10;
    c->social_homophily = 4.0;
    c->social_candidates = 64;
    c->text_len = 12;
    c->text_signal = 0.5;
    c->text_vocab = 8;
    c->user_segments = 4;
    c->segment_noise = 0.05;
    c->item_genres = 6;
    c->genre_rate = 0.25;
}

/* ---- configuration check ----------------------------------------------------- */

#define BAD(...) KGM_ERR(KGM_ERR_ARG, "gen-world: " __VA_ARGS__)

static bool in01(double v) { return v >= 0.0 && v <= 1.0; }
static bool nonneg(double v) { return v >= 0.0 && isfinite(v); }

static kgm_status check_cfg(const kgm_gen_world_cfg *c) {
    if (!c) return BAD("NULL configuration");
    if (c->n_users < 1 || c->n_items < 1) return BAD("n_users = %d, n_items = %d, expected >= 1", c->n_users, c->n_items);
    if (c->dim < 1 || c->dim > 4096) return BAD("dim = %d, expected 1..4096", c->dim);
    if (!nonneg(c->interactions_per_user)) return BAD("interactions_per_user = %g, expected >= 0", c->interactions_per_user);
    if (!in01(c->density)) return BAD("density = %g, expected 0..1", c->density);
    if (!nonneg(c->activity_sigma) || c->activity_sigma > 5)
        return BAD("activity_sigma = %g, expected 0..5", c->activity_sigma);
    if (c->min_per_user < 0) return BAD("min_per_user = %d, expected >= 0", c->min_per_user);
    if (!nonneg(c->popularity_exponent)) return BAD("popularity_exponent = %g, expected >= 0", c->popularity_exponent);
    if (!isfinite(c->affinity_temp)) return BAD("affinity_temp must be finite");
    if (c->labels != KGM_GEN_LABEL_CLICK && c->labels != KGM_GEN_LABEL_RATING)
        return BAD("labels = %d, expected CLICK (0) or RATING (1)", (int)c->labels);
    if (!isfinite(c->click_scale) || !isfinite(c->click_bias) || !nonneg(c->item_bias_std) ||
        !isfinite(c->rating_scale) || !nonneg(c->rating_noise) || !isfinite(c->cvr_scale) ||
        !isfinite(c->cvr_quality) || !isfinite(c->cvr_bias))
        return BAD("label parameters must be finite (and standard deviations >= 0)");
    if (!in01(c->label_noise)) return BAD("label_noise = %g, expected 0..1", c->label_noise);
    if (c->conversion && c->labels != KGM_GEN_LABEL_CLICK) return BAD("conversion needs click labels");
    if (c->ts_span < 0) return BAD("ts_span = %lld, expected >= 0", (long long)c->ts_span);
    if (!in01(c->valid_frac) || !in01(c->test_frac) || c->valid_frac + c->test_frac > 1.0)
        return BAD("valid_frac = %g, test_frac = %g: each 0..1, sum <= 1", c->valid_frac, c->test_frac);
    if (!in01(c->cold_user_frac) || !in01(c->cold_item_frac))
        return BAD("cold fractions %g, %g: expected 0..1", c->cold_user_frac, c->cold_item_frac);
    if ((c->cold_user_frac > 0 || c->cold_item_frac > 0) && c->valid_frac + c->test_frac <= 0)
        return BAD("cold users/items need a valid or test split (valid_frac + test_frac > 0)");
    if (c->cold_train_max < 0) return BAD("cold_train_max = %d, expected >= 0", c->cold_train_max);
    if (c->kg_relations < 0 || c->kg_relations > 10000) return BAD("kg_relations = %d, expected 0..10000", c->kg_relations);
    if (c->kg_relations > 0 && (c->kg_values < 1 || c->kg_values > c->n_items))
        return BAD("kg_values = %d, expected 1..n_items", c->kg_values);
    if (!nonneg(c->kg_noise)) return BAD("kg_noise = %g, expected >= 0", c->kg_noise);
    if (!in01(c->kg_coverage)) return BAD("kg_coverage = %g, expected 0..1", c->kg_coverage);
    if (!nonneg(c->social_degree) || (c->social_degree > 0 && c->social_degree > 0.5 * (c->n_users - 1)))
        return BAD("social_degree = %g, expected 0..(n_users - 1) / 2", c->social_degree);
    if (!isfinite(c->social_homophily)) return BAD("social_homophily must be finite");
    if (c->social_candidates < 1) return BAD("social_candidates = %d, expected >= 1", c->social_candidates);
    if (c->text_len < 0 || c->text_len > 10000) return BAD("text_len = %d, expected 0..10000", c->text_len);
    if (!in01(c->text_signal)) return BAD("text_signal = %g, expected 0..1", c->text_signal);
    if (c->text_vocab < 1 || c->text_vocab > 10000) return BAD("text_vocab = %d, expected 1..10000", c->text_vocab);
    if (c->user_segments < 0 || c->user_segments > 1000) return BAD("user_segments = %d, expected 0..1000", c->user_segments);
    if (!in01(c->segment_noise)) return BAD("segment_noise = %g, expected 0..1", c->segment_noise);
    if (c->item_genres < 0 || c->item_genres > 1000) return BAD("item_genres = %d, expected 0..1000", c->item_genres);
    if (!(c->genre_rate > 0 && c->genre_rate <= 1)) return BAD("genre_rate = %g, expected (0, 1]", c->genre_rate);
    return KGM_OK;
}

/* ---- small helpers ------------------------------------------------------------- */

static void stream(kgm_rng *r, const kgm_gen_world_cfg *c, const char *name, uint64_t sub) {
    kgm_rng_init(r, c->seed, kgm_rng_stream_id(name, sub));
}

static double dot(const float *a, const float *b, int32_t k) {
    double s = 0;
    for (int32_t j = 0; j < k; j++) s += (double)a[j] * (double)b[j];
    return s;
}

static double sigmoid(double z) { return 1.0 / (1.0 + exp(-z)); }

/* A random unit vector of length k. */
static void unit_vector(kgm_rng *r, double *a, int32_t k) {
    double n;
    do {
        n = 0;
        for (int32_t j = 0; j < k; j++) {
            a[j] = kgm_rng_normal(r);
            n += a[j] * a[j];
        }
    } while (n < 1e-12);
    n = sqrt(n);
    for (int32_t j = 0; j < k; j++) a[j] /= n;
}

static double proj(const double *a, const float *v, int32_t k) {
    double s = 0;
    for (int32_t j = 0; j < k; j++) s += a[j] * (double)v[j];
    return s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The value below which a fraction q of `v` (n values) lies; `tmp` has n slots. */
static double quantile(const double *v, int64_t n, double q, double *tmp) {
    memcpy(tmp, v, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    int64_t i = (int64_t)floor(q * (double)n);
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return tmp[i];
}

/* Mark round(frac·n) of n entries, chosen uniformly (partial Fisher–Yates). */
static kgm_status choose_subset(kgm_rng *r, int32_t n, double frac, uint8_t *mark, int32_t *count) {
    int32_t want = (int32_t)llround(frac * n);
    int32_t *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) return KGM_ERR(KGM_ERR_NOMEM, "gen-world: cold set");
    for (int32_t i = 0; i < n; i++) idx[i] = i;
    memset(mark, 0, (size_t)n);
    for (int32_t i = 0; i < want; i++) {
        int32_t j = i + (int32_t)kgm_rng_below(r, (uint64_t)(n - i));
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        mark[idx[i]] = 1;
    }
    free(idx);
    *count = want;
    return KGM_OK;
}

/* ---- ground truth: factors, cold sets, vocabulary ------------------------------- */

static const char *const common_words[] = {
    "the", "a", "of", "and", "with", "new", "classic", "edition", "collection", "story",
    "best", "one", "great", "original", "series", "volume", "special", "complete", "first", "life",
};
#define N_COMMON ((int32_t)(sizeof common_words / sizeof common_words[0]))

/* A pronounceable pseudo-word of 2–3 syllables (plus an optional final consonant). */
static void pseudo_word(kgm_rng *r, char *out) {
    static const char cons[] = "bcdfghjklmnprstvz";
    static const char vow[] = "aeiou";
    int n = 2 + (int)kgm_rng_below(r, 2), k = 0;
    for (int s = 0; s < n; s++) {
        out[k++] = cons[kgm_rng_below(r, sizeof cons - 1)];
        out[k++] = vow[kgm_rng_below(r, sizeof vow - 1)];
    }
    if (kgm_rng_below(r, 2)) out[k++] = cons[kgm_rng_below(r, sizeof cons - 1)];
    out[k] = '\0';
}

void kgm_gen_world_truth_free(kgm_gen_world_truth *t) {
    if (!t) return;
    free(t->user_factors);
    free(t->item_factors);
    free(t->item_bias);
    free(t->cold_user);
    free(t->cold_item);
    for (int32_t w = 0; t->words && w < t->n_words; w++) free(t->words[w]);
    free(t->words);
    free(t->word_dim);
    free(t->word_sign);
    memset(t, 0, sizeof *t);
}

static kgm_status make_vocab(const kgm_gen_world_cfg *c, kgm_gen_world_truth *t) {
    int32_t n = N_COMMON + 2 * c->dim * c->text_vocab;
    t->words = calloc((size_t)n, sizeof *t->words);
    t->word_dim = malloc((size_t)n * sizeof *t->word_dim);
    t->word_sign = malloc((size_t)n * sizeof *t->word_sign);
    if (!t->words || !t->word_dim || !t->word_sign) return KGM_ERR(KGM_ERR_NOMEM, "gen-world: vocabulary");
    t->n_words = n;
    kgm_idmap seen;
    kgm_idmap_init(&seen);
    kgm_rng r;
    stream(&r, c, "gen-world/vocab", 0);
    kgm_status st = KGM_OK;
    char buf[16];
    for (int32_t w = 0; w < n && st == KGM_OK; w++) {
        if (w < N_COMMON) {
            snprintf(buf, sizeof buf, "%s", common_words[w]);
            t->word_dim[w] = -1;
            t->word_sign[w] = 0;
        } else { /* word w: dimension, sign, index within its vocabulary */
            int32_t f = w - N_COMMON;
            t->word_dim[w] = f / (2 * c->text_vocab);
            t->word_sign[w] = (int8_t)((f / c->text_vocab) % 2 == 0 ? 1 : -1);
            do pseudo_word(&r, buf);
            while (kgm_idmap_find(&seen, buf, strlen(buf)) >= 0);
        }
        int32_t id;
        st = kgm_idmap_intern(&seen, buf, strlen(buf), &id);
        if (st == KGM_OK && !(t->words[w] = strdup(buf))) st = KGM_ERR(KGM_ERR_NOMEM, "gen-world: vocabulary");
    }
    kgm_idmap_destroy(&seen);
    return st;
}

static kgm_status truth_fill(const kgm_gen_world_cfg *c, kgm_gen_world_truth *t) {
    int32_t k = c->dim;
    t->n_users = c->n_users;
    t->n_items = c->n_items;
    t->dim = k;
    t->user_factors = malloc((size_t)c->n_users * (size_t)k * sizeof(float));
    t->item_factors = malloc((size_t)c->n_items * (size_t)k * sizeof(float));
    t->item_bias = malloc((size_t)c->n_items * sizeof(float));
    t->cold_user = malloc((size_t)c->n_users);
    t->cold_item = malloc((size_t)c->n_items);
    if (!t->user_factors || !t->item_factors || !t->item_bias || !t->cold_user || !t->cold_item)
        return KGM_ERR(KGM_ERR_NOMEM, "gen-world: factors");
    /* components N(0, 1/sqrt(k)): u·v has unit variance whatever k is */
    double sd = pow((double)k, -0.25);
    kgm_rng r;
    stream(&r, c, "gen-world/user-factors", 0);
    for (int64_t i = 0; i < (int64_t)c->n_users * k; i++) t->user_factors[i] = (float)(sd * kgm_rng_normal(&r));
    stream(&r, c, "gen-world/item-factors", 0);
    for (int64_t i = 0; i < (int64_t)c->n_items * k; i++) t->item_factors[i] = (float)(sd * kgm_rng_normal(&r));
    stream(&r, c, "gen-world/item-bias", 0);
    for (int32_t i = 0; i < c->n_items; i++) t->item_bias[i] = (float)(c->item_bias_std * kgm_rng_normal(&r));
    stream(&r, c, "gen-world/cold-users", 0);
    KGM_TRY(choose_subset(&r, c->n_users, c->cold_user_frac, t->cold_user, &t->n_cold_users));
    stream(&r, c, "gen-world/cold-items", 0);
    KGM_TRY(choose_subset(&r, c->n_items, c->cold_item_frac, t->cold_item, &t->n_cold_items));
    return make_vocab(c, t);
}

kgm_status kgm_gen_world_truth_new(const kgm_gen_world_cfg *cfg, kgm_gen_world_truth *out) {
    memset(out, 0, sizeof *out);
    KGM_TRY(check_cfg(cfg));
    kgm_status st = truth_fill(cfg, out);
    if (st != KGM_OK) kgm_gen_world_truth_free(out);
    return st;
}

/* ---- interactions ---------------------------------------------------------------- */

typedef struct keyed {
    double key;
    int32_t item;
} keyed;

/* Min-heap on key: the root is the weakest of the kept top-n. */
static void heap_down(keyed *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, m = i;
        if (l < n && h[l].key < h[m].key) m = l;
        if (l + 1 < n && h[l + 1].key < h[m].key) m = l + 1;
        if (m == i) return;
        keyed t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_up(keyed *h, int32_t i) {
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (h[p].key <= h[i].key) return;
        keyed t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Impressions of every user, sampled without replacement with weights
 * popularity_i · exp(temp · u·v_i) (Gumbel top-n), then labelled. */
static kgm_status gen_interactions(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds,
                                   float **conv_out) {
    const int32_t k = c->dim, ni = c->n_items;
    double mean = c->density > 0 ? c->density * ni : c->interactions_per_user;
    double *logpop = malloc((size_t)ni * sizeof *logpop);
    keyed *heap = malloc((size_t)ni * sizeof *heap);
    int64_t *ts = malloc((size_t)ni * sizeof *ts);
    int32_t *perm = malloc((size_t)ni * sizeof *perm);
    kgm_status st = KGM_OK;
    if (!logpop || !heap || !ts || !perm) {
        st = KGM_ERR(KGM_ERR_NOMEM, "gen-world: impressions");
        goto done;
    }
    kgm_rng r;
    stream(&r, c, "gen-world/popularity", 0);
    for (int32_t i = 0; i < ni; i++) perm[i] = i;
    kgm_rng_shuffle_i32(&r, perm, ni);
    for (int32_t rank = 0; rank < ni; rank++) logpop[perm[rank]] = -c->popularity_exponent * log(1.0 + rank);

    kgm_rng rl, rt;
    stream(&rl, c, "gen-world/labels", 0);
    stream(&rt, c, "gen-world/time", 0);
    for (int32_t u = 0; u < c->n_users && st == KGM_OK; u++) {
        const float *uf = t->user_factors + (int64_t)u * k;
        kgm_rng ri;
        stream(&ri, c, "gen-world/impressions", (uint64_t)u);
        double act = mean * exp(c->activity_sigma * kgm_rng_normal(&ri) - 0.5 * c->activity_sigma * c->activity_sigma);
        int64_t want = act >= ni ? ni : llround(act);
        if (want < c->min_per_user) want = c->min_per_user;
        if (want > ni) want = ni;
        int32_t n = 0;
        for (int32_t i = 0; i < ni && want > 0; i++) {
            double g = -log(-log(fmax(kgm_rng_uniform(&ri), 1e-300))); /* Gumbel(0, 1) */
            double key = logpop[i] + c->affinity_temp * dot(uf, t->item_factors + (int64_t)i * k, k) + g;
            if (n < want) {
                heap[n] = (keyed){key, i};
                heap_up(heap, n++);
            } else if (key > heap[0].key) {
                heap[0] = (keyed){key, i};
                heap_down(heap, n, 0);
            }
        }
        /* a random order of the chosen items, stamped with sorted times */
        for (int32_t j = 0; j < n; j++) perm[j] = heap[j].item;
        kgm_rng_shuffle_i32(&ri, perm, n);
        for (int32_t j = 0; j < n; j++)
            ts[j] = c->ts_start + (int64_t)floor(kgm_rng_uniform(&rt) * (double)c->ts_span);
        qsort(ts, (size_t)n, sizeof *ts, cmp_i64);
        for (int32_t j = 0; j < n && st == KGM_OK; j++) {
            int32_t i = perm[j];
            double a = dot(uf, t->item_factors + (int64_t)i * k, k) + t->item_bias[i];
            float label;
            double flip = kgm_rng_uniform(&rl), draw = kgm_rng_uniform(&rl), z = kgm_rng_normal(&rl);
            if (c->labels == KGM_GEN_LABEL_CLICK) {
                label = draw < sigmoid(c->click_scale * a + c->click_bias) ? 1.0f : 0.0f;
                if (flip < c->label_noise) label = draw < 0.5 ? 1.0f : 0.0f;
            } else {
                double v = nearbyint(3.0 + c->rating_scale * a + c->rating_noise * z);
                label = (float)fmin(5.0, fmax(1.0, v));
                if (flip < c->label_noise) label = (float)(1 + (int)floor(draw * 5.0));
            }
            double cv = kgm_rng_uniform(&rl);
            if (c->conversion) {
                int64_t row = ds->inter.n;
                if (row % 1024 == 0) {
                    float *p = realloc(*conv_out, (size_t)(row + 1024) * sizeof *p);
                    if (!p) {
                        st = KGM_ERR(KGM_ERR_NOMEM, "gen-world: conversions");
                        break;
                    }
                    *conv_out = p;
                }
                double pc = sigmoid(c->cvr_scale * (a - t->item_bias[i]) + c->cvr_quality * t->item_bias[i] +
                                    c->cvr_bias);
                (*conv_out)[row] = (label > 0.5f && cv < pc) ? 1.0f : 0.0f;
            }
            st = kgm_dataset_add_interaction(ds, u, i, label, true, ts[j]);
        }
    }
    ds->inter.kind = c->labels == KGM_GEN_LABEL_CLICK ? KGM_LABEL_BINARY : KGM_LABEL_RATING;
done:
    free(logpop);
    free(heap);
    free(ts);
    free(perm);
    return st;
}

/* ---- split -------------------------------------------------------------------------- */

static kgm_status split_push(int64_t **a, int64_t *n, int64_t *cap, int64_t row) {
    if (*n == *cap) {
        int64_t nc = *cap ? *cap * 2 : 1024;
        int64_t *p = realloc(*a, (size_t)nc * sizeof *p);
        if (!p) return KGM_ERR(KGM_ERR_NOMEM, "gen-world: split");
        *a = p;
        *cap = nc;
    }
    (*a)[(*n)++] = row;
    return KGM_OK;
}

/* Warm rows: random train/valid/test by the fractions (exact counts). Rows
 * of a cold user or item: train only while both have budget left
 * (cold_train_max), otherwise valid or test in the valid:test ratio. */
static kgm_status gen_split(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds) {
    const kgm_interactions *it = &ds->inter;
    int64_t n = it->n;
    kgm_split *sp = &ds->split;
    int64_t cap[3] = {0, 0, 0};
    int64_t **dst[3] = {&sp->train, &sp->valid, &sp->test};
    int64_t *cnt[3] = {&sp->n_train, &sp->n_valid, &sp->n_test};
    int32_t *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    int32_t *bu = malloc((size_t)c->n_users * sizeof *bu);
    int32_t *bi = malloc((size_t)c->n_items * sizeof *bi);
    kgm_status st = KGM_OK;
    if (!order || !bu || !bi || n > INT32_MAX) {
        st = n > INT32_MAX ? KGM_ERR(KGM_ERR_ARG, "gen-world: too many interactions")
                           : KGM_ERR(KGM_ERR_NOMEM, "gen-world: split");
        goto done;
    }
    for (int32_t u = 0; u < c->n_users; u++) bu[u] = c->cold_train_max;
    for (int32_t i = 0; i < c->n_items; i++) bi[i] = c->cold_train_max;
    kgm_rng r;
    stream(&r, c, "gen-world/split", 0);
    int64_t n_warm = 0, n_cold = 0;
    for (int64_t j = 0; j < n; j++) /* warm rows first, cold rows from the back */
        if (!t->cold_user[it->user[j]] && !t->cold_item[it->item[j]]) order[n_warm++] = (int32_t)j;
        else order[n - 1 - n_cold++] = (int32_t)j;
    kgm_rng_shuffle_i32(&r, order, n_warm);
    kgm_rng_shuffle_i32(&r, order + n_warm, n_cold);
    int64_t n_va = llround(c->valid_frac * (double)n_warm), n_te = llround(c->test_frac * (double)n_warm);
    if (n_va + n_te > n_warm) n_te = n_warm - n_va;
    int64_t n_tr = n_warm - n_va - n_te;
    double p_valid = c->valid_frac + c->test_frac > 0 ? c->valid_frac / (c->valid_frac + c->test_frac) : 0;
    for (int64_t j = 0; j < n && st == KGM_OK; j++) {
        int64_t row = order[j];
        int s;
        if (j < n_warm) {
            s = j < n_tr ? 0 : j < n_tr + n_va ? 1 : 2;
        } else {
            int32_t u = it->user[row], i = it->item[row];
            bool cu = t->cold_user[u], ci = t->cold_item[i];
            if ((!cu || bu[u] > 0) && (!ci || bi[i] > 0)) {
                s = 0;
                if (cu) bu[u]--;
                if (ci) bi[i]--;
            } else {
                s = kgm_rng_uniform(&r) < p_valid ? 1 : 2;
            }
        }
        st = split_push(dst[s], cnt[s], &cap[s], row);
    }
    for (int s = 0; s < 3; s++)
        if (*cnt[s]) qsort(*dst[s], (size_t)*cnt[s], sizeof(int64_t), cmp_i64);
done:
    free(order);
    free(bu);
    free(bi);
    return st;
}

/* ---- knowledge graph ------------------------------------------------------------------ */

static kgm_status intern_fmt(kgm_idmap *m, int32_t *id, const char *fmt, int a, int b) {
    char buf[64];
    int len = snprintf(buf, sizeof buf, fmt, a, b);
    return kgm_idmap_intern(m, buf, (size_t)len, id);
}

/* Relation r: tail bucket = quantile bucket of a_r·v_i + noise, so items
 * sharing a tail have similar factors along a_r. Entity j is item j. */
static kgm_status gen_kg(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds) {
    const int32_t k = c->dim, ni = c->n_items, nv = c->kg_values;
    int32_t id;
    for (int32_t i = 0; i < ni; i++) {
        KGM_TRY(intern_fmt(&ds->entities, &id, "item:%d", i, 0));
        KGM_TRY(kgm_dataset_set_item_entity(ds, i, id));
    }
    if (c->kg_relations == 0) return KGM_OK;
    double *a = malloc((size_t)k * sizeof *a);
    double *z = malloc((size_t)ni * sizeof *z);
    double *tmp = malloc((size_t)ni * sizeof *tmp);
    double *thr = malloc((size_t)nv * sizeof *thr);
    kgm_status st = KGM_OK;
    if (!a || !z || !tmp || !thr) {
        st = KGM_ERR(KGM_ERR_NOMEM, "gen-world: kg");
        goto done;
    }
    kgm_rng r;
    stream(&r, c, "gen-world/kg", 0);
    double noise = c->kg_noise * pow((double)k, -0.25); /* relative to std(a·v) */
    /* relation r has id r, "next" id kg_relations; tail b of r is entity n_items + r·kg_values + b */
    int32_t next = -1;
    for (int32_t rel = 0; rel < c->kg_relations && st == KGM_OK; rel++) st = intern_fmt(&ds->relations, &id, "r%d", rel, 0);
    if (st == KGM_OK && c->kg_chain && nv > 1) st = kgm_idmap_intern(&ds->relations, "next", 4, &next);
    for (int32_t rel = 0; rel < c->kg_relations && st == KGM_OK; rel++) {
        int32_t rid = rel, base = ds->entities.count;
        for (int32_t b = 0; b < nv && st == KGM_OK; b++) st = intern_fmt(&ds->entities, &id, "r%d:%d", rel, b);
        if (st != KGM_OK) break;
        unit_vector(&r, a, k);
        for (int32_t i = 0; i < ni; i++) z[i] = proj(a, t->item_factors + (int64_t)i * k, k) + noise * kgm_rng_normal(&r);
        for (int32_t b = 1; b < nv; b++) thr[b] = quantile(z, ni, (double)b / nv, tmp);
        for (int32_t i = 0; i < ni && st == KGM_OK; i++) {
            int32_t b = 0;
            while (b + 1 < nv && z[i] >= thr[b + 1]) b++;
            if (kgm_rng_uniform(&r) < c->kg_coverage) st = kgm_dataset_add_triple(ds, i, rid, base + b);
        }
        if (next >= 0 && st == KGM_OK) {
            for (int32_t b = 0; b + 1 < nv && st == KGM_OK; b++) st = kgm_dataset_add_triple(ds, base + b, next, base + b + 1);
        }
    }
done:
    free(a);
    free(z);
    free(tmp);
    free(thr);
    return st;
}

/* ---- social graph ------------------------------------------------------------------------ */

typedef struct pairset {
    uint64_t *slot; /* 0 = empty; key = (lo << 32 | hi) + 1 */
    uint64_t mask;
} pairset;

/* Insert the pair {a, b}; false if it was there already. */
static bool pairset_add(pairset *s, int32_t a, int32_t b) {
    uint64_t lo = (uint64_t)(a < b ? a : b), hi = (uint64_t)(a < b ? b : a);
    uint64_t key = ((lo << 32) | hi) + 1, h = key * 0x9E3779B97F4A7C15ull;
    for (uint64_t i = (h >> 17) & s->mask;; i = (i + 1) & s->mask) {
        if (s->slot[i] == key) return false;
        if (s->slot[i] == 0) {
            s->slot[i] = key;
            return true;
        }
    }
}

/* Poisson(mean) by inversion (small means) or a rounded normal (large). */
static int32_t poisson(kgm_rng *r, double mean) {
    if (mean > 30) {
        double v = nearbyint(mean + sqrt(mean) * kgm_rng_normal(r));
        return v < 0 ? 0 : (int32_t)v;
    }
    double p = exp(-mean), s = p, u = kgm_rng_uniform(r);
    int32_t n = 0;
    while (u > s && n < 1000) {
        p *= mean / ++n;
        s += p;
    }
    return n;
}

/* Each user starts Poisson(degree / 2) edges; a partner is chosen among
 * `social_candidates` random users with probability ∝ exp(h · cos(u, u')). */
static kgm_status gen_social(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds) {
    ds->social.directed = false;
    if (c->social_degree <= 0 || c->n_users < 2) return KGM_OK;
    const int32_t k = c->dim, nu = c->n_users, nc = c->social_candidates;
    double expect = 0.5 * c->social_degree * nu + 16;
    uint64_t nslots = 64;
    while ((double)nslots < 4 * expect) nslots *= 2;
    pairset set = {calloc(nslots, sizeof(uint64_t)), nslots - 1};
    double *norm = malloc((size_t)nu * sizeof *norm);
    double *w = malloc((size_t)nc * sizeof *w);
    int32_t *cand = malloc((size_t)nc * sizeof *cand);
    kgm_status st = KGM_OK;
    if (!set.slot || !norm || !w || !cand) {
        st = KGM_ERR(KGM_ERR_NOMEM, "gen-world: social graph");
        goto done;
    }
    for (int32_t u = 0; u < nu; u++) {
        const float *f = t->user_factors + (int64_t)u * k;
        norm[u] = sqrt(dot(f, f, k)) + 1e-12;
    }
    kgm_rng r;
    stream(&r, c, "gen-world/social", 0);
    for (int32_t u = 0; u < nu && st == KGM_OK; u++) {
        const float *fu = t->user_factors + (int64_t)u * k;
        int32_t m = poisson(&r, 0.5 * c->social_degree);
        for (int32_t e = 0; e < m && st == KGM_OK; e++) {
            for (int attempt = 0; attempt < 4; attempt++) { /* retry on a repeated pair */
                double tot = 0, best = -INFINITY;
                for (int32_t j = 0; j < nc; j++) {
                    int32_t v = (int32_t)kgm_rng_below(&r, (uint64_t)(nu - 1));
                    cand[j] = v >= u ? v + 1 : v; /* never u itself */
                    double cs = dot(fu, t->user_factors + (int64_t)cand[j] * k, k) / (norm[u] * norm[cand[j]]);
                    w[j] = c->social_homophily * cs;
                    if (w[j] > best) best = w[j];
                }
                for (int32_t j = 0; j < nc; j++) tot += (w[j] = exp(w[j] - best));
                double x = kgm_rng_uniform(&r) * tot;
                int32_t j = 0;
                while (j + 1 < nc && x >= w[j]) x -= w[j++];
                if (pairset_add(&set, u, cand[j])) {
                    st = kgm_dataset_add_edge(ds, u, cand[j], false, 1.0f);
                    break;
                }
            }
        }
    }
done:
    free(set.slot);
    free(norm);
    free(w);
    free(cand);
    return st;
}

/* ---- item text -------------------------------------------------------------------------------- */

/* Each word is, with probability text_signal, from the vocabulary of a
 * factor dimension d drawn ∝ |v_id| with the sign of v_id, else a common word. */
static kgm_status gen_text(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds) {
    if (c->text_len == 0) return KGM_OK;
    const int32_t k = c->dim;
    size_t cap = (size_t)c->text_len * 16 + 1;
    char *buf = malloc(cap);
    if (!buf) return KGM_ERR(KGM_ERR_NOMEM, "gen-world: text");
    kgm_rng r;
    stream(&r, c, "gen-world/text", 0);
    kgm_status st = KGM_OK;
    for (int32_t i = 0; i < c->n_items && st == KGM_OK; i++) {
        const float *v = t->item_factors + (int64_t)i * k;
        double tot = 0;
        for (int32_t d = 0; d < k; d++) tot += fabs(v[d]);
        size_t len = 0;
        for (int32_t w = 0; w < c->text_len; w++) {
            int32_t word;
            if (kgm_rng_uniform(&r) < c->text_signal && tot > 0) {
                double x = kgm_rng_uniform(&r) * tot;
                int32_t d = 0;
                while (d + 1 < k && x >= fabs(v[d])) x -= fabs(v[d++]);
                int32_t sgn = v[d] >= 0 ? 0 : 1;
                word = N_COMMON + (d * 2 + sgn) * c->text_vocab + (int32_t)kgm_rng_below(&r, (uint64_t)c->text_vocab);
            } else {
                word = (int32_t)kgm_rng_below(&r, N_COMMON);
            }
            size_t wl = strlen(t->words[word]);
            if (len) buf[len++] = ' ';
            memcpy(buf + len, t->words[word], wl);
            len += wl;
        }
        st = kgm_strings_set(&ds->item_text, i, buf, len);
    }
    free(buf);
    return st;
}

/* ---- attributes ------------------------------------------------------------------------------------ */

static kgm_status gen_segments(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds) {
    const int32_t S = c->user_segments, k = c->dim;
    if (S == 0) return KGM_OK;
    int32_t col;
    KGM_TRY(kgm_table_add_column(&ds->user_attrs, "segment", KGM_COL_CATEGORICAL, &col));
    char name[32];
    for (int32_t s = 0; s < S; s++) { /* codes = segment numbers */
        int32_t code;
        int len = snprintf(name, sizeof name, "seg%d", s);
        KGM_TRY(kgm_idmap_intern(&ds->user_attrs.cols[col].levels, name, (size_t)len, &code));
    }
    KGM_TRY(kgm_table_reserve_rows(&ds->user_attrs, c->n_users));
    double *b = malloc((size_t)S * (size_t)k * sizeof *b);
    if (!b) return KGM_ERR(KGM_ERR_NOMEM, "gen-world: segments");
    kgm_rng r;
    stream(&r, c, "gen-world/segments", 0);
    for (int32_t s = 0; s < S; s++) unit_vector(&r, b + (int64_t)s * k, k);
    kgm_status st = KGM_OK;
    for (int32_t u = 0; u < c->n_users && st == KGM_OK; u++) {
        int32_t best = 0;
        double bv = -INFINITY;
        for (int32_t s = 0; s < S; s++) {
            double v = proj(b + (int64_t)s * k, t->user_factors + (int64_t)u * k, k);
            if (v > bv) bv = v, best = s;
        }
        if (kgm_rng_uniform(&r) < c->segment_noise) best = (int32_t)kgm_rng_below(&r, (uint64_t)S);
        int len = snprintf(name, sizeof name, "seg%d", best);
        st = kgm_table_set_cat(&ds->user_attrs, col, u, name, (size_t)len);
    }
    free(b);
    return st;
}

/* Genre g when c_g·v_i is in the top genre_rate of items; an item with no
 * genre gets the one it misses by the least. */
static kgm_status gen_genres(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds) {
    const int32_t G = c->item_genres, k = c->dim, ni = c->n_items;
    if (G == 0) return KGM_OK;
    int32_t col;
    KGM_TRY(kgm_table_add_column(&ds->item_attrs, "genres", KGM_COL_MULTI, &col));
    char name[32];
    for (int32_t g = 0; g < G; g++) {
        int32_t code;
        int len = snprintf(name, sizeof name, "genre%d", g);
        KGM_TRY(kgm_idmap_intern(&ds->item_attrs.cols[col].levels, name, (size_t)len, &code));
    }
    KGM_TRY(kgm_table_reserve_rows(&ds->item_attrs, ni));
    double *a = malloc((size_t)k * sizeof *a);
    double *z = malloc((size_t)G * (size_t)ni * sizeof *z);
    double *thr = malloc((size_t)G * sizeof *thr);
    double *tmp = malloc((size_t)ni * sizeof *tmp);
    kgm_status st = KGM_OK;
    if (!a || !z || !thr || !tmp) {
        st = KGM_ERR(KGM_ERR_NOMEM, "gen-world: genres");
        goto done;
    }
    kgm_rng r;
    stream(&r, c, "gen-world/genres", 0);
    for (int32_t g = 0; g < G; g++) {
        unit_vector(&r, a, k);
        double *zg = z + (int64_t)g * ni;
        for (int32_t i = 0; i < ni; i++) zg[i] = proj(a, t->item_factors + (int64_t)i * k, k);
        thr[g] = quantile(zg, ni, 1.0 - c->genre_rate, tmp);
    }
    for (int32_t i = 0; i < ni && st == KGM_OK; i++) {
        int32_t n = 0, best = 0;
        double bv = -INFINITY;
        for (int32_t g = 0; g < G && st == KGM_OK; g++) {
            double m = z[(int64_t)g * ni + i] - thr[g];
            if (m > bv) bv = m, best = g;
            if (m >= 0) {
                int len = snprintf(name, sizeof name, "genre%d", g);
                st = kgm_table_add_multi(&ds->item_attrs, col, i, name, (size_t)len);
                n++;
            }
        }
        if (n == 0 && st == KGM_OK) {
            int len = snprintf(name, sizeof name, "genre%d", best);
            st = kgm_table_add_multi(&ds->item_attrs, col, i, name, (size_t)len);
        }
    }
done:
    free(a);
    free(z);
    free(thr);
    free(tmp);
    return st;
}

/* ---- the world ------------------------------------------------------------------------------------- */

static void settings_string(const kgm_gen_world_cfg *c, char *buf, size_t n) {
    snprintf(buf, n,
             "seed=%llu,n_users=%d,n_items=%d,dim=%d,interactions_per_user=%.15g,density=%.15g,"
             "activity_sigma=%.15g,min_per_user=%d,popularity_exponent=%.15g,affinity_temp=%.15g,labels=%s,"
             "click_scale=%.15g,click_bias=%.15g,item_bias_std=%.15g,rating_scale=%.15g,rating_noise=%.15g,"
             "label_noise=%.15g,conversion=%d,cvr_scale=%.15g,cvr_quality=%.15g,cvr_bias=%.15g,ts_start=%lld,"
             "ts_span=%lld,valid_frac=%.15g,test_frac=%.15g,cold_user_frac=%.15g,cold_item_frac=%.15g,"
             "cold_train_max=%d,kg_relations=%d,kg_values=%d,kg_noise=%.15g,kg_coverage=%.15g,kg_chain=%d,"
             "social_degree=%.15g,social_homophily=%.15g,social_candidates=%d,text_len=%d,text_signal=%.15g,"
             "text_vocab=%d,user_segments=%d,segment_noise=%.15g,item_genres=%d,genre_rate=%.15g",
             (unsigned long long)c->seed, c->n_users, c->n_items, c->dim, c->interactions_per_user, c->density,
             c->activity_sigma, c->min_per_user, c->popularity_exponent, c->affinity_temp,
             c->labels == KGM_GEN_LABEL_CLICK ? "click" : "rating", c->click_scale, c->click_bias,
             c->item_bias_std, c->rating_scale, c->rating_noise, c->label_noise, (int)c->conversion, c->cvr_scale,
             c->cvr_quality, c->cvr_bias, (long long)c->ts_start, (long long)c->ts_span, c->valid_frac,
             c->test_frac, c->cold_user_frac, c->cold_item_frac, c->cold_train_max, c->kg_relations,
             c->kg_values, c->kg_noise, c->kg_coverage, (int)c->kg_chain, c->social_degree,
             c->social_homophily, c->social_candidates, c->text_len, c->text_signal, c->text_vocab,
             c->user_segments, c->segment_noise, c->item_genres, c->genre_rate);
}

static uint64_t content_hash(const kgm_dataset *ds) {
    kgm_hasher h;
    kgm_hasher_init(&h);
    const kgm_interactions *it = &ds->inter;
#define H(p, n) \
    if ((n) > 0 && (p)) kgm_hasher_update(&h, (p), (size_t)(n) * sizeof *(p))
    H(it->user, it->n);
    H(it->item, it->n);
    H(it->label, it->n);
    H(it->ts, it->n);
    H(ds->kg.h, ds->kg.n);
    H(ds->kg.r, ds->kg.n);
    H(ds->kg.t, ds->kg.n);
    H(ds->social.src, ds->social.n);
    H(ds->social.dst, ds->social.n);
    H(ds->split.train, ds->split.n_train);
    H(ds->split.valid, ds->split.n_valid);
    H(ds->split.test, ds->split.n_test);
#undef H
    if (ds->item_text.pool_len) kgm_hasher_update(&h, ds->item_text.pool, (size_t)ds->item_text.pool_len);
    return kgm_hasher_final(&h);
}

static kgm_status world_build(const kgm_gen_world_cfg *c, const kgm_gen_world_truth *t, kgm_dataset *ds,
                              float **conv) {
    for (int32_t u = 0; u < c->n_users; u++) {
        int32_t id;
        KGM_TRY(intern_fmt(&ds->users, &id, "u%d", u, 0));
    }
    for (int32_t i = 0; i < c->n_items; i++) {
        int32_t id;
        KGM_TRY(intern_fmt(&ds->items, &id, "i%d", i, 0));
    }
    KGM_TRY(gen_interactions(c, t, ds, conv));
    KGM_TRY(gen_split(c, t, ds));
    KGM_TRY(gen_kg(c, t, ds));
    KGM_TRY(gen_social(c, t, ds));
    KGM_TRY(gen_text(c, t, ds));
    KGM_TRY(gen_segments(c, t, ds));
    KGM_TRY(gen_genres(c, t, ds));
    if (c->conversion) {
        int32_t col;
        KGM_TRY(kgm_table_add_column(&ds->tabular, "conversion", KGM_COL_NUMERIC, &col));
        KGM_TRY(kgm_table_reserve_rows(&ds->tabular, ds->inter.n));
        for (int64_t j = 0; j < ds->inter.n; j++) KGM_TRY(kgm_table_set_num(&ds->tabular, col, j, (*conv)[j]));
    }
    /* the split came with the data: say so, with its fractions and seed */
    ds->prov.prepared = true;
    ds->prov.prep.split = KGM_SPLIT_GIVEN;
    ds->prov.prep.valid_frac = (float)c->valid_frac;
    ds->prov.prep.test_frac = (float)c->test_frac;
    ds->prov.prep.seed = c->seed;
    ds->prov.rows_read = ds->inter.n;
    char settings[2048], name[128];
    settings_string(c, settings, sizeof settings);
    snprintf(name, sizeof name, "gen-world-u%d-i%d-k%d-%s-s%llu", c->n_users, c->n_items, c->dim,
             c->labels == KGM_GEN_LABEL_CLICK ? "click" : "rating", (unsigned long long)c->seed);
    KGM_TRY(kgm_gen_record(ds, "gen-world", name, settings, content_hash(ds)));
    return kgm_dataset_validate(ds);
}

kgm_status kgm_gen_world(const kgm_gen_world_cfg *cfg, kgm_dataset *ds) {
    KGM_TRY(check_cfg(cfg));
    if (ds->users.count || ds->items.count || ds->entities.count || ds->inter.n || ds->kg.n || ds->social.n ||
        ds->tabular.ncols)
        return KGM_ERR(KGM_ERR_STATE, "gen-world: the dataset is not empty");
    kgm_gen_world_truth t;
    KGM_TRY(kgm_gen_world_truth_new(cfg, &t));
    float *conv = NULL;
    kgm_status st = world_build(cfg, &t, ds, &conv);
    free(conv);
    kgm_gen_world_truth_free(&t);
    return st;
}

/* ---- cold entities from a split --------------------------------------------------------------------- */

kgm_status kgm_gen_cold_from_split(const kgm_dataset *ds, int32_t max_train, uint8_t *cold_users,
                                   uint8_t *cold_items, int32_t *n_cold_users, int32_t *n_cold_items) {
    const kgm_interactions *it = &ds->inter;
    int32_t nu = ds->users.count, ni = ds->items.count;
    int64_t *cnt = calloc((size_t)2 * ((size_t)nu + (size_t)ni) + 1, sizeof *cnt);
    if (!cnt) return KGM_ERR(KGM_ERR_NOMEM, "cold entities");
    int64_t *u_all = cnt, *u_tr = cnt + nu, *i_all = cnt + 2 * (int64_t)nu, *i_tr = i_all + ni;
    kgm_status st = KGM_OK;
    for (int64_t j = 0; j < it->n && st == KGM_OK; j++) {
        if (it->user[j] < 0 || it->user[j] >= nu || it->item[j] < 0 || it->item[j] >= ni)
            st = KGM_ERR(KGM_ERR_INDEX, "interaction %lld: user %d / item %d out of range", (long long)j, it->user[j],
                         it->item[j]);
        else
            u_all[it->user[j]]++, i_all[it->item[j]]++;
    }
    for (int64_t j = 0; j < ds->split.n_train && st == KGM_OK; j++) {
        int64_t row = ds->split.train[j];
        if (row < 0 || row >= it->n)
            st = KGM_ERR(KGM_ERR_INDEX, "split.train[%lld] = %lld out of range", (long long)j, (long long)row);
        else
            u_tr[it->user[row]]++, i_tr[it->item[row]]++;
    }
    int32_t ncu = 0, nci = 0;
    for (int32_t u = 0; u < nu && st == KGM_OK; u++) {
        bool cold = u_all[u] > 0 && u_tr[u] <= max_train;
        ncu += cold;
        if (cold_users) cold_users[u] = cold;
    }
    for (int32_t i = 0; i < ni && st == KGM_OK; i++) {
        bool cold = i_all[i] > 0 && i_tr[i] <= max_train;
        nci += cold;
        if (cold_items) cold_items[i] = cold;
    }
    free(cnt);
    if (n_cold_users) *n_cold_users = ncu;
    if (n_cold_items) *n_cold_items = nci;
    return st;
}
