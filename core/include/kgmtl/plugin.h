/* kgmtl/plugin.h — the one header a task plugin needs (ABI major 1).
 * (The full descriptor and host API table land with the plugin issue.) */
#ifndef KGMTL_PLUGIN_H
#define KGMTL_PLUGIN_H

#include "kgmtl/types.h"

#define KGM_ABI_MAJOR 1
#define KGM_ABI_MINOR 0

#endif
