/* Cross-task components (core/model/crosstask.h): finite-difference gradient
 * checks over several shapes (size-1 edges included), values against direct
 * computations, and small deterministic "it learns" runs for each piece:
 * cross-stitch recovers a planted mixing, cross&compress fits a teacher,
 * the consistency penalty pulls two heads together, the learned fusion fits
 * a conjunction of two scores, and an AITM connection lets a downstream task
 * that needs the upstream task's signal learn faster. */
#include <criterion/criterion.h>
#include <math.h>

#include "tests/common/testutil.h"
#include "core/model/crosstask.h"

#define TOL 2e-2
#define H 1e-2
#define ARENA (8u << 20)

#define OK(expr)                                                                                   \
    do {                                                                                           \
        kgm_status st_ = (expr);                                                                   \
        cr_assert_eq(st_, KGM_OK, "%s -> %s: %s", #expr, kgm_status_str(st_), kgm_error_message()); \
    } while (0)

static const int SHAPES[][2] = {{1, 1}, {1, 7}, {5, 1}, {3, 5}, {7, 17}};
#define NSHAPES (int)(sizeof SHAPES / sizeof *SHAPES)

static void check(kgm_gradcheck_fn f, kgm_tensor **in, int n, void *c, const char *name, int r, int k) {
    kgm_gradcheck_result res;
    kgm_status st = kgm_gradcheck(f, in, n, c, H, 5e-2, 42, &res);
    cr_assert_eq(st, KGM_OK, "%s (%d,%d): %s", name, r, k, kgm_error_message());
    cr_assert_gt(res.n_checked, 0, "%s: nothing was checked", name);
    cr_assert_lt(res.max_rel_err, TOL, "%s (%d,%d): rel err %g at input %d elem %lld (analytic %g numeric %g)", name,
                 r, k, res.max_rel_err, res.worst_input, (long long)res.worst_index, res.analytic, res.numeric);
}

static void free_all(kgm_tensor **t, int n) {
    for (int i = 0; i < n; i++) kgm_tensor_free(t[i]);
}

static kgm_params *new_store(void) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    return ps;
}

static kgm_tape *new_tape(void) {
    kgm_tape *tp;
    OK(kgm_tape_new(ARENA, &tp));
    return tp;
}

/* An Adam (or SGD) optimiser over the whole store. */
static kgm_optim *new_optim(kgm_params *ps, kgm_optim_kind kind, float lr) {
    kgm_optim_cfg cfg = kgm_optim_defaults(kind);
    cfg.lr = lr;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    return o;
}

static kgm_tensor *input_of(kgm_tape *tp, const kgm_tensor *t) {
    kgm_tensor *x;
    OK(kgm_tape_input(tp, t->rows, t->cols, t->data, &x));
    return x;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* ==== 1. cross-stitch ======================================================== */

typedef struct {
    int n;
} xs_ctx;

/* inputs: n acts then alpha; output: the n outputs side by side */
static kgm_status f_xs(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    xs_ctx *c = vc;
    kgm_tensor *o[4];
    KGM_TRY(kgm_op_cross_stitch(tp, c->n, in, in[c->n], o));
    return kgm_op_concat_cols(tp, c->n, o, out);
}

Test(cross_stitch, gradcheck_scalar_and_per_channel) {
    for (int s = 0; s < NSHAPES; s++)
        for (int n = 1; n <= 3; n++)
            for (int pc = 0; pc < 2; pc++) {
                int B = SHAPES[s][0], Hd = SHAPES[s][1];
                kgm_tensor *in[4] = {0};
                for (int j = 0; j < n; j++) in[j] = tu_tensor(B, Hd, 100 + j, 1, true);
                in[n] = tu_tensor(n, pc ? n * Hd : n, 110 + n, 1, true);
                xs_ctx c = {n};
                check(f_xs, in, n + 1, &c, pc ? "cross_stitch/channel" : "cross_stitch", B, Hd);
                free_all(in, n + 1);
            }
}

Test(cross_stitch, values_match_direct_mixing) {
    enum { T = 3, B = 4, D = 5 };
    kgm_tape *tp = new_tape();
    kgm_tensor *a[T], *al = tu_tensor(T, T, 7, 1, false), *alc = tu_tensor(T, T * D, 8, 1, false);
    for (int j = 0; j < T; j++) a[j] = tu_tensor(B, D, 20 + j, 1, false);
    kgm_tensor *o[T], *oc[T];
    OK(kgm_op_cross_stitch(tp, T, a, al, o));
    OK(kgm_op_cross_stitch(tp, T, a, alc, oc));
    cr_assert_eq(kgm_tape_size(tp), 0, "no records without gradients");
    for (int k = 0; k < T; k++)
        for (int i = 0; i < B * D; i++) {
            double want = 0, wantc = 0;
            for (int j = 0; j < T; j++) {
                want += (double)al->data[k * T + j] * a[j]->data[i];
                wantc += (double)alc->data[k * T * D + j * D + i % D] * a[j]->data[i];
            }
            cr_assert(fabs(o[k]->data[i] - want) < 1e-5, "scalar k=%d i=%d", k, i);
            cr_assert(fabs(oc[k]->data[i] - wantc) < 1e-5, "channel k=%d i=%d", k, i);
        }
    /* in place: the activation array may receive the outputs */
    kgm_tensor *hid[T] = {a[0], a[1], a[2]};
    OK(kgm_op_cross_stitch(tp, T, hid, al, hid));
    for (int k = 0; k < T; k++) cr_assert_lt(max_abs_diff(hid[k]->data, o[k]->data, B * D), 1e-7, "in place, task %d", k);
    /* shape errors are statuses */
    kgm_tensor *bad = tu_tensor(T, T + 1, 9, 1, false);
    cr_assert_eq(kgm_op_cross_stitch(tp, T, a, bad, o), KGM_ERR_SHAPE);
    kgm_tensor *a2[2] = {a[0], tu_tensor(B, D + 1, 10, 1, false)};
    cr_assert_eq(kgm_op_cross_stitch(tp, 2, a2, al, o), KGM_ERR_SHAPE);
    kgm_tensor_free(a2[1]);
    kgm_tensor_free(bad);
    free_all(a, T);
    kgm_tensor_free(al);
    kgm_tensor_free(alc);
    kgm_tape_free(tp);
}

Test(cross_stitch, starts_near_identity) {
    kgm_params *ps = new_store();
    kgm_cross_stitch cs, one;
    OK(kgm_cross_stitch_declare(&cs, "xs", 3, 4, false, 0.9f, ps, 0));
    OK(kgm_cross_stitch_declare(&one, "xs1", 1, 4, true, 0.9f, ps, 0));
    cr_assert_eq(kgm_cross_stitch_declare(&one, "bad", 2, 4, false, 0.0f, ps, 0), KGM_ERR_ARG);
    OK(kgm_params_finalize(ps, 3));
    float al[9], al1[4];
    kgm_cross_stitch_alpha(&cs, ps, al);
    kgm_cross_stitch_alpha(&one, ps, al1);
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 3; j++) cr_assert_float_eq(al[k * 3 + j], k == j ? 0.9f : 0.05f, 1e-7);
    for (int h = 0; h < 4; h++) cr_assert_float_eq(al1[h], 1.0f, 0, "a single task passes through");
    kgm_params_free(ps);
}

