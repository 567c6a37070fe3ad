/* Generic delimited files: interactions, triples, edge lists, tables. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

#define MAX_FIELDS 256

void kgm_text_format_default(kgm_text_format *f, kgm_text_kind kind) {
    memset(f, 0, sizeof *f);
    f->delim = 0;
    f->header = -1;
    f->quotes = false;
    f->cols[0] = 0;
    f->cols[1] = 1;
    f->cols[2] = kind == KGM_TEXT_TRIPLES ? 2 : -2;
    f->cols[3] = kind == KGM_TEXT_INTERACTIONS ? -2 : -1;
}

static const char *role_names[3][4] = {
    {"user", "item", "label", "timestamp"},
    {"head", "relation", "tail", "-"},
    {"source", "destination", "weight", "-"},
};

/* A line counts as blank when it holds only blanks: skipped, not a row. */
static bool blank_line(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t') return false;
    return true;
}

static bool looks_like_header_word(kgm_field f) {
    static const char *words[] = {"user", "item", "movie", "src", "dst", "source", "target", "head",
                                  "tail", "relation", "id", "rating", "friend", "from", "to", "node"};
    char low[32];
    if (f.n == 0 || f.n >= sizeof low) return false;
    for (size_t i = 0; i < f.n; i++) low[i] = (char)tolower((unsigned char)f.p[i]);
    low[f.n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i])) return true;
    return false;
}

/* Shared prologue: resolve delimiter and header from the first non-blank
 * line. `numeric[k]` says which role columns must hold numbers. Returns the
 * first data line through (*line, *len, *have) (have = false if the first
 * line was a header that has been consumed). */
typedef struct text_state {
    kgm_text_format f;
    int maxcol;
    kgm_field fld[MAX_FIELDS];
    char *scratch;
    size_t scratch_cap;
    bool resolved; /* optional (-2) columns decided on the first data row */
} text_state;

static kgm_status state_init(text_state *s, const kgm_text_format *f, kgm_text_kind kind) {
    memset(s, 0, sizeof *s);
    if (f) s->f = *f;
    else kgm_text_format_default(&s->f, kind);
    s->maxcol = -1;
    for (int i = 0; i < 4; i++) {
        if (s->f.cols[i] >= MAX_FIELDS) return KGM_ERR(KGM_ERR_ARG, "column %d is beyond %d", s->f.cols[i], MAX_FIELDS);
        if (s->f.cols[i] > s->maxcol) s->maxcol = s->f.cols[i];
    }
    if (s->f.cols[0] < 0 || s->f.cols[1] < 0)
        return KGM_ERR(KGM_ERR_ARG, "the first two columns of a text format must be given");
    if (kind == KGM_TEXT_TRIPLES && s->f.cols[2] < 0) return KGM_ERR(KGM_ERR_ARG, "triples need three columns");
    return KGM_OK;
}

static void state_destroy(text_state *s) { free(s->scratch); }

static kgm_status split_line(text_state *s, kgm_reader *r, const char *line, size_t len, int *nf) {
    if (s->f.quotes && len > s->scratch_cap) {
        char *p = realloc(s->scratch, len + 1);
        if (!p) return KGM_ERR(KGM_ERR_NOMEM, "scratch");
        s->scratch = p;
        s->scratch_cap = len + 1;
    }
    *nf = kgm__split(line, len, s->f.delim, s->f.quotes, s->fld, MAX_FIELDS, s->scratch);
    (void)r;
    return KGM_OK;
}

/* Decide delimiter and header on the first non-blank line. *is_header tells
 * the caller to skip it. */
