/* itemlabels — multi-label item classification (e.g. genres) from the
 * encoder's item representation.
 *
 * Model: tower MLP over batch->h (input ITEM) to L logits, L = the number of
 * labels; loss: binary cross-entropy with logits averaged over all n·L cells,
 * computed as mean(softplus(z) - y·z). A label is predicted when its
 * probability is at least `threshold`. Metrics: micro-F1 (tp/fp/fn pooled over
 * all cells) and macro-F1 (mean of per-label F1 over labels present in truth
 * or prediction). */
#include <stdlib.h>

#include "pu.h"

typedef struct itemlabels {
    const kgm_host_api *H;
    int64_t hidden;
    double dropout, threshold;
    int32_t L;
    pu_tower tower;
} itemlabels;

static const kgm_option_spec options[] = {
    {"hidden", KGM_OPTTYPE_INT, "32", 0, 4096, NULL, "hidden units of the tower (0: linear)"},
    {"dropout", KGM_OPTTYPE_FLOAT, "0", 0, 0.95, NULL, "dropout after the hidden layer while training"},
    {"threshold", KGM_OPTTYPE_FLOAT, "0.5", 0, 1, NULL, "probability at or above which a label is predicted"},
};

static const kgm_metric_spec metrics[] = {{"micro_f1", 1}, {"macro_f1", 1}};

static kgm_status il_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    itemlabels *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "itemlabels state");
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

static kgm_status il_declare(void *self, kgm_task_ctx *ctx) {
    itemlabels *t = self;
    int64_t in = t->H->count(ctx, KGM_COUNT_HIDDEN), L = t->H->count(ctx, KGM_COUNT_CLASSES);
    if (in <= 0 || L < 1)
        return PU_ERR(t->H, KGM_ERR_STATE, "itemlabels needs a representation and labels (H %lld, L %lld)",
                      (long long)in, (long long)L);
    t->L = (int32_t)L;
    return pu_tower_declare(t->H, ctx, "tower", (int32_t)in, (int32_t)t->hidden, t->L, &t->tower);
}

static kgm_status il_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    itemlabels *t = self;
    const kgm_host_api *H = t->H;
    if (!b->multi) return PU_ERR(H, KGM_ERR_ARG, "the batch has no label matrix");
    if (b->n_labels != t->L) return PU_ERR(H, KGM_ERR_SHAPE, "the batch has %d labels, expected %d", b->n_labels, t->L);
    kgm_tensor *z, *sp, *y, *yz, *d;
    PU_TRY(pu_tower_forward(H, ctx, tp, &t->tower, b->h, (float)t->dropout, &z));
    PU_TRY(H->op_softplus(tp, z, &sp));
    PU_TRY(H->tape_input(tp, b->n, t->L, b->multi, &y));
    PU_TRY(H->op_mul(tp, y, z, &yz));
    PU_TRY(H->op_sub(tp, sp, yz, &d));
    return H->op_mean(tp, d, loss);
}

/* (n, L) label probabilities. */
static kgm_status il_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    itemlabels *t = self;
    kgm_tensor *z;
    PU_TRY(pu_tower_forward(t->H, ctx, tp, &t->tower, b->h, (float)t->dropout, &z));
    return t->H->op_sigmoid(tp, z, out);
}

static kgm_status il_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    itemlabels *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    float *p;
    PU_TRY(pu_predict_split(H, ctx, tp, self, il_predict, split, true, 4096, t->L, &rows, &p));
    kgm_status st = KGM_OK;
    if (rows.n > 0) {
        m[0] = m[1] = 0;
        st = pu_metric(H, ctx, "micro_f1", H->metrics->ml_micro_f1(rows.multi, p, rows.n, t->L, t->threshold, &m[0]),
                       &m[0]);
        if (!st)
            st = pu_metric(H, ctx, "macro_f1",
                           H->metrics->ml_macro_f1(rows.multi, p, rows.n, t->L, t->threshold, &m[1]), &m[1]);
    }
    H->free(p);
    return st;
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "itemlabels",
    .version = "1.0.0",
    .description = "item multi-label classification: tower MLP + per-label BCE; micro-F1, macro-F1",
    .view = KGM_VIEW_ITEM_LABELS,
    .input = KGM_INPUT_ITEM,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 1,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = il_create,
    .declare_params = il_declare,
    .forward_loss = il_forward_loss,
    .predict = il_predict,
    .eval = il_eval,
    .destroy = pu_destroy_simple,
};

PU_EXPORT_PLUGIN(plugin)
