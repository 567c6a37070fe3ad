/* The dataset container: appenders, validation, fingerprint, summary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

void kgm_prep_settings_default(kgm_prep_settings *p) {
    memset(p, 0, sizeof *p);
    p->rating_threshold = NAN;
    p->split = KGM_SPLIT_NONE;
    p->eval_neg_kind = KGM_NEG_UNIFORM;
    p->seed = 1;
}

void kgm_dataset_init(kgm_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    kgm_idmap_init(&ds->users);
    kgm_idmap_init(&ds->items);
    kgm_idmap_init(&ds->entities);
    kgm_idmap_init(&ds->relations);
    kgm_table_init(&ds->user_attrs);
    kgm_table_init(&ds->item_attrs);
    kgm_table_init(&ds->entity_attrs);
    kgm_table_init(&ds->tabular);
    kgm_strings_init(&ds->item_text);
    kgm_strings_init(&ds->entity_text);
    ds->inter.kind = KGM_LABEL_IMPLICIT;
    kgm_prep_settings_default(&ds->prov.prep);
}

void kgm_dataset_destroy(kgm_dataset *ds) {
    kgm_idmap_destroy(&ds->users);
    kgm_idmap_destroy(&ds->items);
    kgm_idmap_destroy(&ds->entities);
    kgm_idmap_destroy(&ds->relations);
    free(ds->inter.user);
    free(ds->inter.item);
    free(ds->inter.label);
    free(ds->inter.ts);
    free(ds->kg.h);
    free(ds->kg.r);
    free(ds->kg.t);
    free(ds->social.src);
    free(ds->social.dst);
    free(ds->social.weight);
    free(ds->item_entity);
    kgm_table_destroy(&ds->user_attrs);
    kgm_table_destroy(&ds->item_attrs);
    kgm_table_destroy(&ds->entity_attrs);
    kgm_table_destroy(&ds->tabular);
    kgm_strings_destroy(&ds->item_text);
    kgm_strings_destroy(&ds->entity_text);
    free(ds->split.train);
    free(ds->split.valid);
    free(ds->split.test);
    free(ds->valid_neg.items);
    free(ds->test_neg.items);
    free(ds->prov.loader);
    for (int32_t i = 0; i < ds->prov.n_sources; i++) {
        free(ds->prov.sources[i].path);
        free(ds->prov.sources[i].role);
    }
    free(ds->prov.sources);
    memset(ds, 0, sizeof *ds);
}

/* Grow all arrays of the interactions together (one capacity). */
static kgm_status inter_reserve(kgm_interactions *it, int64_t need) {
    if (need <= it->cap) return KGM_OK;
    int64_t nc = it->cap ? it->cap * 2 : 1024;
    while (nc < need) nc *= 2;
    int32_t *u = realloc(it->user, (size_t)nc * sizeof *u);
    if (!u) return KGM_ERR(KGM_ERR_NOMEM, "interactions");
    it->user = u;
    int32_t *i = realloc(it->item, (size_t)nc * sizeof *i);
    if (!i) return KGM_ERR(KGM_ERR_NOMEM, "interactions");
    it->item = i;
    float *l = realloc(it->label, (size_t)nc * sizeof *l);
    if (!l) return KGM_ERR(KGM_ERR_NOMEM, "interactions");
    it->label = l;
    if (it->ts || it->n == 0) {
        int64_t *t = realloc(it->ts, (size_t)nc * sizeof *t);
        if (!t) return KGM_ERR(KGM_ERR_NOMEM, "interactions");
        it->ts = t;
        kgm__prefault(t + it->cap, (size_t)(nc - it->cap) * sizeof *t);
    }
    kgm__prefault(it->user + it->cap, (size_t)(nc - it->cap) * sizeof *it->user);
    kgm__prefault(it->item + it->cap, (size_t)(nc - it->cap) * sizeof *it->item);
    kgm__prefault(it->label + it->cap, (size_t)(nc - it->cap) * sizeof *it->label);
    it->cap = nc;
    return KGM_OK;
}

kgm_status kgm_dataset_add_interaction(kgm_dataset *ds, int32_t user, int32_t item, float label,
                                       bool has_ts, int64_t ts) {
    kgm_interactions *it = &ds->inter;
    if (it->n == it->cap) KGM_TRY(inter_reserve(it, it->n + 1));
    if (it->n == 0 && !has_ts) {
        free(it->ts);
        it->ts = NULL;
    }
    int64_t k = it->n++;
    it->user[k] = user;
    it->item[k] = item;
    it->label[k] = label;
    if (it->ts) it->ts[k] = has_ts ? ts : 0;
    return KGM_OK;
}

