/* The loader's failure paths, option validation, the registry and the host
 * API table. Each bad-plugin case asserts its own message. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/plugin/host.h"
#include "kgmtl/kgmtl.h"
#include "tests/plugins/minibackend.h"

static char *path_of(const char *dir, const char *file) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, file);
    return buf[k];
}

static void expect_msg(const char *needle) {
    cr_expect(strstr(kgm_error_message(), needle) != NULL, "message '%s' lacks '%s'", kgm_error_message(), needle);
}

TestSuite(loader);

Test(loader, missing_file) {
    kgm_plugin *pl = (kgm_plugin *)1;
    kgm_status st = kgm_plugin_load_file("/nonexistent/dir/nothing.so", &pl);
    cr_expect_eq(st, KGM_ERR_IO);
    cr_expect_null(pl);
    expect_msg("/nonexistent/dir/nothing.so");
    expect_msg("No such file");
}

Test(loader, not_elf) {
    char dir[] = "/tmp/kgmtl-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *p = path_of(dir, "garbage.so");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("this is a text file, not a shared object\n", f);
    fclose(f);
    kgm_plugin *pl;
    kgm_status st = kgm_plugin_load_file(p, &pl);
    cr_expect_eq(st, KGM_ERR_PLUGIN);
    expect_msg(p);
    expect_msg("not a loadable shared object");
    /* found by name on a search path too */
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, dir);
    st = kgm_plugin_open(&sp, "garbage", &pl);
    cr_expect_eq(st, KGM_ERR_PLUGIN);
    expect_msg("not a loadable shared object");
    kgm_plugin_path_destroy(&sp);
    unlink(p);
    rmdir(dir);
}

Test(loader, no_entry_symbol) {
    kgm_plugin *pl;
    char *p = path_of(MB_BAD_DIR, "bad_noentry.so");
    cr_expect_eq(kgm_plugin_load_file(p, &pl), KGM_ERR_PLUGIN);
    expect_msg(p);
    expect_msg("no 'kgm_task_entry' symbol");
}

Test(loader, wrong_abi_major) {
    kgm_plugin *pl;
    char *p = path_of(MB_BAD_DIR, "bad_abi.so");
    cr_expect_eq(kgm_plugin_load_file(p, &pl), KGM_ERR_ABI);
    expect_msg(p);
    expect_msg("built for ABI 2.3");
    expect_msg("this host implements ABI 1.2");
}

/* A plugin built for a newer minor (its kgm_batch is larger than the host's,
 * it may expect host members this host lacks) is refused before use. */
Test(loader, newer_abi_minor_is_refused) {
    kgm_plugin *pl = (kgm_plugin *)1;
    char *p = path_of(MB_BAD_DIR, "abi_guard_next.so");
    cr_expect_eq(kgm_plugin_load_file(p, &pl), KGM_ERR_ABI);
    cr_expect_null(pl);
    expect_msg(p);
    expect_msg("plugin ABI too new: the plugin was built for ABI 1.3, this host implements ABI 1.2");
}

/* A 1.0 plugin in this 1.2 host: its batch is filled exactly (guard intact). */
Test(loader, abi_1_0_plugin_runs_in_this_host) {
    mb_result r;
    cr_assert_eq(mb_train(MB_BAD_DIR, "abi_guard", NULL, 0, 200, 64, 0.01f, 11, &r), KGM_OK, "%s",
                 kgm_error_message());
    cr_expect_gt(r.after[0], r.before[0], "auc %g -> %g", r.before[0], r.after[0]);
}

Test(loader, truncated_descriptor) {
    kgm_plugin *pl;
    char *p = path_of(MB_BAD_DIR, "bad_small.so");
    cr_expect_eq(kgm_plugin_load_file(p, &pl), KGM_ERR_ABI);
    expect_msg(p);
    expect_msg("truncated plugin descriptor: struct_size is 16 bytes");
}

