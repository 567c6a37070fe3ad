/* The sweep runner with injected work functions: a crashing and a failing
 * run do not stop the sweep, resume re-runs only unfinished runs, existing
 * results need --resume, threads follow cores / jobs; a run that exits 0
 * without DONE failed; resume reuses only finished runs that verify (config
 * hash, metrics.csv, best.ckpt), --rerun-changed / --retry-failed move old
 * folders aside. */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>

#include "tests/experiments/exp_util.h"
#include "kgmtl/kgmtl.h"
#include "reports/report.h"
#include "experiments/runner.h"
#include "core/train/rundir.h"
#include "core/train/checkpoint.h"

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

/* The test sweep with `epochs` epochs (0: the default). */
static kgm_manifest *sweep_manifest_epochs(int epochs) {
    char text[2048], p[2 * KGM_PATH], opt[64] = "";
    if (epochs) snprintf(opt, sizeof opt, "optimisation: {epochs: %d}\n", epochs);
    snprintf(text, sizeof text,
             "name: runner test\n"
             "tasks:\n  - plugin: ctr\n"
             "%s"
             "seeds: [1, 2]\n"
             "output: %s/out\n"
             "ablate:\n  optimisation.weighting: [equal, uncertainty]\n",
             opt, dir);
    eu_write(dir, "sweep.yaml", text);
    snprintf(p, sizeof p, "%s/sweep.yaml", dir);
    kgm_manifest *m = NULL;
    cr_assert_eq(kgm_manifest_load(p, NULL, NULL, &m), KGM_OK, "%s", kgm_error_message());
    return m;
}

static kgm_manifest *sweep_manifest(void) { return sweep_manifest_epochs(0); }

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

/* A plugin or library that calls exit(0) half-way. */
static kgm_status exiting_work(void *user, const kgm_run_config *cfg, const kgm_train_opts *o, kgm_train_result *res) {
    (void)user;
    (void)res;
    (void)o;
    eu_write(cfg->output, "metrics.csv", "epoch,split,task,metric,value\n1,train,ctr,loss,0.6\n");
    exit(0);
}

Test(runner, exit_zero_without_done_is_a_failure) {
    kgm_manifest *m = sweep_manifest();
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_runner_opts o = {.jobs = 1, .work = exiting_work, .out = devnull, .threads = 1, .only = "weighting=equal/seed-1"};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 0, "a run that exited 0 without DONE counted as ok");
    cr_assert_eq(s.failed, 1);
    cr_assert_not(eu_exists(p->runs[0].dir, "DONE"));
    char *f = eu_read(p->runs[0].dir, "FAILED");
    cr_assert_not_null(f);
    cr_assert_not_null(strstr(f, "exited with status 0 before the run finished"), "%s", f);
    free(f);
    kgm_manifest_free(m);
}

/* Number of runs of the sweep whose `calls` file holds `text`. */
static int calls_with(const kgm_plan *p, const char *text) {
    int n = 0;
    for (int i = 0; i < p->n_runs; i++) {
        char *c = eu_read(p->runs[i].dir, "calls");
        n += c && strstr(c, text);
        free(c);
    }
    return n;
}

Test(runner, resume_refuses_finished_runs_of_a_changed_configuration) {
    kgm_manifest *m = sweep_manifest_epochs(3);
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_runner_opts o = {.jobs = 1, .work = ok_work, .out = devnull, .threads = 1};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 4);
    for (int i = 0; i < 4; i++) eu_write(p->runs[i].dir, "calls", "old\n");
    o.resume = true;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.skipped, 4, "the same manifest: every finished run is reused");
    kgm_manifest_free(m);

    /* epochs 3 -> 4: nothing is reused, nothing is run, nothing is touched */
    m = sweep_manifest_epochs(4);
    p = kgm_manifest_plan(m);
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_ERR_STATE, "finished runs of 3 epochs were reused for 4");
    cr_assert_not_null(strstr(kgm_error_message(), "4 finished runs"), "%s", kgm_error_message());
    cr_assert_not_null(strstr(kgm_error_message(), "--rerun-changed"), "%s", kgm_error_message());
    cr_assert_eq(calls_with(p, "old\n"), 4, "a refused resume must not touch the old runs");
    cr_assert_eq(s.ok + s.skipped, 0);

    /* --rerun-changed: the old folders go to .superseded/, the runs run again */
    o.rerun_changed = true;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 4);
    cr_assert_eq(s.skipped, 0);
    cr_assert_eq(calls_with(p, "resume=1"), 4);
    char old[EU_PATH];
    snprintf(old, sizeof old, "%s/.superseded/%s.1", p->output, p->runs[0].rel);
    char *c = eu_read(old, "calls");
    cr_assert_not_null(c, "the old run was not kept in %s", old);
    cr_assert_str_eq(c, "old\n");
    free(c);
    o.rerun_changed = false;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.skipped, 4, "the re-run runs are of the new configuration");
    kgm_manifest_free(m);
}