/* SGD on α alone recovers a planted mixing: y_k = Σ_j α*_kj a_j. */
static void recover_alpha(bool per_channel) {
    enum { T = 3, B = 64, D = 4 };
    int C = per_channel ? T * D : T;
    kgm_params *ps = new_store();
    kgm_cross_stitch cs;
    OK(kgm_cross_stitch_declare(&cs, "xs", T, D, per_channel, 0.9f, ps, 0));
    OK(kgm_params_finalize(ps, 1));
    kgm_tensor *a[T], *star = tu_tensor(T, C, 55, 0.5f, false), *y[T];
    for (int j = 0; j < T; j++) a[j] = tu_tensor(B, D, 60 + j, 1, false);
    kgm_tape *tp = new_tape();
    OK(kgm_op_cross_stitch(tp, T, a, star, y));
    float *target = malloc(sizeof(float) * T * B * D);
    for (int k = 0; k < T; k++) memcpy(target + k * B * D, y[k]->data, sizeof(float) * B * D);
    kgm_optim *o = new_optim(ps, KGM_OPT_SGD, 0.5f);
    for (int step = 0; step < 400; step++) {
        kgm_tape_reset(tp);
        kgm_params_zero_grad(ps);
        kgm_tensor *out[T], *loss = NULL;
        OK(kgm_cross_stitch_forward(&cs, tp, ps, a, out));
        for (int k = 0; k < T; k++) {
            kgm_tensor *l;
            OK(kgm_op_mse(tp, out[k], target + k * B * D, NULL, &l));
            if (loss) OK(kgm_op_add(tp, loss, l, &loss));
            else loss = l;
        }
        OK(kgm_tape_backward(tp, loss));
        OK(kgm_optim_step(o, 1.0f, NULL));
    }
    float al[T * T * D];
    kgm_cross_stitch_alpha(&cs, ps, al);
    double err = max_abs_diff(al, star->data, T * C);
    cr_assert_lt(err, 1e-3, "%s: learned alpha is %g away from the planted one", per_channel ? "per-channel" : "scalar",
                 err);
    free(target);
    free_all(a, T);
    kgm_tensor_free(star);
    kgm_optim_free(o);
    kgm_tape_free(tp);
    kgm_params_free(ps);
}

Test(cross_stitch, learns_planted_mixing) {
    recover_alpha(false);
    recover_alpha(true);
}

/* ==== 2. cross&compress ====================================================== */

/* Reference with the d×d cross matrix materialised, in double. */
static void cc_dense(int B, int d, const float *v, const float *e, kgm_tensor *const *w, const float *bv,
                     const float *be, double *vo, double *eo) {
    double *C = malloc(sizeof(double) * d * d);
    for (int b = 0; b < B; b++) {
        const float *vb = v + b * d, *eb = e + b * d;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) C[i * d + j] = (double)vb[i] * eb[j];
        for (int i = 0; i < d; i++) {
            double cvv = 0, ctev = 0, cve = 0, ctee = 0;
            for (int j = 0; j < d; j++) {
                cvv += C[i * d + j] * w[KGM_CC_VV]->data[j];
                ctev += C[j * d + i] * w[KGM_CC_EV]->data[j];
                cve += C[i * d + j] * w[KGM_CC_VE]->data[j];
                ctee += C[j * d + i] * w[KGM_CC_EE]->data[j];
            }
            vo[b * d + i] = cvv + ctev + (bv ? bv[i] : 0);
            eo[b * d + i] = cve + ctee + (be ? be[i] : 0);
        }
    }
    free(C);
}

Test(cross_compress, matches_dense_cross_matrix) {
    static const int S[][2] = {{1, 1}, {5, 7}, {3, 33}, {17, 4}};
    for (int s = 0; s < 4; s++) {
        int B = S[s][0], d = S[s][1];
        kgm_tensor *v = tu_tensor(B, d, 1, 1, false), *e = tu_tensor(B, d, 2, 1, false);
        kgm_tensor *w[4];
        for (int m = 0; m < 4; m++) w[m] = tu_tensor(d, 1, 3 + m, 1, false);
        kgm_tensor *bv = tu_tensor(1, d, 8, 1, false), *be = tu_tensor(1, d, 9, 1, false);
        kgm_tape *tp = new_tape();
        for (int bias = 0; bias < 2; bias++) {
            kgm_tensor *vo, *eo;
            OK(kgm_op_cross_compress(tp, v, e, w, bias ? bv : NULL, bias ? be : NULL, &vo, &eo));
            double *rv = malloc(sizeof(double) * B * d), *re = malloc(sizeof(double) * B * d);
            cc_dense(B, d, v->data, e->data, w, bias ? bv->data : NULL, bias ? be->data : NULL, rv, re);
            for (int i = 0; i < B * d; i++) {
                cr_assert(fabs(vo->data[i] - rv[i]) <= 1e-5 * (1 + fabs(rv[i])), "v' (%d,%d)[%d]: %g vs %g", B, d, i,
                          vo->data[i], rv[i]);
                cr_assert(fabs(eo->data[i] - re[i]) <= 1e-5 * (1 + fabs(re[i])), "e' (%d,%d)[%d]: %g vs %g", B, d, i,
                          eo->data[i], re[i]);
            }
            free(rv);
            free(re);
        }
        /* a misshapen compression vector is a status, not a crash */
        kgm_tensor *wb[4] = {w[0], w[1], bv, w[3]};
        kgm_tensor *vo, *eo;
        if (d > 1) cr_assert_eq(kgm_op_cross_compress(tp, v, e, wb, NULL, NULL, &vo, &eo), KGM_ERR_SHAPE);
        kgm_tape_free(tp);
        free_all(w, 4);
        kgm_tensor *rest[4] = {v, e, bv, be};
        free_all(rest, 4);
    }
}

typedef struct {
    int which; /* 0: both outputs, 1: v' only, 2: e' only, 3: no biases */
} cc_ctx;

/* inputs: v, e, w_vv, w_ev, w_ve, w_ee, b_v, b_e */
static kgm_status f_cc(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    cc_ctx *c = vc;
    kgm_tensor *vo, *eo;
    bool nb = c->which == 3;
    KGM_TRY(kgm_op_cross_compress(tp, in[0], in[1], in + 2, nb ? NULL : in[6], nb ? NULL : in[7], &vo, &eo));
    if (c->which == 1) {
        *out = vo;
        return KGM_OK;
    }
    if (c->which == 2) {
        *out = eo;
        return KGM_OK;
    }
    kgm_tensor *both[2] = {vo, eo};
    return kgm_op_concat_cols(tp, 2, both, out);
}

