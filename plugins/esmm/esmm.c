/* esmm — post-click conversion (CVR) with ESMM (Ma et al., SIGIR 2018).
 *
 * Rows are impressions (user, item, click, conversion). Two towers over the
 * fused representation batch->h give logits a (CTR) and c (CVR):
 *   pCTR = sigmoid(a), pCVR = sigmoid(c), pCTCVR = pCTR · pCVR.
 * Loss over ALL impressions (no selection bias from training CVR on clicks):
 *   BCE(pCTR, click) + BCE(pCTCVR, click · conversion).
 * The second term is computed stably on the logit of pCTCVR, which is
 * exactly -logsumexp(-a, -c, -a-c), built from softplus:
 *   lse(x, y) = x + softplus(y - x).
 * Metrics: ctr_auc (pCTR vs click, all impressions), ctcvr_auc (pCTCVR vs
 * click·conversion, all impressions), cvr_auc (pCVR vs conversion on clicked
 * impressions only — the space CVR is defined on). Model selection: cvr_auc. */
#include <stdlib.h>

#include "pu.h"

typedef struct esmm {
    const kgm_host_api *H;
    int64_t hidden;
    double dropout;
    pu_tower ctr, cvr;
} esmm;

static const kgm_option_spec options[] = {
    {"hidden", KGM_OPTTYPE_INT, "32", 0, 4096, NULL, "hidden units of each tower (0: linear)"},
    {"dropout", KGM_OPTTYPE_FLOAT, "0", 0, 0.95, NULL, "dropout after the hidden layers while training"},
};

static const kgm_metric_spec metrics[] = {{"ctr_auc", 1}, {"ctcvr_auc", 1}, {"cvr_auc", 1}};

static kgm_status es_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    esmm *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "esmm state");
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

static kgm_status es_declare(void *self, kgm_task_ctx *ctx) {
    esmm *t = self;
    int64_t in = t->H->count(ctx, KGM_COUNT_HIDDEN);
    if (in <= 0) return PU_ERR(t->H, KGM_ERR_STATE, "the host reports no representation width");
    PU_TRY(pu_tower_declare(t->H, ctx, "ctr", (int32_t)in, (int32_t)t->hidden, 1, &t->ctr));
    return pu_tower_declare(t->H, ctx, "cvr", (int32_t)in, (int32_t)t->hidden, 1, &t->cvr);
}

/* Logits a (CTR), c (CVR) and z = logit(pCTCVR), each (n, 1). */
static kgm_status es_logits(esmm *t, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **a,
                            kgm_tensor **c, kgm_tensor **z) {
    const kgm_host_api *H = t->H;
    PU_TRY(pu_tower_forward(H, ctx, tp, &t->ctr, b->h, (float)t->dropout, a));
    PU_TRY(pu_tower_forward(H, ctx, tp, &t->cvr, b->h, (float)t->dropout, c));
    kgm_tensor *na, *nc, *d, *sp, *l12, *x3, *d2, *sp2, *l123;
    PU_TRY(H->op_scale(tp, *a, -1.0f, 0.0f, &na));
    PU_TRY(H->op_scale(tp, *c, -1.0f, 0.0f, &nc));
    PU_TRY(H->op_sub(tp, nc, na, &d));
    PU_TRY(H->op_softplus(tp, d, &sp));
    PU_TRY(H->op_add(tp, na, sp, &l12)); /* lse(-a, -c) */
    PU_TRY(H->op_add(tp, na, nc, &x3));  /* -a - c */
    PU_TRY(H->op_sub(tp, x3, l12, &d2));
    PU_TRY(H->op_softplus(tp, d2, &sp2));
    PU_TRY(H->op_add(tp, l12, sp2, &l123)); /* lse(-a, -c, -a-c) */
    return H->op_scale(tp, l123, -1.0f, 0.0f, z);
}

static kgm_status es_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    esmm *t = self;
    const kgm_host_api *H = t->H;
    if (!b->label || !b->label2) return PU_ERR(H, KGM_ERR_ARG, "the batch needs click and conversion labels");
    kgm_tensor *a, *c, *z, *l1, *l2;
    PU_TRY(es_logits(t, ctx, tp, b, &a, &c, &z));
    float *y2;
    PU_TRY(H->tape_alloc(tp, (size_t)b->n * sizeof(float), (void **)&y2));
    for (int32_t i = 0; i < b->n; i++) y2[i] = b->label[i] * b->label2[i];
    PU_TRY(H->op_bce_logits(tp, a, b->label, NULL, &l1));
    PU_TRY(H->op_bce_logits(tp, z, y2, NULL, &l2));
    return H->op_add(tp, l1, l2, loss);
}

/* (n, 3): pCTR, pCVR, pCTCVR. */
static kgm_status es_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    esmm *t = self;
    const kgm_host_api *H = t->H;
    kgm_tensor *a, *c, *z, *p[3];
    PU_TRY(es_logits(t, ctx, tp, b, &a, &c, &z));
    PU_TRY(H->op_sigmoid(tp, a, &p[0]));
    PU_TRY(H->op_sigmoid(tp, c, &p[1]));
    PU_TRY(H->op_sigmoid(tp, z, &p[2]));
    return H->op_concat_cols(tp, 3, p, out);
}

static kgm_status es_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    esmm *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    float *p;
    PU_TRY(pu_predict_split(H, ctx, tp, self, es_predict, split, true, 4096, 3, &rows, &p));
    int32_t n = rows.n;
    kgm_status st = KGM_OK;
    float *col = n > 0 ? H->alloc((size_t)n * 2 * sizeof(float)) : NULL, *y = col ? col + n : NULL;
    if (n > 0 && !col) st = PU_ERR(H, KGM_ERR_NOMEM, "evaluation buffers");
    if (n > 0 && !st) {
        for (int32_t i = 0; i < n; i++) col[i] = p[(size_t)i * 3];
        m[0] = 0;
        st = pu_metric(H, ctx, "ctr_auc", H->metrics->auc(col, rows.label, n, &m[0]), &m[0]);
        for (int32_t i = 0; i < n; i++) {
            col[i] = p[(size_t)i * 3 + 2];
            y[i] = rows.label[i] * rows.label2[i];
        }
        m[1] = 0;
        if (!st) st = pu_metric(H, ctx, "ctcvr_auc", H->metrics->auc(col, y, n, &m[1]), &m[1]);
        int32_t nc = 0;
        for (int32_t i = 0; i < n; i++)
            if (rows.label[i] > 0.5f) {
                col[nc] = p[(size_t)i * 3 + 1];
                y[nc++] = rows.label2[i];
            }
        m[2] = NAN;
        if (!st && nc > 0) {
            m[2] = 0;
            st = pu_metric(H, ctx, "cvr_auc", H->metrics->auc(col, y, nc, &m[2]), &m[2]);
        }
    }
    H->free(col);
    H->free(p);
    return st;
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "esmm",
    .version = "1.0.0",
    .description = "ESMM conversion: CTR and CVR towers, BCE(pCTR) + BCE(pCTR*pCVR) over impressions; CTR/CTCVR/CVR AUC",
    .view = KGM_VIEW_IMPRESSIONS,
    .input = KGM_INPUT_PAIR,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 2,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = es_create,
    .declare_params = es_declare,
    .forward_loss = es_forward_loss,
    .predict = es_predict,
    .eval = es_eval,
    .destroy = pu_destroy_simple,
};

PU_EXPORT_PLUGIN(plugin)
