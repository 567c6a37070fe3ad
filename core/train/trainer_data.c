/* The trainer's data side: opening the dataset a configuration names, the
 * per-task views and splits, and the backend answering plugins' requests. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/gen.h"
#include "datasets/load.h"
#include "datasets/prep.h"
#include "core/tensor/ops.h"
#include "core/base/rng.h"
#include "core/train/trainer_internal.h"

/* ---- opening the dataset ------------------------------------------------------ */

static kgm_status prep_from_cfg(kgm_trainer *tr, kgm_prep_settings *p) {
    const kgm_data_cfg *d = &tr->cfg->data;
    kgm_prep_settings_default(p);
    p->min_user_interactions = d->min_user_interactions;
    p->min_item_interactions = d->min_item_interactions;
    p->rating_threshold = (float)d->rating_threshold;
    /* With sampled negatives (MKR protocol) ratings below the threshold are
     * not negatives but unobserved: drop them; the view then draws
     * train_negatives per positive. Without, they become label-0 rows. */
    p->drop_below_threshold = d->train_negatives > 0;
    p->eval_negatives = d->eval_negatives;
    p->seed = tr->data_seed;
    p->valid_frac = (float)d->valid_frac;
    p->test_frac = (float)d->test_frac;
    if (strcmp(d->split, "random") == 0) p->split = KGM_SPLIT_RANDOM;
    else if (strcmp(d->split, "loo") == 0) p->split = KGM_SPLIT_LOO, p->loo_valid = true;
    else if (strcmp(d->split, "temporal") == 0) p->split = KGM_SPLIT_TEMPORAL;
    else if (strcmp(d->split, "mkr") == 0) p->split = KGM_SPLIT_MKR;
    else if (strcmp(d->split, "given") == 0 || strcmp(d->split, "generator") == 0) p->split = KGM_SPLIT_NONE;
    else return KGM_ERR(KGM_ERR_ARG, "unknown dataset.split '%s' (random, loo, temporal, mkr, given, generator)", d->split);
    return KGM_OK;
}

/* Filters apply to loaded data only: generated rows are aligned with
 * per-row columns (the world's conversion) and have nothing to filter. */
static kgm_status no_filters_on_generated(const kgm_data_cfg *d) {
    const char *k = d->min_user_interactions > 0   ? "min_user_interactions"
                    : d->min_item_interactions > 0 ? "min_item_interactions"
                    : !isnan(d->rating_threshold)  ? "rating_threshold"
                    : d->social_path[0]            ? "social_path"
                                                   : NULL;
    if (k)
        return KGM_ERR(KGM_ERR_ARG, "dataset.%s applies to loaded data; source '%s' is generated (its own %s)", k,
                       d->source, strcmp(k, "social_path") ? "rows, unfiltered" : "social graph");
    return KGM_OK;
}

/* The generated world: the generator's own split at valid_frac/test_frac
 * (split: generator or given), or its interactions re-split as asked. */
static kgm_status open_world(kgm_trainer *tr, kgm_dataset *ds) {
    const kgm_data_cfg *d = &tr->cfg->data;
    kgm_gen_world_cfg g;
    kgm_gen_world_cfg_default(&g);
    g.seed = tr->data_seed;
    g.n_users = d->n_users;
    g.n_items = d->n_items;
    g.dim = d->latent_dim;
    g.interactions_per_user = d->interactions_per_user;
    g.cold_user_frac = d->cold_user_frac;
    g.cold_item_frac = d->cold_item_frac;
    g.label_noise = d->noise;
    g.valid_frac = d->valid_frac;
    g.test_frac = d->test_frac;
    g.conversion = true;
    KGM_TRY(no_filters_on_generated(d));
    KGM_TRY(kgm_gen_world(&g, ds));
    kgm_prep_settings prep;
    KGM_TRY(prep_from_cfg(tr, &prep));
    if (prep.split == KGM_SPLIT_NONE) return KGM_OK;
    KGM_TRY(kgm_data_resplit(ds, &prep));
    kgm_trainer_log(tr, "dataset.split %s: the world's interactions re-split (train %lld, valid %lld, test %lld)", d->split,
                    (long long)ds->split.n_train, (long long)ds->split.n_valid, (long long)ds->split.n_test);
    return KGM_OK;
}

static kgm_status open_mmoe(kgm_trainer *tr, kgm_dataset *ds) {
    const kgm_data_cfg *d = &tr->cfg->data;
    if (strcmp(d->split, "generator") && strcmp(d->split, "given"))
        return KGM_ERR(KGM_ERR_ARG,
                       "dataset.split '%s' does not apply to source mmoe: its rows come split "
                       "(dataset.mmoe_n_train / mmoe_n_valid / mmoe_n_test); expected generator",
                       d->split);
    KGM_TRY(no_filters_on_generated(d));
    kgm_gen_mmoe_cfg g;
    kgm_gen_mmoe_cfg_default(&g);
    g.seed = tr->data_seed;
    g.d = d->mmoe_dim;
    g.p = d->mmoe_corr;
    g.n_train = d->mmoe_n_train;
    g.n_valid = d->mmoe_n_valid;
    g.n_test = d->mmoe_n_test;
    return kgm_gen_mmoe(&g, ds);
}

/* dataset.kg_path: triples merged into the KG the source came with (new
 * entity and relation names are added), counted in the log. */
static kgm_status merge_kg_path(kgm_trainer *tr, const kgm_load_opts *lo, kgm_dataset *ds) {
    const kgm_data_cfg *d = &tr->cfg->data;
    if (ds->kg.n == 0)
        return KGM_ERR(KGM_ERR_ARG,
                       "dataset.kg_path (%s): expected a source with a knowledge graph to merge the triples into, "
                       "found none in source '%s'",
                       d->kg_path, d->source);
    int64_t n0 = ds->kg.n;
    int32_t e0 = ds->entities.count, r0 = ds->relations.count;
    kgm_text_format f;
    kgm_text_format_default(&f, KGM_TEXT_TRIPLES);
    KGM_TRY(kgm_load_triples(d->kg_path, &f, lo, ds));
    kgm_trainer_log(tr, "dataset.kg_path %s: %lld KG triples added (%d new entities, %d new relations), %lld in all",
                    d->kg_path, (long long)(ds->kg.n - n0), ds->entities.count - e0, ds->relations.count - r0,
                    (long long)ds->kg.n);
    return KGM_OK;
}

/* A cache is current only if it was built from the extra files named now
 * and with the same edge direction. */
static bool cache_matches(const kgm_data_cfg *d, const kgm_dataset *ds, const char **why) {
    const char *need[2] = {d->kg_path, d->social_path};
    for (int k = 0; k < 2; k++) {
        bool found = !need[k][0];
        for (int32_t i = 0; i < ds->prov.n_sources && !found; i++) found = !strcmp(ds->prov.sources[i].path, need[k]);
        if (!found) {
            *why = k ? "built without dataset.social_path" : "built without dataset.kg_path";
            return false;
        }
    }
    if (ds->social.n > 0 && ds->social.directed != d->social_directed) {
        *why = "its social graph has the other direction setting (dataset.social_directed)";
        return false;
    }
    return true;
}

