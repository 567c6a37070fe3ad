/* Building blocks: random streams, the arena, the error buffer and the
 * parameter store (layout, init schemes, per-name streams, zero_grad). */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>

#include "tests/common/testutil.h"

#define OK(expr)                                                                                   \
    do {                                                                                           \
        kgm_status st_ = (expr);                                                                   \
        cr_assert_eq(st_, KGM_OK, "%s -> %s: %s", #expr, kgm_status_str(st_), kgm_error_message()); \
    } while (0)

/* ---- rng ------------------------------------------------------------------- */

Test(rng, same_seed_and_stream_reproduce) {
    kgm_rng a, b;
    kgm_rng_init(&a, 42, 7);
    kgm_rng_init(&b, 42, 7);
    for (int i = 0; i < 1000; i++) cr_assert_eq(kgm_rng_u64(&a), kgm_rng_u64(&b), "draw %d", i);
    for (int i = 0; i < 100; i++) cr_assert_eq(kgm_rng_normal(&a), kgm_rng_normal(&b));
    /* the state is plain data: a copy continues identically (checkpointing) */
    kgm_rng c = a;
    for (int i = 0; i < 100; i++) cr_assert_eq(kgm_rng_u64(&a), kgm_rng_u64(&c));
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

Test(rng, streams_and_seeds_are_independent) {
    /* Neighbouring streams/seeds share no value among their first draws
     * (not merely shifted copies of one sequence). */
    enum { N = 2000 };
    static uint64_t v[4 * N];
    const uint64_t cfg[4][2] = {{1, 0}, {1, 1}, {2, 0}, {0, 1}};
    for (int k = 0; k < 4; k++) {
        kgm_rng r;
        kgm_rng_init(&r, cfg[k][0], cfg[k][1]);
        for (int i = 0; i < N; i++) v[k * N + i] = kgm_rng_u64(&r);
    }
    qsort(v, 4 * N, sizeof *v, cmp_u64);
    for (int i = 1; i < 4 * N; i++) cr_assert_neq(v[i], v[i - 1], "two streams produced the same value");
}

Test(rng, stream_ids) {
    cr_assert_eq(kgm_rng_stream_id("dropout", 3), kgm_rng_stream_id("dropout", 3));
    cr_assert_neq(kgm_rng_stream_id("dropout", 3), kgm_rng_stream_id("dropout", 4));
    cr_assert_neq(kgm_rng_stream_id("dropout", 0), kgm_rng_stream_id("sampler", 0));
    cr_assert_neq(kgm_rng_stream_id("ab", 0), kgm_rng_stream_id("ba", 0));
    cr_assert_neq(kgm_rng_stream_id("", 0), kgm_rng_stream_id("", 1));
}

Test(rng, below_range_and_uniformity) {
    kgm_rng r;
    kgm_rng_init(&r, 5, 5);
    for (int i = 0; i < 1000; i++) cr_assert_eq(kgm_rng_below(&r, 1), 0);
    const uint64_t ns[] = {2, 3, 7, 1000, (1ull << 33) + 17, UINT64_MAX};
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++)
        for (int i = 0; i < 20000; i++) cr_assert_lt(kgm_rng_below(&r, ns[k]), ns[k]);
    /* chi-square over 10 bins, 100k draws: df 9, 99.99% quantile ~33.7 */
    enum { BINS = 10, DRAWS = 100000 };
    int cnt[BINS] = {0};
    for (int i = 0; i < DRAWS; i++) cnt[kgm_rng_below(&r, BINS)]++;
    double chi = 0, e = (double)DRAWS / BINS;
    for (int b = 0; b < BINS; b++) chi += (cnt[b] - e) * (cnt[b] - e) / e;
    cr_assert_lt(chi, 33.7, "chi-square %g", chi);
    /* n = 2/3 * 2^64: a plain x % n would put 2/3 of the mass below n/2;
     * an unbiased draw puts half. */
    uint64_t n = UINT64_MAX / 3 * 2, lo = 0;
    for (int i = 0; i < DRAWS; i++) lo += kgm_rng_below(&r, n) < n / 2;
    cr_assert(fabs((double)lo / DRAWS - 0.5) < 0.01, "fraction below n/2: %g", (double)lo / DRAWS);
}

Test(rng, uniform_and_normal_moments) {
    kgm_rng r;
    kgm_rng_init(&r, 11, 0);
    enum { N = 200000 };
    double su = 0, sn = 0, sn2 = 0, mn = 1, mx = 0;
    for (int i = 0; i < N; i++) {
        double u = kgm_rng_uniform(&r), z = kgm_rng_normal(&r);
        cr_assert(u >= 0.0 && u < 1.0);
        mn = fmin(mn, u);
        mx = fmax(mx, u);
        su += u;
        sn += z;
        sn2 += z * z;
    }
    cr_assert(fabs(su / N - 0.5) < 0.005, "uniform mean %g", su / N);
    cr_assert(mn < 1e-3 && mx > 1 - 1e-3);
    cr_assert(fabs(sn / N) < 0.01, "normal mean %g", sn / N);
    cr_assert(fabs(sn2 / N - 1.0) < 0.02, "normal variance %g", sn2 / N);
}

Test(rng, shuffle_is_a_reproducible_permutation) {
    enum { N = 257 };
    int32_t a[N], b[N];
    for (int i = 0; i < N; i++) a[i] = b[i] = i;
    kgm_rng r1, r2;
    kgm_rng_init(&r1, 3, 9);
    kgm_rng_init(&r2, 3, 9);
    kgm_rng_shuffle_i32(&r1, a, N);
    kgm_rng_shuffle_i32(&r2, b, N);
    cr_assert(memcmp(a, b, sizeof a) == 0);
    int seen[N] = {0}, fixed = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(a[i] >= 0 && a[i] < N);
        seen[a[i]]++;
        fixed += a[i] == i;
    }
    for (int i = 0; i < N; i++) cr_assert_eq(seen[i], 1);
    cr_assert_lt(fixed, 10, "%d fixed points: not shuffled", fixed);
    kgm_rng_shuffle_i32(&r1, a, 0); /* empty and single-element arrays are fine */
    kgm_rng_shuffle_i32(&r1, a, 1);
}

