/* Finite-difference gradient checker. */
#include "core/tensor/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/rng.h"

#define GC_ARENA (64u << 20)

static kgm_status eval_L(kgm_gradcheck_fn f, kgm_tape *tp, kgm_tensor **in, void *ctx, const double *r,
                         int64_t nr, double *L) {
    kgm_tape_reset(tp);
    kgm_tensor *out;
    KGM_TRY(f(tp, in, ctx, &out));
    if (kgm_tensor_numel(out) != nr)
        return KGM_ERR(KGM_ERR_STATE, "gradcheck: output size changed between evaluations");
    double acc = 0;
    for (int64_t i = 0; i < nr; i++) acc += r[i] * out->data[i];
    *L = acc;
    return KGM_OK;
}

kgm_status kgm_gradcheck(kgm_gradcheck_fn f, kgm_tensor **in, int n_in, void *ctx, double h, double floor,
                         uint64_t seed, kgm_gradcheck_result *res) {
    memset(res, 0, sizeof *res);
    res->worst_input = -1;
    kgm_tape *tp;
    KGM_TRY(kgm_tape_new(GC_ARENA, &tp));
    kgm_status st = KGM_OK;
    double *r = NULL;
    float **ana = calloc((size_t)n_in, sizeof *ana);
    if (!ana) {
        st = KGM_ERR(KGM_ERR_NOMEM, "gradcheck");
        goto done;
    }
    /* Analytic pass. */
    for (int k = 0; k < n_in; k++)
        if (in[k]->grad) memset(in[k]->grad, 0, (size_t)kgm_tensor_numel(in[k]) * sizeof(float));
    kgm_tensor *out;
    if ((st = f(tp, in, ctx, &out))) goto done;
    int64_t nr = kgm_tensor_numel(out);
    r = malloc((size_t)(nr ? nr : 1) * sizeof *r);
    if (!r) {
        st = KGM_ERR(KGM_ERR_NOMEM, "gradcheck");
        goto done;
    }
    kgm_rng rng;
    kgm_rng_init(&rng, seed, 77);
    for (int64_t i = 0; i < nr; i++) r[i] = kgm_rng_normal(&rng);
    if (!out->grad) {
        st = KGM_ERR(KGM_ERR_STATE, "gradcheck: the output carries no gradient");
        goto done;
    }
    for (int64_t i = 0; i < nr; i++) out->grad[i] = (float)r[i];
    if ((st = kgm_tape_backward_from(tp, out))) goto done;
    for (int k = 0; k < n_in; k++) {
        if (!in[k]->grad) continue;
        int64_t n = kgm_tensor_numel(in[k]);
        ana[k] = malloc((size_t)(n ? n : 1) * sizeof(float));
        if (!ana[k]) {
            st = KGM_ERR(KGM_ERR_NOMEM, "gradcheck");
            goto done;
        }
        memcpy(ana[k], in[k]->grad, (size_t)n * sizeof(float));
    }
    /* Numeric pass, without recording. */
    kgm_tape_set_grad(tp, false);
    double L0 = 0;
    if ((st = eval_L(f, tp, in, ctx, r, nr, &L0))) goto done;
    for (int k = 0; k < n_in; k++) {
        if (!ana[k]) continue;
        int64_t n = kgm_tensor_numel(in[k]);
        for (int64_t i = 0; i < n; i++) {
            float x0 = in[k]->data[i];
            double lp = 0, lm = 0;
            in[k]->data[i] = (float)(x0 + h);
            double hp = (double)in[k]->data[i] - x0; /* actual float step */
            if ((st = eval_L(f, tp, in, ctx, r, nr, &lp))) goto done;
            in[k]->data[i] = (float)(x0 - h);
            double hm = x0 - (double)in[k]->data[i];
            if ((st = eval_L(f, tp, in, ctx, r, nr, &lm))) goto done;
            in[k]->data[i] = x0;
            double num = (lp - lm) / (hp + hm), a = ana[k][i];
            double fwd = (lp - L0) / hp, bwd = (L0 - lm) / hm;
            if (fabs(fwd - bwd) > 0.1 * fmax(fmax(fabs(fwd), fabs(bwd)), floor)) {
                res->n_kinks++; /* not differentiable within h */
                continue;
            }
            double den = fmax(fmax(fabs(a), fabs(num)), floor);
            double err = fabs(a - num) / den;
            res->n_checked++;
            if (err > res->max_rel_err || res->worst_input < 0) {
                res->max_rel_err = err;
                res->worst_input = k;
                res->worst_index = i;
                res->analytic = a;
                res->numeric = num;
            }
        }
    }
done:
    if (ana)
        for (int k = 0; k < n_in; k++) free(ana[k]);
    free(ana);
    free(r);
    kgm_tape_free(tp);
    return st;
}
