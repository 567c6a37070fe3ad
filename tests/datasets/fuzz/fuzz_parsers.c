/* libFuzzer harness for every data parser. The first input byte picks the
 * parser (low 4 bits) and lenient mode (bit 4); the rest is the file. Built
 * with -Dfuzz=true (clang); the same function is replayed over the seed
 * corpus by tests/datasets/test_fuzz_replay.c in the default suite. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

enum {
    FZ_INTERACTIONS,
    FZ_TRIPLES,
    FZ_EDGES,
    FZ_TABLE,
    FZ_KGAT,
    FZ_CENSUS,
    FZ_WORDNET,
    FZ_WORDVECS,
    FZ_ML100K_ITEMS,
    FZ_ML1M_MOVIES,
    FZ_MLLATEST_MOVIES,
    FZ_NPY,
    FZ_CACHE,
    FZ_CSV_INTERACTIONS,
    FZ_COUNT
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = (data[0] & 0x0f) % FZ_COUNT;
    kgm_load_report rep = {0};
    kgm_load_opts o = {.lenient = (data[0] & 0x10) != 0, .report = &rep};
    const char *body = (const char *)data + 1;
    size_t n = size - 1;
    kgm_reader r;
    kgm_reader_open_mem(&r, "fuzz", body, n, &o);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_status st = KGM_OK;
    switch (which) {
    case FZ_INTERACTIONS: st = kgm__load_interactions_rd(&r, NULL, &ds); break;
    case FZ_CSV_INTERACTIONS: {
        kgm_text_format f;
        kgm_text_format_default(&f, KGM_TEXT_INTERACTIONS);
        f.delim = ',';
        f.quotes = true;
        f.cols[2] = 2;
        f.cols[3] = 3;
        st = kgm__load_interactions_rd(&r, &f, &ds);
        break;
    }
    case FZ_TRIPLES: st = kgm__load_triples_rd(&r, NULL, &ds); break;
    case FZ_EDGES: st = kgm__load_edges_rd(&r, NULL, false, &ds); break;
    case FZ_TABLE: {
        kgm_table t;
        kgm_col_decl d[1] = {{"age", KGM_COL_NUMERIC}};
        st = kgm__load_table_rd(&r, NULL, d, 1, &t);
        if (st == KGM_OK) kgm_table_destroy(&t);
        else if (st == KGM_ERR_PARSE) { /* a missing declared column is fine too */
        }
        break;
    }
    case FZ_KGAT: st = kgm__load_kgat_rd(&r, &ds, false); break;
    case FZ_CENSUS: st = kgm__load_census_rd(&r, &ds, "train"); break;
    case FZ_WORDNET: st = kgm__load_wordnet_rd(&r, &ds); break;
    case FZ_WORDVECS: {
        kgm_wordvecs w;
        st = kgm__load_wordvecs_rd(&r, &w);
        if (st == KGM_OK) kgm_wordvecs_destroy(&w);
        break;
    }
    case FZ_ML100K_ITEMS: st = kgm__load_movies_rd(&r, &ds, 0); break;
    case FZ_ML1M_MOVIES: st = kgm__load_movies_rd(&r, &ds, 1); break;
    case FZ_MLLATEST_MOVIES: st = kgm__load_movies_rd(&r, &ds, 2); break;
    case FZ_NPY: {
        kgm_tensor *t = NULL;
        st = kgm__npy_parse("fuzz.npy", body, n, &t);
        if (st == KGM_OK) kgm_tensor_free(t);
        break;
    }
    case FZ_CACHE: {
        kgm_dataset c;
        st = kgm__cache_parse("fuzz.kgd", body, n, NULL, &c);
        if (st == KGM_OK && kgm_dataset_validate(&c) != KGM_OK) abort(); /* a cache that loads is valid */
        kgm_dataset_destroy(&c);
        break;
    }
    }
    /* whatever was read must be consistent */
    if (st == KGM_OK && kgm_dataset_validate(&ds) != KGM_OK) abort();
    if (st != KGM_OK && st != KGM_ERR_PARSE && st != KGM_ERR_FORMAT && st != KGM_ERR_UNSUPPORTED &&
        st != KGM_ERR_ARG)
        abort(); /* NOMEM/IO/INDEX on small inputs would be a bug */
    kgm_reader_close(&r);
    kgm_dataset_destroy(&ds);
    return 0;
}
