/* Checkpoint save/load with msgpack-c. */
#include "core/train/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/train/checkpoint_internal.h"
#include "core/train/trainer_internal.h"

typedef struct {
    double gn_w[KGM_MAX_TASKS], gn_l0[KGM_MAX_TASKS];
    int32_t gn_init;
    double dwa_prev[2][KGM_MAX_TASKS];
    int32_t dwa_epochs;
    double weight[KGM_MAX_TASKS];
} wstate;

static void pk_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}
static void pk_bin(msgpack_packer *pk, const void *p, size_t n) {
    msgpack_pack_bin(pk, n);
    if (n) msgpack_pack_bin_body(pk, p, n);
}

kgm_status kgm_checkpoint_save(const char *path, const kgm_trainer *tr, const kgm_ckpt_state *cs) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const kgm_params *ps = tr->ps;
    kgm_hasher h;
    kgm_hasher_init(&h);
    /* the configuration enters as its hash (which leaves out the output path
     * and the run name, so equal runs in different directories agree) */
    uint64_t cfg_hash = kgm_run_config_hash(tr->cfg);
    kgm_hasher_update(&h, &cfg_hash, sizeof cfg_hash);
    msgpack_pack_map(&pk, 16);
    pk_str(&pk, "magic");
    pk_str(&pk, KGM_CKPT_MAGIC);
    pk_str(&pk, "version");
    msgpack_pack_int32(&pk, KGM_CKPT_VERSION);
    pk_str(&pk, "config_hash");
    msgpack_pack_uint64(&pk, kgm_run_config_hash(tr->cfg));
    pk_str(&pk, "config");
    pk_bin(&pk, tr->cfg, sizeof *tr->cfg);
    pk_str(&pk, "config_sum"); /* integrity of the stored configuration bytes */
    msgpack_pack_uint64(&pk, kgm_hash64(tr->cfg, sizeof *tr->cfg));
    /* the plugin file of each task (absolute path, checksum), so eval loads
     * the same code from any working directory */
    pk_str(&pk, "plugins");
    msgpack_pack_array(&pk, (size_t)tr->n_tasks);
    for (int k = 0; k < tr->n_tasks; k++) {
        msgpack_pack_array(&pk, 2);
        pk_str(&pk, tr->t[k].plugin_file);
        msgpack_pack_uint64(&pk, tr->t[k].plugin_sum);
    }
    pk_str(&pk, "state");
    msgpack_pack_array(&pk, 5);
    msgpack_pack_int32(&pk, cs->epoch);
    msgpack_pack_int64(&pk, cs->step);
    msgpack_pack_int32(&pk, cs->best_epoch);
    msgpack_pack_double(&pk, cs->best_value);
    msgpack_pack_int32(&pk, cs->bad_epochs);
    pk_str(&pk, "params");
    msgpack_pack_array(&pk, (size_t)ps->n);
    for (int32_t i = 0; i < ps->n; i++) {
        const kgm_param *p = &ps->p[i];
        msgpack_pack_array(&pk, 4);
        pk_str(&pk, p->name);
        msgpack_pack_int32(&pk, p->t.rows);
        msgpack_pack_int32(&pk, p->t.cols);
        size_t nb = (size_t)kgm_tensor_numel(&p->t) * sizeof(float);
        pk_bin(&pk, p->t.data, nb);
        kgm_hasher_update(&h, p->t.data, nb);
    }
    pk_str(&pk, "best");
    if (cs->best_params) {
        pk_bin(&pk, cs->best_params, ps->total * sizeof(float));
        kgm_hasher_update(&h, cs->best_params, ps->total * sizeof(float));
    } else
        msgpack_pack_nil(&pk);
    const kgm_optim *o = tr->opt;
    pk_str(&pk, "optim_steps");
    msgpack_pack_int64(&pk, o->n_steps);
    pk_str(&pk, "optim_counts");
    pk_bin(&pk, o->steps, (size_t)ps->n * sizeof(int64_t));
    pk_str(&pk, "optim_m");
    if (o->m) pk_bin(&pk, o->m, ps->total * sizeof(float));
    else msgpack_pack_nil(&pk);
    pk_str(&pk, "optim_v");
    if (o->v) pk_bin(&pk, o->v, ps->total * sizeof(float));
    else msgpack_pack_nil(&pk);
    kgm_rng rngs[2 + KGM_MAX_TASKS];
    rngs[0] = tr->rng_order;
    rngs[1] = tr->rng_drop;
    for (int k = 0; k < tr->n_tasks; k++) rngs[2 + k] = tr->t[k].ctx->rng;
    pk_str(&pk, "rng");
    pk_bin(&pk, rngs, (size_t)(2 + tr->n_tasks) * sizeof(kgm_rng));
    wstate w;
    memset(&w, 0, sizeof w);
    memcpy(w.gn_w, tr->gn_w, sizeof w.gn_w);
    memcpy(w.gn_l0, tr->gn_l0, sizeof w.gn_l0);
    w.gn_init = tr->gn_init;
    memcpy(w.dwa_prev, tr->dwa_prev, sizeof w.dwa_prev);
    w.dwa_epochs = tr->dwa_epochs;
    for (int k = 0; k < tr->n_tasks; k++) w.weight[k] = tr->t[k].weight;
    pk_str(&pk, "weighting");
    pk_bin(&pk, &w, sizeof w);
    if (o->m) kgm_hasher_update(&h, o->m, ps->total * sizeof(float));
    if (o->v) kgm_hasher_update(&h, o->v, ps->total * sizeof(float));
    kgm_hasher_update(&h, rngs, (size_t)(2 + tr->n_tasks) * sizeof(kgm_rng));
    pk_str(&pk, "checksum");
    msgpack_pack_uint64(&pk, kgm_hasher_final(&h));

    char tmp[KGM_PATH + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        msgpack_sbuffer_destroy(&sb);
        return KGM_ERR(KGM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    size_t off = 0;
    while (off < sb.size) {
        ssize_t w2 = write(fd, sb.data + off, sb.size - off);
        if (w2 < 0) {
            if (errno == EINTR) continue;
            close(fd);
            unlink(tmp);
            msgpack_sbuffer_destroy(&sb);
            return KGM_ERR(KGM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
        }
        off += (size_t)w2;
    }
    msgpack_sbuffer_destroy(&sb);
    if ((cs->durable && fsync(fd) != 0) || close(fd) != 0) {
        unlink(tmp);
        return KGM_ERR(KGM_ERR_IO, "%s: fsync/close failed: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return KGM_ERR(KGM_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    }
    return KGM_OK;
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len;
    msgpack_unpacked up;
    const msgpack_object_map *map;
} ckpt_file;

static kgm_status ck_open(const char *path, ckpt_file *f) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return KGM_ERR(KGM_ERR_IO, "%s: cannot open checkpoint: %s", path, strerror(errno));
    /* the size comes from fstat, never from ftell: on a directory ftell
     * answers LONG_MAX, which used to reach malloc */
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return KGM_ERR(KGM_ERR_IO, "%s: a checkpoint must be a regular file, found %s", path,
                       S_ISDIR(sb.st_mode) ? "a directory" : "another kind of file");
    }
    if (sb.st_size <= 0) {
        close(fd);
        return KGM_ERR(KGM_ERR_FORMAT, "%s: empty checkpoint", path);
    }
    f->buf = malloc((size_t)sb.st_size);
    if (!f->buf) {
        close(fd);
        return KGM_ERR(KGM_ERR_NOMEM, "%s: %lld bytes", path, (long long)sb.st_size);
    }
    while (f->len < (size_t)sb.st_size) {
        ssize_t k = read(fd, f->buf + f->len, (size_t)sb.st_size - f->len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        f->len += (size_t)k;
    }
    close(fd);
    msgpack_unpacked_init(&f->up);
    size_t off = 0;
    if (msgpack_unpack_next(&f->up, f->buf, f->len, &off) != MSGPACK_UNPACK_SUCCESS || f->up.data.type != MSGPACK_OBJECT_MAP)
        return KGM_ERR(KGM_ERR_FORMAT, "%s: not a kgmtl checkpoint (truncated or corrupted msgpack)", path);
    if (off != f->len) return KGM_ERR(KGM_ERR_FORMAT, "%s: %zu trailing bytes after the checkpoint", path, f->len - off);
    f->map = &f->up.data.via.map;
    return KGM_OK;
}

static void ck_close(ckpt_file *f) {
    msgpack_unpacked_destroy(&f->up);
    free(f->buf);
}

static const msgpack_object *ck_get(const ckpt_file *f, const char *key) {
    size_t n = strlen(key);
    for (uint32_t i = 0; i < f->map->size; i++) {
        const msgpack_object *k = &f->map->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0)
            return &f->map->ptr[i].val;
    }
    return NULL;
}

static kgm_status ck_bin(const char *path, const ckpt_file *f, const char *key, size_t expect, const void **out,
                         bool nil_ok) {
    const msgpack_object *o = ck_get(f, key);
    if (!o) return KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint lacks '%s'", path, key);
    if (o->type == MSGPACK_OBJECT_NIL && nil_ok) {
        *out = NULL;
        return KGM_OK;
    }
    if (o->type != MSGPACK_OBJECT_BIN || (expect && o->via.bin.size != expect))
        return KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint field '%s' has the wrong type or size (%u bytes, expected %zu)", path,
                       key, o->type == MSGPACK_OBJECT_BIN ? o->via.bin.size : 0, expect);
    *out = o->via.bin.ptr;
    return KGM_OK;
}

static kgm_status ck_header(const char *path, const ckpt_file *f) {
    const msgpack_object *m = ck_get(f, "magic"), *v = ck_get(f, "version");
    if (!m || m->type != MSGPACK_OBJECT_STR || m->via.str.size != strlen(KGM_CKPT_MAGIC) ||
        memcmp(m->via.str.ptr, KGM_CKPT_MAGIC, m->via.str.size) != 0)
        return KGM_ERR(KGM_ERR_FORMAT, "%s: not a kgmtl checkpoint (bad magic)", path);
    if (!v || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != KGM_CKPT_VERSION)
        return KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint format version %llu, this kgmtl reads version %d", path,
                       v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (unsigned long long)v->via.u64 : 0ull, KGM_CKPT_VERSION);
    return KGM_OK;
}