static kgm_status load_source(kgm_trainer *tr, const kgm_load_opts *lo, kgm_dataset *ds) {
    const kgm_data_cfg *d = &tr->cfg->data;
    const char *path = d->path[0] ? d->path : NULL;
    if (strcmp(d->source, "auto") == 0 || strcmp(d->source, "cache") == 0) {
        if (!path) return KGM_ERR(KGM_ERR_ARG, "dataset.path is required for source '%s'", d->source);
        return kgm_load_auto(path, lo, ds);
    }
    if (strcmp(d->source, "movielens") == 0) return kgm_load_movielens(path ? path : ".", lo, ds);
    if (strcmp(d->source, "mkr") == 0) return kgm_load_mkr(path ? path : ".", lo, ds);
    if (strcmp(d->source, "kgat") == 0) return kgm_load_kgat(path ? path : ".", lo, ds);
    if (strcmp(d->source, "census-kdd") == 0) return kgm_load_census_kdd(path ? path : ".", lo, ds);
    if (strcmp(d->source, "wordnet") == 0) return kgm_load_wordnet(path ? path : ".", lo, ds);
    return kgm_load_named(d->source, path, lo, ds);
}

/* dataset.eval_negatives: the stored negatives of the valid/test rows, drawn
 * once from the dataset seed unless preparation (or the cache) already holds
 * them, so generated and given splits get them too. */
static kgm_status draw_eval_negatives(kgm_trainer *tr) {
    int32_t k = tr->cfg->data.eval_negatives;
    kgm_dataset *ds = &tr->ds;
    if (k <= 0) return KGM_OK;
    if (ds->inter.n == 0 || ds->split.n_train == 0)
        return KGM_ERR(KGM_ERR_ARG,
                       "dataset.eval_negatives = %d: expected user-item interactions with a train/valid/test split "
                       "(they are the candidates of top-K ranking), found %s in source '%s'",
                       k, ds->inter.n == 0 ? "no interactions" : "no split", tr->cfg->data.source);
    if (ds->valid_neg.k == k || ds->test_neg.k == k) return KGM_OK;
    return kgm_data_eval_negatives(ds, k, KGM_NEG_UNIFORM, tr->data_seed);
}

static kgm_status open_loaded(kgm_trainer *tr, kgm_dataset *ds) {
    const kgm_data_cfg *d = &tr->cfg->data;
    kgm_load_report rep;
    memset(&rep, 0, sizeof rep);
    kgm_load_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.report = &rep;
    lo.directed_edges = d->social_directed;
    kgm_prep_settings prep;
    KGM_TRY(prep_from_cfg(tr, &prep));
    if (d->cache[0]) {
        kgm_cache_expect ex = {.verify_sources = true, .prep = &prep};
        kgm_status st = kgm_dataset_load(d->cache, &ex, ds);
        const char *why = NULL;
        if (st == KGM_OK && cache_matches(d, ds, &why)) {
            kgm_trainer_log(tr, "cache: dataset read from %s", d->cache);
            return KGM_OK;
        }
        if (st != KGM_ERR_IO) kgm_trainer_log(tr, "cache %s not used (%s); rebuilding", d->cache, why ? why : kgm_error_message());
        kgm_dataset_destroy(ds);
        kgm_dataset_init(ds);
    }
    KGM_TRY(load_source(tr, &lo, ds));
    int64_t dups_before = ds->social.n > 0 ? 0 : rep.duplicates; /* the rest are repeated edges */
    if (d->social_path[0]) {
        kgm_text_format f;
        kgm_text_format_default(&f, KGM_TEXT_EDGES);
        KGM_TRY(kgm_load_edges(d->social_path, &f, d->social_directed, &lo, ds));
    }
    if (ds->social.n > 0 && (rep.reciprocal || rep.weight_conflicts || d->social_path[0]))
        kgm_trainer_log(tr, "social graph (%s): %lld edges; %lld reciprocal pairs merged, %lld repeated edges dropped "
                            "(%lld with another weight than the kept first listing)",
                        ds->social.directed ? "directed" : "undirected", (long long)ds->social.n, (long long)rep.reciprocal,
                        (long long)(rep.duplicates - dups_before),
                        (long long)rep.weight_conflicts);
    if (d->kg_path[0]) KGM_TRY(merge_kg_path(tr, &lo, ds));
    if (ds->inter.n > 0 && (prep.split != KGM_SPLIT_NONE || !isnan(prep.rating_threshold) || prep.min_user_interactions ||
                            prep.min_item_interactions))
        KGM_TRY(kgm_data_prepare(ds, &prep));
    KGM_TRY(draw_eval_negatives(tr)); /* before saving: the cache stores them */
    if (d->cache[0]) {
        KGM_TRY(kgm_dataset_save(ds, d->cache));
        kgm_trainer_log(tr, "cache: dataset written to %s", d->cache);
    }
    return KGM_OK;
}

kgm_status kgm_trainer_open_data(kgm_trainer *tr) {
    const kgm_data_cfg *d = &tr->cfg->data;
    kgm_dataset *ds = &tr->ds;
    kgm_dataset_init(ds);
    tr->data_seed = d->data_seed ? d->data_seed : tr->cfg->seed;
    if (strcmp(d->source, "world") == 0) {
        KGM_TRY(open_world(tr, ds));
        if (d->kg_path[0]) {
            kgm_load_opts lo;
            memset(&lo, 0, sizeof lo);
            KGM_TRY(merge_kg_path(tr, &lo, ds));
        }
    } else if (strcmp(d->source, "mmoe") == 0) {
        if (d->kg_path[0])
            return KGM_ERR(KGM_ERR_ARG, "dataset.kg_path (%s): source mmoe has no knowledge graph to merge it into", d->kg_path);
        KGM_TRY(open_mmoe(tr, ds));
    } else {
        KGM_TRY(open_loaded(tr, ds));
    }
    if (d->social_directed && ds->social.n == 0)
        return KGM_ERR(KGM_ERR_ARG, "dataset.social_directed is true but source '%s' has no social edges (expected "
                                    "dataset.social_path or a social edge list)", d->source);
    if (ds->social.n > 0 && ds->social.directed != d->social_directed)
        return KGM_ERR(KGM_ERR_ARG, "dataset.social_directed is %s but the social graph of source '%s' is %s",
                       d->social_directed ? "true" : "false", d->source, ds->social.directed ? "directed" : "undirected");
    KGM_TRY(draw_eval_negatives(tr));
    KGM_TRY(kgm_dataset_validate(ds));
    if (d->exclude_columns[0] && !(ds->tabular.rows > 0 && ds->inter.n == 0))
        return KGM_ERR(KGM_ERR_ARG,
                       "dataset.exclude_columns ('%s') applies to tabular data (feature columns as the model inputs); "
                       "source '%s' gives %s",
                       d->exclude_columns, d->source, ds->inter.n > 0 ? "user-item interactions" : "no tabular rows");
    KGM_TRY(kgm_tabular_exclude_columns(&ds->tabular, d->exclude_columns, NULL, 0, NULL));
    /* cold-start marks from the split (entities with at most evaluation.cold_max_train training rows) */
    if (ds->inter.n > 0 && ds->split.n_train > 0) {
        tr->cold_users = calloc((size_t)ds->users.count + 1, 1);
        tr->cold_items = calloc((size_t)ds->items.count + 1, 1);
        if (!tr->cold_users || !tr->cold_items) return KGM_ERR(KGM_ERR_NOMEM, "cold-start marks");
        KGM_TRY(kgm_gen_cold_from_split(ds, tr->cfg->eval.cold_max_train, tr->cold_users, tr->cold_items,
                                        &tr->n_cold_users, &tr->n_cold_items));
    }
    /* KG filter index sorted by (h, r, t) */
    if (ds->kg.n > 0) {
        int64_t n = ds->kg.n;
        tr->kg_n = n;
        int64_t *ord = malloc((size_t)n * sizeof *ord);
        tr->kg_h = malloc((size_t)n * sizeof(int32_t));
        tr->kg_r = malloc((size_t)n * sizeof(int32_t));
        tr->kg_t = malloc((size_t)n * sizeof(int32_t));
        if (!ord || !tr->kg_h || !tr->kg_r || !tr->kg_t) {
            free(ord);
            return KGM_ERR(KGM_ERR_NOMEM, "kg index");
        }
        /* counting sort by r then stable by h: key (h, r) order */
        for (int64_t i = 0; i < n; i++) ord[i] = i;
        const kgm_triples *kg = &ds->kg;
        int64_t *tmp = malloc((size_t)n * sizeof *tmp);
        int32_t nk[2] = {ds->relations.count, ds->entities.count};
        const int32_t *keys[2] = {kg->r, kg->h};
        for (int pass = 0; pass < 2 && tmp; pass++) {
            int64_t *cnt = calloc((size_t)nk[pass] + 1, sizeof *cnt);
            if (!cnt) break;
            for (int64_t i = 0; i < n; i++) cnt[keys[pass][ord[i]] + 1]++;
            for (int32_t k = 0; k < nk[pass]; k++) cnt[k + 1] += cnt[k];
            for (int64_t i = 0; i < n; i++) tmp[cnt[keys[pass][ord[i]]]++] = ord[i];
            memcpy(ord, tmp, (size_t)n * sizeof *ord);
            free(cnt);
        }
        free(tmp);
        for (int64_t i = 0; i < n; i++) {
            tr->kg_h[i] = kg->h[ord[i]];
            tr->kg_r[i] = kg->r[ord[i]];
            tr->kg_t[i] = kg->t[ord[i]];
        }
        free(ord);
    }
    return KGM_OK;
}

