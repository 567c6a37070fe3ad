/* social — social link prediction on (src, dst) user-user edges.
 *
 * Score: s(u, v) = dot(embed(USER u), embed(USER v)), no head parameters.
 * Training: every edge is a positive; `negatives` random users per edge are
 * negatives (users already linked to src in the training split are avoided,
 * best effort); loss = mean over positives and negatives of binary
 * cross-entropy on the scores as logits (positives weighted by the edge weight
 * when the view has weights and `use_weights` is on).
 * Evaluation: AUC of the split's edges against the same number of negative
 * pairs (src of an edge, a random user not linked to it in any split). The
 * negatives are drawn ONCE per split from a fixed seed (`eval_seed`) and kept,
 * so every epoch is scored against the same pairs. */
#include <stdlib.h>

#include "pu.h"

typedef struct social {
    const kgm_host_api *H;
    int64_t negatives, eval_seed;
    bool use_weights;
    int32_t *eval_neg[3]; /* per split: one negative dst per edge */
    int32_t eval_n[3];
} social;

static const kgm_option_spec options[] = {
    {"negatives", KGM_OPTTYPE_INT, "1", 1, 1024, NULL, "negative users per training edge"},
    {"use_weights", KGM_OPTTYPE_BOOL, "false", 0, -1, NULL, "weight positive edges by their edge weight"},
    {"eval_seed", KGM_OPTTYPE_INT, "12345", 0, 9.0e15, NULL, "seed of the evaluation negatives (drawn once per split)"},
};

static const kgm_metric_spec metrics[] = {{"auc", 1}};

static kgm_status so_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    social *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "social state");
    t->H = H;
    kgm_status st = H->opt_int(ctx, "negatives", &t->negatives);
    if (!st) st = H->opt_bool(ctx, "use_weights", &t->use_weights);
    if (!st) st = H->opt_int(ctx, "eval_seed", &t->eval_seed);
    if (st) {
        H->free(t);
        return st;
    }
    *self = t;
    return KGM_OK;
}

static bool linked(const int64_t *rp, const int32_t *col, int32_t u, int32_t v) {
    return rp && pu_contains(col + rp[u], rp[u + 1] - rp[u], v);
}

static kgm_status so_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    social *t = self;
    const kgm_host_api *H = t->H;
    if (!b->src || !b->dst) return PU_ERR(H, KGM_ERR_ARG, "the batch has no edges");
    int32_t U = (int32_t)H->count(ctx, KGM_COUNT_USERS), B = b->n, k = (int32_t)t->negatives, n = B * (1 + k);
    if (U <= 1) return PU_ERR(H, KGM_ERR_STATE, "social link prediction needs at least two users");
    const int64_t *rp = NULL;
    const int32_t *col = NULL;
    if (H->user_items(ctx, KGM_SPLIT_TRAIN, &rp, &col) != KGM_OK) rp = NULL; /* friend lists are optional */
    int32_t *src, *dst;
    float *y, *w;
    PU_TRY(H->tape_alloc(tp, (size_t)n * 2 * sizeof(int32_t), (void **)&src));
    PU_TRY(H->tape_alloc(tp, (size_t)n * 2 * sizeof(float), (void **)&y));
    dst = src + n;
    w = y + n;
    kgm_rng *r = H->rng(ctx);
    for (int32_t i = 0; i < B; i++) {
        src[i] = b->src[i];
        dst[i] = b->dst[i];
        y[i] = 1.0f;
        w[i] = (t->use_weights && b->weight) ? b->weight[i] : 1.0f;
        for (int32_t j = 0; j < k; j++) {
            int32_t q = B + i * k + j, v = 0;
            for (int a = 0; a < 50; a++) {
                v = (int32_t)H->rng_below(r, (uint64_t)U);
                if (v != b->src[i] && !linked(rp, col, b->src[i], v)) break;
            }
            src[q] = b->src[i];
            dst[q] = v;
            y[q] = 0.0f;
            w[q] = 1.0f;
        }
    }
    kgm_tensor *eu, *ev, *s;
    PU_TRY(H->embed(ctx, tp, KGM_KIND_USER, src, n, &eu));
    PU_TRY(H->embed(ctx, tp, KGM_KIND_USER, dst, n, &ev));
    PU_TRY(H->op_rowdot(tp, eu, ev, &s));
    return H->op_bce_logits(tp, s, y, w, loss);
}

