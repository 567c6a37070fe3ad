/* Shared helpers of the graph module (not installed). */
#ifndef KGMTL_GRAPH_INTERNAL_H
#define KGMTL_GRAPH_INTERNAL_H

#include <igraph.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "core/tensor/ops.h"
#include "core/tensor/params.h"
#include "core/base/status.h"
#include "core/tensor/tensor.h"

/* Loops with less work than this (elements touched) stay on one thread. */
#define KGM_GRAPH_PAR_MIN 32768

/* Hot row kernels are compiled for AVX-512 and AVX2 as well (the project
 * builds for baseline x86-64); the ifunc resolver picks one at load time.
 * C11 mode disables FMA contraction, so every variant gives the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KGM_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KGM_MULTIVERSION
#endif

/* tanh as a clamped rational function (the minimax approximation used by
 * Eigen), within 4e-7 of tanhf everywhere and branch-free, so loops over it
 * vectorise; libm's tanhf is scalar and dominated KGAT's run time. */
static inline float kgm_graph_tanhf(float x) {
    const float clamp = 7.90531110763549805f;
    float xc = x > clamp ? clamp : (x < -clamp ? -clamp : x);
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return xc * p / q;
}

struct kgm_graph {
    igraph_t ig;
    kgm_graph_kind kind;
    int32_t n_nodes;
    int32_t n_rel;
    int64_t n_edges;
    bool directed;
    int32_t *src, *dst; /* (n_edges) by igraph edge id */
    int32_t *rel;       /* KG */
    float *weight;      /* weighted social graph */
};

/* Turn an igraph return code into a status, recording where it happened. */
kgm_status kgm_graph_igraph_err(int code, const char *file, int line, const char *what);
#define KGM_IG(expr, what) kgm_graph_igraph_err((int)(expr), __FILE__, __LINE__, what)

/* Assemble a CSR view from unsorted entries (row[k] <- nbr[k]) with optional
 * per-entry attributes (each NULL or nnz long). The entries are stably
 * sorted by row; degrees are computed from the entries unless deg_in/deg_out
 * are given (n values, copied). Takes nothing over: inputs stay the caller's. */
typedef struct kgm_csr_entries {
    int32_t n_nodes;
    int32_t n_rel;
    int64_t nnz;
    const int32_t *row, *nbr, *rel;
    const float *weight;
    const int64_t *eid;
    const float *deg_in, *deg_out;     /* optional: degrees to keep */
    const float *norm_sym, *norm_row;  /* optional: per-entry norms to keep */
} kgm_csr_entries;

kgm_status kgm_graph_csr_assemble(const kgm_csr_entries *e, kgm_graph_csr *out);

/* Coefficients of the fused propagation kernel
 *   y_i = self_i x_i + sum_k a_i w_k b_j x_j      (k = entries of row i)
 * a/b NULL mean ones, w NULL means unweighted; the self term uses self[i]
 * when given, else the constant self_c (0: no self term). Arrays live in the
 * tape arena. */
typedef struct kgm_prop_coef {
    const float *a, *b, *self;
    const float *w;
    float self_c;
} kgm_prop_coef;

kgm_status kgm_graph_prop_coef(kgm_tape *tp, const kgm_graph_csr *g, kgm_graph_norm norm,
                               bool self_loops, kgm_prop_coef *c);

/* What a propagation does with the row r it computes (r already includes
 * `scale`): unless no_out, the row goes to the output; when acc is given,
 *   acc_i = acc_scale * ((base ? base_i : acc_i) + in_coef * in_i + r_i)
 * where in_i is the kernel's own input row (x_i forward, dy_i backward).
 * NULL epilogue: scale 1, no accumulator. LightGCN chains layers through it
 * without extra streaming passes. */
typedef struct kgm_prop_epi {
    float *acc;
    const float *base;
    float in_coef;
    float scale;
    float acc_scale;
    bool no_out;
} kgm_prop_epi;

/* Forward: y[i*ys + yo .. +D) = (P x)_i for every row i (rows split into
 * contiguous ranges of equal work, one per thread; each row sums its
 * entries in order, so the result does not depend on the thread count). */
void kgm_graph_prop_fwd(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *x, int32_t D,
                        float *y, int32_t ys, int32_t yo, const kgm_prop_epi *e);
/* Backward over the transpose: dx (n,D) (+)= P^T dy, dy read at stride ys
 * and offset yo; `assign` overwrites dx instead of accumulating. */
void kgm_graph_prop_bwd(const kgm_graph_csr *g, const kgm_prop_coef *c, const float *dy, int32_t ys,
                        int32_t yo, int32_t D, float *dx, bool assign, const kgm_prop_epi *e);

kgm_status kgm_graph_check_x(const kgm_graph_csr *g, const kgm_tensor *x, const char *what);
kgm_status kgm_graph_check_kg(const kgm_graph_csr *g, const char *what);

#endif