Test(cross_compress, gradcheck) {
    for (int s = 0; s < NSHAPES; s++)
        for (int which = 0; which < 4; which++) {
            int B = SHAPES[s][0], d = SHAPES[s][1];
            kgm_tensor *in[8] = {tu_tensor(B, d, 11, 1, true), tu_tensor(B, d, 12, 1, true)};
            for (int m = 0; m < 4; m++) in[2 + m] = tu_tensor(d, 1, 13 + m, 1, true);
            in[6] = tu_tensor(1, d, 17, 1, true);
            in[7] = tu_tensor(1, d, 18, 1, true);
            cc_ctx c = {which};
            check(f_cc, in, which == 3 ? 6 : 8, &c, "cross_compress", B, d);
            free_all(in, 8);
        }
}

typedef struct {
    kgm_cross_compress *cc;
    kgm_params *ps;
} stack_ctx;

/* inputs: v, e, then the store's parameters (read through the store) */
static kgm_status f_stack(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    stack_ctx *c = vc;
    kgm_tensor *vo, *eo;
    KGM_TRY(kgm_cross_compress_forward(c->cc, tp, c->ps, in[0], in[1], &vo, &eo));
    kgm_tensor *both[2] = {vo, eo};
    return kgm_op_concat_cols(tp, 2, both, out);
}

Test(cross_compress, stack_of_layers_matches_chained_reference_and_gradchecks) {
    enum { L = 3, B = 4, D = 6 };
    kgm_params *ps = new_store();
    kgm_cross_compress cc;
    OK(kgm_cross_compress_declare(&cc, L, D, "cc", ps, 2));
    cr_assert_eq(kgm_cross_compress_declare(&cc, 0, D, "cc0", ps, 2), KGM_ERR_ARG);
    OK(kgm_params_finalize(ps, 9));
    cr_assert_str_eq(ps->p[cc.w[2][KGM_CC_EE]].name, "cc/l2/w_ee");
    cr_assert_eq(ps->p[cc.b_e[1]].group, 2);
    /* biases start at zero: give them values so the reference checks them */
    for (int l = 0; l < L; l++) {
        kgm_tensor *bv = kgm_params_tensor(ps, cc.b_v[l]), *be = kgm_params_tensor(ps, cc.b_e[l]);
        for (int h = 0; h < D; h++) {
            bv->data[h] = 0.1f * (h - l);
            be->data[h] = -0.05f * (h + l);
        }
    }
    kgm_tensor *v = tu_tensor(B, D, 31, 0.7f, true), *e = tu_tensor(B, D, 32, 0.7f, true);
    kgm_tape *tp = new_tape();
    kgm_tensor *vo, *eo;
    OK(kgm_cross_compress_forward(&cc, tp, ps, input_of(tp, v), input_of(tp, e), &vo, &eo));
    double rv[B * D], re[B * D];
    float cv[B * D], ce[B * D];
    memcpy(cv, v->data, sizeof cv);
    memcpy(ce, e->data, sizeof ce);
    for (int l = 0; l < L; l++) {
        kgm_tensor *w[4];
        for (int m = 0; m < 4; m++) w[m] = kgm_params_tensor(ps, cc.w[l][m]);
        cc_dense(B, D, cv, ce, w, kgm_params_tensor(ps, cc.b_v[l])->data, kgm_params_tensor(ps, cc.b_e[l])->data, rv, re);
        for (int i = 0; i < B * D; i++) {
            cv[i] = (float)rv[i];
            ce[i] = (float)re[i];
        }
    }
    for (int i = 0; i < B * D; i++) {
        cr_assert(fabs(vo->data[i] - rv[i]) <= 1e-5 * (1 + fabs(rv[i])), "stack v'[%d]", i);
        cr_assert(fabs(eo->data[i] - re[i]) <= 1e-5 * (1 + fabs(re[i])), "stack e'[%d]", i);
    }
    /* gradient check through all layers: inputs and every parameter */
    kgm_tensor *in[2 + 6 * L];
    int n = 0;
    in[n++] = v;
    in[n++] = e;
    for (int32_t id = 0; id < ps->n; id++) in[n++] = kgm_params_tensor(ps, id);
    stack_ctx c = {&cc, ps};
    check(f_stack, in, n, &c, "cross_compress stack", B, D);
    kgm_tensor_free(v);
    kgm_tensor_free(e);
    kgm_tape_free(tp);
    kgm_params_free(ps);
}

/* A student unit fits the outputs of a teacher unit with other parameters. */
Test(cross_compress, learns_a_teacher_unit) {
    enum { B = 128, D = 8 };
    kgm_params *teacher = new_store(), *ps = new_store();
    kgm_cross_compress tcc, cc;
    OK(kgm_cross_compress_declare(&tcc, 1, D, "cc", teacher, 0));
    OK(kgm_cross_compress_declare(&cc, 1, D, "cc", ps, 0));
    OK(kgm_params_finalize(teacher, 101));
    OK(kgm_params_finalize(ps, 202));
    for (int h = 0; h < D; h++) {
        kgm_params_tensor(teacher, tcc.b_v[0])->data[h] = 0.3f * sinf((float)h);
        kgm_params_tensor(teacher, tcc.b_e[0])->data[h] = 0.2f * cosf((float)h);
    }
    kgm_tensor *v = tu_tensor(B, D, 41, 1, false), *e = tu_tensor(B, D, 42, 1, false);
    kgm_tape *tp = new_tape();
    kgm_tensor *tv, *te;
    OK(kgm_cross_compress_forward(&tcc, tp, teacher, v, e, &tv, &te));
    float *yv = malloc(sizeof(float) * B * D), *ye = malloc(sizeof(float) * B * D);
    memcpy(yv, tv->data, sizeof(float) * B * D);
    memcpy(ye, te->data, sizeof(float) * B * D);
    kgm_optim *o = new_optim(ps, KGM_OPT_ADAM, 0.02f);
    double first = 0, last = 0;
    for (int step = 0; step < 600; step++) {
        kgm_tape_reset(tp);
        kgm_params_zero_grad(ps);
        kgm_tensor *vo, *eo, *l1, *l2, *loss;
        OK(kgm_cross_compress_forward(&cc, tp, ps, v, e, &vo, &eo));
        OK(kgm_op_mse(tp, vo, yv, NULL, &l1));
        OK(kgm_op_mse(tp, eo, ye, NULL, &l2));
        OK(kgm_op_add(tp, l1, l2, &loss));
        if (step == 0) first = loss->data[0];
        last = loss->data[0];
        OK(kgm_tape_backward(tp, loss));
        OK(kgm_optim_step(o, 1.0f, NULL));
    }
    cr_assert_lt(last, 1e-3 * first, "cross&compress student: loss %g -> %g", first, last);
    free(yv);
    free(ye);
    kgm_tensor_free(v);
    kgm_tensor_free(e);
    kgm_optim_free(o);
    kgm_tape_free(tp);
    kgm_params_free(ps);
    kgm_params_free(teacher);
}

/* ==== threads ================================================================= */

/* Forward + backward of both fused ops at a size that takes the OpenMP paths:
 * rows and columns are owned by one thread each, so any thread count gives
 * the same bits. Returns a copy of the outputs and of every input and gradient. */
