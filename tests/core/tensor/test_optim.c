/* Optimiser tests: single steps against updates computed by hand in double,
 * convergence to known optima (convex quadratic, L2-regularised logistic
 * regression checked against a Newton solve), lazy row-sparse updates,
 * clipping, parameter groups and non-finite gradients. */
#include <criterion/criterion.h>
#include <math.h>

#include "tests/common/testutil.h"

/* float result vs double reference: absolute + relative tolerance. */
#define ASSERT_CLOSE(got, want, atol, rtol, ...)                                                   \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        cr_assert(fabs(g_ - w_) <= (atol) + (rtol) * fabs(w_), __VA_ARGS__);                       \
    } while (0)

#define OK(expr)                                                                                   \
    do {                                                                                           \
        kgm_status st_ = (expr);                                                                   \
        cr_assert_eq(st_, KGM_OK, "%s -> %s: %s", #expr, kgm_status_str(st_), kgm_error_message()); \
    } while (0)

/* A finalised store with one dense parameter "w" (rows, cols) drawn N(0,1). */
static kgm_params *one_param_store(int rows, int cols, uint64_t seed) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    OK(kgm_params_declare(ps, "w", rows, cols, (kgm_init){KGM_INIT_NORMAL, 1.0f}, 0, 0, NULL));
    OK(kgm_params_finalize(ps, seed));
    return ps;
}

/* Write a gradient by hand, as a backward pass would have. */
static void set_grad(kgm_params *ps, int32_t id, const double *g) {
    kgm_param *p = &ps->p[id];
    for (int64_t i = 0; i < kgm_tensor_numel(&p->t); i++) p->t.grad[i] = (float)g[i];
    p->has_grad = true;
}

static void fill_grad(double *g, int64_t n, uint64_t seed, double scale) {
    kgm_rng r;
    kgm_rng_init(&r, seed, 7);
    for (int64_t i = 0; i < n; i++) g[i] = scale * kgm_rng_normal(&r);
}

/* ---- single steps by hand ------------------------------------------------- */

/* Adam (L2 in the gradient) or AdamW (decoupled decay): two steps, so that
 * both bias corrections are exercised, each compared with a double-precision
 * reference that starts from the same float values. */
static void adam_by_hand(kgm_optim_kind kind) {
    enum { R = 4, C = 7, N = R * C };
    kgm_params *ps = one_param_store(R, C, 11);
    kgm_optim_cfg cfg = kgm_optim_defaults(kind);
    cfg.lr = 0.01f;
    cfg.weight_decay = 0.05f;
    cfg.beta1 = 0.8f;
    cfg.beta2 = 0.95f;
    cfg.eps = 1e-6f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    double w[N], m[N] = {0}, v[N] = {0}, g[N];
    float *pw = ps->p[0].t.data;
    for (int i = 0; i < N; i++) w[i] = pw[i];
    double b1 = cfg.beta1, b2 = cfg.beta2, lr = cfg.lr, wd = cfg.weight_decay, eps = cfg.eps;
    for (int t = 1; t <= 2; t++) {
        fill_grad(g, N, 100 + t, 0.5);
        set_grad(ps, 0, g);
        OK(kgm_optim_step(o, 1.0f, NULL));
        for (int i = 0; i < N; i++) {
            double gi = g[i] + (kind == KGM_OPT_ADAM ? wd * w[i] : 0.0);
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            if (kind == KGM_OPT_ADAMW) w[i] -= lr * wd * w[i];
            w[i] -= lr * mh / (sqrt(vh) + eps);
        }
        for (int i = 0; i < N; i++) {
            ASSERT_CLOSE(pw[i], w[i], 1e-6, 1e-5, "step %d elem %d: %.9g vs %.9g", t, i, pw[i], w[i]);
            ASSERT_CLOSE(o->m[i], m[i], 1e-7, 1e-5, "m step %d elem %d", t, i);
            ASSERT_CLOSE(o->v[i], v[i], 1e-9, 1e-5, "v step %d elem %d", t, i);
        }
        kgm_params_zero_grad(ps);
    }
    cr_assert_eq(o->steps[0], 2);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, adam_step_matches_hand_computed) { adam_by_hand(KGM_OPT_ADAM); }
Test(optim, adamw_step_matches_hand_computed) { adam_by_hand(KGM_OPT_ADAMW); }

