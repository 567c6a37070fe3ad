/* The recommendation world: sizes, split and cold entities, reproducibility,
 * and that each planted signal (KG, social, text, attributes, labels) really
 * carries information about the latent factors. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "datasets/gen.h"
#include "kgmtl/kgmtl.h"

typedef struct world {
    kgm_gen_world_cfg cfg;
    kgm_dataset ds;
    kgm_gen_world_truth t;
} world;

static void world_make(world *w, const kgm_gen_world_cfg *cfg) {
    w->cfg = *cfg;
    kgm_dataset_init(&w->ds);
    cr_assert_eq(kgm_gen_world(cfg, &w->ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_gen_world_truth_new(cfg, &w->t), KGM_OK, "%s", kgm_error_message());
}

static void world_free(world *w) {
    kgm_dataset_destroy(&w->ds);
    kgm_gen_world_truth_free(&w->t);
}

static void world_default(world *w) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    world_make(w, &c);
}

static double cosine(const float *a, const float *b, int k) {
    double ab = 0, aa = 0, bb = 0;
    for (int j = 0; j < k; j++) ab += a[j] * b[j], aa += a[j] * a[j], bb += b[j] * b[j];
    return ab / sqrt(aa * bb + 1e-30);
}

/* Mean cosine of random pairs of distinct rows (a fixed stream). */
static double random_pair_cosine(const float *f, int32_t n, int k) {
    kgm_rng r;
    kgm_rng_init(&r, 99, 1);
    double s = 0;
    int m = 20000;
    for (int p = 0; p < m; p++) {
        int32_t a = (int32_t)kgm_rng_below(&r, (uint64_t)n), b = (int32_t)kgm_rng_below(&r, (uint64_t)n);
        if (a == b) {
            p--;
            continue;
        }
        s += cosine(f + (int64_t)a * k, f + (int64_t)b * k, k);
    }
    return s / m;
}

/* Social propagation without learning: mean cosine between a user's factor
 * and the mean factor of their friends (cold users only if `cold_only`). */
static double social_recovery(const world *w, bool cold_only) {
    const int k = w->cfg.dim;
    int32_t nu = w->cfg.n_users;
    float *est = calloc((size_t)nu * k, sizeof *est);
    for (int64_t j = 0; j < w->ds.social.n; j++) {
        int32_t a = w->ds.social.src[j], b = w->ds.social.dst[j];
        for (int d = 0; d < k; d++) {
            est[a * k + d] += w->t.user_factors[b * k + d];
            est[b * k + d] += w->t.user_factors[a * k + d];
        }
    }
    double s = 0;
    int32_t n = 0;
    for (int32_t u = 0; u < nu; u++)
        if (!cold_only || w->t.cold_user[u]) s += cosine(est + (int64_t)u * k, w->t.user_factors + (int64_t)u * k, k), n++;
    free(est);
    return s / n;
}

static int32_t word_id(const kgm_gen_world_truth *t, const char *p, size_t n) {
    for (int32_t w = 0; w < t->n_words; w++)
        if (strlen(t->words[w]) == n && memcmp(t->words[w], p, n) == 0) return w;
    return -1;
}

/* Word ids of item i's text into out (at most max); returns the count. */
static int32_t item_words(const world *w, int32_t i, int32_t *out, int32_t max) {
    int32_t len, n = 0;
    const char *s = kgm_strings_get(&w->ds.item_text, i, &len);
    for (const char *p = s, *end = s + len; p < end && n < max;) {
        const char *q = memchr(p, ' ', (size_t)(end - p));
        if (!q) q = end;
        out[n++] = word_id(&w->t, p, (size_t)(q - p));
        p = q + 1;
    }
    return n;
}

/* Text encoding without learning: each word is the mean factor of the other
 * items using it; an item is the sum of its words. Mean cosine with the
 * item's factor (cold items only if `cold_only`). */