static void first_line(text_state *s, const char *line, size_t len, const bool numeric[4], bool *is_header) {
    if (!s->f.delim) s->f.delim = kgm__guess_delim(line, len);
    if (s->f.delim == ',') s->f.quotes = true;
    *is_header = s->f.header == 1;
    if (s->f.header != -1) return;
    int nf = kgm__split(line, len, s->f.delim, false, s->fld, MAX_FIELDS, NULL);
    bool any_numeric_role = false, hdr = false;
    for (int k = 0; k < 4; k++) {
        int c = s->f.cols[k] == -2 ? k : s->f.cols[k]; /* optional columns count if present */
        if (c < 0 || !numeric[k] || c >= nf) continue;
        any_numeric_role = true;
        /* a header names the column: no digit at all (a bad number in the
         * first data row still has digits and is reported as an error) */
        kgm_field fl = kgm__trim(s->fld[c]);
        bool digit = false;
        for (size_t i = 0; i < fl.n && !digit; i++) digit = fl.p[i] >= '0' && fl.p[i] <= '9';
        if (!digit) hdr = true;
    }
    if (!any_numeric_role || !hdr) {
        /* ids only: a header names its columns */
        hdr = hdr || (nf > 1 && looks_like_header_word(kgm__trim(s->fld[s->f.cols[0]])) &&
                      looks_like_header_word(kgm__trim(s->fld[s->f.cols[1]])));
    }
    *is_header = hdr;
}

typedef kgm_status (*row_fn)(void *ctx, kgm_reader *r, text_state *s, int nf);

/* The line loop shared by the three relation loaders. */
static kgm_status text_loop(kgm_reader *r, text_state *s, const bool numeric[4], row_fn fn, void *ctx) {
    const char *line;
    size_t len;
    bool got, first = true;
    for (;;) {
        KGM_TRY(kgm_reader_next(r, &line, &len, &got));
        if (!got) break;
        if (blank_line(line, len)) continue;
        if (first) {
            first = false;
            bool hdr;
            first_line(s, line, len, numeric, &hdr);
            if (hdr) continue;
        }
        int nf = 0;
        KGM_TRY(split_line(s, r, line, len, &nf));
        if (nf < 0) {
            KGM_TRY(kgm_reader_bad(r, "expected a closing double quote, found the end of the line"));
            continue;
        }
        if (!s->resolved) {
            s->resolved = true;
            for (int k = 0; k < 4; k++)
                if (s->f.cols[k] == -2) {
                    s->f.cols[k] = nf > k ? k : -1;
                    if (s->f.cols[k] > s->maxcol) s->maxcol = s->f.cols[k];
                }
        }
        if (nf <= s->maxcol) {
            char q[80];
            KGM_TRY(kgm_reader_bad(r, "expected at least %d fields, found %d in %s", s->maxcol + 1, nf,
                                   kgm__quote(q, sizeof q, line, len)));
            continue;
        }
        KGM_TRY(fn(ctx, r, s, nf));
    }
    return KGM_OK;
}

/* Intern a non-empty id field. Returns KGM_OK with *id = -1 when the row was
 * rejected in lenient mode. */
static kgm_status field_id(kgm_reader *r, text_state *s, int role_kind, int role, kgm_idmap *m, int32_t *id) {
    kgm_field f = kgm__trim(s->fld[s->f.cols[role]]);
    *id = -1;
    if (f.n == 0)
        return kgm_reader_bad(r, "expected a %s id in column %d, found an empty field", role_names[role_kind][role],
                              s->f.cols[role] + 1);
    return kgm_idmap_intern(m, f.p, f.n, id);
}

static kgm_status field_float(kgm_reader *r, text_state *s, int role_kind, int role, float *v, bool *ok) {
    kgm_field f = kgm__trim(s->fld[s->f.cols[role]]);
    *ok = kgm__parse_f32(f.p, f.n, v);
    if (*ok) return KGM_OK;
    char q[80];
    return kgm_reader_bad(r, "expected a finite number in column %d (%s), found %s", s->f.cols[role] + 1,
                          role_names[role_kind][role], kgm__quote(q, sizeof q, f.p, f.n));
}

/* ---- interactions ------------------------------------------------------------ */

typedef struct {
    kgm_dataset *ds;
    bool binary; /* all labels so far are 0 or 1 */
} inter_ctx;

