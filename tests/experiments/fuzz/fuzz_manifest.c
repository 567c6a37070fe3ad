/* libFuzzer harness for the manifest parser: the input is written to a
 * manifest file and loaded (YAML syntax, schema, cross-field rules, base:
 * inheritance, ablation expansion), then every run is materialised into a
 * configuration. Plugins are not opened (no check_task hook). Built with
 * -Dfuzz=true (clang); the same function is replayed over the seed corpus
 * and the shipped manifests by tests/experiments/test_manifest_fuzz.c in the
 * default suite. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kgmtl/config.h"
#include "kgmtl/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One scratch folder per process, removed at exit: the manifest and a
 * sibling a `base:` may name. */
static char dir[64];

static void scratch_remove(void) {
    char p[128];
    snprintf(p, sizeof p, "%s/m.yaml", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/base.yaml", dir);
    unlink(p);
    rmdir(dir);
}

static const char *scratch(void) {
    if (!dir[0]) {
        /* tmpfs when there is one: the harness writes a file per input */
        snprintf(dir, sizeof dir, "/dev/shm/kgmtl-fuzz-manifest-XXXXXX");
        if (!mkdtemp(dir)) {
            snprintf(dir, sizeof dir, "/tmp/kgmtl-fuzz-manifest-XXXXXX");
            if (!mkdtemp(dir)) abort();
        }
        char p[128];
        snprintf(p, sizeof p, "%s/base.yaml", dir);
        FILE *f = fopen(p, "w");
        if (!f) abort();
        fputs("dataset: {source: world, n_users: 50}\ntasks:\n  - plugin: ctr\nseeds: 2\n", f);
        fclose(f);
        atexit(scratch_remove);
    }
    return dir;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[128];
    snprintf(path, sizeof path, "%s/m.yaml", scratch());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    if (kgm_manifest_load(path, NULL, &dl, &m) == KGM_OK && m) {
        const kgm_plan *p = kgm_manifest_plan(m);
        kgm_run_config *c = malloc(sizeof *c);
        if (!c) abort();
        for (int32_t i = 0; i < p->n_runs && i < 64; i++) (void)kgm_manifest_materialize(m, i, c);
        free(c);
    }
    kgm_manifest_free(m);
    kgm_diag_list_destroy(&dl);
    return 0;
}