/* ---- views ----------------------------------------------------------------------- */

static void split_free(kgm_view_split *s) {
    free(s->row);
    free(s->user);
    free(s->item);
    free(s->head);
    free(s->rel);
    free(s->tail);
    free(s->src);
    free(s->dst);
    free(s->cls);
    free(s->label);
    free(s->label2);
    free(s->weight);
    free(s->multi);
    free(s->up_ptr);
    free(s->up_col);
    free(s->neg);
    memset(s, 0, sizeof *s);
}

void kgm_view_destroy(kgm_view *v) {
    for (int i = 0; i < 3; i++) split_free(&v->s[i]);
}

#define ALLOC(p, n) ((p) = calloc((size_t)(n) + 1, sizeof *(p)))

/* Random assignment of `n` units to train/valid/test by fractions, seeded. */
static kgm_status random_split(int64_t n, double fv, double ft, uint64_t seed, const char *what, int8_t **out) {
    int8_t *a = malloc((size_t)n + 1);
    int32_t *perm = malloc(((size_t)n + 1) * sizeof *perm);
    if (!a || !perm) {
        free(a);
        free(perm);
        return KGM_ERR(KGM_ERR_NOMEM, "split");
    }
    kgm_rng r;
    kgm_rng_init(&r, seed, kgm_rng_stream_id(what, 0));
    for (int64_t i = 0; i < n; i++) perm[i] = (int32_t)i;
    kgm_rng_shuffle_i32(&r, perm, n);
    int64_t nv = (int64_t)floor(n * fv), nt = (int64_t)floor(n * ft);
    for (int64_t i = 0; i < n; i++) a[perm[i]] = i < nt ? 2 : (i < nt + nv ? 1 : 0);
    free(perm);
    *out = a;
    return KGM_OK;
}

/* The split of a view that has its own (KG, social, user attributes, item
 * labels); tasks[].split none puts every row in train. */
static kgm_status task_split(const kgm_trainer *tr, const kgm_run_task *t, int64_t n, double fv, double ft,
                             const char *what, int8_t **out) {
    bool none = strcmp(t->spec->split, "none") == 0;
    return random_split(n, none ? 0.0 : fv, none ? 0.0 : ft, tr->data_seed, what, out);
}

/* Per-user lists of a split: items with a positive label, or a user's
 * friends (`both`: an undirected edge puts each end in the other's list). */
static kgm_status build_user_pos(kgm_view_split *s, int32_t n_users, bool social, bool both) {
    ALLOC(s->up_ptr, n_users + 1);
    ALLOC(s->up_col, both ? 2 * s->n : s->n);
    if (!s->up_ptr || !s->up_col) return KGM_ERR(KGM_ERR_NOMEM, "user lists");
    const int32_t *key = social ? s->src : s->user, *val = social ? s->dst : s->item;
    for (int64_t i = 0; i < s->n; i++)
        if (social || !s->label || s->label[i] > 0) {
            s->up_ptr[key[i] + 1]++;
            if (both) s->up_ptr[val[i] + 1]++;
        }
    for (int32_t u = 0; u < n_users; u++) s->up_ptr[u + 1] += s->up_ptr[u];
    int64_t *fill = malloc(((size_t)n_users + 1) * sizeof *fill);
    if (!fill) return KGM_ERR(KGM_ERR_NOMEM, "user lists");
    memcpy(fill, s->up_ptr, (size_t)n_users * sizeof *fill);
    for (int64_t i = 0; i < s->n; i++)
        if (social || !s->label || s->label[i] > 0) {
            s->up_col[fill[key[i]]++] = val[i];
            if (both) s->up_col[fill[val[i]]++] = key[i];
        }
    free(fill);
    /* sort and dedupe each list (insertion sort: lists are short) */
    int64_t w = 0;
    int64_t start = 0;
    for (int32_t u = 0; u < n_users; u++) {
        int64_t lo = start, hi = s->up_ptr[u + 1];
        for (int64_t i = lo + 1; i < hi; i++) {
            int32_t x = s->up_col[i];
            int64_t j = i - 1;
            while (j >= lo && s->up_col[j] > x) {
                s->up_col[j + 1] = s->up_col[j];
                j--;
            }
            s->up_col[j + 1] = x;
        }
        int64_t begin = w;
        for (int64_t i = lo; i < hi; i++)
            if (w == begin || s->up_col[w - 1] != s->up_col[i]) s->up_col[w++] = s->up_col[i];
        start = hi;
        s->up_ptr[u + 1] = w;
        s->up_ptr[u] = begin;
    }
    return KGM_OK;
}

static int32_t find_col(const kgm_table *t, const char *name, kgm_col_type type) {
    if (name && name[0]) return kgm_table_find(t, name);
    for (int32_t c = 0; c < t->ncols; c++)
        if (t->cols[c].type == type) return c;
    return -1;
}