static double text_recovery(const world *w, bool cold_only) {
    const int k = w->cfg.dim;
    int32_t ni = w->cfg.n_items, nw = w->t.n_words, words[256];
    float *cen = calloc((size_t)nw * k, sizeof *cen);
    int32_t *cnt = calloc((size_t)nw, sizeof *cnt);
    for (int32_t i = 0; i < ni; i++) {
        int32_t m = item_words(w, i, words, 256);
        for (int32_t j = 0; j < m; j++) {
            cr_assert(words[j] >= 0, "unknown word in item %d", i);
            cnt[words[j]]++;
            for (int d = 0; d < k; d++) cen[words[j] * k + d] += w->t.item_factors[i * k + d];
        }
    }
    double s = 0;
    int32_t n = 0;
    for (int32_t i = 0; i < ni; i++) {
        if (cold_only && !w->t.cold_item[i]) continue;
        float est[64] = {0};
        int32_t m = item_words(w, i, words, 256);
        for (int32_t j = 0; j < m; j++) {
            int32_t x = words[j];
            if (cnt[x] < 2) continue;
            for (int d = 0; d < k; d++) est[d] += (cen[x * k + d] - w->t.item_factors[i * k + d]) / (float)(cnt[x] - 1);
        }
        s += cosine(est, w->t.item_factors + (int64_t)i * k, k);
        n++;
    }
    free(cen);
    free(cnt);
    return s / n;
}

