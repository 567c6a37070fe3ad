/* Determinism: a small two-task model (user/item embeddings -> MLP with
 * dropout and layer-norm -> CTR head, plus a rating head on the embedding dot
 * product) trained for a few Adam steps.
 *  - the same seed and thread count give bit-identical parameters;
 *  - another seed gives different ones;
 *  - 1 vs 2 OpenMP threads agree within 1e-5 relative (SGD, see below).
 * Sizes are chosen so that every kernel on the path runs its parallel branch
 * (more than KGM_PAR_MIN elements). */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>

#include "core/tensor/ops_internal.h" /* KGM_PAR_MIN */
#include "tests/common/testutil.h"

#define OK(expr)                                                                                   \
    do {                                                                                           \
        kgm_status st_ = (expr);                                                                   \
        cr_assert_eq(st_, KGM_OK, "%s -> %s: %s", #expr, kgm_status_str(st_), kgm_error_message()); \
    } while (0)

enum { NU = 3000, NI = 8000, D = 64, H = 128, B = 1024, STEPS = 8 };

/* Every elementwise kernel below sees at least B*D elements. */
_Static_assert((int64_t)B * D > KGM_PAR_MIN, "batch too small to exercise the parallel kernels");
_Static_assert((int64_t)B * H > KGM_PAR_MIN, "hidden layer too small to exercise the parallel kernels");

typedef struct {
    int32_t *u, *i;
    float *click, *rating;
} batch_t;

typedef struct {
    kgm_params *ps;
    int32_t U, I, W1, b1, g, beta, W2, b2;
    double loss[STEPS];
} model_t;

static void make_batch(batch_t *bt, uint64_t seed, int step) {
    kgm_rng r;
    kgm_rng_init(&r, seed, kgm_rng_stream_id("batch", (uint64_t)step));
    for (int k = 0; k < B; k++) {
        /* a skewed draw so that rows repeat inside a batch (accumulation order matters) */
        bt->u[k] = (int32_t)kgm_rng_below(&r, k % 4 == 0 ? 50 : NU);
        bt->i[k] = (int32_t)kgm_rng_below(&r, NI);
        bt->click[k] = kgm_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
        bt->rating[k] = (float)(1.0 + 4.0 * kgm_rng_uniform(&r)) / 5.0f;
    }
}

static void build(model_t *m, uint64_t seed) {
    OK(kgm_params_new(&m->ps));
    kgm_params *ps = m->ps;
    kgm_init emb = {KGM_INIT_NORMAL, 0.1f}, xav = {KGM_INIT_XAVIER_UNIFORM, 0};
    OK(kgm_params_declare(ps, "user_emb", NU, D, emb, KGM_TENSOR_SPARSE, 0, &m->U));
    OK(kgm_params_declare(ps, "item_emb", NI, D, emb, KGM_TENSOR_SPARSE, 0, &m->I));
    OK(kgm_params_declare(ps, "mlp.w1", 2 * D, H, (kgm_init){KGM_INIT_KAIMING_NORMAL, 0}, 0, 1, &m->W1));
    OK(kgm_params_declare(ps, "mlp.b1", 1, H, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 1, &m->b1));
    OK(kgm_params_declare(ps, "ln.g", 1, H, (kgm_init){KGM_INIT_CONST, 1.0f}, 0, 1, &m->g));
    OK(kgm_params_declare(ps, "ln.b", 1, H, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 1, &m->beta));
    OK(kgm_params_declare(ps, "ctr.w", H, 1, xav, 0, 2, &m->W2));
    OK(kgm_params_declare(ps, "ctr.b", 1, 1, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 2, &m->b2));
    OK(kgm_params_finalize(ps, seed));
}

/* Train STEPS steps with `threads` OpenMP (and BLAS) threads. */
static void train(model_t *m, uint64_t seed, int threads, kgm_optim_kind kind) {
    kgm_set_threads(threads);
    build(m, seed);
    kgm_params *ps = m->ps;
    kgm_optim_cfg cfg = kgm_optim_defaults(kind);
    cfg.lr = kind == KGM_OPT_SGD ? 0.1f : 0.01f;
    cfg.momentum = kind == KGM_OPT_SGD ? 0.9f : 0.0f;
    cfg.clip_norm = 5.0f;
    kgm_optim *o;
    OK(kgm_optim_new(ps, &cfg, &o));
    kgm_tape *tp;
    OK(kgm_tape_new((size_t)64 << 20, &tp));
    kgm_rng drop;
    kgm_rng_init(&drop, seed, kgm_rng_stream_id("dropout", 0));
    batch_t bt = {malloc(B * sizeof(int32_t)), malloc(B * sizeof(int32_t)), malloc(B * sizeof(float)),
                  malloc(B * sizeof(float))};
    for (int s = 0; s < STEPS; s++) {
        make_batch(&bt, seed, s);
        kgm_params_zero_grad(ps);
        kgm_tensor *u, *it, *x, *h, *hr, *hd, *hn, *logit, *l1, *dot, *l2, *l2s, *loss;
        OK(kgm_op_gather(tp, kgm_params_tensor(ps, m->U), bt.u, B, &u));
        OK(kgm_op_gather(tp, kgm_params_tensor(ps, m->I), bt.i, B, &it));
        kgm_tensor *cat[2] = {u, it};
        OK(kgm_op_concat_cols(tp, 2, cat, &x));
        OK(kgm_op_linear(tp, x, kgm_params_tensor(ps, m->W1), kgm_params_tensor(ps, m->b1), &h));
        OK(kgm_op_relu(tp, h, &hr));
        OK(kgm_op_dropout(tp, hr, 0.2f, &drop, &hd));
        OK(kgm_op_layernorm(tp, hd, kgm_params_tensor(ps, m->g), kgm_params_tensor(ps, m->beta), 1e-5f, &hn));
        OK(kgm_op_linear(tp, hn, kgm_params_tensor(ps, m->W2), kgm_params_tensor(ps, m->b2), &logit));
        OK(kgm_op_bce_logits(tp, logit, bt.click, NULL, &l1));
        OK(kgm_op_rowdot(tp, u, it, &dot));
        OK(kgm_op_mse(tp, dot, bt.rating, NULL, &l2));
        OK(kgm_op_scale(tp, l2, 0.5f, 0.0f, &l2s));
        OK(kgm_op_add(tp, l1, l2s, &loss));
        m->loss[s] = loss->data[0];
        OK(kgm_tape_backward(tp, loss));
        OK(kgm_optim_step(o, 1.0f, NULL));
        kgm_tape_reset(tp);
    }
    free(bt.u);
    free(bt.i);
    free(bt.click);
    free(bt.rating);
    kgm_tape_free(tp);
    kgm_optim_free(o);
}

static void check_team_size(int want) {
    kgm_set_threads(want);
    int got = 0;
#pragma omp parallel
    {
#pragma omp single
        got = omp_get_num_threads();
    }
    cr_assert_eq(got, want, "OpenMP gave %d threads, asked for %d (OMP_THREAD_LIMIT?)", got, want);
}

Test(determinism, same_seed_is_bit_identical) {
    for (int threads = 1; threads <= 2; threads++) {
        model_t a, b;
        train(&a, 1234, threads, KGM_OPT_ADAM);
        train(&b, 1234, threads, KGM_OPT_ADAM);
        cr_assert_eq(a.ps->total, b.ps->total);
        cr_assert(memcmp(a.ps->data, b.ps->data, a.ps->total * sizeof(float)) == 0,
                  "%d thread(s): parameters differ between two runs with the same seed", threads);
        cr_assert(memcmp(a.loss, b.loss, sizeof a.loss) == 0, "loss trajectories differ");
        /* the model did train */
        cr_assert(a.loss[STEPS - 1] < a.loss[0], "loss %g -> %g", a.loss[0], a.loss[STEPS - 1]);
        kgm_params_free(a.ps);
        kgm_params_free(b.ps);
    }
}

Test(determinism, different_seed_differs) {
    model_t a, b;
    train(&a, 1, 2, KGM_OPT_ADAM);
    train(&b, 2, 2, KGM_OPT_ADAM);
    cr_assert(memcmp(a.ps->data, b.ps->data, a.ps->total * sizeof(float)) != 0);
    kgm_params_free(a.ps);
    kgm_params_free(b.ps);
}

/* Across thread counts only the kernels' rounding may differ (BLAS blocking
 * is thread-dependent; measured ~1e-8 relative). SGD with momentum carries
 * such differences through linearly; Adam's m/sqrt(v) would magnify them on
 * elements whose gradient is ~0 (an optimiser property, not a kernel one), so
 * the comparison uses SGD. */
Test(determinism, one_and_two_threads_agree) {
    check_team_size(2);
    model_t a, b;
    train(&a, 99, 1, KGM_OPT_SGD);
    train(&b, 99, 2, KGM_OPT_SGD);
    /* relative error of each parameter tensor as a whole, and the worst element
     * against the tensor's scale */
    for (int32_t k = 0; k < a.ps->n; k++) {
        const kgm_tensor *ta = &a.ps->p[k].t, *tb = &b.ps->p[k].t;
        double diff = 0, ref = 0, worst = 0, amax = 0;
        for (int64_t j = 0; j < kgm_tensor_numel(ta); j++) {
            double d = fabs((double)ta->data[j] - tb->data[j]);
            diff += d * d;
            ref += (double)ta->data[j] * ta->data[j];
            if (d > worst) worst = d;
            if (fabs(ta->data[j]) > amax) amax = fabs(ta->data[j]);
        }
        double rel = sqrt(diff) / fmax(sqrt(ref), 1e-30);
        cr_assert_leq(rel, 1e-5, "%s: relative difference %g between 1 and 2 threads", a.ps->p[k].name, rel);
        cr_assert_leq(worst, 1e-5 * fmax(amax, 1e-3), "%s: element difference %g (scale %g)", a.ps->p[k].name,
                      worst, amax);
    }
    for (int s = 0; s < STEPS; s++)
        cr_assert_leq(fabs(a.loss[s] - b.loss[s]), 1e-5 * fabs(a.loss[s]), "step %d: loss %.9g vs %.9g", s,
                      a.loss[s], b.loss[s]);
    kgm_params_free(a.ps);
    kgm_params_free(b.ps);
    kgm_set_threads(2);
}