static kgm_status view_interactions(kgm_trainer *tr, kgm_run_task *t, int kind) {
    const kgm_dataset *ds = &tr->ds;
    const kgm_interactions *in = &ds->inter;
    if (in->n == 0) return KGM_ERR(KGM_ERR_ARG, "task '%s' needs interactions, the dataset has none", t->spec->name);
    if (ds->split.n_train == 0)
        return KGM_ERR(KGM_ERR_ARG, "task '%s': the dataset has no train/valid/test split (set dataset.split)", t->spec->name);
    if (kind == KGM_VIEW_RATINGS && in->kind != KGM_LABEL_RATING)
        return KGM_ERR(KGM_ERR_ARG, "task '%s' (ratings view) needs explicit ratings; this dataset has %s labels", t->spec->name,
                       in->kind == KGM_LABEL_BINARY ? "binary" : "implicit");
    if (kind == KGM_VIEW_INTERACTIONS && in->kind == KGM_LABEL_RATING)
        return KGM_ERR(KGM_ERR_ARG, "task '%s' needs 0/1 labels; set dataset.rating_threshold to binarise the ratings",
                       t->spec->name);
    int32_t negs = tr->cfg->data.train_negatives;
    if (kind == KGM_VIEW_INTERACTIONS && in->kind == KGM_LABEL_IMPLICIT && negs < 1)
        return KGM_ERR(KGM_ERR_ARG, "task '%s': implicit feedback has no negatives; set dataset.train_negatives >= 1",
                       t->spec->name);
    if (kind == KGM_VIEW_INTERACTIONS && in->kind == KGM_LABEL_BINARY && negs > 0)
        return KGM_ERR(KGM_ERR_ARG, "task '%s': dataset.train_negatives=%d applies to implicit feedback, but this data has explicit 0/1 labels",
                       t->spec->name, negs);
    bool add_negs = kind == KGM_VIEW_INTERACTIONS && in->kind == KGM_LABEL_IMPLICIT;
    kgm_user_items pos;
    kgm_neg_sampler ns;
    bool have_ns = false;
    if (add_negs) {
        KGM_TRY(kgm_user_items_build(ds, NULL, 0, &pos));
        kgm_status st = kgm_neg_sampler_init(&ns, ds, &pos, KGM_NEG_UNIFORM);
        if (st) {
            kgm_user_items_destroy(&pos);
            return st;
        }
        have_ns = true;
    }
    kgm_rng r;
    kgm_rng_init(&r, tr->data_seed, kgm_rng_stream_id("train-negatives", 0)); /* drawn once, MKR-style */
    const int64_t *rows[3] = {ds->split.train, ds->split.valid, ds->split.test};
    int64_t nr[3] = {ds->split.n_train, ds->split.n_valid, ds->split.n_test};
    kgm_status st = KGM_OK;
    tr->t[t->index].view.kind = kind;
    for (int s = 0; s < 3 && !st; s++) {
        kgm_view_split *v = &t->view.s[s];
        int64_t cap = 0;
        for (int64_t k = 0; k < nr[s]; k++) {
            int64_t rr = rows[s][k];
            if (kind == KGM_VIEW_IMPLICIT && in->kind != KGM_LABEL_IMPLICIT && !(in->label[rr] > 0)) continue;
            cap += 1 + (add_negs ? negs : 0);
        }
        ALLOC(v->row, cap);
        ALLOC(v->user, cap);
        ALLOC(v->item, cap);
        ALLOC(v->label, cap);
        if (kind == KGM_VIEW_IMPRESSIONS) ALLOC(v->label2, cap);
        if (!v->row || !v->user || !v->item || !v->label || (kind == KGM_VIEW_IMPRESSIONS && !v->label2)) {
            st = KGM_ERR(KGM_ERR_NOMEM, "view");
            break;
        }
        int32_t conv_col = kind == KGM_VIEW_IMPRESSIONS ? kgm_table_find(&ds->tabular, "conversion") : -1;
        if (kind == KGM_VIEW_IMPRESSIONS && (conv_col < 0 || ds->tabular.rows != in->n)) {
            st = KGM_ERR(KGM_ERR_ARG, "task '%s' (impressions) needs a per-interaction 'conversion' column", t->spec->name);
            break;
        }
        const kgm_eval_negatives *en = s == 1 ? &ds->valid_neg : s == 2 ? &ds->test_neg : NULL;
        if (kind == KGM_VIEW_IMPLICIT && en && en->n > 0) {
            if (en->n != nr[s]) {
                st = KGM_ERR(KGM_ERR_STATE, "evaluation negatives: %lld rows for %lld split rows", (long long)en->n,
                             (long long)nr[s]);
                break;
            }
            v->neg_k = en->k;
            ALLOC(v->neg, cap * en->k);
            if (!v->neg) {
                st = KGM_ERR(KGM_ERR_NOMEM, "view negatives");
                break;
            }
        }
        int64_t n = 0;
        int32_t *neg = malloc(((size_t)negs + 1) * sizeof *neg);
        for (int64_t k = 0; k < nr[s] && neg; k++) {
            int64_t rr = rows[s][k];
            if (kind == KGM_VIEW_IMPLICIT && in->kind != KGM_LABEL_IMPLICIT && !(in->label[rr] > 0)) continue;
            v->row[n] = rr;
            v->user[n] = in->user[rr];
            v->item[n] = in->item[rr];
            v->label[n] = in->kind == KGM_LABEL_IMPLICIT ? 1.0f : in->label[rr];
            if (v->label2) v->label2[n] = ds->tabular.cols[conv_col].num[rr];
            if (v->neg) memcpy(v->neg + n * v->neg_k, en->items + k * en->k, (size_t)en->k * sizeof *v->neg);
            n++;
            if (add_negs) {
                int32_t got = 0;
                st = kgm_neg_sampler_draw(&ns, &r, in->user[rr], negs, neg, &got);
                if (st) break;
                for (int32_t j = 0; j < got; j++) {
                    v->row[n] = -1;
                    v->user[n] = in->user[rr];
                    v->item[n] = neg[j];
                    v->label[n] = 0.0f;
                    n++;
                }
            }
        }
        if (!neg && !st) st = KGM_ERR(KGM_ERR_NOMEM, "negatives");
        free(neg);
        v->n = n;
        if (!st) st = build_user_pos(v, ds->users.count, false, false);
    }
    if (have_ns) {
        kgm_neg_sampler_destroy(&ns);
        kgm_user_items_destroy(&pos);
    }
    return st;
}

static kgm_status view_kg(kgm_trainer *tr, kgm_run_task *t) {
    const kgm_triples *kg = &tr->ds.kg;
    if (kg->n == 0) return KGM_ERR(KGM_ERR_ARG, "task '%s' needs KG triples, the dataset has none", t->spec->name);
    int8_t *a;
    KGM_TRY(task_split(tr, t, kg->n, 0.05, 0.05, "kg-split", &a));
    for (int s = 0; s < 3; s++) {
        kgm_view_split *v = &t->view.s[s];
        int64_t cap = 0;
        for (int64_t i = 0; i < kg->n; i++) cap += a[i] == s;
        ALLOC(v->row, cap);
        ALLOC(v->head, cap);
        ALLOC(v->rel, cap);
        ALLOC(v->tail, cap);
        if (!v->row || !v->head || !v->rel || !v->tail) {
            free(a);
            return KGM_ERR(KGM_ERR_NOMEM, "kg view");
        }
        for (int64_t i = 0; i < kg->n; i++)
            if (a[i] == s) {
                v->row[v->n] = i;
                v->head[v->n] = kg->h[i];
                v->rel[v->n] = kg->r[i];
                v->tail[v->n] = kg->t[i];
                v->n++;
            }
    }
    free(a);
    return KGM_OK;
}

typedef struct {
    uint64_t key; /* unordered pair (min << 32 | max) */
    int64_t row;
} pair_row;