static kgm_status inter_row(void *vctx, kgm_reader *r, text_state *s, int nf) {
    inter_ctx *c = vctx;
    kgm_dataset *ds = c->ds;
    (void)nf;
    float label = 1.0f;
    int64_t ts = 0;
    bool ok = true;
    if (s->f.cols[2] >= 0) {
        KGM_TRY(field_float(r, s, 0, 2, &label, &ok));
        if (!ok) return KGM_OK;
        if (label != 0.0f && label != 1.0f) c->binary = false;
    }
    if (s->f.cols[3] >= 0) {
        kgm_field f = kgm__trim(s->fld[s->f.cols[3]]);
        if (!kgm__parse_i64(f.p, f.n, &ts)) {
            char q[80];
            return kgm_reader_bad(r, "expected an integer timestamp in column %d, found %s", s->f.cols[3] + 1,
                                  kgm__quote(q, sizeof q, f.p, f.n));
        }
    }
    int32_t u, i;
    KGM_TRY(field_id(r, s, 0, 0, &ds->users, &u));
    if (u < 0) return KGM_OK;
    KGM_TRY(field_id(r, s, 0, 1, &ds->items, &i));
    if (i < 0) return KGM_OK;
    KGM_TRY(kgm_dataset_add_interaction(ds, u, i, label, s->f.cols[3] >= 0, ts));
    r->rows++;
    return KGM_OK;
}

/* Count duplicate rows added since `from` into the reader's report. */
static kgm_status count_dups(kgm_reader *r, const int32_t *a, const int32_t *b, const int32_t *c, int64_t from,
                             int64_t to) {
    if (to - from < 2) return KGM_OK;
    int64_t d = kgm__find_dups(a + from, b ? b + from : NULL, c ? c + from : NULL, to - from, NULL);
    if (d < 0) return KGM_ERR(KGM_ERR_NOMEM, "duplicate check of %s", r->path);
    r->duplicates += d;
    return KGM_OK;
}

kgm_status kgm__load_interactions_rd(kgm_reader *r, const kgm_text_format *f, kgm_dataset *ds) {
    text_state s;
    KGM_TRY(state_init(&s, f, KGM_TEXT_INTERACTIONS));
    inter_ctx c = {ds, true};
    static const bool numeric[4] = {false, false, true, true};
    int64_t n0 = ds->inter.n;
    kgm_status st = text_loop(r, &s, numeric, inter_row, &c);
    state_destroy(&s);
    KGM_TRY(st);
    if (s.f.cols[2] >= 0 && ds->inter.n > n0) {
        kgm_label_kind k = c.binary ? KGM_LABEL_BINARY : KGM_LABEL_RATING;
        if (n0 == 0 || k > ds->inter.kind) ds->inter.kind = k;
    }
    return count_dups(r, ds->inter.user, ds->inter.item, NULL, n0, ds->inter.n);
}

kgm_status kgm__with_file(const char *path, const kgm_load_opts *o, kgm_dataset *ds, const char *role,
                          const char *loader, kgm_status (*body)(kgm_reader *, void *), void *ctx) {
    kgm_reader r;
    KGM_TRY(kgm_reader_open(&r, path, o));
    kgm_status st = body(&r, ctx);
    if (st == KGM_OK) st = kgm_reader_finish(&r, ds, role);
    kgm_reader_close(&r);
    if (st == KGM_OK && ds && !ds->prov.loader) {
        ds->prov.loader = kgm__strdup(loader);
        if (!ds->prov.loader) return KGM_ERR(KGM_ERR_NOMEM, "loader name");
    }
    return st;
}

typedef struct {
    const kgm_text_format *f;
    kgm_dataset *ds;
    bool directed;
} file_ctx;

static kgm_status body_inter(kgm_reader *r, void *v) {
    file_ctx *c = v;
    return kgm__load_interactions_rd(r, c->f, c->ds);
}

kgm_status kgm_load_interactions(const char *path, const kgm_text_format *f, const kgm_load_opts *o,
                                 kgm_dataset *ds) {
    file_ctx c = {f, ds, false};
    return kgm__with_file(path, o, ds, "interactions", "tsv-interactions", body_inter, &c);
}

/* ---- triples --------------------------------------------------------------------- */

