/* datasets/data_internal.h — shared machinery of the loaders (not installed):
 * the block line reader, field splitting, hand-written number parsers and
 * data-file error reporting. */
#ifndef KGMTL_DATA_INTERNAL_H
#define KGMTL_DATA_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "datasets/load.h"
#include "datasets/dataset.h"
#include "core/base/progress.h"
#include "core/base/file.h"

/* ---- growable arrays ----------------------------------------------------- */

/* Make room for `need` elements of `size` bytes in *p (capacity *cap). */
kgm_status kgm__grow(void **p, int64_t *cap, int64_t need, size_t size);
#define KGM_GROW(ptr, capp, need) kgm__grow((void **)&(ptr), (capp), (need), sizeof *(ptr))

char *kgm__strdup(const char *s);

/* Ask the kernel to map the pages of [p, p+bytes) now, in one call
 * (MADV_POPULATE_WRITE), instead of one page fault per 4 KiB on first touch:
 * on virtual machines a fault costs tens of microseconds, which would cap
 * filling fresh memory near 100 MB/s. Contents are unchanged; a no-op for
 * small ranges and on kernels without the flag. */
void kgm__prefault(void *p, size_t bytes);

/* ---- line reader ----------------------------------------------------------- */

typedef struct kgm_reader {
    const char *path;       /* name used in messages */
    int fd;                 /* -1 when reading memory */
    const char *mem;        /* memory input (not owned) */
    size_t mem_len;
    char *buf;              /* file input buffer */
    size_t cap, start, end;
    bool eof;
    bool started;           /* first line handed out (BOM handled) */
    int64_t line_no;        /* 1-based number of the last line returned */
    uint64_t bytes;         /* bytes consumed so far */
    uint64_t size;          /* file size if known */
    kgm_hasher hash;
    /* progress */
    bool show_progress;
    kgm_progress prog;
    int64_t rows;           /* rows accepted (for progress and reports) */
    /* lenient-mode bookkeeping */
    const kgm_load_opts *opts;
    int64_t skipped;
    int64_t duplicates;
} kgm_reader;

/* Open `path` for reading (KGM_ERR_IO naming it on failure). */
kgm_status kgm_reader_open(kgm_reader *r, const char *path, const kgm_load_opts *o);
/* Read from memory; `name` is used in messages. */
void kgm_reader_open_mem(kgm_reader *r, const char *name, const void *data, size_t n,
                         const kgm_load_opts *o);
void kgm_reader_close(kgm_reader *r);
/* Next line without its line end ("\n" or "\r\n"); *got = false at the end.
 * The pointer is valid until the next call. */
kgm_status kgm_reader_next(kgm_reader *r, const char **line, size_t *len, bool *got);
/* Record a malformed row: strict -> KGM_ERR_PARSE "path:line: ..." ; lenient
 * -> counts it, keeps the message, returns KGM_OK (skip the row). */
