/* Finite-difference gradient checks for every core op, over several shapes
 * including size-1 edges and sizes that are not multiples of the SIMD width. */
#include <criterion/criterion.h>
#include <math.h>

#include "tests/common/testutil.h"

#define TOL 2e-2
#define H 1e-2

static const int SHAPES[][2] = {{1, 1}, {1, 7}, {5, 1}, {3, 5}, {7, 17}, {33, 9}};
#define NSHAPES (int)(sizeof SHAPES / sizeof *SHAPES)

typedef struct {
    int which;
    int32_t *idx;
    int32_t n;
    int64_t *off;
    int32_t nseg;
    float *y;
    int32_t *labels;
    float *w;
    float f;
    kgm_csr csr;
    bool flag;
} ctx_t;

static void check(kgm_gradcheck_fn f, kgm_tensor **in, int n, ctx_t *c, const char *name, int r, int k) {
    kgm_gradcheck_result res;
    kgm_status st = kgm_gradcheck(f, in, n, c, H, 5e-2, 42, &res);
    cr_assert_eq(st, KGM_OK, "%s (%d,%d): %s", name, r, k, kgm_error_message());
    cr_assert_gt(res.n_checked, 0, "%s: nothing was checked", name);
    cr_assert_lt(res.max_rel_err, TOL, "%s (%d,%d): rel err %g at input %d elem %lld (analytic %g numeric %g)",
                 name, r, k, res.max_rel_err, res.worst_input, (long long)res.worst_index, res.analytic,
                 res.numeric);
}

static void free_all(kgm_tensor **t, int n) {
    for (int i = 0; i < n; i++) kgm_tensor_free(t[i]);
}

/* ---- matmul / linear / bias ----------------------------------------------- */

static kgm_status f_matmul(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    return kgm_op_matmul(tp, in[0], in[1], c->which & 1, (c->which >> 1) & 1, out);
}

Test(grad, matmul_all_transposes) {
    for (int s = 0; s < NSHAPES; s++)
        for (int tr = 0; tr < 4; tr++) {
            int M = SHAPES[s][0], K = SHAPES[s][1], N = 3 + s;
            bool ta = tr & 1, tb = tr & 2;
            kgm_tensor *in[2] = {tu_tensor(ta ? K : M, ta ? M : K, 1, 1, true),
                                 tu_tensor(tb ? N : K, tb ? K : N, 2, 1, true)};
            ctx_t c = {.which = tr};
            check(f_matmul, in, 2, &c, "matmul", M, K);
            free_all(in, 2);
        }
}

static kgm_status f_linear(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    return kgm_op_linear(tp, in[0], in[1], c->flag ? in[2] : NULL, out);
}

Test(grad, linear) {
    for (int s = 0; s < NSHAPES; s++)
        for (int b = 0; b < 2; b++) {
            int B = SHAPES[s][0], I = SHAPES[s][1], O = 1 + 2 * s;
            kgm_tensor *in[3] = {tu_tensor(B, I, 3, 1, true), tu_tensor(I, O, 4, 1, true),
                                 tu_tensor(1, O, 5, 1, true)};
            ctx_t c = {.flag = b};
            check(f_linear, in, b ? 3 : 2, &c, "linear", B, I);
            free_all(in, 3);
        }
}

static kgm_status f_bias(kgm_tape *tp, kgm_tensor **in, void *c, kgm_tensor **out) {
    return kgm_op_bias_add(tp, in[0], in[1], out);
}

Test(grad, bias_add) {
    for (int s = 0; s < NSHAPES; s++) {
        int R = SHAPES[s][0], C = SHAPES[s][1];
        kgm_tensor *in[2] = {tu_tensor(R, C, 6, 1, true), tu_tensor(1, C, 7, 1, true)};
        check(f_bias, in, 2, NULL, "bias_add", R, C);
        free_all(in, 2);
    }
}

/* ---- elementwise -------------------------------------------------------------- */