static int pair_row_cmp(const void *pa, const void *pb) {
    const pair_row *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* Train/valid/test of each social edge, drawn per unordered pair: (a, b) and
 * (b, a) of a directed graph share a split, otherwise one would reveal the
 * other (reciprocity) across splits. Pairs are numbered in order of first
 * appearance, so a graph with each pair once gets the per-edge draw. */
kgm_status kgm_social_split_by_pair(const kgm_social *so, uint64_t seed, int8_t **out) {
    int64_t n = so->n;
    pair_row *v = malloc(((size_t)n + 1) * sizeof *v);
    int64_t *first = malloc(((size_t)n + 1) * sizeof *first);
    if (!v || !first) {
        free(v);
        free(first);
        return KGM_ERR(KGM_ERR_NOMEM, "social split");
    }
    for (int64_t i = 0; i < n; i++) {
        uint32_t a = (uint32_t)so->src[i], b = (uint32_t)so->dst[i];
        v[i] = (pair_row){a < b ? (uint64_t)a << 32 | b : (uint64_t)b << 32 | a, i};
    }
    qsort(v, (size_t)n, sizeof *v, pair_row_cmp);
    for (int64_t g = 0, e; g < n; g = e)
        for (e = g; e < n && v[e].key == v[g].key; e++) first[v[e].row] = v[g].row;
    free(v);
    int64_t ng = 0; /* first[i] = the group number once i is a first listing */
    for (int64_t i = 0; i < n; i++) first[i] = first[i] == i ? ng++ : first[first[i]];
    int8_t *ga, *a = malloc((size_t)n + 1);
    kgm_status st = a ? random_split(ng, 0.1, 0.1, seed, "social-split", &ga) : KGM_ERR(KGM_ERR_NOMEM, "social split");
    if (st == KGM_OK) {
        for (int64_t i = 0; i < n; i++) a[i] = ga[first[i]];
        free(ga);
        *out = a;
    } else {
        free(a);
    }
    free(first);
    return st;
}

static kgm_status view_social(kgm_trainer *tr, kgm_run_task *t) {
    const kgm_social *so = &tr->ds.social;
    if (so->n == 0) return KGM_ERR(KGM_ERR_ARG, "task '%s' needs social edges, the dataset has none", t->spec->name);
    int8_t *a;
    if (strcmp(t->spec->split, "none") == 0) KGM_TRY(task_split(tr, t, so->n, 0.1, 0.1, "social-split", &a));
    else KGM_TRY(kgm_social_split_by_pair(so, tr->data_seed, &a));
    for (int s = 0; s < 3; s++) {
        kgm_view_split *v = &t->view.s[s];
        int64_t cap = 0;
        for (int64_t i = 0; i < so->n; i++) cap += a[i] == s;
        ALLOC(v->row, cap);
        ALLOC(v->src, cap);
        ALLOC(v->dst, cap);
        ALLOC(v->weight, cap);
        if (!v->row || !v->src || !v->dst || !v->weight) {
            free(a);
            return KGM_ERR(KGM_ERR_NOMEM, "social view");
        }
        for (int64_t i = 0; i < so->n; i++)
            if (a[i] == s) {
                v->row[v->n] = i;
                v->src[v->n] = so->src[i];
                v->dst[v->n] = so->dst[i];
                v->weight[v->n] = so->weight ? so->weight[i] : 1.0f;
                v->n++;
            }
        kgm_status st = build_user_pos(v, tr->ds.users.count, true, !so->directed);
        if (st) {
            free(a);
            return st;
        }
    }
    free(a);
    return KGM_OK;
}

static kgm_status view_user_attr(kgm_trainer *tr, kgm_run_task *t) {
    const kgm_table *ua = &tr->ds.user_attrs;
    int32_t c = find_col(ua, t->spec->label, KGM_COL_CATEGORICAL);
    if (c < 0 || ua->cols[c].type != KGM_COL_CATEGORICAL)
        return KGM_ERR(KGM_ERR_ARG, "task '%s' needs a categorical user attribute%s%s", t->spec->name,
                       t->spec->label[0] ? " named " : "", t->spec->label);
    const int32_t *code = ua->cols[c].cat;
    t->view.n_labels = ua->cols[c].levels.count;
    int8_t *a;
    KGM_TRY(task_split(tr, t, ua->rows, 0.1, 0.2, "user-attr-split", &a));
    for (int s = 0; s < 3; s++) {
        kgm_view_split *v = &t->view.s[s];
        ALLOC(v->row, ua->rows);
        ALLOC(v->user, ua->rows);
        ALLOC(v->cls, ua->rows);
        if (!v->row || !v->user || !v->cls) {
            free(a);
            return KGM_ERR(KGM_ERR_NOMEM, "user-attribute view");
        }
        for (int64_t u = 0; u < ua->rows; u++)
            if (a[u] == s && code[u] >= 0) {
                v->row[v->n] = u;
                v->user[v->n] = (int32_t)u;
                v->cls[v->n] = code[u];
                v->n++;
            }
    }
    free(a);
    return KGM_OK;
}

static kgm_status view_item_labels(kgm_trainer *tr, kgm_run_task *t) {
    const kgm_table *ia = &tr->ds.item_attrs;
    int32_t c = find_col(ia, t->spec->label, KGM_COL_MULTI);
    if (c < 0 || ia->cols[c].type != KGM_COL_MULTI)
        return KGM_ERR(KGM_ERR_ARG, "task '%s' needs a multi-valued item attribute%s%s", t->spec->name,
                       t->spec->label[0] ? " named " : "", t->spec->label);
    const kgm_column *col = &ia->cols[c];
    int32_t L = col->levels.count;
    t->view.n_labels = L;
    int64_t n_items = tr->ds.items.count;
    uint8_t *has = calloc((size_t)n_items + 1, 1);
    int8_t *a;
    if (!has) return KGM_ERR(KGM_ERR_NOMEM, "item labels");
    for (int64_t k = 0; k < col->multi_n; k++)
        if (col->multi_row[k] < n_items) has[col->multi_row[k]] = 1;
    kgm_status st = task_split(tr, t, n_items, 0.1, 0.2, "item-label-split", &a);
    if (st) {
        free(has);
        return st;
    }
    for (int s = 0; s < 3 && !st; s++) {
        kgm_view_split *v = &t->view.s[s];
        int64_t cap = 0;
        for (int64_t i = 0; i < n_items; i++) cap += a[i] == s && has[i];
        ALLOC(v->row, cap);
        ALLOC(v->item, cap);
        v->multi = calloc((size_t)(cap + 1) * (size_t)L, sizeof(float));
        int64_t *pos = malloc(((size_t)n_items + 1) * sizeof *pos);
        if (!v->row || !v->item || !v->multi || !pos) {
            free(pos);
            st = KGM_ERR(KGM_ERR_NOMEM, "item-label view");
            break;
        }
        for (int64_t i = 0; i < n_items; i++) {
            pos[i] = -1;
            if (a[i] == s && has[i]) {
                pos[i] = v->n;
                v->row[v->n] = i;
                v->item[v->n] = (int32_t)i;
                v->n++;
            }
        }
        for (int64_t k = 0; k < col->multi_n; k++) {
            int32_t i = col->multi_row[k];
            if (i < n_items && pos[i] >= 0) v->multi[(size_t)pos[i] * L + col->multi_code[k]] = 1.0f;
        }
        free(pos);
    }
    free(a);
    free(has);
    return st;
}

size_t kgm_label_source(const kgm_table *tab, const char *label) {
    const char *eq = strchr(label, '=');
    if (!eq || kgm_table_find(tab, label) >= 0) return strlen(label);
    return (size_t)(eq - label);
}

/* "'a', 'b', ..." (cut short with "..." when it does not fit). */
static void quoted_list(char *buf, size_t size, int32_t count, const char *(*name)(const void *, int32_t), const void *obj) {
    size_t k = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < count; i++) {
        const char *s = name(obj, i);
        if (k + strlen(s) + 8 >= size) {
            snprintf(buf + k, size - k, "%s...", i ? ", " : "");
            return;
        }
        k += (size_t)snprintf(buf + k, size - k, "%s'%s'", i ? ", " : "", s);
    }
}
static const char *level_name(const void *col, int32_t i) { return kgm_idmap_name(&((const kgm_column *)col)->levels, i); }
static const char *column_name(const void *tab, int32_t i) { return ((const kgm_table *)tab)->cols[i].name; }