static float *fused_run(int threads, int64_t *n_out) {
    enum { B = 1024, D = 48, T = 3 };
    kgm_set_threads(threads);
    kgm_tensor *a[T], *al = tu_tensor(T, T * D, 5, 1, true), *w[4];
    for (int j = 0; j < T; j++) a[j] = tu_tensor(B, D, 300 + j, 1, true);
    for (int m = 0; m < 4; m++) w[m] = tu_tensor(D, 1, 310 + m, 1, true);
    kgm_tensor *bv = tu_tensor(1, D, 320, 1, true), *be = tu_tensor(1, D, 321, 1, true);
    kgm_tape *tp;
    OK(kgm_tape_new(64u << 20, &tp));
    kgm_tensor *o[T], *vo, *eo, *all[T + 2], *cat, *loss;
    OK(kgm_op_cross_stitch(tp, T, a, al, o));
    OK(kgm_op_cross_compress(tp, o[0], o[1], w, bv, be, &vo, &eo));
    all[0] = vo;
    all[1] = eo;
    for (int k = 0; k < T; k++) all[2 + k] = o[k];
    OK(kgm_op_concat_cols(tp, T + 2, all, &cat));
    OK(kgm_op_mul(tp, cat, cat, &cat));
    OK(kgm_op_sum(tp, cat, &loss));
    OK(kgm_tape_backward(tp, loss));
    kgm_tensor *keep[] = {vo, eo, a[0], a[1], a[2], al, w[0], w[1], w[2], w[3], bv, be};
    int nk = (int)(sizeof keep / sizeof *keep);
    int64_t n = 0;
    for (int i = 0; i < nk; i++) n += kgm_tensor_numel(keep[i]) * (i < 2 ? 1 : 2);
    float *res = malloc(sizeof(float) * (size_t)n), *p = res;
    for (int i = 0; i < nk; i++) {
        int64_t m = kgm_tensor_numel(keep[i]);
        memcpy(p, i < 2 ? keep[i]->data : keep[i]->grad, sizeof(float) * (size_t)m);
        p += m;
        if (i >= 2) {
            memcpy(p, keep[i]->data, sizeof(float) * (size_t)m);
            p += m;
        }
    }
    kgm_tape_free(tp);
    free_all(a, T);
    free_all(w, 4);
    kgm_tensor *rest[3] = {al, bv, be};
    free_all(rest, 3);
    *n_out = n;
    return res;
}

Test(threads, fused_ops_give_the_same_bits_for_any_thread_count) {
    int before = kgm_get_threads();
    int64_t n1, n3;
    float *r1 = fused_run(1, &n1), *r3 = fused_run(3, &n3);
    cr_assert_eq(n1, n3);
    cr_assert(memcmp(r1, r3, sizeof(float) * (size_t)n1) == 0, "1 and 3 threads disagree");
    free(r1);
    free(r3);
    kgm_set_threads(before);
}

/* ==== 3. consistency ========================================================= */

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

/* per-row distance by the textbook definitions, in double */
static double ref_dist(kgm_consistency_distance d, bool logits, const float *a, const float *b, int k) {
    double acc = 0, dot = 0, na = 0, nb = 0;
    for (int c = 0; c < k; c++) {
        double x = a[c], y = b[c];
        switch (d) {
        case KGM_CONS_SQ: acc += (x - y) * (x - y); break;
        case KGM_CONS_ABS: acc += fabs(x - y); break;
        case KGM_CONS_SYM_KL: {
            double p = logits ? sigm(x) : x, q = logits ? sigm(y) : y;
            acc += p * log(p / q) + (1 - p) * log((1 - p) / (1 - q)) + q * log(q / p) + (1 - q) * log((1 - q) / (1 - p));
            break;
        }
        case KGM_CONS_ORDER: acc += fmax(y - x, 0); break;
        default:
            dot += x * y;
            na += x * x;
            nb += y * y;
        }
    }
    if (d == KGM_CONS_COSINE) return 1 - dot / (sqrt(na) * sqrt(nb));
    return acc;
}

/* probabilities in (0.05, 0.95) */
static kgm_tensor *prob_tensor(int r, int c, uint64_t seed, bool grad) {
    kgm_tensor *t = tu_tensor(r, c, seed, 1.5f, grad);
    for (int64_t i = 0; i < kgm_tensor_numel(t); i++) t->data[i] = 0.05f + 0.9f * (float)sigm(t->data[i]);
    return t;
}

/* b = a + an offset of at least 0.05 in magnitude: no kink of |.| or max(.,0) within h */
static kgm_tensor *offset_tensor(const kgm_tensor *a, uint64_t seed, bool grad) {
    kgm_tensor *b = tu_tensor(a->rows, a->cols, seed, 1, grad);
    for (int64_t i = 0; i < kgm_tensor_numel(b); i++) {
        float o = b->data[i];
        b->data[i] = a->data[i] + (o >= 0 ? 0.05f + o : -0.05f + o);
    }
    return b;
}

Test(consistency, values_match_definitions) {
    enum { B = 6, K = 3 };
    kgm_tape *tp = new_tape();
    for (int d = 0; d <= KGM_CONS_ORDER; d++)
        for (int lg = 0; lg < 2; lg++) {
            if (d != KGM_CONS_SYM_KL && lg == 0) continue;
            kgm_tensor *a = lg ? tu_tensor(B, K, 5, 1, false) : prob_tensor(B, K, 5, false);
            kgm_tensor *b = lg ? tu_tensor(B, K, 6, 1, false) : prob_tensor(B, K, 6, false);
            kgm_consistency_cfg cfg = kgm_consistency_defaults((kgm_consistency_distance)d);
            cfg.weight = 0.7f;
            cfg.logits = lg;
            kgm_tensor *pen;
            OK(kgm_consistency_penalty(tp, &cfg, a, b, &pen));
            double want = 0;
            for (int r = 0; r < B; r++) want += ref_dist((kgm_consistency_distance)d, lg, a->data + r * K, b->data + r * K, K);
            want *= 0.7 / B;
            cr_assert(fabs(pen->data[0] - want) <= 1e-5 * (1 + fabs(want)), "distance %d logits %d: %g vs %g", d, lg,
                      pen->data[0], want);
            kgm_tensor_free(a);
            kgm_tensor_free(b);
        }
    /* identical predictions cost nothing (every distance) */
    kgm_tensor *a = prob_tensor(B, K, 7, false);
    for (int d = 0; d <= KGM_CONS_ORDER; d++) {
        kgm_consistency_cfg cfg = kgm_consistency_defaults((kgm_consistency_distance)d);
        cfg.logits = false;
        kgm_tensor *pen;
        OK(kgm_consistency_penalty(tp, &cfg, a, a, &pen));
        cr_assert(fabs(pen->data[0]) < 1e-6, "distance %d of a tensor to itself is %g", d, pen->data[0]);
    }
    kgm_consistency_distance dd;
    OK(kgm_consistency_distance_parse("sym_kl", &dd));
    cr_assert_eq(dd, KGM_CONS_SYM_KL);
    cr_assert_eq(kgm_consistency_distance_parse("l3", &dd), KGM_ERR_ARG);
    kgm_tensor *c = prob_tensor(B, K + 1, 8, false), *pen;
    kgm_consistency_cfg cfg = kgm_consistency_defaults(KGM_CONS_SQ);
    cr_assert_eq(kgm_consistency_penalty(tp, &cfg, a, c, &pen), KGM_ERR_SHAPE);
    kgm_tensor_free(a);
    kgm_tensor_free(c);
    kgm_tape_free(tp);
}