/* ---- arena ------------------------------------------------------------------ */

Test(arena, alignment_reset_high_water) {
    kgm_arena a;
    OK(kgm_arena_init(&a, 1000)); /* rounded up to a multiple of 64 */
    cr_assert_eq(a.cap % 64, 0);
    cr_assert_geq(a.cap, 1000);
    void *p[5];
    size_t sizes[5] = {1, 63, 64, 65, 0};
    for (int i = 0; i < 5; i++) {
        OK(kgm_arena_alloc(&a, sizes[i], &p[i]));
        cr_assert_eq((uintptr_t)p[i] % 64, 0, "allocation %d not 64-byte aligned", i);
    }
    cr_assert_eq(a.used, 64 + 64 + 64 + 128);
    memset(p[3], 0xab, 65); /* writable up to its size */
    size_t hw = a.high_water;
    kgm_arena_reset(&a);
    cr_assert_eq(a.used, 0);
    cr_assert_eq(a.high_water, hw);
    void *q;
    OK(kgm_arena_alloc(&a, 8, &q));
    cr_assert_eq(q, p[0], "memory is reused after reset");
    /* exact fit, then nothing more */
    OK(kgm_arena_alloc(&a, a.cap - a.used, &q));
    cr_assert_eq(kgm_arena_alloc(&a, 1, &q), KGM_ERR_ARENA);
    kgm_arena_destroy(&a);
    kgm_arena_destroy(&a); /* idempotent */
}