/* `label: COLUMN=LEVEL[|LEVEL...]` on a categorical column: 1 for the listed
 * levels, 0 for the others, missing stays missing. Fills pos[level] (1/0). */
static kgm_status derived_levels(const kgm_run_task *t, const kgm_column *col, const char *levels, uint8_t *pos) {
    const char *where = t->spec->where[0] ? t->spec->where : t->spec->name;
    if (col->type != KGM_COL_CATEGORICAL)
        return KGM_ERR(KGM_ERR_ARG, "%s: expected a categorical column before '=' in label '%s', found the %s column '%s'",
                       where, t->spec->label, col->type == KGM_COL_NUMERIC ? "numeric" : "non-categorical", col->name);
    for (const char *p = levels;;) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int32_t lv = n ? kgm_idmap_find(&col->levels, p, n) : -1;
        if (lv < 0) {
            char known[512];
            quoted_list(known, sizeof known, col->levels.count, level_name, col);
            return KGM_ERR(KGM_ERR_ARG, "%s: expected a level of column '%s' in label '%s' (levels: %s), found '%.*s'",
                           where, col->name, t->spec->label, known, (int)n, p);
        }
        pos[lv] = 1;
        if (!e) break;
        p = e + 1;
    }
    return KGM_OK;
}

kgm_status kgm_tabular_exclude_columns(const kgm_table *tab, const char *list, const char **out, int cap, int *n) {
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *q = p;
        while (len && (*q == ' ' || *q == '\t')) q++, len--;
        while (len && (q[len - 1] == ' ' || q[len - 1] == '\t')) len--;
        if (len) {
            int32_t c = -1;
            for (int32_t i = 0; i < tab->ncols && c < 0; i++)
                if (strlen(tab->cols[i].name) == len && memcmp(tab->cols[i].name, q, len) == 0) c = i;
            if (c < 0) {
                char known[1200];
                quoted_list(known, sizeof known, tab->ncols, column_name, tab);
                return KGM_ERR(KGM_ERR_ARG, "dataset.exclude_columns: expected a tabular column, found '%.*s' (columns: %s)",
                               (int)len, q, known);
            }
            if (out) {
                if (*n >= cap) return KGM_ERR(KGM_ERR_ARG, "dataset.exclude_columns: too many columns");
                out[(*n)++] = tab->cols[c].name;
            }
        }
        if (!e) break;
        p = e + 1;
    }
    return KGM_OK;
}

static kgm_status view_tabular(kgm_trainer *tr, kgm_run_task *t) {
    const kgm_table *tab = &tr->ds.tabular;
    if (!t->spec->label[0]) return KGM_ERR(KGM_ERR_ARG, "task '%s' on tabular data needs `label: COLUMN`", t->spec->name);
    size_t srcn = kgm_label_source(tab, t->spec->label);
    char src[sizeof t->spec->label];
    snprintf(src, sizeof src, "%.*s", (int)srcn, t->spec->label);
    int32_t c = kgm_table_find(tab, src);
    if (c < 0) return KGM_ERR(KGM_ERR_ARG, "task '%s': no tabular column '%s'", t->spec->name, src);
    const kgm_column *col = &tab->cols[c];
    uint8_t *pos = NULL; /* derived 0/1 label: 1 for these levels */
    if (col->type == KGM_COL_CATEGORICAL && t->spec->label[srcn] != '=') {
        /* level codes follow the order of first appearance in the file: never
         * a label by themselves; the positive level(s) are named */
        char known[512];
        quoted_list(known, sizeof known, col->levels.count, level_name, col);
        return KGM_ERR(KGM_ERR_ARG,
                       "%s: label column '%s' is categorical (levels: %s); name the level(s) that are 1, "
                       "e.g. label: \"%s=%s\" (several: LEVEL|LEVEL; the other levels are 0)",
                       t->spec->where[0] ? t->spec->where : t->spec->name, col->name, known, col->name,
                       col->levels.count ? kgm_idmap_name(&col->levels, col->levels.count - 1) : "LEVEL");
    }
    if (t->spec->label[srcn] == '=') {
        pos = calloc((size_t)(col->type == KGM_COL_CATEGORICAL ? col->levels.count : 0) + 1, 1);
        if (!pos) return KGM_ERR(KGM_ERR_NOMEM, "derived label");
        kgm_status st = derived_levels(t, col, t->spec->label + srcn + 1, pos);
        if (st) {
            free(pos);
            return st;
        }
    }
    int32_t sc = kgm_table_find(tab, "split");
    int8_t *a = NULL;
    if (sc >= 0 && tab->cols[sc].type == KGM_COL_CATEGORICAL) {
        a = malloc((size_t)tab->rows + 1);
        if (!a) {
            free(pos);
            return KGM_ERR(KGM_ERR_NOMEM, "tabular split");
        }
        const kgm_column *scol = &tab->cols[sc];
        int32_t lv[3] = {kgm_idmap_find(&scol->levels, "train", 5), kgm_idmap_find(&scol->levels, "valid", 5),
                         kgm_idmap_find(&scol->levels, "test", 4)};
        bool has_valid = false;
        for (int64_t i = 0; i < tab->rows; i++) {
            int32_t v = scol->cat[i];
            a[i] = v == lv[0] ? 0 : v == lv[1] ? 1 : v == lv[2] ? 2 : -1;
            has_valid |= a[i] == 1;
        }
        if (!has_valid) { /* carve validation out of train (never out of test) */
            kgm_rng r;
            kgm_rng_init(&r, tr->data_seed, kgm_rng_stream_id("tabular-valid", 0));
            for (int64_t i = 0; i < tab->rows; i++)
                if (a[i] == 0 && kgm_rng_uniform(&r) < 0.1) a[i] = 1;
        }
    } else {
        kgm_status st = random_split(tab->rows, tr->cfg->data.valid_frac, tr->cfg->data.test_frac, tr->data_seed, "tabular-split", &a);
        if (st) {
            free(pos);
            return st;
        }
    }
    t->view.tabular = true;
    for (int s = 0; s < 3; s++) {
        kgm_view_split *v = &t->view.s[s];
        ALLOC(v->row, tab->rows);
        ALLOC(v->label, tab->rows);
        if (!v->row || !v->label) {
            free(a);
            free(pos);
            return KGM_ERR(KGM_ERR_NOMEM, "tabular view");
        }
        for (int64_t i = 0; i < tab->rows; i++) {
            if (a[i] != s) continue;
            float y;
            if (col->type == KGM_COL_NUMERIC) {
                y = col->num[i];
                if (isnan(y)) continue; /* missing label: not a sample of this task */
            } else if (col->type == KGM_COL_CATEGORICAL) {
                if (col->cat[i] < 0) continue; /* missing level */
                y = pos ? (float)pos[col->cat[i]] : (float)col->cat[i];
            } else {
                free(a);
                free(pos);
                return KGM_ERR(KGM_ERR_ARG, "task '%s': label column '%s' must be numeric or categorical", t->spec->name,
                               t->spec->label);
            }
            v->row[v->n] = i;
            v->label[v->n] = y;
            v->n++;
        }
    }
    free(a);
    free(pos);
    return KGM_OK;
}

