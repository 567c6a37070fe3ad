/* core/model/mixer.h — the shared part of the multi-task architecture.
 *
 * A mixer maps a batch representation x (B, F) to one output per task
 * (B, out_dim): shared-bottom MLP, MMoE (experts + one softmax gate per task,
 * Ma et al. 2018), OMoE (one gate shared by all tasks), PLE/CGC (shared and
 * task-specific experts over one or more extraction levels, Tang et al. 2020),
 * or separate towers (no sharing beyond the encoder). Every variant ends with
 * an optional per-task tower layer (tower_hidden units, ReLU). Kind `none`
 * has no parameters: every task's output is the input x (B, F) itself, so a
 * head that needs the encoder's layout (MKR: <MLP(u), v>) can read it.
 * Shared parameters go to group 0; task-specific ones (task experts, gates,
 * towers) to group `task_group0 + k`. */
#ifndef KGMTL_MIXER_H
#define KGMTL_MIXER_H

#include "core/train/config.h"
#include "core/model/crosstask.h"
#include "core/tensor/params.h"
#include "core/tensor/tape.h"

#define KGM_MIXER_MAX_LEVELS 4

typedef enum kgm_mixer_kind {
    KGM_MIXER_SHARED_BOTTOM = 0,
    KGM_MIXER_MMOE = 1,
    KGM_MIXER_OMOE = 2,
    KGM_MIXER_PLE = 3,
    KGM_MIXER_SEPARATE = 4,
    KGM_MIXER_CROSS_STITCH = 5, /* separate towers joined by cross-stitch units (Misra et al. 2016) */
    KGM_MIXER_NONE = 6          /* no mixer: every task reads the encoder output itself (MKR's heads) */
} kgm_mixer_kind;

#define KGM_MIXER_MAX_CONN 8

typedef struct kgm_mixer {
    kgm_mixer_kind kind;
    int32_t in_dim, n_tasks, out_dim;
    int32_t hidden;     /* bottom / expert hidden units */
    int32_t n_experts;  /* MMoE/OMoE experts, PLE shared experts */
    int32_t n_task_exp; /* PLE experts per task */
    int32_t levels;
    int32_t tower;      /* tower hidden units, 0 = none */
    float dropout;
    /* parameter ids (-1 = unused) */
    int32_t bottom_w[KGM_MAX_TASKS], bottom_b[KGM_MAX_TASKS]; /* shared-bottom uses [0] */
    int32_t exp_w, exp_b;                 /* MMoE/OMoE: (F, E*H) experts in one matrix */
    int32_t gate_w[KGM_MAX_TASKS];        /* MMoE: per task (F, E); OMoE: [0] */
    /* PLE, per level l: shared experts, per-task experts, task gates, shared gate */
    int32_t ple_sw[KGM_MIXER_MAX_LEVELS], ple_sb[KGM_MIXER_MAX_LEVELS];
    int32_t ple_tw[KGM_MIXER_MAX_LEVELS][KGM_MAX_TASKS], ple_tb[KGM_MIXER_MAX_LEVELS][KGM_MAX_TASKS];
    int32_t ple_gw[KGM_MIXER_MAX_LEVELS][KGM_MAX_TASKS];
    int32_t ple_sgw[KGM_MIXER_MAX_LEVELS];
    int32_t tower_w[KGM_MAX_TASKS], tower_b[KGM_MAX_TASKS];
    kgm_cross_stitch cs_bottom, cs_tower; /* CROSS_STITCH */
    int32_t n_conn;                       /* task-to-task transfers after the towers */
    kgm_connection conn[KGM_MIXER_MAX_CONN];
} kgm_mixer;

/* Parse a kind name ("shared_bottom", "mmoe", "omoe", "ple", "separate",
 * "cross_stitch", "none"). */
kgm_status kgm_mixer_kind_parse(const char *s, kgm_mixer_kind *out);

/* Declare the mixer's parameters for `n_tasks` tasks on inputs of width in_dim. */
kgm_status kgm_mixer_declare(kgm_mixer *m, const kgm_mixer_cfg *cfg, int32_t in_dim, int32_t n_tasks,
                             kgm_params *ps, int32_t task_group0);

/* Add a transfer `from` -> `to` (mixer slots) of `kind` after the towers
 * (AITM-style attention or a gate; core/model/crosstask.h). Call after declare. */
kgm_status kgm_mixer_add_connection(kgm_mixer *m, kgm_connection_kind kind, int32_t from, int32_t to, kgm_params *ps,
                                    int32_t group);
/* True if every task's output depends on the other tasks' rows (cross-stitch,
 * connections): tasks must then share their batches. */
bool kgm_mixer_couples_tasks(const kgm_mixer *m);

/* Forward: fills out[k] (B, m->out_dim) for every task k with want[k] true
 * (want may be NULL = all). `rng` drives dropout in training mode. */
kgm_status kgm_mixer_forward(const kgm_mixer *m, kgm_tape *tp, kgm_params *ps, kgm_tensor *x,
                             const bool *want, kgm_rng *rng, kgm_tensor **out);

/* Id of the last shared layer's weight (GradNorm's W), or -1 if there is none. */
int32_t kgm_mixer_last_shared(const kgm_mixer *m);

#endif
