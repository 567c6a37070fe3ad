/* ctr — binary click-through prediction on (user, item, label 0/1) rows.
 *
 * Model (head tower): a tower MLP over the fused (user, item) representation
 * batch->h, then one logit. Head mkr is MKR's recommendation head (Wang et
 * al., WWW 2019; the authors' code, use_inner_product = True): it needs
 * mixer.kind none, so that batch->h is the encoder's [u, v, u*v] (v = the
 * item vector after the cross&compress units); u goes through `user_layers`
 * dense ReLU layers d -> d (the authors' low-layer user MLP, one per L) and
 * the logit is <u_L, v> (no bias). Loss: binary cross-entropy on logits. Metrics on a split:
 * AUC (ties count one half), logloss (probabilities clipped to [1e-7, 1-1e-7]),
 * accuracy and F1 of the positive class at the `threshold` option. */
#include <stddef.h>
#include <stdlib.h>

#include "pu.h"

#define CTR_MAX_USER_LAYERS 8

typedef struct ctr {
    const kgm_host_api *H;
    int64_t hidden, user_layers;
    double dropout, threshold;
    bool mkr;    /* head mkr */
    int32_t d;   /* mkr: the encoder's embedding size */
    pu_tower tower;
    int32_t uw[CTR_MAX_USER_LAYERS], ub[CTR_MAX_USER_LAYERS]; /* mkr: user MLP */
} ctr;

static const kgm_option_spec options[] = {
    {"hidden", KGM_OPTTYPE_INT, "32", 0, 4096, NULL, "hidden units of the tower (0: a linear logit)"},
    {"dropout", KGM_OPTTYPE_FLOAT, "0", 0, 0.95, NULL, "dropout after the hidden layer while training"},
    {"threshold", KGM_OPTTYPE_FLOAT, "0.5", 0, 1, NULL, "probability at or above which a row is predicted positive"},
    {"head", KGM_OPTTYPE_ENUM, "tower", 0, -1, "tower|mkr",
     "tower: MLP over batch->h; mkr: MKR's <MLP(u), v> on the encoder's pair (needs mixer.kind none)"},
    {"user_layers", KGM_OPTTYPE_INT, "1", 0, CTR_MAX_USER_LAYERS, NULL,
     "head mkr: dense ReLU layers d -> d on the user vector (the authors' L; 1 for movies)"},
};

/* An option that the chosen head does not read is an error at its position
 * (hosts before ABI 1.1 cannot tell, and are trusted). */
static kgm_status reject_given(const kgm_host_api *H, kgm_task_ctx *ctx, const char *name, const char *why) {
    if (H->struct_size < offsetof(kgm_host_api, opt_where) + sizeof H->opt_where || !H->opt_where) return KGM_OK;
    const char *w = H->opt_where(ctx, name);
    if (!w || !strcmp(w, "default")) return KGM_OK;
    return PU_ERR(H, KGM_ERR_ARG, "%s: option '%s' has no effect %s; remove it", w, name, why);
}

static const kgm_metric_spec metrics[] = {
    {"auc", 1}, {"logloss", 0}, {"accuracy", 1}, {"f1", 1},
};

static kgm_status ctr_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    ctr *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "ctr state");
    t->H = H;
    kgm_status st = H->opt_int(ctx, "hidden", &t->hidden);
    if (!st) st = H->opt_float(ctx, "dropout", &t->dropout);
    if (!st) st = H->opt_float(ctx, "threshold", &t->threshold);
    if (!st) st = H->opt_int(ctx, "user_layers", &t->user_layers);
    const char *head = "tower";
    if (!st) st = H->opt_string(ctx, "head", &head);
    t->mkr = !st && strcmp(head, "mkr") == 0;
    if (!st && t->mkr) st = reject_given(H, ctx, "hidden", "with head mkr (it has no tower)");
    if (!st && t->mkr) st = reject_given(H, ctx, "dropout", "with head mkr (it has no hidden layer)");
    if (!st && !t->mkr) st = reject_given(H, ctx, "user_layers", "with head tower (it is head mkr's)");
    if (st) {
        H->free(t);
        return st;
    }
    *self = t;
    return KGM_OK;
}