/* The stored configuration bytes must match their recorded checksum. */
static kgm_status ck_config(const char *path, const ckpt_file *f, const void **cfg) {
    KGM_TRY(ck_bin(path, f, "config", sizeof(kgm_run_config), cfg, false));
    const msgpack_object *cs = ck_get(f, "config_sum");
    if (!cs || cs->type != MSGPACK_OBJECT_POSITIVE_INTEGER || cs->via.u64 != kgm_hash64(*cfg, sizeof(kgm_run_config)))
        return KGM_ERR(KGM_ERR_FORMAT, "%s: the stored configuration is corrupted (checksum mismatch)", path);
    return KGM_OK;
}

/* Recompute the checksum over what the file holds (the configuration hash,
 * every parameter payload, the best parameters, the optimiser moments and the
 * rngs, in the order save() hashed them) and compare it with the recorded one,
 * so a flipped byte is found before anything is used. */
static kgm_status ck_verify_sum(const char *path, const ckpt_file *f) {
    const void *cp;
    KGM_TRY(ck_config(path, f, &cp));
    const msgpack_object *hsh = ck_get(f, "config_hash"), *pa = ck_get(f, "params"), *ck = ck_get(f, "checksum");
    if (!hsh || hsh->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !pa || pa->type != MSGPACK_OBJECT_ARRAY || !ck ||
        ck->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint lacks required fields (corrupted?)", path);
    kgm_run_config *stored = malloc(sizeof *stored);
    if (!stored) return KGM_ERR(KGM_ERR_NOMEM, "%s: checkpoint configuration", path);
    memcpy(stored, cp, sizeof *stored); /* bin bodies are unaligned */
    uint64_t sh = kgm_run_config_hash(stored);
    free(stored);
    if (sh != hsh->via.u64) return KGM_ERR(KGM_ERR_FORMAT, "%s: the stored configuration is corrupted (hash mismatch)", path);
    kgm_hasher h;
    kgm_hasher_init(&h);
    kgm_hasher_update(&h, &sh, sizeof sh);
    for (uint32_t i = 0; i < pa->via.array.size; i++) {
        const msgpack_object *e = &pa->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 4 || e->via.array.ptr[3].type != MSGPACK_OBJECT_BIN)
            return KGM_ERR(KGM_ERR_FORMAT, "%s: malformed parameter %u", path, i);
        kgm_hasher_update(&h, e->via.array.ptr[3].via.bin.ptr, e->via.array.ptr[3].via.bin.size);
    }
    static const char *const payloads[] = {"best", "optim_m", "optim_v", "rng"};
    for (int k = 0; k < 4; k++) {
        const void *p;
        KGM_TRY(ck_bin(path, f, payloads[k], 0, &p, k < 3));
        if (p) kgm_hasher_update(&h, p, ck_get(f, payloads[k])->via.bin.size);
    }
    if (ck->via.u64 != kgm_hasher_final(&h)) return KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint checksum mismatch (corrupted file)", path);
    return KGM_OK;
}

