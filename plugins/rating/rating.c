/* rating — rating regression on (user, item, rating) rows.
 *
 * Prediction = mean training rating + tower(batch->h); loss: mean squared
 * error. The offset is the plain mean of the training split's ratings,
 * computed once from the data (not a parameter), so the tower only learns the
 * deviation. Predictions are clipped to [min_rating, max_rating] for the
 * metrics when that range is set (min < max). Metrics: RMSE and MAE. */
#include <stdlib.h>

#include "pu.h"

typedef struct rating {
    const kgm_host_api *H;
    int64_t hidden;
    double dropout, lo, hi;
    bool have_mean;
    float mean;
    pu_tower tower;
} rating;

static const kgm_option_spec options[] = {
    {"hidden", KGM_OPTTYPE_INT, "32", 0, 4096, NULL, "hidden units of the tower (0: linear)"},
    {"dropout", KGM_OPTTYPE_FLOAT, "0", 0, 0.95, NULL, "dropout after the hidden layer while training"},
    {"min_rating", KGM_OPTTYPE_FLOAT, "0", -1e9, 1e9, NULL, "lowest rating: predictions are clipped for metrics"},
    {"max_rating", KGM_OPTTYPE_FLOAT, "0", -1e9, 1e9, NULL,
     "highest rating (clipping is off unless min_rating < max_rating)"},
};

static const kgm_metric_spec metrics[] = {{"rmse", 0}, {"mae", 0}};

static kgm_status r_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    rating *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "rating state");
    t->H = H;
    kgm_status st = H->opt_int(ctx, "hidden", &t->hidden);
    if (!st) st = H->opt_float(ctx, "dropout", &t->dropout);
    if (!st) st = H->opt_float(ctx, "min_rating", &t->lo);
    if (!st) st = H->opt_float(ctx, "max_rating", &t->hi);
    if (st) {
        H->free(t);
        return st;
    }
    *self = t;
    return KGM_OK;
}

static kgm_status r_declare(void *self, kgm_task_ctx *ctx) {
    rating *t = self;
    int64_t in = t->H->count(ctx, KGM_COUNT_HIDDEN);
    if (in <= 0) return PU_ERR(t->H, KGM_ERR_STATE, "the host reports no representation width");
    return pu_tower_declare(t->H, ctx, "tower", (int32_t)in, (int32_t)t->hidden, 1, &t->tower);
}

static kgm_status r_mean(rating *t, kgm_task_ctx *ctx) {
    if (t->have_mean) return KGM_OK;
    kgm_batch b;
    PU_TRY(t->H->split_rows(ctx, KGM_SPLIT_TRAIN, &b));
    if (b.n <= 0 || !b.label) return PU_ERR(t->H, KGM_ERR_STATE, "the training split has no ratings");
    double s = 0;
    for (int32_t i = 0; i < b.n; i++) s += b.label[i];
    t->mean = (float)(s / b.n);
    t->have_mean = true;
    t->H->log(ctx, KGM_LOG_DEBUG, "mean training rating %.4f over %d rows", (double)t->mean, (int)b.n);
    return KGM_OK;
}

static kgm_status r_pred(rating *t, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **y) {
    PU_TRY(r_mean(t, ctx));
    kgm_tensor *z;
    PU_TRY(pu_tower_forward(t->H, ctx, tp, &t->tower, b->h, (float)t->dropout, &z));
    return t->H->op_scale(tp, z, 1.0f, t->mean, y);
}

static kgm_status r_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    rating *t = self;
    if (!b->label) return PU_ERR(t->H, KGM_ERR_ARG, "the batch has no ratings");
    kgm_tensor *y;
    PU_TRY(r_pred(t, ctx, tp, b, &y));
    return t->H->op_mse(tp, y, b->label, NULL, loss);
}

/* (n, 1) predicted ratings (not clipped). */
static kgm_status r_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    return r_pred(self, ctx, tp, b, out);
}

static kgm_status r_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    rating *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    float *p;
    PU_TRY(r_mean(t, ctx));
    PU_TRY(pu_predict_split(H, ctx, tp, self, r_predict, split, true, 4096, 1, &rows, &p));
    kgm_status st = KGM_OK;
    if (rows.n > 0) {
        if (t->lo < t->hi)
            for (int32_t i = 0; i < rows.n; i++) p[i] = p[i] < t->lo ? (float)t->lo : p[i] > t->hi ? (float)t->hi : p[i];
        st = H->metrics->rmse(p, rows.label, rows.n, &m[0]);
        if (!st) st = H->metrics->mae(p, rows.label, rows.n, &m[1]);
    }
    H->free(p);
    return st;
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "rating",
    .version = "1.0.0",
    .description = "rating regression: train mean + tower MLP, MSE loss; RMSE, MAE",
    .view = KGM_VIEW_RATINGS,
    .input = KGM_INPUT_PAIR,
    .loss_form = KGM_LOSS_REGRESSION,
    .select_metric = 0,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = r_create,
    .declare_params = r_declare,
    .forward_loss = r_forward_loss,
    .predict = r_predict,
    .eval = r_eval,
    .destroy = pu_destroy_simple,
};

PU_EXPORT_PLUGIN(plugin)
