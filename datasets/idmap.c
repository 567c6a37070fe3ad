/* Id maps, string lists and typed tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

/* Direct table bounds: ids below DIRECT_MAX may use it, and it never grows
 * beyond 8 entries per interned id (+ a floor), so sparse huge ids stay in the
 * hash instead of allocating a mostly empty array. */
#define DIRECT_MAX (1ll << 26)
#define DIRECT_FLOOR (1ll << 16)

static inline uint64_t str_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xBF58476D1CE4E5B9ull);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, n - i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 32);
}

void kgm_idmap_init(kgm_idmap *m) { memset(m, 0, sizeof *m); }

void kgm_idmap_destroy(kgm_idmap *m) {
    free(m->off);
    free(m->pool);
    free(m->slots);
    free(m->direct);
    memset(m, 0, sizeof *m);
}

static inline size_t name_len(const kgm_idmap *m, int32_t id) {
    int64_t end = (id + 1 < m->count) ? m->off[id + 1] : m->pool_len;
    return (size_t)(end - m->off[id] - 1);
}

const char *kgm_idmap_name(const kgm_idmap *m, int32_t id) {
    if (id < 0 || id >= m->count) return NULL;
    return m->pool + m->off[id];
}

static int32_t hash_find(const kgm_idmap *m, const char *s, size_t n, uint64_t h) {
    if (!m->nslots) return -1;
    uint32_t mask = m->nslots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        int32_t id = m->slots[i];
        if (id < 0) return -1;
        if (name_len(m, id) == n && memcmp(m->pool + m->off[id], s, n) == 0) return id;
    }
}

static kgm_status rehash(kgm_idmap *m, uint32_t nslots) {
    int32_t *ns = malloc((size_t)nslots * sizeof *ns);
    if (!ns) return KGM_ERR(KGM_ERR_NOMEM, "id map hash of %u slots", nslots);
    memset(ns, 0xff, (size_t)nslots * sizeof *ns);
    uint32_t mask = nslots - 1;
    for (int32_t id = 0; id < m->count; id++) {
        uint64_t h = str_hash(m->pool + m->off[id], name_len(m, id));
        uint32_t i = (uint32_t)h & mask;
        while (ns[i] >= 0) i = (i + 1) & mask;
        ns[i] = id;
    }
    free(m->slots);
    m->slots = ns;
    m->nslots = nslots;
    return KGM_OK;
}

static kgm_status add_name(kgm_idmap *m, const char *s, size_t n, uint64_t h, int32_t *out) {
    if (m->count == INT32_MAX) return KGM_ERR(KGM_ERR_INDEX, "id map is full (%d ids)", INT32_MAX);
    if ((uint64_t)(m->count + 1) * 2 > m->nslots) {
        uint32_t ns = m->nslots ? m->nslots * 2 : 64;
        if (ns == 0) return KGM_ERR(KGM_ERR_NOMEM, "id map hash overflow");
        KGM_TRY(rehash(m, ns));
    }
    int64_t cap = m->cap;
    KGM_TRY(KGM_GROW(m->off, &cap, (int64_t)m->count + 1));
    m->cap = cap > INT32_MAX ? INT32_MAX : (int32_t)cap;
    KGM_TRY(KGM_GROW(m->pool, &m->pool_cap, m->pool_len + (int64_t)n + 1));
    int32_t id = m->count++;
    m->off[id] = m->pool_len;
    memcpy(m->pool + m->pool_len, s, n);
    m->pool[m->pool_len + (int64_t)n] = '\0';
    m->pool_len += (int64_t)n + 1;
    uint32_t mask = m->nslots - 1;
    uint32_t i = (uint32_t)h & mask;
    while (m->slots[i] >= 0) i = (i + 1) & mask;
    m->slots[i] = id;
    *out = id;
    return KGM_OK;
}