Test(arena, tape_marks_release_temporaries) {
    kgm_tape *tp;
    OK(kgm_tape_new(1 << 16, &tp));
    kgm_tensor *x = tu_tensor(4, 4, 1, 1, true), *y;
    OK(kgm_op_relu(tp, x, &y));
    kgm_tape_mark m = kgm_tape_get_mark(tp);
    size_t used = kgm_tape_arena_used(tp);
    for (int i = 0; i < 5; i++) OK(kgm_op_tanh(tp, x, &y));
    cr_assert_eq(kgm_tape_size(tp), 6);
    cr_assert_gt(kgm_tape_arena_used(tp), used);
    kgm_tape_rewind(tp, m);
    cr_assert_eq(kgm_tape_size(tp), 1);
    cr_assert_eq(kgm_tape_arena_used(tp), used);
    cr_assert_geq(kgm_tape_arena_high_water(tp), used);
    kgm_tape_reset(tp);
    cr_assert_eq(kgm_tape_size(tp), 0);
    cr_assert_eq(kgm_tape_arena_used(tp), 0);
    kgm_tensor_free(x);
    kgm_tape_free(tp);
}

Test(arena, no_grad_and_eval_modes) {
    kgm_tape *tp;
    OK(kgm_tape_new(1 << 16, &tp));
    kgm_tensor *x = tu_tensor(8, 8, 1, 1, true), *y;
    kgm_tape_set_grad(tp, false);
    cr_assert_not(kgm_tape_grad_enabled(tp));
    OK(kgm_op_sigmoid(tp, x, &y));
    cr_assert_eq(kgm_tape_size(tp), 0, "no records without gradients");
    cr_assert_null(y->grad);
    kgm_tape_set_grad(tp, true);
    kgm_tape_set_training(tp, false);
    kgm_rng r;
    kgm_rng_init(&r, 1, 1);
    OK(kgm_op_dropout(tp, x, 0.5f, &r, &y));
    cr_assert(memcmp(x->data, y->data, 64 * sizeof(float)) == 0, "dropout is the identity in eval mode");
    kgm_tensor_free(x);
    kgm_tape_free(tp);
}

/* ---- error buffer ------------------------------------------------------------- */

static void *other_thread(void *arg) {
    (void)KGM_ERR(KGM_ERR_IO, "from the other thread");
    *(int *)arg = strstr(kgm_error_message(), "other thread") != NULL;
    return NULL;
}

Test(error, message_format_wrap_and_thread_locality) {
    kgm_error_clear();
    cr_assert_str_eq(kgm_error_message(), "");
    int line = __LINE__ + 1;
    kgm_status st = KGM_ERR(KGM_ERR_PARSE, "bad value %d", 42);
    cr_assert_eq(st, KGM_ERR_PARSE);
    char want[128];
    snprintf(want, sizeof want, "test_rng_arena_params.c:%d: bad value 42", line);
    cr_assert_str_eq(kgm_error_message(), want);
    cr_assert_eq(kgm_error_wrap(st, "loading %s", "x.tsv"), KGM_ERR_PARSE);
    cr_assert(strncmp(kgm_error_message(), "loading x.tsv: test_rng_arena_params.c:", 39) == 0, "%s",
              kgm_error_message());
    pthread_t th;
    int ok = 0;
    pthread_create(&th, NULL, other_thread, &ok);
    pthread_join(th, NULL);
    cr_assert(ok);
    cr_assert(strstr(kgm_error_message(), "x.tsv") != NULL, "another thread's error leaked in: %s",
              kgm_error_message());
    /* very long messages are truncated, not overflowed */
    char big[5000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    (void)KGM_ERR(KGM_ERR_ARG, "%s", big);
    cr_assert_lt(strlen(kgm_error_message()), 4096);
    (void)kgm_error_wrap(KGM_ERR_ARG, "%s", big);
    cr_assert_lt(strlen(kgm_error_message()), 4096);
}

Test(tensor, heap_tensors_and_finiteness) {
    kgm_tensor *t;
    OK(kgm_tensor_new(3, 2, &t));
    for (int i = 0; i < 6; i++) cr_assert_eq(t->data[i], 0.0f);
    cr_assert_null(t->grad);
    cr_assert_eq(t->param_id, -1);
    kgm_tensor_fill(t, 2.5f);
    cr_assert_eq(t->data[5], 2.5f);
    cr_assert(kgm_tensor_all_finite(t));
    t->data[4] = NAN;
    cr_assert_not(kgm_tensor_all_finite(t));
    t->data[4] = -INFINITY;
    cr_assert_not(kgm_tensor_all_finite(t));
    kgm_tensor_free(t);
    OK(kgm_tensor_new(0, 5, &t)); /* empty tensors are legal */
    cr_assert_eq(kgm_tensor_numel(t), 0);
    kgm_tensor_free(t);
    kgm_tensor_free(NULL);
}

/* ---- parameter store ------------------------------------------------------------ */

Test(params, contiguous_layout) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    int32_t ids[3];
    kgm_init z = {KGM_INIT_ZEROS, 0};
    OK(kgm_params_declare(ps, "a", 3, 5, z, 0, 0, &ids[0]));
    OK(kgm_params_declare(ps, "b", 1, 7, z, KGM_TENSOR_SPARSE, 1, &ids[1]));
    OK(kgm_params_declare(ps, "c", 4, 2, z, 0, 2, &ids[2]));
    cr_assert_eq(kgm_params_numel(ps), 15 + 7 + 8);
    OK(kgm_params_finalize(ps, 1));
    size_t off = 0;
    for (int k = 0; k < 3; k++) {
        kgm_tensor *t = kgm_params_tensor(ps, ids[k]);
        cr_assert_eq(ids[k], k);
        cr_assert_eq(t->param_id, k);
        cr_assert(t->flags & KGM_TENSOR_PARAM);
        cr_assert_eq(t->data, ps->data + off, "parameter %d is not at its offset", k);
        cr_assert_eq(t->grad, ps->grad + off);
        cr_assert_eq(ps->p[k].offset, off);
        off += (size_t)kgm_tensor_numel(t);
    }
    cr_assert_eq((uintptr_t)ps->data % 64, 0);
    cr_assert(ps->p[1].t.flags & KGM_TENSOR_SPARSE);
    cr_assert_eq(ps->p[2].group, 2);
    kgm_params_free(ps);
}

