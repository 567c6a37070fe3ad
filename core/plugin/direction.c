/* Metric direction from a plugin's metric specs (kgm_metric_spec), for
 * reports; falls back to "unknown" so the name rule decides. */
#include <string.h>

#include "core/plugin/host.h"


int kgm_plugin_metric_direction(void *plugin_path, const char *plugin, const char *metric) {
    if (!plugin_path || !plugin || !*plugin || !metric) return -1;
    kgm_plugin *pl = NULL;
    if (kgm_plugin_open((const kgm_plugin_path *)plugin_path, plugin, &pl) != KGM_OK) {
        kgm_error_clear();
        return -1;
    }
    int dir = -1;
    size_t stem = strcspn(metric, "@");
    for (int32_t pass = 0; pass < 2 && dir < 0; pass++)
        for (int32_t i = 0; i < pl->desc.n_metrics && dir < 0; i++) {
            const char *n = pl->desc.metrics[i].name;
            /* exact name first, then "recall@20" against "recall@k" */
            bool match = pass == 0 ? !strcmp(n, metric) : (strcspn(n, "@") == stem && !strncmp(n, metric, stem));
            if (match) dir = pl->desc.metrics[i].higher_is_better ? 1 : 0;
        }
    kgm_plugin_close(pl);
    return dir;
}
