/* Neural-network ops: activations, softmax, dropout, layer norm. */
#include <omp.h>

#include "core/base/rng.h"
#include "core/tensor/ops_internal.h"

/* ---- pointwise activations ------------------------------------------------- */

enum { ACT_RELU, ACT_LEAKY, ACT_SIGMOID, ACT_TANH, ACT_EXP, ACT_SOFTPLUS, ACT_ABS, ACT_LOG, ACT_SQRT, ACT_CLAMP };

static inline float sigmoidf_stable(float x) {
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static inline float softplusf_stable(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

static void act_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *y = n->out;
    int64_t N = kgm_tensor_numel(y);
    int kind = (int)n->iarg[0];
    float slope = n->farg[0];
    const float *xd = x->data, *yd = y->data, *dy = y->grad;
    float *dx = x->grad;
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        float d;
        switch (kind) {
        case ACT_RELU: d = xd[i] > 0 ? 1.0f : 0.0f; break;
        case ACT_LEAKY: d = xd[i] > 0 ? 1.0f : slope; break;
        case ACT_SIGMOID: d = yd[i] * (1.0f - yd[i]); break;
        case ACT_TANH: d = 1.0f - yd[i] * yd[i]; break;
        case ACT_EXP: d = yd[i]; break;
        case ACT_ABS: d = xd[i] > 0 ? 1.0f : (xd[i] < 0 ? -1.0f : 0.0f); break;
        case ACT_LOG: d = 1.0f / xd[i]; break;
        /* sqrt at 0 has an infinite slope: give 0 rather than poison the step */
        case ACT_SQRT: d = yd[i] > 0 ? 0.5f / yd[i] : 0.0f; break;
        case ACT_CLAMP: d = xd[i] >= slope && xd[i] <= n->farg[1] ? 1.0f : 0.0f; break;
        default: d = sigmoidf_stable(xd[i]); break;
        }
        dx[i] += dy[i] * d;
    }
    (void)tp;
}

/* log / sqrt outside their domain: an error naming the op and the value,
 * before anything is recorded (a NaN would only surface steps later). */
static kgm_status check_domain(const kgm_tensor *x, int kind, const char *name) {
    int64_t N = kgm_tensor_numel(x);
    for (int64_t i = 0; i < N; i++) {
        float v = x->data[i];
        if (kind == ACT_LOG ? !(v > 0.0f) : !(v >= 0.0f))
            return KGM_ERR(KGM_ERR_NUMERIC, "%s: input (%d, %d) is %g at row %lld, column %lld (needs %s)", name,
                           x->rows, x->cols, (double)v, (long long)(i / x->cols), (long long)(i % x->cols),
                           kind == ACT_LOG ? "> 0" : ">= 0");
    }
    return KGM_OK;
}

static kgm_status act2(kgm_tape *tp, kgm_tensor *x, int kind, float slope, float hi, const char *name,
                       kgm_tensor **out);

static kgm_status act(kgm_tape *tp, kgm_tensor *x, int kind, float slope, const char *name,
                      kgm_tensor **out) {
    return act2(tp, x, kind, slope, 0.0f, name, out);
}

/* Pointwise op `kind`; `slope` is leaky_relu's slope or clamp's lower bound,
 * `hi` clamp's upper bound. */
static kgm_status act2(kgm_tape *tp, kgm_tensor *x, int kind, float slope, float hi, const char *name,
                       kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, name);
    if (kind == ACT_LOG || kind == ACT_SQRT) KGM_TRY(check_domain(x, kind, name));
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, x->cols, in, 1, false, out, &g));
    int64_t N = kgm_tensor_numel(x);
    const float *xd = x->data;
    float *y = (*out)->data;
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        float v = xd[i];
        switch (kind) {
        case ACT_RELU: y[i] = v > 0 ? v : 0.0f; break;
        case ACT_LEAKY: y[i] = v > 0 ? v : slope * v; break;
        case ACT_SIGMOID: y[i] = sigmoidf_stable(v); break;
        case ACT_TANH: y[i] = tanhf(v); break;
        case ACT_EXP: y[i] = expf(v); break;
        case ACT_ABS: y[i] = fabsf(v); break;
        case ACT_LOG: y[i] = logf(v); break;
        case ACT_SQRT: y[i] = sqrtf(v); break;
        case ACT_CLAMP: y[i] = v < slope ? slope : (v > hi ? hi : v); break;
        default: y[i] = softplusf_stable(v); break;
        }
    }
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, act_bw, *out, in, 1, false, &nd));
        nd->iarg[0] = kind;
        nd->farg[0] = slope;
        nd->farg[1] = hi;
    }
    return KGM_OK;
}

