/* SGD / Adam / AdamW / Adagrad with lazy row-sparse updates. */
#include "core/tensor/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

kgm_optim_cfg kgm_optim_defaults(kgm_optim_kind kind) {
    kgm_optim_cfg c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.lr = kind == KGM_OPT_SGD ? 0.01f : (kind == KGM_OPT_ADAGRAD ? 0.01f : 1e-3f);
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = kind == KGM_OPT_ADAGRAD ? 1e-10f : 1e-8f;
    return c;
}

kgm_status kgm_optim_new(kgm_params *ps, const kgm_optim_cfg *cfg, kgm_optim **out) {
    *out = NULL;
    if (!ps->finalized) return KGM_ERR(KGM_ERR_STATE, "optimiser created before the parameter store was finalised");
    if (!(cfg->lr >= 0) || !(cfg->eps > 0) || cfg->beta1 < 0 || cfg->beta1 >= 1 || cfg->beta2 < 0 ||
        cfg->beta2 >= 1 || cfg->momentum < 0 || cfg->weight_decay < 0 || cfg->clip_norm < 0)
        return KGM_ERR(KGM_ERR_ARG, "optimiser: invalid hyper-parameters (lr %g, betas %g/%g, eps %g)",
                       (double)cfg->lr, (double)cfg->beta1, (double)cfg->beta2, (double)cfg->eps);
    kgm_optim *o = calloc(1, sizeof *o);
    if (!o) return KGM_ERR(KGM_ERR_NOMEM, "optimiser");
    o->cfg = *cfg;
    o->ps = ps;
    size_t n = ps->total ? ps->total : 1;
    bool need_m = cfg->kind != KGM_OPT_SGD || cfg->momentum > 0;
    bool need_v = cfg->kind == KGM_OPT_ADAM || cfg->kind == KGM_OPT_ADAMW;
    if (need_m) o->m = calloc(n, sizeof(float));
    if (need_v) o->v = calloc(n, sizeof(float));
    o->steps = calloc((size_t)(ps->n ? ps->n : 1), sizeof(int64_t));
    if ((need_m && !o->m) || (need_v && !o->v) || !o->steps) {
        kgm_optim_free(o);
        return KGM_ERR(KGM_ERR_NOMEM, "optimiser state for %zu parameters", ps->total);
    }
    if (cfg->kind == KGM_OPT_ADAGRAD && cfg->adagrad_init > 0)
        for (size_t i = 0; i < ps->total; i++) o->m[i] = cfg->adagrad_init;
    for (int g = 0; g < KGM_MAX_GROUPS; g++) o->group_lr[g] = 1.0f;
    *out = o;
    return KGM_OK;
}

void kgm_optim_free(kgm_optim *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o->steps);
    free(o);
}

kgm_status kgm_optim_set_group_lr(kgm_optim *o, int32_t group, float mult) {
    if (group < 0 || group >= KGM_MAX_GROUPS) return KGM_ERR(KGM_ERR_ARG, "parameter group %d outside [0, %d)", group, KGM_MAX_GROUPS);
    if (!(mult >= 0)) return KGM_ERR(KGM_ERR_ARG, "group learning-rate multiplier must be >= 0, found %g", (double)mult);
    o->group_lr[group] = mult;
    return KGM_OK;
}

kgm_status kgm_optim_set_group_frozen(kgm_optim *o, int32_t group, bool frozen) {
    if (group < 0 || group >= KGM_MAX_GROUPS) return KGM_ERR(KGM_ERR_ARG, "parameter group %d outside [0, %d)", group, KGM_MAX_GROUPS);
    o->group_frozen[group] = frozen;
    return KGM_OK;
}

static bool is_sparse_lazy(const kgm_param *p) { return (p->t.flags & KGM_TENSOR_SPARSE) && !p->all_touched; }

static bool active(const kgm_optim *o, const kgm_param *p) {
    return p->t.grad && p->has_grad && !(p->t.flags & KGM_TENSOR_FROZEN) && !o->group_frozen[p->group];
}

double kgm_optim_grad_norm(const kgm_optim *o) {
    const kgm_params *ps = o->ps;
    double acc = 0;
    for (int32_t i = 0; i < ps->n; i++) {
        const kgm_param *p = &ps->p[i];
        if (!active(o, p)) continue;
        int32_t C = p->t.cols;
        if (is_sparse_lazy(p)) {
            for (int32_t k = 0; k < p->n_touched; k++) {
                const float *g = p->t.grad + (size_t)p->touched[k] * C;
                for (int32_t j = 0; j < C; j++) acc += (double)g[j] * g[j];
            }
        } else {
            int64_t N = kgm_tensor_numel(&p->t);
            for (int64_t j = 0; j < N; j++) acc += (double)p->t.grad[j] * p->t.grad[j];
        }
    }
    return sqrt(acc);
}