Test(loader, malformed_descriptor) {
    kgm_plugin *pl;
    char *p = path_of(MB_BAD_DIR, "bad_desc.so");
    cr_expect_eq(kgm_plugin_load_file(p, &pl), KGM_ERR_PLUGIN);
    expect_msg("select_metric 2 is outside [0, 2)");
}

/* A crash while loading is the crashing plugin's error, not the host's end.
 * Under ASan its SEGV handler turns the signal into exit status 1. */
static void expect_crash_msg(const char *file, const char *stage) {
    kgm_plugin *pl = (kgm_plugin *)1;
    char *p = path_of(MB_BAD_DIR, file);
    cr_expect_eq(kgm_plugin_load_file(p, &pl), KGM_ERR_PLUGIN);
    cr_expect_null(pl);
    expect_msg(p);
    expect_msg(stage);
#ifdef __SANITIZE_ADDRESS__
    expect_msg("exit status 1");
#else
    expect_msg("crashed");
    expect_msg("(signal 11, ");
#endif
}

Test(loader, crash_in_entry_is_an_error) {
    expect_crash_msg("bad_crash_entry.so", "in kgm_task_entry");
}

Test(loader, crash_reading_the_descriptor_is_an_error) {
    expect_crash_msg("bad_crash_desc.so", "while the host read its descriptor");
}

Test(loader, exit_in_entry_is_an_error) {
    kgm_plugin *pl;
    char *p = path_of(MB_BAD_DIR, "bad_exit_entry.so");
    cr_expect_eq(kgm_plugin_load_file(p, &pl), KGM_ERR_PLUGIN);
    expect_msg(p);
    expect_msg("ended the process (exit status 3) in kgm_task_entry");
}

static kgm_task_cfg cfg_for(kgm_params *ps) {
    kgm_task_cfg c = {.params = ps, .param_group = 1, .seed = 1, .log_level = KGM_LOG_WARN};
    return c;
}

Test(loader, create_fails) {
    kgm_plugin *pl;
    char *p = path_of(MB_BAD_DIR, "bad_create.so");
    cr_assert_eq(kgm_plugin_load_file(p, &pl), KGM_OK, "%s", kgm_error_message());
    kgm_params *ps;
    kgm_params_new(&ps);
    kgm_task_cfg c = cfg_for(ps);
    kgm_task_ctx *t = (kgm_task_ctx *)1;
    cr_expect_eq(kgm_task_new(pl, "vocab_task", NULL, 0, &c, &t), KGM_ERR_IO);
    cr_expect_null(t);
    expect_msg("task 'vocab_task'");
    expect_msg("bad_create.so");
    expect_msg("create() failed");
    expect_msg("cannot open vocabulary file '/nonexistent/vocab.txt'");
    kgm_params_free(ps);
    kgm_plugin_close(pl);
}

Test(loader, not_found_suggests) {
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, "/nonexistent/kgmtl/plugins");
    kgm_plugin_path_add(&sp, MB_PLUGIN_DIR);
    kgm_plugin *pl;
    cr_expect_eq(kgm_plugin_open(&sp, "ctrr", &pl), KGM_ERR_PLUGIN);
    expect_msg("plugin 'ctrr' not found");
    expect_msg("did you mean 'ctr'?");
    expect_msg("/nonexistent/kgmtl/plugins");
    cr_expect_eq(kgm_plugin_open(&sp, "Bad Name", &pl), KGM_ERR_ARG);
    kgm_plugin_path_destroy(&sp);
}

Test(loader, search_path_order_and_env) {
    setenv("KGMTL_PLUGIN_PATH", "/a/b::/c/d/", 1);
    kgm_plugin_path sp;
    cr_assert_eq(kgm_plugin_path_init_default(&sp, "/explicit", "/build", "/install"), KGM_OK);
    cr_assert_eq(sp.n, 5);
    cr_expect_str_eq(sp.dirs[0], "/explicit");
    cr_expect_str_eq(sp.dirs[1], "/a/b");
    cr_expect_str_eq(sp.dirs[2], "/c/d");
    cr_expect_str_eq(sp.dirs[3], "/build");
    cr_expect_str_eq(sp.dirs[4], "/install");
    kgm_plugin_path_destroy(&sp);
    unsetenv("KGMTL_PLUGIN_PATH");
}