kgm_status kgm_op_relu(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_RELU, 0, "relu", out);
}
kgm_status kgm_op_leaky_relu(kgm_tape *tp, kgm_tensor *x, float slope, kgm_tensor **out) {
    return act(tp, x, ACT_LEAKY, slope, "leaky_relu", out);
}
kgm_status kgm_op_sigmoid(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_SIGMOID, 0, "sigmoid", out);
}
kgm_status kgm_op_tanh(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_TANH, 0, "tanh", out);
}
kgm_status kgm_op_exp(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_EXP, 0, "exp", out);
}
kgm_status kgm_op_softplus(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_SOFTPLUS, 0, "softplus", out);
}
kgm_status kgm_op_abs(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_ABS, 0, "abs", out);
}
kgm_status kgm_op_log(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_LOG, 0, "log", out);
}
kgm_status kgm_op_sqrt(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    return act(tp, x, ACT_SQRT, 0, "sqrt", out);
}
kgm_status kgm_op_clamp(kgm_tape *tp, kgm_tensor *x, float lo, float hi, kgm_tensor **out) {
    if (!(lo <= hi)) return KGM_ERR(KGM_ERR_ARG, "clamp: lower bound %g above upper bound %g", (double)lo, (double)hi);
    return act2(tp, x, ACT_CLAMP, lo, hi, "clamp", out);
}

/* ---- softmax ----------------------------------------------------------------- */

static void softmax_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *y = n->out;
    int R = y->rows, C = y->cols;
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
    for (int i = 0; i < R; i++) {
        const float *yr = y->data + (size_t)i * C, *dy = y->grad + (size_t)i * C;
        float *dx = x->grad + (size_t)i * C;
        double dot = 0;
        for (int j = 0; j < C; j++) dot += (double)yr[j] * dy[j];
        for (int j = 0; j < C; j++) dx[j] += yr[j] * (dy[j] - (float)dot);
    }
    (void)tp;
}

kgm_status kgm_op_softmax(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "softmax");
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, x->cols, in, 1, false, out, &g));
    int R = x->rows, C = x->cols;
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
    for (int i = 0; i < R; i++) {
        const float *xr = x->data + (size_t)i * C;
        float *yr = (*out)->data + (size_t)i * C;
        float mx = -INFINITY;
        for (int j = 0; j < C; j++) mx = fmaxf(mx, xr[j]);
        double s = 0;
        for (int j = 0; j < C; j++) {
            yr[j] = expf(xr[j] - mx);
            s += yr[j];
        }
        float inv = (float)(1.0 / s);
        for (int j = 0; j < C; j++) yr[j] *= inv;
    }
    if (g) KGM_TRY(kgm_tape_record(tp, softmax_bw, *out, in, 1, false, NULL));
    return KGM_OK;
}

/* ---- dropout ---------------------------------------------------------------- */

static void dropout_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *y = n->out;
    const float *mask = n->saved;
    int64_t N = kgm_tensor_numel(y);
#pragma omp parallel for schedule(static) if (N > KGM_PAR_MIN)
    for (int64_t i = 0; i < N; i++) x->grad[i] += y->grad[i] * mask[i];
    (void)tp;
}

kgm_status kgm_op_dropout(kgm_tape *tp, kgm_tensor *x, float p, kgm_rng *rng, kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "dropout");
    if (!(p >= 0.0f && p < 1.0f))
        return KGM_ERR(KGM_ERR_ARG, "dropout: probability must be in [0, 1), found %g", (double)p);
    if (!kgm_tape_training(tp) || p == 0.0f) {
        /* Identity: scale by 1 keeps the gradient path without a mask. */
        return kgm_op_scale(tp, x, 1.0f, 0.0f, out);
    }
    if (!rng) return KGM_ERR(KGM_ERR_ARG, "dropout: a random stream is required in training mode");
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, x->cols, in, 1, false, out, &g));
    int64_t N = kgm_tensor_numel(x);
    float *mask;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(N ? N : 1) * sizeof(float), (void **)&mask));
    float keep = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < N; i++) mask[i] = kgm_rng_uniform(rng) < (double)p ? 0.0f : keep;
    for (int64_t i = 0; i < N; i++) (*out)->data[i] = x->data[i] * mask[i];
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, dropout_bw, *out, in, 1, false, &nd));
        nd->saved = mask;
    }
    return KGM_OK;
}

