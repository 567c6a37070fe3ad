/* Binary cache: round trip, staleness, truncation and corruption. */
#include <math.h>

#include "datasets/data_internal.h"
#include "tests/datasets/data_test.h"

static void build(kgm_dataset *ds) {
    kgm_dataset_init(ds);
    const char *p = tmp_file("c_ratings.tsv", "u\ti\tr\tts\n1\t10\t4\t100\n1\t11\t2\t101\n2\t10\t5\t102\n2\t12\t3\t103\n"
                                              "3\t11\t4\t104\n3\t12\t1\t105\n3\t10\t2\t106\n1\t13\t3\t107\n", (size_t)-1);
    /* item 13 leaves user 3 one non-positive item: room for its 1 evaluation negative */
    cr_assert_eq(kgm_load_interactions(p, NULL, NULL, ds), KGM_OK, "%s", kgm_error_message());
    p = tmp_file("c_kg.tsv", "10\tgenre\tcomedy\n11\tgenre\tdrama\n", (size_t)-1);
    cr_assert_eq(kgm_load_triples(p, NULL, NULL, ds), KGM_OK);
    p = tmp_file("c_social.tsv", "1\t2\t0.5\n2\t3\t1\n", (size_t)-1);
    cr_assert_eq(kgm_load_edges(p, NULL, false, NULL, ds), KGM_OK);
    for (int32_t i = 0; i < ds->items.count; i++) {
        const char *nm = kgm_idmap_name(&ds->items, i);
        int32_t e = kgm_idmap_find(&ds->entities, nm, strlen(nm));
        if (e >= 0) kgm_dataset_set_item_entity(ds, i, e);
        kgm_strings_set(&ds->item_text, i, "title", 5);
    }
    int32_t c;
    kgm_table_add_column(&ds->item_attrs, "genres", KGM_COL_MULTI, &c);
    kgm_table_add_multi(&ds->item_attrs, c, 1, "Drama", 5);
    kgm_table_add_column(&ds->user_attrs, "age", KGM_COL_NUMERIC, &c);
    kgm_table_set_num(&ds->user_attrs, c, 2, 33.0f);
    kgm_table_add_column(&ds->user_attrs, "sex", KGM_COL_CATEGORICAL, &c);
    kgm_table_set_cat(&ds->user_attrs, c, 0, "F", 1);
    snprintf(ds->name, sizeof ds->name, "tiny");
    kgm_prep_settings p2;
    kgm_prep_settings_default(&p2);
    p2.split = KGM_SPLIT_LOO;
    p2.eval_negatives = 1;
    p2.seed = 5;
    cr_assert_eq(kgm_data_prepare(ds, &p2), KGM_OK, "%s", kgm_error_message());
}

static void same(const kgm_dataset *a, const kgm_dataset *b) {
    cr_assert_str_eq(a->name, b->name);
    cr_assert_eq(a->users.count, b->users.count);
    cr_assert_eq(a->entities.count, b->entities.count);
    for (int32_t i = 0; i < a->items.count; i++) cr_assert_str_eq(kgm_idmap_name(&a->items, i), kgm_idmap_name(&b->items, i));
    cr_assert_eq(a->inter.n, b->inter.n);
    cr_assert_arr_eq(a->inter.user, b->inter.user, (size_t)a->inter.n * 4);
    cr_assert_arr_eq(a->inter.label, b->inter.label, (size_t)a->inter.n * 4);
    cr_assert_arr_eq(a->inter.ts, b->inter.ts, (size_t)a->inter.n * 8);
    cr_assert_eq(a->kg.n, b->kg.n);
    cr_assert_arr_eq(a->kg.t, b->kg.t, (size_t)a->kg.n * 4);
    cr_assert_eq(a->social.n, b->social.n);
    cr_assert_arr_eq(a->social.weight, b->social.weight, (size_t)a->social.n * 4);
    cr_assert_eq(a->n_item_entity, b->n_item_entity);
    cr_assert_arr_eq(a->item_entity, b->item_entity, (size_t)a->n_item_entity * 4);
    cr_assert_eq(a->split.n_test, b->split.n_test);
    cr_assert_arr_eq(a->split.test, b->split.test, (size_t)a->split.n_test * 8);
    cr_assert_arr_eq(a->test_neg.items, b->test_neg.items, (size_t)a->test_neg.n * (size_t)a->test_neg.k * 4);
    cr_assert_str_eq(kgm_strings_get(&a->item_text, 1, NULL), kgm_strings_get(&b->item_text, 1, NULL));
    cr_assert_eq(a->user_attrs.ncols, b->user_attrs.ncols);
    cr_assert_float_eq(b->user_attrs.cols[0].num[2], 33.0f, 0);
    cr_assert(isnan(b->user_attrs.cols[0].num[0]));
    cr_assert_str_eq(kgm_idmap_name(&b->user_attrs.cols[1].levels, b->user_attrs.cols[1].cat[0]), "F");
    cr_assert_eq(b->item_attrs.cols[0].multi_n, 1);
    cr_assert_eq(a->prov.n_sources, b->prov.n_sources);
    cr_assert_str_eq(a->prov.loader, b->prov.loader);
    cr_assert(b->prov.prepared);
    cr_assert_eq(kgm_dataset_fingerprint(a), kgm_dataset_fingerprint(b));
}