static kgm_status ctr_declare(void *self, kgm_task_ctx *ctx) {
    ctr *t = self;
    const kgm_host_api *H = t->H;
    int64_t in = H->count(ctx, KGM_COUNT_HIDDEN);
    if (in <= 0) return PU_ERR(H, KGM_ERR_STATE, "the host reports no representation width (%lld)", (long long)in);
    if (!t->mkr) return pu_tower_declare(H, ctx, "tower", (int32_t)in, (int32_t)t->hidden, 1, &t->tower);
    int64_t d = H->count(ctx, KGM_COUNT_DIM), raw = H->count(ctx, KGM_COUNT_PAIR_RAW);
    if (raw != 1 || in != 3 * d)
        return PU_ERR(H, KGM_ERR_ARG,
                      "head mkr reads the encoder's pair [u, v, u*v] and needs mixer.kind none; this run gives the "
                      "task %lld columns from a mixer (encoder dim %lld)", (long long)in, (long long)d);
    t->d = (int32_t)d;
    kgm_init xav = {KGM_INIT_XAVIER_UNIFORM, 0.0f}, zero = {KGM_INIT_ZEROS, 0.0f};
    for (int32_t l = 0; l < (int32_t)t->user_layers; l++) {
        char nm[64];
        snprintf(nm, sizeof nm, "user_mlp.l%d.w", l);
        PU_TRY(H->param_declare(ctx, nm, t->d, t->d, xav, 0, &t->uw[l]));
        snprintf(nm, sizeof nm, "user_mlp.l%d.b", l);
        PU_TRY(H->param_declare(ctx, nm, 1, t->d, zero, 0, &t->ub[l]));
    }
    return KGM_OK;
}

/* MKR: logit (n, 1) = <relu-MLP(u), v> with h = [u, v, u*v]. */
static kgm_status mkr_logits(ctr *t, kgm_task_ctx *ctx, kgm_tape *tp, kgm_tensor *h, kgm_tensor **z) {
    const kgm_host_api *H = t->H;
    if (h->cols != 3 * t->d)
        return PU_ERR(H, KGM_ERR_SHAPE, "head mkr expects %d columns [u, v, u*v], found %d", 3 * t->d, h->cols);
    kgm_tensor *u, *v;
    PU_TRY(H->op_slice_cols(tp, h, 0, t->d, &u));
    PU_TRY(H->op_slice_cols(tp, h, t->d, t->d, &v));
    for (int32_t l = 0; l < (int32_t)t->user_layers; l++) {
        PU_TRY(H->op_linear(tp, u, H->param(ctx, t->uw[l]), H->param(ctx, t->ub[l]), &u));
        PU_TRY(H->op_relu(tp, u, &u));
    }
    return H->op_rowdot(tp, u, v, z);
}

static kgm_status ctr_logits(ctr *t, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **z) {
    if (t->mkr) return mkr_logits(t, ctx, tp, b->h, z);
    return pu_tower_forward(t->H, ctx, tp, &t->tower, b->h, (float)t->dropout, z);
}

static kgm_status ctr_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b,
                                   kgm_tensor **loss) {
    ctr *t = self;
    if (!b->label) return PU_ERR(t->H, KGM_ERR_ARG, "the batch has no labels");
    kgm_tensor *z;
    PU_TRY(ctr_logits(t, ctx, tp, b, &z));
    return t->H->op_bce_logits(tp, z, b->label, NULL, loss);
}

/* (n, 1) click probabilities. */
static kgm_status ctr_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    ctr *t = self;
    kgm_tensor *z;
    PU_TRY(ctr_logits(t, ctx, tp, b, &z));
    return t->H->op_sigmoid(tp, z, out);
}

static kgm_status ctr_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    ctr *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    float *p;
    PU_TRY(pu_predict_split(H, ctx, tp, self, ctr_predict, split, true, 4096, 1, &rows, &p));
    kgm_status st = KGM_OK;
    if (rows.n > 0) {
        const kgm_metrics_api *M = H->metrics;
        m[0] = m[1] = m[2] = m[3] = 0;
        st = pu_metric(H, ctx, "auc", M->auc(p, rows.label, rows.n, &m[0]), &m[0]);
        if (!st) st = pu_metric(H, ctx, "logloss", M->logloss(p, rows.label, rows.n, 1e-7, &m[1]), &m[1]);
        if (!st) st = pu_metric(H, ctx, "accuracy", M->accuracy(p, rows.label, rows.n, t->threshold, &m[2]), &m[2]);
        if (!st) st = pu_metric(H, ctx, "f1", M->f1(p, rows.label, rows.n, t->threshold, &m[3]), &m[3]);
    }
    H->free(p);
    return st;
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "ctr",
    .version = "1.0.0",
    .description = "binary click-through prediction: tower MLP (or MKR's <MLP(u), v> head) + BCE; AUC, logloss, accuracy, F1",
    .view = KGM_VIEW_INTERACTIONS,
    .input = KGM_INPUT_PAIR,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 0,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = ctr_create,
    .declare_params = ctr_declare,
    .forward_loss = ctr_forward_loss,
    .predict = ctr_predict,
    .eval = ctr_eval,
    .destroy = pu_destroy_simple,
};

PU_EXPORT_PLUGIN(plugin)