Test(gen_world, sizes_labels_and_times) {
    world w;
    world_default(&w);
    const kgm_dataset *ds = &w.ds;
    cr_assert_eq(kgm_dataset_validate(ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds->users.count, 600);
    cr_assert_eq(ds->items.count, 800);
    cr_assert_str_eq(kgm_idmap_name(&ds->users, 17), "u17");
    cr_assert_str_eq(kgm_idmap_name(&ds->items, 17), "i17");
    double per_user = (double)ds->inter.n / 600;
    cr_assert(per_user > 34 && per_user < 46, "%g impressions per user, expected about 40", per_user);
    cr_assert_eq(ds->inter.kind, KGM_LABEL_BINARY);
    cr_assert_not_null(ds->inter.ts);
    double pos = 0;
    for (int64_t j = 0; j < ds->inter.n; j++) {
        cr_assert(ds->inter.label[j] == 0.0f || ds->inter.label[j] == 1.0f);
        pos += ds->inter.label[j];
        cr_assert(ds->inter.ts[j] >= w.cfg.ts_start && ds->inter.ts[j] < w.cfg.ts_start + w.cfg.ts_span);
        if (j > 0) {
            cr_assert(ds->inter.user[j] >= ds->inter.user[j - 1], "user-major rows");
            if (ds->inter.user[j] == ds->inter.user[j - 1]) cr_assert(ds->inter.ts[j] >= ds->inter.ts[j - 1]);
        }
    }
    double rate = pos / (double)ds->inter.n;
    cr_assert(rate > 0.2 && rate < 0.8, "click rate %g", rate);
    /* no (user, item) pair twice */
    uint8_t *seen = calloc(600 * 800, 1);
    for (int64_t j = 0; j < ds->inter.n; j++) {
        int64_t key = (int64_t)ds->inter.user[j] * 800 + ds->inter.item[j];
        cr_assert_eq(seen[key], 0, "pair repeated at row %lld", (long long)j);
        seen[key] = 1;
    }
    free(seen);
    cr_assert_str_eq(ds->prov.loader, "gen-world");
    cr_assert_not_null(strstr(ds->name, "gen-world-u600-i800-k8"));
    cr_assert_not_null(strstr(ds->prov.sources[0].path, "cold_item_frac=0.1,"));
    world_free(&w);
}

/* The planted affinity predicts the clicks; labels follow it. */
Test(gen_world, labels_follow_the_factors) {
    world w;
    world_default(&w);
    const kgm_dataset *ds = &w.ds;
    int64_t n = ds->inter.n;
    float *score = malloc((size_t)n * sizeof *score);
    for (int64_t j = 0; j < n; j++) {
        const float *u = w.t.user_factors + (int64_t)ds->inter.user[j] * 8;
        const float *v = w.t.item_factors + (int64_t)ds->inter.item[j] * 8;
        double s = w.t.item_bias[ds->inter.item[j]];
        for (int d = 0; d < 8; d++) s += u[d] * v[d];
        score[j] = (float)s;
    }
    double auc;
    cr_assert_eq(kgm_metric_auc(score, ds->inter.label, n, &auc), KGM_OK);
    cr_assert(auc > 0.8, "AUC of the true affinity %g", auc);
    free(score);
    world_free(&w);
}

Test(gen_world, split_partition_and_cold_entities) {
    for (int keep = 0; keep <= 2; keep += 2) {
        kgm_gen_world_cfg c;
        kgm_gen_world_cfg_default(&c);
        c.cold_train_max = keep;
        c.cold_user_frac = 0.15;
        c.cold_item_frac = 0.2;
        world w;
        world_make(&w, &c);
        const kgm_dataset *ds = &w.ds;
        const kgm_split *sp = &ds->split;
        int64_t n = ds->inter.n;
        cr_assert_eq(sp->n_train + sp->n_valid + sp->n_test, n);
        uint8_t *where = calloc((size_t)n, 1);
        const int64_t *lists[3] = {sp->train, sp->valid, sp->test};
        int64_t cnts[3] = {sp->n_train, sp->n_valid, sp->n_test};
        for (int s = 0; s < 3; s++)
            for (int64_t j = 0; j < cnts[s]; j++) {
                cr_assert_eq(where[lists[s][j]], 0, "row in two splits");
                where[lists[s][j]] = (uint8_t)(s + 1);
                if (j) cr_assert(lists[s][j] > lists[s][j - 1], "ascending");
            }
        cr_assert_eq(w.t.n_cold_users, 90);
        cr_assert_eq(w.t.n_cold_items, 160);
        int32_t *tr_u = calloc(600, sizeof *tr_u), *tr_i = calloc(800, sizeof *tr_i);
        int64_t warm = 0, warm_tr = 0, warm_va = 0, cold_eval = 0;
        for (int64_t j = 0; j < n; j++) {
            int32_t u = ds->inter.user[j], i = ds->inter.item[j];
            bool cold = w.t.cold_user[u] || w.t.cold_item[i];
            if (where[j] == 1) tr_u[u]++, tr_i[i]++;
            if (!cold) warm++, warm_tr += where[j] == 1, warm_va += where[j] == 2;
            else cold_eval += where[j] != 1;
        }
        for (int32_t u = 0; u < 600; u++)
            if (w.t.cold_user[u]) cr_assert(tr_u[u] <= keep, "cold user %d has %d train rows", u, tr_u[u]);
        for (int32_t i = 0; i < 800; i++)
            if (w.t.cold_item[i]) cr_assert(tr_i[i] <= keep, "cold item %d has %d train rows", i, tr_i[i]);
        cr_assert(fabs((double)warm_tr / warm - 0.7) < 0.001, "warm train fraction %g", (double)warm_tr / warm);
        cr_assert(fabs((double)warm_va / warm - 0.1) < 0.001, "warm valid fraction %g", (double)warm_va / warm);
        cr_assert(cold_eval > 0);
        /* the split-derived cold sets contain every planted cold entity with rows */
        uint8_t cu[600], ci[800];
        int32_t ncu, nci;
        cr_assert_eq(kgm_gen_cold_from_split(ds, keep, cu, ci, &ncu, &nci), KGM_OK);
        for (int32_t u = 0; u < 600; u++)
            if (w.t.cold_user[u]) cr_assert(cu[u], "planted cold user %d", u);
        int32_t has_rows = 0;
        for (int32_t i = 0; i < 800; i++) {
            has_rows = 0;
            for (int64_t j = 0; j < n && !has_rows; j++) has_rows = ds->inter.item[j] == i;
            if (w.t.cold_item[i] && has_rows) cr_assert(ci[i], "planted cold item %d", i);
        }
        cr_assert(ncu >= 90 && ncu < 100, "%d cold users by the split", ncu);
        cr_assert(nci >= 100, "%d cold items by the split", nci);
        free(where);
        free(tr_u);
        free(tr_i);
        world_free(&w);
    }
}

static bool same_world(const kgm_dataset *a, const kgm_dataset *b) {
    if (a->inter.n != b->inter.n || a->kg.n != b->kg.n || a->social.n != b->social.n) return false;
    if (a->split.n_train != b->split.n_train) return false;
    size_t n = (size_t)a->inter.n;
    return memcmp(a->inter.user, b->inter.user, n * 4) == 0 && memcmp(a->inter.item, b->inter.item, n * 4) == 0 &&
           memcmp(a->inter.label, b->inter.label, n * 4) == 0 && memcmp(a->inter.ts, b->inter.ts, n * 8) == 0 &&
           memcmp(a->kg.t, b->kg.t, (size_t)a->kg.n * 4) == 0 &&
           memcmp(a->social.dst, b->social.dst, (size_t)a->social.n * 4) == 0 &&
           memcmp(a->split.train, b->split.train, (size_t)a->split.n_train * 8) == 0 &&
           a->item_text.pool_len == b->item_text.pool_len &&
           memcmp(a->item_text.pool, b->item_text.pool, (size_t)a->item_text.pool_len) == 0;
}

Test(gen_world, reproducible_for_a_seed) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.conversion = true;
    kgm_dataset a, b, d;
    kgm_dataset_init(&a);
    kgm_dataset_init(&b);
    kgm_dataset_init(&d);
    cr_assert_eq(kgm_gen_world(&c, &a), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_gen_world(&c, &b), KGM_OK);
    cr_assert(same_world(&a, &b));
    cr_assert_eq(memcmp(a.tabular.cols[0].num, b.tabular.cols[0].num, (size_t)a.inter.n * 4), 0);
    cr_assert_eq(kgm_dataset_fingerprint(&a), kgm_dataset_fingerprint(&b));
    c.seed = 2;
    cr_assert_eq(kgm_gen_world(&c, &d), KGM_OK);
    cr_assert(!same_world(&a, &d));
    cr_assert_neq(kgm_dataset_fingerprint(&a), kgm_dataset_fingerprint(&d));
    kgm_dataset_destroy(&a);
    kgm_dataset_destroy(&b);
    kgm_dataset_destroy(&d);
}

