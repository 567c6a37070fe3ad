/* Losses in numerically stable forms (softplus, log-sum-exp). Each returns a
 * (1,1) mean over the batch; optional per-row weights multiply each term. */
#include "core/tensor/ops_internal.h"

static inline float sigm(float x) {
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
static inline double softplus_d(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

static kgm_status check_vec(const kgm_tensor *t, const char *what) {
    if (!t) return KGM_ERR(KGM_ERR_ARG, "%s: tensor argument is NULL", what);
    if (t->cols != 1) return KGM_ERR(KGM_ERR_SHAPE, "%s: expected a (B, 1) input, found (%d, %d)", what, t->rows, t->cols);
    if (t->rows == 0) return KGM_ERR(KGM_ERR_SHAPE, "%s: empty batch", what);
    return KGM_OK;
}

/* Saved per-row gradient factors: d loss / d input = factor * upstream. */
static void vec_loss_bw(kgm_tape *tp, kgm_node *n) {
    float g = n->out->grad[0];
    for (int k = 0; k < 2; k++) {
        kgm_tensor *x = n->in[k];
        const float *f = k == 0 ? n->saved : n->ptr[0];
        if (!x || !x->grad || !f) continue;
        int64_t N = kgm_tensor_numel(x);
        for (int64_t i = 0; i < N; i++) x->grad[i] += g * f[i];
    }
    (void)tp;
}

kgm_status kgm_op_bce_logits(kgm_tape *tp, kgm_tensor *z, const float *y, const float *wt,
                             kgm_tensor **out) {
    KGM_TRY(check_vec(z, "bce_logits"));
    if (!y) return KGM_ERR(KGM_ERR_ARG, "bce_logits: targets are NULL");
    int32_t B = z->rows;
    for (int32_t i = 0; i < B; i++)
        if (!(y[i] >= 0.0f && y[i] <= 1.0f))
            return KGM_ERR(KGM_ERR_ARG, "bce_logits: target %d is %g, expected a value in [0, 1]", i, (double)y[i]);
    kgm_tensor *in[1] = {z};
    bool g;
    KGM_TRY(kgm_op_out(tp, 1, 1, in, 1, false, out, &g));
    float *f = NULL;
    if (g) KGM_TRY(kgm_tape_alloc(tp, (size_t)B * sizeof(float), (void **)&f));
    double acc = 0;
    for (int32_t i = 0; i < B; i++) {
        double w = wt ? wt[i] : 1.0, x = z->data[i];
        acc += w * (softplus_d(x) - y[i] * x);
        if (f) f[i] = (float)(w * (sigm(z->data[i]) - y[i]) / B);
    }
    (*out)->data[0] = (float)(acc / B);
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, vec_loss_bw, *out, in, 1, false, &nd));
        nd->saved = f;
    }
    return KGM_OK;
}

kgm_status kgm_op_softmax_ce(kgm_tape *tp, kgm_tensor *z, const int32_t *labels, const float *wt,
                             kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(z, "softmax_ce");
    if (!labels) return KGM_ERR(KGM_ERR_ARG, "softmax_ce: labels are NULL");
    int32_t B = z->rows, C = z->cols;
    if (B == 0 || C == 0) return KGM_ERR(KGM_ERR_SHAPE, "softmax_ce: empty logits (%d, %d)", B, C);
    for (int32_t i = 0; i < B; i++)
        if (labels[i] < 0 || labels[i] >= C)
            return KGM_ERR(KGM_ERR_INDEX, "softmax_ce: label %d of row %d outside [0, %d)", labels[i], i, C);
    kgm_tensor *in[1] = {z};
    bool g;
    KGM_TRY(kgm_op_out(tp, 1, 1, in, 1, false, out, &g));
    float *f = NULL;
    if (g) KGM_TRY(kgm_tape_alloc(tp, (size_t)B * C * sizeof(float), (void **)&f));
    double acc = 0;
    for (int32_t i = 0; i < B; i++) {
        const float *r = z->data + (size_t)i * C;
        float mx = -INFINITY;
        for (int32_t j = 0; j < C; j++) mx = fmaxf(mx, r[j]);
        double s = 0;
        for (int32_t j = 0; j < C; j++) s += exp((double)r[j] - mx);
        double lse = mx + log(s), w = wt ? wt[i] : 1.0;
        acc += w * (lse - r[labels[i]]);
        if (f)
            for (int32_t j = 0; j < C; j++)
                f[(size_t)i * C + j] = (float)(w * (exp((double)r[j] - lse) - (j == labels[i])) / B);
    }
    (*out)->data[0] = (float)(acc / B);
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, vec_loss_bw, *out, in, 1, false, &nd));
        nd->saved = f;
    }
    return KGM_OK;
}