static kgm_status f_ew(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    switch (c->which) {
    case 0: return kgm_op_add(tp, in[0], in[1], out);
    case 1: return kgm_op_sub(tp, in[0], in[1], out);
    case 2: return kgm_op_mul(tp, in[0], in[1], out);
    case 3: return kgm_op_scale(tp, in[0], c->f, 0.5f, out);
    case 4: return kgm_op_mul_bcast(tp, in[0], in[1], out);
    case 5: return kgm_op_sum(tp, in[0], out);
    default: return kgm_op_mean(tp, in[0], out);
    }
}

Test(grad, add_sub_mul_scale_sum_mean) {
    for (int s = 0; s < NSHAPES; s++)
        for (int w = 0; w < 7; w++) {
            if (w == 4) continue;
            int R = SHAPES[s][0], C = SHAPES[s][1];
            kgm_tensor *in[2] = {tu_tensor(R, C, 8, 1, true), tu_tensor(R, C, 9, 1, true)};
            ctx_t c = {.which = w, .f = -1.7f};
            int n = (w <= 2) ? 2 : 1;
            check(f_ew, in, n, &c, "elementwise", R, C);
            free_all(in, 2);
        }
}

Test(grad, mul_bcast_row_col_scalar) {
    for (int s = 0; s < NSHAPES; s++)
        for (int kind = 0; kind < 3; kind++) {
            int R = SHAPES[s][0], C = SHAPES[s][1];
            int sr = kind == 0 ? R : 1, sc = kind == 1 ? C : 1;
            kgm_tensor *in[2] = {tu_tensor(R, C, 10, 1, true), tu_tensor(sr, sc, 11, 1, true)};
            ctx_t c = {.which = 4};
            check(f_ew, in, 2, &c, "mul_bcast", R, C);
            free_all(in, 2);
        }
}

/* ---- concat / slice ------------------------------------------------------------- */

static kgm_status f_concat(kgm_tape *tp, kgm_tensor **in, void *c, kgm_tensor **out) {
    return kgm_op_concat_cols(tp, 3, in, out);
}

static kgm_status f_slice(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    return kgm_op_slice_cols(tp, in[0], c->n, c->nseg, out);
}

Test(grad, concat_slice) {
    for (int s = 0; s < NSHAPES; s++) {
        int R = SHAPES[s][0], C = SHAPES[s][1];
        kgm_tensor *in[3] = {tu_tensor(R, C, 12, 1, true), tu_tensor(R, 1, 13, 1, true),
                             tu_tensor(R, C + 2, 14, 1, true)};
        check(f_concat, in, 3, NULL, "concat", R, C);
        ctx_t c = {.n = C / 2, .nseg = C - C / 2};
        check(f_slice, in, 1, &c, "slice", R, C);
        free_all(in, 3);
    }
}

/* ---- activations ----------------------------------------------------------------- */

static kgm_status f_act(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    switch (c->which) {
    case 0: return kgm_op_relu(tp, in[0], out);
    case 1: return kgm_op_leaky_relu(tp, in[0], 0.2f, out);
    case 2: return kgm_op_sigmoid(tp, in[0], out);
    case 3: return kgm_op_tanh(tp, in[0], out);
    case 4: return kgm_op_exp(tp, in[0], out);
    case 5: return kgm_op_softplus(tp, in[0], out);
    default: return kgm_op_softmax(tp, in[0], out);
    }
}

Test(grad, activations_and_softmax) {
    const char *names[] = {"relu", "leaky_relu", "sigmoid", "tanh", "exp", "softplus", "softmax"};
    for (int s = 0; s < NSHAPES; s++)
        for (int w = 0; w < 7; w++) {
            int R = SHAPES[s][0], C = SHAPES[s][1];
            kgm_tensor *in[1] = {tu_tensor(R, C, 15 + w, 1.5f, true)};
            if (w <= 1) tu_avoid(in[0], 0.0f, 0.02f);
            ctx_t c = {.which = w};
            check(f_act, in, 1, &c, names[w], R, C);
            free_all(in, 1);
        }
}

