/* core/model/crosstask.h — components that connect task towers to each other.
 *
 * Five pieces, each usable on its own and switched from a manifest
 * (docs/cross-task.md lists the keys):
 *   1. cross-stitch units (Misra et al., CVPR 2016): a learned T×T (or
 *      per-channel) linear mixing of the task towers' activations;
 *   2. MKR's cross&compress unit (Wang et al., WWW 2019) between an item
 *      vector and its entity vector, computed without the d×d cross matrix;
 *   3. consistency regularisation: a penalty on the disagreement of two
 *      tasks' predictions on the same samples;
 *   4. task fusion: one ranking score from several task outputs (sum,
 *      product, weighted sum, power product, or a learned MLP);
 *   5. connections (AITM, Xi et al., KDD 2021): task k's tower reads task j's
 *      hidden representation through attention (or a sigmoid gate).
 * Ops follow core/tensor/ops.h: outputs go to the tape arena, backward kernels
 * accumulate, shape errors are statuses. Modules declare their parameters
 * with a name prefix and a parameter group, like core/model/mixer.h. */
#ifndef KGMTL_CROSSTASK_H
#define KGMTL_CROSSTASK_H

#include "core/train/config.h"
#include "core/tensor/params.h"
#include "core/tensor/tape.h"

/* ==== 1. cross-stitch ======================================================== */

/* out[k] (B,H) = Σ_j α[k, j] · acts[j] (B,H) for k, j < n. alpha is (n, n)
 * (one scalar per task pair) or (n, n·H) (per channel: out[k][:, h] =
 * Σ_j α[k, j·H + h] · acts[j][:, h]). All acts must share one shape. One call
 * makes n outputs; the backward of each accumulates into every act and into
 * its row of alpha. */
kgm_status kgm_op_cross_stitch(kgm_tape *tp, int n, kgm_tensor *const *acts /* n × (B,H) */,
                               kgm_tensor *alpha /* (n,n) or (n,n·H) */, kgm_tensor **out /* n × (B,H) */);

typedef struct kgm_cross_stitch {
    int32_t n_tasks, dim;
    bool per_channel;
    float self_weight;   /* α at initialisation: self_weight on the diagonal, (1-self_weight)/(T-1) off it */
    int32_t alpha_delta; /* parameter id: α = α0 + delta, delta starts at 0 */
} kgm_cross_stitch;

/* Declare one cross-stitch unit for n_tasks activations of width dim as the
 * parameter "<prefix>/alpha_delta" in `group`. The learned α is stored as an
 * offset from the near-identity α0 (so the initial value needs no step after
 * kgm_params_finalize and weight decay pulls toward α0, not toward 0).
 * self_weight in (0, 1]; 0.9 is the paper's choice. */
kgm_status kgm_cross_stitch_declare(kgm_cross_stitch *cs, const char *prefix, int32_t n_tasks, int32_t dim,
                                    bool per_channel, float self_weight, kgm_params *ps, int32_t group);

/* Mix acts[0..n_tasks) (each (B, dim)) into out[0..n_tasks). */
kgm_status kgm_cross_stitch_forward(const kgm_cross_stitch *cs, kgm_tape *tp, kgm_params *ps,
                                    kgm_tensor *const *acts, kgm_tensor **out);

/* The current effective α (α0 + delta), n_tasks × n_tasks (or × n_tasks·dim)
 * floats row-major, for logging. */
void kgm_cross_stitch_alpha(const kgm_cross_stitch *cs, kgm_params *ps, float *alpha_out);

/* ==== 2. MKR cross&compress ================================================== */

/* Index of each compression vector in the `w` array of kgm_op_cross_compress. */
enum { KGM_CC_VV = 0, KGM_CC_EV = 1, KGM_CC_VE = 2, KGM_CC_EE = 3 };

/* For each row b, with C = v eᵀ (d×d, never formed):
 *   v' = C w_vv + Cᵀ w_ev + b_v = v (e·w_vv) + e (v·w_ev) + b_v
 *   e' = C w_ve + Cᵀ w_ee + b_e = v (e·w_ve) + e (v·w_ee) + b_e
 * w[KGM_CC_*] are (d,1); b_v, b_e are (1,d) or NULL. O(B·d) time and memory. */
kgm_status kgm_op_cross_compress(kgm_tape *tp, kgm_tensor *v /* (B,d) */, kgm_tensor *e /* (B,d) */,
                                 kgm_tensor *const *w /* 4 × (d,1) */, kgm_tensor *b_v /* (1,d) */,
                                 kgm_tensor *b_e /* (1,d) */, kgm_tensor **v_out /* (B,d) */,
                                 kgm_tensor **e_out /* (B,d) */);

#define KGM_CC_MAX_LAYERS 8