/* ---- options ------------------------------------------------------------ */

static kgm_plugin *open_builtin(const char *name) {
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, MB_PLUGIN_DIR);
    kgm_plugin *pl = NULL;
    kgm_status st = kgm_plugin_open(&sp, name, &pl);
    kgm_plugin_path_destroy(&sp);
    cr_assert_eq(st, KGM_OK, "%s", kgm_error_message());
    return pl;
}

Test(loader, option_wrong_type) {
    kgm_plugin *pl = open_builtin("ctr");
    kgm_params *ps;
    kgm_params_new(&ps);
    kgm_task_cfg c = cfg_for(ps);
    kgm_opt_kv o[] = {{"hidden", "lots", "manifest.yaml:12:5"}};
    kgm_task_ctx *t;
    cr_expect_eq(kgm_task_new(pl, "ctr", o, 1, &c, &t), KGM_ERR_ARG);
    expect_msg("task 'ctr' (plugin ctr");
    expect_msg("ctr.so");
    expect_msg("manifest.yaml:12:5: option 'hidden' (int) expects an integer, found 'lots'");
    kgm_params_free(ps);
    kgm_plugin_close(pl);
}

Test(loader, option_errors_are_all_collected) {
    kgm_plugin *pl = open_builtin("topk");
    kgm_params *ps;
    kgm_params_new(&ps);
    kgm_task_cfg c = cfg_for(ps);
    kgm_opt_kv o[] = {{"kk", "10", "m.yaml:3:7"},          {"loss", "hinge", "m.yaml:4:7"},
                      {"k", "0", "m.yaml:5:7"},             {"kgat_ndcg", "maybe", "m.yaml:6:7"},
                      {"temperature", "1e999", "m.yaml:7:7"}, {"k", "5", "m.yaml:8:7"},
                      {"zzzzzz", "1", "m.yaml:9:7"}};
    kgm_task_ctx *t;
    cr_expect_eq(kgm_task_new(pl, "rank", o, 7, &c, &t), KGM_ERR_ARG);
    expect_msg("7 invalid options");
    expect_msg("m.yaml:3:7: unknown option 'kk' (did you mean 'k'?)");
    expect_msg("m.yaml:4:7: option 'loss' (enum) is 'hinge', expected one of bpr|softmax");
    expect_msg("m.yaml:5:7: option 'k' (int) is 0, outside the range [1, 100000]");
    expect_msg("m.yaml:6:7: option 'kgat_ndcg' (bool) expects a boolean");
    expect_msg("m.yaml:7:7: option 'temperature' (float) expects a finite number, found '1e999'");
    expect_msg("m.yaml:8:7: option 'k' given twice");
    expect_msg("m.yaml:9:7: unknown option 'zzzzzz'; known options: loss k negatives");
    kgm_params_free(ps);
    kgm_plugin_close(pl);
}