static kgm_status f_cons(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    return kgm_consistency_penalty(tp, vc, in[0], in[1], out);
}

Test(consistency, gradcheck_every_distance) {
    for (int s = 0; s < NSHAPES; s++)
        for (int d = 0; d <= KGM_CONS_ORDER; d++)
            for (int lg = 0; lg < 2; lg++) {
                if (d != KGM_CONS_SYM_KL && lg == 0) continue;
                int B = SHAPES[s][0], K = SHAPES[s][1];
                kgm_tensor *a = lg ? tu_tensor(B, K, 51, 1, true) : prob_tensor(B, K, 51, true);
                kgm_tensor *b = lg ? offset_tensor(a, 52, true) : prob_tensor(B, K, 52, true);
                kgm_consistency_cfg cfg = kgm_consistency_defaults((kgm_consistency_distance)d);
                cfg.weight = 1.3f;
                cfg.logits = lg;
                kgm_tensor *in[2] = {a, b};
                check(f_cons, in, 2, &cfg, "consistency", B, K);
                free_all(in, 2);
            }
}

Test(consistency, gradient_direction_and_detach) {
    enum { B = 5, K = 2 };
    kgm_tape *tp = new_tape();
    kgm_tensor *a = tu_tensor(B, K, 61, 1, true), *b = tu_tensor(B, K, 62, 1, true);
    kgm_consistency_cfg cfg = kgm_consistency_defaults(KGM_CONS_SQ);
    cfg.weight = 0.5f;
    kgm_tensor *pen;
    OK(kgm_consistency_penalty(tp, &cfg, a, b, &pen));
    OK(kgm_tape_backward(tp, pen));
    for (int i = 0; i < B * K; i++) {
        double g = 2 * 0.5 * (a->data[i] - b->data[i]) / B; /* d/da of w/B Σ (a-b)² */
        cr_assert(fabs(a->grad[i] - g) < 1e-6 && fabs(b->grad[i] + g) < 1e-6, "elem %d", i);
        /* a descent step moves both predictions toward each other */
        float a1 = a->data[i] - 0.1f * a->grad[i], b1 = b->data[i] - 0.1f * b->grad[i];
        cr_assert_lt(fabsf(a1 - b1), fabsf(a->data[i] - b->data[i]) + 1e-7f);
    }
    /* detach_a: only b moves */
    memset(a->grad, 0, sizeof(float) * B * K);
    memset(b->grad, 0, sizeof(float) * B * K);
    kgm_tape_reset(tp);
    cfg.detach_a = true;
    OK(kgm_consistency_penalty(tp, &cfg, a, b, &pen));
    OK(kgm_tape_backward(tp, pen));
    for (int i = 0; i < B * K; i++) {
        cr_assert_eq(a->grad[i], 0.0f, "detached input got a gradient");
        cr_assert(fabs(b->grad[i] + 2 * 0.5 * (a->data[i] - b->data[i]) / B) < 1e-6);
    }
    kgm_tensor_free(a);
    kgm_tensor_free(b);
    kgm_tape_free(tp);
}

/* Two logistic heads on the same samples, trained on labels that disagree on
 * a third of the rows: with the penalty, their predictions end closer. */
static double train_two_heads(kgm_consistency_distance dist, float weight, double *loss_out) {
    enum { N = 96, F = 6 };
    kgm_params *ps = new_store();
    int32_t wa, wb;
    OK(kgm_params_declare(ps, "a", F, 1, (kgm_init){KGM_INIT_NORMAL, 0.3f}, 0, 0, &wa));
    OK(kgm_params_declare(ps, "b", F, 1, (kgm_init){KGM_INIT_NORMAL, 0.3f}, 0, 0, &wb));
    OK(kgm_params_finalize(ps, 5));
    kgm_tensor *x = tu_tensor(N, F, 71, 1, false);
    float ya[N], yb[N];
    for (int i = 0; i < N; i++) {
        ya[i] = x->data[i * F] > 0;
        yb[i] = i % 3 == 0 ? 1.0f - ya[i] : ya[i];
    }
    kgm_tape *tp = new_tape();
    kgm_optim *o = new_optim(ps, KGM_OPT_SGD, 0.5f);
    double gap = 0;
    for (int step = 0; step <= 200; step++) {
        kgm_tape_reset(tp);
        kgm_params_zero_grad(ps);
        kgm_tensor *za, *zb, *la, *lb, *loss, *pa, *pb;
        OK(kgm_op_linear(tp, x, kgm_params_tensor(ps, wa), NULL, &za));
        OK(kgm_op_linear(tp, x, kgm_params_tensor(ps, wb), NULL, &zb));
        OK(kgm_op_bce_logits(tp, za, ya, NULL, &la));
        OK(kgm_op_bce_logits(tp, zb, yb, NULL, &lb));
        OK(kgm_op_add(tp, la, lb, &loss));
        *loss_out = loss->data[0];
        OK(kgm_op_sigmoid(tp, za, &pa));
        OK(kgm_op_sigmoid(tp, zb, &pb));
        gap = 0;
        for (int i = 0; i < N; i++) gap += fabs(pa->data[i] - pb->data[i]) / N;
        if (step == 200) break;
        if (weight > 0) {
            kgm_consistency_cfg cfg = kgm_consistency_defaults(dist);
            cfg.weight = weight;
            kgm_tensor *pen;
            if (dist == KGM_CONS_SYM_KL) OK(kgm_consistency_penalty(tp, &cfg, za, zb, &pen)); /* logits */
            else OK(kgm_consistency_penalty(tp, &cfg, pa, pb, &pen));                        /* probabilities */
            OK(kgm_op_add(tp, loss, pen, &loss));
        }
        OK(kgm_tape_backward(tp, loss));
        OK(kgm_optim_step(o, 1.0f, NULL));
    }
    kgm_tensor_free(x);
    kgm_optim_free(o);
    kgm_tape_free(tp);
    kgm_params_free(ps);
    return gap;
}

Test(consistency, pulls_two_tasks_together) {
    double l0, l1;
    double free_gap = train_two_heads(KGM_CONS_SQ, 0.0f, &l0);
    kgm_consistency_distance ds[] = {KGM_CONS_SQ, KGM_CONS_ABS, KGM_CONS_SYM_KL};
    for (int i = 0; i < 3; i++) {
        double gap = train_two_heads(ds[i], 2.0f, &l1);
        cr_assert_lt(gap, 0.6 * free_gap, "distance %d: prediction gap %g with the penalty vs %g without", (int)ds[i],
                     gap, free_gap);
        cr_assert_gt(l1, l0, "the penalty trades task loss for agreement");
    }
    /* deterministic */
    cr_assert_eq(train_two_heads(KGM_CONS_SQ, 2.0f, &l1), train_two_heads(KGM_CONS_SQ, 2.0f, &l0));
}

