/* Binary cache of a dataset in msgpack.
 *
 * A cache file is three msgpack objects back to back:
 *   1. a header map: magic, version, body size, name, and the provenance
 *      (sources with checksums, load counts, preparation settings);
 *   2. the body map: id maps, relations, tables, texts, split and negatives,
 *      every array as one msgpack bin of little-endian values;
 *   3. the trailer: a uint64 always in its 9-byte form (0xcf + 8 bytes big
 *      endian), kgm_hash64 of every byte before it.
 * The checksum covers the header too: a flipped byte in the provenance would
 * otherwise change the recorded loader, sources or settings unnoticed (and the
 * staleness check trusts them). Magic and version are read first so that an
 * old cache says "rebuild" rather than "corrupt"; every index is then
 * validated, so a cache that passes is safe to use. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/data_internal.h"

/* ---- writing ---------------------------------------------------------------- */

static void pk_str(msgpack_packer *pk, const char *s) {
    size_t n = s ? strlen(s) : 0;
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s ? s : "", n);
}

static void pk_bin(msgpack_packer *pk, const void *p, size_t bytes) {
    msgpack_pack_bin(pk, bytes);
    if (bytes) msgpack_pack_bin_body(pk, p, bytes);
}

static void pk_key(msgpack_packer *pk, const char *k) { pk_str(pk, k); }

static void pk_idmap(msgpack_packer *pk, const kgm_idmap *m) {
    msgpack_pack_map(pk, 3);
    pk_key(pk, "count");
    msgpack_pack_int32(pk, m->count);
    pk_key(pk, "off");
    pk_bin(pk, m->off, (size_t)m->count * sizeof *m->off);
    pk_key(pk, "pool");
    pk_bin(pk, m->pool, (size_t)m->pool_len);
}

static void pk_strings(msgpack_packer *pk, const kgm_strings *s) {
    msgpack_pack_map(pk, 4);
    pk_key(pk, "n");
    msgpack_pack_int64(pk, s->n);
    pk_key(pk, "off");
    pk_bin(pk, s->off, (size_t)s->n * sizeof *s->off);
    pk_key(pk, "len");
    pk_bin(pk, s->len, (size_t)s->n * sizeof *s->len);
    pk_key(pk, "pool");
    pk_bin(pk, s->pool, (size_t)s->pool_len);
}

static void pk_table(msgpack_packer *pk, const kgm_table *t) {
    msgpack_pack_map(pk, 2);
    pk_key(pk, "rows");
    msgpack_pack_int64(pk, t->rows);
    pk_key(pk, "cols");
    msgpack_pack_array(pk, (size_t)t->ncols);
    for (int32_t i = 0; i < t->ncols; i++) {
        const kgm_column *c = &t->cols[i];
        msgpack_pack_map(pk, 9);
        pk_key(pk, "name");
        pk_str(pk, c->name);
        pk_key(pk, "type");
        msgpack_pack_int32(pk, (int32_t)c->type);
        pk_key(pk, "missing");
        msgpack_pack_int64(pk, c->missing);
        pk_key(pk, "num");
        pk_bin(pk, c->num, c->type == KGM_COL_NUMERIC ? (size_t)t->rows * sizeof(float) : 0);
        pk_key(pk, "cat");
        pk_bin(pk, c->cat, c->type == KGM_COL_CATEGORICAL ? (size_t)t->rows * sizeof(int32_t) : 0);
        pk_key(pk, "levels");
        pk_idmap(pk, &c->levels);
        pk_key(pk, "multi_row");
        pk_bin(pk, c->multi_row, (size_t)c->multi_n * sizeof(int32_t));
        pk_key(pk, "multi_code");
        pk_bin(pk, c->multi_code, (size_t)c->multi_n * sizeof(int32_t));
        pk_key(pk, "text");
        pk_strings(pk, &c->text);
    }
}

static void pk_prep(msgpack_packer *pk, const kgm_prep_settings *p) {
    msgpack_pack_map(pk, 12);
    pk_key(pk, "min_user");
    msgpack_pack_int32(pk, p->min_user_interactions);
    pk_key(pk, "min_item");
    msgpack_pack_int32(pk, p->min_item_interactions);
    pk_key(pk, "threshold");
    msgpack_pack_float(pk, p->rating_threshold);
    pk_key(pk, "drop_below");
    msgpack_pack_int32(pk, p->drop_below_threshold);
    pk_key(pk, "dedup");
    msgpack_pack_int32(pk, p->dedup);
    pk_key(pk, "split");
    msgpack_pack_int32(pk, (int32_t)p->split);
    pk_key(pk, "valid_frac");
    msgpack_pack_float(pk, p->valid_frac);
    pk_key(pk, "test_frac");
    msgpack_pack_float(pk, p->test_frac);
    pk_key(pk, "loo_valid");
    msgpack_pack_int32(pk, p->loo_valid);
    pk_key(pk, "neg_kind");
    msgpack_pack_int32(pk, (int32_t)p->eval_neg_kind);
    pk_key(pk, "negatives");
    msgpack_pack_int32(pk, p->eval_negatives);
    pk_key(pk, "seed");
    msgpack_pack_uint64(pk, p->seed);
}