/* abs, log, sqrt, clamp (ABI 1.1): inputs kept away from kinks and domain edges. */
static kgm_status f_act11(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    switch (c->which) {
    case 0: return kgm_op_abs(tp, in[0], out);
    case 1: return kgm_op_log(tp, in[0], out);
    case 2: return kgm_op_sqrt(tp, in[0], out);
    default: return kgm_op_clamp(tp, in[0], -0.5f, 0.7f, out);
    }
}

Test(grad, abs_log_sqrt_clamp) {
    const char *names[] = {"abs", "log", "sqrt", "clamp"};
    for (int s = 0; s < NSHAPES; s++)
        for (int w = 0; w < 4; w++) {
            int R = SHAPES[s][0], C = SHAPES[s][1];
            kgm_tensor *in[1] = {tu_tensor(R, C, 40 + w, 1.5f, true)};
            if (w == 1 || w == 2) /* log, sqrt: positive inputs in [0.2, 1.7] */
                for (int64_t i = 0; i < kgm_tensor_numel(in[0]); i++) in[0]->data[i] = 0.2f + fabsf(in[0]->data[i]);
            if (w == 0) tu_avoid(in[0], 0.0f, 0.02f);
            if (w == 3) {
                tu_avoid(in[0], -0.5f, 0.02f);
                tu_avoid(in[0], 0.7f, 0.02f);
            }
            ctx_t c = {.which = w};
            check(f_act11, in, 1, &c, names[w], R, C);
            free_all(in, 1);
        }
}

static kgm_status f_minmax(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    return c->which ? kgm_op_max(tp, in[0], in[1], out) : kgm_op_min(tp, in[0], in[1], out);
}

/* min / max of two tensors; the inputs are kept 5h apart so that no step
 * crosses the tie (a kink), and every entry is compared on both inputs. */
Test(grad, min_max) {
    for (int s = 0; s < NSHAPES; s++)
        for (int w = 0; w < 2; w++) {
            int R = SHAPES[s][0], C = SHAPES[s][1];
            kgm_tensor *in[2] = {tu_tensor(R, C, 50 + w, 1, true), tu_tensor(R, C, 52 + w, 1, true)};
            for (int64_t i = 0; i < kgm_tensor_numel(in[0]); i++)
                if (fabsf(in[0]->data[i] - in[1]->data[i]) < 5 * H) in[1]->data[i] = in[0]->data[i] + 0.1f;
            ctx_t c = {.which = w};
            check(f_minmax, in, 2, &c, w ? "max" : "min", R, C);
            free_all(in, 2);
        }
}

/* By hand: values, and each gradient entry goes to exactly one input (to a
 * on a tie), accumulated onto what the gradient held before. */