typedef struct {
    double mean, sd, absmax;
} stats_t;

static stats_t stats_of(const kgm_tensor *t) {
    stats_t s = {0, 0, 0};
    int64_t n = kgm_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        s.mean += t->data[i];
        s.absmax = fmax(s.absmax, fabs(t->data[i]));
    }
    s.mean /= n;
    for (int64_t i = 0; i < n; i++) s.sd += (t->data[i] - s.mean) * (t->data[i] - s.mean);
    s.sd = sqrt(s.sd / n);
    return s;
}

Test(params, init_schemes) {
    enum { FI = 400, FO = 300 };
    const struct {
        kgm_init init;
        double sd;    /* expected standard deviation */
        double bound; /* expected |max| bound (uniform), 0 = none */
    } cases[] = {
        {{KGM_INIT_NORMAL, 0.3f}, 0.3, 0},
        {{KGM_INIT_UNIFORM, 0.5f}, 0.5 / sqrt(3.0), 0.5},
        {{KGM_INIT_XAVIER_UNIFORM, 0}, sqrt(2.0 / (FI + FO)), sqrt(6.0 / (FI + FO))},
        {{KGM_INIT_XAVIER_NORMAL, 0}, sqrt(2.0 / (FI + FO)), 0},
        {{KGM_INIT_XAVIER_UNIFORM, 2.0f}, 2 * sqrt(2.0 / (FI + FO)), 2 * sqrt(6.0 / (FI + FO))},
        {{KGM_INIT_KAIMING_UNIFORM, 0}, sqrt(2.0 / FI), sqrt(6.0 / FI)},
        {{KGM_INIT_KAIMING_NORMAL, 0}, sqrt(2.0 / FI), 0},
        {{KGM_INIT_KAIMING_NORMAL, 1.0f}, sqrt(1.0 / FI), 0},
    };
    int nc = (int)(sizeof cases / sizeof *cases);
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    char name[32];
    for (int k = 0; k < nc; k++) {
        snprintf(name, sizeof name, "p%d", k);
        OK(kgm_params_declare(ps, name, FI, FO, cases[k].init, 0, 0, NULL));
    }
    OK(kgm_params_declare(ps, "zeros", 3, 3, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 0, NULL));
    OK(kgm_params_declare(ps, "const", 3, 3, (kgm_init){KGM_INIT_CONST, 0.25f}, 0, 0, NULL));
    OK(kgm_params_finalize(ps, 17));
    for (int k = 0; k < nc; k++) {
        stats_t s = stats_of(kgm_params_tensor(ps, k));
        cr_assert(fabs(s.mean) < 0.02 * cases[k].sd, "case %d: mean %g", k, s.mean);
        cr_assert(fabs(s.sd / cases[k].sd - 1) < 0.01, "case %d: sd %g, expected %g", k, s.sd, cases[k].sd);
        if (cases[k].bound > 0) {
            cr_assert_leq(s.absmax, cases[k].bound, "case %d: |x| %g beyond the bound %g", k, s.absmax,
                          cases[k].bound);
            cr_assert_geq(s.absmax, 0.99 * cases[k].bound, "case %d: range not covered", k);
        }
    }
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(kgm_params_tensor(ps, nc)->data[i], 0.0f);
        cr_assert_eq(kgm_params_tensor(ps, nc + 1)->data[i], 0.25f);
    }
    kgm_params_free(ps);
}