static void pk_body(msgpack_packer *pk, const kgm_dataset *ds) {
    const kgm_interactions *it = &ds->inter;
    msgpack_pack_map(pk, 21);
    pk_key(pk, "users");
    pk_idmap(pk, &ds->users);
    pk_key(pk, "items");
    pk_idmap(pk, &ds->items);
    pk_key(pk, "entities");
    pk_idmap(pk, &ds->entities);
    pk_key(pk, "relations");
    pk_idmap(pk, &ds->relations);
    pk_key(pk, "inter");
    msgpack_pack_map(pk, 6);
    pk_key(pk, "n");
    msgpack_pack_int64(pk, it->n);
    pk_key(pk, "kind");
    msgpack_pack_int32(pk, (int32_t)it->kind);
    pk_key(pk, "user");
    pk_bin(pk, it->user, (size_t)it->n * 4);
    pk_key(pk, "item");
    pk_bin(pk, it->item, (size_t)it->n * 4);
    pk_key(pk, "label");
    pk_bin(pk, it->label, (size_t)it->n * 4);
    pk_key(pk, "ts");
    if (it->ts) pk_bin(pk, it->ts, (size_t)it->n * 8);
    else msgpack_pack_nil(pk);
    pk_key(pk, "kg");
    msgpack_pack_map(pk, 4);
    pk_key(pk, "n");
    msgpack_pack_int64(pk, ds->kg.n);
    pk_key(pk, "h");
    pk_bin(pk, ds->kg.h, (size_t)ds->kg.n * 4);
    pk_key(pk, "r");
    pk_bin(pk, ds->kg.r, (size_t)ds->kg.n * 4);
    pk_key(pk, "t");
    pk_bin(pk, ds->kg.t, (size_t)ds->kg.n * 4);
    pk_key(pk, "social");
    msgpack_pack_map(pk, 5);
    pk_key(pk, "n");
    msgpack_pack_int64(pk, ds->social.n);
    pk_key(pk, "directed");
    msgpack_pack_int32(pk, ds->social.directed);
    pk_key(pk, "src");
    pk_bin(pk, ds->social.src, (size_t)ds->social.n * 4);
    pk_key(pk, "dst");
    pk_bin(pk, ds->social.dst, (size_t)ds->social.n * 4);
    pk_key(pk, "weight");
    if (ds->social.weight) pk_bin(pk, ds->social.weight, (size_t)ds->social.n * 4);
    else msgpack_pack_nil(pk);
    pk_key(pk, "item_entity");
    pk_bin(pk, ds->item_entity, (size_t)ds->n_item_entity * 4);
    pk_key(pk, "user_attrs");
    pk_table(pk, &ds->user_attrs);
    pk_key(pk, "item_attrs");
    pk_table(pk, &ds->item_attrs);
    pk_key(pk, "entity_attrs");
    pk_table(pk, &ds->entity_attrs);
    pk_key(pk, "tabular");
    pk_table(pk, &ds->tabular);
    pk_key(pk, "item_text");
    pk_strings(pk, &ds->item_text);
    pk_key(pk, "entity_text");
    pk_strings(pk, &ds->entity_text);
    pk_key(pk, "train");
    pk_bin(pk, ds->split.train, (size_t)ds->split.n_train * 8);
    pk_key(pk, "valid");
    pk_bin(pk, ds->split.valid, (size_t)ds->split.n_valid * 8);
    pk_key(pk, "test");
    pk_bin(pk, ds->split.test, (size_t)ds->split.n_test * 8);
    pk_key(pk, "valid_neg_k");
    msgpack_pack_int32(pk, ds->valid_neg.k);
    pk_key(pk, "valid_neg");
    pk_bin(pk, ds->valid_neg.items, (size_t)ds->valid_neg.n * (size_t)ds->valid_neg.k * 4);
    pk_key(pk, "test_neg_k");
    msgpack_pack_int32(pk, ds->test_neg.k);
    pk_key(pk, "test_neg");
    pk_bin(pk, ds->test_neg.items, (size_t)ds->test_neg.n * (size_t)ds->test_neg.k * 4);
}

static void pk_header(msgpack_packer *pk, const kgm_dataset *ds, uint64_t body_bytes) {
    const kgm_provenance *p = &ds->prov;
    msgpack_pack_map(pk, 12);
    pk_key(pk, "magic");
    pk_str(pk, KGM_CACHE_MAGIC);
    pk_key(pk, "version");
    msgpack_pack_int32(pk, KGM_CACHE_VERSION);
    pk_key(pk, "body_bytes");
    msgpack_pack_uint64(pk, body_bytes);
    pk_key(pk, "name");
    pk_str(pk, ds->name);
    pk_key(pk, "loader");
    pk_str(pk, p->loader);
    pk_key(pk, "sources");
    msgpack_pack_array(pk, (size_t)p->n_sources);
    for (int32_t i = 0; i < p->n_sources; i++) {
        msgpack_pack_array(pk, 4);
        pk_str(pk, p->sources[i].path);
        pk_str(pk, p->sources[i].role);
        msgpack_pack_uint64(pk, p->sources[i].bytes);
        msgpack_pack_uint64(pk, p->sources[i].checksum);
    }
    pk_key(pk, "rows_read");
    msgpack_pack_int64(pk, p->rows_read);
    pk_key(pk, "rows_skipped");
    msgpack_pack_int64(pk, p->rows_skipped);
    pk_key(pk, "duplicates");
    msgpack_pack_int64(pk, p->duplicates);
    pk_key(pk, "rows_filtered");
    msgpack_pack_int64(pk, p->rows_filtered);
    pk_key(pk, "prepared");
    msgpack_pack_int32(pk, p->prepared);
    pk_key(pk, "prep");
    pk_prep(pk, &p->prep);
}