Test(optim, adam_and_adamw_differ_only_in_decay) {
    /* Without weight decay both are the same algorithm, bit for bit. */
    kgm_params *a = one_param_store(3, 3, 5), *b = one_param_store(3, 3, 5);
    kgm_optim_cfg ca = kgm_optim_defaults(KGM_OPT_ADAM), cb = kgm_optim_defaults(KGM_OPT_ADAMW);
    kgm_optim *oa, *ob;
    OK(kgm_optim_new(a, &ca, &oa));
    OK(kgm_optim_new(b, &cb, &ob));
    double g[9];
    for (int t = 0; t < 3; t++) {
        fill_grad(g, 9, 40 + t, 1.0);
        set_grad(a, 0, g);
        set_grad(b, 0, g);
        OK(kgm_optim_step(oa, 1.0f, NULL));
        OK(kgm_optim_step(ob, 1.0f, NULL));
    }
    cr_assert(memcmp(a->data, b->data, 9 * sizeof(float)) == 0);
    kgm_optim_free(oa);
    kgm_optim_free(ob);
    kgm_params_free(a);
    kgm_params_free(b);
}

Test(optim, sgd_momentum_weight_decay_by_hand) {
    enum { N = 10 };
    kgm_params *ps = one_param_store(N, 1, 3);
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_SGD);
    cfg.lr = 0.1f;
    cfg.momentum = 0.9f;
    cfg.weight_decay = 0.01f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    double w[N], buf[N] = {0}, g[N];
    float *pw = ps->p[0].t.data;
    for (int i = 0; i < N; i++) w[i] = pw[i];
    for (int t = 1; t <= 3; t++) {
        fill_grad(g, N, 200 + t, 1.0);
        set_grad(ps, 0, g);
        OK(kgm_optim_step(o, 0.5f, NULL)); /* lr_scale halves the rate */
        for (int i = 0; i < N; i++) {
            double gi = g[i] + 0.01 * w[i];
            buf[i] = 0.9 * buf[i] + gi; /* PyTorch convention: no dampening */
            w[i] -= 0.05 * buf[i];
            ASSERT_CLOSE(pw[i], w[i], 1e-6, 1e-5, "step %d elem %d", t, i);
        }
        kgm_params_zero_grad(ps);
    }
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, sgd_plain_has_no_state) {
    kgm_params *ps = one_param_store(5, 1, 3);
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_SGD);
    cfg.lr = 0.25f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    cr_assert_null(o->m, "plain SGD needs no momentum buffer");
    double g[5] = {1, -2, 0.5, 0, 4}, w[5];
    for (int i = 0; i < 5; i++) w[i] = ps->p[0].t.data[i];
    set_grad(ps, 0, g);
    OK(kgm_optim_step(o, 1.0f, NULL));
    for (int i = 0; i < 5; i++) ASSERT_CLOSE(ps->p[0].t.data[i], w[i] - 0.25 * g[i], 1e-7, 1e-6, "elem %d", i);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, adagrad_by_hand) {
    enum { N = 12 };
    kgm_params *ps = one_param_store(3, 4, 9);
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_ADAGRAD);
    cfg.lr = 0.1f;
    cfg.adagrad_init = 0.1f;
    cfg.weight_decay = 0.02f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    double w[N], acc[N], g[N];
    float *pw = ps->p[0].t.data;
    for (int i = 0; i < N; i++) {
        w[i] = pw[i];
        acc[i] = 0.1;
    }
    for (int t = 1; t <= 3; t++) {
        fill_grad(g, N, 300 + t, 2.0);
        set_grad(ps, 0, g);
        OK(kgm_optim_step(o, 1.0f, NULL));
        for (int i = 0; i < N; i++) {
            double gi = g[i] + 0.02 * w[i];
            acc[i] += gi * gi;
            w[i] -= 0.1 * gi / (sqrt(acc[i]) + (double)cfg.eps);
            ASSERT_CLOSE(pw[i], w[i], 1e-6, 1e-5, "step %d elem %d", t, i);
            ASSERT_CLOSE(o->m[i], acc[i], 1e-6, 1e-5, "accumulator step %d elem %d", t, i);
        }
        kgm_params_zero_grad(ps);
    }
    kgm_optim_free(o);
    kgm_params_free(ps);
}

/* ---- convergence: convex quadratic ----------------------------------------- */

/* f(w) = 1/2 w^T A w - b^T w with A symmetric positive definite, built on
 * the tape; the optimum A^{-1} b is solved in double. */
enum { QN = 6 };

typedef struct {
    double A[QN][QN], b[QN], wstar[QN], lmax;
    float Af[QN * QN], bf[QN];
} quadratic_t;

/* Solve M x = r (n x n, row-major, destroyed) by Gaussian elimination with
 * partial pivoting. */
