/* Trainer internals shared by trainer*.c, weighting.c and checkpoint.c. */
#ifndef KGMTL_TRAINER_INTERNAL_H
#define KGMTL_TRAINER_INTERNAL_H

#include <stdio.h>

#include "core/train/config.h"
#include "datasets/dataset.h"
#include "core/model/encoder.h"
#include "core/plugin/host.h"
#include "core/model/mixer.h"
#include "core/tensor/optim.h"
#include "core/train/trainer.h"
#include "core/model/crosstask.h"

#define KGM_GROUP_SHARED 0
#define KGM_GROUP_TASK0 1 /* task k's parameters: group 1 + k */

/* Rows of one split of a task's view (struct of arrays; unused = NULL). */
typedef struct kgm_view_split {
    int64_t n;
    int64_t *row;
    int32_t *user, *item, *head, *rel, *tail, *src, *dst, *cls;
    float *label, *label2, *weight, *multi;
    /* positives per user (CSR) for user_items */
    int64_t *up_ptr;
    int32_t *up_col;
    /* implicit view, valid/test: (n, neg_k) stored evaluation negatives of the rows */
    int32_t neg_k;
    int32_t *neg;
} kgm_view_split;

typedef struct kgm_view {
    int32_t kind;      /* effective kgm_data_view */
    int32_t n_labels;  /* classes / labels */
    bool tabular;      /* rows are tabular rows */
    kgm_view_split s[3];
} kgm_view;

struct kgm_trainer;

typedef struct kgm_run_task {
    struct kgm_trainer *tr;
    int32_t index;
    const kgm_task_spec *spec;
    kgm_plugin *pl;
    char plugin_file[KGM_PATH]; /* resolved absolute path of pl (kgm_plugin_record_fill) */
    uint64_t plugin_sum;        /* kgm_file_checksum of that file */
    kgm_task_ctx *ctx;
    kgm_view view;
    int32_t slot;          /* mixer slot, -1 when the task does not use the mixer */
    int32_t stream;        /* tasks with equal stream share their training batches */
    int32_t batch;         /* batch size */
    const uint8_t *cold;   /* evaluation filter on items/users, NULL = none */
    bool cold_users;       /* the filter applies to users (else items) */
    kgm_view_split cold_split; /* filtered test rows while evaluating cold-start */
    bool use_cold;
    bool neg_asked;        /* the plugin fetched its evaluation negatives (checked after evaluation) */
    /* epoch state */
    int64_t *perm;
    int64_t cursor;
    double loss_sum;
    int64_t loss_n;
    double w_sum;
    int64_t w_n;
    double weight;         /* current weight (logged) */
    kgm_tensor *loss;      /* this step's loss (valid until the next tape reset) */
    double last_loss;      /* its value */
    int32_t p_logvar;      /* uncertainty: s_k parameter id */
    kgm_batch last_b;      /* this step's training batch (valid until the next tape reset) */
    int32_t cons_with;     /* consistency partner task, -1 = none */
    kgm_consistency_cfg cons;
} kgm_run_task;

typedef struct kgm_trainer {
    const kgm_run_config *cfg;
    kgm_dataset ds;
    uint64_t data_seed;
    kgm_params *ps;
    kgm_encoder enc;
    kgm_mixer mix;
    bool has_mixer;
    int32_t n_slots;
    kgm_optim *opt;
    kgm_tape *tp;
    kgm_plugin_path sp;
    int32_t n_tasks;
    kgm_run_task t[KGM_MAX_TASKS];
    kgm_rng rng_order, rng_drop;
    /* kg filter: triples sorted by (h, r) */
    int64_t kg_n;
    int32_t *kg_h, *kg_r, *kg_t;
    /* cold-start marks */
    uint8_t *cold_users, *cold_items;
    int32_t n_cold_users, n_cold_items;
    /* step cache: mixer output per stream */
    int32_t cache_stream;
    const int64_t *cache_rows;
    kgm_tensor *cache_out[KGM_MAX_TASKS];
    uint64_t cache_gen;    /* tape generation of the cache */
    /* weighting state */
    int32_t weighting;     /* KGM_W_* */
    double gn_w[KGM_MAX_TASKS], gn_l0[KGM_MAX_TASKS];
    double gn_G[KGM_MAX_TASKS]; /* last weighted gradient norms |w_k ∇_W L_k| */
    bool gn_init;
    double dwa_prev[2][KGM_MAX_TASKS]; /* average losses of the last two epochs */
    int32_t dwa_epochs;
    int32_t gn_param;      /* GradNorm's shared layer */
    /* progress */
    int64_t step, samples;
    int32_t epoch;
    int64_t epoch_step;    /* steps taken in this epoch (schedule every_epoch) */
    FILE *log;
    FILE *metrics_csv, *weights_csv;
} kgm_trainer;

enum { KGM_W_EQUAL, KGM_W_STATIC, KGM_W_UNCERTAINTY, KGM_W_GRADNORM, KGM_W_DWA, KGM_W_PCGRAD };

