/* ops_plugin — a test plugin whose loss uses every op ABI 1.1 added for loss
 * authors (abs, log, sqrt, clamp, min, max) through the host table, so that
 * the test-ops-plugin test trains it and gradient-checks it from a .so.
 *
 * Click model on the PAIR representation: z = max(min(h·w + b, 6), -6),
 * p = clamp(sigmoid(z), 1e-4, 1 - 1e-4), loss = mean BCE from log(p) and
 * log(1 - p), plus 1e-3 · (sqrt(sum w² + 1e-6) + mean |w|). Metric: the
 * validation loss itself (lower is better). */
#include "kgmtl/plugin.h"

#define OP_TRY(expr)                                                                                               \
    do {                                                                                                           \
        kgm_status op_s_ = (expr);                                                                                 \
        if (op_s_ != KGM_OK) return op_s_;                                                                         \
    } while (0)

typedef struct opp {
    const kgm_host_api *H;
    int32_t w, b;
} opp;

static const kgm_metric_spec metrics[] = {{"loss", 0}};

static kgm_status opp_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    opp *t = H->calloc(1, sizeof *t);
    if (!t) return H->error_set(KGM_ERR_NOMEM, __FILE__, __LINE__, "ops_plugin: out of memory");
    t->H = H;
    *self = t;
    return KGM_OK;
}

static kgm_status opp_declare(void *self, kgm_task_ctx *ctx) {
    opp *t = self;
    kgm_init xavier = {KGM_INIT_XAVIER_UNIFORM, 0.0f}, zeros = {KGM_INIT_ZEROS, 0.0f};
    OP_TRY(t->H->param_declare(ctx, "w", (int32_t)t->H->count(ctx, KGM_COUNT_HIDDEN), 1, xavier, 0, &t->w));
    return t->H->param_declare(ctx, "b", 1, 1, zeros, 0, &t->b);
}

/* A constant (rows, 1) tensor of value v on the tape. */
static kgm_status opp_const(const kgm_host_api *H, kgm_tape *tp, int32_t rows, float v, kgm_tensor **out) {
    OP_TRY(H->tape_tensor(tp, rows, 1, false, false, out));
    for (int32_t i = 0; i < rows; i++) (*out)->data[i] = v;
    return KGM_OK;
}

/* Clicked probability p (n, 1) through min / max / clamp. */
static kgm_status opp_prob(opp *t, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **p) {
    const kgm_host_api *H = t->H;
    kgm_tensor *z, *hi, *lo;
    OP_TRY(H->op_linear(tp, b->h, H->param(ctx, t->w), H->param(ctx, t->b), &z));
    OP_TRY(opp_const(H, tp, b->n, 6.0f, &hi));
    OP_TRY(opp_const(H, tp, b->n, -6.0f, &lo));
    OP_TRY(H->op_min(tp, z, hi, &z));
    OP_TRY(H->op_max(tp, z, lo, &z));
    OP_TRY(H->op_sigmoid(tp, z, &z));
    return H->op_clamp(tp, z, 1e-4f, 1.0f - 1e-4f, p);
}

static kgm_status opp_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    opp *t = self;
    const kgm_host_api *H = t->H;
    kgm_tensor *p, *q, *lp, *lq, *y, *ny, *a, *c, *bce, *w = H->param(ctx, t->w), *ww, *s, *r, *aw, *m;
    OP_TRY(opp_prob(t, ctx, tp, b, &p));
    OP_TRY(H->op_scale(tp, p, -1.0f, 1.0f, &q)); /* 1 - p */
    OP_TRY(H->op_log(tp, p, &lp));
    OP_TRY(H->op_log(tp, q, &lq));
    OP_TRY(H->tape_input(tp, b->n, 1, b->label, &y));
    OP_TRY(H->op_scale(tp, y, -1.0f, 1.0f, &ny));
    OP_TRY(H->op_mul(tp, y, lp, &a));
    OP_TRY(H->op_mul(tp, ny, lq, &c));
    OP_TRY(H->op_add(tp, a, c, &bce));
    OP_TRY(H->op_mean(tp, bce, &bce));
    OP_TRY(H->op_mul(tp, w, w, &ww));
    OP_TRY(H->op_sum(tp, ww, &s));
    OP_TRY(H->op_scale(tp, s, 1.0f, 1e-6f, &s));
    OP_TRY(H->op_sqrt(tp, s, &r));
    OP_TRY(H->op_abs(tp, w, &aw));
    OP_TRY(H->op_mean(tp, aw, &m));
    OP_TRY(H->op_add(tp, r, m, &r));
    OP_TRY(H->op_scale(tp, r, 1e-3f, 0.0f, &r));
    OP_TRY(H->op_scale(tp, bce, -1.0f, 0.0f, &bce));
    return H->op_add(tp, bce, r, loss);
}

static kgm_status opp_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    return opp_prob(self, ctx, tp, b, out);
}

static kgm_status opp_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    opp *t = self;
    kgm_batch rows;
    kgm_tensor *l;
    OP_TRY(t->H->split_rows(ctx, split, &rows));
    OP_TRY(t->H->represent(ctx, tp, &rows, &rows.h));
    OP_TRY(opp_loss(t, ctx, tp, &rows, &l));
    m[0] = l->data[0];
    return KGM_OK;
}

static void opp_destroy(void *self) {
    opp *t = self;
    t->H->free(t);
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR, .abi_minor = KGM_ABI_MINOR, .struct_size = sizeof(kgm_task_plugin),
    .name = "ops_plugin", .version = "1.0.0",
    .description = "test: click loss built from abs, log, sqrt, clamp, min, max",
    .view = KGM_VIEW_INTERACTIONS, .input = KGM_INPUT_PAIR, .loss_form = KGM_LOSS_CLASSIFICATION,
    .n_metrics = 1, .metrics = metrics,
    .create = opp_create, .declare_params = opp_declare, .forward_loss = opp_loss,
    .predict = opp_predict, .eval = opp_eval, .destroy = opp_destroy,
};

/* Needs the 1.1 table (op_abs .. op_max). */
KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {
    if (host->abi_major != KGM_ABI_MAJOR || host->struct_size < KGM_HOST_API_SIZE_1_1) return NULL;
    return &plugin;
}
