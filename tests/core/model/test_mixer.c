/* Every mixer kind: finite-difference gradients with respect to the input and
 * every mixer parameter, with connections, on small shapes. */
#include <criterion/criterion.h>

#include "tests/common/testutil.h"
#include "core/model/mixer.h"

typedef struct {
    kgm_mixer *m;
    kgm_params *ps;
} mctx;

static kgm_status f_mixer(kgm_tape *tp, kgm_tensor **in, void *vc, kgm_tensor **out) {
    mctx *c = vc;
    kgm_tensor *outs[KGM_MAX_TASKS];
    KGM_TRY(kgm_mixer_forward(c->m, tp, c->ps, in[0], NULL, NULL, outs));
    return kgm_op_concat_cols(tp, c->m->n_tasks, outs, out);
}

static void check_kind(const char *kind, int levels, bool conn) {
    kgm_params *ps;
    cr_assert_eq(kgm_params_new(&ps), KGM_OK);
    kgm_mixer_cfg mc;
    memset(&mc, 0, sizeof mc);
    snprintf(mc.kind, sizeof mc.kind, "%s", kind);
    mc.bottom_hidden = 5;
    mc.n_experts = 3;
    mc.task_experts = 2;
    mc.expert_hidden = 4;
    mc.levels = levels;
    mc.tower_hidden = 3;
    kgm_mixer m;
    cr_assert_eq(kgm_mixer_declare(&m, &mc, 6, 3, ps, 1), KGM_OK, "%s: %s", kind, kgm_error_message());
    if (conn) cr_assert_eq(kgm_mixer_add_connection(&m, KGM_CONN_AITM, 0, 2, ps, 3), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_params_finalize(ps, getenv("MIXSEED") ? (uint64_t)atoi(getenv("MIXSEED")) : 3), KGM_OK);
    (void)0;
    /* Zero-initialised biases put ReLU pre-activations exactly on the kink
     * (a row whose hidden layer is all zero); check at generic values. */
    kgm_rng r;
    kgm_rng_init(&r, 99, 1);
    for (int32_t i = 0; i < ps->n; i++) {
        kgm_tensor *t = kgm_params_tensor(ps, i);
        if (t->rows == 1)
            for (int32_t j = 0; j < t->cols; j++) t->data[j] = 0.3f * (float)kgm_rng_normal(&r);
    }
    /* inputs: x and every parameter (their grad buffers live in the store) */
    kgm_tensor *in[128];
    int n = 0;
    in[n++] = tu_tensor(7, 6, 11, 1.0f, true);
    for (int32_t i = 0; i < ps->n && n < 128; i++) in[n++] = kgm_params_tensor(ps, i);
    /* ReLU kinks: move every parameter a little away from zero crossings is
     * not possible in general, so use a moderate step and tolerance */
    mctx c = {&m, ps};
    kgm_gradcheck_result res;
    cr_assert_eq(kgm_gradcheck(f_mixer, in, n, &c, 1e-3, 5e-2, 5, &res), KGM_OK, "%s: %s", kind, kgm_error_message());
    cr_assert_gt(res.n_checked, 50);
    cr_assert_lt(res.n_kinks * 10, res.n_checked, "%s: %lld of %lld elements at kinks", kind, (long long)res.n_kinks,
                 (long long)res.n_checked);
    cr_assert_lt(res.max_rel_err, 5e-2, "%s%s: rel err %g at input %d elem %lld (analytic %g numeric %g)", kind,
                 conn ? "+aitm" : "", res.max_rel_err, res.worst_input, (long long)res.worst_index, res.analytic, res.numeric);
    kgm_tensor_free(in[0]);
    kgm_params_free(ps);
}

Test(mixer, shared_bottom) { check_kind("shared_bottom", 1, false); }
Test(mixer, separate) { check_kind("separate", 1, false); }
Test(mixer, mmoe) { check_kind("mmoe", 1, false); }
Test(mixer, omoe) { check_kind("omoe", 1, false); }
Test(mixer, ple_one_level) { check_kind("ple", 1, false); }
Test(mixer, ple_two_levels) { check_kind("ple", 2, false); }
Test(mixer, cross_stitch) { check_kind("cross_stitch", 1, false); }
Test(mixer, mmoe_with_aitm_connection) { check_kind("mmoe", 1, true); }

Test(mixer, bad_configurations) {
    kgm_params *ps;
    cr_assert_eq(kgm_params_new(&ps), KGM_OK);
    kgm_mixer_cfg mc;
    memset(&mc, 0, sizeof mc);
    kgm_mixer m;
    snprintf(mc.kind, sizeof mc.kind, "mmoee");
    mc.bottom_hidden = mc.expert_hidden = 4;
    mc.n_experts = 2;
    cr_assert_eq(kgm_mixer_declare(&m, &mc, 6, 2, ps, 1), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "mmoee"));
    snprintf(mc.kind, sizeof mc.kind, "ple");
    mc.levels = 0;
    cr_assert_eq(kgm_mixer_declare(&m, &mc, 6, 2, ps, 1), KGM_ERR_ARG);
    kgm_params_free(ps);
}