/* A knob that changes nothing but a setting still changes the fingerprint. */
Test(gen_world, fingerprint_names_the_settings) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.n_users = 50;
    c.n_items = 60;
    c.social_degree = 4;
    kgm_dataset a, b;
    kgm_dataset_init(&a);
    kgm_dataset_init(&b);
    cr_assert_eq(kgm_gen_world(&c, &a), KGM_OK, "%s", kgm_error_message());
    c.cvr_bias = -1.0; /* unused without conversion */
    cr_assert_eq(kgm_gen_world(&c, &b), KGM_OK);
    cr_assert(same_world(&a, &b));
    cr_assert_neq(kgm_dataset_fingerprint(&a), kgm_dataset_fingerprint(&b));
    kgm_dataset_destroy(&a);
    kgm_dataset_destroy(&b);
}

Test(gen_world, kg_tails_follow_item_factors) {
    world w;
    world_default(&w);
    const kgm_dataset *ds = &w.ds;
    /* entity j is item j */
    cr_assert(ds->n_item_entity >= 800);
    for (int32_t i = 0; i < 800; i++) {
        cr_assert_eq(ds->item_entity[i], i);
        char name[32];
        snprintf(name, sizeof name, "item:%d", i);
        cr_assert_str_eq(kgm_idmap_name(&ds->entities, i), name);
    }
    const int R = w.cfg.kg_relations, V = w.cfg.kg_values;
    cr_assert_eq(ds->relations.count, R + 1, "the factor relations and 'next'");
    cr_assert_eq(ds->entities.count, 800 + R * V);
    double rand_cos = random_pair_cosine(w.t.item_factors, 800, 8);
    int32_t next = kgm_idmap_find(&ds->relations, "next", 4);
    cr_assert_eq(next, R, "relation r has id r, 'next' comes last");
    cr_assert_str_eq(kgm_idmap_name(&ds->relations, 3), "r3");
    cr_assert_str_eq(kgm_idmap_name(&ds->entities, 800 + 2 * V + 1), "r2:1");
    int64_t item_triples = 0;
    for (int64_t j = 0; j < ds->kg.n; j++) item_triples += ds->kg.r[j] != next;
    cr_assert_eq(ds->kg.n - item_triples, R * (V - 1), "bucket chains");
    int32_t *tails = malloc(800 * (size_t)R * sizeof *tails); /* (800, R), -1 = no triple */
    for (int32_t i = 0; i < 800 * R; i++) tails[i] = -1;
    for (int64_t j = 0; j < ds->kg.n; j++)
        if (ds->kg.r[j] != next) tails[ds->kg.h[j] * R + ds->kg.r[j]] = ds->kg.t[j];
    /* pairs of items by the number of tails they share: more shared tails, more similar */
    double cs[64] = {0};
    int64_t np[64] = {0};
    for (int32_t a = 0; a < 800; a++)
        for (int32_t b = a + 1; b < 800; b++) {
            int sh = 0;
            for (int r = 0; r < R; r++) sh += tails[a * R + r] >= 0 && tails[a * R + r] == tails[b * R + r];
            cs[sh] += cosine(w.t.item_factors + (int64_t)a * 8, w.t.item_factors + (int64_t)b * 8, 8);
            np[sh]++;
        }
    for (int s = 0; s <= R; s++) cs[s] = np[s] ? cs[s] / (double)np[s] : NAN;
    for (int s = 1; s <= 5; s++)
        cr_assert(cs[s] > cs[s - 1] + 0.03, "cosine by shared tails: %d -> %g, %d -> %g", s - 1, cs[s - 1], s, cs[s]);
    cr_assert(cs[5] > rand_cos + 0.3, "five shared tails: cosine %g, random pairs %g", cs[5], rand_cos);
    /* two-hop KG propagation without learning (item -> its tails -> the other
     * items on them) recovers the direction of the item's factor */
    float *sum = calloc((size_t)ds->entities.count * 8, sizeof *sum);
    int32_t *cnt = calloc((size_t)ds->entities.count, sizeof *cnt);
    for (int32_t i = 0; i < 800; i++)
        for (int r = 0; r < R; r++)
            if (tails[i * R + r] >= 0) {
                int32_t e = tails[i * R + r];
                cnt[e]++;
                for (int d = 0; d < 8; d++) sum[e * 8 + d] += w.t.item_factors[i * 8 + d];
            }
    double rec = 0;
    for (int32_t i = 0; i < 800; i++) {
        float est[8] = {0};
        for (int r = 0; r < R; r++) {
            int32_t e = tails[i * R + r];
            if (e < 0 || cnt[e] < 2) continue;
            for (int d = 0; d < 8; d++) est[d] += (sum[e * 8 + d] - w.t.item_factors[i * 8 + d]) / (float)(cnt[e] - 1);
        }
        rec += cosine(est, w.t.item_factors + (int64_t)i * 8, 8);
    }
    rec /= 800;
    cr_assert(rec > 0.6, "two-hop KG estimate vs item factor: mean cosine %g", rec);
    free(sum);
    free(cnt);
    free(tails);
    double cover = (double)item_triples / (800.0 * R);
    cr_assert(fabs(cover - 0.9) < 0.03, "kg coverage %g", cover);
    world_free(&w);
}

