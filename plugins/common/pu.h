/* pu.h — small helpers shared by the built-in task plugins.
 *
 * Everything here goes through the host API table (kgmtl/plugin.h): the
 * built-in plugins link nothing from kgmtl, exactly like third-party ones.
 * The functions are static so that each plugin carries its own copy. */
#ifndef KGMTL_PLUGINS_PU_H
#define KGMTL_PLUGINS_PU_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kgmtl/plugin.h"

#define PU_TRY(expr)                                                                                               \
    do {                                                                                                           \
        kgm_status pu_s_ = (expr);                                                                                 \
        if (pu_s_ != KGM_OK) return pu_s_;                                                                         \
    } while (0)
#define PU_ERR(H, st, ...) (H)->error_set((st), __FILE__, __LINE__, __VA_ARGS__)

/* ---- a tower: x -> [linear -> relu -> dropout] -> linear ------------------ */

typedef struct pu_tower {
    int32_t w1, b1, w2, b2; /* parameter ids (w1/b1 = -1 without a hidden layer) */
    int32_t in, hidden, out;
} pu_tower;

/* Declare a tower in -> hidden -> out (hidden 0: a single linear layer).
 * Weights are stored (in, out), Xavier-initialised; biases start at zero. */
static inline kgm_status pu_tower_declare(const kgm_host_api *H, kgm_task_ctx *ctx, const char *prefix, int32_t in,
                                          int32_t hidden, int32_t out, pu_tower *t) {
    char nm[64];
    kgm_init xav = {KGM_INIT_XAVIER_UNIFORM, 0.0f}, zero = {KGM_INIT_ZEROS, 0.0f};
    t->in = in;
    t->hidden = hidden;
    t->out = out;
    t->w1 = t->b1 = -1;
    int32_t last_in = in;
    if (hidden > 0) {
        snprintf(nm, sizeof nm, "%s.w1", prefix);
        PU_TRY(H->param_declare(ctx, nm, in, hidden, xav, 0, &t->w1));
        snprintf(nm, sizeof nm, "%s.b1", prefix);
        PU_TRY(H->param_declare(ctx, nm, 1, hidden, zero, 0, &t->b1));
        last_in = hidden;
    }
    snprintf(nm, sizeof nm, "%s.w2", prefix);
    PU_TRY(H->param_declare(ctx, nm, last_in, out, xav, 0, &t->w2));
    snprintf(nm, sizeof nm, "%s.b2", prefix);
    PU_TRY(H->param_declare(ctx, nm, 1, out, zero, 0, &t->b2));
    return KGM_OK;
}

/* y (B, out) = tower(x (B, in)); dropout p after the hidden layer in training. */
static inline kgm_status pu_tower_forward(const kgm_host_api *H, kgm_task_ctx *ctx, kgm_tape *tp, const pu_tower *t,
                                          kgm_tensor *x, float dropout, kgm_tensor **y) {
    if (x->cols != t->in)
        return PU_ERR(H, KGM_ERR_SHAPE, "tower expects %d input columns, the representation has %d", t->in, x->cols);
    kgm_tensor *z = x;
    if (t->hidden > 0) {
        PU_TRY(H->op_linear(tp, z, H->param(ctx, t->w1), H->param(ctx, t->b1), &z));
        PU_TRY(H->op_relu(tp, z, &z));
        if (dropout > 0.0f) PU_TRY(H->op_dropout(tp, z, dropout, H->rng(ctx), &z));
    }
    return H->op_linear(tp, z, H->param(ctx, t->w2), H->param(ctx, t->b2), y);
}

/* ---- batches ---------------------------------------------------------------- */

/* Rows [start, start+n) of a batch (arrays offset, h dropped). */
static inline kgm_batch pu_batch_slice(const kgm_batch *b, int32_t start, int32_t n) {
    kgm_batch s = *b;
    s.n = n;
    s.h = NULL;
#define PU_OFF(f) s.f = b->f ? b->f + start : NULL
    PU_OFF(row); PU_OFF(user); PU_OFF(item); PU_OFF(label); PU_OFF(label2);
    PU_OFF(head); PU_OFF(rel); PU_OFF(tail); PU_OFF(src); PU_OFF(dst); PU_OFF(weight); PU_OFF(cls);
#undef PU_OFF
    s.multi = b->multi ? b->multi + (size_t)start * (size_t)(b->n_labels > 0 ? b->n_labels : 0) : NULL;
    return s;
}

