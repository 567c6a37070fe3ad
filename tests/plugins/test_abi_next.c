/* Forward compatibility of the plugin ABI, both ways. This binary is a
 * SIMULATED next-minor host: it compiles the host (core/plugin/host.c,
 * plugin_loader.c, plugin_abi.c, plugin_probe.c) and the mini backend with
 * -DKGM_ABI_SIMULATE_NEXT_MINOR, so its kgm_batch has a field appended and
 * its host table a member appended, exactly as plugin.h allows a minor to do.
 * It loads plugins built against the real (older) header:
 *   - the 1.0 abi_guard plugin puts a guard behind the kgm_batch it passes to
 *     split_rows / represent: a host copying its own sizeof(kgm_batch) into
 *     the plugin's struct overwrites the guard (eval fails), a host reading
 *     its appended field from the plugin's struct sees the canary;
 *   - the template plugin (a plain kgm_batch on its stack) is evaluated and
 *     trained: under ASan (build-asan) an overflow is a stack-buffer-overflow;
 *   - abi_guard_next, built against the simulated header, loads here and
 *     is refused by the real host (tests/plugins/test_loader.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi_guard.h"
#include "core/plugin/host.h"
#include "kgmtl/kgmtl.h"
#include "tests/plugins/minibackend.h"

#ifndef KGM_ABI_SIMULATE_NEXT_MINOR
#error "test_abi_next must be built with -DKGM_ABI_SIMULATE_NEXT_MINOR"
#endif

static kgm_task_backend inner;
static int64_t seen_next; /* b->next_minor_field as the backend saw it */
static int n_represent;

static kgm_status spy_represent(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **h) {
    seen_next = b->next_minor_field;
    n_represent++;
    return inner.represent(self, ctx, tp, b, h);
}

/* Load `file`, create it on the mini world (represent spied on) and
 * evaluate the test split; metric 0 in *m0. */
static kgm_status eval_plugin(const char *file, double *m0) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", strchr(file, '/') ? "" : MB_BAD_DIR, file);
    mb_world *w = calloc(1, sizeof *w);
    mb_world_init(w, 5);
    kgm_params *ps;
    kgm_params_new(&ps);
    mb_world_declare(w, ps);
    inner = mb_backend(w);
    kgm_task_backend be = inner;
    be.represent = spy_represent;
    kgm_task_cfg cfg = {.params = ps, .param_group = 1, .seed = 5, .backend = &be, .log_level = KGM_LOG_WARN};
    kgm_plugin *pl = NULL;
    kgm_task_ctx *t = NULL;
    kgm_tape *tp = NULL;
    double vals[16];
    seen_next = -1;
    n_represent = 0;
    kgm_status st = kgm_plugin_load_file(p, &pl);
    if (!st) st = kgm_task_new(pl, NULL, NULL, 0, &cfg, &t);
    if (!st) st = kgm_task_declare_params(t);
    if (!st) st = kgm_params_finalize(ps, 5);
    if (!st) st = kgm_tape_new((size_t)8 << 20, &tp);
    if (!st) st = kgm_task_eval(t, tp, KGM_SPLIT_TEST, vals);
    if (!st) *m0 = vals[0];
    kgm_tape_free(tp);
    kgm_task_free(t);
    kgm_plugin_close(pl);
    kgm_params_free(ps);
    mb_world_destroy(w);
    free(w);
    return st;
}

TestSuite(abi_next, .init = kgm_init_runtime);

Test(abi_next, the_simulated_host_is_a_newer_minor) {
    const kgm_host_api *H = kgm_host_api_get();
    cr_expect_eq(H->abi_minor, KGM_ABI_MINOR);
    cr_expect_gt(H->struct_size, KGM_HOST_API_SIZE_1_2);
    cr_expect_gt(sizeof(kgm_batch), KGM_BATCH_SIZE_1_0);
}

Test(abi_next, old_plugin_batch_is_not_overrun) {
    double auc = -1;
    kgm_status st = eval_plugin("abi_guard.so", &auc);
    cr_assert_eq(st, KGM_OK, "%s", kgm_error_message());
    cr_expect_eq(n_represent, 1);
    /* the appended field reached the backend as 0, not the plugin's canary */
    cr_expect_eq(seen_next, 0, "backend read 0x%llx past the plugin's batch", (unsigned long long)seen_next);
    cr_expect(auc >= 0.0 && auc <= 1.0, "auc %g", auc);
}

Test(abi_next, template_evaluates_and_trains) {
    double auc = -1;
    cr_assert_eq(eval_plugin(MB_PLUGIN_DIR "/template.so", &auc), KGM_OK, "%s", kgm_error_message());
    cr_expect_eq(seen_next, 0);
    mb_result r;
    cr_assert_eq(mb_train(MB_PLUGIN_DIR, "template", NULL, 0, 300, 64, 0.01f, 11, &r), KGM_OK, "%s",
                 kgm_error_message());
    cr_expect_lt(r.last_loss, r.first_loss);
    cr_expect_gt(r.after[0], r.before[0], "auc %g -> %g", r.before[0], r.after[0]);
    cr_expect_gt(r.after[0], 0.7, "auc %g", r.after[0]);
}

Test(abi_next, plugin_of_the_same_minor_uses_the_whole_batch) {
    double auc = -1;
    cr_assert_eq(eval_plugin("abi_guard_next.so", &auc), KGM_OK, "%s", kgm_error_message());
    /* same minor: the plugin's own field (its canary) is the batch's */
    cr_expect_eq(seen_next, ABI_GUARD_CANARY_NEXT);
}