Test(loader, options_reach_the_plugin) {
    kgm_plugin *pl = open_builtin("topk");
    kgm_params *ps;
    kgm_params_new(&ps);
    kgm_task_cfg c = cfg_for(ps);
    kgm_opt_kv o[] = {{"k", "7", "x:1:1"}, {"kgat_ndcg", "yes", "x:2:1"}, {"loss", "softmax", "x:3:1"}};
    kgm_task_ctx *t;
    cr_assert_eq(kgm_task_new(pl, "rank", o, 3, &c, &t), KGM_OK, "%s", kgm_error_message());
    const kgm_opt_value *k = kgm_task_option(t, "k"), *neg = kgm_task_option(t, "negatives");
    cr_expect_eq(k->i, 7);
    cr_expect_str_eq(k->where, "x:1:1");
    cr_expect_eq(neg->i, 64);
    cr_expect_str_eq(neg->where, "default");
    cr_expect_eq(kgm_task_option(t, "kgat_ndcg")->i, 1);
    cr_expect_null(kgm_task_option(t, "nope"));
    /* getters of the host table enforce types */
    const kgm_host_api *H = kgm_host_api_get();
    int64_t iv;
    double fv;
    bool bv;
    const char *sv;
    cr_expect_eq(H->opt_int(t, "k", &iv), KGM_OK);
    cr_expect_eq(iv, 7);
    cr_expect_eq(H->opt_float(t, "k", &fv), KGM_OK); /* ints widen to float */
    cr_expect_eq(H->opt_bool(t, "k", &bv), KGM_ERR_ARG);
    cr_expect_eq(H->opt_string(t, "loss", &sv), KGM_OK);
    cr_expect_str_eq(sv, "softmax");
    cr_expect_eq(H->opt_int(t, "undeclared", &iv), KGM_ERR_ARG);
    expect_msg("which its own schema does not declare");
    kgm_task_free(t);
    kgm_params_free(ps);
    kgm_plugin_close(pl);
}

/* ---- registry, host table ---------------------------------------------------- */

Test(loader, registry_lists_every_builtin) {
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, MB_PLUGIN_DIR);
    kgm_registry reg;
    cr_assert_eq(kgm_registry_scan(&reg, &sp), KGM_OK);
    const char *names[] = {"ctr", "rating", "topk", "kge", "social", "userattr",
                           "itemlabels", "esmm", "contrastive", "template"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const kgm_registry_entry *e = kgm_registry_find(&reg, names[i]);
        cr_expect_not_null(e, "%s not listed", names[i]);
        if (e) cr_expect_eq(e->status, KGM_OK);
    }
    for (int32_t i = 0; i < reg.n; i++) cr_expect_eq(reg.e[i].status, KGM_OK, "%s: %s", reg.e[i].path, reg.e[i].error);
    /* the bad directory lists its failures without failing the scan */
    kgm_registry bad;
    kgm_plugin_path bsp;
    kgm_plugin_path_init(&bsp);
    kgm_plugin_path_add(&bsp, MB_BAD_DIR);
    cr_assert_eq(kgm_registry_scan(&bad, &bsp), KGM_OK);
    int failed = 0;
    for (int32_t i = 0; i < bad.n; i++) failed += bad.e[i].status != KGM_OK;
    cr_expect_eq(failed, 8); /* bad_create and abi_guard load; abi_guard_next is too new */
    kgm_registry_destroy(&bad);
    kgm_plugin_path_destroy(&bsp);
    kgm_registry_destroy(&reg);
    kgm_plugin_path_destroy(&sp);
}

Test(loader, host_table_is_complete) {
    const kgm_host_api *H = kgm_host_api_get();
    cr_expect_eq(H->abi_major, KGM_ABI_MAJOR);
    cr_expect_eq(H->struct_size, sizeof(kgm_host_api));
    cr_expect_eq(H->abi_minor, 2);
    cr_expect_eq(H->struct_size, KGM_HOST_API_SIZE_1_2);
    cr_expect_eq(H->metrics->struct_size, KGM_METRICS_API_SIZE_1_2);
    cr_expect_not_null(H->metrics->rank_sampled);
    /* every member from alloc to the last 1.2 one is a non-NULL pointer */
    const char *lo = (const char *)&H->alloc, *hi = (const char *)&H->eval_negatives;
    for (const char *p = lo; p <= hi; p += sizeof(void *)) {
        void *v;
        memcpy(&v, p, sizeof v);
        cr_expect_not_null(v, "host API member at offset %zu is NULL", (size_t)(p - (const char *)H));
    }
    const kgm_metrics_api *M = H->metrics;
    cr_assert_eq(M->struct_size, sizeof(kgm_metrics_api));
    lo = (const char *)&M->auc;
    hi = (const char *)&M->filtered_rank;
    for (const char *p = lo; p <= hi; p += sizeof(void *)) {
        void *v;
        memcpy(&v, p, sizeof v);
        cr_expect_not_null(v, "metrics member at offset %zu is NULL", (size_t)(p - (const char *)M));
    }
}