static int count_write(void *data, const char *buf, size_t len) {
    (void)buf;
    *(size_t *)data += len;
    return 0;
}

static bool write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        c += k;
        n -= (size_t)k;
    }
    return true;
}

/* The trailer: 0xcf (msgpack uint64) and the checksum of header + body, big
 * endian, always 9 bytes so that the reader finds it without parsing. */
#define CACHE_TRAILER 9

static uint64_t image_hash(const void *a, size_t na, const void *b, size_t nb) {
    kgm_hasher h;
    kgm_hasher_init(&h);
    kgm_hasher_update(&h, a, na);
    if (nb) kgm_hasher_update(&h, b, nb);
    return kgm_hasher_final(&h);
}

static void put_trailer(uint8_t out[CACHE_TRAILER], const void *a, size_t na, const void *b, size_t nb) {
    uint64_t x = image_hash(a, na, b, nb);
    out[0] = 0xcf;
    for (int i = 0; i < 8; i++) out[1 + i] = (uint8_t)(x >> (56 - 8 * i));
}

kgm_status kgm_dataset_save(const kgm_dataset *ds, const char *path) {
    KGM_TRY(kgm_dataset_validate(ds));
    msgpack_sbuffer body, head;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&head);
    msgpack_packer pk;
    /* size the body with a counting pass, then fill one pre-faulted buffer
     * (growing a 400 MB buffer by doubling would fault every new page) */
    size_t body_size = 0;
    msgpack_packer_init(&pk, &body_size, count_write);
    pk_body(&pk, ds);
    body.data = malloc(body_size ? body_size : 1);
    if (!body.data) return KGM_ERR(KGM_ERR_NOMEM, "cache body of %zu bytes", body_size);
    body.alloc = body_size ? body_size : 1;
    kgm__prefault(body.data, body_size);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    pk_body(&pk, ds);
    if (!body.data && body.size) {
        msgpack_sbuffer_destroy(&body);
        return KGM_ERR(KGM_ERR_NOMEM, "cache body");
    }
    msgpack_packer_init(&pk, &head, msgpack_sbuffer_write);
    pk_header(&pk, ds, body.size);
    uint8_t trailer[CACHE_TRAILER];
    put_trailer(trailer, head.data, head.size, body.data, body.size);
    char tmp[4200];
    int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    kgm_status st = KGM_OK;
    if (k <= 0 || (size_t)k >= sizeof tmp) {
        st = KGM_ERR(KGM_ERR_ARG, "cache path too long");
        goto done;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        st = KGM_ERR(KGM_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto done;
    }
    bool ok = write_all(fd, head.data, head.size) && write_all(fd, body.data, body.size) &&
              write_all(fd, trailer, sizeof trailer);
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        st = KGM_ERR(KGM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
done:
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&head);
    return st;
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct {
    const char *name;
} rd;

#define BAD(fmt, ...) KGM_ERR(KGM_ERR_FORMAT, "%s: " fmt, r->name, ##__VA_ARGS__)

static const msgpack_object *get(const msgpack_object *m, const char *key) {
    if (!m || m->type != MSGPACK_OBJECT_MAP) return NULL;
    size_t kl = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl && memcmp(k->via.str.ptr, key, kl) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static kgm_status get_i64(rd *r, const msgpack_object *m, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const msgpack_object *o = get(m, key);
    int64_t v;
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX) v = (int64_t)o->via.u64;
    else if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) v = o->via.i64;
    else return BAD("cache: expected an integer '%s', found %s", key, o ? "another type" : "none");
    if (v < lo || v > hi)
        return BAD("cache: expected '%s' in [%lld, %lld], found %lld", key, (long long)lo, (long long)hi, (long long)v);
    *out = v;
    return KGM_OK;
}

static kgm_status get_u64(rd *r, const msgpack_object *m, const char *key, uint64_t *out) {
    const msgpack_object *o = get(m, key);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return BAD("cache: expected an unsigned integer '%s'", key);
    *out = o->via.u64;
    return KGM_OK;
}

static kgm_status get_f32(rd *r, const msgpack_object *m, const char *key, float *out) {
    const msgpack_object *o = get(m, key);
    if (!o || (o->type != MSGPACK_OBJECT_FLOAT32 && o->type != MSGPACK_OBJECT_FLOAT64))
        return BAD("cache: expected a float '%s'", key);
    *out = (float)o->via.f64;
    return KGM_OK;
}

/* Copy a string value into a fresh malloc'ed C string. */
static kgm_status get_str(rd *r, const msgpack_object *o, const char *what, char **out) {
    if (!o || o->type != MSGPACK_OBJECT_STR) return BAD("cache: expected a string '%s'", what);
    char *s = malloc(o->via.str.size + 1);
    if (!s) return KGM_ERR(KGM_ERR_NOMEM, "cache string");
    memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = '\0';
    *out = s;
    return KGM_OK;
}

