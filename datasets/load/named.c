/* The converted sets in ../shared/datasets, and format auto-detection. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/data_internal.h"

const char *kgm_data_root(char *buf, size_t n) {
    const char *env = getenv("KGMTL_DATA_ROOT");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return buf;
    }
    const char *src = getenv("KGMTL_SOURCE_DIR");
    if (src && *src) snprintf(buf, n, "%s/../shared/datasets", src);
    else snprintf(buf, n, "../shared/datasets");
    return buf;
}

/* movies.tsv: movieId title year genres (pipe-separated) */
static kgm_status body_ml_movies(kgm_reader *r, void *v) {
    kgm_dataset *ds = v;
    kgm_table *t = &ds->item_attrs;
    int32_t c_year = kgm_table_find(t, "year"), c_genres = kgm_table_find(t, "genres");
    if (c_year < 0) KGM_TRY(kgm_table_add_column(t, "year", KGM_COL_NUMERIC, &c_year));
    if (c_genres < 0) KGM_TRY(kgm_table_add_column(t, "genres", KGM_COL_MULTI, &c_genres));
    const char *line;
    size_t len;
    bool got;
    kgm_field f[8];
    char q[80];
    char *scratch = NULL;
    size_t scap = 0;
    kgm_status st = KGM_OK;
    for (;;) {
        if ((st = kgm_reader_next(r, &line, &len, &got)) != KGM_OK || !got) break;
        if (len == 0) continue;
        if ((st = kgm__scratch_reserve(&scratch, &scap, len + 1)) != KGM_OK) break;
        /* written by pandas: fields holding '"' are quoted CSV-style */
        int nf = kgm__split(line, len, '\t', true, f, 8, scratch);
        if (r->line_no == 1 && nf >= 1 && f[0].n == 7 && memcmp(f[0].p, "movieId", 7) == 0) continue;
        float year = __builtin_nanf("");
        if (nf < 0) {
            if ((st = kgm_reader_bad(r, "expected a closing double quote, found the end of the line")) != KGM_OK) break;
            continue;
        }
        if (nf != 4) {
            if ((st = kgm_reader_bad(r, "expected 4 fields (movieId, title, year, genres), found %d in %s", nf,
                                     kgm__quote(q, sizeof q, line, len))) != KGM_OK)
                break;
            continue;
        }
        if (!kgm__is_missing(f[2].p, f[2].n) && !kgm__parse_f32(f[2].p, f[2].n, &year)) {
            if ((st = kgm_reader_bad(r, "expected a year in field 3, found %s", kgm__quote(q, sizeof q, f[2].p, f[2].n))) !=
                KGM_OK)
                break;
            continue;
        }
        if (year == -2147483648.0f) year = __builtin_nanf(""); /* R's NA_integer_ leaked into the export */
        if (f[0].n == 0) {
            if ((st = kgm_reader_bad(r, "expected a movie id in field 1, found an empty field")) != KGM_OK) break;
            continue;
        }
        int32_t item;
        if ((st = kgm_idmap_intern(&ds->items, f[0].p, f[0].n, &item)) != KGM_OK) break;
        if ((st = kgm_strings_set(&ds->item_text, item, f[1].p, f[1].n)) != KGM_OK) break;
        if ((st = kgm_table_set_num(t, c_year, item, year)) != KGM_OK) break;
        size_t a = 0;
        for (size_t b = 0; b <= f[3].n && st == KGM_OK; b++)
            if (b == f[3].n || f[3].p[b] == '|') {
                if (b > a && !(b - a == 18 && memcmp(f[3].p + a, "(no genres listed)", 18) == 0))
                    st = kgm_table_add_multi(t, c_genres, item, f[3].p + a, b - a);
                a = b + 1;
            }
        if (st != KGM_OK) break;
        r->rows++;
    }
    free(scratch);
    KGM_TRY(st);
    return kgm__table_sort_multi(t);
}