/* ---- layer norm --------------------------------------------------------------- */

static void layernorm_bw(kgm_tape *tp, kgm_node *n) {
    kgm_tensor *x = n->in[0], *gm = n->in[1], *bt = n->in[2], *y = n->out;
    const float *stats = n->saved; /* per row: mean, rstd */
    int R = x->rows, C = x->cols;
    if (x->grad) {
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
        for (int i = 0; i < R; i++) {
            const float *xr = x->data + (size_t)i * C, *dy = y->grad + (size_t)i * C;
            float *dx = x->grad + (size_t)i * C;
            float mu = stats[2 * i], rs = stats[2 * i + 1];
            double m1 = 0, m2 = 0;
            for (int j = 0; j < C; j++) {
                float xh = (xr[j] - mu) * rs;
                float dxh = dy[j] * (gm ? gm->data[j] : 1.0f);
                m1 += dxh;
                m2 += (double)dxh * xh;
            }
            float a = (float)(m1 / C), b = (float)(m2 / C);
            for (int j = 0; j < C; j++) {
                float xh = (xr[j] - mu) * rs;
                float dxh = dy[j] * (gm ? gm->data[j] : 1.0f);
                dx[j] += rs * (dxh - a - xh * b);
            }
        }
    }
    if ((gm && gm->grad) || (bt && bt->grad)) {
#pragma omp parallel if ((int64_t)R * C > KGM_PAR_MIN)
        {
            int32_t c0, c1;
            kgm_col_range(C, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
            for (int i = 0; i < R; i++) {
                const float *xr = x->data + (size_t)i * C, *dy = y->grad + (size_t)i * C;
                float mu = stats[2 * i], rs = stats[2 * i + 1];
                for (int j = c0; j < c1; j++) {
                    if (gm && gm->grad) gm->grad[j] += dy[j] * (xr[j] - mu) * rs;
                    if (bt && bt->grad) bt->grad[j] += dy[j];
                }
            }
        }
    }
    (void)tp;
}

kgm_status kgm_op_layernorm(kgm_tape *tp, kgm_tensor *x, kgm_tensor *g, kgm_tensor *b, float eps,
                            kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(x, "layernorm");
    int R = x->rows, C = x->cols;
    if (C == 0) return KGM_ERR(KGM_ERR_SHAPE, "layernorm: tensor has no columns");
    if (g && (g->rows != 1 || g->cols != C))
        return KGM_ERR(KGM_ERR_SHAPE, "layernorm: gain must be (1, %d), found (%d, %d)", C, g->rows, g->cols);
    if (b && (b->rows != 1 || b->cols != C))
        return KGM_ERR(KGM_ERR_SHAPE, "layernorm: bias must be (1, %d), found (%d, %d)", C, b->rows, b->cols);
    kgm_tensor *in[3] = {x, g, b};
    bool needg;
    KGM_TRY(kgm_op_out(tp, R, C, in, 3, false, out, &needg));
    float *stats;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(R ? R : 1) * 2 * sizeof(float), (void **)&stats));
#pragma omp parallel for schedule(static) if ((int64_t)R * C > KGM_PAR_MIN)
    for (int i = 0; i < R; i++) {
        const float *xr = x->data + (size_t)i * C;
        float *yr = (*out)->data + (size_t)i * C;
        double m = 0, v = 0;
        for (int j = 0; j < C; j++) m += xr[j];
        m /= C;
        for (int j = 0; j < C; j++) v += (xr[j] - m) * (xr[j] - m);
        v /= C;
        float rs = (float)(1.0 / sqrt(v + eps));
        stats[2 * i] = (float)m;
        stats[2 * i + 1] = rs;
        for (int j = 0; j < C; j++) {
            float xh = (xr[j] - (float)m) * rs;
            yr[j] = xh * (g ? g->data[j] : 1.0f) + (b ? b->data[j] : 0.0f);
        }
    }
    if (needg) {
        kgm_node *nd;
        /* Record with all three slots so the backward sees NULLs for absent ones. */
        KGM_TRY(kgm_tape_record(tp, layernorm_bw, *out, in, 3, false, &nd));
        nd->saved = stats;
    }
    return KGM_OK;
}