static void solve(double *M, double *r, int n, double *x) {
    for (int k = 0; k < n; k++) {
        int p = k;
        for (int i = k + 1; i < n; i++)
            if (fabs(M[i * n + k]) > fabs(M[p * n + k])) p = i;
        for (int j = 0; j < n; j++) {
            double t = M[k * n + j];
            M[k * n + j] = M[p * n + j];
            M[p * n + j] = t;
        }
        double t = r[k];
        r[k] = r[p];
        r[p] = t;
        for (int i = k + 1; i < n; i++) {
            double f = M[i * n + k] / M[k * n + k];
            for (int j = k; j < n; j++) M[i * n + j] -= f * M[k * n + j];
            r[i] -= f * r[k];
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = r[i];
        for (int j = i + 1; j < n; j++) s -= M[i * n + j] * x[j];
        x[i] = s / M[i * n + i];
    }
}

static void quad_make(quadratic_t *q) {
    kgm_rng r;
    kgm_rng_init(&r, 77, 1);
    double M[QN][QN];
    for (int i = 0; i < QN; i++)
        for (int j = 0; j < QN; j++) M[i][j] = kgm_rng_normal(&r);
    for (int i = 0; i < QN; i++) {
        for (int j = 0; j < QN; j++) {
            double s = 0;
            for (int k = 0; k < QN; k++) s += M[i][k] * M[j][k];
            q->A[i][j] = 0.5 * s / QN + (i == j ? 0.5 : 0.0);
        }
        q->b[i] = kgm_rng_normal(&r);
    }
    /* Round to float first: the tape sees the float problem. */
    for (int i = 0; i < QN; i++) {
        q->bf[i] = (float)q->b[i];
        q->b[i] = q->bf[i];
        for (int j = 0; j < QN; j++) {
            q->Af[i * QN + j] = (float)q->A[i][j];
            q->A[i][j] = q->Af[i * QN + j];
        }
    }
    double Mc[QN * QN], rc[QN];
    memcpy(Mc, q->A, sizeof Mc);
    memcpy(rc, q->b, sizeof rc);
    solve(Mc, rc, QN, q->wstar);
    /* Largest eigenvalue by power iteration (for a safe SGD rate). */
    double x[QN], y[QN];
    for (int i = 0; i < QN; i++) x[i] = 1.0;
    for (int it = 0; it < 500; it++) {
        double nrm = 0;
        for (int i = 0; i < QN; i++) {
            y[i] = 0;
            for (int j = 0; j < QN; j++) y[i] += q->A[i][j] * x[j];
            nrm += y[i] * y[i];
        }
        nrm = sqrt(nrm);
        q->lmax = nrm;
        for (int i = 0; i < QN; i++) x[i] = y[i] / nrm;
    }
}

static kgm_status quad_loss(kgm_tape *tp, const quadratic_t *q, kgm_tensor *w, kgm_tensor **loss) {
    kgm_tensor *A, *b, *Aw, *wAw, *s1, *bw, *s2, *half;
    KGM_TRY(kgm_tape_input(tp, QN, QN, q->Af, &A));
    KGM_TRY(kgm_tape_input(tp, QN, 1, q->bf, &b));
    KGM_TRY(kgm_op_matmul(tp, A, w, false, false, &Aw));
    KGM_TRY(kgm_op_mul(tp, w, Aw, &wAw));
    KGM_TRY(kgm_op_sum(tp, wAw, &s1));
    KGM_TRY(kgm_op_scale(tp, s1, 0.5f, 0.0f, &half));
    KGM_TRY(kgm_op_mul(tp, w, b, &bw));
    KGM_TRY(kgm_op_sum(tp, bw, &s2));
    return kgm_op_sub(tp, half, s2, loss);
}

static void run_quadratic(kgm_optim_cfg cfg, int steps, bool decay, double tol) {
    quadratic_t q;
    quad_make(&q);
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    int32_t id;
    OK(kgm_params_declare(ps, "w", QN, 1, (kgm_init){KGM_INIT_NORMAL, 1.0f}, 0, 0, &id));
    OK(kgm_params_finalize(ps, 1));
    if (cfg.kind == KGM_OPT_SGD) cfg.lr = (float)(1.0 / q.lmax);
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    kgm_tape *tp;
    OK(kgm_tape_new(1 << 20, &tp));
    kgm_tensor *w = kgm_params_tensor(ps, id);
    for (int s = 0; s < steps; s++) {
        kgm_tensor *loss;
        kgm_params_zero_grad(ps);
        OK(quad_loss(tp, &q, w, &loss));
        OK(kgm_tape_backward(tp, loss));
        /* cosine decay to 0 lets Adam settle instead of hovering at ~lr */
        float scale = decay ? (float)(0.5 * (1 + cos(M_PI * s / steps))) : 1.0f;
        OK(kgm_optim_step(o, scale, NULL));
        kgm_tape_reset(tp);
    }
    for (int i = 0; i < QN; i++)
        ASSERT_CLOSE(w->data[i], q.wstar[i], tol, 0, "w[%d] = %.7g, optimum %.7g", i, w->data[i], q.wstar[i]);
    kgm_tape_free(tp);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

/* Defaults of `kind` with the given rate and momentum. */
static kgm_optim_cfg mkcfg(kgm_optim_kind kind, float lr, float momentum) {
    kgm_optim_cfg c = kgm_optim_defaults(kind);
    c.lr = lr;
    c.momentum = momentum;
    return c;
}

/* (SGD rates are replaced by 1/lambda_max inside run_quadratic.) */
Test(optim, sgd_solves_convex_quadratic) { run_quadratic(mkcfg(KGM_OPT_SGD, 0, 0), 2000, false, 1e-4); }
Test(optim, sgd_momentum_solves_convex_quadratic) {
    run_quadratic(mkcfg(KGM_OPT_SGD, 0, 0.5f), 1000, false, 1e-4);
}
Test(optim, adam_solves_convex_quadratic) { run_quadratic(mkcfg(KGM_OPT_ADAM, 0.05f, 0), 3000, true, 1e-3); }
Test(optim, adagrad_solves_convex_quadratic) {
    run_quadratic(mkcfg(KGM_OPT_ADAGRAD, 0.5f, 0), 3000, false, 1e-3);
}

/* ---- convergence: L2-regularised logistic regression ---------------------- */

enum { LN = 400, LD = 5 };

typedef struct {
    float X[LN * LD], y[LN];
    double lambda;
    double w[LD], b; /* reference optimum */
} logreg_t;

/* Mean BCE + lambda/2 |w|^2 (bias not penalised); Newton's method in double. */
static void logreg_make(logreg_t *L) {
    kgm_rng r;
    kgm_rng_init(&r, 2024, 3);
    const double wt[LD] = {1.5, -2.0, 0.7, 0.0, 3.0};
    L->lambda = 0.01;
    for (int i = 0; i < LN; i++) {
        double z = 0.4;
        for (int j = 0; j < LD; j++) {
            L->X[i * LD + j] = (float)kgm_rng_normal(&r);
            z += wt[j] * L->X[i * LD + j];
        }
        /* labels from the logistic model itself: separable-ish, never fully */
        L->y[i] = kgm_rng_uniform(&r) < 1.0 / (1.0 + exp(-z)) ? 1.0f : 0.0f;
    }
    enum { P = LD + 1 };
    double th[P] = {0};
    for (int it = 0; it < 50; it++) {
        double g[P] = {0}, H[P * P] = {0};
        for (int i = 0; i < LN; i++) {
            double x[P], z = 0;
            for (int j = 0; j < LD; j++) x[j] = L->X[i * LD + j];
            x[LD] = 1.0;
            for (int j = 0; j < P; j++) z += th[j] * x[j];
            double p = 1.0 / (1.0 + exp(-z)), s = p * (1 - p);
            for (int j = 0; j < P; j++) {
                g[j] += (p - L->y[i]) * x[j] / LN;
                for (int k = 0; k < P; k++) H[j * P + k] += s * x[j] * x[k] / LN;
            }
        }
        for (int j = 0; j < LD; j++) {
            g[j] += L->lambda * th[j];
            H[j * P + j] += L->lambda;
        }
        double d[P];
        solve(H, g, P, d);
        for (int j = 0; j < P; j++) th[j] -= d[j];
    }
    for (int j = 0; j < LD; j++) L->w[j] = th[j];
    L->b = th[LD];
}

static void run_logreg(kgm_optim_cfg cfg, int steps, bool decay, double tol) {
    static logreg_t L;
    logreg_make(&L);
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    int32_t iw, ib;
    OK(kgm_params_declare(ps, "lr.w", LD, 1, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 0, &iw));
    OK(kgm_params_declare(ps, "lr.b", 1, 1, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 0, &ib));
    OK(kgm_params_finalize(ps, 1));
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    kgm_tape *tp;
    OK(kgm_tape_new(4 << 20, &tp));
    kgm_tensor *W = kgm_params_tensor(ps, iw), *B = kgm_params_tensor(ps, ib);
    for (int s = 0; s < steps; s++) {
        kgm_params_zero_grad(ps);
        kgm_tensor *X, *z, *bce, *ww, *sq, *pen, *loss;
        OK(kgm_tape_input(tp, LN, LD, L.X, &X));
        OK(kgm_op_linear(tp, X, W, B, &z));
        OK(kgm_op_bce_logits(tp, z, L.y, NULL, &bce));
        OK(kgm_op_mul(tp, W, W, &ww));
        OK(kgm_op_sum(tp, ww, &sq));
        OK(kgm_op_scale(tp, sq, (float)(0.5 * L.lambda), 0.0f, &pen));
        OK(kgm_op_add(tp, bce, pen, &loss));
        OK(kgm_tape_backward(tp, loss));
        float scale = decay ? (float)(0.5 * (1 + cos(M_PI * s / steps))) : 1.0f;
        OK(kgm_optim_step(o, scale, NULL));
        kgm_tape_reset(tp);
    }
    for (int j = 0; j < LD; j++)
        ASSERT_CLOSE(W->data[j], L.w[j], tol, 0, "w[%d] = %.6g, Newton optimum %.6g", j, W->data[j], L.w[j]);
    ASSERT_CLOSE(B->data[0], L.b, tol, 0, "b = %.6g, Newton optimum %.6g", B->data[0], L.b);
    kgm_tape_free(tp);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, sgd_momentum_solves_logistic_regression) {
    run_logreg(mkcfg(KGM_OPT_SGD, 0.5f, 0.9f), 3000, false, 2e-3);
}
Test(optim, adam_solves_logistic_regression) { run_logreg(mkcfg(KGM_OPT_ADAM, 0.05f, 0), 3000, true, 2e-3); }

/* ---- lazy row-sparse updates ---------------------------------------------- */

enum { ER = 50, ED = 8 };

/* loss = mse(gather(E, idx) · W, 0) with E sparse (ER, ED), W dense (ED, 1). */
static void sparse_step(kgm_params *ps, kgm_optim *o, kgm_tape *tp, const int32_t *idx, int n) {
    kgm_params_zero_grad(ps);
    kgm_tensor *E = kgm_params_tensor(ps, 0), *W = kgm_params_tensor(ps, 1), *e, *y, *loss;
    OK(kgm_op_gather(tp, E, idx, n, &e));
    OK(kgm_op_linear(tp, e, W, NULL, &y));
    float tgt[16] = {1, -1, 2, 0.5, 1, -1, 2, 0.5, 1, -1, 2, 0.5, 1, -1, 2, 0.5};
    OK(kgm_op_mse(tp, y, tgt, NULL, &loss));
    OK(kgm_tape_backward(tp, loss));
    OK(kgm_optim_step(o, 1.0f, NULL));
    kgm_tape_reset(tp);
}

static kgm_params *sparse_store(void) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    OK(kgm_params_declare(ps, "emb", ER, ED, (kgm_init){KGM_INIT_NORMAL, 0.1f}, KGM_TENSOR_SPARSE, 0, NULL));
    OK(kgm_params_declare(ps, "W", ED, 1, (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, 0, NULL));
    OK(kgm_params_finalize(ps, 5));
    return ps;
}

static bool row_in(int32_t r, const int32_t *idx, int n) {
    for (int i = 0; i < n; i++)
        if (idx[i] == r) return true;
    return false;
}

static void check_lazy(kgm_optim_kind kind) {
    kgm_params *ps = sparse_store();
    kgm_optim_cfg cfg = kgm_optim_defaults(kind);
    cfg.lr = 0.05f;
    cfg.weight_decay = 0.01f; /* decay must stay lazy as well */
    if (kind == KGM_OPT_SGD) cfg.momentum = 0.9f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    kgm_tape *tp;
    OK(kgm_tape_new(1 << 20, &tp));
    const size_t tab = (size_t)ER * ED;
    float *w0 = malloc(tab * sizeof(float)), *m0 = calloc(tab, sizeof(float)), *v0 = calloc(tab, sizeof(float));
    const int32_t b1[] = {3, 7, 7, 20}, b2[] = {7, 41, 3};
    const int32_t *batches[2] = {b1, b2};
    int ns[2] = {4, 3};
    for (int s = 0; s < 2; s++) {
        memcpy(w0, ps->data, tab * sizeof(float));
        if (o->m) memcpy(m0, o->m, tab * sizeof(float));
        if (o->v) memcpy(v0, o->v, tab * sizeof(float));
        sparse_step(ps, o, tp, batches[s], ns[s]);
        kgm_param *p = &ps->p[0];
        cr_assert_not(p->all_touched, "gather must keep the table row-sparse");
        cr_assert_eq(p->n_touched, s == 0 ? 3 : 3, "distinct touched rows");
        for (int32_t r = 0; r < ER; r++) {
            size_t off = (size_t)r * ED, bytes = ED * sizeof(float);
            bool hit = row_in(r, batches[s], ns[s]);
            if (hit) {
                cr_assert(memcmp(w0 + off, ps->data + off, bytes) != 0, "step %d: touched row %d unchanged", s, r);
            } else {
                cr_assert(memcmp(w0 + off, ps->data + off, bytes) == 0, "step %d: untouched row %d changed", s, r);
                if (o->m) cr_assert(memcmp(m0 + off, o->m + off, bytes) == 0, "step %d: state m of row %d changed", s, r);
                if (o->v) cr_assert(memcmp(v0 + off, o->v + off, bytes) == 0, "step %d: state v of row %d changed", s, r);
            }
        }
    }
    /* Rows never touched still carry their initial state (zeros). */
    for (size_t i = 0; i < tab; i++) {
        int32_t r = (int32_t)(i / ED);
        if (r == 3 || r == 7 || r == 20 || r == 41) continue;
        if (o->m) cr_assert_eq(o->m[i], kind == KGM_OPT_ADAGRAD ? cfg.adagrad_init : 0.0f);
        if (o->v) cr_assert_eq(o->v[i], 0.0f);
    }
    /* zero_grad clears exactly the touched rows. */
    kgm_params_zero_grad(ps);
    cr_assert_eq(ps->p[0].n_touched, 0);
    for (size_t i = 0; i < tab; i++) cr_assert_eq(ps->p[0].t.grad[i], 0.0f);
    free(w0);
    free(m0);
    free(v0);
    kgm_tape_free(tp);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, lazy_adam_touches_only_gathered_rows) { check_lazy(KGM_OPT_ADAM); }
Test(optim, lazy_adamw_touches_only_gathered_rows) { check_lazy(KGM_OPT_ADAMW); }
Test(optim, lazy_sgd_touches_only_gathered_rows) { check_lazy(KGM_OPT_SGD); }
Test(optim, lazy_adagrad_touches_only_gathered_rows) { check_lazy(KGM_OPT_ADAGRAD); }

Test(optim, lazy_adam_row_update_matches_hand_computed) {
    /* The touched rows get exactly the dense Adam update of their gradient. */
    kgm_params *ps = sparse_store();
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_ADAM);
    cfg.lr = 0.05f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    kgm_tape *tp;
    OK(kgm_tape_new(1 << 20, &tp));
    const int32_t idx[] = {9, 2, 9};
    float before[ER * ED];
    memcpy(before, ps->data, sizeof before);
    /* capture the gradient: run forward/backward without stepping first */
    kgm_params_zero_grad(ps);
    kgm_tensor *e, *y, *loss;
    float tgt[3] = {1, -1, 2};
    OK(kgm_op_gather(tp, kgm_params_tensor(ps, 0), idx, 3, &e));
    OK(kgm_op_linear(tp, e, kgm_params_tensor(ps, 1), NULL, &y));
    OK(kgm_op_mse(tp, y, tgt, NULL, &loss));
    OK(kgm_tape_backward(tp, loss));
    float grad[ER * ED];
    memcpy(grad, ps->p[0].t.grad, sizeof grad);
    OK(kgm_optim_step(o, 1.0f, NULL));
    for (int r = 0; r < ER; r++)
        for (int j = 0; j < ED; j++) {
            int i = r * ED + j;
            double want = before[i];
            if (r == 9 || r == 2) {
                double g = grad[i], m = 0.1 * g, v = 0.001 * g * g;
                want -= 0.05 * (m / 0.1) / (sqrt(v / 0.001) + 1e-8);
            }
            ASSERT_CLOSE(ps->data[i], want, 1e-6, 1e-5, "row %d col %d", r, j);
        }
    kgm_tape_free(tp);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, dense_use_of_sparse_table_updates_every_row) {
    /* A dense op (matmul) on the table makes it fully touched. */
    kgm_params *ps = sparse_store();
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_SGD);
    cfg.lr = 0.1f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    kgm_tape *tp;
    OK(kgm_tape_new(1 << 20, &tp));
    float before[ER * ED];
    memcpy(before, ps->data, sizeof before);
    kgm_params_zero_grad(ps);
    kgm_tensor *y, *s;
    OK(kgm_op_linear(tp, kgm_params_tensor(ps, 0), kgm_params_tensor(ps, 1), NULL, &y));
    OK(kgm_op_sum(tp, y, &s));
    OK(kgm_tape_backward(tp, s));
    cr_assert(ps->p[0].all_touched);
    OK(kgm_optim_step(o, 1.0f, NULL));
    for (int r = 0; r < ER; r++)
        cr_assert(memcmp(before + r * ED, ps->data + r * ED, ED * sizeof(float)) != 0, "row %d not updated", r);
    kgm_tape_free(tp);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

/* ---- clipping --------------------------------------------------------------- */

Test(optim, global_norm_clipping_scales_all_gradients) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    OK(kgm_params_declare(ps, "a", 2, 2, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 0, NULL));
    OK(kgm_params_declare(ps, "b", 1, 2, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 1, NULL));
    OK(kgm_params_finalize(ps, 1));
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_SGD);
    cfg.lr = 1.0f;
    cfg.clip_norm = 2.0f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    /* global norm = sqrt(9+16+0+0 + 36+64) = sqrt(125) */
    double ga[4] = {3, 4, 0, 0}, gb[2] = {6, 8};
    set_grad(ps, 0, ga);
    set_grad(ps, 1, gb);
    ASSERT_CLOSE(kgm_optim_grad_norm(o), sqrt(125.0), 1e-9, 1e-9, "grad norm");
    double norm = 0;
    OK(kgm_optim_step(o, 1.0f, &norm));
    ASSERT_CLOSE(norm, sqrt(125.0), 1e-9, 1e-9, "reported norm is the pre-clipping norm");
    double f = 2.0 / sqrt(125.0);
    for (int i = 0; i < 4; i++) ASSERT_CLOSE(ps->p[0].t.data[i], -f * ga[i], 1e-7, 1e-6, "a[%d]", i);
    for (int i = 0; i < 2; i++) ASSERT_CLOSE(ps->p[1].t.data[i], -f * gb[i], 1e-7, 1e-6, "b[%d]", i);
    /* after clipping the applied step has exactly the clip norm */
    double sq = 0;
    for (size_t i = 0; i < ps->total; i++) sq += (double)ps->data[i] * ps->data[i];
    ASSERT_CLOSE(sqrt(sq), 2.0, 1e-6, 1e-6, "clipped step norm");

    /* below the threshold nothing is scaled */
    memset(ps->data, 0, ps->total * sizeof(float));
    double small[4] = {0.3, 0.4, 0, 0}, zero2[2] = {0, 0};
    set_grad(ps, 0, small);
    set_grad(ps, 1, zero2);
    OK(kgm_optim_step(o, 1.0f, &norm));
    ASSERT_CLOSE(norm, 0.5, 1e-7, 1e-7, "norm");
    ASSERT_CLOSE(ps->p[0].t.data[0], -0.3, 1e-7, 1e-6, "unclipped");
    ASSERT_CLOSE(ps->p[0].t.data[1], -0.4, 1e-7, 1e-6, "unclipped");
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, grad_norm_counts_only_touched_rows_of_sparse_tables) {
    kgm_params *ps = sparse_store();
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_SGD);
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    kgm_param *p = &ps->p[0];
    /* garbage in an untouched row must not count (it is never read) */
    p->t.grad[10 * ED] = 1000.0f;
    int32_t rows[1] = {4};
    kgm_param_touch_rows(p, rows, 1);
    p->has_grad = true;
    p->t.grad[4 * ED + 1] = 3.0f;
    p->t.grad[4 * ED + 2] = 4.0f;
    ASSERT_CLOSE(kgm_optim_grad_norm(o), 5.0, 1e-9, 1e-9, "norm over touched rows");
    kgm_optim_free(o);
    kgm_params_free(ps);
}

