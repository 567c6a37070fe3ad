/* datasets/dataset.h — the in-memory dataset model.
 *
 * A kgm_dataset holds everything a run trains and evaluates on, with dense
 * int32 ids everywhere:
 *   - id maps (raw id string -> dense index) for users, items, entities and
 *     relations, so every dense id can be named back in reports;
 *   - interactions (user, item, label or rating, optional timestamp);
 *   - knowledge-graph triples (head, relation, tail) over entities/relations;
 *   - social edges (src, dst, weight) over users;
 *   - the item -> KG entity link (as in MKR/KGCN data);
 *   - user, item and entity attributes, item text, entity text (glosses);
 *   - a free tabular table (rows are records, e.g. Census-Income);
 *   - the split (train/valid/test index arrays into the interactions) and the
 *     evaluation negatives drawn once for valid/test;
 *   - the provenance: loader, source files with sizes and checksums, load
 *     counts (skipped rows, duplicates) and preparation settings, so that a
 *     run names exactly the data it used (kgm_dataset_fingerprint).
 *
 * Arrays are plain struct-of-arrays; fields are readable directly, but grow
 * them only through the kgm_dataset_add_* / kgm_idmap_* / kgm_table_* calls.
 * Loaders (datasets/load.h), preparation (datasets/prep.h) and the binary
 * cache (kgm_dataset_save / kgm_dataset_load below) all produce this struct. */
#ifndef KGMTL_DATASET_H
#define KGMTL_DATASET_H

#include <stdio.h>

#include "core/base/status.h"
#include "core/base/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Id maps                                                                   */

/* Raw id string -> dense int32 in order of first appearance. Names are stored
 * NUL-terminated in one pool; lookups go through an open-addressing hash, plus
 * a direct table for canonical non-negative decimal ids ("0", "17", not "017")
 * so that integer-id files intern without hashing strings. */
typedef struct kgm_idmap {
    int32_t count;      /* number of ids */
    int32_t cap;        /* capacity of `off` */
    int64_t *off;       /* (count) offset of each name in `pool` */
    char *pool;         /* NUL-terminated names */
    int64_t pool_len, pool_cap;
    int32_t *slots;     /* hash slots: dense id or -1 */
    uint32_t nslots;    /* power of two */
    int32_t *direct;    /* direct[v] = dense id of decimal id v, or -1 */
    int64_t direct_cap;
} kgm_idmap;

void kgm_idmap_init(kgm_idmap *m);
void kgm_idmap_destroy(kgm_idmap *m);
/* Dense id of `name` (len bytes, need not be NUL-terminated), adding it if
 * new. KGM_ERR_INDEX if the map would exceed INT32_MAX ids. */
kgm_status kgm_idmap_intern(kgm_idmap *m, const char *name, size_t len, int32_t *out_id);
/* Same for the canonical decimal spelling of `v` (fast path for integer ids). */
kgm_status kgm_idmap_intern_u64(kgm_idmap *m, uint64_t v, int32_t *out_id);
/* Dense id of `name`, or -1 if absent. */
int32_t kgm_idmap_find(const kgm_idmap *m, const char *name, size_t len);
/* The raw name of dense id `id` (NUL-terminated), or NULL if out of range. */
const char *kgm_idmap_name(const kgm_idmap *m, int32_t id);

/* ------------------------------------------------------------------------ */
/* Strings and tables                                                        */

/* An indexable list of strings (item text, glosses). Row i is "" until set. */
typedef struct kgm_strings {
    int64_t n, cap;
    int64_t *off;  /* (n) offset of row i in pool, -1 = unset */
    int32_t *len;  /* (n) length in bytes */
    char *pool;
    int64_t pool_len, pool_cap;
} kgm_strings;

void kgm_strings_init(kgm_strings *s);
void kgm_strings_destroy(kgm_strings *s);
/* Set row `i` (growing the list with empty rows) to `len` bytes of `str`. */
kgm_status kgm_strings_set(kgm_strings *s, int64_t i, const char *str, size_t len);
/* Row i (NUL-terminated; "" if unset or out of range); length in *len if non-NULL. */
const char *kgm_strings_get(const kgm_strings *s, int64_t i, int32_t *len);

