/* template — the copy-me starting point for a new kgmtl task plugin.
 *
 * This file is a complete, working plugin: a minimal click-through task that
 * puts one linear layer on top of the representation the host computes for
 * each (user, item) row and trains it with binary cross-entropy. Copy the
 * folder, rename the plugin, and change the parts marked "YOUR TASK".
 *
 * Build it out of tree against an installed kgmtl:
 *
 *     cc -shared -fPIC -O2 $(pkg-config --cflags kgmtl-plugin) template.c -o mytask.so
 *     kgmtl plugins describe ./mytask.so
 *
 * Rules of the ABI (kgmtl/plugin.h has the details):
 *  - include ONLY kgmtl/plugin.h; never link against libkgmtl. Everything you
 *    need — memory, logging, errors, options, parameters, data, encoder
 *    outputs, every differentiable op, random numbers, metrics — comes from
 *    the `kgm_host_api` table the host passes to kgm_task_entry().
 *  - export exactly one symbol, kgm_task_entry (mark it KGM_PLUGIN_EXPORT so
 *    it stays visible when you build with -fvisibility=hidden).
 *  - the descriptor is static data; the host checks abi_major and
 *    struct_size before calling anything else.
 *  - every fallible callback returns a kgm_status; report the reason with
 *    host->error_set (the host prefixes your task's name and file).
 */
#include <string.h>

#include "kgmtl/plugin.h"

/* Report an error with this file's position. */
#define TPL_ERR(H, st, ...) (H)->error_set((st), __FILE__, __LINE__, __VA_ARGS__)
#define TPL_TRY(expr)                                                                                              \
    do {                                                                                                           \
        kgm_status tpl_s_ = (expr);                                                                                \
        if (tpl_s_ != KGM_OK) return tpl_s_;                                                                       \
    } while (0)

/* Per-task-instance state. A run may create several instances of the same
 * plugin (e.g. two CTR tasks on different data), so keep NOTHING in globals. */
typedef struct tpl {
    const kgm_host_api *H; /* keep the table: destroy() gets only `self` */
    double threshold;      /* an option value, read once in create() */
    int32_t w, b;          /* parameter ids from param_declare() */
} tpl;

/* ---- the options schema --------------------------------------------------
 * The host validates a manifest's `options:` against this table (type,
 * range, choices) before create() runs, so create() can trust the values.
 * Fields: name, type, default (text), min, max (ignored when min > max),
 * enum choices "a|b|c", help. YOUR TASK: add your options here. */
static const kgm_option_spec options[] = {
    {"threshold", KGM_OPTTYPE_FLOAT, "0.5", 0.0, 1.0, NULL,
     "probability at or above which a row counts as a predicted click (accuracy)"},
};

/* ---- the metrics eval() fills, in this order ------------------------------
 * {name, higher_is_better}. The descriptor's select_metric picks the one
 * used for model selection on the validation split. */
static const kgm_metric_spec metrics[] = {
    {"auc", 1},
    {"logloss", 0},
    {"accuracy", 1},
};

/* create(): read options, allocate state. No parameters yet. */
static kgm_status tpl_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    tpl *t = H->calloc(1, sizeof *t);
    if (!t) return TPL_ERR(H, KGM_ERR_NOMEM, "template: out of memory");
    t->H = H;
    kgm_status st = H->opt_float(ctx, "threshold", &t->threshold);
    if (st != KGM_OK) {
        H->free(t);
        return st;
    }
    *self = t;
    return KGM_OK;
}

/* declare_params(): declare the head's weights. Names are local to the task
 * (the host stores them as "<task>/<name>"). Shapes: weights (in, out). The
 * host initialises them when it finalises the store; host->param(ctx, id)
 * returns the tensor afterwards (NULL before). */
static kgm_status tpl_declare(void *self, kgm_task_ctx *ctx) {
    tpl *t = self;
    const kgm_host_api *H = t->H;
    /* Width of batch->h for this task (the host's representation). */
    int64_t in = H->count(ctx, KGM_COUNT_HIDDEN);
    if (in <= 0) return TPL_ERR(H, KGM_ERR_STATE, "template: no representation width (got %lld)", (long long)in);
    kgm_init xavier = {KGM_INIT_XAVIER_UNIFORM, 0.0f}, zeros = {KGM_INIT_ZEROS, 0.0f};
    TPL_TRY(H->param_declare(ctx, "w", (int32_t)in, 1, xavier, 0, &t->w));
    TPL_TRY(H->param_declare(ctx, "b", 1, 1, zeros, 0, &t->b));
    return KGM_OK;
}

/* The model: logit (n, 1) = h (n, in) · w (in, 1) + b. YOUR TASK: replace. */
static kgm_status tpl_logits(tpl *t, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **z) {
    return t->H->op_linear(tp, b->h, t->H->param(ctx, t->w), t->H->param(ctx, t->b), z);
}