/* Canonical decimal: digits only, no leading zero (except "0"), < 2^63. */
static inline bool canon_decimal(const char *s, size_t n, uint64_t *v) {
    if (n == 0 || n > 18 || (s[0] == '0' && n > 1)) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

static kgm_status direct_grow(kgm_idmap *m, uint64_t v) {
    int64_t nc = m->direct_cap ? m->direct_cap : 1024;
    while ((uint64_t)nc <= v) nc *= 2;
    int32_t *d = realloc(m->direct, (size_t)nc * sizeof *d);
    if (!d) return KGM_ERR(KGM_ERR_NOMEM, "id map direct table of %lld", (long long)nc);
    memset(d + m->direct_cap, 0xff, (size_t)(nc - m->direct_cap) * sizeof *d);
    m->direct = d;
    m->direct_cap = nc;
    return KGM_OK;
}

kgm_status kgm_idmap_intern_u64(kgm_idmap *m, uint64_t v, int32_t *out_id) {
    if ((int64_t)v >= 0 && (int64_t)v < m->direct_cap) {
        int32_t id = m->direct[v];
        if (id >= 0) {
            *out_id = id;
            return KGM_OK;
        }
    }
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    uint64_t h = str_hash(buf, (size_t)n);
    int32_t id = hash_find(m, buf, (size_t)n, h);
    if (id < 0) KGM_TRY(add_name(m, buf, (size_t)n, h, &id));
    if ((int64_t)v < m->direct_cap) {
        m->direct[v] = id;
    } else if ((int64_t)v < DIRECT_MAX && (int64_t)v < 8 * (int64_t)m->count + DIRECT_FLOOR) {
        KGM_TRY(direct_grow(m, v));
        m->direct[v] = id;
    }
    *out_id = id;
    return KGM_OK;
}

kgm_status kgm_idmap_intern(kgm_idmap *m, const char *name, size_t len, int32_t *out_id) {
    uint64_t v;
    if (canon_decimal(name, len, &v)) return kgm_idmap_intern_u64(m, v, out_id);
    uint64_t h = str_hash(name, len);
    int32_t id = hash_find(m, name, len, h);
    if (id >= 0) {
        *out_id = id;
        return KGM_OK;
    }
    return add_name(m, name, len, h, out_id);
}

int32_t kgm_idmap_find(const kgm_idmap *m, const char *name, size_t len) {
    uint64_t v;
    if (canon_decimal(name, len, &v) && (int64_t)v < m->direct_cap && m->direct[v] >= 0)
        return m->direct[v];
    return hash_find(m, name, len, str_hash(name, len));
}

/* ---- strings ---------------------------------------------------------------- */

void kgm_strings_init(kgm_strings *s) { memset(s, 0, sizeof *s); }

void kgm_strings_destroy(kgm_strings *s) {
    free(s->off);
    free(s->len);
    free(s->pool);
    memset(s, 0, sizeof *s);
}

kgm_status kgm_strings_set(kgm_strings *s, int64_t i, const char *str, size_t len) {
    if (i < 0) return KGM_ERR(KGM_ERR_INDEX, "string row %lld", (long long)i);
    if (len > INT32_MAX) return KGM_ERR(KGM_ERR_ARG, "string of %zu bytes is too long", len);
    if (i >= s->n) {
        int64_t cap = s->cap;
        KGM_TRY(KGM_GROW(s->off, &cap, i + 1));
        int64_t cap2 = s->cap;
        KGM_TRY(KGM_GROW(s->len, &cap2, i + 1));
        s->cap = cap < cap2 ? cap : cap2;
        for (int64_t k = s->n; k <= i; k++) {
            s->off[k] = -1;
            s->len[k] = 0;
        }
        s->n = i + 1;
    }
    KGM_TRY(KGM_GROW(s->pool, &s->pool_cap, s->pool_len + (int64_t)len + 1));
    memcpy(s->pool + s->pool_len, str, len);
    s->pool[s->pool_len + (int64_t)len] = '\0';
    s->off[i] = s->pool_len;
    s->len[i] = (int32_t)len;
    s->pool_len += (int64_t)len + 1;
    return KGM_OK;
}

const char *kgm_strings_get(const kgm_strings *s, int64_t i, int32_t *len) {
    if (i < 0 || i >= s->n || s->off[i] < 0) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = s->len[i];
    return s->pool + s->off[i];
}

/* ---- tables ---------------------------------------------------------------- */

void kgm_table_init(kgm_table *t) { memset(t, 0, sizeof *t); }

static void column_destroy(kgm_column *c) {
    free(c->name);
    free(c->num);
    free(c->cat);
    kgm_idmap_destroy(&c->levels);
    free(c->multi_row);
    free(c->multi_code);
    kgm_strings_destroy(&c->text);
}

void kgm_table_destroy(kgm_table *t) {
    for (int32_t i = 0; i < t->ncols; i++) column_destroy(&t->cols[i]);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

int32_t kgm_table_find(const kgm_table *t, const char *name) {
    for (int32_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0) return i;
    return -1;
}

static kgm_status column_fit(kgm_column *c, int64_t old_cap, int64_t cap, int64_t rows, int64_t old_rows) {
    if (c->type == KGM_COL_NUMERIC) {
        if (cap != old_cap || !c->num) {
            float *p = realloc(c->num, (size_t)(cap ? cap : 1) * sizeof *p);
            if (!p) return KGM_ERR(KGM_ERR_NOMEM, "column %s", c->name);
            c->num = p;
        }
        for (int64_t r = old_rows; r < rows; r++) c->num[r] = NAN;
    } else if (c->type == KGM_COL_CATEGORICAL) {
        if (cap != old_cap || !c->cat) {
            int32_t *p = realloc(c->cat, (size_t)(cap ? cap : 1) * sizeof *p);
            if (!p) return KGM_ERR(KGM_ERR_NOMEM, "column %s", c->name);
            c->cat = p;
        }
        for (int64_t r = old_rows; r < rows; r++) c->cat[r] = -1;
    }
    if (c->type != KGM_COL_MULTI) c->missing += rows - old_rows;
    return KGM_OK;
}

kgm_status kgm_table_reserve_rows(kgm_table *t, int64_t rows) {
    if (rows <= t->rows) return KGM_OK;
    int64_t old_cap = t->cap, cap = t->cap ? t->cap : 16;
    while (cap < rows) cap *= 2;
    for (int32_t i = 0; i < t->ncols; i++) KGM_TRY(column_fit(&t->cols[i], old_cap, cap, rows, t->rows));
    t->cap = cap;
    t->rows = rows;
    return KGM_OK;
}

kgm_status kgm_table_add_column(kgm_table *t, const char *name, kgm_col_type type, int32_t *out_col) {
    if (kgm_table_find(t, name) >= 0) return KGM_ERR(KGM_ERR_ARG, "column %s exists already", name);
    kgm_column *nc = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof *nc);
    if (!nc) return KGM_ERR(KGM_ERR_NOMEM, "table columns");
    t->cols = nc;
    kgm_column *c = &t->cols[t->ncols];
    memset(c, 0, sizeof *c);
    c->type = type;
    c->name = kgm__strdup(name);
    if (!c->name) return KGM_ERR(KGM_ERR_NOMEM, "column name");
    kgm_idmap_init(&c->levels);
    kgm_strings_init(&c->text);
    t->ncols++;
    kgm_status st = column_fit(c, -1, t->cap, t->rows, 0);
    if (st != KGM_OK) return st;
    if (out_col) *out_col = t->ncols - 1;
    return KGM_OK;
}

static kgm_status cell(kgm_table *t, int32_t col, int64_t row, kgm_col_type type, kgm_column **out) {
    if (col < 0 || col >= t->ncols) return KGM_ERR(KGM_ERR_INDEX, "column %d of %d", col, t->ncols);
    if (row < 0 || row >= INT32_MAX) return KGM_ERR(KGM_ERR_INDEX, "table row %lld", (long long)row);
    if (t->cols[col].type != type)
        return KGM_ERR(KGM_ERR_ARG, "column %s has another type", t->cols[col].name);
    KGM_TRY(kgm_table_reserve_rows(t, row + 1));
    *out = &t->cols[col];
    return KGM_OK;
}

kgm_status kgm_table_set_num(kgm_table *t, int32_t col, int64_t row, float v) {
    kgm_column *c = NULL;
    KGM_TRY(cell(t, col, row, KGM_COL_NUMERIC, &c));
    c->missing += (isnan(v) ? 1 : 0) - (isnan(c->num[row]) ? 1 : 0);
    c->num[row] = v;
    return KGM_OK;
}

kgm_status kgm_table_set_cat(kgm_table *t, int32_t col, int64_t row, const char *level, size_t len) {
    kgm_column *c = NULL;
    KGM_TRY(cell(t, col, row, KGM_COL_CATEGORICAL, &c));
    int32_t code = -1;
    if (level) KGM_TRY(kgm_idmap_intern(&c->levels, level, len, &code));
    c->missing += (code < 0 ? 1 : 0) - (c->cat[row] < 0 ? 1 : 0);
    c->cat[row] = code;
    return KGM_OK;
}

kgm_status kgm_table_add_multi(kgm_table *t, int32_t col, int64_t row, const char *level, size_t len) {
    kgm_column *c = NULL;
    KGM_TRY(cell(t, col, row, KGM_COL_MULTI, &c));
    int32_t code;
    KGM_TRY(kgm_idmap_intern(&c->levels, level, len, &code));
    int64_t cap = c->multi_cap;
    KGM_TRY(KGM_GROW(c->multi_row, &cap, c->multi_n + 1));
    int64_t cap2 = c->multi_cap;
    KGM_TRY(KGM_GROW(c->multi_code, &cap2, c->multi_n + 1));
    c->multi_cap = cap < cap2 ? cap : cap2;
    c->multi_row[c->multi_n] = (int32_t)row;
    c->multi_code[c->multi_n] = code;
    c->multi_n++;
    return KGM_OK;
}

kgm_status kgm_table_set_text(kgm_table *t, int32_t col, int64_t row, const char *s, size_t len) {
    kgm_column *c = NULL;
    KGM_TRY(cell(t, col, row, KGM_COL_TEXT, &c));
    bool was_set = row < c->text.n && c->text.off[row] >= 0;
    KGM_TRY(kgm_strings_set(&c->text, row, s ? s : "", s ? len : 0));
    if (!was_set && s) c->missing--;
    if (!s) {
        if (was_set) c->missing++;
        c->text.off[row] = -1;
    }
    return KGM_OK;
}
