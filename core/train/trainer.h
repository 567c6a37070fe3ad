/* core/train/trainer.h — one training run from a resolved configuration.
 *
 * kgm_train_run loads/generates the dataset, builds the encoder, the mixer and
 * the task plugins, trains (joint or alternating; equal, static, uncertainty,
 * GradNorm, DWA or PCGrad weighting), validates every epoch, keeps the best
 * epoch by the selection metric on VALIDATION, evaluates that model once on
 * test, and writes into cfg->output (atomically, each file via temp + rename):
 *   resolved.yaml   the configuration (kgm_run_config_write_yaml)
 *   metrics.csv     epoch,split,task,metric,value (long format)
 *   weights.csv     step,epoch,task,weight,loss
 *   best.ckpt       checkpoint of the selected epoch (msgpack, core/train/checkpoint.h)
 *   last.ckpt       checkpoint after the latest epoch (for --resume)
 *   run.log         the log
 *   DONE            written last; its presence marks a finished run
 * With `resume`, a run continues from last.ckpt and ends with the same
 * parameters as an uninterrupted run. */
#ifndef KGMTL_TRAINER_H
#define KGMTL_TRAINER_H

#include <stdio.h>

#include "core/train/config.h"

typedef struct kgm_train_result {
    int32_t best_epoch;
    int32_t epochs_run;
    double best_select;   /* selection metric at the best epoch (validation) */
    char select[128];     /* "task.metric" */
    int32_t n_test;       /* test metrics reported */
    char test_name[64][96];
    double test_value[64];
    double gradnorm_G[KGM_MAX_TASKS]; /* GradNorm: last |w_k ∇_W L_k| per task (diagnostics) */
} kgm_train_result;

typedef struct kgm_train_opts {
    bool resume;          /* continue from <output>/last.ckpt if present */
    bool quiet;           /* no progress line */
    const char *plugin_dirs[8]; /* extra plugin search directories (NULL-terminated) */
    int32_t stop_after_epoch;   /* testing: stop (as if killed) after this epoch; 0 = off */
    /* Load task k's plugin from this file instead of resolving the task's
     * `plugin` (NULL: resolve). eval/recommend set it from the checkpoint's
     * record of the files the run used. */
    const char *plugin_files[KGM_MAX_TASKS];
} kgm_train_opts;

/* Train one run. Returns KGM_OK on success; on failure the message says
 * what failed (step, task and parameter for non-finite values). */
kgm_status kgm_train_run(const kgm_run_config *cfg, const kgm_train_opts *opts, kgm_train_result *res);

/* Rebuild the run a checkpoint belongs to (its stored configuration, the same
 * data), load the checkpoint's parameters and print every task's metrics on
 * `splits` (bit 0 train, 1 valid, 2 test) as a table to `out`. */
kgm_status kgm_eval_checkpoint(const char *ckpt, const kgm_train_opts *opts, unsigned splits, FILE *out);

/* Top-k items for the user whose raw id is `user` from a checkpoint, scored by
 * task `task` (NULL: the first task with user-item rows), excluding the
 * user's training items; printed as rank, item id, score (and title when the
 * data has item text). */
kgm_status kgm_recommend(const char *ckpt, const char *user, int32_t k, const char *task, const kgm_train_opts *opts,
                         FILE *out);

#endif