static const char *cache_path(void) {
    static char p[1024];
    snprintf(p, sizeof p, "%s/tiny.kgd", tmp_dir());
    return p;
}

Test(cache, round_trip) {
    kgm_dataset a, b;
    build(&a);
    cr_assert_eq(kgm_dataset_save(&a, cache_path()), KGM_OK, "%s", kgm_error_message());
    kgm_cache_expect e = {.verify_sources = true, .prep = &a.prov.prep, .loader = a.prov.loader};
    cr_assert_eq(kgm_dataset_load(cache_path(), &e, &b), KGM_OK, "%s", kgm_error_message());
    same(&a, &b);
    /* the loaded id maps work (hash rebuilt) */
    cr_assert_eq(kgm_idmap_find(&b.items, "12", 2), kgm_idmap_find(&a.items, "12", 2));
    int32_t id;
    cr_assert_eq(kgm_idmap_intern(&b.items, "new", 3, &id), KGM_OK);
    cr_assert_eq(id, a.items.count);
    kgm_dataset_destroy(&a);
    kgm_dataset_destroy(&b);
}

Test(cache, stale_settings_and_sources) {
    kgm_dataset a, b;
    build(&a);
    cr_assert_eq(kgm_dataset_save(&a, cache_path()), KGM_OK);
    kgm_prep_settings other = a.prov.prep;
    other.seed = 99;
    kgm_cache_expect e = {.prep = &other};
    cr_assert_eq(kgm_dataset_load(cache_path(), &e, &b), KGM_ERR_FORMAT);
    cr_assert(strstr(kgm_error_message(), "stale"), "%s", kgm_error_message());
    cr_assert_eq(b.inter.n, 0, "a stale cache leaves the dataset empty");
    kgm_dataset_destroy(&b);
    e = (kgm_cache_expect){.loader = "movielens"};
    cr_assert_eq(kgm_dataset_load(cache_path(), &e, &b), KGM_ERR_FORMAT);
    kgm_dataset_destroy(&b);
    /* change a source file */
    tmp_file("c_kg.tsv", "10\tgenre\tcomedy\n11\tgenre\thorror\n", (size_t)-1);
    e = (kgm_cache_expect){.verify_sources = true};
    cr_assert_eq(kgm_dataset_load(cache_path(), &e, &b), KGM_ERR_FORMAT);
    cr_assert(strstr(kgm_error_message(), "c_kg.tsv changed"), "%s", kgm_error_message());
    kgm_dataset_destroy(&b);
    kgm_dataset_destroy(&a);
}

static char *slurp(const char *path, size_t *n) {
    char *buf;
    cr_assert_eq(kgm__read_file(path, &buf, n), KGM_OK);
    return buf;
}

Test(cache, truncated_and_corrupted) {
    kgm_dataset a, b;
    build(&a);
    cr_assert_eq(kgm_dataset_save(&a, cache_path()), KGM_OK);
    size_t n;
    char *img = slurp(cache_path(), &n);
    /* every truncation is refused */
    for (size_t cut = 0; cut < n; cut += (cut < 64 ? 1 : 37)) {
        cr_assert_eq(kgm__cache_parse("trunc", img, cut, NULL, &b), KGM_ERR_FORMAT, "cut at %zu", cut);
        kgm_dataset_destroy(&b);
    }
    /* every byte is covered: flipping any one of them (header and provenance
     * included) is refused, offset by offset, with two different masks */
    static const uint8_t masks[2] = {0x01, 0x5a};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            img[i] ^= (char)masks[k];
            kgm_status st = kgm__cache_parse("flip", img, n, NULL, &b);
            cr_assert_eq(st, KGM_ERR_FORMAT, "byte %zu of %zu (^0x%02x) was accepted", i, n, masks[k]);
            cr_assert_eq(b.inter.n, 0);
            kgm_dataset_destroy(&b);
            img[i] ^= (char)masks[k];
        }
    /* and the untouched image still loads (the loop restored every byte) */
    cr_assert_eq(kgm__cache_parse("intact", img, n, NULL, &b), KGM_OK, "%s", kgm_error_message());
    kgm_dataset_destroy(&b);
    /* on disk: truncated file and empty file */
    const char *p = tmp_file("trunc.kgd", img, n / 2);
    cr_assert_eq(kgm_dataset_load(p, NULL, &b), KGM_ERR_FORMAT);
    kgm_dataset_destroy(&b);
    p = tmp_file("empty.kgd", "", 0);
    cr_assert_eq(kgm_dataset_load(p, NULL, &b), KGM_ERR_FORMAT);
    kgm_dataset_destroy(&b);
    p = tmp_file("text.kgd", "hello\n", (size_t)-1);
    cr_assert_eq(kgm_dataset_load(p, NULL, &b), KGM_ERR_FORMAT);
    kgm_dataset_destroy(&b);
    cr_assert_eq(kgm_dataset_load("/nonexistent.kgd", NULL, &b), KGM_ERR_IO);
    kgm_dataset_destroy(&b);
    free(img);
    kgm_dataset_destroy(&a);
}
