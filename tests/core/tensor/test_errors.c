/* Error paths: every failure is a status plus a "file:line: message" in the
 * thread-local buffer, never an abort, and a failing op leaves the tape as it
 * was (no half-made record that a later backward could trip over). */
#include <criterion/criterion.h>
#include <stdint.h>

#include "tests/common/testutil.h"

#define OK(expr)                                                                                   \
    do {                                                                                           \
        kgm_status st_ = (expr);                                                                   \
        cr_assert_eq(st_, KGM_OK, "%s -> %s: %s", #expr, kgm_status_str(st_), kgm_error_message()); \
    } while (0)

/* `expr` fails with `code`, records a message that has a file:line prefix and
 * mentions `needle`, and adds no record to tape `tp`. */
#define EXPECT_FAIL(tp, expr, code, needle)                                                        \
    do {                                                                                           \
        int64_t n0_ = kgm_tape_size(tp);                                                           \
        kgm_error_clear();                                                                         \
        kgm_status st_ = (expr);                                                                   \
        const char *msg_ = kgm_error_message();                                                    \
        cr_assert_eq(st_, (code), "%s: expected %s, got %s (%s)", #expr, kgm_status_str(code),     \
                     kgm_status_str(st_), msg_);                                                   \
        cr_assert(strstr(msg_, ".c:") != NULL, "%s: message lacks file:line: '%s'", #expr, msg_);  \
        cr_assert(strstr(msg_, (needle)) != NULL, "%s: message '%s' lacks '%s'", #expr, msg_,      \
                  (needle));                                                                       \
        cr_assert_eq(kgm_tape_size(tp), n0_, "%s: a failing op left a record", #expr);            \
    } while (0)

static kgm_tape *tp;
static kgm_tensor *A23, *B23, *C34, *C43, *V31, *V21, *R13, *R12, *E10;
static kgm_tensor *out;

static void setup(void) {
    OK(kgm_tape_new(1 << 20, &tp));
    A23 = tu_tensor(2, 3, 1, 1, true);
    B23 = tu_tensor(2, 3, 2, 1, true);
    C34 = tu_tensor(3, 4, 3, 1, true);
    C43 = tu_tensor(4, 3, 4, 1, true);
    V31 = tu_tensor(3, 1, 5, 1, true);
    V21 = tu_tensor(2, 1, 6, 1, true);
    R13 = tu_tensor(1, 3, 7, 1, true);
    R12 = tu_tensor(1, 2, 8, 1, true);
    E10 = tu_tensor(10, 4, 9, 1, true);
}

static void teardown(void) {
    kgm_tensor *all[] = {A23, B23, C34, C43, V31, V21, R13, R12, E10};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) kgm_tensor_free(all[i]);
    kgm_tape_free(tp);
}

TestSuite(errors, .init = setup, .fini = teardown);

/* ---- shape mismatches, one op family at a time ---------------------------- */

Test(errors, shape_matmul_and_linear) {
    EXPECT_FAIL(tp, kgm_op_matmul(tp, A23, C43, false, false, &out), KGM_ERR_SHAPE, "matmul");
    EXPECT_FAIL(tp, kgm_op_matmul(tp, A23, C34, true, false, &out), KGM_ERR_SHAPE, "matmul");
    EXPECT_FAIL(tp, kgm_op_matmul(tp, A23, C34, false, true, &out), KGM_ERR_SHAPE, "matmul");
    OK(kgm_op_matmul(tp, A23, C43, false, true, &out)); /* (2,3)(3,4) */
    EXPECT_FAIL(tp, kgm_op_linear(tp, A23, C43, NULL, &out), KGM_ERR_SHAPE, "linear");
    EXPECT_FAIL(tp, kgm_op_linear(tp, A23, C34, R13, &out), KGM_ERR_SHAPE, "bias");
    EXPECT_FAIL(tp, kgm_op_linear(tp, A23, C34, V31, &out), KGM_ERR_SHAPE, "bias");
}

Test(errors, shape_bias_and_elementwise) {
    EXPECT_FAIL(tp, kgm_op_bias_add(tp, A23, R12, &out), KGM_ERR_SHAPE, "bias_add");
    EXPECT_FAIL(tp, kgm_op_bias_add(tp, A23, B23, &out), KGM_ERR_SHAPE, "bias_add");
    EXPECT_FAIL(tp, kgm_op_add(tp, A23, C34, &out), KGM_ERR_SHAPE, "add");
    EXPECT_FAIL(tp, kgm_op_sub(tp, A23, R13, &out), KGM_ERR_SHAPE, "sub");
    EXPECT_FAIL(tp, kgm_op_mul(tp, A23, V21, &out), KGM_ERR_SHAPE, "mul");
    EXPECT_FAIL(tp, kgm_op_mul_bcast(tp, A23, V31, &out), KGM_ERR_SHAPE, "mul_bcast");
    EXPECT_FAIL(tp, kgm_op_mul_bcast(tp, A23, R12, &out), KGM_ERR_SHAPE, "mul_bcast");
    /* the three legal broadcasts */
    OK(kgm_op_mul_bcast(tp, A23, V21, &out));
    OK(kgm_op_mul_bcast(tp, A23, R13, &out));
}

Test(errors, shape_concat_slice) {
    kgm_tensor *xs[3] = {A23, B23, C34};
    EXPECT_FAIL(tp, kgm_op_concat_cols(tp, 3, xs, &out), KGM_ERR_SHAPE, "concat_cols");
    EXPECT_FAIL(tp, kgm_op_concat_cols(tp, 0, xs, &out), KGM_ERR_ARG, "concat_cols");
    OK(kgm_op_concat_cols(tp, 2, xs, &out));
    EXPECT_FAIL(tp, kgm_op_slice_cols(tp, A23, 2, 2, &out), KGM_ERR_INDEX, "slice_cols");
    EXPECT_FAIL(tp, kgm_op_slice_cols(tp, A23, -1, 1, &out), KGM_ERR_INDEX, "slice_cols");
    EXPECT_FAIL(tp, kgm_op_slice_cols(tp, A23, 0, -1, &out), KGM_ERR_INDEX, "slice_cols");
}

Test(errors, shape_layernorm_and_dropout_arguments) {
    EXPECT_FAIL(tp, kgm_op_layernorm(tp, A23, R12, NULL, 1e-5f, &out), KGM_ERR_SHAPE, "gain");
    EXPECT_FAIL(tp, kgm_op_layernorm(tp, A23, NULL, V31, 1e-5f, &out), KGM_ERR_SHAPE, "bias");
    kgm_rng r;
    kgm_rng_init(&r, 1, 1);
    EXPECT_FAIL(tp, kgm_op_dropout(tp, A23, 1.0f, &r, &out), KGM_ERR_ARG, "dropout");
    EXPECT_FAIL(tp, kgm_op_dropout(tp, A23, -0.1f, &r, &out), KGM_ERR_ARG, "dropout");
    EXPECT_FAIL(tp, kgm_op_dropout(tp, A23, 0.5f, NULL, &out), KGM_ERR_ARG, "random stream");
    EXPECT_FAIL(tp, kgm_op_relu(tp, NULL, &out), KGM_ERR_ARG, "NULL");
    EXPECT_FAIL(tp, kgm_op_softmax(tp, NULL, &out), KGM_ERR_ARG, "softmax");
}

Test(errors, shape_rowwise_and_segments) {
    EXPECT_FAIL(tp, kgm_op_rowdot(tp, A23, C34, &out), KGM_ERR_SHAPE, "rowdot");
    EXPECT_FAIL(tp, kgm_op_rowcos(tp, A23, R13, 1e-8f, &out), KGM_ERR_SHAPE, "rowcos");
    int64_t off_short[3] = {0, 1, 3}; /* ends at 3, C43 has 4 rows */
    EXPECT_FAIL(tp, kgm_op_segment_sum(tp, C43, off_short, 2, &out), KGM_ERR_INDEX, "segment_sum");
    int64_t off_dec[3] = {0, 3, 2};
    EXPECT_FAIL(tp, kgm_op_segment_mean(tp, C43, off_dec, 2, &out), KGM_ERR_INDEX, "segment_mean");
    int64_t off_start[3] = {1, 2, 4};
    EXPECT_FAIL(tp, kgm_op_segment_softmax(tp, C43, off_start, 2, &out), KGM_ERR_INDEX, "segment_softmax");
    EXPECT_FAIL(tp, kgm_op_segment_sum(tp, C43, NULL, 2, &out), KGM_ERR_ARG, "offsets");
    int64_t off_ok[3] = {0, 1, 4};
    OK(kgm_op_segment_softmax(tp, C43, off_ok, 2, &out));
}

Test(errors, shape_and_index_spmm) {
    /* 2 x 3 matrix with 3 entries */
    int64_t rp[3] = {0, 2, 3};
    int32_t col[3] = {0, 2, 1};
    kgm_csr a = {.rows = 2, .cols = 3, .nnz = 3, .rowptr = rp, .col = col};
    EXPECT_FAIL(tp, kgm_op_spmm(tp, &a, NULL, C43, &out), KGM_ERR_SHAPE, "spmm");
    EXPECT_FAIL(tp, kgm_op_spmm(tp, &a, V21, C34, &out), KGM_ERR_SHAPE, "edge values");
    int32_t badcol[3] = {0, 3, 1};
    kgm_csr b = a;
    b.col = badcol;
    EXPECT_FAIL(tp, kgm_op_spmm(tp, &b, NULL, C34, &out), KGM_ERR_INDEX, "column index");
    int64_t badrp[3] = {0, 2, 2};
    kgm_csr c = a;
    c.rowptr = badrp;
    EXPECT_FAIL(tp, kgm_op_spmm(tp, &c, NULL, C34, &out), KGM_ERR_INDEX, "row pointer");
    OK(kgm_op_spmm(tp, &a, V31, C34, &out));
}

Test(errors, shape_and_index_losses) {
    float y[3] = {0, 1, 0.5f};
    int32_t lab[2] = {0, 2};
    EXPECT_FAIL(tp, kgm_op_bce_logits(tp, A23, y, NULL, &out), KGM_ERR_SHAPE, "bce_logits");
    float ybad[2] = {0, 1.5f};
    EXPECT_FAIL(tp, kgm_op_bce_logits(tp, V21, ybad, NULL, &out), KGM_ERR_ARG, "bce_logits");
    EXPECT_FAIL(tp, kgm_op_bce_logits(tp, V21, NULL, NULL, &out), KGM_ERR_ARG, "targets");
    int32_t lab_bad[2] = {0, 3};
    EXPECT_FAIL(tp, kgm_op_softmax_ce(tp, A23, lab_bad, NULL, &out), KGM_ERR_INDEX, "softmax_ce");
    int32_t lab_neg[2] = {-1, 0};
    EXPECT_FAIL(tp, kgm_op_softmax_ce(tp, A23, lab_neg, NULL, &out), KGM_ERR_INDEX, "softmax_ce");
    OK(kgm_op_softmax_ce(tp, A23, lab, NULL, &out));
    kgm_tensor *empty;
    OK(kgm_tape_tensor(tp, 0, 3, true, false, &empty));
    EXPECT_FAIL(tp, kgm_op_mse(tp, empty, y, NULL, &out), KGM_ERR_SHAPE, "mse");
    EXPECT_FAIL(tp, kgm_op_mean(tp, empty, &out), KGM_ERR_SHAPE, "mean");
    EXPECT_FAIL(tp, kgm_op_bpr(tp, V31, V21, &out), KGM_ERR_SHAPE, "bpr");
    EXPECT_FAIL(tp, kgm_op_bpr(tp, A23, B23, &out), KGM_ERR_SHAPE, "bpr");
    EXPECT_FAIL(tp, kgm_op_margin_ranking(tp, V21, V31, 1.0f, &out), KGM_ERR_SHAPE, "margin_ranking");
}

Test(errors, backward_misuse) {
    kgm_tensor *y;
    OK(kgm_op_add(tp, A23, B23, &y));
    EXPECT_FAIL(tp, kgm_tape_backward(tp, y), KGM_ERR_SHAPE, "(1,1)");
    kgm_tensor *nograd;
    OK(kgm_tape_tensor(tp, 1, 1, true, false, &nograd));
    EXPECT_FAIL(tp, kgm_tape_backward(tp, nograd), KGM_ERR_STATE, "gradient");
}

/* ---- gather indices --------------------------------------------------------- */

Test(errors, gather_index_out_of_range) {
    int32_t hi[3] = {0, 10, 2}, neg[2] = {1, -1}, ok[2] = {9, 0};
    EXPECT_FAIL(tp, kgm_op_gather(tp, E10, hi, 3, &out), KGM_ERR_INDEX, "index 10 at position 1");
    EXPECT_FAIL(tp, kgm_op_gather(tp, E10, neg, 2, &out), KGM_ERR_INDEX, "index -1");
    EXPECT_FAIL(tp, kgm_op_gather(tp, E10, NULL, 2, &out), KGM_ERR_ARG, "gather");
    EXPECT_FAIL(tp, kgm_op_gather(tp, E10, ok, -1, &out), KGM_ERR_ARG, "gather");
    OK(kgm_op_gather(tp, E10, ok, 2, &out));
    cr_assert_eq(out->data[0], E10->data[9 * 4]);
}

Test(errors, gather_into_sparse_param_rejects_bad_index_without_touching) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    int32_t id;
    OK(kgm_params_declare(ps, "emb", 5, 3, (kgm_init){KGM_INIT_NORMAL, 1}, KGM_TENSOR_SPARSE, 0, &id));
    OK(kgm_params_finalize(ps, 1));
    int32_t idx[2] = {4, 5};
    EXPECT_FAIL(tp, kgm_op_gather(tp, kgm_params_tensor(ps, id), idx, 2, &out), KGM_ERR_INDEX, "5 rows");
    cr_assert_not(ps->p[id].has_grad);
    cr_assert_eq(ps->p[id].n_touched, 0);
    kgm_params_free(ps);
}

/* ---- arena exhaustion ---------------------------------------------------------- */

Test(errors, arena_exhaustion_is_a_status) {
    kgm_tape *small;
    OK(kgm_tape_new(4096, &small));
    kgm_tensor *x = tu_tensor(64, 64, 1, 1, true), *w = tu_tensor(64, 64, 2, 1, true), *y;
    EXPECT_FAIL(small, kgm_op_linear(small, x, w, NULL, &y), KGM_ERR_ARENA, "arena exhausted");
    cr_assert(strstr(kgm_error_message(), "4096") != NULL, "message names the capacity: %s", kgm_error_message());
    /* the tape is still usable after a reset */
    kgm_tape_reset(small);
    kgm_tensor *xs = tu_tensor(2, 2, 3, 1, true), *ys;
    OK(kgm_op_relu(small, xs, &ys));
    kgm_tensor_free(x);
    kgm_tensor_free(w);
    kgm_tensor_free(xs);
    kgm_tape_free(small);
}

/* Ops that allocate saved state after their output: an exhausted arena at
 * any point must still leave no record behind. */
Test(errors, arena_exhaustion_at_every_allocation_leaves_no_record) {
    kgm_tensor *x = tu_tensor(32, 8, 1, 1, true), *x2 = tu_tensor(32, 8, 2, 1, true);
    int32_t idx[32];
    for (int i = 0; i < 32; i++) idx[i] = i % 10;
    int64_t rp[33];
    int32_t col[32];
    for (int i = 0; i <= 32; i++) rp[i] = i;
    for (int i = 0; i < 32; i++) col[i] = (i * 7) % 32;
    kgm_csr csr = {.rows = 32, .cols = 32, .nnz = 32, .rowptr = rp, .col = col};
    kgm_rng r;
    kgm_rng_init(&r, 1, 2);
    for (int op = 0; op < 6; op++) {
        bool succeeded = false;
        for (size_t cap = 64; cap <= (1u << 16) && !succeeded; cap += 64) {
            kgm_tape *t;
            OK(kgm_tape_new(cap, &t));
            kgm_tensor *xs[2] = {x, x2}, *y = NULL;
            kgm_status st;
            kgm_error_clear();
            switch (op) {
            case 0: st = kgm_op_gather(t, E10, idx, 32, &y); break;
            case 1: st = kgm_op_concat_cols(t, 2, xs, &y); break;
            case 2: st = kgm_op_spmm(t, &csr, NULL, x, &y); break;
            case 3: st = kgm_op_dropout(t, x, 0.3f, &r, &y); break;
            case 4: st = kgm_op_rowcos(t, x, x2, 1e-8f, &y); break;
            default: st = kgm_op_layernorm(t, x, NULL, NULL, 1e-5f, &y); break;
            }
            if (st == KGM_OK) {
                succeeded = true;
                cr_assert_eq(kgm_tape_size(t), 1, "op %d", op);
            } else {
                cr_assert_eq(st, KGM_ERR_ARENA, "op %d cap %zu: %s", op, cap, kgm_error_message());
                cr_assert_eq(kgm_tape_size(t), 0, "op %d cap %zu: failed op left a record", op, cap);
            }
            kgm_tape_free(t);
        }
        cr_assert(succeeded, "op %d never fit", op);
    }
    kgm_tensor_free(x);
    kgm_tensor_free(x2);
}

Test(errors, arena_direct) {
    kgm_arena a;
    cr_assert_eq(kgm_arena_init(&a, 0), KGM_ERR_ARG);
    OK(kgm_arena_init(&a, 256));
    void *p;
    OK(kgm_arena_alloc(&a, 100, &p));
    kgm_error_clear();
    cr_assert_eq(kgm_arena_alloc(&a, 200, &p), KGM_ERR_ARENA);
    cr_assert_null(p);
    cr_assert(strstr(kgm_error_message(), "arena exhausted"));
    cr_assert_eq(kgm_arena_alloc(&a, SIZE_MAX, &p), KGM_ERR_ARENA, "size overflow must not wrap");
    cr_assert_eq(kgm_arena_alloc(&a, SIZE_MAX - 10, &p), KGM_ERR_ARENA);
    kgm_arena_destroy(&a);
}

/* ---- parameter store misuse -------------------------------------------------- */

Test(errors, params_misuse) {
    kgm_params *ps;
    OK(kgm_params_new(&ps));
    kgm_init z = {KGM_INIT_ZEROS, 0};
    int32_t id = 7;
    OK(kgm_params_declare(ps, "w", 2, 2, z, 0, 0, &id));
    cr_assert_eq(id, 0);
    EXPECT_FAIL(tp, kgm_params_declare(ps, "w", 3, 3, z, 0, 0, &id), KGM_ERR_ARG, "declared twice");
    cr_assert_eq(id, -1, "failed declaration returns id -1");
    EXPECT_FAIL(tp, kgm_params_declare(ps, "", 1, 1, z, 0, 0, NULL), KGM_ERR_ARG, "name");
    char longname[KGM_PARAM_NAME_MAX + 8];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    EXPECT_FAIL(tp, kgm_params_declare(ps, longname, 1, 1, z, 0, 0, NULL), KGM_ERR_ARG, "name");
    EXPECT_FAIL(tp, kgm_params_declare(ps, "zero_rows", 0, 4, z, 0, 0, NULL), KGM_ERR_SHAPE, "zero_rows");
    EXPECT_FAIL(tp, kgm_params_declare(ps, "neg_cols", 4, -1, z, 0, 0, NULL), KGM_ERR_SHAPE, "neg_cols");
    EXPECT_FAIL(tp, kgm_params_declare(ps, "bad_group", 1, 1, z, 0, KGM_MAX_GROUPS, NULL), KGM_ERR_ARG, "group");
    EXPECT_FAIL(tp, kgm_params_declare(ps, "bad_group2", 1, 1, z, 0, -1, NULL), KGM_ERR_ARG, "group");
    cr_assert_eq(ps->n, 1, "failed declarations must not add parameters");
    cr_assert_eq(kgm_params_reinit(ps, 0, 1), KGM_ERR_INDEX, "reinit before finalize");
    OK(kgm_params_finalize(ps, 1));
    EXPECT_FAIL(tp, kgm_params_declare(ps, "late", 1, 1, z, 0, 0, NULL), KGM_ERR_STATE, "late");
    EXPECT_FAIL(tp, kgm_params_finalize(ps, 1), KGM_ERR_STATE, "finalised twice");
    EXPECT_FAIL(tp, kgm_params_reinit(ps, 5, 1), KGM_ERR_INDEX, "5");
    EXPECT_FAIL(tp, kgm_params_reinit(ps, -1, 1), KGM_ERR_INDEX, "-1");
    cr_assert_null(kgm_params_tensor(ps, 1));
    cr_assert_null(kgm_params_tensor(ps, -1));
    cr_assert_eq(kgm_params_find(ps, "nope"), -1);
    cr_assert_eq(kgm_params_find(ps, "w"), 0);
    kgm_params_free(ps);
    kgm_params_free(NULL); /* harmless */
}

Test(errors, tensor_and_tape_arguments) {
    kgm_tensor *t = (kgm_tensor *)1;
    EXPECT_FAIL(tp, kgm_tensor_new(-1, 2, &t), KGM_ERR_SHAPE, "negative");
    cr_assert_null(t);
    EXPECT_FAIL(tp, kgm_tape_tensor(tp, 2, -3, false, false, &t), KGM_ERR_SHAPE, "negative");
    EXPECT_FAIL(tp, kgm_tensor_check_shape(A23, 3, -1, "probe"), KGM_ERR_SHAPE, "probe");
    OK(kgm_tensor_check_shape(A23, -1, 3, "probe"));
    EXPECT_FAIL(tp, kgm_tensor_check_shape(NULL, 1, 1, "probe"), KGM_ERR_ARG, "probe");
    kgm_tape *t2 = (kgm_tape *)1;
    EXPECT_FAIL(tp, kgm_tape_new(0, &t2), KGM_ERR_ARG, "arena");
    cr_assert_null(t2);
}

Test(errors, status_strings_are_distinct) {
    for (int a = KGM_OK; a <= KGM_ERR_INTERRUPTED; a++) {
        cr_assert_str_neq(kgm_status_str((kgm_status)a), "unknown status", "status %d has no name", a);
        for (int b = a + 1; b <= KGM_ERR_INTERRUPTED; b++)
            cr_assert_str_neq(kgm_status_str((kgm_status)a), kgm_status_str((kgm_status)b));
    }
    cr_assert_str_eq(kgm_status_str((kgm_status)999), "unknown status");
}

/* kgm_error_wrap prefixes the current message and cuts at the buffer's end. */
Test(errors, wrap_prefixes_and_truncates) {
    kgm_error_set(KGM_ERR_ARG, "x.c", 3, "inner %d", 7);
    cr_assert_eq(kgm_error_wrap(KGM_ERR_ARG, "outer %s", "ctx"), KGM_ERR_ARG);
    cr_assert_str_eq(kgm_error_message(), "outer ctx: x.c:3: inner 7");
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    kgm_error_set(KGM_ERR_ARG, "x.c", 1, "%s", big);
    kgm_error_wrap(KGM_ERR_ARG, "p");
    const char *m = kgm_error_message();
    cr_assert(strncmp(m, "p: x.c:1: aaa", 13) == 0, "%.40s", m);
    cr_assert_eq(strlen(m), 2047u);
}
