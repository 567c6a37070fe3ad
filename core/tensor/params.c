/* Contiguous parameter store with per-name random streams. */
#include "core/tensor/params.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/rng.h"

kgm_status kgm_params_new(kgm_params **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return KGM_ERR(KGM_ERR_NOMEM, "parameter store");
    return KGM_OK;
}

void kgm_params_free(kgm_params *ps) {
    if (!ps) return;
    for (int32_t i = 0; i < ps->n; i++) {
        free(ps->p[i].touched);
        free(ps->p[i].mark);
    }
    free(ps->p);
    free(ps->data);
    free(ps->grad);
    free(ps);
}

int32_t kgm_params_find(const kgm_params *ps, const char *name) {
    for (int32_t i = 0; i < ps->n; i++)
        if (strcmp(ps->p[i].name, name) == 0) return i;
    return -1;
}

kgm_status kgm_params_declare(kgm_params *ps, const char *name, int32_t rows, int32_t cols,
                              kgm_init init, uint32_t flags, int32_t group, int32_t *id_out) {
    if (id_out) *id_out = -1;
    if (ps->finalized)
        return KGM_ERR(KGM_ERR_STATE, "parameter '%s' declared after the store was finalised", name);
    if (!name || !*name || strlen(name) >= KGM_PARAM_NAME_MAX)
        return KGM_ERR(KGM_ERR_ARG, "parameter name empty or longer than %d characters",
                       KGM_PARAM_NAME_MAX - 1);
    if (rows <= 0 || cols <= 0)
        return KGM_ERR(KGM_ERR_SHAPE, "parameter '%s': shape (%d, %d) must be positive", name, rows,
                       cols);
    if (group < 0 || group >= 64)
        return KGM_ERR(KGM_ERR_ARG, "parameter '%s': group %d outside [0, 64)", name, group);
    if (kgm_params_find(ps, name) >= 0)
        return KGM_ERR(KGM_ERR_ARG, "parameter '%s' declared twice", name);
    if (ps->n == ps->cap) {
        int32_t nc = ps->cap ? ps->cap * 2 : 32;
        kgm_param *np = realloc(ps->p, (size_t)nc * sizeof *np);
        if (!np) return KGM_ERR(KGM_ERR_NOMEM, "parameter table");
        ps->p = np;
        ps->cap = nc;
    }
    kgm_param *p = &ps->p[ps->n];
    memset(p, 0, sizeof *p);
    strcpy(p->name, name);
    p->t.rows = rows;
    p->t.cols = cols;
    p->t.flags = KGM_TENSOR_PARAM | (flags & (KGM_TENSOR_SPARSE | KGM_TENSOR_FROZEN));
    p->t.param_id = ps->n;
    p->init = init;
    p->group = group;
    p->offset = ps->total;
    ps->total += (size_t)rows * (size_t)cols;
    if (id_out) *id_out = ps->n;
    ps->n++;
    return KGM_OK;
}

static void init_values(kgm_param *p, uint64_t seed) {
    kgm_rng r;
    kgm_rng_init(&r, seed, kgm_rng_stream_id(p->name, 0));
    float *d = p->t.data;
    int64_t n = kgm_tensor_numel(&p->t);
    double fan_in = p->t.rows, fan_out = p->t.cols, a = p->init.a;
    switch (p->init.kind) {
    case KGM_INIT_ZEROS: memset(d, 0, (size_t)n * sizeof(float)); break;
    case KGM_INIT_CONST:
        for (int64_t i = 0; i < n; i++) d[i] = (float)a;
        break;
    case KGM_INIT_NORMAL:
        for (int64_t i = 0; i < n; i++) d[i] = (float)(a * kgm_rng_normal(&r));
        break;
    case KGM_INIT_UNIFORM:
        for (int64_t i = 0; i < n; i++) d[i] = (float)(a * (2.0 * kgm_rng_uniform(&r) - 1.0));
        break;
    case KGM_INIT_XAVIER_UNIFORM: {
        double g = a > 0 ? a : 1.0, lim = g * sqrt(6.0 / (fan_in + fan_out));
        for (int64_t i = 0; i < n; i++) d[i] = (float)(lim * (2.0 * kgm_rng_uniform(&r) - 1.0));
        break;
    }
    case KGM_INIT_XAVIER_NORMAL: {
        double g = a > 0 ? a : 1.0, sd = g * sqrt(2.0 / (fan_in + fan_out));
        for (int64_t i = 0; i < n; i++) d[i] = (float)(sd * kgm_rng_normal(&r));
        break;
    }
    case KGM_INIT_KAIMING_UNIFORM: {
        double g = a > 0 ? a : sqrt(2.0), lim = g * sqrt(3.0 / fan_in);
        for (int64_t i = 0; i < n; i++) d[i] = (float)(lim * (2.0 * kgm_rng_uniform(&r) - 1.0));
        break;
    }
    case KGM_INIT_KAIMING_NORMAL: {
        double g = a > 0 ? a : sqrt(2.0), sd = g / sqrt(fan_in);
        for (int64_t i = 0; i < n; i++) d[i] = (float)(sd * kgm_rng_normal(&r));
        break;
    }
    }
}