kgm_status kgm_op_mse(kgm_tape *tp, kgm_tensor *p, const float *t, const float *wt, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(p, "mse");
    if (!t) return KGM_ERR(KGM_ERR_ARG, "mse: targets are NULL");
    int64_t N = kgm_tensor_numel(p);
    if (N == 0) return KGM_ERR(KGM_ERR_SHAPE, "mse: empty prediction");
    kgm_tensor *in[1] = {p};
    bool g;
    KGM_TRY(kgm_op_out(tp, 1, 1, in, 1, false, out, &g));
    float *f = NULL;
    if (g) KGM_TRY(kgm_tape_alloc(tp, (size_t)N * sizeof(float), (void **)&f));
    double acc = 0;
    int32_t C = p->cols;
    for (int64_t i = 0; i < N; i++) {
        double w = wt ? wt[i / C] : 1.0, d = (double)p->data[i] - t[i];
        acc += w * d * d;
        if (f) f[i] = (float)(2.0 * w * d / (double)N);
    }
    (*out)->data[0] = (float)(acc / (double)N);
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, vec_loss_bw, *out, in, 1, false, &nd));
        nd->saved = f;
    }
    return KGM_OK;
}

static kgm_status pair_loss(kgm_tape *tp, kgm_tensor *pos, kgm_tensor *neg, bool bpr, float margin,
                            kgm_tensor **out) {
    const char *name = bpr ? "bpr" : "margin_ranking";
    KGM_TRY(check_vec(pos, name));
    KGM_TRY(check_vec(neg, name));
    KGM_CHECK_SAME_SHAPE(pos, neg, name);
    int32_t B = pos->rows;
    kgm_tensor *in[2] = {pos, neg};
    bool g;
    KGM_TRY(kgm_op_out(tp, 1, 1, in, 2, false, out, &g));
    float *fp = NULL, *fn = NULL;
    if (g) {
        KGM_TRY(kgm_tape_alloc(tp, (size_t)B * sizeof(float), (void **)&fp));
        KGM_TRY(kgm_tape_alloc(tp, (size_t)B * sizeof(float), (void **)&fn));
    }
    double acc = 0;
    for (int32_t i = 0; i < B; i++) {
        double d = (double)neg->data[i] - pos->data[i];
        double gi;
        if (bpr) {
            acc += softplus_d(d);
            gi = sigm((float)d) / B;
        } else {
            double h = margin + d;
            acc += h > 0 ? h : 0;
            gi = h > 0 ? 1.0 / B : 0.0;
        }
        if (fp) {
            fp[i] = (float)-gi;
            fn[i] = (float)gi;
        }
    }
    (*out)->data[0] = (float)(acc / B);
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, vec_loss_bw, *out, in, 2, false, &nd));
        nd->saved = fp;
        nd->ptr[0] = fn;
    }
    return KGM_OK;
}

kgm_status kgm_op_bpr(kgm_tape *tp, kgm_tensor *pos, kgm_tensor *neg, kgm_tensor **out) {
    return pair_loss(tp, pos, neg, true, 0, out);
}
kgm_status kgm_op_margin_ranking(kgm_tape *tp, kgm_tensor *pos, kgm_tensor *neg, float margin,
                                 kgm_tensor **out) {
    return pair_loss(tp, pos, neg, false, margin, out);
}