static kgm_status triple_row(void *vctx, kgm_reader *r, text_state *s, int nf) {
    kgm_dataset *ds = vctx;
    (void)nf;
    int32_t h, rel, t;
    KGM_TRY(field_id(r, s, 1, 0, &ds->entities, &h));
    if (h < 0) return KGM_OK;
    KGM_TRY(field_id(r, s, 1, 1, &ds->relations, &rel));
    if (rel < 0) return KGM_OK;
    KGM_TRY(field_id(r, s, 1, 2, &ds->entities, &t));
    if (t < 0) return KGM_OK;
    KGM_TRY(kgm_dataset_add_triple(ds, h, rel, t));
    r->rows++;
    return KGM_OK;
}

kgm_status kgm__load_triples_rd(kgm_reader *r, const kgm_text_format *f, kgm_dataset *ds) {
    text_state s;
    KGM_TRY(state_init(&s, f, KGM_TEXT_TRIPLES));
    static const bool numeric[4] = {false, false, false, false};
    int64_t n0 = ds->kg.n;
    kgm_status st = text_loop(r, &s, numeric, triple_row, ds);
    state_destroy(&s);
    KGM_TRY(st);
    return count_dups(r, ds->kg.h, ds->kg.r, ds->kg.t, n0, ds->kg.n);
}

static kgm_status body_triples(kgm_reader *r, void *v) {
    file_ctx *c = v;
    return kgm__load_triples_rd(r, c->f, c->ds);
}

kgm_status kgm_load_triples(const char *path, const kgm_text_format *f, const kgm_load_opts *o,
                            kgm_dataset *ds) {
    file_ctx c = {f, ds, false};
    return kgm__with_file(path, o, ds, "kg", "tsv-triples", body_triples, &c);
}

/* ---- edges ------------------------------------------------------------------------- */

static kgm_status edge_row(void *vctx, kgm_reader *r, text_state *s, int nf) {
    kgm_dataset *ds = vctx;
    float w = 1.0f;
    bool weighted = s->f.cols[2] >= 0;
    if (weighted) {
        bool ok;
        KGM_TRY(field_float(r, s, 2, 2, &w, &ok));
        if (!ok) return KGM_OK;
        if (!(w > 0.0f)) { /* social propagation normalises by weighted degrees */
            kgm_field f = kgm__trim(s->fld[s->f.cols[2]]);
            char q[80];
            return kgm_reader_bad(r, "expected a positive weight in column %d (%s), found %s", s->f.cols[2] + 1,
                                  role_names[2][2], kgm__quote(q, sizeof q, f.p, f.n));
        }
    }
    int32_t a, b;
    KGM_TRY(field_id(r, s, 2, 0, &ds->users, &a));
    if (a < 0) return KGM_OK;
    KGM_TRY(field_id(r, s, 2, 1, &ds->users, &b));
    if (b < 0) return KGM_OK;
    KGM_TRY(kgm_dataset_add_edge(ds, a, b, weighted, w));
    r->rows++;
    return KGM_OK;
}

kgm_status kgm__load_edges_rd(kgm_reader *r, const kgm_text_format *f, bool directed, kgm_dataset *ds) {
    text_state s;
    KGM_TRY(state_init(&s, f, KGM_TEXT_EDGES));
    static const bool numeric[4] = {false, false, true, false};
    ds->social.directed = directed;
    kgm_status st = text_loop(r, &s, numeric, edge_row, ds);
    state_destroy(&s);
    KGM_TRY(st);
    /* one edge per pair (per unordered pair when undirected), counted */
    kgm_social_merged m;
    KGM_TRY(kgm_social_merge(&ds->social, &m));
    r->duplicates += m.duplicates;
    if (r->opts && r->opts->report) {
        r->opts->report->reciprocal += m.reciprocal;
        r->opts->report->weight_conflicts += m.weight_conflicts;
    }
    return KGM_OK;
}

static kgm_status body_edges(kgm_reader *r, void *v) {
    file_ctx *c = v;
    return kgm__load_edges_rd(r, c->f, c->directed, c->ds);
}

kgm_status kgm_load_edges(const char *path, const kgm_text_format *f, bool directed, const kgm_load_opts *o,
                          kgm_dataset *ds) {
    file_ctx c = {f, ds, directed};
    return kgm__with_file(path, o, ds, "social", "tsv-edges", body_edges, &c);
}

/* ---- tables ------------------------------------------------------------------------ */