Test(loader, metrics_through_the_table) {
    const kgm_metrics_api *M = kgm_host_api_get()->metrics;
    /* AUC with a tie: positives {0.8, 0.5}, negatives {0.5, 0.1}: (1 + 1 + 0.5 + 1) / 4 */
    float s[] = {0.8f, 0.5f, 0.5f, 0.1f}, y[] = {1, 1, 0, 0};
    double v;
    cr_expect_eq(M->auc(s, y, 4, &v), KGM_OK);
    cr_expect_float_eq(v, 0.875, 1e-12);
    cr_expect_eq(M->f1(s, y, 4, 0.5, &v), KGM_OK); /* tp 2, fp 1, fn 0 */
    cr_expect_float_eq(v, 0.8, 1e-12);
    int32_t tr[] = {0, 1, 2, 2}, pr[] = {0, 2, 2, 2};
    cr_expect_eq(M->mc_accuracy(tr, pr, 4, &v), KGM_OK);
    cr_expect_float_eq(v, 0.75, 1e-12);
    /* one user, 5 items, item 0 masked, relevant {3, 1}; ranking 4 > 3 > 2 > 1 */
    float sc[] = {9, 1, 2, 3, 4};
    int32_t mask[] = {0}, rel[] = {3, 1};
    double out[5], dcg = 1.0 / log2(3.0);
    cr_expect_eq(M->rank_user(sc, 5, mask, 1, rel, 2, 2, false, out), KGM_OK);
    cr_expect_float_eq(out[0], 0.5, 1e-12);              /* recall@2: one of two */
    cr_expect_float_eq(out[1], dcg / (1.0 + dcg), 1e-12); /* ndcg@2: IDCG over both relevant */
    cr_expect_float_eq(out[2], 1.0, 1e-12);              /* hit@2 */
    cr_expect_float_eq(out[3], 0.5, 1e-12);              /* precision@2 */
    cr_expect_float_eq(out[4], 0.5, 1e-12);              /* mrr: first relevant at rank 2 */
    cr_expect_eq(M->rank_user(sc, 5, mask, 1, rel, 2, 2, true, out), KGM_OK);
    cr_expect_float_eq(out[1], dcg, 1e-12); /* KGAT: IDCG over the one hit only */
    double rank;
    int32_t filt[] = {0, 3};
    cr_expect_eq(M->filtered_rank(sc, 5, 3, filt, 2, &rank), KGM_OK);
    cr_expect_float_eq(rank, 2.0, 1e-12); /* only item 4 scores higher once 0 is filtered */
}

/* A plugin-side computation checked with the host's gradcheck wrapper. */
static kgm_status tanh_dot(kgm_tape *tp, kgm_tensor **in, void *u, kgm_tensor **out) {
    const kgm_host_api *H = u;
    kgm_tensor *a, *d;
    KGM_TRY(H->op_tanh(tp, in[0], &a));
    KGM_TRY(H->op_rowdot(tp, a, in[1], &d));
    return H->op_sum(tp, d, out);
}

Test(loader, gradcheck_through_the_table) {
    const kgm_host_api *H = kgm_host_api_get();
    kgm_tensor *x, *y;
    kgm_tensor_new(3, 4, &x);
    kgm_tensor_new(3, 4, &y);
    for (int i = 0; i < 12; i++) {
        x->data[i] = 0.1f * (float)(i - 5);
        y->data[i] = 0.05f * (float)(7 - i);
    }
    x->grad = calloc(12, sizeof(float));
    y->grad = calloc(12, sizeof(float));
    kgm_tensor *in[2] = {x, y};
    double err = 1;
    cr_assert_eq(H->gradcheck(tanh_dot, in, 2, (void *)H, 1e-3, 1e-2, 3, &err), KGM_OK, "%s", kgm_error_message());
    cr_expect_lt(err, 1e-2, "max relative error %g", err);
    free(x->grad);
    free(y->grad);
    x->grad = y->grad = NULL;
    kgm_tensor_free(x);
    kgm_tensor_free(y);
}