typedef enum kgm_col_type {
    KGM_COL_NUMERIC = 0,     /* float, NaN = missing */
    KGM_COL_CATEGORICAL = 1, /* level code into `levels`, -1 = missing */
    KGM_COL_MULTI = 2,       /* a set of levels per row (genres): (row, code) pairs */
    KGM_COL_TEXT = 3         /* free text per row */
} kgm_col_type;

/* One column. Only the arrays of its type are used. */
typedef struct kgm_column {
    char *name;
    kgm_col_type type;
    float *num;          /* NUMERIC: (table rows) */
    int32_t *cat;        /* CATEGORICAL: (table rows) */
    kgm_idmap levels;    /* CATEGORICAL / MULTI: level names */
    int64_t multi_n, multi_cap;
    int32_t *multi_row;  /* MULTI: (multi_n) row of each pair, in row order */
    int32_t *multi_code; /* MULTI: (multi_n) level of each pair */
    kgm_strings text;    /* TEXT */
    int64_t missing;     /* number of missing cells (NUMERIC/CATEGORICAL/TEXT) */
} kgm_column;

/* A table of typed columns. For user/item attributes row r is dense user/item
 * id r; for the tabular table rows are records in file order. */
typedef struct kgm_table {
    int64_t rows, cap;
    int32_t ncols;
    kgm_column *cols;
} kgm_table;

