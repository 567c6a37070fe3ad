/* ctr — binary click-through prediction on (user, item, label 0/1) rows.
 *
 * Model: a tower MLP over the fused (user, item) representation batch->h,
 * then one logit; loss: binary cross-entropy on logits. Metrics on a split:
 * AUC (ties count one half), logloss (probabilities clipped to [1e-7, 1-1e-7]),
 * accuracy and F1 of the positive class at the `threshold` option. */
#include <stdlib.h>

#include "pu.h"

typedef struct ctr {
    const kgm_host_api *H;
    int64_t hidden;
    double dropout, threshold;
    pu_tower tower;
} ctr;

static const kgm_option_spec options[] = {
    {"hidden", KGM_OPTTYPE_INT, "32", 0, 4096, NULL, "hidden units of the tower (0: a linear logit)"},
    {"dropout", KGM_OPTTYPE_FLOAT, "0", 0, 0.95, NULL, "dropout after the hidden layer while training"},
    {"threshold", KGM_OPTTYPE_FLOAT, "0.5", 0, 1, NULL, "probability at or above which a row is predicted positive"},
};

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
    if (st) {
        H->free(t);
        return st;
    }
    *self = t;
    return KGM_OK;
}

static kgm_status ctr_declare(void *self, kgm_task_ctx *ctx) {
    ctr *t = self;
    int64_t in = t->H->count(ctx, KGM_COUNT_HIDDEN);
    if (in <= 0) return PU_ERR(t->H, KGM_ERR_STATE, "the host reports no representation width (%lld)", (long long)in);
    return pu_tower_declare(t->H, ctx, "tower", (int32_t)in, (int32_t)t->hidden, 1, &t->tower);
}

static kgm_status ctr_logits(ctr *t, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **z) {
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
    .description = "binary click-through prediction: tower MLP + BCE; AUC, logloss, accuracy, F1",
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