kgm_status kgm_reader_bad(kgm_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fold the reader's counts into opts->report and ds->prov (ds may be NULL),
 * and register the file as a source of ds with `role`. */
kgm_status kgm_reader_finish(kgm_reader *r, kgm_dataset *ds, const char *role);
/* Quote a token for a message: at most ~48 chars, non-printables escaped. */
const char *kgm__quote(char *buf, size_t n, const char *p, size_t len);

/* ---- fields ---------------------------------------------------------------- */

typedef struct kgm_field {
    const char *p;
    size_t n;
} kgm_field;

/* Split a line at `delim` ('\t', ',', ';', '|', ' ' = runs of blanks,
 * ':' = "::"). With `quotes`, "..." fields are unquoted ("" -> ") into
 * `scratch` (at least len bytes). Returns the number of fields (it may be
 * greater than max: only the first max are stored), or -1 for an unterminated
 * quote. */
int kgm__split(const char *line, size_t len, char delim, bool quotes, kgm_field *out, int max,
               char *scratch);
/* Grow *buf (capacity *cap) to hold at least `need` bytes: the scratch
 * buffer of kgm__split. KGM_ERR_NOMEM when it cannot (the old buffer stays). */
kgm_status kgm__scratch_reserve(char **buf, size_t *cap, size_t need);
/* Guess the delimiter of a line: tab, then "::", comma, semicolon, blanks. */
char kgm__guess_delim(const char *line, size_t len);

/* ---- numbers ------------------------------------------------------------------ */

/* Whole token must be a number; leading/trailing blanks are not allowed.
 * Return false on syntax error or overflow. */
bool kgm__parse_i64(const char *p, size_t n, int64_t *out);
bool kgm__parse_i32(const char *p, size_t n, int32_t *out);
bool kgm__parse_f64(const char *p, size_t n, double *out);
bool kgm__parse_f32(const char *p, size_t n, float *out);
/* Strip blanks (space, tab) at both ends. */
kgm_field kgm__trim(kgm_field f);
/* True for the missing-value spellings "", "NA", "?", "NaN", "nan", "N/A". */
bool kgm__is_missing(const char *p, size_t n);

/* ---- path helpers --------------------------------------------------------------- */

/* dir + "/" + name into buf; false if it does not fit. */
bool kgm__join(char *buf, size_t n, const char *dir, const char *name);
/* Anything is at `path` (file, folder, FIFO, ...): an optional input that is
 * present must then be read, and kgm_file_open_regular (core/base/file.h) refuses what is not a file. */
bool kgm__present(const char *path);
bool kgm__is_dir(const char *path);

/* Latin-1 -> UTF-8 unless the bytes already are valid UTF-8. `out` must have
 * room for 2*n bytes; returns the output length. */
size_t kgm__latin1_to_utf8(const char *p, size_t n, char *out);

/* Duplicates among rows [0, n) of up to three int32 columns (b, c may be
 * NULL). dup_out (n bytes, may be NULL) gets 1 for every row equal to an
 * earlier one. Returns the number of duplicates, or -1 when out of memory. */
int64_t kgm__find_dups(const int32_t *a, const int32_t *b, const int32_t *c, int64_t n, uint8_t *dup_out);

/* Open `path`, run body(reader, ctx), finish the reader into ds (source
 * `role`), set ds->prov.loader to `loader` if unset, close. */
kgm_status kgm__with_file(const char *path, const kgm_load_opts *o, kgm_dataset *ds, const char *role,
                          const char *loader, kgm_status (*body)(kgm_reader *, void *), void *ctx);

/* Sort the (row, code) pairs of every MULTI column by row (stable). */
kgm_status kgm__table_sort_multi(kgm_table *t);

/* Whole file into a malloc'ed buffer. */
kgm_status kgm__read_file(const char *path, char **out, size_t *n);

/* Internal loader entry points on an open reader (used by the fuzz harness). */
kgm_status kgm__load_interactions_rd(kgm_reader *r, const kgm_text_format *f, kgm_dataset *ds);
kgm_status kgm__load_triples_rd(kgm_reader *r, const kgm_text_format *f, kgm_dataset *ds);
kgm_status kgm__load_edges_rd(kgm_reader *r, const kgm_text_format *f, bool directed, kgm_dataset *ds);
kgm_status kgm__load_table_rd(kgm_reader *r, const kgm_text_format *f, const kgm_col_decl *decl,
                              int32_t n_decl, kgm_table *out);
kgm_status kgm__load_kgat_rd(kgm_reader *r, kgm_dataset *ds, bool test);
kgm_status kgm__load_census_rd(kgm_reader *r, kgm_dataset *ds, const char *split);
kgm_status kgm__load_wordnet_rd(kgm_reader *r, kgm_dataset *ds);
kgm_status kgm__load_wordvecs_rd(kgm_reader *r, kgm_wordvecs *out);
kgm_status kgm__load_movies_rd(kgm_reader *r, kgm_dataset *ds, int variant);
kgm_status kgm__npy_parse(const char *name, const void *data, size_t n, kgm_tensor **out);
/* Parse a cache image held in memory (kgm_dataset_load reads the file). */
kgm_status kgm__cache_parse(const char *name, const void *data, size_t n, const kgm_cache_expect *e,
                            kgm_dataset *ds);

#endif
