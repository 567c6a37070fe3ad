/* kgmtl/plugin_test.h — a harness to unit-test a task plugin out of tree.
 *
 * It loads the plugin's .so through the real kgmtl loader (the same checks,
 * probe and messages as `kgmtl run`) into a minimal host: a small synthetic
 * world with planted structure (60 users, 80 items in 5 clusters, a KG over
 * items and genre entities, social edges, a user attribute, item labels,
 * impressions) that answers every data view and input kind, with its own
 * embedding tables and a PAIR encoder. A test then trains a few steps, checks
 * the loss gradients by finite differences and evaluates the metrics:
 *
 *     kgm_plugin_test *pt;
 *     if (kgm_plugin_test_open("./mytask.so", NULL, 0, 7, 0.01f, &pt)) {
 *         fprintf(stderr, "%s\n", kgm_plugin_test_error()); return 1; }
 *     double loss, err, m[8];
 *     kgm_plugin_test_gradcheck(pt, 8, &err);     // err < 1e-2
 *     for (int s = 0; s < 200; s++) kgm_plugin_test_step(pt, 64, &loss);
 *     kgm_plugin_test_eval(pt, KGM_SPLIT_TEST, m);
 *     kgm_plugin_test_close(pt);
 *
 * Build the test with `cc $(pkg-config --cflags --libs kgmtl-plugin-test)`;
 * it links libkgmtl-plugin-test.a (the host), the plugin is only dlopen()ed.
 * Results are deterministic for a seed and thread count. */
#ifndef KGMTL_PLUGIN_TEST_H
#define KGMTL_PLUGIN_TEST_H

#include "kgmtl/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A plugin loaded into the minimal host, with one task instance. */
typedef struct kgm_plugin_test kgm_plugin_test;

/* One option of the task, as a manifest would give it (text, parsed with the
 * plugin's schema). */
typedef struct kgm_plugin_test_option {
    const char *name;
    const char *value;
} kgm_plugin_test_option;

/* Load the plugin file `path`, create a task instance with `opts` (validated
 * against the plugin's schema), declare and initialise its parameters from
 * `seed`, and set up Adam with learning rate `lr`. On failure nothing stays
 * loaded and kgm_plugin_test_error() names the file and the cause. */
kgm_status kgm_plugin_test_open(const char *path, const kgm_plugin_test_option *opts, int32_t n_opts,
                                uint64_t seed, float lr, kgm_plugin_test **out);

/* The plugin's descriptor (name, metrics, view, input). */
const kgm_task_plugin *kgm_plugin_test_descriptor(const kgm_plugin_test *pt);

/* One training step on `batch` random training rows: the host computes
 * batch->h, calls forward_loss (the loss must be a finite (1,1) tensor),
 * backward, one Adam step; *loss is the step's loss before the update. */
kgm_status kgm_plugin_test_step(kgm_plugin_test *pt, int32_t batch, double *loss);

/* Finite-difference check of forward_loss on `batch` random training rows,
 * with respect to batch->h and every parameter the task declared (and the
 * world's embedding tables when the plugin's input is KGM_INPUT_NONE). The
 * task's random stream is reset before every evaluation, so sampled
 * negatives and dropout masks are the same in each. *max_rel_err is the worst
 * relative error (as host->gradcheck); a correct loss stays below 1e-2. */
kgm_status kgm_plugin_test_gradcheck(kgm_plugin_test *pt, int32_t batch, double *max_rel_err);

/* The plugin's eval() on a split: descriptor->n_metrics values into `metrics`. */
kgm_status kgm_plugin_test_eval(kgm_plugin_test *pt, kgm_split_id split, double *metrics);

/* The message of the last failure in this thread. */
const char *kgm_plugin_test_error(void);

/* destroy() the task, unload the plugin, free the host (NULL is fine). */
void kgm_plugin_test_close(kgm_plugin_test *pt);

#ifdef __cplusplus
}
#endif
#endif
