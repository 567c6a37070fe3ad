/* Which plugin file each task of a run used: its resolved absolute path and
 * a checksum of its bytes, recorded in resolved.yaml and the checkpoint, so a
 * result says exactly which code produced it and `kgmtl eval` reloads the
 * same file from any working directory. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/train/trainer_internal.h"

kgm_status kgm_plugin_record_fill(kgm_trainer *tr) {
    for (int k = 0; k < tr->n_tasks; k++) {
        kgm_run_task *t = &tr->t[k];
        char real[PATH_MAX];
        if (!realpath(t->pl->path, real))
            return KGM_ERR(KGM_ERR_IO, "%s: cannot resolve the plugin's path", t->pl->path);
        if (strlen(real) >= sizeof t->plugin_file)
            return KGM_ERR(KGM_ERR_ARG, "%s: plugin path longer than %zu characters", real,
                           sizeof t->plugin_file - 1);
        snprintf(t->plugin_file, sizeof t->plugin_file, "%s", real);
        uint64_t bytes;
        KGM_TRY(kgm_file_checksum(real, &bytes, &t->plugin_sum));
    }
    return KGM_OK;
}

void kgm_plugin_record_yaml(const kgm_trainer *tr, FILE *o) {
    fprintf(o, "# the file each task's plugin was loaded from, and its checksum (kgm_hash64 of the bytes)\n");
    fprintf(o, "plugin_files:\n");
    for (int k = 0; k < tr->n_tasks; k++)
        fprintf(o, "  - task: \"%s\"\n    path: \"%s\"\n    checksum: \"%016llx\"\n", tr->t[k].ctx->name,
                tr->t[k].plugin_file, (unsigned long long)tr->t[k].plugin_sum);
}

kgm_status kgm_plugin_record_apply(const kgm_plugin_record *rec, kgm_train_opts *opts, FILE *warn) {
    for (int k = 0; k < rec->n && k < KGM_MAX_TASKS; k++) {
        if (!rec->file[k][0]) continue;
        if (access(rec->file[k], R_OK) != 0) {
            fprintf(warn, "kgmtl: warning: task %d's plugin %s (recorded in the checkpoint) is gone; resolving it "
                          "by the run's configuration instead\n", k, rec->file[k]);
            continue;
        }
        uint64_t bytes, sum;
        KGM_TRY(kgm_file_checksum(rec->file[k], &bytes, &sum));
        if (sum != rec->sum[k])
            fprintf(warn, "kgmtl: warning: plugin %s changed since the checkpoint was written (checksum %016llx, "
                          "recorded %016llx)\n", rec->file[k], (unsigned long long)sum, (unsigned long long)rec->sum[k]);
        opts->plugin_files[k] = rec->file[k];
    }
    return KGM_OK;
}