kgm_status kgm_view_split_user_lists(kgm_view_split *s, int32_t n_users) { return build_user_pos(s, n_users, false, false); }

kgm_status kgm_trainer_build_views(kgm_trainer *tr) {
    bool tabular = tr->ds.tabular.rows > 0 && tr->ds.inter.n == 0;
    for (int k = 0; k < tr->n_tasks; k++) {
        kgm_run_task *t = &tr->t[k];
        int32_t view = t->pl->desc.view;
        t->view.kind = view;
        kgm_status st;
        bool own = !tabular && (view == KGM_VIEW_KG || view == KGM_VIEW_SOCIAL || view == KGM_VIEW_USER_ATTR ||
                                view == KGM_VIEW_ITEM_LABELS);
        if (strcmp(t->spec->split, "none") == 0 && !own)
            return KGM_ERR(KGM_ERR_ARG, "%s: task '%s': split none is only for tasks with a split of their own (KG triples, "
                           "social edges, user attributes, item labels); this one uses the dataset's split",
                           t->spec->where[0] ? t->spec->where : "task", t->spec->name);
        if (tabular && (view == KGM_VIEW_INTERACTIONS || view == KGM_VIEW_RATINGS || view == KGM_VIEW_TABULAR))
            st = view_tabular(tr, t);
        else switch (view) {
            case KGM_VIEW_INTERACTIONS:
            case KGM_VIEW_RATINGS:
            case KGM_VIEW_IMPLICIT:
            case KGM_VIEW_IMPRESSIONS: st = view_interactions(tr, t, view); break;
            case KGM_VIEW_KG: st = view_kg(tr, t); break;
            case KGM_VIEW_SOCIAL: st = view_social(tr, t); break;
            case KGM_VIEW_USER_ATTR: st = view_user_attr(tr, t); break;
            case KGM_VIEW_ITEM_LABELS: st = view_item_labels(tr, t); break;
            case KGM_VIEW_TABULAR: st = view_tabular(tr, t); break;
            default: st = KGM_ERR(KGM_ERR_UNSUPPORTED, "task '%s': unknown data view %d", t->spec->name, view);
            }
        if (st) return kgm_error_wrap(st, "task '%s'", t->spec->name);
        if (t->view.s[0].n == 0) return KGM_ERR(KGM_ERR_ARG, "task '%s' has no training rows", t->spec->name);
    }
    bool ranked = false;
    for (int k = 0; k < tr->n_tasks; k++) ranked |= tr->t[k].view.kind == KGM_VIEW_IMPLICIT;
    if (tr->cfg->data.eval_negatives > 0 && !ranked)
        return KGM_ERR(KGM_ERR_ARG,
                       "dataset.eval_negatives = %d: expected a top-K ranking task (implicit view, e.g. plugin topk) to "
                       "rank against them, found none; set dataset.eval_negatives: 0",
                       tr->cfg->data.eval_negatives);
    return KGM_OK;
}

/* ---- batches and representations ------------------------------------------------------ */

#define COPY_FIELD(f)                                                                                              \
    do {                                                                                                           \
        if (vs->f) {                                                                                               \
            __typeof__(vs->f[0]) *dst_;                                                                           \
            KGM_TRY(kgm_tape_alloc(tr->tp, (size_t)(n ? n : 1) * sizeof *dst_, (void **)&dst_));                 \
            for (int32_t i = 0; i < n; i++) dst_[i] = vs->f[rows[i]];                                             \
            b->f = dst_;                                                                                           \
        }                                                                                                          \
    } while (0)

kgm_status kgm_trainer_make_batch(kgm_trainer *tr, kgm_run_task *t, const kgm_view_split *vs, int32_t split,
                                  const int64_t *rows, int32_t n, kgm_batch *b) {
    memset(b, 0, sizeof *b);
    b->struct_size = sizeof *b;
    b->n = n;
    b->split = split;
    b->n_labels = t->view.n_labels;
    int64_t *r;
    KGM_TRY(kgm_tape_alloc(tr->tp, (size_t)(n ? n : 1) * sizeof *r, (void **)&r));
    for (int32_t i = 0; i < n; i++) r[i] = vs->row[rows[i]];
    b->row = r;
    COPY_FIELD(user);
    COPY_FIELD(item);
    COPY_FIELD(label);
    COPY_FIELD(label2);
    COPY_FIELD(head);
    COPY_FIELD(rel);
    COPY_FIELD(tail);
    COPY_FIELD(src);
    COPY_FIELD(dst);
    COPY_FIELD(weight);
    COPY_FIELD(cls);
    if (vs->multi) {
        int32_t L = t->view.n_labels;
        float *m;
        KGM_TRY(kgm_tape_alloc(tr->tp, (size_t)(n ? n : 1) * (size_t)L * sizeof *m, (void **)&m));
        for (int32_t i = 0; i < n; i++) memcpy(m + (size_t)i * L, vs->multi + (size_t)rows[i] * L, (size_t)L * sizeof *m);
        b->multi = m;
    }
    return KGM_OK;
}

kgm_status kgm_trainer_represent(kgm_trainer *tr, kgm_run_task *t, kgm_tape *tp, const kgm_batch *b, kgm_tensor **h) {
    int32_t input = t->pl->desc.input;
    kgm_params *ps = tr->ps;
    if (input == KGM_INPUT_USER) {
        if (!b->user) return KGM_ERR(KGM_ERR_ARG, "task '%s': USER input needs batch users", t->spec->name);
        return kgm_encoder_users(&tr->enc, tp, ps, b->user, b->n, h);
    }
    if (input == KGM_INPUT_ITEM) {
        if (!b->item) return KGM_ERR(KGM_ERR_ARG, "task '%s': ITEM input needs batch items", t->spec->name);
        return kgm_encoder_items(&tr->enc, tp, ps, b->item, b->n, h);
    }
    if (input == KGM_INPUT_NONE) return KGM_ERR(KGM_ERR_STATE, "task '%s' declares no input representation", t->spec->name);
    if (!tr->has_mixer || t->slot < 0) return KGM_ERR(KGM_ERR_STATE, "task '%s' has no mixer slot", t->spec->name);
    /* Tasks sharing a stream in a training step reuse one mixer pass. */
    if (tr->cache_rows && tr->cache_stream == t->stream && tr->cache_rows == b->row && tr->cache_out[t->slot] &&
        tr->cache_gen == kgm_tape_generation(tp)) {
        *h = tr->cache_out[t->slot];
        return KGM_OK;
    }
    kgm_tensor *x;
    if (t->view.tabular) {
        KGM_TRY(kgm_encoder_tabular(&tr->enc, tp, ps, b->row, b->n, &x));
    } else {
        if (!b->user || !b->item) return KGM_ERR(KGM_ERR_ARG, "task '%s': PAIR input needs users and items", t->spec->name);
        KGM_TRY(kgm_encoder_pair(&tr->enc, tp, ps, b->user, b->item, b->n, &x));
        if (tr->cfg->encoder.dropout > 0) KGM_TRY(kgm_op_dropout(tp, x, (float)tr->cfg->encoder.dropout, &tr->rng_drop, &x));
    }
    bool want[KGM_MAX_TASKS] = {0};
    for (int k = 0; k < tr->n_tasks; k++)
        if (tr->t[k].slot >= 0 && tr->t[k].stream == t->stream) want[tr->t[k].slot] = true;
    kgm_tensor *outs[KGM_MAX_TASKS];
    KGM_TRY(kgm_mixer_forward(&tr->mix, tp, ps, x, want, &tr->rng_drop, outs));
    if (kgm_tape_grad_enabled(tp)) {
        tr->cache_stream = t->stream;
        tr->cache_rows = b->row;
        tr->cache_gen = kgm_tape_generation(tp);
        for (int k = 0; k < KGM_MAX_TASKS; k++) tr->cache_out[k] = k < tr->mix.n_tasks ? outs[k] : NULL;
    }
    *h = outs[t->slot];
    return KGM_OK;
}