/* wordnet entities.tsv: synset lemma gloss */
static kgm_status body_wn_entities(kgm_reader *r, void *v) {
    kgm_dataset *ds = v;
    int32_t c_lemma = kgm_table_find(&ds->entity_attrs, "lemma");
    if (c_lemma < 0) KGM_TRY(kgm_table_add_column(&ds->entity_attrs, "lemma", KGM_COL_TEXT, &c_lemma));
    const char *line;
    size_t len;
    bool got;
    kgm_field f[4];
    char q[80];
    for (;;) {
        KGM_TRY(kgm_reader_next(r, &line, &len, &got));
        if (!got) break;
        if (len == 0) continue;
        int nf = kgm__split(line, len, '\t', false, f, 4, NULL);
        if (nf != 3 || f[0].n == 0) {
            KGM_TRY(kgm_reader_bad(r, "expected 3 fields (synset, lemma, gloss), found %d in %s", nf,
                                   kgm__quote(q, sizeof q, line, len)));
            continue;
        }
        int32_t e;
        KGM_TRY(kgm_idmap_intern(&ds->entities, f[0].p, f[0].n, &e));
        KGM_TRY(kgm_table_set_text(&ds->entity_attrs, c_lemma, e, f[1].p, f[1].n));
        KGM_TRY(kgm_strings_set(&ds->entity_text, e, f[2].p, f[2].n));
        r->rows++;
    }
    return KGM_OK;
}

typedef struct {
    kgm_dataset *ds;
    kgm_text_format f;
    int kind; /* 0 interactions, 1 triples, 2 edges */
} named_ctx;

static kgm_status body_named(kgm_reader *r, void *v) {
    named_ctx *c = v;
    if (c->kind == 0) return kgm__load_interactions_rd(r, &c->f, c->ds);
    if (c->kind == 1) return kgm__load_triples_rd(r, &c->f, c->ds);
    /* the shared social sets are read undirected unless the caller says otherwise */
    return kgm__load_edges_rd(r, &c->f, r->opts && r->opts->directed_edges, c->ds);
}