void kgm_table_init(kgm_table *t);
void kgm_table_destroy(kgm_table *t);
/* Add a column (before or after rows exist; existing rows read as missing). */
kgm_status kgm_table_add_column(kgm_table *t, const char *name, kgm_col_type type, int32_t *out_col);
/* Index of the column called `name`, or -1. */
int32_t kgm_table_find(const kgm_table *t, const char *name);
/* Make sure rows [0, rows) exist (new cells missing). */
kgm_status kgm_table_reserve_rows(kgm_table *t, int64_t rows);
/* Cell setters; each grows the table to include `row`. */
kgm_status kgm_table_set_num(kgm_table *t, int32_t col, int64_t row, float v);
kgm_status kgm_table_set_cat(kgm_table *t, int32_t col, int64_t row, const char *level, size_t len);
kgm_status kgm_table_add_multi(kgm_table *t, int32_t col, int64_t row, const char *level, size_t len);
kgm_status kgm_table_set_text(kgm_table *t, int32_t col, int64_t row, const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Relations                                                                 */

typedef enum kgm_label_kind {
    KGM_LABEL_IMPLICIT = 0, /* every interaction is a positive (label 1) */
    KGM_LABEL_BINARY = 1,   /* label is 0 or 1 (CTR data with explicit negatives) */
    KGM_LABEL_RATING = 2    /* label is an explicit rating */
} kgm_label_kind;

/* Interactions, struct of arrays. `ts` is NULL when no timestamps were read. */
typedef struct kgm_interactions {
    int64_t n, cap;
    int32_t *user;  /* (n) */
    int32_t *item;  /* (n) */
    float *label;   /* (n) rating or 0/1 */
    int64_t *ts;    /* (n) unix seconds, or NULL */
    kgm_label_kind kind;
} kgm_interactions;

/* Knowledge-graph triples over ds->entities and ds->relations. */
typedef struct kgm_triples {
    int64_t n, cap;
    int32_t *h, *r, *t; /* (n) each */
} kgm_triples;

/* Social edges over ds->users. `weight` is NULL when unweighted. */
typedef struct kgm_social {
    int64_t n, cap;
    int32_t *src, *dst; /* (n) */
    float *weight;      /* (n) or NULL */
    bool directed;
} kgm_social;

/* ------------------------------------------------------------------------ */
/* Splits, negatives, provenance                                             */

/* Indices into ds->inter. n_valid may be 0 (no validation split). */
typedef struct kgm_split {
    int64_t n_train, n_valid, n_test;
    int64_t *train, *valid, *test;
} kgm_split;

/* Evaluation negatives drawn once: `items` is (n, k) row-major, row j holding
 * k distinct items the user of split row j never interacted with (positively)
 * in any split. Every entry is an item (a user with fewer than k non-positives
 * makes kgm_data_eval_negatives fail instead of padding). */
typedef struct kgm_eval_negatives {
    int64_t n;
    int32_t k;
    int32_t *items;
} kgm_eval_negatives;

typedef enum kgm_split_kind {
    KGM_SPLIT_NONE = 0,
    KGM_SPLIT_RANDOM = 1,   /* random rows by valid/test fractions */
    KGM_SPLIT_LOO = 2,      /* per user: last (by timestamp, else random) to test, previous to valid */
    KGM_SPLIT_TEMPORAL = 3, /* global time order: the latest fractions go to valid and test */
    KGM_SPLIT_MKR = 4,      /* MKR/KGCN 6:2:2 by row: floor(n*0.2) eval, floor(n*0.2) test */
    KGM_SPLIT_GIVEN = 5     /* split came with the files (KGAT train/test) */
} kgm_split_kind;

typedef enum kgm_neg_kind {
    KGM_NEG_UNIFORM = 0,   /* uniform over non-positive items */
    KGM_NEG_POPULARITY = 1 /* proportional to item interaction count (+1) */
} kgm_neg_kind;

/* Preparation settings, recorded with the data (and in the cache). */
typedef struct kgm_prep_settings {
    int32_t min_user_interactions;  /* 0 = no filter; applied as a k-core */
    int32_t min_item_interactions;
    float rating_threshold;         /* NaN = keep labels; else label = rating >= threshold */
    bool drop_below_threshold;      /* with a threshold: drop rows below it instead of label 0 */
    bool dedup;                     /* drop duplicate (user, item) rows, keeping the first */
    kgm_split_kind split;
    float valid_frac, test_frac;    /* RANDOM / TEMPORAL */
    bool loo_valid;                 /* LOO: also hold out one row per user for valid */
    kgm_neg_kind eval_neg_kind;
    int32_t eval_negatives;         /* per valid/test row, 0 = none */
    uint64_t seed;
} kgm_prep_settings;

/* Defaults: no filters, NaN threshold, no split, no negatives, seed 1. */
void kgm_prep_settings_default(kgm_prep_settings *p);

/* One source file a dataset was read from. */
typedef struct kgm_data_source {
    char *path;        /* as given to the loader */
    char *role;        /* "ratings", "kg", "items", ... */
    uint64_t bytes;
    uint64_t checksum; /* kgm_hash64 of the file's bytes */
} kgm_data_source;

typedef struct kgm_provenance {
    char *loader;             /* "movielens", "mkr", "kgat", "tsv-triples", ... */
    int32_t n_sources, cap_sources;
    kgm_data_source *sources;
    int64_t rows_read;        /* data rows seen by the loaders */
    int64_t rows_skipped;     /* malformed rows skipped in lenient mode */
    int64_t duplicates;       /* duplicate rows found (kept unless prep.dedup) */
    bool prepared;            /* kgm_data_prepare ran with `prep` */
    kgm_prep_settings prep;
    int64_t rows_filtered;    /* rows removed by filters / threshold / dedup */
} kgm_provenance;

/* ------------------------------------------------------------------------ */
/* The dataset                                                               */

typedef struct kgm_dataset {
    char name[128];
    kgm_idmap users, items, entities, relations;
    kgm_interactions inter;
    kgm_triples kg;
    kgm_social social;
    int32_t n_item_entity;  /* length of item_entity (<= items.count) */
    int32_t *item_entity;   /* item -> entity id, -1 = not linked */
    kgm_table user_attrs;   /* row = user id */
    kgm_table item_attrs;   /* row = item id (genres, year, ...) */
    kgm_table entity_attrs; /* row = entity id (WordNet lemma, ...) */
    kgm_table tabular;      /* row = record */
    kgm_strings item_text;  /* row = item id (titles, descriptions) */
    kgm_strings entity_text;/* row = entity id (WordNet glosses, names) */
    kgm_split split;
    kgm_eval_negatives valid_neg, test_neg;
    kgm_provenance prov;
} kgm_dataset;

void kgm_dataset_init(kgm_dataset *ds);
void kgm_dataset_destroy(kgm_dataset *ds);

/* Appenders with dense ids (loaders and generators use these). `ts` is
 * ignored unless the dataset records timestamps: the first call decides
 * (pass has_ts = false for data without time). */
kgm_status kgm_dataset_add_interaction(kgm_dataset *ds, int32_t user, int32_t item, float label,
                                       bool has_ts, int64_t ts);
kgm_status kgm_dataset_add_triple(kgm_dataset *ds, int32_t h, int32_t r, int32_t t);
/* `weight` is recorded only if the dataset is weighted: the first call with
 * `weighted` true makes it so (earlier edges get weight 1). */
kgm_status kgm_dataset_add_edge(kgm_dataset *ds, int32_t src, int32_t dst, bool weighted, float weight);

/* What kgm_social_merge removed. */
typedef struct kgm_social_merged {
    int64_t reciprocal;       /* undirected: pairs listed both ways, (a, b) and (b, a), kept once */
    int64_t duplicates;       /* further listings of a pair already kept (exact duplicate lines) */
    int64_t weight_conflicts; /* removed listings whose weight differs from the kept one */
} kgm_social_merged;

/* Keep one edge per pair: the ordered pair when s->directed, else the
 * unordered one, so a friend list given both ways is one undirected edge
 * (two parallel edges would double the pair in propagation and let a link
 * task put (a, b) and (b, a) in different splits). The first listing of a
 * pair is kept, with its weight; order is otherwise unchanged. */
kgm_status kgm_social_merge(kgm_social *s, kgm_social_merged *out);
/* Link item -> entity (grows item_entity with -1). */
kgm_status kgm_dataset_set_item_entity(kgm_dataset *ds, int32_t item, int32_t entity);
/* Record a source file (path, role) and its checksum, read from disk now. */
kgm_status kgm_dataset_add_source(kgm_dataset *ds, const char *path, const char *role);
/* Same, with size and checksum already known (loaders hash while parsing). */
kgm_status kgm_dataset_add_source_sum(kgm_dataset *ds, const char *path, const char *role,
                                      uint64_t bytes, uint64_t checksum);

/* Check every index against its id map and the split/negatives against the
 * interactions: KGM_ERR_INDEX naming the first bad entry. */
kgm_status kgm_dataset_validate(const kgm_dataset *ds);

/* 64-bit fingerprint of the sources' checksums and the preparation settings:
 * two runs with equal fingerprints used the same data. */
uint64_t kgm_dataset_fingerprint(const kgm_dataset *ds);

/* Print counts, sparsity and provenance (no graph statistics). */
void kgm_dataset_summary(const kgm_dataset *ds, FILE *out);

/* ------------------------------------------------------------------------ */
/* Hashing                                                                   */


/* ------------------------------------------------------------------------ */
/* Binary cache (msgpack)                                                    */

#define KGM_CACHE_MAGIC "KGMTL-DATASET"
#define KGM_CACHE_VERSION 2 /* 2: whole-file checksum in a trailer */

/* Write `ds` to `path` atomically (temp file + rename). */
kgm_status kgm_dataset_save(const kgm_dataset *ds, const char *path);

/* What a cache must match to be used. Any field left zero/NULL is not checked. */
typedef struct kgm_cache_expect {
    bool verify_sources;              /* re-hash each recorded source file */
    const kgm_prep_settings *prep;    /* must equal the recorded settings */
    const char *loader;               /* must equal the recorded loader */
} kgm_cache_expect;

/* Load a cache written by kgm_dataset_save into `ds` (initialised here).
 * A truncated, corrupted, wrong-version or stale cache (sources changed,
 * settings differ) returns KGM_ERR_FORMAT and leaves `ds` empty: the caller
 * rebuilds from the sources. KGM_ERR_IO if the file cannot be read. */
kgm_status kgm_dataset_load(const char *path, const kgm_cache_expect *expect, kgm_dataset *ds);

#ifdef __cplusplus
}
#endif
#endif