typedef struct kgm_cross_compress {
    int32_t layers, dim;
    int32_t w[KGM_CC_MAX_LAYERS][4]; /* parameter ids, KGM_CC_* order */
    int32_t b_v[KGM_CC_MAX_LAYERS], b_e[KGM_CC_MAX_LAYERS];
} kgm_cross_compress;

/* Declare a stack of `layers` units (1..KGM_CC_MAX_LAYERS) of width dim:
 * "<prefix>/l<i>/w_vv|w_ev|w_ve|w_ee" (d,1), Xavier-uniform as in MKR, and
 * "<prefix>/l<i>/b_v|b_e" (1,d), zeros, all in `group`. */
kgm_status kgm_cross_compress_declare(kgm_cross_compress *cc, int32_t layers, int32_t dim, const char *prefix,
                                      kgm_params *ps, int32_t group);

/* Run the stack: (v, e) → layer 0 → … → (v_out, e_out). */
kgm_status kgm_cross_compress_forward(const kgm_cross_compress *cc, kgm_tape *tp, kgm_params *ps,
                                      kgm_tensor *v /* (B,d) */, kgm_tensor *e /* (B,d) */,
                                      kgm_tensor **v_out /* (B,d) */, kgm_tensor **e_out /* (B,d) */);

/* ==== 3. consistency regularisation ========================================= */

typedef enum kgm_consistency_distance {
    KGM_CONS_SQ = 0,     /* Σ_c (a-b)² per row */
    KGM_CONS_ABS = 1,    /* Σ_c |a-b| per row */
    KGM_CONS_SYM_KL = 2, /* Σ_c KL(Bern(p)‖Bern(q)) + KL(Bern(q)‖Bern(p)) = Σ_c (p-q)(logit p - logit q) */
    KGM_CONS_COSINE = 3, /* 1 - cos(a_b, b_b) per row (vectors; k = 1 only sees signs) */
    KGM_CONS_ORDER = 4   /* Σ_c max(b - a, 0): b should not exceed a (AITM's calibrator, e.g. a = pCTR, b = pCTCVR) */
} kgm_consistency_distance;

typedef struct kgm_consistency_cfg {
    kgm_consistency_distance distance;
    float weight;  /* the penalty is weight · mean over rows of the per-row distance */
    bool logits;   /* SYM_KL: inputs are logits (true) or probabilities (false, clamped to [eps, 1-eps]) */
    bool detach_a; /* treat `a` as a fixed target: the gradient flows into `b` only */
    float eps;     /* probability clamp (SYM_KL) and norm floor (COSINE) */
} kgm_consistency_cfg;

/* Defaults: weight 0.1, logits true, detach_a false, eps 1e-6. */
kgm_consistency_cfg kgm_consistency_defaults(kgm_consistency_distance d);
/* "sq", "abs", "sym_kl", "cosine", "order". */
kgm_status kgm_consistency_distance_parse(const char *s, kgm_consistency_distance *out);

/* penalty (1,1) = weight / B · Σ_b dist(a_b, b_b) for two (B,k) predictions
 * of the same samples, built from tape ops (add it to the total loss). */
kgm_status kgm_consistency_penalty(kgm_tape *tp, const kgm_consistency_cfg *cfg, kgm_tensor *a /* (B,k) */,
                                   kgm_tensor *b /* (B,k) */, kgm_tensor **out /* (1,1) */);

/* ==== 4. task fusion ========================================================== */

/* y (B,1) = Π_k max(x_k, eps)^expo[k] for n inputs x_k (B,1) (expo NULL = all 1).
 * Backward: dx_k += dy · expo[k] · x_k^(expo[k]-1) · Π_{j≠k} x_j^expo[j]
 * where x_k > eps, else 0. */
kgm_status kgm_op_power_product(kgm_tape *tp, int n, kgm_tensor *const *xs /* n × (B,1) */, const float *expo,
                                float eps, kgm_tensor **out /* (B,1) */);

typedef enum kgm_fusion_kind {
    KGM_FUSION_SUM = 0,      /* Σ_k s_k */
    KGM_FUSION_PRODUCT = 1,  /* Π_k s_k */
    KGM_FUSION_WEIGHTED = 2, /* Σ_k coef_k s_k */
    KGM_FUSION_POWER = 3,    /* Π_k s_k^coef_k, e.g. p(click)·p(convert)^α with coef = {1, α} */
    KGM_FUSION_MLP = 4       /* sigmoid(MLP([s_1 … s_n])): relu hidden layer, one logit */
} kgm_fusion_kind;

typedef struct kgm_fusion_cfg {
    kgm_fusion_kind kind;
    int32_t n_inputs;            /* 1..KGM_MAX_TASKS */
    float coef[KGM_MAX_TASKS];   /* WEIGHTED: weights; POWER: exponents */
    int32_t hidden;              /* MLP hidden units */
    bool detach;                 /* MLP training: no gradient into the task outputs */
    float eps;                   /* PRODUCT/POWER: floor of each factor */
} kgm_fusion_cfg;

