/* MovieLens 100K / 1M / latest(-small). */
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

enum { ML_100K = 0, ML_1M = 1, ML_LATEST = 2 };

static const char *genres_100k[19] = {"unknown",  "Action",    "Adventure", "Animation", "Children's",
                                      "Comedy",   "Crime",     "Documentary", "Drama",   "Fantasy",
                                      "Film-Noir", "Horror",   "Musical",   "Mystery",   "Romance",
                                      "Sci-Fi",   "Thriller",  "War",       "Western"};

/* "Title (1995)" -> year 1995 (0 if none). */
static int title_year(const char *t, size_t n) {
    while (n && t[n - 1] == ' ') n--;
    if (n >= 6 && t[n - 1] == ')' && t[n - 6] == '(') {
        int32_t y;
        if (kgm__parse_i32(t + n - 5, 4, &y)) return y;
    }
    return 0;
}

typedef struct {
    int32_t c_genres, c_year;
    char *utf8;
    size_t utf8_cap;
} movies_state;

static kgm_status movie_row(kgm_reader *r, kgm_dataset *ds, movies_state *m, int variant, kgm_field *f, int nf) {
    int need = variant == ML_100K ? 5 : 3;
    if (nf < need) {
        return kgm_reader_bad(r, "expected at least %d fields (id, title, %s), found %d", need,
                              variant == ML_100K ? "dates, url, genre flags" : "genres", nf);
    }
    kgm_field id = kgm__trim(f[0]);
    int64_t v;
    if (!kgm__parse_i64(id.p, id.n, &v) || v < 0) {
        char q[80];
        return kgm_reader_bad(r, "expected a movie id in field 1, found %s", kgm__quote(q, sizeof q, id.p, id.n));
    }
    int32_t item;
    KGM_TRY(kgm_idmap_intern(&ds->items, id.p, id.n, &item));
    kgm_field title = f[1];
    if (variant != ML_LATEST) { /* 100K and 1M are latin-1 */
        if (title.n * 2 + 1 > m->utf8_cap) {
            char *p = realloc(m->utf8, title.n * 2 + 1);
            if (!p) return KGM_ERR(KGM_ERR_NOMEM, "title buffer");
            m->utf8 = p;
            m->utf8_cap = title.n * 2 + 1;
        }
        title.n = kgm__latin1_to_utf8(title.p, title.n, m->utf8);
        title.p = m->utf8;
    }
    KGM_TRY(kgm_strings_set(&ds->item_text, item, title.p, title.n));
    int y = title_year(title.p, title.n);
    if (y) KGM_TRY(kgm_table_set_num(&ds->item_attrs, m->c_year, item, (float)y));
    else KGM_TRY(kgm_table_reserve_rows(&ds->item_attrs, (int64_t)item + 1));
    if (variant == ML_100K) {
        for (int g = 5; g < nf && g < 5 + 19; g++) {
            kgm_field fl = kgm__trim(f[g]);
            if (fl.n == 1 && fl.p[0] == '1') {
                const char *name = genres_100k[g - 5];
                KGM_TRY(kgm_table_add_multi(&ds->item_attrs, m->c_genres, item, name, strlen(name)));
            } else if (!(fl.n == 1 && fl.p[0] == '0')) {
                char q[80];
                return kgm_reader_bad(r, "expected a genre flag 0 or 1 in field %d, found %s", g + 1,
                                      kgm__quote(q, sizeof q, fl.p, fl.n));
            }
        }
    } else {
        kgm_field g = kgm__trim(f[2]);
        if (!(g.n == 18 && memcmp(g.p, "(no genres listed)", 18) == 0)) {
            size_t a = 0;
            for (size_t b = 0; b <= g.n; b++)
                if (b == g.n || g.p[b] == '|') {
                    if (b > a) KGM_TRY(kgm_table_add_multi(&ds->item_attrs, m->c_genres, item, g.p + a, b - a));
                    a = b + 1;
                }
        }
    }
    r->rows++;
    return KGM_OK;
}

