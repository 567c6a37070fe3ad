/* Task weighting: equal, static, uncertainty (Kendall et al. 2018),
 * GradNorm (Chen et al. 2018), DWA (Liu et al. 2019), PCGrad (Yu et al. 2020). */
#include "core/model/weighting.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/dataset.h"
#include "core/tensor/ops.h"
#include "core/base/rng.h"
#include "core/train/trainer_internal.h"

void kgm_pcgrad_combine(const float *g, int32_t T, int64_t n, const int32_t *order, float *proj, float *out) {
    double *nrm2 = calloc((size_t)T, sizeof *nrm2);
    float *cur = malloc((size_t)(n ? n : 1) * sizeof *cur);
    if (!nrm2 || !cur) {
        free(nrm2);
        free(cur);
        return;
    }
    for (int32_t j = 0; j < T; j++)
        for (int64_t i = 0; i < n; i++) nrm2[j] += (double)g[(size_t)j * n + i] * g[(size_t)j * n + i];
    memset(out, 0, (size_t)n * sizeof *out);
    for (int32_t k = 0; k < T; k++) {
        memcpy(cur, g + (size_t)k * n, (size_t)n * sizeof *cur);
        for (int32_t q = 0; q < T; q++) {
            int32_t j = order ? order[k * T + q] : q;
            if (j == k || nrm2[j] <= 0) continue;
            const float *gj = g + (size_t)j * n;
            double dot = 0;
            for (int64_t i = 0; i < n; i++) dot += (double)cur[i] * gj[i];
            if (dot < 0) {
                double c = dot / nrm2[j];
                for (int64_t i = 0; i < n; i++) cur[i] -= (float)(c * gj[i]);
            }
        }
        if (proj) memcpy(proj + (size_t)k * n, cur, (size_t)n * sizeof *cur);
        for (int64_t i = 0; i < n; i++) out[i] += cur[i];
    }
    free(nrm2);
    free(cur);
}

void kgm_dwa_weights(const double *l1, const double *l2, int32_t T, double temp, double *w) {
    double z = 0, mx = -INFINITY, r[KGM_MAX_TASKS];
    for (int32_t k = 0; k < T; k++) {
        r[k] = (l2[k] > 0 ? l1[k] / l2[k] : 1.0) / temp;
        mx = fmax(mx, r[k]);
    }
    for (int32_t k = 0; k < T; k++) z += exp(r[k] - mx);
    for (int32_t k = 0; k < T; k++) w[k] = T * exp(r[k] - mx) / z;
}

void kgm_gradnorm_update(double *w, const double *gn, const double *ratio, int32_t T, double alpha, double lr) {
    double G[KGM_MAX_TASKS], gbar = 0, rbar = 0;
    for (int32_t k = 0; k < T; k++) {
        G[k] = w[k] * gn[k];
        gbar += G[k] / T;
        rbar += ratio[k] / T;
    }
    for (int32_t k = 0; k < T; k++) {
        double target = gbar * pow(rbar > 0 ? ratio[k] / rbar : 1.0, alpha);
        double d = G[k] - target;
        double grad = (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) * gn[k];
        w[k] -= lr * grad;
        if (w[k] < 1e-3) w[k] = 1e-3;
    }
    double s = 0;
    for (int32_t k = 0; k < T; k++) s += w[k];
    for (int32_t k = 0; k < T; k++) w[k] *= T / s;
}

static const char *const method_names[] = {"equal", "static", "uncertainty", "gradnorm", "dwa", "pcgrad"};

const char *kgm_weighting_name(int32_t method) { return method >= 0 && method < 6 ? method_names[method] : "?"; }

kgm_status kgm_weighting_parse(const char *s, int32_t *out) {
    for (int i = 0; i < 6; i++)
        if (strcmp(s, method_names[i]) == 0) {
            *out = i;
            return KGM_OK;
        }
    return KGM_ERR(KGM_ERR_ARG, "unknown optimisation.weighting '%s' (auto, equal, static, uncertainty, gradnorm, dwa, pcgrad)", s);
}