kgm_status kgm_dataset_add_triple(kgm_dataset *ds, int32_t h, int32_t r, int32_t t) {
    kgm_triples *kg = &ds->kg;
    if (kg->n == kg->cap) {
        int64_t nc = kg->cap ? kg->cap * 2 : 1024;
        int32_t *a = realloc(kg->h, (size_t)nc * sizeof *a);
        if (!a) return KGM_ERR(KGM_ERR_NOMEM, "triples");
        kg->h = a;
        a = realloc(kg->r, (size_t)nc * sizeof *a);
        if (!a) return KGM_ERR(KGM_ERR_NOMEM, "triples");
        kg->r = a;
        a = realloc(kg->t, (size_t)nc * sizeof *a);
        if (!a) return KGM_ERR(KGM_ERR_NOMEM, "triples");
        kg->t = a;
        kgm__prefault(kg->h + kg->cap, (size_t)(nc - kg->cap) * 4);
        kgm__prefault(kg->r + kg->cap, (size_t)(nc - kg->cap) * 4);
        kgm__prefault(kg->t + kg->cap, (size_t)(nc - kg->cap) * 4);
        kg->cap = nc;
    }
    int64_t k = kg->n++;
    kg->h[k] = h;
    kg->r[k] = r;
    kg->t[k] = t;
    return KGM_OK;
}

kgm_status kgm_dataset_add_edge(kgm_dataset *ds, int32_t src, int32_t dst, bool weighted, float weight) {
    kgm_social *s = &ds->social;
    if (s->n == s->cap) {
        int64_t nc = s->cap ? s->cap * 2 : 256;
        int32_t *a = realloc(s->src, (size_t)nc * sizeof *a);
        if (!a) return KGM_ERR(KGM_ERR_NOMEM, "social edges");
        s->src = a;
        a = realloc(s->dst, (size_t)nc * sizeof *a);
        if (!a) return KGM_ERR(KGM_ERR_NOMEM, "social edges");
        s->dst = a;
        if (s->weight) {
            float *w = realloc(s->weight, (size_t)nc * sizeof *w);
            if (!w) return KGM_ERR(KGM_ERR_NOMEM, "social edges");
            s->weight = w;
        }
        s->cap = nc;
    }
    if (weighted && !s->weight) {
        float *w = malloc((size_t)s->cap * sizeof *w);
        if (!w) return KGM_ERR(KGM_ERR_NOMEM, "social weights");
        for (int64_t i = 0; i < s->n; i++) w[i] = 1.0f;
        s->weight = w;
    }
    int64_t k = s->n++;
    s->src[k] = src;
    s->dst[k] = dst;
    if (s->weight) s->weight[k] = weighted ? weight : 1.0f;
    return KGM_OK;
}

kgm_status kgm_dataset_set_item_entity(kgm_dataset *ds, int32_t item, int32_t entity) {
    if (item < 0) return KGM_ERR(KGM_ERR_INDEX, "item %d", item);
    if (item >= ds->n_item_entity) {
        int32_t nc = ds->n_item_entity ? ds->n_item_entity : 64;
        while (nc <= item) nc = nc > INT32_MAX / 2 ? INT32_MAX : nc * 2;
        int32_t *p = realloc(ds->item_entity, (size_t)nc * sizeof *p);
        if (!p) return KGM_ERR(KGM_ERR_NOMEM, "item-entity link");
        for (int32_t i = ds->n_item_entity; i < nc; i++) p[i] = -1;
        ds->item_entity = p;
        ds->n_item_entity = nc;
    }
    ds->item_entity[item] = entity;
    return KGM_OK;
}

kgm_status kgm_dataset_add_source_sum(kgm_dataset *ds, const char *path, const char *role,
                                      uint64_t bytes, uint64_t checksum) {
    kgm_provenance *p = &ds->prov;
    if (p->n_sources == p->cap_sources) {
        int32_t nc = p->cap_sources ? p->cap_sources * 2 : 4;
        kgm_data_source *s = realloc(p->sources, (size_t)nc * sizeof *s);
        if (!s) return KGM_ERR(KGM_ERR_NOMEM, "sources");
        p->sources = s;
        p->cap_sources = nc;
    }
    kgm_data_source *s = &p->sources[p->n_sources];
    s->path = kgm__strdup(path ? path : "");
    s->role = kgm__strdup(role ? role : "");
    if (!s->path || !s->role) {
        free(s->path);
        free(s->role);
        return KGM_ERR(KGM_ERR_NOMEM, "source record");
    }
    s->bytes = bytes;
    s->checksum = checksum;
    p->n_sources++;
    return KGM_OK;
}

