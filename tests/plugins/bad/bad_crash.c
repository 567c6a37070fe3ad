/* Plugins that take their process down while being loaded, built from this
 * file; the loader must report each as an error naming the file, not crash:
 *   -DBAD_CRASH_ENTRY  kgm_task_entry dies of SIGSEGV;
 *   -DBAD_CRASH_DESC   the descriptor's name points at unmapped memory, so
 *                      the host crashes while validating it;
 *   -DBAD_EXIT_ENTRY   kgm_task_entry calls exit(3). */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "kgmtl/plugin.h"

static const kgm_metric_spec metrics[] = {{"auc", 1}};

static kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "bad_crash",
    .version = "1.0",
    .description = "crashes while loading",
    .view = KGM_VIEW_INTERACTIONS,
    .input = KGM_INPUT_PAIR,
    .n_metrics = 1,
    .metrics = metrics,
};

KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {
    (void)host;
#if defined(BAD_CRASH_ENTRY)
    raise(SIGSEGV); /* what a NULL store does, without the UB that UBSan builds would report */
#elif defined(BAD_CRASH_DESC)
    plugin.name = (const char *)(uintptr_t)16; /* never mapped */
#elif defined(BAD_EXIT_ENTRY)
    exit(3);
#endif
    return &plugin;
}