Test(gen_world, social_homophily) {
    world w;
    world_default(&w);
    const kgm_dataset *ds = &w.ds;
    cr_assert(!ds->social.directed);
    double deg = 2.0 * (double)ds->social.n / 600;
    cr_assert(deg > 8.5 && deg < 11, "mean degree %g, expected about 10", deg);
    uint8_t *seen = calloc(600 * 600, 1);
    double linked = 0;
    for (int64_t j = 0; j < ds->social.n; j++) {
        int32_t a = ds->social.src[j], b = ds->social.dst[j];
        cr_assert_neq(a, b, "self loop");
        int32_t lo = a < b ? a : b, hi = a < b ? b : a;
        cr_assert_eq(seen[lo * 600 + hi], 0, "edge twice");
        seen[lo * 600 + hi] = 1;
        linked += cosine(w.t.user_factors + (int64_t)a * 8, w.t.user_factors + (int64_t)b * 8, 8);
    }
    free(seen);
    linked /= (double)ds->social.n;
    double rand_cos = random_pair_cosine(w.t.user_factors, 600, 8);
    cr_assert(linked > rand_cos + 0.3, "linked users cosine %g, random %g", linked, rand_cos);
    /* every cold user has friends to learn from (degree > 0 for almost all) */
    int32_t lonely = 0;
    for (int32_t u = 0; u < 600; u++) {
        if (!w.t.cold_user[u]) continue;
        bool any = false;
        for (int64_t j = 0; j < ds->social.n && !any; j++) any = ds->social.src[j] == u || ds->social.dst[j] == u;
        lonely += !any;
    }
    cr_assert(lonely <= 3, "%d cold users without a friend", lonely);
    /* the mean of a cold user's friends points along the user's factor */
    double rec = social_recovery(&w, true);
    cr_assert(rec > 0.6, "friends' mean vs cold user factor: cosine %g", rec);
    world_free(&w);
}

