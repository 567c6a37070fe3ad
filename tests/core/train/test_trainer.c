/* Trainer mechanisms: uncertainty weighting, GradNorm, PCGrad, alternating
 * schedules, MMoE vs shared-bottom, checkpoints and exact resume. */
#include <criterion/criterion.h>
#include <math.h>
#include <sys/stat.h>

#include "core/train/checkpoint.h"
#include "datasets/gen.h"
#include "datasets/dataset.h"
#include "core/model/weighting.h"
#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

/* Tabular regression data: y1 = a·x + N(0, s1²), y2 = b·x + N(0, s2²), scaled
 * by `scale2` for the second task; saved as a cache file the trainer loads. */
static void make_regression_cache(const char *path, int n, double s1, double s2, double scale2, uint64_t seed) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_table *t = &ds.tabular;
    int32_t cx[4], cy1, cy2, cs;
    char nm[8];
    for (int j = 0; j < 4; j++) {
        snprintf(nm, sizeof nm, "x%d", j);
        cr_assert_eq(kgm_table_add_column(t, nm, KGM_COL_NUMERIC, &cx[j]), KGM_OK);
    }
    cr_assert_eq(kgm_table_add_column(t, "y1", KGM_COL_NUMERIC, &cy1), KGM_OK);
    cr_assert_eq(kgm_table_add_column(t, "y2", KGM_COL_NUMERIC, &cy2), KGM_OK);
    cr_assert_eq(kgm_table_add_column(t, "split", KGM_COL_CATEGORICAL, &cs), KGM_OK);
    kgm_rng r;
    kgm_rng_init(&r, seed, 3);
    for (int i = 0; i < n; i++) {
        double x[4], a = 0, b = 0;
        for (int j = 0; j < 4; j++) {
            x[j] = kgm_rng_normal(&r);
            cr_assert_eq(kgm_table_set_num(t, cx[j], i, (float)x[j]), KGM_OK);
        }
        a = x[0] - 0.5 * x[1] + 0.25 * x[2];
        b = 0.5 * x[0] + x[3];
        cr_assert_eq(kgm_table_set_num(t, cy1, i, (float)(a + s1 * kgm_rng_normal(&r))), KGM_OK);
        cr_assert_eq(kgm_table_set_num(t, cy2, i, (float)(scale2 * (b + s2 * kgm_rng_normal(&r)))), KGM_OK);
        const char *sp = i < n * 8 / 10 ? "train" : (i < n * 9 / 10 ? "valid" : "test");
        cr_assert_eq(kgm_table_set_cat(t, cs, i, sp, strlen(sp)), KGM_OK);
    }
    cr_assert_eq(kgm_dataset_save(&ds, path), KGM_OK, "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

static void regression_config(kgm_run_config *c, const char *cache, const char *out) {
    kgm_run_config_default(c);
    snprintf(c->data.source, sizeof c->data.source, "cache");
    snprintf(c->data.path, sizeof c->data.path, "%s", cache);
    snprintf(c->mixer.kind, sizeof c->mixer.kind, "shared_bottom");
    c->mixer.bottom_hidden = 16;
    c->mixer.tower_hidden = 0;
    tu_add_task(c, "rating", "t1", "y1");
    tu_add_task(c, "rating", "t2", "y2");
    tu_opt(c, 0, "hidden", "0");
    tu_opt(c, 1, "hidden", "0");
    c->train.lr = 0.01;
    c->train.batch_size = 128;
    c->train.epochs = 12;
    c->eval.cold = false;
    snprintf(c->output, sizeof c->output, "%s", out);
}

Test(trainer, uncertainty_weights_learn_noise_variances, .init = setup, .timeout = 240) {
    char dir[128], cache[200], out[200];
    tu_tmpdir(dir, sizeof dir, "unc");
    snprintf(cache, sizeof cache, "%s/data.kgmc", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    make_regression_cache(cache, 6000, 1.0, 3.0, 1.0, 7);
    kgm_run_config c;
    regression_config(&c, cache, out);
    snprintf(c.train.weighting, sizeof c.train.weighting, "uncertainty");
    c.train.epochs = 25;
    kgm_train_opts o = {.quiet = true};
    kgm_train_result res;
    cr_assert_eq(kgm_train_run(&c, &o, &res), KGM_OK, "%s", kgm_error_message());
    /* The logged weight is 0.5·exp(-s_k) for regression: exp(s_k) = 0.5 / w. */
    char path[300], line[256];
    snprintf(path, sizeof path, "%s/weights.csv", out);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    double w1 = 0, w2 = 0;
    while (fgets(line, sizeof line, f)) {
        long long st;
        int ep;
        char tk[64];
        double w, l;
        if (sscanf(line, "%lld,%d,%63[^,],%lf,%lf", &st, &ep, tk, &w, &l) == 5) {
            if (!strcmp(tk, "t1")) w1 = w;
            if (!strcmp(tk, "t2")) w2 = w;
        }
    }
    fclose(f);
    double v1 = 0.5 / w1, v2 = 0.5 / w2;
    cr_expect(fabs(v1 - 1.0) < 0.25, "exp(s_1) = %g, expected within 25%% of 1", v1);
    cr_expect(fabs(v2 - 9.0) < 0.25 * 9.0, "exp(s_2) = %g, expected within 25%% of 9", v2);
}

Test(trainer, gradnorm_balances_gradient_norms, .init = setup, .timeout = 240) {
    char dir[128], cache[200], out[200];
    tu_tmpdir(dir, sizeof dir, "gn");
    snprintf(cache, sizeof cache, "%s/data.kgmc", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    /* task 2's targets are 10x larger: its loss is ~100x larger */
    make_regression_cache(cache, 4000, 0.3, 0.3, 10.0, 8);
    kgm_run_config c;
    regression_config(&c, cache, out);
    snprintf(c.train.weighting, sizeof c.train.weighting, "gradnorm");
    /* alpha 0: the targets are equal norms (alpha > 0 scales them by the
     * tasks' relative loss ratios, which differ once the model learns) */
    c.train.gradnorm_alpha = 0.0;
    c.train.epochs = 8;
    kgm_train_opts o = {.quiet = true};
    kgm_train_result res;
    cr_assert_eq(kgm_train_run(&c, &o, &res), KGM_OK, "%s", kgm_error_message());
    double g1 = res.gradnorm_G[0], g2 = res.gradnorm_G[1];
    cr_assert(g1 > 0 && g2 > 0);
    double ratio = g1 > g2 ? g1 / g2 : g2 / g1;
    cr_expect(ratio < 2.0, "weighted gradient norms %g and %g differ by %gx", g1, g2, ratio);
    cr_log_info("gradnorm alpha 0: weighted gradient norms %g and %g (%.3gx)", g1, g2, ratio);
}

Test(trainer, unit_weights_leave_gradient_norms_unbalanced, .init = setup, .timeout = 240) {
    /* Control for the test above: without GradNorm the 100x loss scale shows
     * in the gradient norms, so the balance really comes from GradNorm. */
    char dir[128], cache[200], out[200];
    tu_tmpdir(dir, sizeof dir, "gn0");
    snprintf(cache, sizeof cache, "%s/data.kgmc", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    make_regression_cache(cache, 4000, 0.3, 0.3, 10.0, 8);
    kgm_run_config c;
    regression_config(&c, cache, out);
    snprintf(c.train.weighting, sizeof c.train.weighting, "gradnorm");
    c.train.gradnorm_alpha = 1.5;
    c.train.lr = 1e-7; /* weights stay at 1: gradnorm's first measurement is the unbalanced one */
    c.train.epochs = 1;
    c.train.steps_per_epoch = 1;
    kgm_train_opts o = {.quiet = true};
    kgm_train_result res;
    cr_assert_eq(kgm_train_run(&c, &o, &res), KGM_OK, "%s", kgm_error_message());
    double g1 = res.gradnorm_G[0], g2 = res.gradnorm_G[1];
    cr_expect(g2 / g1 > 4.0, "without balancing the norms should differ strongly: %g vs %g", g1, g2);
}

Test(weighting, pcgrad_projects_conflicting_gradients) {
    /* g1 = (1, 0), g2 = (-1, 1): conflicting (dot -1). */
    float g[4] = {1, 0, -1, 1}, proj[4], out[2];
    int32_t order[4] = {0, 1, 0, 1};
    kgm_pcgrad_combine(g, 2, 2, order, proj, out);
    /* g1' = g1 - (g1.g2/|g2|^2) g2 = (1,0) + 0.5(-1,1) = (0.5, 0.5) */
    cr_assert_float_eq(proj[0], 0.5f, 1e-6);
    cr_assert_float_eq(proj[1], 0.5f, 1e-6);
    /* g2' = g2 - (g2.g1/|g1|^2) g1 = (-1,1) + (1,0) = (0, 1) */
    cr_assert_float_eq(proj[2], 0.0f, 1e-6);
    cr_assert_float_eq(proj[3], 1.0f, 1e-6);
    cr_assert_float_eq(out[0], 0.5f, 1e-6);
    cr_assert_float_eq(out[1], 1.5f, 1e-6);
    /* projected gradients no longer conflict with the other task's original */
    cr_assert_geq(proj[0] * g[2] + proj[1] * g[3], -1e-6);
    cr_assert_geq(proj[2] * g[0] + proj[3] * g[1], -1e-6);
    /* non-conflicting gradients pass through unchanged */
    float h[4] = {1, 0, 1, 1}, out2[2];
    kgm_pcgrad_combine(h, 2, 2, order, NULL, out2);
    cr_assert_float_eq(out2[0], 2.0f, 1e-6);
    cr_assert_float_eq(out2[1], 1.0f, 1e-6);
}

Test(weighting, dwa_and_gradnorm_updates) {
    double l1[2] = {1.0, 2.0}, l2[2] = {2.0, 2.0}, w[2];
    kgm_dwa_weights(l1, l2, 2, 2.0, w);
    /* r = (0.5, 1.0): w_k = 2 exp(r_k/2) / sum */
    double e1 = exp(0.25), e2 = exp(0.5);
    cr_assert_float_eq(w[0], 2 * e1 / (e1 + e2), 1e-12);
    cr_assert_float_eq(w[1], 2 * e2 / (e1 + e2), 1e-12);
    double gw[2] = {1, 1}, gn[2] = {1.0, 100.0}, ratio[2] = {1, 1};
    kgm_gradnorm_update(gw, gn, ratio, 2, 1.5, 0.001);
    cr_assert_lt(gw[1], gw[0], "the task with the larger gradient must be down-weighted");
    cr_assert_float_eq(gw[0] + gw[1], 2.0, 1e-12);
}

/* ---- world-based runs: alternating schedules, checkpoints, resume ---------------- */

static void world_config(kgm_run_config *c, const char *out) {
    tu_world_config(c, out);
}

/* Rows of weights.csv per task. */
static int count_steps(const char *dir, const char *task) {
    FILE *f = tu_weights_open(dir);
    if (!f) return -1;
    int n = 0;
    tu_wrow r;
    while (tu_weights_next(f, &r)) n += strcmp(r.task, task) == 0;
    fclose(f);
    return n;
}

Test(trainer, alternating_every_k_schedule_and_per_task_lr, .init = setup, .timeout = 240) {
    char dir[128], out[200];
    tu_tmpdir(dir, sizeof dir, "alt");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    world_config(&c, out);
    snprintf(c.train.mode, sizeof c.train.mode, "alternating");
    snprintf(c.train.schedule, sizeof c.train.schedule, "every");
    c.tasks[1].every = 3;     /* MKR: the KG task every 3rd step */
    c.tasks[1].lr_mult = 0.0; /* and with learning rate 0: its own relation table must not move */
    c.train.log_steps = true;
    kgm_train_opts o = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    int total = c.train.epochs * c.train.steps_per_epoch;
    cr_expect_eq(count_steps(out, "ctr"), total, "ctr ran %d of %d steps", count_steps(out, "ctr"), total);
    cr_expect_eq(count_steps(out, "kge"), (total + 2) / 3, "kge ran %d steps, expected %d", count_steps(out, "kge"), (total + 2) / 3);
}

Test(trainer, kill_and_resume_equals_uninterrupted, .init = setup, .timeout = 300) {
    char dir[128], a[200], b[200], pa[260], pb[260];
    tu_tmpdir(dir, sizeof dir, "resume");
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    kgm_run_config ca, cb;
    world_config(&ca, a);
    world_config(&cb, b);
    ca.mixer.dropout = cb.mixer.dropout = 0.1; /* dropout draws from a checkpointed stream */
    kgm_train_opts o = {.quiet = true};
    kgm_train_result ra, rb;
    cr_assert_eq(kgm_train_run(&ca, &o, &ra), KGM_OK, "%s", kgm_error_message());
    kgm_train_opts stop = {.quiet = true, .stop_after_epoch = 1};
    cr_assert_eq(kgm_train_run(&cb, &stop, NULL), KGM_ERR_INTERRUPTED);
    snprintf(pb, sizeof pb, "%s/DONE", b);
    cr_assert_neq(access(pb, F_OK), 0, "an interrupted run must not be marked done");
    kgm_train_opts res = {.quiet = true, .resume = true};
    cr_assert_eq(kgm_train_run(&cb, &res, &rb), KGM_OK, "%s", kgm_error_message());
    kgm_ckpt_info ia, ib;
    snprintf(pa, sizeof pa, "%s/last.ckpt", a);
    snprintf(pb, sizeof pb, "%s/last.ckpt", b);
    cr_assert_eq(kgm_checkpoint_info(pa, &ia), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_checkpoint_info(pb, &ib), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ia.epoch, 3);
    cr_assert_eq(ib.epoch, 3);
    cr_assert_eq(ia.step, ib.step);
    cr_assert_eq(ia.checksum, ib.checksum, "parameters/optimiser/rng state differ after resume");
    cr_assert_eq(ra.n_test, rb.n_test);
    for (int i = 0; i < ra.n_test; i++)
        cr_assert_eq(ra.test_value[i], rb.test_value[i], "%s differs: %g vs %g", ra.test_name[i], ra.test_value[i], rb.test_value[i]);
}

Test(trainer, corrupt_and_truncated_checkpoints_are_refused, .init = setup, .timeout = 300) {
    char dir[128], out[200], p[260], q[260];
    tu_tmpdir(dir, sizeof dir, "ckpt");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    world_config(&c, out);
    c.train.epochs = 1;
    kgm_train_opts o = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    snprintf(p, sizeof p, "%s/last.ckpt", out);
    FILE *f = fopen(p, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    kgm_ckpt_info info;
    /* truncated */
    snprintf(q, sizeof q, "%s/trunc.ckpt", dir);
    f = fopen(q, "wb");
    fwrite(buf, 1, (size_t)n / 2, f);
    fclose(f);
    cr_assert_eq(kgm_checkpoint_info(q, &info), KGM_ERR_FORMAT);
    cr_assert(strstr(kgm_error_message(), "trunc.ckpt"), "message should name the file: %s", kgm_error_message());
    /* a flipped byte in the parameter payload: found by the checksum on resume */
    buf[n / 2] ^= 0x5a;
    f = fopen(p, "wb");
    fwrite(buf, 1, (size_t)n, f);
    fclose(f);
    free(buf);
    kgm_train_opts r = {.quiet = true, .resume = true};
    kgm_status st = kgm_train_run(&c, &r, NULL);
    cr_assert_eq(st, KGM_ERR_FORMAT, "a corrupted checkpoint must be refused, got %d: %s", st, kgm_error_message());
    cr_assert(strstr(kgm_error_message(), "checksum") || strstr(kgm_error_message(), "corrupt"), "%s", kgm_error_message());
    /* not a checkpoint at all */
    snprintf(q, sizeof q, "%s/text.ckpt", dir);
    f = fopen(q, "w");
    fputs("hello\n", f);
    fclose(f);
    cr_assert_eq(kgm_checkpoint_info(q, &info), KGM_ERR_FORMAT);
}

Test(trainer, cross_task_components_from_the_configuration, .init = setup, .timeout = 300) {
    /* cross&compress in the encoder, cross-stitch towers, an AITM connection,
     * consistency regularisation and an evaluation fusion, all in one run */
    char dir[128], a[200], b[200];
    tu_tmpdir(dir, sizeof dir, "xtask");
    snprintf(a, sizeof a, "%s/with", dir);
    snprintf(b, sizeof b, "%s/without", dir);
    kgm_run_config c;
    kgm_run_config_default(&c);
    c.data.n_users = 150;
    c.data.n_items = 150;
    c.data.interactions_per_user = 30;
    c.encoder.dim = 16;
    c.encoder.kg = true;
    c.encoder.kg_hops = 1;
    c.encoder.cross_compress = 1;
    snprintf(c.mixer.kind, sizeof c.mixer.kind, "cross_stitch");
    c.mixer.bottom_hidden = 16;
    c.mixer.tower_hidden = 8;
    snprintf(c.mixer.connections, sizeof c.mixer.connections, "ctr>esmm:aitm");
    tu_add_task(&c, "ctr", "ctr", NULL);
    tu_add_task(&c, "esmm", "esmm", NULL);
    tu_add_task(&c, "ctr", "ctr2", NULL);
    c.train.epochs = 2;
    c.train.steps_per_epoch = 10;
    c.train.batch_size = 128;
    c.eval.cold = false;
    snprintf(c.eval.fusion, sizeof c.eval.fusion, "power");
    snprintf(c.eval.fusion_tasks, sizeof c.eval.fusion_tasks, "ctr,ctr2");
    snprintf(c.eval.fusion_weights, sizeof c.eval.fusion_weights, "1,0.5");
    kgm_run_config c2 = c;
    snprintf(c.tasks[2].consistency_with, sizeof c.tasks[2].consistency_with, "ctr");
    c.tasks[2].consistency_weight = 1.0;
    snprintf(c.output, sizeof c.output, "%s", a);
    snprintf(c2.output, sizeof c2.output, "%s", b);
    kgm_train_opts o = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_train_run(&c2, &o, NULL), KGM_OK, "%s", kgm_error_message());
    double fa = tu_metric(a, -1, "test", "fusion", "auc");
    cr_assert(fa > 0 && fa < 1, "fusion auc %g", fa);
    /* the consistency term changes what ctr2 learns */
    double l1 = tu_metric(a, 2, "train", "ctr2", "loss"), l2 = tu_metric(b, 2, "train", "ctr2", "loss");
    cr_assert(!isnan(l1) && !isnan(l2));
    cr_assert_neq(l1, l2, "consistency regularisation had no effect");
}

/* evaluation.select "mean.rmse": the model is chosen on the mean of both
 * tasks' validation RMSE, not on the first task's. */
Test(trainer, select_on_the_mean_over_tasks, .init = setup, .timeout = 240) {
    char dir[128], cache[200], out[200];
    tu_tmpdir(dir, sizeof dir, "selmean");
    snprintf(cache, sizeof cache, "%s/data.cache", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    make_regression_cache(cache, 2000, 1.0, 1.0, 10.0, 5);
    kgm_run_config c;
    regression_config(&c, cache, out);
    c.train.epochs = 4;
    snprintf(c.eval.select, sizeof c.eval.select, "mean.rmse");
    kgm_train_opts o = {.quiet = true};
    kgm_train_result res;
    cr_assert_eq(kgm_train_run(&c, &o, &res), KGM_OK, "%s", kgm_error_message());
    cr_expect_str_eq(res.select, "mean.rmse");
    double r1 = tu_metric(out, res.best_epoch, "valid", "t1", "rmse");
    double r2 = tu_metric(out, res.best_epoch, "valid", "t2", "rmse");
    cr_expect_float_eq(res.best_select, 0.5 * (r1 + r2), 1e-5 * (r1 + r2), "best %g, t1 %g, t2 %g", res.best_select, r1, r2);
    for (int e = 1; e <= res.epochs_run; e++) /* the best epoch has the lowest mean */
        cr_expect_leq(res.best_select, 0.5 * (tu_metric(out, e, "valid", "t1", "rmse") + tu_metric(out, e, "valid", "t2", "rmse")) + 1e-6);
    /* a metric no task reports, and a bad direction mix, are refused */
    snprintf(c.eval.select, sizeof c.eval.select, "mean.auc");
    cr_expect_neq(kgm_train_run(&c, &o, NULL), KGM_OK);
    cr_expect(strstr(kgm_error_message(), "mean.METRIC") != NULL, "%s", kgm_error_message());
}

/* The plugin file each task ran with is recorded (absolute path + checksum)
 * in resolved.yaml and the checkpoint, so `kgmtl eval` reloads that file from
 * any working directory, also when the manifest named it by a relative path. */
Test(trainer, plugin_files_are_recorded_and_eval_works_elsewhere, .init = setup, .timeout = 300) {
    char dir[128], src[600], dst[300], cwd[1024];
    tu_tmpdir(dir, sizeof dir, "plugrec");
    snprintf(src, sizeof src, "%s/plugins/ctr.so", getenv("KGMTL_BUILD_DIR"));
    snprintf(dst, sizeof dst, "%s/plug", dir);
    cr_assert_eq(mkdir(dst, 0777), 0);
    snprintf(dst, sizeof dst, "%s/plug/ctr.so", dir);
    cr_assert_eq(symlink(src, dst), 0);
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(dir), 0);
    kgm_run_config c;
    world_config(&c, "run");
    c.n_tasks = 1; /* ctr only, given by a path relative to the working directory */
    snprintf(c.tasks[0].plugin, sizeof c.tasks[0].plugin, "plug/ctr.so");
    c.train.epochs = 1;
    kgm_train_opts o = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    /* resolved.yaml names the real file and its checksum */
    char real[1024], want[1200], yaml[8192];
    cr_assert_not_null(realpath(dst, real));
    uint64_t bytes, sum;
    cr_assert_eq(kgm_file_checksum(real, &bytes, &sum), KGM_OK);
    FILE *f = fopen("run/resolved.yaml", "r");
    cr_assert_not_null(f);
    size_t n = fread(yaml, 1, sizeof yaml - 1, f);
    yaml[n] = '\0';
    fclose(f);
    snprintf(want, sizeof want, "plugin_files:\n  - task: \"ctr\"\n    path: \"%s\"\n    checksum: \"%016llx\"\n", real,
             (unsigned long long)sum);
    cr_expect(strstr(yaml, want) != NULL, "resolved.yaml lacks\n%s\nin\n%s", want, yaml);
    /* eval from elsewhere: the relative path no longer resolves, the record does */
    char ckpt[300];
    snprintf(ckpt, sizeof ckpt, "%s/run/best.ckpt", dir);
    cr_assert_eq(chdir("/"), 0);
    FILE *out = fopen("/dev/null", "w");
    kgm_train_opts e = {.quiet = true};
    cr_expect_eq(kgm_eval_checkpoint(ckpt, &e, 4u, out), KGM_OK, "%s", kgm_error_message());
    fclose(out);
    cr_assert_eq(chdir(cwd), 0);
}