typedef kgm_status (*pu_predict_fn)(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b,
                                    kgm_tensor **out);

/* Run `pred` over every row of a split in chunks of `chunk` rows (computing
 * batch->h with host->represent when `need_h`), copying the (n, cols) outputs
 * into *out (host->alloc'ed, freed with host->free by the caller). The split's
 * rows are returned in *rows. Temporaries are released after each chunk. */
static inline kgm_status pu_predict_split(const kgm_host_api *H, kgm_task_ctx *ctx, kgm_tape *tp, void *self,
                                          pu_predict_fn pred, kgm_split_id split, bool need_h, int32_t chunk,
                                          int32_t cols, kgm_batch *rows, float **out) {
    *out = NULL;
    PU_TRY(H->split_rows(ctx, split, rows));
    float *buf = H->alloc((size_t)(rows->n > 0 ? rows->n : 1) * (size_t)cols * sizeof(float));
    if (!buf) return PU_ERR(H, KGM_ERR_NOMEM, "prediction buffer");
    for (int32_t s = 0; s < rows->n; s += chunk) {
        int32_t n = rows->n - s < chunk ? rows->n - s : chunk;
        kgm_tape_mark m = H->tape_get_mark(tp);
        kgm_batch sb = pu_batch_slice(rows, s, n);
        kgm_tensor *o = NULL;
        kgm_status st = KGM_OK;
        if (need_h) st = H->represent(ctx, tp, &sb, &sb.h);
        if (!st) st = pred(self, ctx, tp, &sb, &o);
        if (!st && (o->rows != n || o->cols != cols))
            st = PU_ERR(H, KGM_ERR_SHAPE, "prediction is (%d, %d), expected (%d, %d)", o->rows, o->cols, n, cols);
        if (st) {
            H->free(buf);
            return st;
        }
        memcpy(buf + (size_t)s * cols, o->data, (size_t)n * (size_t)cols * sizeof(float));
        H->tape_rewind(tp, m);
    }
    *out = buf;
    return KGM_OK;
}

/* A metric helper's status: an undefined metric (NaN with KGM_ERR_ARG, e.g.
 * AUC of a single class) is reported as NaN, not as a failed evaluation. */
static inline kgm_status pu_metric(const kgm_host_api *H, kgm_task_ctx *ctx, const char *name, kgm_status st,
                                   double *v) {
    if (st == KGM_ERR_ARG && isnan(*v)) {
        H->log(ctx, KGM_LOG_DEBUG, "%s undefined on this split: %s", name, H->error_message());
        return KGM_OK;
    }
    return st;
}

/* True if `x` is among the sorted-or-not ids a[0..n). */
static inline bool pu_contains(const int32_t *a, int64_t n, int32_t x) {
    for (int64_t i = 0; i < n; i++)
        if (a[i] == x) return true;
    return false;
}

/* Logistic function in double precision, for plain-C evaluation code. */
static inline float pu_sigmoid(float x) {
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* Free a plugin state whose first member is the host table pointer. */
static inline void pu_destroy_simple(void *self) {
    const kgm_host_api *H = *(const kgm_host_api *const *)self;
    H->free(self);
}

/* declare_params() of a task without parameters of its own (it trains the
 * encoder's embeddings only). */
static inline kgm_status pu_declare_none(void *self, kgm_task_ctx *ctx) {
    (void)self;
    (void)ctx;
    return KGM_OK;
}

/* The one exported function of a built-in plugin. Like the template, it
 * refuses (returns NULL, which the loader reports) a host of another major or
 * one whose table ends before the members the plugin uses: `host_size` is
 * KGM_HOST_API_SIZE_1_0 for plugins using only 1.0 members, _1_1 for those
 * calling host->op_mixture or a later member. */
#define PU_EXPORT_PLUGIN_NEEDS(desc, host_size)                                                                    \
    KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {                           \
        if (!host || host->abi_major != KGM_ABI_MAJOR || host->struct_size < (host_size)) return NULL;           \
        return &(desc);                                                                                            \
    }
#define PU_EXPORT_PLUGIN(desc) PU_EXPORT_PLUGIN_NEEDS(desc, KGM_HOST_API_SIZE_1_0)

#endif