/* ---- groups ----------------------------------------------------------------- */

Test(optim, group_lr_multipliers_and_frozen_groups) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    kgm_init z = {KGM_INIT_ZEROS, 0};
    OK(kgm_params_declare(ps, "g0", 1, 3, z, 0, 0, NULL));
    OK(kgm_params_declare(ps, "g1", 1, 3, z, 0, 1, NULL));
    OK(kgm_params_declare(ps, "g2", 1, 3, z, 0, 2, NULL));
    OK(kgm_params_declare(ps, "frozen_flag", 1, 3, z, KGM_TENSOR_FROZEN, 0, NULL));
    OK(kgm_params_declare(ps, "no_grad", 1, 3, z, 0, 0, NULL));
    OK(kgm_params_finalize(ps, 1));
    cr_assert_null(ps->p[3].t.grad, "a frozen parameter has no gradient buffer");
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_SGD);
    cfg.lr = 0.1f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    OK(kgm_optim_set_group_lr(o, 1, 0.5f));
    OK(kgm_optim_set_group_frozen(o, 2, true));
    cr_assert_eq(kgm_optim_set_group_lr(o, KGM_MAX_GROUPS, 1.0f), KGM_ERR_ARG);
    cr_assert_eq(kgm_optim_set_group_lr(o, -1, 1.0f), KGM_ERR_ARG);
    cr_assert_eq(kgm_optim_set_group_lr(o, 0, -1.0f), KGM_ERR_ARG);
    cr_assert_eq(kgm_optim_set_group_frozen(o, 99, true), KGM_ERR_ARG);
    double g[3] = {1, 2, 3};
    for (int i = 0; i < 3; i++) set_grad(ps, i, g);
    /* "no_grad" keeps has_grad false: it took no part in this step */
    ps->p[4].t.grad[0] = 5.0f;
    OK(kgm_optim_step(o, 2.0f, NULL));
    for (int j = 0; j < 3; j++) {
        ASSERT_CLOSE(ps->p[0].t.data[j], -0.2 * g[j], 1e-7, 1e-6, "group 0 (lr 0.1 x scale 2)");
        ASSERT_CLOSE(ps->p[1].t.data[j], -0.1 * g[j], 1e-7, 1e-6, "group 1 (x0.5)");
        cr_assert_eq(ps->p[2].t.data[j], 0.0f, "frozen group moved");
        cr_assert_eq(ps->p[3].t.data[j], 0.0f, "frozen parameter moved");
        cr_assert_eq(ps->p[4].t.data[j], 0.0f, "parameter without gradient moved");
    }
    cr_assert_eq(o->steps[2], 0, "frozen group has no step count");
    cr_assert_eq(o->steps[4], 0);
    /* unfreezing restores updates */
    OK(kgm_optim_set_group_frozen(o, 2, false));
    OK(kgm_optim_step(o, 1.0f, NULL));
    ASSERT_CLOSE(ps->p[2].t.data[0], -0.1, 1e-7, 1e-6, "unfrozen group 2");
    kgm_optim_free(o);
    kgm_params_free(ps);
}

