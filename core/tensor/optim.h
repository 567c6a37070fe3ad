/* core/tensor/optim.h — optimisers over a parameter store.
 *
 * SGD (momentum, weight decay), Adam, AdamW and Adagrad. Sparse parameters get
 * lazy updates: only rows touched since the last zero_grad change, and only
 * their optimiser state is updated (TF LazyAdam semantics). Parameters that
 * received no gradient in a step are skipped entirely. Per-group learning-rate
 * multipliers and frozen groups serve per-task groups and alternating schedules. */
#ifndef KGMTL_OPTIM_H
#define KGMTL_OPTIM_H

#include "core/tensor/params.h"

typedef enum kgm_optim_kind {
    KGM_OPT_SGD = 0,
    KGM_OPT_ADAM = 1,
    KGM_OPT_ADAMW = 2,
    KGM_OPT_ADAGRAD = 3
} kgm_optim_kind;

typedef struct kgm_optim_cfg {
    kgm_optim_kind kind;
    float lr;
    float momentum;     /* SGD */
    float weight_decay; /* L2 added to the gradient (SGD/Adam/Adagrad), decoupled for AdamW */
    float beta1, beta2, eps;
    float clip_norm;    /* global-norm clipping threshold; 0 = off */
    float adagrad_init; /* initial accumulator value */
} kgm_optim_cfg;

#define KGM_MAX_GROUPS 64

typedef struct kgm_optim {
    kgm_optim_cfg cfg;
    kgm_params *ps;
    float *m;          /* first moment / momentum / adagrad accumulator */
    float *v;          /* second moment */
    int64_t *steps;    /* per-parameter step counts (bias correction) */
    float group_lr[KGM_MAX_GROUPS]; /* multipliers, default 1 */
    bool group_frozen[KGM_MAX_GROUPS];
    int64_t n_steps;
} kgm_optim;

/* Defaults: lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay, no clipping. */
kgm_optim_cfg kgm_optim_defaults(kgm_optim_kind kind);
kgm_status kgm_optim_new(kgm_params *ps, const kgm_optim_cfg *cfg, kgm_optim **out);
void kgm_optim_free(kgm_optim *o);
kgm_status kgm_optim_set_group_lr(kgm_optim *o, int32_t group, float mult);
kgm_status kgm_optim_set_group_frozen(kgm_optim *o, int32_t group, bool frozen);
/* Global L2 norm of all current gradients (touched rows only for sparse params). */
double kgm_optim_grad_norm(const kgm_optim *o);
/* One update with learning rate cfg.lr * lr_scale * group multiplier. Clips
 * first when cfg.clip_norm > 0. *grad_norm_out (may be NULL) gets the
 * pre-clipping norm. Fails with KGM_ERR_NUMERIC on a non-finite gradient,
 * naming the parameter. */
kgm_status kgm_optim_step(kgm_optim *o, float lr_scale, double *grad_norm_out);

#endif