kgm_status kgm_checkpoint_info(const char *path, kgm_ckpt_info *out) {
    memset(out, 0, sizeof *out);
    ckpt_file f;
    kgm_status st = ck_open(path, &f);
    if (!st) st = ck_header(path, &f);
    if (!st) st = ck_verify_sum(path, &f);
    if (!st) {
        const msgpack_object *h = ck_get(&f, "config_hash"), *s = ck_get(&f, "state"), *pa = ck_get(&f, "params"),
                             *ck = ck_get(&f, "checksum"), *b = ck_get(&f, "best");
        if (!h || h->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !s || s->type != MSGPACK_OBJECT_ARRAY || s->via.array.size != 5 ||
            !pa || pa->type != MSGPACK_OBJECT_ARRAY || !ck || ck->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !b)
            st = KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint lacks required fields (corrupted?)", path);
        else {
            out->config_hash = h->via.u64;
            out->epoch = (int32_t)s->via.array.ptr[0].via.i64;
            out->step = s->via.array.ptr[1].via.i64;
            out->best_epoch = (int32_t)s->via.array.ptr[2].via.i64;
            out->best_value = s->via.array.ptr[3].via.f64;
            out->checksum = ck->via.u64;
            out->n_params = (int32_t)pa->via.array.size;
            out->has_best = b->type == MSGPACK_OBJECT_BIN;
        }
    }
    ck_close(&f);
    return st;
}