Test(grad, min_max_by_hand) {
    const float av[4] = {1.0f, -2.0f, 3.0f, 0.5f}, bv[4] = {2.0f, -3.0f, 3.0f, 0.5f};
    const float mn[4] = {1.0f, -3.0f, 3.0f, 0.5f}, mx[4] = {2.0f, -2.0f, 3.0f, 0.5f};
    /* d min / da, d max / da for dy = 1: ties (entries 2, 3) go to a */
    const float ga_min[4] = {1, 0, 1, 1}, ga_max[4] = {0, 1, 1, 1};
    for (int w = 0; w < 2; w++) {
        kgm_tensor *a = tu_tensor(2, 2, 1, 1, true), *b = tu_tensor(2, 2, 2, 1, true);
        memcpy(a->data, av, sizeof av);
        memcpy(b->data, bv, sizeof bv);
        for (int i = 0; i < 4; i++) a->grad[i] = b->grad[i] = 10.0f;
        kgm_tape *tp;
        cr_assert_eq(kgm_tape_new(1 << 16, &tp), KGM_OK);
        kgm_tensor *y, *l;
        cr_assert_eq(w ? kgm_op_max(tp, a, b, &y) : kgm_op_min(tp, a, b, &y), KGM_OK);
        cr_assert_eq(kgm_op_sum(tp, y, &l), KGM_OK);
        cr_assert_eq(kgm_tape_backward(tp, l), KGM_OK, "%s", kgm_error_message());
        for (int i = 0; i < 4; i++) {
            float ga = w ? ga_max[i] : ga_min[i];
            cr_expect_float_eq(y->data[i], w ? mx[i] : mn[i], 0, "%s[%d]", w ? "max" : "min", i);
            cr_expect_float_eq(a->grad[i], 10.0f + ga, 0, "%s da[%d]", w ? "max" : "min", i);
            cr_expect_float_eq(b->grad[i], 11.0f - ga, 0, "%s db[%d]", w ? "max" : "min", i);
        }
        kgm_tensor *bad = tu_tensor(2, 3, 3, 1, false);
        cr_expect_eq(kgm_op_min(tp, a, bad, &y), KGM_ERR_SHAPE);
        kgm_tape_free(tp);
        free_all((kgm_tensor *[]){a, b, bad}, 3);
    }
}

static kgm_status f_dropout(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    kgm_rng r;
    kgm_rng_init(&r, 5, 5); /* the same mask at every evaluation */
    kgm_tape_set_training(tp, true);
    return kgm_op_dropout(tp, in[0], 0.3f, &r, out);
}

Test(grad, dropout) {
    for (int s = 0; s < NSHAPES; s++) {
        int R = SHAPES[s][0], C = SHAPES[s][1];
        kgm_tensor *in[1] = {tu_tensor(R, C, 22, 1, true)};
        check(f_dropout, in, 1, NULL, "dropout", R, C);
        free_all(in, 1);
    }
}

static kgm_status f_ln(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    return kgm_op_layernorm(tp, in[0], in[1], in[2], 1e-5f, out);
}

Test(grad, layernorm) {
    for (int s = 0; s < NSHAPES; s++) {
        int R = SHAPES[s][0], C = SHAPES[s][1];
        if (C < 2) continue; /* a single column normalises to a constant */
        kgm_tensor *in[3] = {tu_tensor(R, C, 23, 1, true), tu_tensor(1, C, 24, 1, true),
                             tu_tensor(1, C, 25, 1, true)};
        check(f_ln, in, 3, NULL, "layernorm", R, C);
        free_all(in, 3);
    }
}

/* ---- gather / segment ops ---------------------------------------------------------- */

static kgm_status f_gather(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    return kgm_op_gather(tp, in[0], c->idx, c->n, out);
}

Test(grad, gather_with_repeats) {
    for (int s = 0; s < NSHAPES; s++) {
        int R = SHAPES[s][0], C = SHAPES[s][1];
        int32_t idx[12];
        for (int i = 0; i < 12; i++) idx[i] = (i * 7) % R; /* repeats when R < 12 */
        kgm_tensor *in[1] = {tu_tensor(R, C, 26, 1, true)};
        ctx_t c = {.idx = idx, .n = 12};
        check(f_gather, in, 1, &c, "gather", R, C);
        free_all(in, 1);
    }
}

static kgm_status f_seg(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    if (c->which == 0) return kgm_op_segment_sum(tp, in[0], c->off, c->nseg, out);
    if (c->which == 1) return kgm_op_segment_mean(tp, in[0], c->off, c->nseg, out);
    return kgm_op_segment_softmax(tp, in[0], c->off, c->nseg, out);
}