Test(params, per_name_streams_and_reinit) {
    /* Adding or reordering parameters leaves every other's values alone. */
    kgm_init n = {KGM_INIT_NORMAL, 1.0f};
    kgm_params *p1, *p2, *p3;
    OK(kgm_params_new(&p1));
    OK(kgm_params_new(&p2));
    OK(kgm_params_new(&p3));
    OK(kgm_params_declare(p1, "enc.w", 6, 5, n, 0, 0, NULL));
    OK(kgm_params_declare(p1, "head.w", 5, 1, n, 0, 0, NULL));
    OK(kgm_params_declare(p2, "extra", 9, 9, n, 0, 0, NULL));
    OK(kgm_params_declare(p2, "head.w", 5, 1, n, 0, 0, NULL));
    OK(kgm_params_declare(p2, "enc.w", 6, 5, n, 0, 0, NULL));
    OK(kgm_params_declare(p3, "enc.w", 6, 5, n, 0, 0, NULL));
    OK(kgm_params_finalize(p1, 8));
    OK(kgm_params_finalize(p2, 8));
    OK(kgm_params_finalize(p3, 9));
    kgm_tensor *a = kgm_params_tensor(p1, kgm_params_find(p1, "enc.w"));
    kgm_tensor *b = kgm_params_tensor(p2, kgm_params_find(p2, "enc.w"));
    kgm_tensor *c = kgm_params_tensor(p3, kgm_params_find(p3, "enc.w"));
    cr_assert(memcmp(a->data, b->data, 30 * sizeof(float)) == 0);
    cr_assert(memcmp(kgm_params_tensor(p1, 1)->data, kgm_params_tensor(p2, 1)->data, 5 * sizeof(float)) == 0);
    cr_assert(memcmp(a->data, c->data, 30 * sizeof(float)) != 0, "another seed gives other values");
    cr_assert(memcmp(a->data, kgm_params_tensor(p1, 1)->data, 5 * sizeof(float)) != 0,
              "two names must not share a stream");
    float keep[30];
    memcpy(keep, a->data, sizeof keep);
    kgm_tensor_fill(a, 0.0f);
    OK(kgm_params_reinit(p1, 0, 8));
    cr_assert(memcmp(a->data, keep, sizeof keep) == 0, "reinit with the same seed restores the values");
    kgm_params_free(p1);
    kgm_params_free(p2);
    kgm_params_free(p3);
}

