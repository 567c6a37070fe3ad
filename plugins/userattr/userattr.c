/* userattr — classify a categorical user attribute (e.g. age group,
 * occupation) from the encoder's user representation.
 *
 * Model: tower MLP over batch->h (input USER) to C logits, C = the number of
 * classes; loss: softmax cross-entropy. Prediction: the arg-max class.
 * Metrics: accuracy and macro-F1 (mean over classes of per-class F1; classes
 * absent from both truth and prediction are left out of the mean). */
#include <stdlib.h>

#include "pu.h"

typedef struct userattr {
    const kgm_host_api *H;
    int64_t hidden;
    double dropout;
    int32_t C;
    pu_tower tower;
} userattr;

static const kgm_option_spec options[] = {
    {"hidden", KGM_OPTTYPE_INT, "32", 0, 4096, NULL, "hidden units of the tower (0: linear)"},
    {"dropout", KGM_OPTTYPE_FLOAT, "0", 0, 0.95, NULL, "dropout after the hidden layer while training"},
};

static const kgm_metric_spec metrics[] = {{"accuracy", 1}, {"macro_f1", 1}};

static kgm_status ua_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    userattr *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "userattr state");
    t->H = H;
    kgm_status st = H->opt_int(ctx, "hidden", &t->hidden);
    if (!st) st = H->opt_float(ctx, "dropout", &t->dropout);
    if (st) {
        H->free(t);
        return st;
    }
    *self = t;
    return KGM_OK;
}

static kgm_status ua_declare(void *self, kgm_task_ctx *ctx) {
    userattr *t = self;
    int64_t in = t->H->count(ctx, KGM_COUNT_HIDDEN), C = t->H->count(ctx, KGM_COUNT_CLASSES);
    if (in <= 0 || C < 2)
        return PU_ERR(t->H, KGM_ERR_STATE, "userattr needs a representation and at least two classes (H %lld, C %lld)",
                      (long long)in, (long long)C);
    t->C = (int32_t)C;
    return pu_tower_declare(t->H, ctx, "tower", (int32_t)in, (int32_t)t->hidden, t->C, &t->tower);
}

static kgm_status ua_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    userattr *t = self;
    if (!b->cls) return PU_ERR(t->H, KGM_ERR_ARG, "the batch has no class labels");
    kgm_tensor *z;
    PU_TRY(pu_tower_forward(t->H, ctx, tp, &t->tower, b->h, (float)t->dropout, &z));
    return t->H->op_softmax_ce(tp, z, b->cls, NULL, loss);
}

/* (n, C) class probabilities. */
static kgm_status ua_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    userattr *t = self;
    kgm_tensor *z;
    PU_TRY(pu_tower_forward(t->H, ctx, tp, &t->tower, b->h, (float)t->dropout, &z));
    return t->H->op_softmax(tp, z, out);
}

static kgm_status ua_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    userattr *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    float *p;
    PU_TRY(pu_predict_split(H, ctx, tp, self, ua_predict, split, true, 4096, t->C, &rows, &p));
    kgm_status st = KGM_OK;
    if (rows.n > 0) {
        int32_t *pred = H->alloc((size_t)rows.n * sizeof *pred);
        if (!pred) st = PU_ERR(H, KGM_ERR_NOMEM, "predictions");
        for (int32_t i = 0; pred && i < rows.n; i++) {
            const float *r = p + (size_t)i * t->C;
            int32_t best = 0;
            for (int32_t c = 1; c < t->C; c++)
                if (r[c] > r[best]) best = c;
            pred[i] = best;
        }
        if (!st) st = H->metrics->mc_accuracy(rows.cls, pred, rows.n, &m[0]);
        if (!st) {
            m[1] = 0;
            st = pu_metric(H, ctx, "macro_f1", H->metrics->mc_macro_f1(rows.cls, pred, rows.n, t->C, &m[1]), &m[1]);
        }
        H->free(pred);
    }
    H->free(p);
    return st;
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "userattr",
    .version = "1.0.0",
    .description = "user-attribute classification: tower MLP + softmax CE; accuracy, macro-F1",
    .view = KGM_VIEW_USER_ATTR,
    .input = KGM_INPUT_USER,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 0,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = ua_create,
    .declare_params = ua_declare,
    .forward_loss = ua_forward_loss,
    .predict = ua_predict,
    .eval = ua_eval,
    .destroy = pu_destroy_simple,
};

PU_EXPORT_PLUGIN(plugin)