Test(grad, segment_sum_mean_softmax_with_empty_segments) {
    for (int s = 0; s < NSHAPES; s++)
        for (int w = 0; w < 3; w++) {
            int E = SHAPES[s][0], C = SHAPES[s][1];
            /* segments: [0,0) empty, then pieces of size 1,2,3,... and an empty tail */
            int64_t off[64];
            int ns = 0;
            off[0] = 0;
            off[++ns] = 0;
            int64_t pos = 0, len = 1;
            while (pos < E) {
                pos = pos + len < E ? pos + len : E;
                off[++ns] = pos;
                len++;
            }
            off[ns + 1] = E;
            ns++;
            kgm_tensor *in[1] = {tu_tensor(E, C, 27 + w, 1, true)};
            ctx_t c = {.which = w, .off = off, .nseg = ns};
            check(f_seg, in, 1, &c, w == 0 ? "segment_sum" : w == 1 ? "segment_mean" : "segment_softmax", E, C);
            free_all(in, 1);
        }
}

/* ---- rowdot / rowcos ---------------------------------------------------------------- */

static kgm_status f_row(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    if (c->which == 0) return kgm_op_rowdot(tp, in[0], in[1], out);
    return kgm_op_rowcos(tp, in[0], in[1], 1e-8f, out);
}

Test(grad, rowdot_rowcos) {
    for (int s = 0; s < NSHAPES; s++)
        for (int w = 0; w < 2; w++) {
            int R = SHAPES[s][0], C = SHAPES[s][1];
            kgm_tensor *in[2] = {tu_tensor(R, C, 30, 1, true), tu_tensor(R, C, 31, 1, true)};
            ctx_t c = {.which = w};
            check(f_row, in, 2, &c, w ? "rowcos" : "rowdot", R, C);
            free_all(in, 2);
        }
}

/* ---- spmm --------------------------------------------------------------------------------- */

static kgm_status f_spmm(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    return kgm_op_spmm(tp, &c->csr, c->flag ? in[1] : NULL, in[0], out);
}

Test(grad, spmm_values_and_learned_weights) {
    for (int s = 0; s < NSHAPES; s++)
        for (int learned = 0; learned < 2; learned++) {
            int Cn = SHAPES[s][0], D = SHAPES[s][1], R = 4;
            /* random CSR with an empty row, repeated columns and self-entries */
            int64_t rowptr[5] = {0, 3, 3, 5, 8};
            int32_t col[8];
            float val[8];
            for (int k = 0; k < 8; k++) {
                col[k] = (k * 5 + 1) % Cn;
                val[k] = 0.5f + 0.1f * k;
            }
            ctx_t c = {.flag = learned};
            c.csr = (kgm_csr){.rows = R, .cols = Cn, .nnz = 8, .rowptr = rowptr, .col = col, .val = val};
            kgm_tensor *in[2] = {tu_tensor(Cn, D, 32, 1, true), tu_tensor(8, 1, 33, 1, true)};
            check(f_spmm, in, learned ? 2 : 1, &c, "spmm", Cn, D);
            free_all(in, 2);
        }
}

/* ---- mixture ------------------------------------------------------------------------------ */

static kgm_status f_mixture(kgm_tape *tp, kgm_tensor **in, void *c, kgm_tensor **out) {
    return kgm_op_mixture(tp, in[0], in[1], out);
}

Test(grad, mixture) {
    for (int s = 0; s < NSHAPES; s++) {
        int B = SHAPES[s][0], Hd = SHAPES[s][1], E = 1 + s % 4;
        kgm_tensor *in[2] = {tu_tensor(B, E * Hd, 60, 1, true), tu_tensor(B, E, 61, 1, true)};
        check(f_mixture, in, 2, NULL, "mixture", B, Hd);
        free_all(in, 2);
    }
}

/* ---- losses ----------------------------------------------------------------------------- */

static kgm_status f_loss(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    ctx_t *c = vc;
    switch (c->which) {
    case 0: return kgm_op_bce_logits(tp, in[0], c->y, c->w, out);
    case 1: return kgm_op_softmax_ce(tp, in[0], c->labels, c->w, out);
    case 2: return kgm_op_mse(tp, in[0], c->y, c->w, out);
    case 3: return kgm_op_bpr(tp, in[0], in[1], out);
    default: return kgm_op_margin_ranking(tp, in[0], in[1], 0.5f, out);
    }
}