const char *kgm_weighting_weight_rule(const char *weighting, double weight) {
    if (weight == 1.0 || !strcmp(weighting, "auto") || !strcmp(weighting, "static")) return NULL;
    if (!strcmp(weighting, "uncertainty") || !strcmp(weighting, "gradnorm"))
        return weight > 0 ? NULL : "is the method's initial weight and must be > 0";
    if (!strcmp(weighting, "equal")) return "has no effect with weighting equal (every task weighs 1): use weighting static, or leave optimisation.weighting unset";
    if (!strcmp(weighting, "dwa")) return "has no effect with weighting dwa (its weights come from the tasks' loss ratios): use weighting static, or remove the weight";
    if (!strcmp(weighting, "pcgrad")) return "has no effect with weighting pcgrad (it sums the projected unweighted gradients): use weighting static, or remove the weight";
    return NULL;
}

kgm_status kgm_weighting_resolve(const kgm_run_config *cfg, int32_t *out, bool *implied) {
    const char *w = cfg->train.weighting;
    *implied = false;
    for (int k = 0; k < cfg->n_tasks; k++) {
        const char *why = kgm_weighting_weight_rule(w, cfg->tasks[k].weight);
        if (why)
            return KGM_ERR(KGM_ERR_ARG, "%s: task '%s': tasks[].weight %g %s", cfg->tasks[k].where[0] ? cfg->tasks[k].where : "config",
                           cfg->tasks[k].name, cfg->tasks[k].weight, why);
        if (cfg->tasks[k].weight != 1.0) *implied = true;
    }
    if (strcmp(w, "auto") != 0) {
        *implied = false;
        return kgm_weighting_parse(w, out);
    }
    *out = *implied ? KGM_W_STATIC : KGM_W_EQUAL;
    return KGM_OK;
}

kgm_status kgm_weighting_declare(kgm_trainer *tr) {
    double wsum = 0;
    for (int k = 0; k < tr->n_tasks; k++) wsum += tr->t[k].spec->weight;
    for (int k = 0; k < tr->n_tasks; k++) {
        double w0 = tr->t[k].spec->weight;
        tr->t[k].p_logvar = -1;
        tr->t[k].weight = tr->weighting == KGM_W_STATIC ? w0 : 1.0;
        /* GradNorm keeps sum(w) = T: tasks[].weight gives the initial ratios */
        tr->gn_w[k] = wsum > 0 ? w0 * tr->n_tasks / wsum : 1.0;
        if (tr->weighting == KGM_W_UNCERTAINTY) {
            char nm[KGM_PARAM_NAME_MAX];
            snprintf(nm, sizeof nm, "weighting/%.60s/log_var", tr->t[k].spec->name);
            /* s_k = log sigma_k^2, NOT clamped (BASELINES.md §6); initial precision
             * exp(-s_k) = tasks[].weight (default 1: s_k = 0). */
            kgm_init in = w0 == 1.0 ? (kgm_init){KGM_INIT_ZEROS, 0} : (kgm_init){KGM_INIT_CONST, -log(w0)};
            KGM_TRY(kgm_params_declare(tr->ps, nm, 1, 1, in, 0, KGM_GROUP_TASK0 + k, &tr->t[k].p_logvar));
        }
    }
    return KGM_OK;
}

