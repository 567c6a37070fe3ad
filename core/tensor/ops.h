/* core/tensor/ops.h — differentiable operations on the tape.
 *
 * Every op: computes its output into the tape arena at once, records a
 * backward closure when a gradient is needed, and returns a status (shape or
 * index errors are reported, never asserted). Outputs come last. Shapes are
 * given in comments as (rows, cols). Reductions and losses return (1,1).
 * Losses are means over the batch unless stated. */
#ifndef KGMTL_OPS_H
#define KGMTL_OPS_H

#include "core/tensor/tape.h"

/* C = op(A) · op(B); A (M,K) or (K,M) if ta; B (K,N) or (N,K) if tb. */
kgm_status kgm_op_matmul(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, bool ta, bool tb,
                         kgm_tensor **out);
/* y (B,O) = x (B,I) · W (I,O) + b (1,O); b may be NULL. */
kgm_status kgm_op_linear(kgm_tape *tp, kgm_tensor *x, kgm_tensor *w, kgm_tensor *b,
                         kgm_tensor **out);
/* y (B,D) = x (B,D) + b (1,D), broadcast over rows. */
kgm_status kgm_op_bias_add(kgm_tape *tp, kgm_tensor *x, kgm_tensor *b, kgm_tensor **out);
/* Elementwise a + b, a - b, a * b (same shapes). */
kgm_status kgm_op_add(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
kgm_status kgm_op_sub(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
kgm_status kgm_op_mul(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
/* Elementwise min(a, b) / max(a, b) (same shapes); the gradient of each entry
 * goes to the input that was selected, to a on ties. */
kgm_status kgm_op_min(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
kgm_status kgm_op_max(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
/* y = alpha * x + beta (constants). */
kgm_status kgm_op_scale(kgm_tape *tp, kgm_tensor *x, float alpha, float beta, kgm_tensor **out);
/* y (B,D) = x (B,D) * s, where s is (B,1) (per-row), (1,D) (per-column) or (1,1). */
kgm_status kgm_op_mul_bcast(kgm_tape *tp, kgm_tensor *x, kgm_tensor *s, kgm_tensor **out);
/* Concatenate n tensors with equal rows along columns. */
kgm_status kgm_op_concat_cols(kgm_tape *tp, int n, kgm_tensor *const *xs, kgm_tensor **out);
/* y (B,len) = x[:, start:start+len]. */
kgm_status kgm_op_slice_cols(kgm_tape *tp, kgm_tensor *x, int32_t start, int32_t len,
                             kgm_tensor **out);
/* Activations. */
kgm_status kgm_op_relu(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
kgm_status kgm_op_leaky_relu(kgm_tape *tp, kgm_tensor *x, float slope, kgm_tensor **out);
kgm_status kgm_op_sigmoid(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
kgm_status kgm_op_tanh(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
kgm_status kgm_op_exp(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
/* log(1 + exp(x)), stable. */
kgm_status kgm_op_softplus(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
/* |x|; gradient sign(x) (0 at 0). */
kgm_status kgm_op_abs(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
/* Natural log; every x must be > 0 (else KGM_ERR_NUMERIC naming the entry). */
kgm_status kgm_op_log(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
/* Square root; every x must be >= 0 (else KGM_ERR_NUMERIC); gradient 0 at 0. */
kgm_status kgm_op_sqrt(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
/* min(max(x, lo), hi) (lo <= hi, else KGM_ERR_ARG); gradient 1 on [lo, hi], 0 outside. */
kgm_status kgm_op_clamp(kgm_tape *tp, kgm_tensor *x, float lo, float hi, kgm_tensor **out);
/* Row-wise softmax (max-subtracted). */
kgm_status kgm_op_softmax(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
/* Inverted dropout with keep-probability 1-p; identity when the tape is not
 * in training mode or p == 0. Mask drawn from `rng`. */
kgm_status kgm_op_dropout(kgm_tape *tp, kgm_tensor *x, float p, kgm_rng *rng, kgm_tensor **out);
/* Row-wise layer normalisation with gain g (1,D) and bias b (1,D) (either may be NULL). */
kgm_status kgm_op_layernorm(kgm_tape *tp, kgm_tensor *x, kgm_tensor *g, kgm_tensor *b, float eps,
                            kgm_tensor **out);
/* y (n,D) = table[idx[i], :]. Gradients into an embedding table are row-sparse. */
kgm_status kgm_op_gather(kgm_tape *tp, kgm_tensor *table, const int32_t *idx, int32_t n,
                         kgm_tensor **out);
/* Segment reductions over rows: segment s covers rows offsets[s]..offsets[s+1]-1
 * of x (E,D); offsets has n_seg+1 entries, non-decreasing, offsets[n_seg] == E.
 * sum/mean give (n_seg, D) (an empty segment gives zeros); softmax gives (E, D)
 * normalised within each segment, per column. */
kgm_status kgm_op_segment_sum(kgm_tape *tp, kgm_tensor *x, const int64_t *offsets, int32_t n_seg,
                              kgm_tensor **out);
kgm_status kgm_op_segment_mean(kgm_tape *tp, kgm_tensor *x, const int64_t *offsets, int32_t n_seg,
                               kgm_tensor **out);
kgm_status kgm_op_segment_softmax(kgm_tape *tp, kgm_tensor *x, const int64_t *offsets,
                                  int32_t n_seg, kgm_tensor **out);
/* Row-wise dot product and cosine similarity: (B,D),(B,D) -> (B,1). */
kgm_status kgm_op_rowdot(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
kgm_status kgm_op_rowcos(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, float eps, kgm_tensor **out);
/* y (R,D) = A (R,C) · x (C,D) with A in CSR. Edge values come from `w` (nnz,1)
 * when given (and receive gradients), else from A->val, else 1. The CSR arrays
 * must stay alive until backward. */
kgm_status kgm_op_spmm(kgm_tape *tp, const kgm_csr *a, kgm_tensor *w, kgm_tensor *x,
                       kgm_tensor **out);
/* Gated mixture: y (B,H) = sum_e g[:, e] * x[:, e*H:(e+1)*H] for experts x
 * (B, E*H) and gates g (B, E) (MMoE / PLE / gated fusion). */
kgm_status kgm_op_mixture(kgm_tape *tp, kgm_tensor *x, kgm_tensor *g, kgm_tensor **out);
/* Sum / mean of all elements -> (1,1). */
kgm_status kgm_op_sum(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
kgm_status kgm_op_mean(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);

/* Losses (mean over rows, optional per-row weights `wt` of length B, NULL = 1). */
/* Binary cross-entropy on logits (B,1) with targets y in [0,1]: softplus form. */
kgm_status kgm_op_bce_logits(kgm_tape *tp, kgm_tensor *logits, const float *y, const float *wt,
                             kgm_tensor **out);
/* Softmax cross-entropy: logits (B,C), integer class labels in [0,C). */
kgm_status kgm_op_softmax_ce(kgm_tape *tp, kgm_tensor *logits, const int32_t *labels,
                             const float *wt, kgm_tensor **out);
/* Mean squared error over all elements of pred (B,D) against target (B*D). */
kgm_status kgm_op_mse(kgm_tape *tp, kgm_tensor *pred, const float *target, const float *wt,
                      kgm_tensor **out);
/* BPR: mean softplus(neg - pos) = -mean log sigmoid(pos - neg); pos, neg (B,1). */
kgm_status kgm_op_bpr(kgm_tape *tp, kgm_tensor *pos, kgm_tensor *neg, kgm_tensor **out);
/* Margin ranking: mean max(0, margin - pos + neg); pos, neg (B,1). */
kgm_status kgm_op_margin_ranking(kgm_tape *tp, kgm_tensor *pos, kgm_tensor *neg, float margin,
                                 kgm_tensor **out);

#endif