/* ==== 4. task fusion ========================================================== */

Test(fusion, fixed_kinds_exact_values) {
    enum { B = 5 };
    const float p1[B] = {0.5f, 0.25f, 1.0f, 0.0f, 0.75f}, p2[B] = {0.5f, 0.5f, 0.25f, 0.75f, 1.0f};
    kgm_tape *tp = new_tape();
    kgm_tensor *o[2];
    OK(kgm_tape_input(tp, B, 1, p1, &o[0]));
    OK(kgm_tape_input(tp, B, 1, p2, &o[1]));
    const float *cols[2] = {p1, p2};
    struct {
        const char *kind;
        float c0, c1;
    } cases[] = {{"sum", 1, 1}, {"product", 1, 1}, {"weighted", 2.0f, -0.5f}, {"power", 1.0f, 2.0f}, {"power", 1.0f, 0.5f}};
    for (int c = 0; c < 5; c++) {
        kgm_fusion_kind kind;
        OK(kgm_fusion_kind_parse(cases[c].kind, &kind));
        kgm_fusion_cfg cfg = kgm_fusion_defaults(kind, 2);
        cfg.coef[0] = cases[c].c0;
        cfg.coef[1] = cases[c].c1;
        kgm_fusion f;
        OK(kgm_fusion_declare(&f, &cfg, "fuse", NULL, 0));
        kgm_tensor *s;
        float ev[B];
        OK(kgm_fusion_forward(&f, tp, NULL, o, &s));
        OK(kgm_fusion_score(&f, NULL, B, cols, ev));
        for (int i = 0; i < B; i++) {
            double x = p1[i], y = p2[i], want;
            switch (kind) {
            case KGM_FUSION_SUM: want = x + y; break;
            case KGM_FUSION_PRODUCT: want = fmax(x, (double)1e-12f) * y; break;
            case KGM_FUSION_WEIGHTED: want = 2 * x - 0.5 * y; break;
            default: want = fmax(x, (double)1e-12f) * pow(y, cases[c].c1); break;
            }
            /* dyadic inputs: the results are exact in float (0 becomes the 1e-12 floor) */
            cr_assert_eq(s->data[i], (float)want, "%s/%g row %d: %.9g vs %.9g", cases[c].kind, cases[c].c1, i,
                         s->data[i], want);
            cr_assert_eq(ev[i], s->data[i], "evaluation path differs from the tape path");
        }
    }
    kgm_fusion f;
    kgm_fusion_cfg cfg = kgm_fusion_defaults(KGM_FUSION_SUM, 2);
    OK(kgm_fusion_declare(&f, &cfg, "fuse", NULL, 0));
    kgm_tensor *loss;
    float y[B] = {0};
    cr_assert_eq(kgm_fusion_loss(&f, tp, NULL, o, y, NULL, &loss), KGM_ERR_ARG, "fixed fusions have no loss");
    cfg.n_inputs = 0;
    cr_assert_eq(kgm_fusion_declare(&f, &cfg, "fuse", NULL, 0), KGM_ERR_ARG);
    kgm_fusion_kind kind;
    cr_assert_eq(kgm_fusion_kind_parse("max", &kind), KGM_ERR_ARG);
    kgm_tape_free(tp);
}

typedef struct {
    int n;
    const float *expo;
} pp_ctx;

static kgm_status f_pp(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    pp_ctx *c = vc;
    return kgm_op_power_product(tp, c->n, in, c->expo, 1e-12f, out);
}

Test(fusion, power_product_gradcheck) {
    const float expo[3] = {1.0f, 0.7f, 2.0f};
    for (int s = 0; s < NSHAPES; s++)
        for (int n = 1; n <= 3; n++) {
            int B = SHAPES[s][0] * SHAPES[s][1];
            kgm_tensor *in[3];
            for (int k = 0; k < n; k++) {
                in[k] = prob_tensor(B, 1, 80 + k, true);
                for (int i = 0; i < B; i++) in[k]->data[i] += 0.1f; /* away from the floor */
            }
            pp_ctx c = {n, s % 2 ? expo : NULL};
            check(f_pp, in, n, &c, "power_product", B, n);
            free_all(in, n);
        }
}

typedef struct {
    kgm_fusion *f;
    kgm_params *ps;
    bool loss;
    const float *y;
} fu_ctx;

static kgm_status f_fusion(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    fu_ctx *c = vc;
    if (c->loss) return kgm_fusion_loss(c->f, tp, c->ps, in, c->y, NULL, out);
    return kgm_fusion_forward(c->f, tp, c->ps, in, out);
}

Test(fusion, mlp_gradcheck_and_score_path) {
    static const int S[] = {1, 5, 17};
    for (int s = 0; s < 3; s++)
        for (int n = 1; n <= 3; n++)
            for (int detach = 0; detach < 2; detach++) {
                int B = S[s];
                kgm_params *ps = new_store();
                kgm_fusion f;
                kgm_fusion_cfg cfg = kgm_fusion_defaults(KGM_FUSION_MLP, n);
                cfg.hidden = 4;
                cfg.detach = detach;
                OK(kgm_fusion_declare(&f, &cfg, "fuse", ps, 3));
                OK(kgm_params_finalize(ps, 17 + n));
                kgm_tensor *in[3 + 4];
                for (int k = 0; k < n; k++) in[k] = prob_tensor(B, 1, 90 + k, true);
                for (int32_t id = 0; id < ps->n; id++) in[n + id] = kgm_params_tensor(ps, id);
                /* hidden pre-activations away from the relu kink: |Σ_k x_k W1| < 0.9 < |b1| */
                kgm_tensor *b1 = kgm_params_tensor(ps, f.b1), *w1 = kgm_params_tensor(ps, f.w1);
                for (int j = 0; j < 4; j++) b1->data[j] = j % 2 ? 1.0f : -1.0f;
                for (int64_t i = 0; i < kgm_tensor_numel(w1); i++) w1->data[i] *= 0.17f;
                float y[17];
                for (int i = 0; i < B; i++) y[i] = (float)(i % 2);
                /* detached: the task outputs get no gradient, so only the parameters are checked */
                float *saved[3];
                for (int k = 0; k < n; k++) {
                    saved[k] = in[k]->grad;
                    if (detach) in[k]->grad = NULL;
                }
                for (int loss = 0; loss < 2; loss++) {
                    fu_ctx c = {&f, ps, loss, y};
                    check(f_fusion, in, n + ps->n, &c, loss ? "fusion mlp loss" : "fusion mlp", B, n);
                }
                for (int k = 0; k < n; k++) in[k]->grad = saved[k];
                kgm_tape *tp = new_tape();
                kgm_tensor *sc;
                OK(kgm_fusion_forward(&f, tp, ps, in, &sc));
                const float *cols[3];
                float ev[17];
                for (int k = 0; k < n; k++) cols[k] = in[k]->data;
                OK(kgm_fusion_score(&f, ps, B, cols, ev));
                cr_assert_lt(max_abs_diff(ev, sc->data, B), 1e-6, "mlp: evaluation path differs from the tape path");
                if (detach) {
                    kgm_tensor *loss;
                    memset(in[0]->grad, 0, sizeof(float) * B);
                    OK(kgm_fusion_loss(&f, tp, ps, in, y, NULL, &loss));
                    OK(kgm_tape_backward(tp, loss));
                    for (int i = 0; i < B; i++) cr_assert_eq(in[0]->grad[i], 0.0f, "detached task output got a gradient");
                }
                kgm_tape_free(tp);
                free_all(in, n);
                kgm_params_free(ps);
            }
}