/* trainer.c: the pieces kgm_train_run is made of (used by the benchmark) */
kgm_status kgm_trainer_setup(kgm_trainer *tr, const kgm_run_config *cfg, const kgm_train_opts *opts);
void kgm_trainer_destroy(kgm_trainer *tr);
kgm_status kgm_trainer_alloc_perms(kgm_trainer *tr);
void kgm_trainer_begin_epoch(kgm_trainer *tr);
/* One training step (joint or alternating, as configured). */
kgm_status kgm_trainer_step(kgm_trainer *tr);

/* trainer_schedule.c (optimisation.schedule every_epoch) */
/* Steps of epoch `epoch` (1-based): one full pass per task due that epoch. */
int64_t kgm_schedule_epoch_steps(const kgm_trainer *tr, int32_t epoch);
/* Step s of that epoch: the task, the offset of its batch in the stream's
 * permutation and the batch length; false past the epoch's last step. */
bool kgm_schedule_epoch_locate(const kgm_trainer *tr, int32_t epoch, int64_t s, int32_t *task, int64_t *start,
                               int32_t *n);

/* trainer_data.c */
kgm_status kgm_trainer_open_data(kgm_trainer *tr);
/* One line to the run log (nothing without a log). */
void kgm_trainer_log(struct kgm_trainer *tr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
kgm_status kgm_trainer_build_views(kgm_trainer *tr);
/* Split of each social edge (0 train, 1 valid, 2 test; *out malloc'ed),
 * drawn per unordered pair so (a, b) and (b, a) never straddle splits. */
kgm_status kgm_social_split_by_pair(const kgm_social *so, uint64_t seed, int8_t **out);
void kgm_view_destroy(kgm_view *v);
/* (Re)build the per-user positive lists of a split from its rows. */
kgm_status kgm_view_split_user_lists(kgm_view_split *s, int32_t n_users);
extern const kgm_task_backend kgm_trainer_backend;
/* The mixer/encoder representation of a batch for task k. */
kgm_status kgm_trainer_represent(kgm_trainer *tr, kgm_run_task *t, kgm_tape *tp, const kgm_batch *b, kgm_tensor **h);
/* Fill a batch from rows [idx..] of a split view. */
kgm_status kgm_trainer_make_batch(kgm_trainer *tr, kgm_run_task *t, const kgm_view_split *vs, int32_t split,
                                  const int64_t *rows, int32_t n, kgm_batch *b);

/* weighting.c */
kgm_status kgm_weighting_parse(const char *s, int32_t *out);
/* Name of a KGM_W_* method. */
const char *kgm_weighting_name(int32_t method);
/* optimisation.weighting of a configuration as a KGM_W_* method: "auto" is
 * static when some tasks[].weight is not 1 (*implied set), else equal; a
 * weight the method would ignore is an error naming the task (see
 * kgm_weighting_weight_rule). */
kgm_status kgm_weighting_resolve(const kgm_run_config *cfg, int32_t *out, bool *implied);
/* Hash of every parameter value, and the end-of-epoch check that it changed:
 * an epoch that updated nothing fails the run, naming the weighting method. */
uint64_t kgm_weighting_params_hash(const kgm_trainer *tr);
kgm_status kgm_weighting_check_moved(const kgm_trainer *tr, uint64_t before);
kgm_status kgm_weighting_declare(kgm_trainer *tr);
/* Combine the tasks' losses of a joint step, run backward(s) and leave the
 * parameter gradients ready for the optimiser. */
kgm_status kgm_weighting_backward(kgm_trainer *tr, const bool *active);
void kgm_weighting_epoch_end(kgm_trainer *tr);

/* Length of the column part of a tabular task label: `COLUMN=LEVEL[|LEVEL...]`
 * derives a 0/1 label from a categorical column (unless a column is called
 * exactly `label`); the source column is then kept out of the inputs. */
size_t kgm_label_source(const kgm_table *tab, const char *label);
/* dataset.exclude_columns ("a,b,..."; blanks around names ignored): appends
 * the named columns' names (pointers into tab) to out[*n..cap) (out NULL:
 * only checks); an unknown name is an error listing the table's columns. */
#define KGM_MAX_EXCLUDED_COLUMNS 64
kgm_status kgm_tabular_exclude_columns(const kgm_table *tab, const char *list, const char **out, int cap, int *n);

/* ---- plugin record (core/plugin/record.c) ---- */

/* The plugin files of a checkpoint, by task index ("" when not recorded). */
typedef struct kgm_plugin_record {
    int n;
    char file[KGM_MAX_TASKS][KGM_PATH];
    uint64_t sum[KGM_MAX_TASKS];
} kgm_plugin_record;

/* Resolve every task's plugin file (realpath) and checksum it. */
kgm_status kgm_plugin_record_fill(kgm_trainer *tr);
/* The plugin_files: section of resolved.yaml. */
void kgm_plugin_record_yaml(const kgm_trainer *tr, FILE *o);
/* Load each task's plugin from its recorded file (opts->plugin_files) when it
 * still exists, warning on `warn` when its checksum changed or it is gone. */
kgm_status kgm_plugin_record_apply(const kgm_plugin_record *rec, kgm_train_opts *opts, FILE *warn);
/* The record stored in checkpoint `path` (n = 0 for older checkpoints). */
kgm_status kgm_checkpoint_read_plugins(const char *path, kgm_plugin_record *rec);

#endif