/* Update elements [0, n) of one row/block. */
static void update_block(const kgm_optim *o, float *w, float *g, float *m, float *v, int64_t n, float lr,
                         float gscale, int64_t t) {
    const kgm_optim_cfg *c = &o->cfg;
    float wd = c->weight_decay;
    switch (c->kind) {
    case KGM_OPT_SGD:
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] * gscale + wd * w[i];
            if (m) {
                m[i] = c->momentum * m[i] + gi;
                gi = m[i];
            }
            w[i] -= lr * gi;
        }
        break;
    case KGM_OPT_ADAM:
    case KGM_OPT_ADAMW: {
        double bc1 = 1.0 - pow(c->beta1, (double)t), bc2 = 1.0 - pow(c->beta2, (double)t);
        float step = (float)(lr / bc1);
        float rbc2 = (float)(1.0 / sqrt(bc2));
        bool decoupled = c->kind == KGM_OPT_ADAMW;
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] * gscale + (decoupled ? 0.0f : wd * w[i]);
            m[i] = c->beta1 * m[i] + (1.0f - c->beta1) * gi;
            v[i] = c->beta2 * v[i] + (1.0f - c->beta2) * gi * gi;
            if (decoupled) w[i] -= lr * wd * w[i];
            w[i] -= step * m[i] / (sqrtf(v[i]) * rbc2 + c->eps);
        }
        break;
    }
    case KGM_OPT_ADAGRAD:
        for (int64_t i = 0; i < n; i++) {
            float gi = g[i] * gscale + wd * w[i];
            m[i] += gi * gi;
            w[i] -= lr * gi / (sqrtf(m[i]) + c->eps);
        }
        break;
    }
}

kgm_status kgm_optim_step(kgm_optim *o, float lr_scale, double *grad_norm_out) {
    kgm_params *ps = o->ps;
    /* Non-finite gradients stop the run with the parameter's name. */
    for (int32_t i = 0; i < ps->n; i++) {
        kgm_param *p = &ps->p[i];
        if (!active(o, p)) continue;
        int32_t C = p->t.cols;
        if (is_sparse_lazy(p)) {
            for (int32_t k = 0; k < p->n_touched; k++) {
                const float *g = p->t.grad + (size_t)p->touched[k] * C;
                for (int32_t j = 0; j < C; j++)
                    if (!isfinite(g[j]))
                        return KGM_ERR(KGM_ERR_NUMERIC, "non-finite gradient in parameter '%s' (row %d)", p->name,
                                       p->touched[k]);
            }
        } else {
            int64_t N = kgm_tensor_numel(&p->t);
            for (int64_t j = 0; j < N; j++)
                if (!isfinite(p->t.grad[j]))
                    return KGM_ERR(KGM_ERR_NUMERIC, "non-finite gradient in parameter '%s' (element %lld)", p->name,
                                   (long long)j);
        }
    }
    double norm = kgm_optim_grad_norm(o);
    if (grad_norm_out) *grad_norm_out = norm;
    float gscale = 1.0f;
    if (o->cfg.clip_norm > 0 && norm > o->cfg.clip_norm) gscale = (float)(o->cfg.clip_norm / norm);
    o->n_steps++;
    for (int32_t i = 0; i < ps->n; i++) {
        kgm_param *p = &ps->p[i];
        if (!active(o, p)) continue;
        float lr = o->cfg.lr * lr_scale * o->group_lr[p->group];
        int64_t t = ++o->steps[i];
        float *w = p->t.data, *g = p->t.grad;
        float *m = o->m ? o->m + p->offset : NULL, *v = o->v ? o->v + p->offset : NULL;
        int32_t C = p->t.cols;
        if (is_sparse_lazy(p)) {
#pragma omp parallel for schedule(static) if ((int64_t)p->n_touched * C > 32768)
            for (int32_t k = 0; k < p->n_touched; k++) {
                size_t off = (size_t)p->touched[k] * C;
                update_block(o, w + off, g + off, m ? m + off : NULL, v ? v + off : NULL, C, lr, gscale, t);
            }
        } else {
            int64_t N = kgm_tensor_numel(&p->t);
            int64_t nb = (N + 16383) / 16384;
#pragma omp parallel for schedule(static) if (N > 32768)
            for (int64_t b = 0; b < nb; b++) {
                int64_t lo = b * 16384, len = N - lo < 16384 ? N - lo : 16384;
                update_block(o, w + lo, g + lo, m ? m + lo : NULL, v ? v + lo : NULL, len, lr, gscale, t);
            }
        }
    }
    return KGM_OK;
}