Test(runner, resume_verifies_the_files_of_finished_runs) {
    kgm_manifest *m = sweep_manifest();
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_runner_opts o = {.jobs = 1, .work = ok_work, .out = devnull, .threads = 1};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    o.resume = true;
    /* a DONE without a configuration hash (older kgmtl): cannot be checked */
    eu_write(p->runs[0].dir, "DONE", "ok\n");
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_ERR_STATE);
    cr_assert_eq(kgm_rundir_check_done(p->runs[0].dir, 1), KGM_ERR_STATE);
    cr_assert_not_null(strstr(kgm_error_message(), "no configuration hash"), "%s", kgm_error_message());
    /* a metrics.csv cut short: its last row has no newline */
    o.rerun_changed = true;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 1);
    char *mc = eu_read(p->runs[1].dir, "metrics.csv");
    mc[strlen(mc) - 5] = '\0';
    eu_write(p->runs[1].dir, "metrics.csv", mc);
    free(mc);
    o.rerun_changed = false;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_ERR_STATE, "a truncated metrics.csv was reused");
    /* a metrics.csv that lost whole rows */
    o.rerun_changed = true;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 1);
    eu_write(p->runs[2].dir, "metrics.csv", "epoch,split,task,metric,value\n1,train,ctr,loss,0.6\n");
    o.rerun_changed = false;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_ERR_STATE, "a metrics.csv with lost rows was reused");
    kgm_manifest_free(m);
}

Test(runner, retry_failed_starts_failed_runs_over) {
    kgm_manifest *m = sweep_manifest();
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_runner_opts o = {.jobs = 1, .work = crashing_work, .out = devnull, .threads = 1};
    kgm_sweep_stats s;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.failed, 2);
    o.work = ok_work;
    o.resume = o.retry_failed = true;
    cr_assert_eq(kgm_runner_run(m, &o, &s), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(s.ok, 2);
    cr_assert_eq(s.skipped, 2);
    for (int i = 2; i < 4; i++) {
        char old[EU_PATH];
        snprintf(old, sizeof old, "%s/.superseded/%s.1", p->output, p->runs[i].rel);
        cr_assert(eu_exists(old, "FAILED"), "the failed run was not kept in %s", old);
        cr_assert(eu_exists(p->runs[i].dir, "DONE"));
    }
    /* the killed run had written a metrics row; the new run starts from nothing */
    char *mc = eu_read(p->runs[3].dir, "metrics.csv");
    cr_assert_null(strstr(mc, "1,train,ctr,loss,0.6\n"), "%s", mc);
    free(mc);
    kgm_manifest_free(m);
}

Test(runner, run_files_are_read_strictly) {
    char path[2 * KGM_PATH], *rows = NULL;
    int64_t n = 0, last = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    eu_write(dir, "metrics.csv", "epoch,split,task,metric,value\n1,train,ctr,loss,0.5\n2,valid,ctr,auc,nan\n"
                                 "2,test,ctr,auc,0.7\n");
    cr_assert_eq(kgm_rundir_read_csv(path, KGM_CSV_METRICS, 1, &rows, &n, &last), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(n, 3);
    cr_assert_eq(last, 2);
    cr_assert_str_eq(rows, "1,train,ctr,loss,0.5\n");
    free(rows);
    /* the malformed row of the issue: two rows run together after a cut */
    eu_write(dir, "metrics.csv", "epoch,split,task,metric,value\n5,valid,ctr,10,train,ctr,loss,0.6\n");
    cr_assert_eq(kgm_rundir_read_csv(path, KGM_CSV_METRICS, 9, &rows, &n, &last), KGM_ERR_FORMAT);
    cr_assert_not_null(strstr(kgm_error_message(), "metrics.csv:2: expected 5 comma-separated fields"), "%s",
                       kgm_error_message());
    eu_write(dir, "metrics.csv", "epoch,split,task,metric,value\n1,valid,ctr,auc,0.7x\n");
    cr_assert_eq(kgm_rundir_read_csv(path, KGM_CSV_METRICS, 9, NULL, NULL, NULL), KGM_ERR_FORMAT);
    cr_assert_not_null(strstr(kgm_error_message(), "field 5"), "%s", kgm_error_message());
    eu_write(dir, "metrics.csv", "epoch,split,task,metric,value\n1,dev,ctr,auc,0.7\n");
    cr_assert_eq(kgm_rundir_read_csv(path, KGM_CSV_METRICS, 9, NULL, NULL, NULL), KGM_ERR_FORMAT);
    /* a checkpoint path that is a directory: named, never "out of memory" */
    snprintf(path, sizeof path, "%s/last.ckpt", dir);
    eu_mkdirs(path);
    kgm_ckpt_info info;
    cr_assert_eq(kgm_checkpoint_info(path, &info), KGM_ERR_IO);
    cr_assert_not_null(strstr(kgm_error_message(), "last.ckpt: a checkpoint must be a regular file, found a directory"),
                       "%s", kgm_error_message());
    cr_assert_eq(kgm_rundir_read_csv(path, KGM_CSV_METRICS, 9, NULL, NULL, NULL), KGM_ERR_IO);
}