/* The 1.1 ops through the table: a loss sum(log(clamp(|x|, 0.1, 2)) + sqrt(y)),
 * gradient-checked, and log's domain error. */
static kgm_status new_ops_loss(kgm_tape *tp, kgm_tensor **in, void *u, kgm_tensor **out) {
    const kgm_host_api *H = u;
    kgm_tensor *a, *c, *l, *r, *s;
    KGM_TRY(H->op_abs(tp, in[0], &a));
    KGM_TRY(H->op_clamp(tp, a, 0.1f, 2.0f, &c));
    KGM_TRY(H->op_log(tp, c, &l));
    KGM_TRY(H->op_sqrt(tp, in[1], &r));
    KGM_TRY(H->op_add(tp, l, r, &s));
    return H->op_sum(tp, s, out);
}

Test(loader, abi_1_1_ops_through_the_table) {
    const kgm_host_api *H = kgm_host_api_get();
    cr_assert_geq(H->struct_size, KGM_HOST_API_SIZE_1_1);
    kgm_tensor *x, *y;
    kgm_tensor_new(3, 5, &x);
    kgm_tensor_new(3, 5, &y);
    /* |x| spans both clamp bounds, away from the kinks at 0.1 and 2 */
    const float xs[15] = {-3.0f, -1.5f, -0.6f, -0.05f, 0.03f, 0.4f, 0.9f, 1.3f, 1.7f, 2.5f, -2.7f, 0.25f, -0.8f, 1.1f, 0.6f};
    for (int i = 0; i < 15; i++) {
        x->data[i] = xs[i];
        y->data[i] = 0.2f + 0.3f * (float)i;
    }
    x->grad = calloc(15, sizeof(float));
    y->grad = calloc(15, sizeof(float));
    kgm_tensor *in[2] = {x, y};
    double err = 1;
    cr_assert_eq(H->gradcheck(new_ops_loss, in, 2, (void *)H, 1e-3, 1e-2, 3, &err), KGM_OK, "%s", kgm_error_message());
    cr_expect_lt(err, 1e-2, "max relative error %g", err);
    /* a value by hand: x = -3 -> clamp(3) = 2 -> log 2; y = 0.2 -> sqrt */
    kgm_tape *tp;
    cr_assert_eq(kgm_tape_new(1 << 20, &tp), KGM_OK);
    kgm_tensor *a, *c, *l;
    cr_assert_eq(H->op_abs(tp, x, &a), KGM_OK);
    cr_assert_eq(H->op_clamp(tp, a, 0.1f, 2.0f, &c), KGM_OK);
    cr_assert_eq(H->op_log(tp, c, &l), KGM_OK);
    cr_expect_float_eq(l->data[0], logf(2.0f), 1e-6);
    cr_expect_float_eq(l->data[3], logf(0.1f), 1e-6); /* |-0.05| clamped up to 0.1 */
    cr_expect_float_eq(l->data[5], logf(0.4f), 1e-6);
    cr_expect_eq(H->op_log(tp, x, &l), KGM_ERR_NUMERIC); /* x has negatives */
    expect_msg("log: input (3, 5) is -3 at row 0, column 0 (needs > 0)");
    cr_expect_eq(H->op_clamp(tp, x, 1.0f, 0.0f, &l), KGM_ERR_ARG);
    kgm_tape_free(tp);
    free(x->grad);
    free(y->grad);
    x->grad = y->grad = NULL;
    kgm_tensor_free(x);
    kgm_tensor_free(y);
}