/* Sort MULTI pairs by row (stable) so that readers can walk them per row. */
static kgm_status sort_multi(kgm_column *c) {
    int64_t n = c->multi_n;
    if (n < 2) return KGM_OK;
    bool sorted = true;
    for (int64_t i = 1; i < n && sorted; i++) sorted = c->multi_row[i - 1] <= c->multi_row[i];
    if (sorted) return KGM_OK;
    int32_t mx = 0;
    for (int64_t i = 0; i < n; i++) mx = c->multi_row[i] > mx ? c->multi_row[i] : mx;
    int64_t *cnt = calloc((size_t)mx + 2, sizeof *cnt);
    int32_t *nr = malloc((size_t)n * sizeof *nr), *ncode = malloc((size_t)n * sizeof *ncode);
    if (!cnt || !nr || !ncode) {
        free(cnt);
        free(nr);
        free(ncode);
        return KGM_ERR(KGM_ERR_NOMEM, "sorting %s", c->name);
    }
    for (int64_t i = 0; i < n; i++) cnt[c->multi_row[i] + 1]++;
    for (int32_t r = 0; r <= mx; r++) cnt[r + 1] += cnt[r];
    for (int64_t i = 0; i < n; i++) {
        int64_t k = cnt[c->multi_row[i]]++;
        nr[k] = c->multi_row[i];
        ncode[k] = c->multi_code[i];
    }
    free(cnt);
    free(c->multi_row);
    free(c->multi_code);
    c->multi_row = nr;
    c->multi_code = ncode;
    c->multi_cap = n;
    return KGM_OK;
}

kgm_status kgm__table_sort_multi(kgm_table *t) {
    for (int32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].type == KGM_COL_MULTI) KGM_TRY(sort_multi(&t->cols[i]));
    return KGM_OK;
}

static kgm_status ensure_col(kgm_table *t, const char *name, kgm_col_type type, int32_t *col) {
    *col = kgm_table_find(t, name);
    if (*col >= 0) {
        if (t->cols[*col].type != type) return KGM_ERR(KGM_ERR_ARG, "column %s exists with another type", name);
        return KGM_OK;
    }
    return kgm_table_add_column(t, name, type, col);
}

kgm_status kgm__load_movies_rd(kgm_reader *r, kgm_dataset *ds, int variant) {
    movies_state m = {0};
    KGM_TRY(ensure_col(&ds->item_attrs, "genres", KGM_COL_MULTI, &m.c_genres));
    KGM_TRY(ensure_col(&ds->item_attrs, "year", KGM_COL_NUMERIC, &m.c_year));
    char delim = variant == ML_100K ? '|' : variant == ML_1M ? ':' : ',';
    kgm_field f[32];
    char *scratch = NULL;
    size_t scap = 0;
    const char *line;
    size_t len;
    bool got;
    kgm_status st = KGM_OK;
    while ((st = kgm_reader_next(r, &line, &len, &got)) == KGM_OK && got) {
        if (len == 0) continue;
        if (variant == ML_LATEST && r->line_no == 1 && len >= 7 && memcmp(line, "movieId", 7) == 0) continue;
        if ((st = kgm__scratch_reserve(&scratch, &scap, len + 1)) != KGM_OK) break;
        int nf = kgm__split(line, len, delim, variant == ML_LATEST, f, 32, scratch);
        if (nf < 0) st = kgm_reader_bad(r, "expected a closing double quote, found the end of the line");
        else st = movie_row(r, ds, &m, variant, f, nf < 32 ? nf : 32);
        if (st != KGM_OK) break;
    }
    free(scratch);
    free(m.utf8);
    KGM_TRY(st);
    return kgm__table_sort_multi(&ds->item_attrs);
}

