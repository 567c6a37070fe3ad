/* datasets/load.h — loaders for the formats recommender papers use.
 *
 * Every loader streams its file in large blocks, parses numbers by hand with
 * overflow checks, and appends to a kgm_dataset (interning raw ids). A
 * malformed row stops the load with KGM_ERR_PARSE and the message
 * `FILE:LINE: expected ..., found ...` (FILE is the data file, LINE counts
 * from 1). With opts.lenient the row is skipped instead, counted in the
 * report and in ds->prov.rows_skipped, and its message kept (the first few).
 * A UTF-8 byte-order mark and CRLF line ends are accepted everywhere; a last
 * line without a newline is read like any other. Duplicate rows are counted
 * (report.duplicates), never dropped here (see kgm_data_dedup). */
#ifndef KGMTL_DATA_LOAD_H
#define KGMTL_DATA_LOAD_H

#include "datasets/dataset.h"
#include "core/tensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KGM_LOAD_MAX_MESSAGES 8

/* Counts of one or more loads (accumulated: zero it before the first). */
typedef struct kgm_load_report {
    int64_t lines;      /* lines read, header and blank lines included */
    int64_t rows;       /* data rows accepted */
    int64_t skipped;    /* malformed rows skipped (lenient mode only) */
    int64_t duplicates; /* duplicate rows found (edge lists: exact repeats, dropped) */
    int64_t reciprocal; /* undirected edge lists: pairs listed both ways, merged into one edge */
    int64_t weight_conflicts; /* edge lists: dropped listings whose weight differed from the kept one */
    uint64_t bytes;     /* bytes read */
    int32_t n_messages; /* messages of the first skipped rows */
    char messages[KGM_LOAD_MAX_MESSAGES][256];
} kgm_load_report;

typedef struct kgm_load_opts {
    bool lenient;             /* skip malformed rows (counted) instead of failing */
    bool progress;            /* report progress on stderr for large files */
    kgm_load_report *report;  /* optional: receives counts */
    bool directed_edges;      /* edge lists read without an explicit direction (shared social-small
                                 sets, kgm_load_auto) are directed; default undirected */
} kgm_load_opts;

/* Field layout of a delimited text file. */
typedef struct kgm_text_format {
    char delim;    /* '\t', ',', ';', ' ' (runs of blanks), ':' ("::"); 0 = guess from line 1 */
    int8_t header; /* 1 = first line is a header, 0 = none, -1 = guess (non-numeric field where
                      a number is expected in line 1) */
    bool quotes;   /* honour "double quoted" fields (CSV); off for TSV */
    /* Column indices (0-based, -1 = absent, -2 = optional: column k is used if
     * the first data row has more than k fields), by loader:
     *   interactions: user, item, label, timestamp   (default 0, 1, -2, -2)
     *   triples:      head, relation, tail, -        (default 0, 1, 2, -1)
     *   edges:        src, dst, weight, -            (default 0, 1, -2, -1)  */
    int32_t cols[4];
} kgm_text_format;

typedef enum kgm_text_kind { KGM_TEXT_INTERACTIONS = 0, KGM_TEXT_TRIPLES = 1, KGM_TEXT_EDGES = 2 } kgm_text_kind;

/* Defaults for a kind: guessed delimiter and header, columns as above. */
void kgm_text_format_default(kgm_text_format *f, kgm_text_kind kind);

/* ---- generic delimited files ------------------------------------------ */

/* user item [label [timestamp]] rows -> ds->inter (label 1 if absent). */
kgm_status kgm_load_interactions(const char *path, const kgm_text_format *f, const kgm_load_opts *o,
                                 kgm_dataset *ds);
/* head relation tail rows -> ds->kg. */
kgm_status kgm_load_triples(const char *path, const kgm_text_format *f, const kgm_load_opts *o,
                            kgm_dataset *ds);
/* `user friend [weight]` rows -> ds->social (Epinions/Ciao/Last.fm style).
 * One edge per pair is kept (kgm_social_merge: per unordered pair unless
 * `directed`); the report counts the merged reciprocal pairs and the dropped
 * duplicate lines. */
kgm_status kgm_load_edges(const char *path, const kgm_text_format *f, bool directed,
                          const kgm_load_opts *o, kgm_dataset *ds);

/* Declared type of a column of a tabular file (others are inferred:
 * NUMERIC if every non-missing cell parses as a number, else CATEGORICAL).
 * Missing cells: empty, "NA", "?", "NaN". */
typedef struct kgm_col_decl {
    const char *name;
    kgm_col_type type;
} kgm_col_decl;

/* A file with a header line -> `out` (initialised here), one row per line. */
kgm_status kgm_load_table(const char *path, const kgm_text_format *f, const kgm_col_decl *decl,
                          int32_t n_decl, const kgm_load_opts *o, kgm_table *out);

/* ---- published formats -------------------------------------------------- */