Test(params, zero_grad_dense_and_sparse) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    kgm_init z = {KGM_INIT_ZEROS, 0};
    OK(kgm_params_declare(ps, "dense", 4, 4, z, 0, 0, NULL));
    OK(kgm_params_declare(ps, "emb", 100, 4, z, KGM_TENSOR_SPARSE, 0, NULL));
    OK(kgm_params_declare(ps, "frozen", 2, 2, z, KGM_TENSOR_FROZEN, 0, NULL));
    OK(kgm_params_finalize(ps, 1));
    kgm_param *d = &ps->p[0], *e = &ps->p[1];
    for (int i = 0; i < 16; i++) d->t.grad[i] = 1.0f;
    d->has_grad = true;
    int32_t rows[4] = {5, 9, 5, 70};
    kgm_param_touch_rows(e, rows, 4);
    cr_assert_eq(e->n_touched, 3, "repeated rows are recorded once");
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++) e->t.grad[(size_t)e->touched[k] * 4 + j] = 2.0f;
    /* a row never touched keeps whatever it holds: zero_grad only visits touched rows */
    e->t.grad[50 * 4] = 3.0f;
    kgm_params_zero_grad(ps);
    for (int i = 0; i < 16; i++) cr_assert_eq(d->t.grad[i], 0.0f);
    cr_assert_not(d->has_grad);
    for (int r = 0; r < 100; r++)
        for (int j = 0; j < 4; j++)
            cr_assert_eq(e->t.grad[r * 4 + j], r == 50 && j == 0 ? 3.0f : 0.0f, "row %d", r);
    cr_assert_eq(e->n_touched, 0);
    for (int r = 0; r < 100; r++) cr_assert_eq(e->mark[r], 0);
    /* fully touched: the whole table is cleared */
    kgm_param_touch_all(e);
    kgm_param_touch_rows(e, rows, 1); /* ignored once fully touched */
    cr_assert_eq(e->n_touched, 0);
    kgm_params_zero_grad(ps);
    cr_assert_eq(e->t.grad[50 * 4], 0.0f);
    cr_assert_not(e->all_touched);
    kgm_params_free(ps);
}

/* zero_grad_values clears the values between the backward passes of one step
 * (GradNorm, PCGrad) but keeps the step's marks, so the optimiser still sees
 * every parameter the tape used (losing them made both methods train nothing). */
Test(params, zero_grad_values_keeps_the_step_marks) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    kgm_init z = {KGM_INIT_ZEROS, 0};
    OK(kgm_params_declare(ps, "dense", 2, 2, z, 0, 0, NULL));
    OK(kgm_params_declare(ps, "emb", 10, 2, z, KGM_TENSOR_SPARSE, 0, NULL));
    OK(kgm_params_finalize(ps, 1));
    kgm_param *d = &ps->p[0], *e = &ps->p[1];
    for (int i = 0; i < 4; i++) d->t.grad[i] = 1.0f;
    d->has_grad = e->has_grad = true;
    int32_t rows[2] = {3, 7};
    kgm_param_touch_rows(e, rows, 2);
    e->t.grad[3 * 2] = e->t.grad[7 * 2 + 1] = 2.0f;
    kgm_params_zero_grad_values(ps);
    for (int i = 0; i < 4; i++) cr_assert_eq(d->t.grad[i], 0.0f);
    for (int i = 0; i < 20; i++) cr_assert_eq(e->t.grad[i], 0.0f);
    cr_assert(d->has_grad && e->has_grad, "has_grad must survive");
    cr_assert_eq(e->n_touched, 2, "touched rows must survive");
    cr_assert(e->mark[3] && e->mark[7]);
    kgm_params_free(ps);
}

/* Tape generations change with reset/rewind and are never shared by two tapes,
 * so a (tape, generation) cache key cannot match a later tape at a reused address. */
Test(tape, generations_are_unique_across_tapes) {
    kgm_tape *a, *b;
    cr_assert_eq(kgm_tape_new(1 << 16, &a), KGM_OK);
    uint64_t g0 = kgm_tape_generation(a);
    kgm_tape_reset(a);
    uint64_t g1 = kgm_tape_generation(a);
    cr_assert_neq(g0, g1);
    kgm_tape_free(a);
    cr_assert_eq(kgm_tape_new(1 << 16, &b), KGM_OK);
    cr_assert_neq(kgm_tape_generation(b), g0);
    cr_assert_neq(kgm_tape_generation(b), g1);
    kgm_tape_free(b);
}