kgm_status kgm_params_finalize(kgm_params *ps, uint64_t seed) {
    if (ps->finalized) return KGM_ERR(KGM_ERR_STATE, "parameter store finalised twice");
    size_t n = ps->total ? ps->total : 1;
    ps->data = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    ps->grad = aligned_alloc(64, ((n * sizeof(float)) + 63) & ~(size_t)63);
    if (!ps->data || !ps->grad)
        return KGM_ERR(KGM_ERR_NOMEM, "parameter store of %zu floats", ps->total);
    memset(ps->grad, 0, n * sizeof(float));
    for (int32_t i = 0; i < ps->n; i++) {
        kgm_param *p = &ps->p[i];
        p->t.data = ps->data + p->offset;
        p->t.grad = (p->t.flags & KGM_TENSOR_FROZEN) ? NULL : ps->grad + p->offset;
        p->t.owner = p;
        if (p->t.flags & KGM_TENSOR_SPARSE) {
            p->touched = malloc((size_t)p->t.rows * sizeof(int32_t));
            p->mark = calloc((size_t)p->t.rows, 1);
            if (!p->touched || !p->mark) return KGM_ERR(KGM_ERR_NOMEM, "sparse bookkeeping");
        }
        init_values(p, seed);
    }
    ps->finalized = true;
    return KGM_OK;
}

kgm_status kgm_params_reinit(kgm_params *ps, int32_t id, uint64_t seed) {
    if (id < 0 || id >= ps->n || !ps->finalized)
        return KGM_ERR(KGM_ERR_INDEX, "no parameter %d to re-initialise", id);
    init_values(&ps->p[id], seed);
    return KGM_OK;
}

kgm_tensor *kgm_params_tensor(kgm_params *ps, int32_t id) {
    if (id < 0 || id >= ps->n) return NULL;
    return &ps->p[id].t;
}

void kgm_param_touch_rows(kgm_param *p, const int32_t *rows, int64_t n) {
    if (p->all_touched || !p->mark) return;
    for (int64_t i = 0; i < n; i++) {
        int32_t r = rows[i];
        if (!p->mark[r]) {
            p->mark[r] = 1;
            p->touched[p->n_touched++] = r;
        }
    }
}

void kgm_param_touch_all(kgm_param *p) { p->all_touched = true; }

void kgm_params_zero_grad(kgm_params *ps) {
    for (int32_t i = 0; i < ps->n; i++) {
        kgm_param *p = &ps->p[i];
        if (!p->t.grad) continue;
        if ((p->t.flags & KGM_TENSOR_SPARSE) && !p->all_touched) {
            int32_t c = p->t.cols;
            for (int32_t k = 0; k < p->n_touched; k++) {
                int32_t r = p->touched[k];
                memset(p->t.grad + (size_t)r * c, 0, (size_t)c * sizeof(float));
                p->mark[r] = 0;
            }
        } else {
            memset(p->t.grad, 0, (size_t)kgm_tensor_numel(&p->t) * sizeof(float));
            if (p->mark) memset(p->mark, 0, (size_t)p->t.rows);
        }
        p->n_touched = 0;
        p->all_touched = false;
        p->has_grad = false;
    }
}

void kgm_params_zero_grad_values(kgm_params *ps) {
    for (int32_t i = 0; i < ps->n; i++) {
        kgm_param *p = &ps->p[i];
        if (!p->t.grad) continue;
        if ((p->t.flags & KGM_TENSOR_SPARSE) && !p->all_touched) {
            for (int32_t k = 0; k < p->n_touched; k++)
                memset(p->t.grad + (size_t)p->touched[k] * p->t.cols, 0, (size_t)p->t.cols * sizeof(float));
        } else
            memset(p->t.grad, 0, (size_t)kgm_tensor_numel(&p->t) * sizeof(float));
    }
}

size_t kgm_params_numel(const kgm_params *ps) { return ps->total; }