Test(gen_world, text_vocabulary_follows_factors) {
    world w;
    world_default(&w);
    const kgm_dataset *ds = &w.ds;
    cr_assert_eq(ds->item_text.n, 800);
    cr_assert_eq(w.t.n_words, 20 + 2 * 8 * 8);
    int64_t words = 0, factor_words = 0, weight_hits = 0;
    for (int32_t i = 0; i < 800; i++) {
        int32_t len;
        const char *s = kgm_strings_get(&ds->item_text, i, &len);
        const float *v = w.t.item_factors + (int64_t)i * 8;
        double tot = 0;
        for (int d = 0; d < 8; d++) tot += fabs(v[d]);
        int32_t nw = 0;
        for (const char *p = s, *end = s + len; p < end;) {
            const char *q = memchr(p, ' ', (size_t)(end - p));
            if (!q) q = end;
            int32_t id = word_id(&w.t, p, (size_t)(q - p));
            cr_assert(id >= 0, "unknown word in item %d: %.*s", i, (int)(q - p), p);
            words++, nw++;
            if (w.t.word_dim[id] >= 0) {
                int32_t d = w.t.word_dim[id];
                factor_words++;
                cr_assert_eq(w.t.word_sign[id], v[d] >= 0 ? 1 : -1, "item %d word %s: sign of factor %d", i,
                             w.t.words[id], d);
                weight_hits += fabs(v[d]) > tot / 8; /* dimensions drawn ∝ |v_d|: strong ones dominate */
            }
            p = q + 1;
        }
        cr_assert_eq(nw, 12);
    }
    double sig = (double)factor_words / (double)words;
    cr_assert(fabs(sig - 0.5) < 0.03, "factor word fraction %g", sig);
    cr_assert((double)weight_hits / (double)factor_words > 0.6, "words favour strong factor dimensions");
    double rec = text_recovery(&w, true);
    cr_assert(rec > 0.55, "word-centroid text estimate vs cold item factor: cosine %g", rec);
    world_free(&w);
}