/* Weighted total of the active tasks' losses as a tape tensor. */
static kgm_status weighted_total(kgm_trainer *tr, const bool *active, kgm_tensor **total) {
    kgm_tape *tp = tr->tp;
    kgm_tensor *acc = NULL;
    for (int k = 0; k < tr->n_tasks; k++) {
        if (!active[k]) continue;
        kgm_run_task *t = &tr->t[k];
        kgm_tensor *term;
        if (tr->weighting == KGM_W_UNCERTAINTY) {
            /* exp(-s) L + s/2 has no minimum in s when L < 0 (s -> -inf, the
             * weight grows without bound): such losses are refused. */
            if (t->loss->data[0] < 0)
                return KGM_ERR(KGM_ERR_ARG,
                               "step %lld: task '%s' has loss %g < 0: uncertainty weighting (exp(-s)·L + s/2) needs losses >= 0, "
                               "for L < 0 its weight grows without bound; use another optimisation.weighting, or a loss that is "
                               ">= 0 (kge: loss margin or logistic)",
                               (long long)tr->step, t->spec->name, (double)t->loss->data[0]);
            /* classification: exp(-s) L + s/2; regression: exp(-s) L / 2 + s/2 */
            kgm_tensor *s = kgm_params_tensor(tr->ps, t->p_logvar), *e, *wl, *hs;
            float c = t->pl->desc.loss_form == KGM_LOSS_REGRESSION ? 0.5f : 1.0f;
            KGM_TRY(kgm_op_scale(tp, s, -1.0f, 0.0f, &e));
            KGM_TRY(kgm_op_exp(tp, e, &e));
            KGM_TRY(kgm_op_mul(tp, e, t->loss, &wl));
            KGM_TRY(kgm_op_scale(tp, wl, c, 0.0f, &wl));
            KGM_TRY(kgm_op_scale(tp, s, 0.5f, 0.0f, &hs));
            KGM_TRY(kgm_op_add(tp, wl, hs, &term));
            t->weight = c * exp(-(double)s->data[0]);
        } else {
            double w = tr->weighting == KGM_W_GRADNORM ? tr->gn_w[k] : t->weight;
            t->weight = w;
            KGM_TRY(kgm_op_scale(tp, t->loss, (float)w, 0.0f, &term));
        }
        if (acc) KGM_TRY(kgm_op_add(tp, acc, term, &acc));
        else acc = term;
    }
    *total = acc;
    return KGM_OK;
}

/* Backward of one task's loss alone (seeded with `seed`), gradients left in the store. */
static kgm_status backward_one(kgm_trainer *tr, kgm_tensor *loss) {
    kgm_tape_zero_grads(tr->tp);
    kgm_params_zero_grad_values(tr->ps); /* not zero_grad: the step's marks must survive for the optimiser */
    if (!loss->grad) return KGM_OK;      /* no trainable parameter under this loss: its gradient is zero */
    loss->grad[0] = 1.0f;
    return kgm_tape_backward_from(tr->tp, loss);
}

static double grad_norm_of(const kgm_tensor *w) {
    double s = 0;
    for (int64_t i = 0; i < kgm_tensor_numel(w); i++) s += (double)w->grad[i] * w->grad[i];
    return sqrt(s);
}