typedef struct kgm_fusion {
    kgm_fusion_cfg cfg;
    int32_t w1, b1, w2, b2; /* MLP parameter ids (-1 otherwise) */
} kgm_fusion;

/* "sum", "product", "weighted", "power", "mlp". */
kgm_status kgm_fusion_kind_parse(const char *s, kgm_fusion_kind *out);
/* Defaults: coef all 1, hidden 8, detach true, eps 1e-12. */
kgm_fusion_cfg kgm_fusion_defaults(kgm_fusion_kind kind, int32_t n_inputs);
/* Validate cfg; MLP declares "<prefix>/w1" (n, hidden), "<prefix>/b1",
 * "<prefix>/w2" (hidden, 1), "<prefix>/b2" in `group`. Fixed kinds declare
 * nothing (ps may then be NULL). */
kgm_status kgm_fusion_declare(kgm_fusion *f, const kgm_fusion_cfg *cfg, const char *prefix, kgm_params *ps,
                              int32_t group);
/* Fused score (B,1) from the task outputs outs[0..n_inputs) (each (B,1)) on
 * the tape; differentiable for every kind. */
kgm_status kgm_fusion_forward(const kgm_fusion *f, kgm_tape *tp, kgm_params *ps, kgm_tensor *const *outs,
                              kgm_tensor **score /* (B,1) */);
/* Training hook for the learned fusion: BCE-with-logits of the MLP's logit
 * against targets y (B) in [0,1] (wt: per-row weights or NULL). MLP only. */
kgm_status kgm_fusion_loss(const kgm_fusion *f, kgm_tape *tp, kgm_params *ps, kgm_tensor *const *outs,
                           const float *y, const float *wt, kgm_tensor **loss /* (1,1) */);
/* Evaluation without a tape or gradients: out[i] = fused score of row i from
 * task_scores[k][i], k < n_inputs. Same values as kgm_fusion_forward. */
kgm_status kgm_fusion_score(const kgm_fusion *f, kgm_params *ps, int64_t n_rows, const float *const *task_scores,
                            float *out);

/* ==== 5. connections between task towers (AITM) ============================== */

typedef enum kgm_connection_kind {
    KGM_CONN_AITM = 0, /* attention over {p', q}: Σ_u softmax_u(⟨u W_q, u W_k⟩/√H) · u W_v */
    KGM_CONN_GATE = 1  /* q + σ([p', q] W_g + b_g) ⊙ p' */
} kgm_connection_kind;

typedef struct kgm_connection {
    kgm_connection_kind kind;
    int32_t from, to;        /* task indices: `to` reads `from` */
    int32_t from_dim, dim;   /* widths of the source and target hidden representations */
    int32_t wt, bt;          /* transfer p' = relu(p W_t + b_t): (from_dim, dim), (1, dim) */
    int32_t wq, wk, wv;      /* AITM: (dim, dim) each, no bias */
    int32_t wg, bg;          /* GATE: (2·dim, dim), (1, dim) */
} kgm_connection;

/* "aitm", "gate". */
kgm_status kgm_connection_kind_parse(const char *s, kgm_connection_kind *out);
/* Declare one connection from task `from` (hidden width from_dim) to task
 * `to` (width dim) as "<prefix>/transfer_w" etc. in `group` (normally the
 * target task's group). */
kgm_status kgm_connection_declare(kgm_connection *c, kgm_connection_kind kind, const char *prefix, int32_t from,
                                  int32_t to, int32_t from_dim, int32_t dim, kgm_params *ps, int32_t group);
/* The target's new representation (B, dim) from the source's p (B, from_dim)
 * and the target's q (B, dim). attn (may be NULL) receives AITM's attention
 * weights (B,2) [on p', on q] or the GATE's gate (B, dim). */
kgm_status kgm_connection_forward(const kgm_connection *c, kgm_tape *tp, kgm_params *ps, kgm_tensor *p,
                                  kgm_tensor *q, kgm_tensor **out, kgm_tensor **attn);
/* Apply n connections in order to hid[0..n_tasks): hid[to] is replaced by the
 * connection's output, so a chain a→b, b→c reads b's updated representation
 * (AITM's sequential transfer). A connection whose target is NULL (task not
 * computed this step) is skipped; a NULL source with a live target is an
 * error (see kgm_connection_expand_want). */
kgm_status kgm_connection_apply(const kgm_connection *c, int32_t n, kgm_tape *tp, kgm_params *ps, int32_t n_tasks,
                                kgm_tensor **hid);
/* Mark every task that a wanted task reads (transitively) as wanted too. */
void kgm_connection_expand_want(const kgm_connection *c, int32_t n, int32_t n_tasks, bool *want);

#endif