kgm_status kgm_checkpoint_read_config(const char *path, kgm_run_config *cfg) {
    ckpt_file f;
    kgm_status st = ck_open(path, &f);
    const void *p = NULL;
    if (!st) st = ck_header(path, &f);
    if (!st) st = ck_config(path, &f, &p);
    if (!st) memcpy(cfg, p, sizeof *cfg);
    ck_close(&f);
    return st;
}

kgm_status kgm_checkpoint_read_plugins(const char *path, kgm_plugin_record *rec) {
    memset(rec, 0, sizeof *rec);
    ckpt_file f;
    kgm_status st = ck_open(path, &f);
    if (!st) st = ck_header(path, &f);
    const msgpack_object *pl = st ? NULL : ck_get(&f, "plugins");
    if (pl && (pl->type != MSGPACK_OBJECT_ARRAY || pl->via.array.size > KGM_MAX_TASKS))
        st = KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint field 'plugins' is malformed", path);
    for (uint32_t k = 0; pl && !st && k < pl->via.array.size; k++) {
        const msgpack_object *e = &pl->via.array.ptr[k];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 || e->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
            e->via.array.ptr[0].via.str.size >= KGM_PATH || e->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            st = KGM_ERR(KGM_ERR_FORMAT, "%s: checkpoint plugin record %u is malformed", path, k);
            break;
        }
        memcpy(rec->file[k], e->via.array.ptr[0].via.str.ptr, e->via.array.ptr[0].via.str.size);
        rec->sum[k] = e->via.array.ptr[1].via.u64;
        rec->n = (int)k + 1;
    }
    ck_close(&f);
    return st;
}

