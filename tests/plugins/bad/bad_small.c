/* A truncated descriptor: struct_size smaller than an ABI 1.0 descriptor. */
#include "kgmtl/plugin.h"

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = 0,
    .struct_size = 16,
    .name = "bad_small",
};

KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {
    (void)host;
    return &plugin;
}