/* A bin of exactly n elements of `size` bytes, copied into a fresh array (NULL if n == 0). */
static kgm_status get_arr(rd *r, const msgpack_object *m, const char *key, int64_t n, size_t size, void **out) {
    const msgpack_object *o = get(m, key);
    *out = NULL;
    if (!o || o->type != MSGPACK_OBJECT_BIN) return BAD("cache: expected a binary array '%s'", key);
    if (n < 0 || (uint64_t)n > SIZE_MAX / size || o->via.bin.size != (uint64_t)n * size)
        return BAD("cache: expected %lld elements in '%s', found %u bytes", (long long)n, key, o->via.bin.size);
    if (n == 0) return KGM_OK;
    void *p = malloc((size_t)n * size);
    if (!p) return KGM_ERR(KGM_ERR_NOMEM, "cache array %s", key);
    kgm__prefault(p, (size_t)n * size);
    memcpy(p, o->via.bin.ptr, (size_t)n * size);
    *out = p;
    return KGM_OK;
}

static kgm_status rd_idmap(rd *r, const msgpack_object *o, kgm_idmap *m) {
    kgm_idmap_init(m);
    int64_t count;
    KGM_TRY(get_i64(r, o, "count", 0, INT32_MAX - 1, &count));
    const msgpack_object *pool = get(o, "pool");
    if (!pool || pool->type != MSGPACK_OBJECT_BIN) return BAD("cache: expected an id map pool");
    int64_t *off;
    KGM_TRY(get_arr(r, o, "off", count, sizeof(int64_t), (void **)&off));
    /* re-intern every name: rebuilds the hash and checks the pool */
    const char *pp = pool->via.bin.ptr;
    int64_t plen = pool->via.bin.size;
    kgm_status st = KGM_OK;
    for (int64_t i = 0; i < count && st == KGM_OK; i++) {
        int64_t a = off[i], b = i + 1 < count ? off[i + 1] : plen;
        if (a < 0 || b > plen || b <= a || pp[b - 1] != '\0') {
            st = BAD("cache: id map entry %lld is out of its pool", (long long)i);
            break;
        }
        int32_t id;
        st = kgm_idmap_intern(m, pp + a, (size_t)(b - a - 1), &id);
        if (st == KGM_OK && id != (int32_t)i) st = BAD("cache: id map entry %lld repeats an earlier name", (long long)i);
    }
    free(off);
    if (st != KGM_OK) kgm_idmap_destroy(m);
    return st;
}

static kgm_status rd_strings(rd *r, const msgpack_object *o, kgm_strings *s) {
    kgm_strings_init(s);
    if (!o || o->type != MSGPACK_OBJECT_MAP) return BAD("cache: expected a string list");
    int64_t n;
    KGM_TRY(get_i64(r, o, "n", 0, INT32_MAX, &n));
    const msgpack_object *pool = get(o, "pool");
    if (!pool || pool->type != MSGPACK_OBJECT_BIN) return BAD("cache: expected a string pool");
    kgm_status st = get_arr(r, o, "off", n, sizeof(int64_t), (void **)&s->off);
    if (st == KGM_OK) st = get_arr(r, o, "len", n, sizeof(int32_t), (void **)&s->len);
    if (st == KGM_OK && pool->via.bin.size) {
        s->pool = malloc(pool->via.bin.size);
        if (!s->pool) st = KGM_ERR(KGM_ERR_NOMEM, "cache strings");
        else memcpy(s->pool, pool->via.bin.ptr, pool->via.bin.size);
    }
    s->n = s->cap = n;
    s->pool_len = s->pool_cap = pool->via.bin.size;
    for (int64_t i = 0; i < n && st == KGM_OK; i++) {
        if (s->off[i] == -1) continue;
        if (s->off[i] < 0 || s->len[i] < 0 || s->off[i] + s->len[i] >= s->pool_len || s->pool[s->off[i] + s->len[i]] != '\0')
            st = BAD("cache: string %lld is out of its pool", (long long)i);
    }
    if (st != KGM_OK) kgm_strings_destroy(s);
    return st;
}

