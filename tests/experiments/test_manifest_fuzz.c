/* Replays the manifest fuzz corpus and every shipped manifest through the
 * fuzz harness (default suite, so the ASan build catches crashes), with
 * deterministic mutations of each: truncations, byte flips, and characters
 * that break YAML structure (':', '[', '{', '&', '*', newlines, quotes).
 * Every input is loaded from a FIFO and from a file, which must agree; an
 * input may carry its base file after a "#%base.yaml" line (see the harness). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <glob.h>

#include "fuzz/fuzz_manifest.c"

static size_t read_all(const char *path, uint8_t **out) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *out = b;
    return (size_t)n;
}

static void run_mutations(const uint8_t *d, size_t n) {
    uint8_t *buf = malloc(n + 1);
    cr_assert_not_null(buf);
    fuzz_inputs = 0; /* the unmutated input is always loaded from a FIFO too */
    LLVMFuzzerTestOneInput(d, n);
    size_t step = n < 120 ? 1 : n / 120;
    for (size_t cut = 0; cut < n; cut += step) LLVMFuzzerTestOneInput(d, cut);
    static const uint8_t subst[] = {':', '[', '{', '&', '*', '\n', '"', '9', 0xff};
    for (size_t i = 0; i < n; i += step)
        for (size_t k = 0; k < sizeof subst; k++) {
            memcpy(buf, d, n);
            buf[i] = subst[k];
            LLVMFuzzerTestOneInput(buf, n);
        }
    free(buf);
}

static int replay_glob(const char *pattern) {
    glob_t g;
    int files = 0;
    if (glob(pattern, 0, NULL, &g) != 0) return 0;
    for (size_t i = 0; i < g.gl_pathc; i++, files++) {
        uint8_t *d;
        size_t n = read_all(g.gl_pathv[i], &d);
        run_mutations(d, n);
        free(d);
    }
    globfree(&g);
    return files;
}

Test(manifest_fuzz, corpus_and_shipped_manifests_with_mutations, .timeout = 1800) { /* ~5 s natively */
    const char *src = getenv("KGMTL_SOURCE_DIR");
    cr_assert_not_null(src, "KGMTL_SOURCE_DIR must be set (meson test sets it)");
    char pat[2048];
    int n = 0;
    fuzz_fifo_every = 7; /* about 5,000 of the 38,000 inputs */
    static const char *const dirs[] = {"tests/experiments/fuzz/corpus/*", "experiments/*.yaml", "experiments/*/*.yaml"};
    for (int k = 0; k < 3; k++) {
        snprintf(pat, sizeof pat, "%s/%s", src, dirs[k]);
        n += replay_glob(pat);
    }
    cr_assert_gt(n, 10, "only %d inputs replayed", n);
    cr_assert_gt(fuzz_compared, 1000, "only %ld inputs were loaded from a FIFO too", fuzz_compared);
}

/* Load the manifest the harness left at scratch/m.yaml. */
static const kgm_plan *reload(kgm_manifest **m) {
    char path[128];
    snprintf(path, sizeof path, "%s/m.yaml", scratch());
    kgm_diag_list dl = {0};
    kgm_status st = kgm_manifest_load(path, NULL, &dl, m);
    kgm_diag_print(&dl, stderr);
    kgm_diag_list_destroy(&dl);
    cr_assert_eq(st, KGM_OK);
    return kgm_manifest_plan(*m);
}

/* A well-formed input still loads through the harness path (the harness is not vacuous). */
Test(manifest_fuzz, harness_loads_a_valid_manifest) {
    static const char ok[] = "base: base.yaml\nablate:\n  encoder.dim: [8, 16]\n";
    long before = fuzz_compared;
    LLVMFuzzerTestOneInput((const uint8_t *)ok, sizeof ok - 1);
    cr_assert_eq(fuzz_compared, before + 1, "the FIFO and the file load were compared");
    kgm_manifest *m = NULL;
    cr_assert_eq(reload(&m)->n_runs, 4); /* 2 grid points x 2 seeds from the default base.yaml */
    kgm_manifest_free(m);
}

/* An input's "#%base.yaml" part becomes the base file, anchors and aliases in both files. */
Test(manifest_fuzz, harness_writes_the_inputs_base_file) {
    static const char two[] = "base: base.yaml\nencoder: {dim: &d 24}\nablate:\n  encoder.dim: [*d, 16]\n"
                              "#%base.yaml\ntasks:\n  - &t {plugin: ctr}\nseeds: &s [1, 2, 3]\nmixer: {n_experts: 3}\n";
    LLVMFuzzerTestOneInput((const uint8_t *)two, sizeof two - 1);
    kgm_manifest *m = NULL;
    const kgm_plan *p = reload(&m);
    cr_assert_eq(p->n_runs, 6); /* 2 grid points x 3 seeds of that base */
    kgm_run_config *c = malloc(sizeof *c);
    cr_assert_not_null(c);
    cr_assert_eq(kgm_manifest_materialize(m, 0, c), KGM_OK);
    cr_assert_eq(c->encoder.dim, 24);
    cr_assert_eq(c->mixer.n_experts, 3);
    free(c);
    kgm_manifest_free(m);
}