static kgm_status load_ml_small(const char *dir, const kgm_load_opts *o, kgm_dataset *ds) {
    char path[4096];
    named_ctx c = {ds, {0}, 0};
    kgm_text_format_default(&c.f, KGM_TEXT_INTERACTIONS);
    c.f.delim = '\t';
    c.f.header = 1;
    if (!kgm__join(path, sizeof path, dir, "ratings.tsv")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    KGM_TRY(kgm__with_file(path, o, ds, "ratings", "movielens-small", body_named, &c));
    ds->inter.kind = KGM_LABEL_RATING;
    if (!kgm__join(path, sizeof path, dir, "movies.tsv")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    if (kgm__present(path)) KGM_TRY(kgm__with_file(path, o, ds, "items", "movielens-small", body_ml_movies, ds));
    if (!kgm__join(path, sizeof path, dir, "kg_triples.tsv")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    if (kgm__present(path)) {
        c.kind = 1;
        kgm_text_format_default(&c.f, KGM_TEXT_TRIPLES);
        c.f.delim = '\t';
        c.f.header = 0;
        KGM_TRY(kgm__with_file(path, o, ds, "kg", "movielens-small", body_named, &c));
        for (int32_t i = 0; i < ds->items.count; i++) {
            char ent[64];
            int k = snprintf(ent, sizeof ent, "movie:%s", kgm_idmap_name(&ds->items, i));
            if (k <= 0 || (size_t)k >= sizeof ent) continue;
            int32_t e = kgm_idmap_find(&ds->entities, ent, (size_t)k);
            if (e >= 0) KGM_TRY(kgm_dataset_set_item_entity(ds, i, e));
        }
    }
    return KGM_OK;
}

static kgm_status load_wn_tsv(const char *dir, const kgm_load_opts *o, kgm_dataset *ds) {
    char path[4096];
    named_ctx c = {ds, {0}, 1};
    kgm_text_format_default(&c.f, KGM_TEXT_TRIPLES);
    c.f.delim = '\t';
    c.f.header = 0;
    if (!kgm__join(path, sizeof path, dir, "entities.tsv")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    if (kgm__present(path)) KGM_TRY(kgm__with_file(path, o, ds, "entities", "wordnet-tsv", body_wn_entities, ds));
    if (!kgm__join(path, sizeof path, dir, "triples.tsv")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    return kgm__with_file(path, o, ds, "kg", "wordnet-tsv", body_named, &c);
}

/* Edge list with a header naming src/dst[/weight] (other columns ignored). */
static kgm_status load_edge_tsv(const char *path, const kgm_load_opts *o, kgm_dataset *ds) {
    char *buf;
    size_t n;
    KGM_TRY(kgm__read_file(path, &buf, &n));
    kgm_field f[16];
    const char *nl = memchr(buf, '\n', n);
    size_t hl = nl ? (size_t)(nl - buf) : n;
    if (hl && buf[hl - 1] == '\r') hl--;
    int nf = kgm__split(buf, hl, '\t', false, f, 16, NULL);
    named_ctx c = {ds, {0}, 2};
    kgm_text_format_default(&c.f, KGM_TEXT_EDGES);
    c.f.delim = '\t';
    c.f.header = 1;
    c.f.cols[2] = -1;
    int src = -1, dst = -1;
    for (int i = 0; i < nf && i < 16; i++) {
        if (f[i].n == 3 && memcmp(f[i].p, "src", 3) == 0) src = i;
        if (f[i].n == 3 && memcmp(f[i].p, "dst", 3) == 0) dst = i;
        if (f[i].n == 6 && memcmp(f[i].p, "weight", 6) == 0) c.f.cols[2] = i;
    }
    free(buf);
    c.f.cols[0] = src >= 0 ? src : 0;
    c.f.cols[1] = dst >= 0 ? dst : 1;
    return kgm__with_file(path, o, ds, "social", "edges", body_named, &c);
}

typedef struct {
    kgm_dataset *ds;
    const kgm_text_format *f;
} table_ctx;

static kgm_status body_table(kgm_reader *r, void *v) {
    table_ctx *c = v;
    return kgm__load_table_rd(r, c->f, NULL, 0, &c->ds->tabular);
}

kgm_status kgm_load_named(const char *name, const char *root, const kgm_load_opts *o, kgm_dataset *ds) {
    char rbuf[2048], dir[4096];
    if (!root) root = kgm_data_root(rbuf, sizeof rbuf);
    if (!kgm__join(dir, sizeof dir, root, name)) return KGM_ERR(KGM_ERR_ARG, "path too long");
    kgm_status st;
    if (strcmp(name, "movielens-small") == 0) {
        if (!kgm__is_dir(dir)) return KGM_ERR(KGM_ERR_IO, "%s: no such folder", dir);
        st = load_ml_small(dir, o, ds);
    } else if (strcmp(name, "wordnet") == 0) {
        if (!kgm__is_dir(dir)) return KGM_ERR(KGM_ERR_IO, "%s: no such folder", dir);
        st = load_wn_tsv(dir, o, ds);
    } else if (strcmp(name, "kernlab-income") == 0) {
        char path[4200];
        if (!kgm__join(path, sizeof path, dir, "income.tsv")) return KGM_ERR(KGM_ERR_ARG, "path too long");
        kgm_text_format f;
        kgm_text_format_default(&f, KGM_TEXT_INTERACTIONS);
        f.delim = '\t';
        f.header = 1;
        kgm_table_destroy(&ds->tabular);
        /* one pass: the source checksum comes from the same read (a second
         * read for it would hang on a FIFO and could see other bytes) */
        table_ctx tc = {ds, &f};
        st = kgm__with_file(path, o, ds, "tabular", "table", body_table, &tc);
    } else if (strncmp(name, "social-small/", 13) == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s%s", dir, strstr(dir, ".tsv") ? "" : ".tsv");
        if (!kgm__present(path)) return KGM_ERR(KGM_ERR_IO, "%s: no such file", path);
        st = load_edge_tsv(path, o, ds);
    } else {
        return KGM_ERR(KGM_ERR_ARG,
                       "unknown dataset name %s (expected movielens-small, wordnet, kernlab-income, social-small/NAME)",
                       name);
    }
    if (st == KGM_OK && !ds->name[0]) snprintf(ds->name, sizeof ds->name, "%s", name);
    return st;
}

static bool has(const char *dir, const char *file) {
    char p[4096];
    return kgm__join(p, sizeof p, dir, file) && kgm__present(p);
}

static kgm_status load_auto(const char *path, const kgm_load_opts *o, kgm_dataset *ds);

kgm_status kgm_load_auto(const char *path, const kgm_load_opts *o, kgm_dataset *ds) {
    KGM_TRY(load_auto(path, o, ds));
    if (!ds->name[0]) { /* name it after the file or folder */
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/') n--;
        size_t b = n;
        while (b > 0 && path[b - 1] != '/') b--;
        snprintf(ds->name, sizeof ds->name, "%.*s", (int)(n - b), path + b);
    }
    return KGM_OK;
}

static kgm_status load_auto(const char *path, const kgm_load_opts *o, kgm_dataset *ds) {
    if (kgm__is_dir(path)) {
        if (has(path, "u.data") || has(path, "ratings.dat") || has(path, "ratings.csv"))
            return kgm_load_movielens(path, o, ds);
        if (has(path, "ratings_final.txt")) return kgm_load_mkr(path, o, ds);
        if (has(path, "train.txt") && has(path, "kg_final.txt")) return kgm_load_kgat(path, o, ds);
        if (has(path, "data.noun") || has(path, "data.verb")) return kgm_load_wordnet(path, o, ds);
        if (has(path, "census-income.data")) return kgm_load_census_kdd(path, o, ds);
        if (has(path, "ratings.tsv")) return load_ml_small(path, o, ds);
        if (has(path, "triples.tsv")) return load_wn_tsv(path, o, ds);
        return KGM_ERR(KGM_ERR_ARG, "%s: expected a folder in a known format (MovieLens, MKR, KGAT, WordNet, Census), "
                                    "found none of their files", path);
    }
    if (!kgm__present(path)) {
        /* a shared-set name? */
        char root[2048], dir[4096];
        kgm_data_root(root, sizeof root);
        if (kgm__join(dir, sizeof dir, root, path) && (kgm__is_dir(dir) || strncmp(path, "social-small/", 13) == 0))
            return kgm_load_named(path, NULL, o, ds);
        return KGM_ERR(KGM_ERR_IO, "%s: no such file, folder or shared dataset", path);
    }
    /* a cache file? */
    /* the first block decides the format; a stream could not be read again */
    int fd;
    KGM_TRY(kgm_file_open_regular(path, &fd, NULL));
    char head[4096];
    size_t n = 0;
    while (n < sizeof head) {
        ssize_t k = read(fd, head + n, sizeof head - n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        n += (size_t)k;
    }
    close(fd);
    size_t ml = strlen(KGM_CACHE_MAGIC);
    for (size_t i = 0; i + ml <= n && i < 64; i++)
        if (memcmp(head + i, KGM_CACHE_MAGIC, ml) == 0) return kgm_dataset_load(path, NULL, ds);
    if (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0)
        return KGM_ERR(KGM_ERR_ARG, "%s is a .npy matrix: load it with kgm_npy_load", path);
    /* one delimited file: triples when the middle column of line 1 is not a
     * number, else interactions */
    const char *nl = memchr(head, '\n', n);
    size_t l1 = nl ? (size_t)(nl - head) : n;
    /* skip a header line */
    const char *line = head;
    kgm_field fl[8];
    char delim = kgm__guess_delim(line, l1);
    int nf = kgm__split(line, l1, delim, false, fl, 8, NULL);
    if (nl && nf >= 2) {
        double x;
        kgm_field a = kgm__trim(fl[nf > 2 ? 2 : 1]);
        if (!kgm__parse_f64(a.p, a.n, &x)) { /* header: look at line 2 */
            const char *l2 = nl + 1;
            const char *nl2 = memchr(l2, '\n', n - (size_t)(l2 - head));
            size_t len2 = nl2 ? (size_t)(nl2 - l2) : n - (size_t)(l2 - head);
            if (len2) {
                line = l2;
                l1 = len2;
                nf = kgm__split(line, l1, delim, false, fl, 8, NULL);
            }
        }
    }
    double x;
    if (nf >= 3 && !kgm__parse_f64(kgm__trim(fl[1]).p, kgm__trim(fl[1]).n, &x)) return kgm_load_triples(path, NULL, o, ds);
    if (nf == 2) {
        /* two id columns: an edge list (undirected unless o->directed_edges) */
        return kgm_load_edges(path, NULL, o && o->directed_edges, o, ds);
    }
    return kgm_load_interactions(path, NULL, o, ds);
}