static kgm_status rd_table(rd *r, const msgpack_object *o, kgm_table *t) {
    kgm_table_init(t);
    int64_t rows;
    KGM_TRY(get_i64(r, o, "rows", 0, INT32_MAX, &rows));
    const msgpack_object *cols = get(o, "cols");
    if (!cols || cols->type != MSGPACK_OBJECT_ARRAY) return BAD("cache: expected table columns");
    kgm_status st = KGM_OK;
    for (uint32_t i = 0; i < cols->via.array.size && st == KGM_OK; i++) {
        const msgpack_object *c = &cols->via.array.ptr[i];
        char *name = NULL;
        int64_t type, missing, mn = 0;
        if ((st = get_str(r, get(c, "name"), "name", &name)) != KGM_OK) break;
        st = get_i64(r, c, "type", 0, 3, &type);
        if (st == KGM_OK) st = get_i64(r, c, "missing", 0, INT64_MAX, &missing);
        int32_t col = -1;
        if (st == KGM_OK) st = kgm_table_add_column(t, name, (kgm_col_type)type, &col);
        free(name);
        if (st != KGM_OK) break;
        kgm_column *cc = &t->cols[col];
        /* arrays replace the (empty) ones add_column made */
        free(cc->num);
        free(cc->cat);
        cc->num = NULL;
        cc->cat = NULL;
        st = get_arr(r, c, "num", type == KGM_COL_NUMERIC ? rows : 0, 4, (void **)&cc->num);
        if (st == KGM_OK) st = get_arr(r, c, "cat", type == KGM_COL_CATEGORICAL ? rows : 0, 4, (void **)&cc->cat);
        if (st == KGM_OK) {
            kgm_idmap_destroy(&cc->levels);
            st = rd_idmap(r, get(c, "levels"), &cc->levels);
        }
        const msgpack_object *mr = get(c, "multi_row");
        if (st == KGM_OK && mr && mr->type == MSGPACK_OBJECT_BIN) mn = mr->via.bin.size / 4;
        if (st == KGM_OK) st = get_arr(r, c, "multi_row", mn, 4, (void **)&cc->multi_row);
        if (st == KGM_OK) st = get_arr(r, c, "multi_code", mn, 4, (void **)&cc->multi_code);
        cc->multi_n = cc->multi_cap = mn;
        if (st == KGM_OK) {
            kgm_strings_destroy(&cc->text);
            st = rd_strings(r, get(c, "text"), &cc->text);
        }
        cc->missing = missing;
    }
    t->rows = t->cap = rows;
    /* make sure every typed array exists for `rows` rows */
    for (int32_t i = 0; i < t->ncols && st == KGM_OK; i++) {
        kgm_column *cc = &t->cols[i];
        if (rows && ((cc->type == KGM_COL_NUMERIC && !cc->num) || (cc->type == KGM_COL_CATEGORICAL && !cc->cat)))
            st = BAD("cache: column %s has no values", cc->name);
    }
    if (st != KGM_OK) kgm_table_destroy(t);
    return st;
}

static kgm_status rd_prep(rd *r, const msgpack_object *o, kgm_prep_settings *p) {
    int64_t v;
    kgm_prep_settings_default(p);
    KGM_TRY(get_i64(r, o, "min_user", 0, INT32_MAX, &v));
    p->min_user_interactions = (int32_t)v;
    KGM_TRY(get_i64(r, o, "min_item", 0, INT32_MAX, &v));
    p->min_item_interactions = (int32_t)v;
    KGM_TRY(get_f32(r, o, "threshold", &p->rating_threshold));
    KGM_TRY(get_i64(r, o, "drop_below", 0, 1, &v));
    p->drop_below_threshold = v;
    KGM_TRY(get_i64(r, o, "dedup", 0, 1, &v));
    p->dedup = v;
    KGM_TRY(get_i64(r, o, "split", 0, KGM_SPLIT_GIVEN, &v));
    p->split = (kgm_split_kind)v;
    KGM_TRY(get_f32(r, o, "valid_frac", &p->valid_frac));
    KGM_TRY(get_f32(r, o, "test_frac", &p->test_frac));
    KGM_TRY(get_i64(r, o, "loo_valid", 0, 1, &v));
    p->loo_valid = v;
    KGM_TRY(get_i64(r, o, "neg_kind", 0, KGM_NEG_POPULARITY, &v));
    p->eval_neg_kind = (kgm_neg_kind)v;
    KGM_TRY(get_i64(r, o, "negatives", 0, INT32_MAX, &v));
    p->eval_negatives = (int32_t)v;
    return get_u64(r, o, "seed", &p->seed);
}

static bool same_prep(const kgm_prep_settings *a, const kgm_prep_settings *b) {
    bool thr = (isnan(a->rating_threshold) && isnan(b->rating_threshold)) || a->rating_threshold == b->rating_threshold;
    return thr && a->min_user_interactions == b->min_user_interactions &&
           a->min_item_interactions == b->min_item_interactions && a->drop_below_threshold == b->drop_below_threshold &&
           a->dedup == b->dedup && a->split == b->split && a->valid_frac == b->valid_frac &&
           a->test_frac == b->test_frac && a->loo_valid == b->loo_valid && a->eval_neg_kind == b->eval_neg_kind &&
           a->eval_negatives == b->eval_negatives && a->seed == b->seed;
}

/* Magic and version, before the checksum: an old cache is "rebuild", not "corrupt". */
static kgm_status rd_magic(rd *r, const msgpack_object *h) {
    const msgpack_object *mg = get(h, "magic");
    size_t ml = strlen(KGM_CACHE_MAGIC);
    if (!mg || mg->type != MSGPACK_OBJECT_STR || mg->via.str.size != ml || memcmp(mg->via.str.ptr, KGM_CACHE_MAGIC, ml))
        return BAD("cache: expected the magic %s, found another file type", KGM_CACHE_MAGIC);
    int64_t ver;
    KGM_TRY(get_i64(r, h, "version", 0, INT32_MAX, &ver));
    if (ver != KGM_CACHE_VERSION)
        return BAD("cache: expected format version %d, found %lld (rebuild the cache)", KGM_CACHE_VERSION, (long long)ver);
    return KGM_OK;
}