/* Two scores whose conjunction is the label (clicked AND converted): the
 * learned fusion fits it far better than it starts, and better than the sum. */
Test(fusion, mlp_learns_a_conjunction) {
    enum { N = 256 };
    kgm_params *ps = new_store();
    kgm_fusion f;
    kgm_fusion_cfg cfg = kgm_fusion_defaults(KGM_FUSION_MLP, 2);
    cfg.hidden = 8;
    OK(kgm_fusion_declare(&f, &cfg, "fuse", ps, 0));
    OK(kgm_params_finalize(ps, 4));
    float p1[N], p2[N], y[N];
    kgm_rng r;
    kgm_rng_init(&r, 3, 3);
    for (int i = 0; i < N; i++) {
        p1[i] = (float)kgm_rng_uniform(&r);
        p2[i] = (float)kgm_rng_uniform(&r);
        y[i] = p1[i] > 0.5f && p2[i] > 0.5f;
    }
    kgm_tape *tp = new_tape();
    kgm_optim *o = new_optim(ps, KGM_OPT_ADAM, 0.05f);
    double first = 0, last = 0;
    for (int step = 0; step < 800; step++) {
        kgm_tape_reset(tp);
        kgm_params_zero_grad(ps);
        kgm_tensor *in[2], *loss;
        OK(kgm_tape_input(tp, N, 1, p1, &in[0]));
        OK(kgm_tape_input(tp, N, 1, p2, &in[1]));
        OK(kgm_fusion_loss(&f, tp, ps, in, y, NULL, &loss));
        if (step == 0) first = loss->data[0];
        last = loss->data[0];
        OK(kgm_tape_backward(tp, loss));
        OK(kgm_optim_step(o, 1.0f, NULL));
    }
    cr_assert_lt(last, 0.3 * first, "learned fusion: loss %g -> %g", first, last);
    /* classification by the fused score at 0.5 */
    float sc[N];
    const float *cols[2] = {p1, p2};
    OK(kgm_fusion_score(&f, ps, N, cols, sc));
    int wrong = 0;
    for (int i = 0; i < N; i++) wrong += (sc[i] > 0.5f) != (y[i] > 0.5f);
    cr_assert_lt(wrong, N / 20, "learned fusion misclassifies %d of %d rows", wrong, N);
    kgm_optim_free(o);
    kgm_tape_free(tp);
    kgm_params_free(ps);
}

/* ==== 5. connections (AITM) ================================================== */

typedef struct {
    kgm_connection *c;
    kgm_params *ps;
    bool attn;
} cn_ctx;

static kgm_status f_conn(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    cn_ctx *c = vc;
    kgm_tensor *o, *a;
    KGM_TRY(kgm_connection_forward(c->c, tp, c->ps, in[0], in[1], &o, &a));
    *out = c->attn ? a : o;
    return KGM_OK;
}

Test(connection, gradcheck_aitm_and_gate) {
    static const int S[][3] = {{1, 1, 1}, {1, 3, 5}, {5, 1, 2}, {4, 6, 3}, {9, 4, 8}};
    for (int s = 0; s < 5; s++)
        for (int kind = 0; kind < 2; kind++)
            for (int attn = 0; attn < 2; attn++) {
                int B = S[s][0], Fd = S[s][1], Dd = S[s][2];
                kgm_params *ps = new_store();
                kgm_connection c;
                OK(kgm_connection_declare(&c, (kgm_connection_kind)kind, "conn", 0, 1, Fd, Dd, ps, 1));
                OK(kgm_params_finalize(ps, 30 + s));
                /* the transfer's relu: keep pre-activations away from 0 */
                kgm_tensor *bt = kgm_params_tensor(ps, c.bt);
                for (int h = 0; h < Dd; h++) bt->data[h] = h % 2 ? 0.8f : -0.8f;
                kgm_tensor *in[2 + 7];
                in[0] = tu_tensor(B, Fd, 120 + s, 0.3f, true);
                in[1] = tu_tensor(B, Dd, 130 + s, 1, true);
                for (int32_t id = 0; id < ps->n; id++) in[2 + id] = kgm_params_tensor(ps, id);
                cn_ctx cx = {&c, ps, attn};
                check(f_conn, in, 2 + ps->n, &cx, kind ? "gate" : "aitm", B, Dd);
                free_all(in, 2);
                kgm_params_free(ps);
            }
}

Test(connection, attention_rows_are_distributions_and_direction_is_configurable) {
    enum { B = 6, D = 4 };
    kgm_params *ps = new_store();
    kgm_connection c[2];
    OK(kgm_connection_declare(&c[0], KGM_CONN_AITM, "conn0", 0, 1, D, D, ps, 1));
    OK(kgm_connection_declare(&c[1], KGM_CONN_GATE, "conn1", 1, 2, D, D, ps, 2));
    cr_assert_eq(kgm_connection_declare(&c[1], KGM_CONN_GATE, "bad", 2, 2, D, D, ps, 2), KGM_ERR_ARG);
    kgm_connection_kind k;
    OK(kgm_connection_kind_parse("aitm", &k));
    cr_assert_eq(k, KGM_CONN_AITM);
    cr_assert_eq(kgm_connection_kind_parse("film", &k), KGM_ERR_ARG);
    OK(kgm_params_finalize(ps, 1));
    kgm_tape *tp = new_tape();
    kgm_tensor *h0 = tu_tensor(B, D, 1, 1, false), *h1 = tu_tensor(B, D, 2, 1, false), *h2 = tu_tensor(B, D, 3, 1, false);
    kgm_tensor *o, *a;
    OK(kgm_connection_forward(&c[0], tp, ps, h0, h1, &o, &a));
    cr_assert_eq(a->rows, B);
    cr_assert_eq(a->cols, 2);
    for (int i = 0; i < B; i++) cr_assert_float_eq(a->data[2 * i] + a->data[2 * i + 1], 1.0f, 1e-6);
    /* apply: 0 -> 1 then 1 -> 2 reads 1's updated representation; task 0 is untouched */
    kgm_tensor *hid[3] = {h0, h1, h2};
    OK(kgm_connection_apply(c, 2, tp, ps, 3, hid));
    cr_assert_eq(hid[0], h0);
    cr_assert_lt(max_abs_diff(hid[1]->data, o->data, B * D), 1e-7);
    kgm_tensor *o2;
    OK(kgm_connection_forward(&c[1], tp, ps, o, h2, &o2, NULL));
    cr_assert_lt(max_abs_diff(hid[2]->data, o2->data, B * D), 1e-7);
    /* a target not computed this step is skipped; a missing source is an error */
    kgm_tensor *hid2[3] = {h0, NULL, h2};
    cr_assert_eq(kgm_connection_apply(c, 1, tp, ps, 3, hid2), KGM_OK);
    cr_assert_null(hid2[1]);
    cr_assert_eq(kgm_connection_apply(c + 1, 1, tp, ps, 3, hid2), KGM_ERR_STATE);
    bool want[3] = {false, false, true};
    kgm_connection_expand_want(c, 2, 3, want);
    cr_assert(want[0] && want[1] && want[2], "the chain 0 -> 1 -> 2 needs every task");
    kgm_tensor *t[3] = {h0, h1, h2};
    free_all(t, 3);
    kgm_tape_free(tp);
    kgm_params_free(ps);
}