/* MovieLens directory: 100K (u.data, u.item, u.user), 1M (ratings.dat,
 * movies.dat, users.dat; latin-1 converted to UTF-8) or latest/latest-small
 * (ratings.csv, movies.csv, tags.csv ignored). Ratings -> inter (RATING, with
 * timestamps); titles -> item_text; genres -> item_attrs "genres" (MULTI),
 * year -> "year"; user demographics -> user_attrs. */
kgm_status kgm_load_movielens(const char *dir, const kgm_load_opts *o, kgm_dataset *ds);

/* MKR/KGCN/RippleNet prepared files: ratings_final.txt (user item 0/1),
 * kg_final.txt (h r t). Item i is entity i (their preprocessing makes it so);
 * the link is recorded for every item whose id is also an entity id. */
kgm_status kgm_load_mkr(const char *dir, const kgm_load_opts *o, kgm_dataset *ds);

/* The raw inputs MKR/KGCN preprocess: item_index2entity_id.txt (raw item id,
 * entity id), kg.txt (h relation-name t) in `dir`, and a ratings file
 * `ratings_path` read with `rf` (e.g. MovieLens ratings.dat, "::"). */
kgm_status kgm_load_mkr_raw(const char *dir, const char *ratings_path, const kgm_text_format *rf,
                            const kgm_load_opts *o, kgm_dataset *ds);

/* KGAT: train.txt / test.txt (a user followed by its item ids per line) and
 * kg_final.txt. Sets split = GIVEN (train rows, test rows), items linked to
 * entities with the same id. */
kgm_status kgm_load_kgat(const char *dir, const kgm_load_opts *o, kgm_dataset *ds);

/* UCI Census-Income (KDD): census-income.data (and .test if present) in
 * `dir` -> ds->tabular: the 40 features + "instance_weight" + "income"
 * (label) + "split" ("train"/"test"), types as in census-income.names. */
kgm_status kgm_load_census_kdd(const char *dir, const kgm_load_opts *o, kgm_dataset *ds);

/* WordNet 3.0 database (wndb(5)): data.noun/verb/adj/adv in `dir` ->
 * entities "OFFSETp" (p = n/v/a/r; satellites s -> a), triples with relations
 * named like "_hypernym", glosses -> entity_text, first lemma ->
 * entity_attrs "lemma". Lexical and semantic pointers both become synset
 * triples (deduplicated). */
kgm_status kgm_load_wordnet(const char *dir, const kgm_load_opts *o, kgm_dataset *ds);

/* ---- the converted sets in ../shared/datasets --------------------------- */

/* Root of the shared sets: $KGMTL_DATA_ROOT, else $KGMTL_SOURCE_DIR/../shared/datasets,
 * else "../shared/datasets". Writes into buf (n bytes). */
const char *kgm_data_root(char *buf, size_t n);

/* Load a named set below `root` (NULL = kgm_data_root): "movielens-small"
 * (ratings, movies, KG; items linked to entities "movie:ID"), "wordnet"
 * (triples + glosses), "kernlab-income" (tabular), "social-small/NAME"
 * (edge list). KGM_ERR_IO if absent. */
kgm_status kgm_load_named(const char *name, const char *root, const kgm_load_opts *o, kgm_dataset *ds);

/* Load whatever `path` is: a cache file (kgm_dataset_save), a known format
 * directory (MovieLens, MKR, KGAT, WordNet, Census), a shared-set name, or a
 * single .tsv/.csv/.txt file (interactions, or triples when the middle column
 * is not numeric). */
kgm_status kgm_load_auto(const char *path, const kgm_load_opts *o, kgm_dataset *ds);

/* ---- embeddings ---------------------------------------------------------- */

/* Word vectors from word2vec/GloVe text ("word v1 ... vD" per line, with or
 * without a "N D" header line). */
typedef struct kgm_wordvecs {
    kgm_idmap words;
    int32_t dim;
    int64_t n;
    float *data; /* (n, dim) row-major, row = word id */
} kgm_wordvecs;

kgm_status kgm_wordvecs_load(const char *path, const kgm_load_opts *o, kgm_wordvecs *out);
void kgm_wordvecs_destroy(kgm_wordvecs *w);
/* The vector of `word`, or NULL. */
const float *kgm_wordvecs_get(const kgm_wordvecs *w, const char *word, size_t len);

/* Largest |value| a .npy matrix may hold: embeddings beyond it overflow float32
 * in the first dot products, so they are refused at load with the file named. */
#define KGM_NPY_MAX_ABS 1e30

/* A .npy float32 matrix (dtype '<f4', C order, 1-D (n,) -> (n, 1), or 2-D)
 * -> a heap tensor (kgm_tensor_free). A shape with a zero extent, or a value
 * that is NaN, infinite or beyond KGM_NPY_MAX_ABS, is an error naming the file
 * and (for values) the first bad element's index, row and column. */
kgm_status kgm_npy_load(const char *path, kgm_tensor **out);
/* Write a (rows, cols) tensor as .npy '<f4'. */
kgm_status kgm_npy_save(const char *path, const kgm_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