kgm_status kgm_weighting_backward(kgm_trainer *tr, const bool *active) {
    kgm_params *ps = tr->ps;
    int T = tr->n_tasks;
    if (tr->weighting == KGM_W_GRADNORM) {
        if (tr->gn_param < 0) return KGM_ERR(KGM_ERR_ARG, "gradnorm needs a shared dense layer (use a mixer)");
        kgm_tensor *W = kgm_params_tensor(ps, tr->gn_param);
        double gn[KGM_MAX_TASKS], ratio[KGM_MAX_TASKS];
        for (int k = 0; k < T; k++) {
            KGM_TRY(backward_one(tr, tr->t[k].loss));
            gn[k] = grad_norm_of(W);
            double l = tr->t[k].loss->data[0];
            if (!tr->gn_init) tr->gn_l0[k] = l > 1e-12 ? l : 1e-12;
            ratio[k] = l / tr->gn_l0[k];
        }
        tr->gn_init = true;
        kgm_gradnorm_update(tr->gn_w, gn, ratio, T, tr->cfg->train.gradnorm_alpha, tr->cfg->train.lr);
        for (int k = 0; k < T; k++) tr->gn_G[k] = tr->gn_w[k] * gn[k];
        kgm_tape_zero_grads(tr->tp);
        kgm_params_zero_grad_values(ps);
    }
    if (tr->weighting == KGM_W_PCGRAD) {
        /* Per-task gradients of the shared dense parameters (group 0, not sparse). */
        int64_t n = 0;
        for (int32_t i = 0; i < ps->n; i++) {
            kgm_param *p = &ps->p[i];
            if (p->group == KGM_GROUP_SHARED && !(p->t.flags & KGM_TENSOR_SPARSE) && p->t.grad) n += kgm_tensor_numel(&p->t);
        }
        float *g = calloc((size_t)T * (size_t)(n ? n : 1), sizeof *g), *out = malloc((size_t)(n ? n : 1) * sizeof *out);
        int32_t *order = malloc((size_t)T * T * sizeof *order);
        if (!g || !out || !order) {
            free(g);
            free(out);
            free(order);
            return KGM_ERR(KGM_ERR_NOMEM, "pcgrad buffers");
        }
        kgm_status st = KGM_OK;
        for (int k = 0; k < T && !st; k++) {
            if (!active[k]) continue;
            st = backward_one(tr, tr->t[k].loss);
            int64_t off = 0;
            for (int32_t i = 0; i < ps->n && !st; i++) {
                kgm_param *p = &ps->p[i];
                if (p->group == KGM_GROUP_SHARED && !(p->t.flags & KGM_TENSOR_SPARSE) && p->t.grad) {
                    memcpy(g + (size_t)k * n + off, p->t.grad, (size_t)kgm_tensor_numel(&p->t) * sizeof(float));
                    off += kgm_tensor_numel(&p->t);
                }
            }
            for (int q = 0; q < T; q++) order[k * T + q] = q;
            kgm_rng_shuffle_i32(&tr->rng_order, order + k * T, T);
        }
        if (!st) {
            kgm_pcgrad_combine(g, T, n, order, NULL, out);
            kgm_tape_zero_grads(tr->tp);
            kgm_params_zero_grad_values(ps);
            kgm_tensor *total;
            st = weighted_total(tr, active, &total);
            if (!st) st = kgm_tape_backward(tr->tp, total);
            int64_t off = 0;
            for (int32_t i = 0; i < ps->n && !st; i++) {
                kgm_param *p = &ps->p[i];
                if (p->group == KGM_GROUP_SHARED && !(p->t.flags & KGM_TENSOR_SPARSE) && p->t.grad) {
                    memcpy(p->t.grad, out + off, (size_t)kgm_tensor_numel(&p->t) * sizeof(float));
                    off += kgm_tensor_numel(&p->t);
                }
            }
        }
        free(g);
        free(out);
        free(order);
        return st;
    }
    kgm_tensor *total;
    KGM_TRY(weighted_total(tr, active, &total));
    return kgm_tape_backward(tr->tp, total);
}

uint64_t kgm_weighting_params_hash(const kgm_trainer *tr) {
    return kgm_hash64(tr->ps->data, tr->ps->total * sizeof(float));
}

kgm_status kgm_weighting_check_moved(const kgm_trainer *tr, uint64_t before) {
    if (kgm_weighting_params_hash(tr) != before) return KGM_OK;
    return KGM_ERR(KGM_ERR_NUMERIC,
                   "epoch %d: no trainable parameter changed during the epoch (optimisation.weighting %s, mode %s, lr %g): "
                   "the optimiser updated nothing, so the run would report an untrained model",
                   tr->epoch, kgm_weighting_name(tr->weighting), tr->cfg->train.mode, tr->cfg->train.lr);
}

void kgm_weighting_epoch_end(kgm_trainer *tr) {
    int T = tr->n_tasks;
    double cur[KGM_MAX_TASKS] = {0};
    for (int k = 0; k < T; k++) cur[k] = tr->t[k].loss_n ? tr->t[k].loss_sum / tr->t[k].loss_n : 0;
    memcpy(tr->dwa_prev[1], tr->dwa_prev[0], sizeof tr->dwa_prev[0]);
    memcpy(tr->dwa_prev[0], cur, sizeof cur);
    tr->dwa_epochs++;
    if (tr->weighting == KGM_W_DWA) {
        double w[KGM_MAX_TASKS];
        if (tr->dwa_epochs >= 2) kgm_dwa_weights(tr->dwa_prev[0], tr->dwa_prev[1], T, tr->cfg->train.dwa_temperature, w);
        else
            for (int k = 0; k < T; k++) w[k] = 1.0;
        for (int k = 0; k < T; k++) tr->t[k].weight = w[k];
    }
}