static kgm_status rd_header(rd *r, const msgpack_object *h, const kgm_cache_expect *e, kgm_dataset *ds,
                            uint64_t *body_bytes) {
    KGM_TRY(get_u64(r, h, "body_bytes", body_bytes));
    char *name = NULL;
    KGM_TRY(get_str(r, get(h, "name"), "name", &name));
    snprintf(ds->name, sizeof ds->name, "%s", name);
    free(name);
    KGM_TRY(get_str(r, get(h, "loader"), "loader", &ds->prov.loader));
    if (!ds->prov.loader[0]) {
        free(ds->prov.loader);
        ds->prov.loader = NULL;
    }
    const msgpack_object *src = get(h, "sources");
    if (!src || src->type != MSGPACK_OBJECT_ARRAY) return BAD("cache: expected a list of sources");
    for (uint32_t i = 0; i < src->via.array.size; i++) {
        const msgpack_object *s = &src->via.array.ptr[i];
        if (s->type != MSGPACK_OBJECT_ARRAY || s->via.array.size != 4 || s->via.array.ptr[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            s->via.array.ptr[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return BAD("cache: expected source %u as [path, role, bytes, checksum]", i);
        char *path = NULL, *role = NULL;
        kgm_status st = get_str(r, &s->via.array.ptr[0], "source path", &path);
        if (st == KGM_OK) st = get_str(r, &s->via.array.ptr[1], "source role", &role);
        if (st == KGM_OK)
            st = kgm_dataset_add_source_sum(ds, path, role, s->via.array.ptr[2].via.u64, s->via.array.ptr[3].via.u64);
        free(path);
        free(role);
        KGM_TRY(st);
    }
    int64_t v;
    KGM_TRY(get_i64(r, h, "rows_read", 0, INT64_MAX, &ds->prov.rows_read));
    KGM_TRY(get_i64(r, h, "rows_skipped", 0, INT64_MAX, &ds->prov.rows_skipped));
    KGM_TRY(get_i64(r, h, "duplicates", 0, INT64_MAX, &ds->prov.duplicates));
    KGM_TRY(get_i64(r, h, "rows_filtered", 0, INT64_MAX, &ds->prov.rows_filtered));
    KGM_TRY(get_i64(r, h, "prepared", 0, 1, &v));
    ds->prov.prepared = v;
    KGM_TRY(rd_prep(r, get(h, "prep"), &ds->prov.prep));
    /* staleness */
    if (e) {
        if (e->loader && (!ds->prov.loader || strcmp(e->loader, ds->prov.loader) != 0))
            return BAD("cache is stale: expected loader %s, found %s", e->loader,
                       ds->prov.loader ? ds->prov.loader : "none");
        if (e->prep && (!ds->prov.prepared || !same_prep(e->prep, &ds->prov.prep)))
            return BAD("cache is stale: its preparation settings differ from the requested ones");
        if (e->verify_sources) {
            for (int32_t i = 0; i < ds->prov.n_sources; i++) {
                const kgm_data_source *s = &ds->prov.sources[i];
                uint64_t bytes, sum;
                if (kgm_file_checksum(s->path, &bytes, &sum) != KGM_OK)
                    return BAD("cache is stale: source %s cannot be read", s->path);
                if (bytes != s->bytes || sum != s->checksum)
                    return BAD("cache is stale: source %s changed (%llu bytes, checksum %016llx; cached %llu, %016llx)",
                               s->path, (unsigned long long)bytes, (unsigned long long)sum,
                               (unsigned long long)s->bytes, (unsigned long long)s->checksum);
            }
        }
    }
    return KGM_OK;
}

static kgm_status rd_body(rd *r, const msgpack_object *b, kgm_dataset *ds) {
    kgm_idmap_destroy(&ds->users);
    KGM_TRY(rd_idmap(r, get(b, "users"), &ds->users));
    kgm_idmap_destroy(&ds->items);
    KGM_TRY(rd_idmap(r, get(b, "items"), &ds->items));
    kgm_idmap_destroy(&ds->entities);
    KGM_TRY(rd_idmap(r, get(b, "entities"), &ds->entities));
    kgm_idmap_destroy(&ds->relations);
    KGM_TRY(rd_idmap(r, get(b, "relations"), &ds->relations));
    const msgpack_object *it = get(b, "inter");
    int64_t n, v;
    KGM_TRY(get_i64(r, it, "n", 0, INT64_MAX / 16, &n));
    KGM_TRY(get_i64(r, it, "kind", 0, KGM_LABEL_RATING, &v));
    ds->inter.kind = (kgm_label_kind)v;
    ds->inter.n = ds->inter.cap = n;
    KGM_TRY(get_arr(r, it, "user", n, 4, (void **)&ds->inter.user));
    KGM_TRY(get_arr(r, it, "item", n, 4, (void **)&ds->inter.item));
    KGM_TRY(get_arr(r, it, "label", n, 4, (void **)&ds->inter.label));
    const msgpack_object *ts = get(it, "ts");
    if (ts && ts->type != MSGPACK_OBJECT_NIL) KGM_TRY(get_arr(r, it, "ts", n, 8, (void **)&ds->inter.ts));
    if (n == 0) ds->inter.cap = 0;
    const msgpack_object *kg = get(b, "kg");
    KGM_TRY(get_i64(r, kg, "n", 0, INT64_MAX / 16, &n));
    ds->kg.n = ds->kg.cap = n;
    KGM_TRY(get_arr(r, kg, "h", n, 4, (void **)&ds->kg.h));
    KGM_TRY(get_arr(r, kg, "r", n, 4, (void **)&ds->kg.r));
    KGM_TRY(get_arr(r, kg, "t", n, 4, (void **)&ds->kg.t));
    if (n == 0) ds->kg.cap = 0;
    const msgpack_object *so = get(b, "social");
    KGM_TRY(get_i64(r, so, "n", 0, INT64_MAX / 16, &n));
    KGM_TRY(get_i64(r, so, "directed", 0, 1, &v));
    ds->social.directed = v;
    ds->social.n = ds->social.cap = n;
    KGM_TRY(get_arr(r, so, "src", n, 4, (void **)&ds->social.src));
    KGM_TRY(get_arr(r, so, "dst", n, 4, (void **)&ds->social.dst));
    const msgpack_object *w = get(so, "weight");
    if (w && w->type != MSGPACK_OBJECT_NIL) KGM_TRY(get_arr(r, so, "weight", n, 4, (void **)&ds->social.weight));
    if (n == 0) ds->social.cap = 0;
    const msgpack_object *ie = get(b, "item_entity");
    if (!ie || ie->type != MSGPACK_OBJECT_BIN || ie->via.bin.size % 4 || ie->via.bin.size / 4 > INT32_MAX)
        return BAD("cache: expected an item_entity array");
    ds->n_item_entity = (int32_t)(ie->via.bin.size / 4);
    KGM_TRY(get_arr(r, b, "item_entity", ds->n_item_entity, 4, (void **)&ds->item_entity));
    static const char *tk[4] = {"user_attrs", "item_attrs", "entity_attrs", "tabular"};
    kgm_table *tabs[4] = {&ds->user_attrs, &ds->item_attrs, &ds->entity_attrs, &ds->tabular};
    for (int i = 0; i < 4; i++) {
        kgm_table_destroy(tabs[i]);
        KGM_TRY(rd_table(r, get(b, tk[i]), tabs[i]));
    }
    kgm_strings_destroy(&ds->item_text);
    KGM_TRY(rd_strings(r, get(b, "item_text"), &ds->item_text));
    kgm_strings_destroy(&ds->entity_text);
    KGM_TRY(rd_strings(r, get(b, "entity_text"), &ds->entity_text));
    static const char *sk[3] = {"train", "valid", "test"};
    int64_t *cnt[3] = {&ds->split.n_train, &ds->split.n_valid, &ds->split.n_test};
    int64_t **arr[3] = {&ds->split.train, &ds->split.valid, &ds->split.test};
    for (int i = 0; i < 3; i++) {
        const msgpack_object *o = get(b, sk[i]);
        if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size % 8) return BAD("cache: expected a split array '%s'", sk[i]);
        *cnt[i] = o->via.bin.size / 8;
        KGM_TRY(get_arr(r, b, sk[i], *cnt[i], 8, (void **)arr[i]));
    }
    int64_t k;
    KGM_TRY(get_i64(r, b, "valid_neg_k", 0, INT32_MAX, &k));
    ds->valid_neg.k = (int32_t)k;
    ds->valid_neg.n = k ? ds->split.n_valid : 0;
    KGM_TRY(get_arr(r, b, "valid_neg", ds->valid_neg.n * k, 4, (void **)&ds->valid_neg.items));
    KGM_TRY(get_i64(r, b, "test_neg_k", 0, INT32_MAX, &k));
    ds->test_neg.k = (int32_t)k;
    ds->test_neg.n = k ? ds->split.n_test : 0;
    KGM_TRY(get_arr(r, b, "test_neg", ds->test_neg.n * k, 4, (void **)&ds->test_neg.items));
    if (ds->valid_neg.n == 0) ds->valid_neg.k = 0;
    if (ds->test_neg.n == 0) ds->test_neg.k = 0;
    if (kgm_dataset_validate(ds) != KGM_OK) return kgm_error_wrap(KGM_ERR_FORMAT, "%s: cache fails validation", r->name);
    return KGM_OK;
}

/* msgpack-c allocates the objects of a container from its declared count
 * before reading them, so a corrupt count of 2^32 would ask for gigabytes.
 * Walk the encoding first (no allocation) and accept it only if every
 * declared count and length fits in the bytes that remain: then unpacking
 * allocates at most a small multiple of the file size. */
static bool msgpack_bounded(const uint8_t *p, size_t n, size_t *used) {
    uint64_t pending[64]; /* objects still to read at each depth */
    int depth = 0;
    pending[0] = 1;
    size_t i = 0;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (i >= n) return false;
        uint8_t t = p[i++];
        uint64_t cnt = 0, len = 0;
        int kids = 0; /* 1 array, 2 map */
        size_t need;
#define BE(k) ((k) == 1 ? (uint64_t)p[i] : (k) == 2 ? ((uint64_t)p[i] << 8 | p[i + 1]) \
              : ((uint64_t)p[i] << 24 | (uint64_t)p[i + 1] << 16 | (uint64_t)p[i + 2] << 8 | p[i + 3]))
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) continue;
        else if ((t & 0xe0) == 0xa0) len = t & 0x1f;
        else if ((t & 0xf0) == 0x90) { cnt = t & 0x0f; kids = 1; }
        else if ((t & 0xf0) == 0x80) { cnt = t & 0x0f; kids = 2; }
        else {
            switch (t) {
            case 0xcc: case 0xd0: need = 1; break;
            case 0xcd: case 0xd1: need = 2; break;
            case 0xca: case 0xce: case 0xd2: need = 4; break;
            case 0xcb: case 0xcf: case 0xd3: need = 8; break;
            case 0xd4: need = 2; break; /* fixext */
            case 0xd5: need = 3; break;
            case 0xd6: need = 5; break;
            case 0xd7: need = 9; break;
            case 0xd8: need = 17; break;
            case 0xc4: case 0xd9: case 0xc7: need = 1; break; /* length fields */
            case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde: need = 2; break;
            case 0xc6: case 0xdb: case 0xc9: case 0xdd: case 0xdf: need = 4; break;
            default: return false;
            }
            if (n - i < need) return false;
            switch (t) {
            case 0xc4: case 0xd9: len = BE(1); i += 1; break;
            case 0xc5: case 0xda: len = BE(2); i += 2; break;
            case 0xc6: case 0xdb: len = BE(4); i += 4; break;
            case 0xc7: len = BE(1) + 1; i += 1; break;
            case 0xc8: len = BE(2) + 1; i += 2; break;
            case 0xc9: len = BE(4) + 1; i += 4; break;
            case 0xdc: cnt = BE(2); kids = 1; i += 2; break;
            case 0xdd: cnt = BE(4); kids = 1; i += 4; break;
            case 0xde: cnt = BE(2); kids = 2; i += 2; break;
            case 0xdf: cnt = BE(4); kids = 2; i += 4; break;
            default: i += need; continue;
            }
        }
#undef BE
        if (kids) {
            uint64_t objs = cnt * (uint64_t)kids;
            if (objs > n - i) return false; /* every object takes at least one byte */
            if (depth + 1 >= 64) return false;
            pending[++depth] = objs;
        } else {
            if (len > n - i) return false;
            i += len;
        }
    }
    *used = i;
    return true;
}

