/* Shared by the synthetic generators: provenance of generated data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/gen.h"
#include "core/base/status.h"

kgm_status kgm_gen_record(kgm_dataset *ds, const char *loader, const char *name, const char *settings,
                          uint64_t content_hash) {
    if (!ds || !loader || !settings) return KGM_ERR(KGM_ERR_ARG, "kgm_gen_record: NULL argument");
    snprintf(ds->name, sizeof ds->name, "%s", name ? name : loader);
    char *l = strdup(loader);
    if (!l) return KGM_ERR(KGM_ERR_NOMEM, "loader name");
    free(ds->prov.loader);
    ds->prov.loader = l;
    size_t n = strlen(loader) + 1 + strlen(settings) + 1;
    char *path = malloc(n);
    if (!path) return KGM_ERR(KGM_ERR_NOMEM, "generator settings");
    snprintf(path, n, "%s:%s", loader, settings);
    /* the fingerprint hashes checksums, not paths: fold the settings in */
    kgm_hasher h;
    kgm_hasher_init(&h);
    kgm_hasher_update(&h, path, strlen(path));
    kgm_hasher_update(&h, &content_hash, sizeof content_hash);
    kgm_status st = kgm_dataset_add_source_sum(ds, path, "generator", 0, kgm_hasher_final(&h));
    free(path);
    return st;
}