/* Synthetic click -> conversion world: x (N, F); click = [|u·x| > 0.6]
 * (nonlinear), conversion = click AND [w·x > 0]. The conversion tower sees
 * only the second half of x, so it depends on the click tower's signal; with
 * an AITM connection click -> conversion it can read it. Returns the mean
 * conversion loss over the run (area under the learning curve) and the loss
 * at the end. */
enum { TR_N = 256, TR_F = 8, TR_H = 8 };

static void transfer_world(uint64_t seed, float *x, float *y1, float *y2) {
    kgm_rng r;
    kgm_rng_init(&r, seed, 11);
    float u[TR_F], w[TR_F];
    for (int j = 0; j < TR_F; j++) {
        u[j] = j < TR_F / 2 ? (float)kgm_rng_normal(&r) : 0.0f; /* click: first half */
        w[j] = j >= TR_F / 2 ? (float)kgm_rng_normal(&r) : 0.0f; /* conversion's own part: second half */
    }
    for (int i = 0; i < TR_N; i++) {
        double su = 0, sw = 0;
        for (int j = 0; j < TR_F; j++) {
            x[i * TR_F + j] = (float)kgm_rng_normal(&r);
            su += u[j] * x[i * TR_F + j];
            sw += w[j] * x[i * TR_F + j];
        }
        y1[i] = fabs(su) > 0.6 * sqrt(TR_F / 2);
        y2[i] = y1[i] > 0 && sw > 0;
    }
}

static void train_transfer(uint64_t seed, bool transfer, double *auc_loss, double *end_loss) {
    float x[TR_N * TR_F], y1[TR_N], y2[TR_N];
    transfer_world(seed, x, y1, y2);
    kgm_params *ps = new_store();
    int32_t w[2], b[2], hw[2], hb[2];
    const char *nm[2][4] = {{"t0/w", "t0/b", "t0/head_w", "t0/head_b"}, {"t1/w", "t1/b", "t1/head_w", "t1/head_b"}};
    for (int k = 0; k < 2; k++) {
        OK(kgm_params_declare(ps, nm[k][0], TR_F / 2, TR_H, (kgm_init){KGM_INIT_KAIMING_UNIFORM, 0}, 0, k, &w[k]));
        OK(kgm_params_declare(ps, nm[k][1], 1, TR_H, (kgm_init){KGM_INIT_ZEROS, 0}, 0, k, &b[k]));
        OK(kgm_params_declare(ps, nm[k][2], TR_H, 1, (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, k, &hw[k]));
        OK(kgm_params_declare(ps, nm[k][3], 1, 1, (kgm_init){KGM_INIT_ZEROS, 0}, 0, k, &hb[k]));
    }
    kgm_connection conn;
    if (transfer) OK(kgm_connection_declare(&conn, KGM_CONN_AITM, "conn", 0, 1, TR_H, TR_H, ps, 1));
    OK(kgm_params_finalize(ps, seed));
    kgm_tape *tp = new_tape();
    kgm_optim *o = new_optim(ps, KGM_OPT_ADAM, 0.02f);
    enum { STEPS = 300 };
    double sum = 0;
    for (int step = 0; step < STEPS; step++) {
        kgm_tape_reset(tp);
        kgm_params_zero_grad(ps);
        kgm_tensor *xt, *hid[2], *z[2], *l[2], *loss;
        OK(kgm_tape_input(tp, TR_N, TR_F, x, &xt));
        for (int k = 0; k < 2; k++) {
            kgm_tensor *xs;
            OK(kgm_op_slice_cols(tp, xt, k * TR_F / 2, TR_F / 2, &xs)); /* task k sees its half */
            OK(kgm_op_linear(tp, xs, kgm_params_tensor(ps, w[k]), kgm_params_tensor(ps, b[k]), &hid[k]));
            OK(kgm_op_relu(tp, hid[k], &hid[k]));
        }
        if (transfer) OK(kgm_connection_apply(&conn, 1, tp, ps, 2, hid));
        for (int k = 0; k < 2; k++)
            OK(kgm_op_linear(tp, hid[k], kgm_params_tensor(ps, hw[k]), kgm_params_tensor(ps, hb[k]), &z[k]));
        OK(kgm_op_bce_logits(tp, z[0], y1, NULL, &l[0]));
        OK(kgm_op_bce_logits(tp, z[1], y2, NULL, &l[1]));
        sum += l[1]->data[0];
        *end_loss = l[1]->data[0];
        OK(kgm_op_add(tp, l[0], l[1], &loss));
        OK(kgm_tape_backward(tp, loss));
        OK(kgm_optim_step(o, 1.0f, NULL));
    }
    *auc_loss = sum / STEPS;
    kgm_optim_free(o);
    kgm_tape_free(tp);
    kgm_params_free(ps);
}

Test(connection, aitm_transfer_speeds_up_the_dependent_task, .timeout = 600) /* ~1 s natively; minutes under valgrind */ {
    for (uint64_t seed = 1; seed <= 3; seed++) {
        double with_mean, with_end, without_mean, without_end;
        train_transfer(seed, true, &with_mean, &with_end);
        train_transfer(seed, false, &without_mean, &without_end);
        cr_log_info("seed %llu: conversion loss mean %.4f / end %.4f with transfer, %.4f / %.4f without",
                    (unsigned long long)seed, with_mean, with_end, without_mean, without_end);
        cr_assert_lt(with_mean, without_mean, "seed %llu: the transfer did not speed up learning", (unsigned long long)seed);
        cr_assert_lt(with_end, 0.8 * without_end, "seed %llu: end loss %g with transfer vs %g without",
                     (unsigned long long)seed, with_end, without_end);
        double again_mean, again_end;
        train_transfer(seed, true, &again_mean, &again_end);
        cr_assert_eq(again_mean, with_mean, "deterministic for a fixed seed");
    }
}