Test(gen_world, attributes_follow_factors) {
    world w;
    world_default(&w);
    const kgm_dataset *ds = &w.ds;
    int32_t sc = kgm_table_find(&ds->user_attrs, "segment");
    cr_assert(sc >= 0);
    const kgm_column *seg = &ds->user_attrs.cols[sc];
    cr_assert_eq(seg->type, KGM_COL_CATEGORICAL);
    cr_assert_eq(seg->levels.count, 4);
    cr_assert_eq(ds->user_attrs.rows, 600);
    cr_assert_eq(seg->missing, 0);
    double same = 0, rand_cos = random_pair_cosine(w.t.user_factors, 600, 8);
    int64_t pairs = 0;
    for (int32_t a = 0; a < 600; a++)
        for (int32_t b = a + 1; b < 600; b++)
            if (seg->cat[a] == seg->cat[b]) {
                same += cosine(w.t.user_factors + (int64_t)a * 8, w.t.user_factors + (int64_t)b * 8, 8);
                pairs++;
            }
    same /= (double)pairs;
    cr_assert(same > rand_cos + 0.1, "same segment cosine %g, random %g", same, rand_cos);

    int32_t gc = kgm_table_find(&ds->item_attrs, "genres");
    cr_assert(gc >= 0);
    const kgm_column *g = &ds->item_attrs.cols[gc];
    cr_assert_eq(g->type, KGM_COL_MULTI);
    cr_assert_eq(g->levels.count, 6);
    cr_assert_eq(ds->item_attrs.rows, 800);
    int32_t per_item[800] = {0};
    for (int64_t j = 0; j < g->multi_n; j++) per_item[g->multi_row[j]]++;
    for (int32_t i = 0; i < 800; i++) cr_assert(per_item[i] >= 1 && per_item[i] <= 6, "item %d", i);
    double rate = (double)g->multi_n / (800.0 * 6);
    cr_assert(rate > 0.24 && rate < 0.32, "genre prevalence %g", rate);
    world_free(&w);
}

Test(gen_world, rating_variant) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.labels = KGM_GEN_LABEL_RATING;
    world w;
    world_make(&w, &c);
    const kgm_dataset *ds = &w.ds;
    cr_assert_eq(ds->inter.kind, KGM_LABEL_RATING);
    int hist[6] = {0};
    double sa = 0, sr = 0, saa = 0, srr = 0, sar = 0;
    int64_t n = ds->inter.n;
    for (int64_t j = 0; j < n; j++) {
        float r = ds->inter.label[j];
        cr_assert(r >= 1 && r <= 5 && r == floorf(r), "rating %g", r);
        hist[(int)r]++;
        const float *u = w.t.user_factors + (int64_t)ds->inter.user[j] * 8;
        const float *v = w.t.item_factors + (int64_t)ds->inter.item[j] * 8;
        double a = w.t.item_bias[ds->inter.item[j]];
        for (int d = 0; d < 8; d++) a += u[d] * v[d];
        sa += a, sr += r, saa += a * a, srr += r * r, sar += a * r;
    }
    for (int k = 1; k <= 5; k++) cr_assert(hist[k] > 0, "no rating %d", k);
    double corr = (sar / n - sa / n * sr / n) / sqrt((saa / n - sa / n * sa / n) * (srr / n - sr / n * sr / n));
    cr_assert(corr > 0.7, "rating vs affinity correlation %g", corr);
    world_free(&w);
}

Test(gen_world, conversion_column) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.conversion = true;
    world w;
    world_make(&w, &c);
    const kgm_dataset *ds = &w.ds;
    int32_t cc = kgm_table_find(&ds->tabular, "conversion");
    cr_assert(cc >= 0);
    cr_assert_eq(ds->tabular.rows, ds->inter.n);
    const float *conv = ds->tabular.cols[cc].num;
    int64_t clicks = 0, convs = 0;
    for (int64_t j = 0; j < ds->inter.n; j++) {
        cr_assert(conv[j] == 0.0f || conv[j] == 1.0f);
        cr_assert(conv[j] <= ds->inter.label[j], "conversion without a click at row %lld", (long long)j);
        clicks += ds->inter.label[j] > 0.5f;
        convs += conv[j] > 0.5f;
    }
    double cvr = (double)convs / (double)clicks;
    cr_assert(cvr > 0.1 && cvr < 0.9, "conversion rate among clicks %g", cvr);
    world_free(&w);
}

