/* Replays the fuzz seed corpus through every parser (default suite, so ASan
 * builds catch crashes), plus deterministic mutations of each seed: every
 * truncation, byte flips, and the lenient bit toggled. */
#include <dirent.h>

#include "tests/datasets/data_test.h"
#include "fuzz/fuzz_parsers.c"

static void run_mutations(const uint8_t *d, size_t n) {
    uint8_t *buf = malloc(n + 1);
    cr_assert_not_null(buf);
    LLVMFuzzerTestOneInput(d, n);
    for (size_t cut = 1; cut < n; cut += (n < 600 ? 1 : n / 300)) LLVMFuzzerTestOneInput(d, cut);
    static const uint8_t flips[] = {0x01, 0x20, 0x80, 0xff};
    for (size_t i = 1; i < n; i += (n < 600 ? 1 : n / 300)) {
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(buf, d, n);
            buf[i] ^= flips[f];
            LLVMFuzzerTestOneInput(buf, n);
        }
        /* digit runs that overflow and separators that vanish */
        memcpy(buf, d, n);
        buf[i] = (uint8_t)(i & 1 ? '9' : '\n');
        LLVMFuzzerTestOneInput(buf, n);
    }
    memcpy(buf, d, n);
    buf[0] ^= 0x10; /* lenient <-> strict */
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
}

Test(fuzz_replay, seed_corpus) {
    const char *src = getenv("KGMTL_SOURCE_DIR");
    cr_assert_not_null(src, "KGMTL_SOURCE_DIR must be set (meson test sets it)");
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/tests/datasets/fuzz/corpus", src);
    DIR *dp = opendir(dir);
    cr_assert_not_null(dp, "no corpus at %s", dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *data;
        size_t n;
        cr_assert_eq(kgm__read_file(path, &data, &n), KGM_OK);
        run_mutations((const uint8_t *)data, n);
        /* the same body through every other parser */
        for (int sel = 0; sel < FZ_COUNT; sel++) {
            data[0] = (char)sel;
            LLVMFuzzerTestOneInput((const uint8_t *)data, n);
        }
        free(data);
        files++;
    }
    closedir(dp);
    cr_assert(files >= 10, "only %d corpus files", files);
}

Test(fuzz_replay, cache_image_mutations) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    int32_t u, i, e, r;
    kgm_idmap_intern(&ds.users, "u", 1, &u);
    kgm_idmap_intern(&ds.items, "i", 1, &i);
    kgm_idmap_intern(&ds.entities, "e", 1, &e);
    kgm_idmap_intern(&ds.relations, "r", 1, &r);
    kgm_dataset_add_interaction(&ds, u, i, 4.0f, true, 5);
    kgm_dataset_add_triple(&ds, e, r, e);
    kgm_dataset_set_item_entity(&ds, i, e);
    char path[1024];
    snprintf(path, sizeof path, "%s/fz.kgd", tmp_dir());
    cr_assert_eq(kgm_dataset_save(&ds, path), KGM_OK);
    char *img;
    size_t n;
    cr_assert_eq(kgm__read_file(path, &img, &n), KGM_OK);
    uint8_t *buf = malloc(n + 1);
    buf[0] = FZ_CACHE;
    memcpy(buf + 1, img, n);
    run_mutations(buf, n + 1);
    free(buf);
    free(img);
    kgm_dataset_destroy(&ds);
    tmp_cleanup();
}
