/* Id maps, strings, tables, hashing. */
#include <math.h>

#include "tests/datasets/data_test.h"

Test(idmap, intern_find_name) {
    kgm_idmap m;
    kgm_idmap_init(&m);
    int32_t a, b, c, d;
    cr_assert_eq(kgm_idmap_intern(&m, "alice", 5, &a), KGM_OK);
    cr_assert_eq(kgm_idmap_intern(&m, "bob", 3, &b), KGM_OK);
    cr_assert_eq(kgm_idmap_intern(&m, "alice", 5, &c), KGM_OK);
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 1);
    cr_assert_eq(c, 0);
    cr_assert_str_eq(kgm_idmap_name(&m, 1), "bob");
    cr_assert_eq(kgm_idmap_find(&m, "carol", 5), -1);
    cr_assert_null(kgm_idmap_name(&m, 2));
    /* decimal fast path agrees with the string path */
    cr_assert_eq(kgm_idmap_intern_u64(&m, 42, &d), KGM_OK);
    int32_t e;
    cr_assert_eq(kgm_idmap_intern(&m, "42", 2, &e), KGM_OK);
    cr_assert_eq(d, e);
    cr_assert_eq(kgm_idmap_intern(&m, "042", 3, &e), KGM_OK);
    cr_assert_neq(d, e, "\"042\" is a different raw id than \"42\"");
    cr_assert_str_eq(kgm_idmap_name(&m, d), "42");
    kgm_idmap_destroy(&m);
}

Test(idmap, many_ids_and_sparse_decimals) {
    kgm_idmap m;
    kgm_idmap_init(&m);
    char buf[32];
    for (int i = 0; i < 200000; i++) {
        int n = snprintf(buf, sizeof buf, "%s%d", (i % 3) ? "" : "x", i * 7919);
        int32_t id;
        cr_assert_eq(kgm_idmap_intern(&m, buf, (size_t)n, &id), KGM_OK);
        cr_assert_eq(id, i);
    }
    int32_t id;
    cr_assert_eq(kgm_idmap_intern_u64(&m, 1000000000000ull, &id), KGM_OK);
    cr_assert_eq(id, 200000);
    cr_assert_eq(kgm_idmap_find(&m, "1000000000000", 13), 200000);
    for (int i = 0; i < 200000; i += 997) {
        int n = snprintf(buf, sizeof buf, "%s%d", (i % 3) ? "" : "x", i * 7919);
        cr_assert_eq(kgm_idmap_find(&m, buf, (size_t)n), i);
        cr_assert_str_eq(kgm_idmap_name(&m, i), buf);
    }
    kgm_idmap_destroy(&m);
}

Test(strings, set_get) {
    kgm_strings s;
    kgm_strings_init(&s);
    cr_assert_eq(kgm_strings_set(&s, 3, "abc", 3), KGM_OK);
    int32_t len;
    cr_assert_str_eq(kgm_strings_get(&s, 0, &len), "");
    cr_assert_eq(len, 0);
    cr_assert_str_eq(kgm_strings_get(&s, 3, &len), "abc");
    cr_assert_eq(len, 3);
    cr_assert_str_eq(kgm_strings_get(&s, 99, NULL), "");
    kgm_strings_destroy(&s);
}

Test(table, typed_columns_and_missing) {
    kgm_table t;
    kgm_table_init(&t);
    int32_t cn, cc, cm, ct;
    cr_assert_eq(kgm_table_add_column(&t, "age", KGM_COL_NUMERIC, &cn), KGM_OK);
    cr_assert_eq(kgm_table_add_column(&t, "sex", KGM_COL_CATEGORICAL, &cc), KGM_OK);
    cr_assert_eq(kgm_table_add_column(&t, "age", KGM_COL_NUMERIC, NULL), KGM_ERR_ARG);
    cr_assert_eq(kgm_table_set_num(&t, cn, 2, 30.0f), KGM_OK);
    cr_assert_eq(kgm_table_set_cat(&t, cc, 0, "F", 1), KGM_OK);
    cr_assert_eq(kgm_table_add_column(&t, "genres", KGM_COL_MULTI, &cm), KGM_OK);
    cr_assert_eq(kgm_table_add_column(&t, "title", KGM_COL_TEXT, &ct), KGM_OK);
    cr_assert_eq(kgm_table_add_multi(&t, cm, 1, "Drama", 5), KGM_OK);
    cr_assert_eq(kgm_table_add_multi(&t, cm, 1, "Comedy", 6), KGM_OK);
    cr_assert_eq(kgm_table_set_text(&t, ct, 1, "Heat", 4), KGM_OK);
    cr_assert_eq(t.rows, 3);
    cr_assert(isnan(t.cols[cn].num[0]));
    cr_assert_eq(t.cols[cn].num[2], 30.0f);
    cr_assert_eq(t.cols[cn].missing, 2);
    cr_assert_eq(t.cols[cc].cat[0], 0);
    cr_assert_eq(t.cols[cc].cat[1], -1);
    cr_assert_eq(t.cols[cc].missing, 2);
    cr_assert_eq(t.cols[cm].multi_n, 2);
    cr_assert_eq(t.cols[ct].missing, 2);
    cr_assert_eq(kgm_table_set_num(&t, cc, 0, 1.0f), KGM_ERR_ARG);
    cr_assert_eq(kgm_table_find(&t, "title"), ct);
    kgm_table_destroy(&t);
}

Test(hash, chunking_does_not_matter) {
    char data[1000];
    for (int i = 0; i < 1000; i++) data[i] = (char)(i * 31 + 7);
    uint64_t whole = kgm_hash64(data, sizeof data);
    for (size_t step = 1; step < 40; step += 3) {
        kgm_hasher h;
        kgm_hasher_init(&h);
        for (size_t o = 0; o < sizeof data; o += step)
            kgm_hasher_update(&h, data + o, o + step > sizeof data ? sizeof data - o : step);
        cr_assert_eq(kgm_hasher_final(&h), whole, "step %zu", step);
    }
    cr_assert_neq(kgm_hash64(data, 999), whole);
    cr_assert_neq(kgm_hash64("", 0), kgm_hash64("\0", 1));
}

Test(dataset, validate_catches_bad_ids) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    int32_t u, i;
    kgm_idmap_intern(&ds.users, "u", 1, &u);
    kgm_idmap_intern(&ds.items, "i", 1, &i);
    cr_assert_eq(kgm_dataset_add_interaction(&ds, u, i, 1.0f, false, 0), KGM_OK);
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK);
    cr_assert_null(ds.inter.ts);
    cr_assert_eq(kgm_dataset_add_interaction(&ds, u, 5, 1.0f, false, 0), KGM_OK);
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_ERR_INDEX);
    cr_assert(strstr(kgm_error_message(), "inter.item[1] = 5"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}
