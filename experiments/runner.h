/* experiments/runner.h — run the expanded plan of a manifest, one process per run.
 *
 * kgm_runner_run forks one child per run (at most `jobs` at a time). The
 * child materialises the run's configuration, calls the work function
 * (normally kgm_train_run) and _exit()s with 0 on success, 1 on failure; on
 * failure it writes <run>/FAILED with the error. A child that dies by a
 * signal is recorded in <run>/FAILED by the parent ("killed by signal 11
 * (Segmentation fault)"), and the sweep goes on. A run succeeded when its
 * <run>/DONE records its configuration hash and its files verify
 * (core/train/rundir.h), whatever the exit status: a child that exits 0 without
 * finishing is a failure. With `resume` such finished runs are skipped and
 * half-done runs are continued (the work function receives resume = true);
 * a DONE that does not verify (the manifest changed, a file was damaged) is
 * refused with KGM_ERR_STATE and the list of those runs, unless
 * `rerun_changed` moves their folders to <output>/.superseded/REL.N and
 * runs them again; `retry_failed` does the same for failed runs (without
 * it they continue from last.ckpt). Nothing is deleted. Before the first run the runner writes
 * <output>/sweep.tsv (the plan, read by kgmtl report):
 *
 *     # kgmtl sweep 1
 *     title<TAB>TITLE
 *     description<TAB>TEXT
 *     manifest<TAB>PATH
 *     axis<TAB>KEY<TAB>VALUE<TAB>VALUE...
 *     run<TAB>GROUP<TAB>SEED<TAB>DIR relative to the output<TAB>BASELINE 0|1<TAB>PUBLISHED
 *
 * Progress goes to `out`: the plan table, one line per started and finished
 * run with the overall counts (done / total, failed, ETA). With jobs == 1 and
 * not quiet the child keeps the terminal, so the trainer's own progress line
 * shows; otherwise a child's stdout/stderr go to <run>/console.log. */
#ifndef KGMTL_RUNNER_H
#define KGMTL_RUNNER_H

#include <stdio.h>

#include "experiments/manifest.h"
#include "core/train/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a child process runs for one configuration. kgm_train_run has this
 * shape apart from `user`; tests inject crashing or failing functions. */
typedef kgm_status (*kgm_run_work_fn)(void *user, const kgm_run_config *cfg, const kgm_train_opts *opts,
                                      kgm_train_result *res);

typedef struct kgm_runner_opts {
    int32_t jobs;              /* concurrent worker processes (<= 0: 1) */
    bool resume;               /* skip finished runs, continue half-done ones */
    bool retry_failed;         /* with resume: failed runs start over (old folder moved aside) */
    bool rerun_changed;        /* with resume: finished runs that do not verify start over (moved aside) */
    bool dry_run;              /* print the plan only */
    bool quiet;                /* no per-run progress line (children log to console.log) */
    const char *only;          /* fnmatch(3) pattern on "GROUP" or "GROUP/seed-S" (NULL = all) */
    int32_t threads;           /* train.threads per run when the manifest leaves it 0
                                  (0 = max(1, cores / jobs)) */
    kgm_run_work_fn work;      /* required unless dry_run */
    void *work_user;
    const char *plugin_dirs[8]; /* passed to the work function (NULL-terminated) */
    FILE *out;                 /* plan and progress (NULL = stdout) */
} kgm_runner_opts;

typedef struct kgm_sweep_stats {
    int32_t total;             /* runs in the plan */
    int32_t selected;          /* runs matching --only */
    int32_t skipped;           /* already finished (resume) */
    int32_t ok, failed;        /* runs of this invocation */
    bool interrupted;          /* SIGINT/SIGTERM stopped the sweep */
    double seconds;
} kgm_sweep_stats;

/* Run the plan of `m`. Returns KGM_OK when the sweep went through (individual
 * runs may still have failed: see stats->failed), KGM_ERR_STATE when results
 * already exist and `resume` is off, or finished runs do not verify and
 * `rerun_changed` is off, KGM_ERR_INTERRUPTED when stopped by a
 * signal, KGM_ERR_IO / KGM_ERR_NOMEM on system failures. */
kgm_status kgm_runner_run(const kgm_manifest *m, const kgm_runner_opts *opts, kgm_sweep_stats *stats);

/* Print the plan table (index, group, seed, directory, state) to f. */
void kgm_runner_print_plan(const kgm_manifest *m, const kgm_runner_opts *opts, FILE *f);

/* Usable CPU cores of this process (affinity mask; at least 1). */
int32_t kgm_runner_cores(void);

#ifdef __cplusplus
}
#endif
#endif