/* forward_loss(): a (1, 1) loss on the tape for one training batch. The host
 * filled batch->h (our input kind is PAIR); it runs backward and the
 * optimiser step itself. Build everything with host ops so gradients flow. */
static kgm_status tpl_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b,
                                   kgm_tensor **loss) {
    tpl *t = self;
    if (!b->label) return TPL_ERR(t->H, KGM_ERR_ARG, "template: the batch has no labels");
    kgm_tensor *z;
    TPL_TRY(tpl_logits(t, ctx, tp, b, &z));
    return t->H->op_bce_logits(tp, z, b->label, NULL, loss);
}

/* predict(): the task's output for a batch, here (n, 1) click probabilities. */
static kgm_status tpl_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    tpl *t = self;
    kgm_tensor *z;
    TPL_TRY(tpl_logits(t, ctx, tp, b, &z));
    return t->H->op_sigmoid(tp, z, out);
}

/* eval(): fill one value per declared metric for a split. The host has
 * switched gradients and training mode off. Rows come from host->split_rows;
 * we score them in chunks and release each chunk's temporaries with a tape
 * mark, so memory stays flat however large the split is. */
static kgm_status tpl_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    tpl *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    TPL_TRY(H->split_rows(ctx, split, &rows));
    if (rows.n == 0) return KGM_OK; /* metrics stay NaN */
    float *p = H->alloc((size_t)rows.n * sizeof(float));
    if (!p) return TPL_ERR(H, KGM_ERR_NOMEM, "template: out of memory");
    kgm_status st = KGM_OK;
    const int32_t chunk = 4096;
    for (int32_t s = 0; s < rows.n && st == KGM_OK; s += chunk) {
        int32_t n = rows.n - s < chunk ? rows.n - s : chunk;
        kgm_tape_mark mark = H->tape_get_mark(tp);
        kgm_batch cb = rows; /* a view of rows [s, s+n) */
        cb.n = n;
        cb.user = rows.user + s;
        cb.item = rows.item + s;
        cb.label = rows.label + s;
        cb.row = rows.row ? rows.row + s : NULL;
        kgm_tensor *prob = NULL;
        st = H->represent(ctx, tp, &cb, &cb.h); /* the same representation training saw */
        if (st == KGM_OK) st = tpl_predict(t, ctx, tp, &cb, &prob);
        if (st == KGM_OK) memcpy(p + s, prob->data, (size_t)n * sizeof(float));
        H->tape_rewind(tp, mark);
    }
    /* Metrics come from the host (definitions in kgmtl/plugin.h): AUC with ties
     * counted half, logloss with clipping. A plugin built against 1.0 can rely
     * on these members; check host->metrics->struct_size for later ones. */
    const kgm_metrics_api *M = H->metrics;
    if (st == KGM_OK && !M) st = TPL_ERR(H, KGM_ERR_UNSUPPORTED, "template: the host lends no metrics");
    if (st == KGM_OK) {
        kgm_status a = M->auc(p, rows.label, rows.n, &m[0]);
        /* AUC of a split with one class only is undefined: keep NaN, go on. */
        if (a != KGM_OK && a != KGM_ERR_ARG) st = a;
    }
    if (st == KGM_OK) st = M->logloss(p, rows.label, rows.n, 1e-7, &m[1]);
    if (st == KGM_OK) st = M->accuracy(p, rows.label, rows.n, t->threshold, &m[2]);
    H->free(p);
    return st;
}

static void tpl_destroy(void *self) {
    tpl *t = self;
    t->H->free(t);
}

/* ---- the descriptor ---------------------------------------------------------
 * YOUR TASK: a unique name ([a-z0-9_]+, the file should be <name>.so), the
 * data view you train on and the representation you want in batch->h. */
static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "template",
    .version = "1.0.0",
    .description = "copy-me example: linear click model on the fused representation; AUC, logloss, accuracy",
    .view = KGM_VIEW_INTERACTIONS,        /* rows (user, item, label 0/1) */
    .input = KGM_INPUT_PAIR,              /* batch->h = fused (user, item) representation */
    .loss_form = KGM_LOSS_CLASSIFICATION, /* how uncertainty weighting treats the loss */
    .select_metric = 0,                   /* auc */
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = tpl_create,
    .declare_params = tpl_declare,
    .forward_loss = tpl_forward_loss,
    .predict = tpl_predict,
    .eval = tpl_eval,
    .destroy = tpl_destroy,
};

/* The one exported function. Refuse politely (return NULL) when the host is
 * of another major or older than the parts of the table we use: the loader
 * reports it. This plugin uses only ABI 1.0 members; one calling a member
 * added later (host->op_mixture, 1.1) checks KGM_HOST_API_SIZE_1_1 instead —
 * or checks it at the call and falls back. */
KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {
    if (!host || host->abi_major != KGM_ABI_MAJOR) return NULL;
    if (host->struct_size < KGM_HOST_API_SIZE_1_0) return NULL;
    return &plugin;
}