kgm_status kgm_checkpoint_load(const char *path, kgm_trainer *tr, kgm_ckpt_state *cs, float *best_out) {
    ckpt_file f;
    kgm_status st = ck_open(path, &f);
    if (st) {
        ck_close(&f);
        return st;
    }
    kgm_params *ps = tr->ps;
    const void *p;
#define FAIL(...)                                                                                                  \
    do {                                                                                                           \
        st = KGM_ERR(KGM_ERR_FORMAT, __VA_ARGS__);                                                                 \
        goto done;                                                                                                 \
    } while (0)
    if ((st = ck_header(path, &f))) goto done;
    /* integrity first: nothing is copied into the trainer from a damaged file */
    if ((st = ck_verify_sum(path, &f))) goto done;
    const msgpack_object *hsh = ck_get(&f, "config_hash");
    if (!hsh || hsh->type != MSGPACK_OBJECT_POSITIVE_INTEGER || hsh->via.u64 != kgm_run_config_hash(tr->cfg))
        FAIL("%s: checkpoint belongs to a different configuration (config hash differs)", path);
    const msgpack_object *s = ck_get(&f, "state");
    if (!s || s->type != MSGPACK_OBJECT_ARRAY || s->via.array.size != 5) FAIL("%s: checkpoint lacks its state", path);
    const msgpack_object *sv = s->via.array.ptr;
    for (int i = 0; i < 5; i++)
        if (i != 3 && sv[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER && sv[i].type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
            FAIL("%s: malformed checkpoint state", path);
    if (sv[3].type != MSGPACK_OBJECT_FLOAT64 && sv[3].type != MSGPACK_OBJECT_FLOAT32) FAIL("%s: malformed checkpoint state", path);
    cs->epoch = (int32_t)sv[0].via.i64;
    cs->step = sv[1].via.i64;
    cs->best_epoch = (int32_t)sv[2].via.i64;
    cs->best_value = sv[3].via.f64;
    cs->bad_epochs = (int32_t)sv[4].via.i64;
    const msgpack_object *pa = ck_get(&f, "params");
    if (!pa || pa->type != MSGPACK_OBJECT_ARRAY || pa->via.array.size != (uint32_t)ps->n)
        FAIL("%s: checkpoint has %u parameters, the model has %d", path, pa && pa->type == MSGPACK_OBJECT_ARRAY ? pa->via.array.size : 0, ps->n);
    for (int32_t i = 0; i < ps->n; i++) {
        const msgpack_object *e = &pa->via.array.ptr[i];
        kgm_param *q = &ps->p[i];
        if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 4) FAIL("%s: malformed parameter %d", path, i);
        const msgpack_object *nm = &e->via.array.ptr[0], *r = &e->via.array.ptr[1], *c = &e->via.array.ptr[2], *d = &e->via.array.ptr[3];
        size_t nb = (size_t)kgm_tensor_numel(&q->t) * sizeof(float);
        if (nm->type != MSGPACK_OBJECT_STR || nm->via.str.size != strlen(q->name) || memcmp(nm->via.str.ptr, q->name, nm->via.str.size) != 0)
            FAIL("%s: parameter %d is not '%s'", path, i, q->name);
        if (r->type != MSGPACK_OBJECT_POSITIVE_INTEGER || c->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            (int64_t)r->via.u64 != q->t.rows || (int64_t)c->via.u64 != q->t.cols || d->type != MSGPACK_OBJECT_BIN || d->via.bin.size != nb)
            FAIL("%s: parameter '%s' has a different shape or size", path, q->name);
        memcpy(q->t.data, d->via.bin.ptr, nb);
    }
    if ((st = ck_bin(path, &f, "best", ps->total * sizeof(float), &p, true))) goto done;
    if (p && best_out) memcpy(best_out, p, ps->total * sizeof(float));
    cs->has_best = p != NULL;
    kgm_optim *o = tr->opt;
    const msgpack_object *ns = ck_get(&f, "optim_steps");
    if (!ns || ns->type != MSGPACK_OBJECT_POSITIVE_INTEGER) FAIL("%s: checkpoint lacks the optimiser step count", path);
    o->n_steps = (int64_t)ns->via.u64;
    if ((st = ck_bin(path, &f, "optim_counts", (size_t)ps->n * sizeof(int64_t), &p, false))) goto done;
    memcpy(o->steps, p, (size_t)ps->n * sizeof(int64_t));
    if ((st = ck_bin(path, &f, "optim_m", ps->total * sizeof(float), &p, true))) goto done;
    if ((p != NULL) != (o->m != NULL)) FAIL("%s: optimiser state does not match the configured optimiser", path);
    if (p) {
        memcpy(o->m, p, ps->total * sizeof(float));
    }
    if ((st = ck_bin(path, &f, "optim_v", ps->total * sizeof(float), &p, true))) goto done;
    if ((p != NULL) != (o->v != NULL)) FAIL("%s: optimiser state does not match the configured optimiser", path);
    if (p) {
        memcpy(o->v, p, ps->total * sizeof(float));
    }
    if ((st = ck_bin(path, &f, "rng", (size_t)(2 + tr->n_tasks) * sizeof(kgm_rng), &p, false))) goto done;
    /* msgpack bin bodies carry no alignment: copy out, never read through a
     * struct pointer (UBSan: misaligned load). */
    const unsigned char *rngs = p;
    memcpy(&tr->rng_order, rngs, sizeof(kgm_rng));
    memcpy(&tr->rng_drop, rngs + sizeof(kgm_rng), sizeof(kgm_rng));
    for (int k = 0; k < tr->n_tasks; k++)
        memcpy(&tr->t[k].ctx->rng, rngs + (size_t)(2 + k) * sizeof(kgm_rng), sizeof(kgm_rng));
    if ((st = ck_bin(path, &f, "weighting", sizeof(wstate), &p, false))) goto done;
    wstate w;
    memcpy(&w, p, sizeof w);
    memcpy(tr->gn_w, w.gn_w, sizeof tr->gn_w);
    memcpy(tr->gn_l0, w.gn_l0, sizeof tr->gn_l0);
    tr->gn_init = w.gn_init;
    memcpy(tr->dwa_prev, w.dwa_prev, sizeof tr->dwa_prev);
    tr->dwa_epochs = w.dwa_epochs;
    for (int k = 0; k < tr->n_tasks; k++) tr->t[k].weight = w.weight[k];
done:
    ck_close(&f);
    return st;
#undef FAIL
}