Test(loader, params_are_prefixed_and_grouped) {
    kgm_plugin *pl = open_builtin("ctr");
    kgm_params *ps;
    kgm_params_new(&ps);
    mb_world *w = calloc(1, sizeof *w);
    mb_world_init(w, 3);
    mb_world_declare(w, ps);
    kgm_task_backend be = mb_backend(w);
    kgm_task_cfg c = cfg_for(ps);
    c.param_group = 5;
    c.backend = &be;
    kgm_task_ctx *t;
    cr_assert_eq(kgm_task_new(pl, "clicks", NULL, 0, &c, &t), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_task_declare_params(t), KGM_OK, "%s", kgm_error_message());
    int32_t id = kgm_params_find(ps, "clicks/tower.w1");
    cr_assert_geq(id, 0);
    cr_expect_eq(ps->p[id].group, 5);
    cr_expect_eq(t->n_params, 4);
    cr_expect_eq(kgm_task_declare_params(t), KGM_ERR_STATE);
    /* before finalisation, param() has nothing to give */
    cr_expect_null(kgm_host_api_get()->param(t, id));
    kgm_params_finalize(ps, 1);
    cr_expect_not_null(kgm_host_api_get()->param(t, id));
    cr_expect_null(kgm_host_api_get()->param(t, w->p_user)); /* not the task's own */
    kgm_task_free(t);
    kgm_params_free(ps);
    mb_world_destroy(w);
    free(w);
    kgm_plugin_close(pl);
}

/* Every built-in plugin checks the host table as the template teaches: it
 * refuses a host of another major and a table shorter than ABI 1.0's. */
Test(loader, builtins_check_the_host_table) {
    const char *names[] = {"ctr", "rating", "topk", "kge", "social", "userattr",
                           "itemlabels", "esmm", "contrastive", "template"};
    kgm_host_api old = *kgm_host_api_get(), other = old;
    old.struct_size = (uint32_t)KGM_HOST_API_SIZE_1_0 - (uint32_t)sizeof(void *);
    other.abi_major = KGM_ABI_MAJOR + 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char file[64];
        snprintf(file, sizeof file, "%s.so", names[i]);
        void *h = dlopen(path_of(MB_PLUGIN_DIR, file), RTLD_NOW | RTLD_LOCAL);
        cr_assert_not_null(h, "%s", dlerror());
        kgm_task_entry_fn entry;
        void *sym = dlsym(h, KGM_TASK_ENTRY_SYMBOL);
        memcpy(&entry, &sym, sizeof entry);
        cr_expect_not_null(entry(kgm_host_api_get()), "%s refuses this host", names[i]);
        cr_expect_null(entry(&old), "%s accepts a table shorter than ABI 1.0", names[i]);
        cr_expect_null(entry(&other), "%s accepts ABI major %u", names[i], other.abi_major);
        cr_expect_null(entry(NULL), "%s accepts no table", names[i]);
        dlclose(h);
    }
}

/* A plugin found by name in an earlier directory hides a same-named file in a
 * later one: the loaded file is the earlier one, and the hidden one is named. */
Test(loader, shadowing_is_recorded) {
    char dir[] = "/tmp/kgmtl-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char link[1100], target[1100];
    snprintf(link, sizeof link, "%s/ctr.so", dir);
    snprintf(target, sizeof target, "%s/ctr.so", MB_PLUGIN_DIR);
    cr_assert_eq(symlink(target, link), 0);
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, dir);
    kgm_plugin_path_add(&sp, MB_PLUGIN_DIR);
    kgm_plugin *pl = NULL;
    cr_assert_eq(kgm_plugin_open(&sp, "ctr", &pl), KGM_OK, "%s", kgm_error_message());
    cr_expect_str_eq(pl->path, link);
    cr_assert_not_null(pl->shadows);
    cr_expect_str_eq(pl->shadows, target);
    kgm_plugin_close(pl);
    /* alone on the path: nothing shadowed */
    cr_assert_eq(kgm_plugin_open(&sp, "rating", &pl), KGM_OK, "%s", kgm_error_message());
    cr_expect_null(pl->shadows);
    kgm_plugin_close(pl);
    kgm_plugin_path_destroy(&sp);
    unlink(link);
    rmdir(dir);
}
