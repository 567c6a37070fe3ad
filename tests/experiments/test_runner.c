/* The sweep runner with injected work functions: a crashing and a failing
 * run do not stop the sweep, resume re-runs only unfinished runs, existing
 * results need --resume, threads follow cores / jobs. */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>

#include "exp_util.h"
#include "kgmtl/kgmtl.h"
#include "kgmtl/report.h"
#include "kgmtl/runner.h"

static char dir[KGM_PATH];
static FILE *devnull;

static void setup(void) {
    kgm_init_runtime();
    eu_tmpdir(dir, sizeof dir);
    devnull = fopen("/dev/null", "w");
}

static void teardown(void) {
    if (devnull) fclose(devnull);
    eu_rm_rf(dir);
}

TestSuite(runner, .init = setup, .fini = teardown);

static kgm_manifest *sweep_manifest(void) {
    char text[2048], p[2 * KGM_PATH];
    snprintf(text, sizeof text,
             "name: runner test\n"
             "tasks:\n  - plugin: ctr\n"
             "seeds: [1, 2]\n"
             "output: %s/out\n"
             "ablate:\n  optimisation.weighting: [equal, uncertainty]\n",
             dir);
    eu_write(dir, "sweep.yaml", text);
    snprintf(p, sizeof p, "%s/sweep.yaml", dir);
    kgm_manifest *m = NULL;
    cr_assert_eq(kgm_manifest_load(p, NULL, NULL, &m), KGM_OK, "%s", kgm_error_message());
    return m;
}

/* Writes what a trainer writes; records the call in the run directory. */
static kgm_status fake_train(const kgm_run_config *cfg, const kgm_train_opts *o) {
    char note[256];
    snprintf(note, sizeof note, "threads=%d resume=%d seed=%llu name=%s\n", cfg->train.threads, o->resume,
             (unsigned long long)cfg->seed, cfg->name);
    eu_write(cfg->output, "calls", note);
    eu_fake_run(cfg->output, ".", 0.7 + 0.01 * (double)cfg->seed, 0.5, 0.7, false);
    eu_write(cfg->output, "DONE", "ok\n");
    return KGM_OK;
}

/* uncertainty/seed-1 fails with a message, uncertainty/seed-2 dies by a signal. */
static kgm_status crashing_work(void *user, const kgm_run_config *cfg, const kgm_train_opts *o, kgm_train_result *res) {
    (void)user;
    (void)res;
    if (!strcmp(cfg->train.weighting, "uncertainty")) {
        if (cfg->seed == 1) return KGM_ERR(KGM_ERR_NUMERIC, "step 3: task ctr: loss is NaN");
        eu_write(cfg->output, "metrics.csv", "epoch,split,task,metric,value\n1,train,ctr,loss,0.6\n");
        raise(SIGKILL);
    }
    return fake_train(cfg, o);
}

static kgm_status ok_work(void *user, const kgm_run_config *cfg, const kgm_train_opts *o, kgm_train_result *res) {
    (void)user;
    (void)res;
    return fake_train(cfg, o);
}