/* Cells are first kept as text per column, then typed: declared columns as
 * declared, others NUMERIC if every non-missing cell is a number. */
kgm_status kgm__load_table_rd(kgm_reader *r, const kgm_text_format *f, const kgm_col_decl *decl,
                              int32_t n_decl, kgm_table *out) {
    kgm_table_init(out);
    text_state s;
    KGM_TRY(state_init(&s, f, KGM_TEXT_INTERACTIONS));
    const char *line;
    size_t len;
    bool got;
    int ncols = 0;
    kgm_strings *cells = NULL;
    char **names = NULL;
    int64_t rows = 0;
    kgm_status st = KGM_OK;
    /* header */
    for (;;) {
        st = kgm_reader_next(r, &line, &len, &got);
        if (st != KGM_OK) goto done;
        if (!got) {
            st = kgm_error_at(KGM_ERR_PARSE, r->path, r->line_no + 1,
                               "expected a header line naming the columns, found the end of the file");
            goto done;
        }
        if (!blank_line(line, len)) break;
    }
    if (!s.f.delim) s.f.delim = kgm__guess_delim(line, len);
    if (s.f.delim == ',') s.f.quotes = true;
    int nf = 0;
    if ((st = split_line(&s, r, line, len, &nf)) != KGM_OK) goto done;
    if (nf < 0 || nf > MAX_FIELDS) {
        st = kgm_error_at(KGM_ERR_PARSE, r->path, r->line_no, "expected a header of at most %d names, found %s",
                           MAX_FIELDS, nf < 0 ? "an unterminated quote" : "more");
        goto done;
    }
    ncols = nf;
    cells = calloc((size_t)ncols, sizeof *cells);
    names = calloc((size_t)ncols, sizeof *names);
    if (!cells || !names) {
        st = KGM_ERR(KGM_ERR_NOMEM, "table columns");
        goto done;
    }
    for (int c = 0; c < ncols; c++) {
        kgm_field fl = kgm__trim(s.fld[c]);
        names[c] = malloc(fl.n + 16);
        if (!names[c]) {
            st = KGM_ERR(KGM_ERR_NOMEM, "column name");
            goto done;
        }
        if (fl.n) {
            memcpy(names[c], fl.p, fl.n);
            names[c][fl.n] = '\0';
        } else {
            snprintf(names[c], fl.n + 16, "col%d", c + 1);
        }
        for (int d = 0; d < c; d++)
            if (strcmp(names[d], names[c]) == 0) {
                st = kgm_error_at(KGM_ERR_PARSE, r->path, r->line_no,
                                   "expected distinct column names, found %s twice", names[c]);
                goto done;
            }
    }
    int8_t dtype[MAX_FIELDS];
    for (int c = 0; c < ncols; c++) {
        dtype[c] = -1;
        for (int32_t k = 0; k < n_decl; k++)
            if (strcmp(decl[k].name, names[c]) == 0) dtype[c] = (int8_t)decl[k].type;
    }
    for (int32_t k = 0; k < n_decl; k++) {
        bool found = false;
        for (int c = 0; c < ncols && !found; c++) found = strcmp(names[c], decl[k].name) == 0;
        if (!found) {
            st = kgm_error_at(KGM_ERR_PARSE, r->path, r->line_no,
                               "expected a column named %s in the header, found none", decl[k].name);
            goto done;
        }
    }
    for (;;) {
        if ((st = kgm_reader_next(r, &line, &len, &got)) != KGM_OK) goto done;
        if (!got) break;
        if (blank_line(line, len)) continue;
        if ((st = split_line(&s, r, line, len, &nf)) != KGM_OK) goto done;
        if (nf != ncols) {
            char q[80];
            if (nf < 0) st = kgm_reader_bad(r, "expected a closing double quote, found the end of the line");
            else st = kgm_reader_bad(r, "expected %d fields, found %d in %s", ncols, nf, kgm__quote(q, sizeof q, line, len));
            if (st != KGM_OK) goto done;
            continue;
        }
        int bad = -1;
        for (int c = 0; c < ncols && bad < 0; c++) {
            kgm_field fl = kgm__trim(s.fld[c]);
            float v;
            if (dtype[c] == KGM_COL_NUMERIC && !kgm__is_missing(fl.p, fl.n) && !kgm__parse_f32(fl.p, fl.n, &v))
                bad = c;
        }
        if (bad >= 0) {
            char q[80];
            kgm_field fl = kgm__trim(s.fld[bad]);
            if ((st = kgm_reader_bad(r, "expected a number in column %d (%s), found %s", bad + 1, names[bad],
                                     kgm__quote(q, sizeof q, fl.p, fl.n))) != KGM_OK)
                goto done;
            continue;
        }
        for (int c = 0; c < ncols; c++) {
            kgm_field fl = kgm__trim(s.fld[c]);
            if ((st = kgm_strings_set(&cells[c], rows, fl.p, fl.n)) != KGM_OK) goto done;
        }
        rows++;
        r->rows++;
    }
    /* type and store */
    for (int c = 0; c < ncols; c++) {
        kgm_col_type type = KGM_COL_NUMERIC;
        bool declared = false;
        for (int32_t k = 0; k < n_decl; k++)
            if (strcmp(decl[k].name, names[c]) == 0) {
                type = decl[k].type;
                declared = true;
            }
        if (!declared) {
            for (int64_t i = 0; i < rows; i++) {
                int32_t l;
                const char *p = kgm_strings_get(&cells[c], i, &l);
                float v;
                if (!kgm__is_missing(p, (size_t)l) && !kgm__parse_f32(p, (size_t)l, &v)) {
                    type = KGM_COL_CATEGORICAL;
                    break;
                }
            }
        }
        int32_t col;
        if ((st = kgm_table_add_column(out, names[c], type, &col)) != KGM_OK) goto done;
    }
    if ((st = kgm_table_reserve_rows(out, rows)) != KGM_OK) goto done;
    for (int c = 0; c < ncols; c++) {
        kgm_column *col = &out->cols[c];
        for (int64_t i = 0; i < rows; i++) {
            int32_t l;
            const char *p = kgm_strings_get(&cells[c], i, &l);
            bool miss = kgm__is_missing(p, (size_t)l);
            switch (col->type) {
            case KGM_COL_NUMERIC: {
                float v = NAN;
                if (!miss && !kgm__parse_f32(p, (size_t)l, &v)) v = NAN; /* checked while reading */
                if (!miss) st = kgm_table_set_num(out, c, i, v);
                break;
            }
            case KGM_COL_CATEGORICAL:
                if (!miss) st = kgm_table_set_cat(out, c, i, p, (size_t)l);
                break;
            case KGM_COL_MULTI: {
                size_t a = 0;
                for (size_t b = 0; b <= (size_t)l && st == KGM_OK; b++)
                    if (b == (size_t)l || p[b] == '|') {
                        if (b > a) st = kgm_table_add_multi(out, c, i, p + a, b - a);
                        a = b + 1;
                    }
                break;
            }
            case KGM_COL_TEXT:
                if (!miss) st = kgm_table_set_text(out, c, i, p, (size_t)l);
                break;
            }
            if (st != KGM_OK) goto done;
        }
    }
done:
    for (int c = 0; c < ncols; c++) {
        if (cells) kgm_strings_destroy(&cells[c]);
        if (names) free(names[c]);
    }
    free(cells);
    free(names);
    state_destroy(&s);
    if (st != KGM_OK) kgm_table_destroy(out);
    return st;
}

typedef struct {
    const kgm_text_format *f;
    const kgm_col_decl *decl;
    int32_t n_decl;
    kgm_table *out;
} table_ctx;

static kgm_status body_table(kgm_reader *r, void *v) {
    table_ctx *c = v;
    return kgm__load_table_rd(r, c->f, c->decl, c->n_decl, c->out);
}

kgm_status kgm_load_table(const char *path, const kgm_text_format *f, const kgm_col_decl *decl, int32_t n_decl,
                          const kgm_load_opts *o, kgm_table *out) {
    table_ctx c = {f, decl, n_decl, out};
    kgm_table_init(out);
    return kgm__with_file(path, o, NULL, NULL, NULL, body_table, &c);
}