/* ---- backend for plugins ------------------------------------------------------------------ */

static kgm_run_task *task_of(void *self) { return self; }

static const kgm_view_split *split_of(kgm_run_task *t, kgm_split_id s) {
    if (s == KGM_SPLIT_TEST && t->use_cold) return &t->cold_split;
    return &t->view.s[s];
}

static int64_t be_count(void *self, kgm_task_ctx *ctx, kgm_count_kind what) {
    kgm_run_task *t = task_of(self);
    kgm_trainer *tr = t->tr;
    switch (what) {
    case KGM_COUNT_USERS: return tr->ds.users.count;
    case KGM_COUNT_ITEMS: return tr->ds.items.count;
    case KGM_COUNT_ENTITIES: return tr->ds.entities.count;
    case KGM_COUNT_RELATIONS: return tr->ds.relations.count;
    case KGM_COUNT_CLASSES: return t->view.n_labels;
    case KGM_COUNT_ROWS_TRAIN: return t->view.s[0].n;
    case KGM_COUNT_ROWS_VALID: return t->view.s[1].n;
    case KGM_COUNT_ROWS_TEST: return split_of(t, KGM_SPLIT_TEST)->n;
    case KGM_COUNT_DIM: return tr->enc.d;
    case KGM_COUNT_HIDDEN:
        if (t->pl->desc.input == KGM_INPUT_PAIR || t->pl->desc.input == KGM_INPUT_TABULAR) return tr->mix.out_dim;
        return tr->enc.d;
    case KGM_COUNT_PAIR_RAW: /* mixer.kind none on (user, item) rows: h = [u, v, u*v] */
        return t->pl->desc.input == KGM_INPUT_PAIR && !t->view.tabular && tr->has_mixer && tr->mix.kind == KGM_MIXER_NONE;
    }
    (void)ctx;
    return -1;
}

static kgm_status be_split_rows(void *self, kgm_task_ctx *ctx, kgm_split_id split, kgm_batch *out) {
    kgm_run_task *t = task_of(self);
    if (split < 0 || split > 2) return KGM_ERR(KGM_ERR_ARG, "split %d outside train/valid/test", (int)split);
    const kgm_view_split *v = split_of(t, split);
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->n = (int32_t)v->n;
    out->split = split;
    out->n_labels = t->view.n_labels;
    out->row = v->row;
    out->user = v->user;
    out->item = v->item;
    out->label = v->label;
    out->label2 = v->label2;
    out->head = v->head;
    out->rel = v->rel;
    out->tail = v->tail;
    out->src = v->src;
    out->dst = v->dst;
    out->weight = v->weight;
    out->cls = v->cls;
    out->multi = v->multi;
    (void)ctx;
    return KGM_OK;
}

static kgm_status be_user_items(void *self, kgm_task_ctx *ctx, kgm_split_id split, const int64_t **rowptr,
                                const int32_t **col) {
    kgm_run_task *t = task_of(self);
    if (split < 0 || split > 2) return KGM_ERR(KGM_ERR_ARG, "split %d outside train/valid/test", (int)split);
    const kgm_view_split *v = split_of(t, split); /* the cold-start subset while it is evaluated */
    if (!v->up_ptr) return KGM_ERR(KGM_ERR_UNSUPPORTED, "task '%s': per-user lists exist only for user-item and social views", t->spec->name);
    *rowptr = v->up_ptr;
    *col = v->up_col;
    (void)ctx;
    return KGM_OK;
}

static kgm_status be_eval_negatives(void *self, kgm_task_ctx *ctx, kgm_split_id split, int32_t *k,
                                    const int32_t **items) {
    kgm_run_task *t = task_of(self);
    (void)ctx;
    t->neg_asked = true;
    if (split != KGM_SPLIT_VALID && split != KGM_SPLIT_TEST)
        return KGM_ERR(KGM_ERR_ARG, "eval_negatives: split %d, expected valid or test", (int)split);
    const kgm_view_split *v = split_of(t, split);
    *k = v->neg ? v->neg_k : 0;
    *items = v->neg;
    return KGM_OK;
}

static kgm_status be_kg_true_tails(void *self, kgm_task_ctx *ctx, int32_t head, int32_t rel, const int32_t **tails,
                                   int32_t *n) {
    kgm_trainer *tr = task_of(self)->tr;
    int64_t lo = 0, hi = tr->kg_n;
    while (lo < hi) { /* first (h, r) >= (head, rel) */
        int64_t mid = (lo + hi) / 2;
        if (tr->kg_h[mid] < head || (tr->kg_h[mid] == head && tr->kg_r[mid] < rel)) lo = mid + 1;
        else hi = mid;
    }
    int64_t e = lo;
    while (e < tr->kg_n && tr->kg_h[e] == head && tr->kg_r[e] == rel) e++;
    *tails = tr->kg_t + lo;
    *n = (int32_t)(e - lo);
    (void)ctx;
    return KGM_OK;
}

static kgm_status be_embed(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, const int32_t *ids, int32_t n,
                           kgm_tensor **out) {
    kgm_trainer *tr = task_of(self)->tr;
    switch (kind) {
    case KGM_KIND_USER: return kgm_encoder_users(&tr->enc, tp, tr->ps, ids, n, out);
    case KGM_KIND_ITEM: return kgm_encoder_items(&tr->enc, tp, tr->ps, ids, n, out);
    case KGM_KIND_ENTITY: return kgm_encoder_entities(&tr->enc, tp, tr->ps, ids, n, out);
    case KGM_KIND_RELATION: return kgm_encoder_relations(&tr->enc, tp, tr->ps, ids, n, out);
    }
    (void)ctx;
    return KGM_ERR(KGM_ERR_ARG, "unknown embedding kind %d", (int)kind);
}

static kgm_status be_embed_all(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, kgm_tensor **out) {
    kgm_trainer *tr = task_of(self)->tr;
    int64_t n = kind == KGM_KIND_USER ? tr->ds.users.count
              : kind == KGM_KIND_ITEM ? tr->ds.items.count
              : kind == KGM_KIND_ENTITY ? tr->ds.entities.count
                                        : tr->ds.relations.count;
    int32_t *ids;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof *ids, (void **)&ids));
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)i;
    return be_embed(self, ctx, tp, kind, ids, (int32_t)n, out);
}

static kgm_status be_represent(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **h) {
    kgm_run_task *t = task_of(self);
    (void)ctx;
    return kgm_trainer_represent(t->tr, t, tp, b, h);
}

const kgm_task_backend kgm_trainer_backend = {
    .self = NULL,
    .count = be_count,
    .split_rows = be_split_rows,
    .user_items = be_user_items,
    .kg_true_tails = be_kg_true_tails,
    .embed = be_embed,
    .embed_all = be_embed_all,
    .represent = be_represent,
    .eval_negatives = be_eval_negatives,
};