/* (n, 1) link probabilities sigmoid(s(src, dst)). */
static kgm_status so_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    social *t = self;
    kgm_tensor *eu, *ev, *s;
    PU_TRY(t->H->embed(ctx, tp, KGM_KIND_USER, b->src, b->n, &eu));
    PU_TRY(t->H->embed(ctx, tp, KGM_KIND_USER, b->dst, b->n, &ev));
    PU_TRY(t->H->op_rowdot(tp, eu, ev, &s));
    return t->H->op_sigmoid(tp, s, out);
}

/* Negatives of a split, drawn once with their own stream (not the training rng). */
static kgm_status eval_negatives(social *t, kgm_task_ctx *ctx, kgm_split_id split, const kgm_batch *rows) {
    const kgm_host_api *H = t->H;
    if (t->eval_neg[split] && t->eval_n[split] == rows->n) return KGM_OK;
    H->free(t->eval_neg[split]);
    t->eval_neg[split] = H->alloc((size_t)(rows->n > 0 ? rows->n : 1) * sizeof(int32_t));
    if (!t->eval_neg[split]) return PU_ERR(H, KGM_ERR_NOMEM, "evaluation negatives");
    t->eval_n[split] = rows->n;
    int32_t U = (int32_t)H->count(ctx, KGM_COUNT_USERS);
    const int64_t *rp[3] = {NULL, NULL, NULL};
    const int32_t *col[3] = {NULL, NULL, NULL};
    for (int s = 0; s < 3; s++)
        if (H->user_items(ctx, (kgm_split_id)s, &rp[s], &col[s]) != KGM_OK) rp[s] = NULL;
    /* xorshift64* stream from eval_seed and the split: independent of training */
    uint64_t x = (uint64_t)t->eval_seed * 0x9E3779B97F4A7C15ull + (uint64_t)split + 1;
    for (int32_t i = 0; i < rows->n; i++) {
        int32_t u = rows->src[i], v = 0;
        for (int a = 0; a < 100; a++) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            v = (int32_t)(((x * 0x2545F4914F6CDD1Dull) >> 11) % (uint64_t)U);
            if (v != u && !linked(rp[0], col[0], u, v) && !linked(rp[1], col[1], u, v) && !linked(rp[2], col[2], u, v))
                break;
        }
        t->eval_neg[split][i] = v;
    }
    return KGM_OK;
}

static kgm_status so_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    social *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    PU_TRY(H->split_rows(ctx, split, &rows));
    if (rows.n == 0) return KGM_OK;
    PU_TRY(eval_negatives(t, ctx, split, &rows));
    int32_t n = rows.n;
    float *p = H->alloc((size_t)n * 2 * sizeof(float)), *y = H->alloc((size_t)n * 2 * sizeof(float));
    if (!p || !y) {
        H->free(p);
        H->free(y);
        return PU_ERR(H, KGM_ERR_NOMEM, "evaluation buffers");
    }
    kgm_status st = KGM_OK;
    for (int part = 0; part < 2 && !st; part++) {
        kgm_tape_mark mk = H->tape_get_mark(tp);
        kgm_batch b = rows;
        b.dst = part ? t->eval_neg[split] : rows.dst;
        kgm_tensor *o;
        st = so_predict(self, ctx, tp, &b, &o);
        if (!st) {
            memcpy(p + (size_t)part * n, o->data, (size_t)n * sizeof(float));
            for (int32_t i = 0; i < n; i++) y[(size_t)part * n + i] = part ? 0.0f : 1.0f;
        }
        H->tape_rewind(tp, mk);
    }
    if (!st) {
        m[0] = 0;
        st = pu_metric(H, ctx, "auc", H->metrics->auc(p, y, 2 * (int64_t)n, &m[0]), &m[0]);
    }
    H->free(p);
    H->free(y);
    return st;
}

static void so_destroy(void *self) {
    social *t = self;
    for (int s = 0; s < 3; s++) t->H->free(t->eval_neg[s]);
    t->H->free(t);
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "social",
    .version = "1.0.0",
    .description = "social link prediction: dot-product scores, negative-sampled BCE; AUC against fixed negatives",
    .view = KGM_VIEW_SOCIAL,
    .input = KGM_INPUT_NONE,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 0,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = so_create,
    .declare_params = pu_declare_none,
    .forward_loss = so_forward_loss,
    .predict = so_predict,
    .eval = so_eval,
    .destroy = so_destroy,
};

PU_EXPORT_PLUGIN(plugin)