kgm_status kgm_dataset_add_source(kgm_dataset *ds, const char *path, const char *role) {
    uint64_t bytes, sum;
    KGM_TRY(kgm_file_checksum(path, &bytes, &sum));
    return kgm_dataset_add_source_sum(ds, path, role, bytes, sum);
}

/* ---- validation ---------------------------------------------------------------- */

static kgm_status check_ids(const int32_t *a, int64_t n, int32_t lim, const char *what) {
    if (n > 0 && !a) return KGM_ERR(KGM_ERR_INDEX, "%s: %lld entries but no array", what, (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (a[i] < 0 || a[i] >= lim)
            return KGM_ERR(KGM_ERR_INDEX, "%s[%lld] = %d, expected 0..%d", what, (long long)i, a[i], lim - 1);
    return KGM_OK;
}

static kgm_status check_rows(const int64_t *a, int64_t n, int64_t lim, const char *what) {
    if (n > 0 && !a) return KGM_ERR(KGM_ERR_INDEX, "%s: %lld entries but no array", what, (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (a[i] < 0 || a[i] >= lim)
            return KGM_ERR(KGM_ERR_INDEX, "%s[%lld] = %lld, expected 0..%lld", what, (long long)i,
                           (long long)a[i], (long long)lim - 1);
    return KGM_OK;
}

static kgm_status check_negs(const kgm_eval_negatives *ng, int64_t rows, int32_t n_items, const char *what) {
    if (ng->n == 0) return KGM_OK;
    if (ng->n != rows || ng->k <= 0 || !ng->items)
        return KGM_ERR(KGM_ERR_INDEX, "%s: %lld rows of %d, expected %lld rows", what, (long long)ng->n, ng->k,
                       (long long)rows);
    for (int64_t i = 0; i < ng->n * ng->k; i++)
        if (ng->items[i] < 0 || ng->items[i] >= n_items) /* no padding: every row ranks against k items */
            return KGM_ERR(KGM_ERR_INDEX, "%s: entry %lld is item %d, expected 0..%d", what, (long long)i,
                           ng->items[i], n_items - 1);
    return KGM_OK;
}

static kgm_status check_table(const kgm_table *t, int64_t max_rows, const char *what) {
    if (max_rows >= 0 && t->rows > max_rows)
        return KGM_ERR(KGM_ERR_INDEX, "%s has %lld rows, expected at most %lld", what, (long long)t->rows,
                       (long long)max_rows);
    for (int32_t c = 0; c < t->ncols; c++) {
        const kgm_column *col = &t->cols[c];
        if (col->type == KGM_COL_CATEGORICAL) {
            for (int64_t r = 0; r < t->rows; r++)
                if (col->cat[r] < -1 || col->cat[r] >= col->levels.count)
                    return KGM_ERR(KGM_ERR_INDEX, "%s.%s row %lld: level %d", what, col->name, (long long)r,
                                   col->cat[r]);
        } else if (col->type == KGM_COL_MULTI) {
            KGM_TRY(check_ids(col->multi_code, col->multi_n, col->levels.count, col->name));
            for (int64_t i = 0; i < col->multi_n; i++)
                if (col->multi_row[i] < 0 || col->multi_row[i] >= t->rows)
                    return KGM_ERR(KGM_ERR_INDEX, "%s.%s pair %lld: row %d", what, col->name, (long long)i,
                                   col->multi_row[i]);
        } else if (col->type == KGM_COL_TEXT) {
            if (col->text.n > t->rows)
                return KGM_ERR(KGM_ERR_INDEX, "%s.%s has %lld text rows", what, col->name,
                               (long long)col->text.n);
        }
    }
    return KGM_OK;
}

kgm_status kgm_dataset_validate(const kgm_dataset *ds) {
    const kgm_interactions *it = &ds->inter;
    KGM_TRY(check_ids(it->user, it->n, ds->users.count, "inter.user"));
    KGM_TRY(check_ids(it->item, it->n, ds->items.count, "inter.item"));
    KGM_TRY(check_ids(ds->kg.h, ds->kg.n, ds->entities.count, "kg.h"));
    KGM_TRY(check_ids(ds->kg.r, ds->kg.n, ds->relations.count, "kg.r"));
    KGM_TRY(check_ids(ds->kg.t, ds->kg.n, ds->entities.count, "kg.t"));
    KGM_TRY(check_ids(ds->social.src, ds->social.n, ds->users.count, "social.src"));
    KGM_TRY(check_ids(ds->social.dst, ds->social.n, ds->users.count, "social.dst"));
    for (int32_t i = 0; i < ds->n_item_entity; i++)
        if (ds->item_entity[i] < -1 || ds->item_entity[i] >= ds->entities.count)
            return KGM_ERR(KGM_ERR_INDEX, "item_entity[%d] = %d, expected -1..%d", i, ds->item_entity[i],
                           ds->entities.count - 1);
    KGM_TRY(check_rows(ds->split.train, ds->split.n_train, it->n, "split.train"));
    KGM_TRY(check_rows(ds->split.valid, ds->split.n_valid, it->n, "split.valid"));
    KGM_TRY(check_rows(ds->split.test, ds->split.n_test, it->n, "split.test"));
    KGM_TRY(check_negs(&ds->valid_neg, ds->split.n_valid, ds->items.count, "valid_neg"));
    KGM_TRY(check_negs(&ds->test_neg, ds->split.n_test, ds->items.count, "test_neg"));
    KGM_TRY(check_table(&ds->user_attrs, ds->users.count, "user_attrs"));
    KGM_TRY(check_table(&ds->item_attrs, ds->items.count, "item_attrs"));
    KGM_TRY(check_table(&ds->entity_attrs, ds->entities.count, "entity_attrs"));
    KGM_TRY(check_table(&ds->tabular, -1, "tabular"));
    if (ds->item_text.n > ds->items.count)
        return KGM_ERR(KGM_ERR_INDEX, "item_text has %lld rows for %d items", (long long)ds->item_text.n,
                       ds->items.count);
    if (ds->entity_text.n > ds->entities.count)
        return KGM_ERR(KGM_ERR_INDEX, "entity_text has %lld rows for %d entities",
                       (long long)ds->entity_text.n, ds->entities.count);
    return KGM_OK;
}

/* ---- fingerprint and summary ---------------------------------------------------- */

uint64_t kgm_dataset_fingerprint(const kgm_dataset *ds) {
    kgm_hasher h;
    kgm_hasher_init(&h);
    const kgm_provenance *p = &ds->prov;
    if (p->loader) kgm_hasher_update(&h, p->loader, strlen(p->loader));
    for (int32_t i = 0; i < p->n_sources; i++) {
        kgm_hasher_update(&h, p->sources[i].role, strlen(p->sources[i].role));
        kgm_hasher_update(&h, &p->sources[i].bytes, sizeof p->sources[i].bytes);
        kgm_hasher_update(&h, &p->sources[i].checksum, sizeof p->sources[i].checksum);
    }
    if (p->prepared) {
        /* field by field: the struct has padding */
        const kgm_prep_settings *s = &p->prep;
        int64_t v[9] = {s->min_user_interactions, s->min_item_interactions, s->drop_below_threshold,
                        s->dedup, s->split, s->loo_valid, s->eval_neg_kind, s->eval_negatives,
                        (int64_t)s->seed};
        float f[3] = {s->rating_threshold, s->valid_frac, s->test_frac};
        if (isnan(f[0])) f[0] = NAN; /* one NaN spelling */
        kgm_hasher_update(&h, v, sizeof v);
        kgm_hasher_update(&h, f, sizeof f);
    }
    /* the data itself: counts (cheap, catches generated data too) */
    int64_t c[6] = {ds->inter.n, ds->kg.n, ds->social.n, ds->users.count, ds->items.count,
                    ds->entities.count};
    kgm_hasher_update(&h, c, sizeof c);
    return kgm_hasher_final(&h);
}

static const char *split_name(kgm_split_kind k) {
    switch (k) {
    case KGM_SPLIT_NONE: return "none";
    case KGM_SPLIT_RANDOM: return "random";
    case KGM_SPLIT_LOO: return "leave-one-out";
    case KGM_SPLIT_TEMPORAL: return "temporal";
    case KGM_SPLIT_MKR: return "mkr-6:2:2";
    case KGM_SPLIT_GIVEN: return "given";
    }
    return "?";
}

void kgm_dataset_summary(const kgm_dataset *ds, FILE *out) {
    const kgm_interactions *it = &ds->inter;
    fprintf(out, "dataset %s (loader %s, fingerprint %016llx)\n", ds->name[0] ? ds->name : "(unnamed)",
            ds->prov.loader ? ds->prov.loader : "-", (unsigned long long)kgm_dataset_fingerprint(ds));
    fprintf(out, "  users %d  items %d  entities %d  relations %d\n", ds->users.count, ds->items.count,
            ds->entities.count, ds->relations.count);
    if (it->n) {
        double cells = (double)ds->users.count * (double)ds->items.count;
        static const char *kinds[] = {"implicit", "binary", "rating"};
        fprintf(out, "  interactions %lld (%s%s)  density %.6f%%  sparsity %.4f%%\n", (long long)it->n,
                kinds[it->kind], it->ts ? ", timestamps" : "", cells > 0 ? 100.0 * (double)it->n / cells : 0.0,
                cells > 0 ? 100.0 * (1.0 - (double)it->n / cells) : 0.0);
        if (it->kind != KGM_LABEL_IMPLICIT) {
            double lo = INFINITY, hi = -INFINITY, sum = 0;
            for (int64_t i = 0; i < it->n; i++) {
                lo = fmin(lo, it->label[i]);
                hi = fmax(hi, it->label[i]);
                sum += it->label[i];
            }
            fprintf(out, "  labels min %g max %g mean %.4f\n", lo, hi, sum / (double)it->n);
        }
    }
    if (ds->kg.n) fprintf(out, "  kg triples %lld\n", (long long)ds->kg.n);
    if (ds->social.n)
        fprintf(out, "  social edges %lld (%s%s)\n", (long long)ds->social.n,
                ds->social.directed ? "directed" : "undirected", ds->social.weight ? ", weighted" : "");
    if (ds->n_item_entity) {
        int32_t linked = 0;
        for (int32_t i = 0; i < ds->n_item_entity; i++) linked += ds->item_entity[i] >= 0;
        fprintf(out, "  items linked to kg entities %d of %d (%.1f%%)\n", linked, ds->items.count,
                ds->items.count ? 100.0 * linked / ds->items.count : 0.0);
    }
    const kgm_table *tabs[4] = {&ds->user_attrs, &ds->item_attrs, &ds->entity_attrs, &ds->tabular};
    const char *tn[4] = {"user attributes", "item attributes", "entity attributes", "tabular"};
    for (int k = 0; k < 4; k++) {
        const kgm_table *t = tabs[k];
        if (!t->ncols) continue;
        fprintf(out, "  %s: %lld rows, %d columns:", tn[k], (long long)t->rows, t->ncols);
        for (int32_t c = 0; c < t->ncols; c++) {
            static const char *ty[] = {"num", "cat", "multi", "text"};
            const kgm_column *col = &t->cols[c];
            fprintf(out, " %s(%s", col->name, ty[col->type]);
            if (col->type == KGM_COL_CATEGORICAL || col->type == KGM_COL_MULTI)
                fprintf(out, " %d levels", col->levels.count);
            if (col->missing && col->type != KGM_COL_MULTI) fprintf(out, ", %lld missing", (long long)col->missing);
            fprintf(out, ")");
        }
        fprintf(out, "\n");
    }
    if (ds->item_text.n) fprintf(out, "  item text rows %lld\n", (long long)ds->item_text.n);
    if (ds->entity_text.n) fprintf(out, "  entity text rows %lld\n", (long long)ds->entity_text.n);
    const kgm_provenance *p = &ds->prov;
    fprintf(out, "  rows read %lld, skipped %lld, duplicates %lld\n", (long long)p->rows_read,
            (long long)p->rows_skipped, (long long)p->duplicates);
    if (p->prepared) {
        fprintf(out, "  prepared: split %s (train %lld, valid %lld, test %lld), filtered %lld rows, seed %llu",
                split_name(p->prep.split), (long long)ds->split.n_train, (long long)ds->split.n_valid,
                (long long)ds->split.n_test, (long long)p->rows_filtered, (unsigned long long)p->prep.seed);
        if (p->prep.eval_negatives) fprintf(out, ", %d eval negatives per row", p->prep.eval_negatives);
        fprintf(out, "\n");
    }
    for (int32_t i = 0; i < p->n_sources; i++)
        fprintf(out, "  source %-8s %s (%llu bytes, checksum %016llx)\n", p->sources[i].role,
                p->sources[i].path, (unsigned long long)p->sources[i].bytes,
                (unsigned long long)p->sources[i].checksum);
}
