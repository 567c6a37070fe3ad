/* Two plugins that pass the ABI checks but fail later, built from this file:
 *   -DBAD_CREATE  create() fails with the plugin's own message, which the
 *                 host must report wrapped with the task and file names;
 *   -DBAD_DESC    the descriptor is malformed: select_metric points past the
 *                 metric list;
 *   -DBAD_EXIT    forward_loss() calls exit(0): the run's process ends with
 *                 status 0 and no results, which the runner must count as a
 *                 failure (tests/experiments/runner_cli.sh). */
#include <stdlib.h>

#include "kgmtl/plugin.h"

static kgm_status c_create(const kgm_host_api *host, kgm_task_ctx *ctx, void **self) {
    (void)ctx;
    *self = NULL;
#ifdef BAD_CREATE
    return host->error_set(KGM_ERR_IO, __FILE__, __LINE__, "cannot open vocabulary file '%s'", "/nonexistent/vocab.txt");
#else
    (void)host;
    return KGM_OK;
#endif
}
static kgm_status c_declare(void *self, kgm_task_ctx *ctx) { (void)self; (void)ctx; return KGM_OK; }
static kgm_status c_fwd(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    (void)self; (void)ctx; (void)tp; (void)b; (void)loss;
#ifdef BAD_EXIT
    exit(0);
#endif
    return KGM_ERR_STATE;
}
static kgm_status c_pred(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    (void)self; (void)ctx; (void)tp; (void)b; (void)out;
    return KGM_ERR_STATE;
}
static kgm_status c_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    (void)self; (void)ctx; (void)tp; (void)split; (void)m;
    return KGM_ERR_STATE;
}
static void c_destroy(void *self) { (void)self; }

static const kgm_metric_spec metrics[] = {{"auc", 1}, {"logloss", 0}};

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
#ifdef BAD_CREATE
    .name = "bad_create",
    .description = "create() always fails",
    .select_metric = 0,
#elif defined BAD_EXIT
    .name = "exit_in_loss",
    .description = "forward_loss() calls exit(0)",
    .select_metric = 0,
#else
    .name = "bad_desc",
    .description = "select_metric out of range",
    .select_metric = 2,
#endif
    .version = "1.0",
    .view = KGM_VIEW_INTERACTIONS,
    .input = KGM_INPUT_PAIR,
    .n_metrics = 2,
    .metrics = metrics,
    .create = c_create,
    .declare_params = c_declare,
    .forward_loss = c_fwd,
    .predict = c_pred,
    .eval = c_eval,
    .destroy = c_destroy,
};

KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {
    (void)host;
    return &plugin;
}