Test(runner, crash_and_failure_are_recorded_and_resume_reruns_only_them) {
    kgm_manifest *m = sweep_manifest();
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert_eq(p->n_runs, 4);
    kgm_runner_opts o = {.jobs = 1, .work = crashing_work, .out = devnull, .threads = 1};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.total, 4);
    cr_assert_eq(s.selected, 4);
    cr_assert_eq(s.ok, 2);
    cr_assert_eq(s.failed, 2);
    cr_assert_eq(s.skipped, 0);
    cr_assert_not(s.interrupted);
    cr_assert(eu_exists(p->runs[0].dir, "DONE"));
    cr_assert(eu_exists(p->runs[1].dir, "DONE"));
    char *f1 = eu_read(p->runs[2].dir, "FAILED"), *f2 = eu_read(p->runs[3].dir, "FAILED");
    cr_assert_not_null(f1);
    cr_assert_not_null(f2);
    cr_assert_not_null(strstr(f1, "loss is NaN"), "%s", f1);
    cr_assert_not_null(strstr(f1, "non-finite value"), "%s", f1);
    cr_assert_not_null(strstr(f2, "killed by signal 9"), "%s", f2);
    free(f1);
    free(f2);
    cr_assert_not(eu_exists(p->runs[2].dir, "DONE"));
    char *sw = eu_read(p->output, "sweep.tsv");
    cr_assert_not_null(sw);
    cr_assert_not_null(strstr(sw, "run\tweighting=equal\t1\tweighting=equal/seed-1\t1\t\n"), "%s", sw);
    cr_assert_not_null(strstr(sw, "run\tweighting=uncertainty\t2\tweighting=uncertainty/seed-2\t0\t\n"), "%s", sw);
    free(sw);

    /* results exist: without --resume nothing runs */
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_ERR_STATE);
    cr_assert_not_null(strstr(kgm_error_message(), "--resume"));

    /* resume: only the two unfinished runs run again, with resume = true */
    eu_write(p->runs[0].dir, "calls", "first\n");
    o.work = ok_work;
    o.resume = true;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.skipped, 2);
    cr_assert_eq(s.ok, 2);
    cr_assert_eq(s.failed, 0);
    char *c0 = eu_read(p->runs[0].dir, "calls"), *c2 = eu_read(p->runs[2].dir, "calls");
    cr_assert_str_eq(c0, "first\n", "a finished run is not run again");
    cr_assert_not_null(strstr(c2, "resume=1"), "%s", c2);
    cr_assert_not_null(strstr(c2, "name=weighting=uncertainty"), "%s", c2);
    free(c0);
    free(c2);
    for (int i = 0; i < 4; i++) {
        cr_assert(eu_exists(p->runs[i].dir, "DONE"));
        cr_assert_not(eu_exists(p->runs[i].dir, "FAILED"), "a retried run starts clean");
    }
    /* and the report of the sweep sees four finished runs in two groups */
    kgm_report *r;
    cr_assert_eq(kgm_report_load(p->output, NULL, &r), KGM_OK, "%s", kgm_error_message());
    int32_t runs, done, failed;
    kgm_report_counts(r, &runs, &done, &failed);
    cr_assert_eq(runs, 4);
    cr_assert_eq(done, 4);
    kgm_report_free(r);
    kgm_manifest_free(m);
}

Test(runner, parallel_workers_split_the_cores) {
    kgm_manifest *m = sweep_manifest();
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_runner_opts o = {.jobs = 2, .work = ok_work, .out = devnull};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 4);
    int want = kgm_runner_cores() / 2 > 0 ? kgm_runner_cores() / 2 : 1;
    for (int i = 0; i < 4; i++) {
        char *c = eu_read(p->runs[i].dir, "calls"), exp[64];
        cr_assert_not_null(c);
        snprintf(exp, sizeof exp, "threads=%d resume=0", want);
        cr_assert_not_null(strstr(c, exp), "%s (want %s)", c, exp);
        free(c);
        cr_assert(eu_exists(p->runs[i].dir, "console.log"), "parallel runs log to console.log");
    }
    kgm_manifest_free(m);
}

Test(runner, only_and_dry_run) {
    kgm_manifest *m = sweep_manifest();
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_runner_opts o = {.jobs = 1, .work = ok_work, .out = devnull, .dry_run = true};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK);
    for (int i = 0; i < 4; i++) cr_assert_not(eu_exists(p->runs[i].dir, "DONE"), "a dry run runs nothing");
    o.dry_run = false;
    o.only = "weighting=unc*";
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK);
    cr_assert_eq(s.selected, 2);
    cr_assert_eq(s.ok, 2);
    cr_assert_not(eu_exists(p->runs[0].dir, "DONE"));
    cr_assert(eu_exists(p->runs[2].dir, "DONE"));
    o.only = "weighting=equal/seed-2";
    o.resume = true;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK);
    cr_assert_eq(s.selected, 1);
    cr_assert(eu_exists(p->runs[1].dir, "DONE"));
    cr_assert_not(eu_exists(p->runs[0].dir, "DONE"));
    kgm_manifest_free(m);
}

Test(runner, one_sweep_per_output_directory) {
    kgm_manifest *m = sweep_manifest();
    const kgm_plan *p = kgm_manifest_plan(m);
    eu_mkdirs(p->output);
    char lp[2 * KGM_PATH];
    snprintf(lp, sizeof lp, "%s/.sweep.lock", p->output);
    int fd = open(lp, O_RDWR | O_CREAT, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    kgm_runner_opts o = {.jobs = 1, .work = ok_work, .out = devnull};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_ERR_STATE);
    cr_assert_not_null(strstr(kgm_error_message(), "another kgmtl run"), "%s", kgm_error_message());
    close(fd);
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 4);
    kgm_manifest_free(m);
}