Test(grad, losses) {
    const char *names[] = {"bce_logits", "softmax_ce", "mse", "bpr", "margin_ranking"};
    for (int s = 0; s < NSHAPES; s++)
        for (int w = 0; w < 5; w++) {
            int B = SHAPES[s][0], C = SHAPES[s][1];
            int cols = (w == 1 || w == 2) ? C : 1;
            kgm_tensor *in[2] = {tu_tensor(B, cols, 40 + w, 2, true), tu_tensor(B, 1, 50 + w, 2, true)};
            float y[600], wt[64];
            int32_t lab[64];
            for (int i = 0; i < B * cols; i++) y[i] = (i % 3 == 0) ? 1.0f : (i % 3 == 1 ? 0.0f : 0.3f);
            for (int i = 0; i < B; i++) {
                lab[i] = (i * 3) % cols;
                wt[i] = 0.5f + 0.25f * (i % 3);
            }
            if (w == 4) /* keep margin - pos + neg away from the hinge */
                for (int i = 0; i < B; i++) {
                    float d = 0.5f - in[0]->data[i] + in[1]->data[i];
                    if (d > -0.05f && d < 0.05f) in[1]->data[i] += 0.2f;
                }
            ctx_t c = {.which = w, .y = y, .labels = lab, .w = (w <= 2 && (s & 1)) ? wt : NULL};
            check(f_loss, in, w >= 3 ? 2 : 1, &c, names[w], B, C);
            free_all(in, 2);
        }
}

/* ---- composite: the gradient flows through a small MLP on a sparse param ---------------- */

Test(grad, sparse_param_gather_marks_only_touched_rows) {
    kgm_params *ps;
    cr_assert_eq(kgm_params_new(&ps), KGM_OK);
    int32_t emb, w;
    cr_assert_eq(kgm_params_declare(ps, "emb", 50, 4, (kgm_init){KGM_INIT_NORMAL, 0.1f}, KGM_TENSOR_SPARSE, 0, &emb), KGM_OK);
    cr_assert_eq(kgm_params_declare(ps, "w", 4, 1, (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, 0, &w), KGM_OK);
    cr_assert_eq(kgm_params_finalize(ps, 1), KGM_OK);
    kgm_tape *tp;
    cr_assert_eq(kgm_tape_new(1 << 20, &tp), KGM_OK);
    int32_t idx[3] = {7, 3, 7};
    kgm_tensor *e, *s, *l;
    cr_assert_eq(kgm_op_gather(tp, kgm_params_tensor(ps, emb), idx, 3, &e), KGM_OK);
    cr_assert_eq(kgm_op_linear(tp, e, kgm_params_tensor(ps, w), NULL, &s), KGM_OK);
    cr_assert_eq(kgm_op_sum(tp, s, &l), KGM_OK);
    cr_assert_eq(kgm_tape_backward(tp, l), KGM_OK);
    kgm_param *p = &ps->p[emb];
    cr_assert_eq(p->n_touched, 2);
    cr_assert(!p->all_touched);
    kgm_tensor *W = kgm_params_tensor(ps, w);
    for (int j = 0; j < 4; j++) {
        cr_assert_float_eq(p->t.grad[7 * 4 + j], 2 * W->data[j], 1e-6);
        cr_assert_float_eq(p->t.grad[3 * 4 + j], W->data[j], 1e-6);
        cr_assert_eq(p->t.grad[0 * 4 + j], 0.0f);
    }
    kgm_params_zero_grad(ps);
    for (int64_t i = 0; i < 200; i++) cr_assert_eq(p->t.grad[i], 0.0f);
    cr_assert_eq(p->n_touched, 0);
    kgm_tape_free(tp);
    kgm_params_free(ps);
}
