/* core/model/weighting.h — pure pieces of the task-weighting methods, exposed for
 * tests and for plugins of new methods. The trainer applies them
 * (equal, static, uncertainty, GradNorm, DWA, PCGrad; see docs/architecture.md). */
#ifndef KGMTL_WEIGHTING_H
#define KGMTL_WEIGHTING_H

#include "core/base/status.h"

/* PCGrad (Yu et al. 2020): for each task k, g_k' starts as g_k and, for every
 * other task j in `order[k*T .. k*T+T)` (a permutation; k itself skipped), if
 * g_k'·g_j < 0 it is projected: g_k' -= (g_k'·g_j / |g_j|²) g_j, where g_j is
 * the ORIGINAL gradient of task j. out = Σ_k g_k'. `proj` (T·n, may be NULL)
 * receives every g_k'. g is T rows of n floats. */
void kgm_pcgrad_combine(const float *g, int32_t T, int64_t n, const int32_t *order, float *proj, float *out);

/* DWA (Liu et al. 2019): w_k = T · exp(r_k / temp) / Σ_j exp(r_j / temp),
 * r_k = L_k(t-1) / L_k(t-2). */
void kgm_dwa_weights(const double *l_prev, const double *l_prev2, int32_t T, double temp, double *w);

/* One GradNorm update (Chen et al. 2018) of the task weights w (T):
 * gnorm[k] = |∇_W L_k| (unweighted), loss_ratio[k] = L_k(t) / L_k(0).
 * G_k = w_k·gnorm_k, target_k = mean(G)·(r_k)^alpha with r_k the loss ratio
 * over its mean; w_k -= lr · sign(G_k − target_k) · gnorm_k; then w is
 * renormalised to sum to T (and kept positive). */
void kgm_gradnorm_update(double *w, const double *gnorm, const double *loss_ratio, int32_t T, double alpha, double lr);

/* The rule for tasks[].weight under optimisation.weighting `weighting` (a
 * manifest value: auto, equal, static, ...): NULL when the weight is used (or
 * is 1, the default, which every method means anyway), else why it would be
 * ignored or is invalid. auto and static use it as the static weight;
 * uncertainty and gradnorm as the initial weight (must be > 0); equal, dwa and
 * pcgrad have no use for it. docs/weighting.md. */
const char *kgm_weighting_weight_rule(const char *weighting, double weight);

#endif
