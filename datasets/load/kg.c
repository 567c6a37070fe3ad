/* Knowledge-graph recommendation formats: MKR/KGCN/RippleNet and KGAT. */
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

/* Items and entities share raw ids in MKR and KGAT data (their preprocessing
 * numbers items first among entities): intern the entity of every item and
 * link them. */
static kgm_status link_same_ids(kgm_dataset *ds) {
    for (int32_t i = 0; i < ds->items.count; i++) {
        const char *name = kgm_idmap_name(&ds->items, i);
        int32_t e;
        KGM_TRY(kgm_idmap_intern(&ds->entities, name, strlen(name), &e));
        KGM_TRY(kgm_dataset_set_item_entity(ds, i, e));
    }
    return KGM_OK;
}

typedef struct {
    kgm_dataset *ds;
    const kgm_text_format *f;
    int what;
} kg_ctx;

static kgm_status body_kg(kgm_reader *r, void *v) {
    kg_ctx *c = v;
    if (c->what == 0) return kgm__load_interactions_rd(r, c->f, c->ds);
    return kgm__load_triples_rd(r, c->f, c->ds);
}

kgm_status kgm_load_mkr(const char *dir, const kgm_load_opts *o, kgm_dataset *ds) {
    char path[4096];
    kgm_text_format fr, fk;
    kgm_text_format_default(&fr, KGM_TEXT_INTERACTIONS);
    fr.delim = '\t';
    fr.header = 0;
    fr.cols[3] = -1;
    kgm_text_format_default(&fk, KGM_TEXT_TRIPLES);
    fk.delim = '\t';
    fk.header = 0;
    if (!kgm__join(path, sizeof path, dir, "ratings_final.txt")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    kg_ctx c = {ds, &fr, 0};
    KGM_TRY(kgm__with_file(path, o, ds, "ratings", "mkr", body_kg, &c));
    if (!kgm__join(path, sizeof path, dir, "kg_final.txt")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    c = (kg_ctx){ds, &fk, 1};
    KGM_TRY(kgm__with_file(path, o, ds, "kg", "mkr", body_kg, &c));
    if (ds->inter.kind == KGM_LABEL_RATING) ds->inter.kind = KGM_LABEL_BINARY;
    if (!ds->name[0]) snprintf(ds->name, sizeof ds->name, "mkr");
    return link_same_ids(ds);
}

/* item_index2entity_id.txt: raw item id <TAB> entity id */
static kgm_status body_item2entity(kgm_reader *r, void *v) {
    kgm_dataset *ds = v;
    const char *line;
    size_t len;
    bool got;
    kgm_field f[4];
    for (;;) {
        KGM_TRY(kgm_reader_next(r, &line, &len, &got));
        if (!got) break;
        if (len == 0) continue;
        int nf = kgm__split(line, len, '\t', false, f, 4, NULL);
        if (nf != 2) {
            char q[80];
            KGM_TRY(kgm_reader_bad(r, "expected 2 fields (item id, entity id), found %d in %s", nf,
                                   kgm__quote(q, sizeof q, line, len)));
            continue;
        }
        kgm_field a = kgm__trim(f[0]), b = kgm__trim(f[1]);
        if (!a.n || !b.n) {
            KGM_TRY(kgm_reader_bad(r, "expected an item id and an entity id, found an empty field"));
            continue;
        }
        int32_t item, ent;
        KGM_TRY(kgm_idmap_intern(&ds->items, a.p, a.n, &item));
        KGM_TRY(kgm_idmap_intern(&ds->entities, b.p, b.n, &ent));
        if (item < ds->n_item_entity && ds->item_entity[item] >= 0 && ds->item_entity[item] != ent) {
            char q[80];
            KGM_TRY(kgm_reader_bad(r, "expected one entity per item, found a second one for item %s",
                                   kgm__quote(q, sizeof q, a.p, a.n)));
            continue;
        }
        KGM_TRY(kgm_dataset_set_item_entity(ds, item, ent));
        r->rows++;
    }
    return KGM_OK;
}

kgm_status kgm_load_mkr_raw(const char *dir, const char *ratings_path, const kgm_text_format *rf,
                            const kgm_load_opts *o, kgm_dataset *ds) {
    char path[4096];
    if (!kgm__join(path, sizeof path, dir, "item_index2entity_id.txt")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    if (!kgm__present(path)) {
        /* older releases name it item_index2entity_id_rehashed.txt */
        if (!kgm__join(path, sizeof path, dir, "item_index2entity_id_rehashed.txt"))
            return KGM_ERR(KGM_ERR_ARG, "path too long");
    }
    KGM_TRY(kgm__with_file(path, o, ds, "item2entity", "mkr-raw", body_item2entity, ds));
    if (!kgm__join(path, sizeof path, dir, "kg.txt")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    kgm_text_format fk;
    kgm_text_format_default(&fk, KGM_TEXT_TRIPLES);
    fk.delim = '\t';
    fk.header = 0;
    kg_ctx c = {ds, &fk, 1};
    KGM_TRY(kgm__with_file(path, o, ds, "kg", "mkr-raw", body_kg, &c));
    kgm_text_format fr;
    if (rf) fr = *rf;
    else kgm_text_format_default(&fr, KGM_TEXT_INTERACTIONS);
    c = (kg_ctx){ds, &fr, 0};
    KGM_TRY(kgm__with_file(ratings_path, o, ds, "ratings", "mkr-raw", body_kg, &c));
    if (!ds->name[0]) snprintf(ds->name, sizeof ds->name, "mkr-raw");
    return KGM_OK;
}

/* KGAT train.txt/test.txt: "user item item ..." per line. */
kgm_status kgm__load_kgat_rd(kgm_reader *r, kgm_dataset *ds, bool test) {
    const char *line;
    size_t len;
    bool got;
    (void)test;
    int64_t n0 = ds->inter.n;
    for (;;) {
        KGM_TRY(kgm_reader_next(r, &line, &len, &got));
        if (!got) break;
        const char *p = line, *end = line + len;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (p == end) continue;
        /* validate the whole line first so a bad one adds nothing */
        bool ok = true;
        int nt = 0;
        const char *bad = NULL;
        size_t badn = 0;
        for (const char *q = p; q < end;) {
            const char *s = q;
            while (q < end && *q != ' ' && *q != '\t') q++;
            int64_t v;
            if (!kgm__parse_i64(s, (size_t)(q - s), &v) || v < 0 || v > INT32_MAX) {
                ok = false;
                bad = s;
                badn = (size_t)(q - s);
                break;
            }
            nt++;
            while (q < end && (*q == ' ' || *q == '\t')) q++;
        }
        if (!ok) {
            char qb[80];
            KGM_TRY(kgm_reader_bad(r, "expected non-negative integer ids (user item ...), found %s in token %d",
                                   kgm__quote(qb, sizeof qb, bad, badn), nt + 1));
            continue;
        }
        int32_t u = -1;
        for (const char *q = p; q < end;) {
            const char *s = q;
            while (q < end && *q != ' ' && *q != '\t') q++;
            if (u < 0) {
                KGM_TRY(kgm_idmap_intern(&ds->users, s, (size_t)(q - s), &u));
            } else {
                int32_t it;
                KGM_TRY(kgm_idmap_intern(&ds->items, s, (size_t)(q - s), &it));
                KGM_TRY(kgm_dataset_add_interaction(ds, u, it, 1.0f, false, 0));
            }
            while (q < end && (*q == ' ' || *q == '\t')) q++;
        }
        r->rows++;
    }
    if (ds->inter.n - n0 < 2) return KGM_OK;
    int64_t d = kgm__find_dups(ds->inter.user + n0, ds->inter.item + n0, NULL, ds->inter.n - n0, NULL);
    if (d < 0) return KGM_ERR(KGM_ERR_NOMEM, "duplicate check");
    r->duplicates += d;
    return KGM_OK;
}

typedef struct {
    kgm_dataset *ds;
    bool test;
} kgat_ctx;

static kgm_status body_kgat(kgm_reader *r, void *v) {
    kgat_ctx *c = v;
    return kgm__load_kgat_rd(r, c->ds, c->test);
}

static kgm_status set_given_split(kgm_dataset *ds, int64_t n_train) {
    kgm_split *s = &ds->split;
    free(s->train);
    free(s->valid);
    free(s->test);
    memset(s, 0, sizeof *s);
    int64_t n = ds->inter.n;
    s->train = malloc((size_t)(n_train > 0 ? n_train : 1) * sizeof *s->train);
    s->test = malloc((size_t)(n - n_train > 0 ? n - n_train : 1) * sizeof *s->test);
    if (!s->train || !s->test) return KGM_ERR(KGM_ERR_NOMEM, "split");
    for (int64_t i = 0; i < n_train; i++) s->train[i] = i;
    for (int64_t i = n_train; i < n; i++) s->test[i - n_train] = i;
    s->n_train = n_train;
    s->n_test = n - n_train;
    ds->prov.prep.split = KGM_SPLIT_GIVEN;
    return KGM_OK;
}

kgm_status kgm_load_kgat(const char *dir, const kgm_load_opts *o, kgm_dataset *ds) {
    char path[4096];
    if (!kgm__join(path, sizeof path, dir, "train.txt")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    kgat_ctx c = {ds, false};
    KGM_TRY(kgm__with_file(path, o, ds, "train", "kgat", body_kgat, &c));
    int64_t n_train = ds->inter.n;
    if (!kgm__join(path, sizeof path, dir, "test.txt")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    c.test = true;
    KGM_TRY(kgm__with_file(path, o, ds, "test", "kgat", body_kgat, &c));
    kgm_text_format fk;
    kgm_text_format_default(&fk, KGM_TEXT_TRIPLES);
    fk.delim = ' ';
    fk.header = 0;
    if (!kgm__join(path, sizeof path, dir, "kg_final.txt")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    kg_ctx k = {ds, &fk, 1};
    KGM_TRY(kgm__with_file(path, o, ds, "kg", "kgat", body_kg, &k));
    ds->inter.kind = KGM_LABEL_IMPLICIT;
    KGM_TRY(set_given_split(ds, n_train));
    if (!ds->name[0]) snprintf(ds->name, sizeof ds->name, "kgat");
    return link_same_ids(ds);
}