/* ---- non-finite gradients -------------------------------------------------- */

Test(optim, non_finite_gradient_is_reported_with_the_parameter_name) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    kgm_init n = {KGM_INIT_NORMAL, 1.0f};
    OK(kgm_params_declare(ps, "encoder.w", 3, 3, n, 0, 0, NULL));
    OK(kgm_params_declare(ps, "head.ctr.w", 3, 1, n, 0, 0, NULL));
    OK(kgm_params_declare(ps, "item_emb", 10, 4, n, KGM_TENSOR_SPARSE, 0, NULL));
    OK(kgm_params_finalize(ps, 3));
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_ADAM);
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    double g9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, g3[3] = {1, NAN, 1};
    set_grad(ps, 0, g9);
    set_grad(ps, 1, g3);
    float *before = malloc(ps->total * sizeof(float));
    memcpy(before, ps->data, ps->total * sizeof(float));
    kgm_error_clear();
    cr_assert_eq(kgm_optim_step(o, 1.0f, NULL), KGM_ERR_NUMERIC);
    cr_assert(strstr(kgm_error_message(), "head.ctr.w"), "message: %s", kgm_error_message());
    cr_assert(memcmp(before, ps->data, ps->total * sizeof(float)) == 0, "no parameter may change on failure");
    cr_assert_eq(o->n_steps, 0);

    /* an infinite gradient in a touched row of a sparse table */
    kgm_params_zero_grad(ps);
    kgm_param *p = &ps->p[2];
    int32_t rows[2] = {1, 6};
    kgm_param_touch_rows(p, rows, 2);
    p->has_grad = true;
    p->t.grad[6 * 4 + 3] = INFINITY;
    cr_assert_eq(kgm_optim_step(o, 1.0f, NULL), KGM_ERR_NUMERIC);
    cr_assert(strstr(kgm_error_message(), "item_emb"), "message: %s", kgm_error_message());
    cr_assert(strstr(kgm_error_message(), "row 6"), "message: %s", kgm_error_message());
    free(before);
    kgm_optim_free(o);
    kgm_params_free(ps);
}

Test(optim, construction_errors) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    OK(kgm_params_declare(ps, "w", 2, 2, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 0, NULL));
    kgm_optim_cfg cfg = kgm_optim_defaults(KGM_OPT_ADAM);
    kgm_optim *o = (kgm_optim *)1;
    cr_assert_eq(kgm_optim_new(ps, &cfg, &o), KGM_ERR_STATE, "optimiser before finalize");
    cr_assert_null(o);
    OK(kgm_params_finalize(ps, 1));
    kgm_optim_cfg bad = cfg;
    bad.beta1 = 1.0f;
    cr_assert_eq(kgm_optim_new(ps, &bad, &o), KGM_ERR_ARG);
    bad = cfg;
    bad.lr = NAN;
    cr_assert_eq(kgm_optim_new(ps, &bad, &o), KGM_ERR_ARG);
    bad = cfg;
    bad.eps = 0;
    cr_assert_eq(kgm_optim_new(ps, &bad, &o), KGM_ERR_ARG);
    bad = cfg;
    bad.clip_norm = -1;
    cr_assert_eq(kgm_optim_new(ps, &bad, &o), KGM_ERR_ARG);
    cr_assert(strlen(kgm_error_message()) > 0);
    kgm_params_free(ps);
}