Test(gen_world, components_can_be_switched_off) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.n_users = 40;
    c.n_items = 50;
    c.kg_relations = 0;
    c.social_degree = 0;
    c.text_len = 0;
    c.user_segments = 0;
    c.item_genres = 0;
    c.cold_user_frac = 0;
    c.cold_item_frac = 0;
    c.density = 0.2;
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.kg.n, 0);
    cr_assert_eq(ds.social.n, 0);
    cr_assert_eq(ds.item_text.n, 0);
    cr_assert_eq(ds.user_attrs.ncols, 0);
    cr_assert_eq(ds.item_attrs.ncols, 0);
    cr_assert_eq(ds.entities.count, 50, "items keep their entities");
    double per_user = (double)ds.inter.n / 40;
    cr_assert(per_user > 7 && per_user < 13, "density 0.2 of 50 items: %g per user", per_user);
    kgm_dataset_destroy(&ds);
}

Test(gen_world, bad_configurations) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.labels = KGM_GEN_LABEL_RATING;
    c.conversion = true;
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_ERR_ARG);
    cr_assert_not_null(strstr(kgm_error_message(), "conversion"));
    kgm_gen_world_cfg_default(&c);
    c.valid_frac = 0.6;
    c.test_frac = 0.6;
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_ERR_ARG);
    kgm_gen_world_cfg_default(&c);
    c.valid_frac = 0;
    c.test_frac = 0;
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_ERR_ARG, "cold entities need an eval split");
    kgm_gen_world_cfg_default(&c);
    c.kg_values = 0;
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_ERR_ARG);
    kgm_gen_world_cfg_default(&c);
    c.social_degree = 1000;
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_ERR_ARG);
    kgm_gen_world_cfg_default(&c);
    c.n_users = 0;
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_ERR_ARG);
    cr_assert_eq(ds.users.count, 0, "nothing written on a bad configuration");
    kgm_gen_world_cfg_default(&c);
    c.n_users = 20;
    c.n_items = 30;
    c.social_degree = 2;
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_gen_world(&c, &ds), KGM_ERR_STATE);
    kgm_dataset_destroy(&ds);
}

/* Control: with homophily 0 and no factor words, the same estimators find nothing. */
Test(gen_world, switched_off_signals_carry_nothing) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.social_homophily = 0;
    c.text_signal = 0;
    world w;
    world_make(&w, &c);
    double s = social_recovery(&w, false), t = text_recovery(&w, false);
    cr_assert(fabs(s) < 0.1, "social recovery without homophily %g", s);
    cr_assert(fabs(t) < 0.1, "text recovery without factor words %g", t);
    world_free(&w);
}

/* A generated world survives the binary cache: data, split, conversions, provenance. */
Test(gen_world, cache_round_trip) {
    kgm_gen_world_cfg c;
    kgm_gen_world_cfg_default(&c);
    c.n_users = 120;
    c.n_items = 150;
    c.conversion = true;
    kgm_dataset a, b;
    kgm_dataset_init(&a);
    cr_assert_eq(kgm_gen_world(&c, &a), KGM_OK, "%s", kgm_error_message());
    char path[] = "/tmp/kgmtl-gen-world-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(kgm_dataset_save(&a, path), KGM_OK, "%s", kgm_error_message());
    kgm_cache_expect e = {.loader = "gen-world"};
    cr_assert_eq(kgm_dataset_load(path, &e, &b), KGM_OK, "%s", kgm_error_message());
    unlink(path);
    cr_assert(same_world(&a, &b));
    cr_assert_eq(kgm_dataset_fingerprint(&a), kgm_dataset_fingerprint(&b));
    cr_assert_eq(b.split.n_valid, a.split.n_valid);
    cr_assert_eq(b.split.n_test, a.split.n_test);
    int32_t ca = kgm_table_find(&a.tabular, "conversion"), cb = kgm_table_find(&b.tabular, "conversion");
    cr_assert(cb >= 0);
    cr_assert_eq(memcmp(a.tabular.cols[ca].num, b.tabular.cols[cb].num, (size_t)a.inter.n * sizeof(float)), 0);
    cr_assert_str_eq(b.name, a.name);
    kgm_dataset_destroy(&a);
    kgm_dataset_destroy(&b);
}
