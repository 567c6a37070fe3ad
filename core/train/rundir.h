/* core/train/rundir.h — the files of one run directory that a resumed sweep
 * relies on, read strictly.
 *
 * A finished run is marked by <run>/DONE, written last:
 *
 *     ok
 *     config_hash 0123456789abcdef     the run's configuration (kgm_run_config_hash)
 *     metrics_rows 42                  data rows of metrics.csv
 *     best_ckpt 0123456789abcdef       checksum of best.ckpt, or "none"
 *
 * so that a resume can tell a finished run of the current configuration,
 * whose files are still what it wrote, from a run of an older manifest or a
 * damaged one (docs/manifest.md, "Resuming a sweep"). */
#ifndef KGMTL_RUNDIR_H
#define KGMTL_RUNDIR_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kgm_csv_kind {
    KGM_CSV_METRICS, /* metrics.csv: epoch,split,task,metric,value */
    KGM_CSV_WEIGHTS, /* weights.csv: step,epoch,task,weight,loss */
} kgm_csv_kind;

/* Read a run's metrics.csv or weights.csv strictly: the exact header, then
 * rows of exactly five fields of the expected types (integers, a split name,
 * non-empty names, numbers), each ended by a newline. Rows whose epoch is
 * <= max_epoch are appended to *rows (heap, NUL-terminated; NULL when none;
 * rows may be NULL to only check). *n_rows counts all data rows and
 * *last_epoch is the largest epoch seen (0 when none); either may be NULL.
 * A missing or non-regular file is KGM_ERR_IO; a malformed row (a truncated
 * last line, a wrong field count or value) is KGM_ERR_FORMAT
 * "path:line: expected ..., found ...". */
kgm_status kgm_rundir_read_csv(const char *path, kgm_csv_kind kind, int64_t max_epoch, char **rows, int64_t *n_rows,
                               int64_t *last_epoch);

/* Write `n` bytes to `path` through a temporary file and a rename, so that a
 * reader (or a resume after a kill) sees the old or the new file, never half
 * of one. */
kgm_status kgm_rundir_write_atomic(const char *path, const char *data, size_t n);

/* Write <dir>/DONE for a run of configuration hash `config_hash`, recording
 * the row count of <dir>/metrics.csv (which must read strictly) and the
 * checksum of <dir>/best.ckpt when there is one (which must verify). */
kgm_status kgm_rundir_write_done(const char *dir, uint64_t config_hash);

/* KGM_OK when <dir>/DONE exists, records `config_hash`, and the files it
 * describes still verify (metrics.csv complete with the recorded row count,
 * best.ckpt intact with the recorded checksum). Otherwise KGM_ERR_STATE with
 * the reason ("configuration changed ...", "metrics.csv:7: ...", "DONE
 * records no configuration hash ..."); KGM_ERR_IO when there is no DONE. */
kgm_status kgm_rundir_check_done(const char *dir, uint64_t config_hash);

#ifdef __cplusplus
}
#endif
#endif
