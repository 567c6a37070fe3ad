/* core/train/checkpoint.h — training checkpoints (msgpack).
 *
 * A checkpoint is one msgpack map: magic "KGMTL-CKPT", format version, the
 * run configuration (and its hash), epoch/step, every parameter by name with
 * its shape and values, the optimiser state (moments, per-parameter step
 * counts), the random streams (data order, dropout, each task), the task-
 * weighting state, the best epoch so far with its parameters, and a checksum
 * over all numeric payloads. Files are written atomically (temp file, fsync,
 * rename). A truncated, corrupted or foreign file is KGM_ERR_FORMAT with a
 * message; a checkpoint of a different configuration is refused on resume. */
#ifndef KGMTL_CHECKPOINT_H
#define KGMTL_CHECKPOINT_H

#include "core/train/config.h"

#define KGM_CKPT_MAGIC "KGMTL-CKPT"
#define KGM_CKPT_VERSION 1

/* Summary of a checkpoint file, validated: a regular file, magic, version,
 * structure, and the checksum recomputed over the stored payloads (so OK
 * means intact). */
typedef struct kgm_ckpt_info {
    int32_t epoch;          /* last completed epoch */
    int64_t step;
    int32_t best_epoch;
    double best_value;
    uint64_t config_hash;
    uint64_t checksum;      /* over parameters, best parameters, optimiser state and rngs */
    int32_t n_params;
    bool has_best;
} kgm_ckpt_info;

kgm_status kgm_checkpoint_info(const char *path, kgm_ckpt_info *out);

/* Read only the configuration stored in a checkpoint (for eval / recommend). */
kgm_status kgm_checkpoint_read_config(const char *path, kgm_run_config *cfg);

#endif
