/* Checkpoint functions that need the trainer's internals. */
#ifndef KGMTL_CHECKPOINT_INTERNAL_H
#define KGMTL_CHECKPOINT_INTERNAL_H

#include "core/train/checkpoint.h"

struct kgm_trainer;

typedef struct kgm_ckpt_state {
    int32_t epoch;          /* last completed epoch */
    int64_t step;
    int32_t best_epoch;
    double best_value;
    int32_t bad_epochs;     /* epochs without improvement (early stopping) */
    const float *best_params; /* save: parameters of the best epoch (may be NULL) */
    bool has_best;          /* load: the file had best parameters */
    bool durable;           /* save: fsync before the rename (power-loss safe), else rename only */
} kgm_ckpt_state;

kgm_status kgm_checkpoint_save(const char *path, const struct kgm_trainer *tr, const kgm_ckpt_state *st);
/* Restore parameters, optimiser, rngs and weighting state into a trainer built
 * from the same configuration; best parameters (if any) into best_out. */
kgm_status kgm_checkpoint_load(const char *path, struct kgm_trainer *tr, kgm_ckpt_state *st, float *best_out);

#endif