static kgm_status users_rd(kgm_reader *r, kgm_dataset *ds, int variant) {
    /* 100K: id|age|gender|occupation|zip ; 1M: id::gender::age::occupation::zip */
    int32_t c_age, c_gender, c_occ, c_zip;
    KGM_TRY(ensure_col(&ds->user_attrs, "age", variant == ML_100K ? KGM_COL_NUMERIC : KGM_COL_CATEGORICAL, &c_age));
    KGM_TRY(ensure_col(&ds->user_attrs, "gender", KGM_COL_CATEGORICAL, &c_gender));
    KGM_TRY(ensure_col(&ds->user_attrs, "occupation", KGM_COL_CATEGORICAL, &c_occ));
    KGM_TRY(ensure_col(&ds->user_attrs, "zip", KGM_COL_CATEGORICAL, &c_zip));
    char delim = variant == ML_100K ? '|' : ':';
    kgm_field f[8];
    const char *line;
    size_t len;
    bool got;
    while (true) {
        KGM_TRY(kgm_reader_next(r, &line, &len, &got));
        if (!got) break;
        if (len == 0) continue;
        int nf = kgm__split(line, len, delim, false, f, 8, NULL);
        if (nf != 5) {
            char q[80];
            KGM_TRY(kgm_reader_bad(r, "expected 5 fields (id, %s), found %d in %s",
                                   variant == ML_100K ? "age, gender, occupation, zip" : "gender, age, occupation, zip",
                                   nf, kgm__quote(q, sizeof q, line, len)));
            continue;
        }
        kgm_field id = kgm__trim(f[0]);
        kgm_field age = kgm__trim(f[variant == ML_100K ? 1 : 2]);
        kgm_field gender = kgm__trim(f[variant == ML_100K ? 2 : 1]);
        float a = 0;
        if (id.n == 0 || (variant == ML_100K && !kgm__parse_f32(age.p, age.n, &a))) {
            char q[80];
            KGM_TRY(kgm_reader_bad(r, "expected a user id and a numeric age, found %s",
                                   kgm__quote(q, sizeof q, line, len)));
            continue;
        }
        int32_t u;
        KGM_TRY(kgm_idmap_intern(&ds->users, id.p, id.n, &u));
        if (variant == ML_100K) KGM_TRY(kgm_table_set_num(&ds->user_attrs, c_age, u, a));
        else KGM_TRY(kgm_table_set_cat(&ds->user_attrs, c_age, u, age.p, age.n));
        KGM_TRY(kgm_table_set_cat(&ds->user_attrs, c_gender, u, gender.p, gender.n));
        kgm_field occ = kgm__trim(f[3]), zip = kgm__trim(f[4]);
        KGM_TRY(kgm_table_set_cat(&ds->user_attrs, c_occ, u, occ.p, occ.n));
        KGM_TRY(kgm_table_set_cat(&ds->user_attrs, c_zip, u, zip.p, zip.n));
        r->rows++;
    }
    return KGM_OK;
}

typedef struct {
    kgm_dataset *ds;
    int variant;
    int what; /* 0 ratings, 1 movies, 2 users */
} ml_ctx;

static kgm_status body_ml(kgm_reader *r, void *v) {
    ml_ctx *c = v;
    if (c->what == 1) return kgm__load_movies_rd(r, c->ds, c->variant);
    if (c->what == 2) return users_rd(r, c->ds, c->variant);
    kgm_text_format f;
    kgm_text_format_default(&f, KGM_TEXT_INTERACTIONS);
    f.delim = c->variant == ML_100K ? '\t' : c->variant == ML_1M ? ':' : ',';
    f.header = c->variant == ML_LATEST ? 1 : 0;
    f.quotes = false;
    f.cols[2] = 2; /* rating and timestamp are required in every MovieLens release */
    f.cols[3] = 3;
    return kgm__load_interactions_rd(r, &f, c->ds);
}

kgm_status kgm_load_movielens(const char *dir, const kgm_load_opts *o, kgm_dataset *ds) {
    static const char *files[3][3] = {{"u.data", "u.item", "u.user"},
                                      {"ratings.dat", "movies.dat", "users.dat"},
                                      {"ratings.csv", "movies.csv", NULL}};
    static const char *roles[3] = {"ratings", "items", "users"};
    char path[4096];
    int variant = -1;
    for (int v = 0; v < 3 && variant < 0; v++)
        if (kgm__join(path, sizeof path, dir, files[v][0]) && kgm__present(path)) variant = v;
    if (variant < 0)
        return KGM_ERR(KGM_ERR_IO, "%s: expected a MovieLens folder (u.data, ratings.dat or ratings.csv), found none",
                       dir);
    for (int w = 0; w < 3; w++) {
        if (!files[variant][w]) continue;
        if (!kgm__join(path, sizeof path, dir, files[variant][w])) return KGM_ERR(KGM_ERR_ARG, "path too long");
        /* movies/users files are optional, but one that is there is read: a
         * folder or FIFO in its place is an error, not lost item text */
        if (w > 0 && !kgm__present(path)) continue;
        ml_ctx c = {ds, variant, w};
        KGM_TRY(kgm__with_file(path, o, ds, roles[w], "movielens", body_ml, &c));
    }
    ds->inter.kind = KGM_LABEL_RATING;
    if (!ds->name[0])
        snprintf(ds->name, sizeof ds->name, "%s", variant == ML_100K ? "ml-100k" : variant == ML_1M ? "ml-1m" : "ml-latest");
    return KGM_OK;
}
