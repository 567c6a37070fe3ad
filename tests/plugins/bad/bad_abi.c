/* A plugin built for a future ABI major (2): the loader must refuse it
 * before calling anything else. */
#include "kgmtl/plugin.h"

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR + 1,
    .abi_minor = 3,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "bad_abi",
    .version = "9.9",
    .description = "built against ABI 2",
};

KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {
    (void)host;
    return &plugin;
}