/* The trailer holds the checksum of every byte before it. */
static bool trailer_ok(const uint8_t *p, size_t n) {
    if (n < CACHE_TRAILER || p[n - CACHE_TRAILER] != 0xcf) return false;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x = x << 8 | p[n - CACHE_TRAILER + 1 + i];
    return x == image_hash(p, n - CACHE_TRAILER, NULL, 0);
}

kgm_status kgm__cache_parse(const char *name, const void *data, size_t n, const kgm_cache_expect *e, kgm_dataset *ds) {
    kgm_dataset_init(ds);
    rd rr = {name}, *r = &rr;
    const uint8_t *p = data;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    kgm_status st = KGM_OK;
    uint64_t body_bytes = 0;
    size_t hdr_end = 0, body_end = 0;
    if (!msgpack_bounded(p, n, &hdr_end) ||
        msgpack_unpack_next(&up, data, hdr_end, &off) != MSGPACK_UNPACK_SUCCESS || up.data.type != MSGPACK_OBJECT_MAP) {
        st = BAD("cache: expected a msgpack header map, found %s", n ? "malformed or truncated bytes" : "an empty file");
        goto out;
    }
    if ((st = rd_magic(r, &up.data)) != KGM_OK) goto out;
    /* nothing else is trusted before the whole-file checksum holds */
    if (!trailer_ok(p, n)) {
        st = BAD("cache: checksum mismatch (corrupt or truncated file)");
        goto out;
    }
    size_t m = n - CACHE_TRAILER; /* header + body */
    if (hdr_end > m || !msgpack_bounded(p + hdr_end, m - hdr_end, &body_end) || hdr_end + body_end != m) {
        st = BAD("cache: expected a msgpack header and body, found malformed bytes");
        goto out;
    }
    if ((st = rd_header(r, &up.data, e, ds, &body_bytes)) != KGM_OK) goto out;
    if (body_bytes != m - off) {
        st = BAD("cache: expected a %llu-byte body, found %zu bytes (truncated or overwritten)",
                 (unsigned long long)body_bytes, m - off);
        goto out;
    }
    size_t boff = 0;
    msgpack_unpacked_destroy(&up);
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, (const char *)data + off, m - off, &boff) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP || boff != m - off) {
        st = BAD("cache: expected one msgpack body map after the header");
        goto out;
    }
    st = rd_body(r, &up.data, ds);
out:
    msgpack_unpacked_destroy(&up);
    if (st != KGM_OK) {
        kgm_dataset_destroy(ds);
        kgm_dataset_init(ds);
        if (st != KGM_ERR_NOMEM) st = KGM_ERR_FORMAT;
    }
    return st;
}

kgm_status kgm_dataset_load(const char *path, const kgm_cache_expect *expect, kgm_dataset *ds) {
    kgm_dataset_init(ds);
    int fd;
    uint64_t size;
    KGM_TRY(kgm_file_open_regular(path, &fd, &size));
    size_t n = (size_t)size;
    if (n == 0) {
        close(fd);
        return KGM_ERR(KGM_ERR_FORMAT, "%s: cache: expected a msgpack header, found an empty file", path);
    }
    /* MAP_POPULATE maps the whole file in one call instead of one fault per page */
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return KGM_ERR(KGM_ERR_IO, "cannot map %s: %s", path, strerror(errno));
    kgm_status s = kgm__cache_parse(path, p, n, expect, ds);
    munmap(p, n);
    return s;
}
