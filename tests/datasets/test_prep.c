/* Preparation: thresholds, dedup, k-core filter, splits, negatives. */
#include <math.h>

#include "tests/datasets/data_test.h"
#include "core/base/rng.h"

/* users 0..nu-1, each rates `per` distinct items with ratings 1..5 and increasing timestamps */
static void synth(kgm_dataset *ds, int nu, int ni, int per) {
    kgm_dataset_init(ds);
    char b[32];
    for (int i = 0; i < ni; i++) {
        int32_t id;
        snprintf(b, sizeof b, "i%d", i);
        kgm_idmap_intern(&ds->items, b, strlen(b), &id);
    }
    for (int u = 0; u < nu; u++) {
        int32_t uid;
        snprintf(b, sizeof b, "u%d", u);
        kgm_idmap_intern(&ds->users, b, strlen(b), &uid);
        for (int k = 0; k < per; k++)
            kgm_dataset_add_interaction(ds, uid, (u * 7 + k * 3) % ni, (float)(1 + (u + k) % 5), true, 1000 + k * 10 + u);
    }
    ds->inter.kind = KGM_LABEL_RATING;
}

Test(prep, binarize_keep_and_drop) {
    kgm_dataset ds;
    synth(&ds, 10, 50, 5);
    cr_assert_eq(kgm_data_binarize(&ds, 4.0f, false), KGM_OK);
    cr_assert_eq(ds.inter.kind, KGM_LABEL_BINARY);
    int64_t pos = 0;
    for (int64_t i = 0; i < ds.inter.n; i++) pos += ds.inter.label[i] == 1.0f;
    cr_assert_eq(pos, 20);
    kgm_dataset_destroy(&ds);
    synth(&ds, 10, 50, 5);
    cr_assert_eq(kgm_data_binarize(&ds, 4.0f, true), KGM_OK);
    cr_assert_eq(ds.inter.n, 20);
    cr_assert_eq(ds.prov.rows_filtered, 30);
    cr_assert_eq(ds.inter.kind, KGM_LABEL_IMPLICIT);
    kgm_dataset_destroy(&ds);
}

Test(prep, dedup_and_kcore) {
    kgm_dataset ds;
    synth(&ds, 3, 10, 2);
    kgm_dataset_add_interaction(&ds, 0, ds.inter.item[0], 5.0f, true, 1);
    int64_t d;
    cr_assert_eq(kgm_data_dedup(&ds, false, &d), KGM_OK);
    cr_assert_eq(d, 1);
    cr_assert_eq(ds.inter.n, 7);
    cr_assert_eq(kgm_data_dedup(&ds, true, &d), KGM_OK);
    cr_assert_eq(ds.inter.n, 6);
    kgm_dataset_destroy(&ds);
    /* k-core: user 2 has 1 interaction; removing it drops item 9's only other support */
    kgm_dataset_init(&ds);
    int32_t id;
    for (int i = 0; i < 3; i++) kgm_idmap_intern(&ds.users, (char[]){(char)('a' + i)}, 1, &id);
    for (int i = 0; i < 3; i++) kgm_idmap_intern(&ds.items, (char[]){(char)('x' + i)}, 1, &id);
    int rows[][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {1, 2}, {2, 2}};
    for (int i = 0; i < 6; i++) kgm_dataset_add_interaction(&ds, rows[i][0], rows[i][1], 1, false, 0);
    cr_assert_eq(kgm_data_filter_min(&ds, 2, 2), KGM_OK);
    cr_assert_eq(ds.inter.n, 4);
    for (int64_t i = 0; i < ds.inter.n; i++) cr_assert(ds.inter.item[i] != 2 && ds.inter.user[i] != 2);
    kgm_dataset_destroy(&ds);
}

static void check_partition(const kgm_dataset *ds) {
    int64_t n = ds->inter.n;
    uint8_t *seen = calloc((size_t)n, 1);
    const kgm_split *s = &ds->split;
    for (int64_t i = 0; i < s->n_train; i++) seen[s->train[i]]++;
    for (int64_t i = 0; i < s->n_valid; i++) seen[s->valid[i]]++;
    for (int64_t i = 0; i < s->n_test; i++) seen[s->test[i]]++;
    for (int64_t i = 0; i < n; i++) cr_assert_eq(seen[i], 1, "row %lld in %d parts", (long long)i, seen[i]);
    free(seen);
}

Test(prep, random_and_mkr_split_seeded) {
    kgm_dataset a, b;
    synth(&a, 40, 100, 10);
    synth(&b, 40, 100, 10);
    kgm_prep_settings p;
    kgm_prep_settings_default(&p);
    p.split = KGM_SPLIT_RANDOM;
    p.valid_frac = 0.1f;
    p.test_frac = 0.2f;
    p.seed = 7;
    cr_assert_eq(kgm_data_split(&a, &p), KGM_OK);
    cr_assert_eq(kgm_data_split(&b, &p), KGM_OK);
    cr_assert_eq(a.split.n_valid, 40);
    cr_assert_eq(a.split.n_test, 80);
    cr_assert_eq(a.split.n_train, 280);
    cr_assert_arr_eq(a.split.test, b.split.test, 80 * sizeof(int64_t), "same seed, same split");
    check_partition(&a);
    p.seed = 8;
    cr_assert_eq(kgm_data_split(&b, &p), KGM_OK);
    cr_assert(memcmp(a.split.test, b.split.test, 80 * sizeof(int64_t)) != 0);
    p.split = KGM_SPLIT_MKR;
    cr_assert_eq(kgm_data_split(&a, &p), KGM_OK);
    cr_assert_eq(a.split.n_valid, 80);
    cr_assert_eq(a.split.n_test, 80);
    check_partition(&a);
    kgm_dataset_destroy(&a);
    kgm_dataset_destroy(&b);
}

Test(prep, leave_one_out_and_temporal) {
    kgm_dataset ds;
    synth(&ds, 20, 100, 6);
    kgm_prep_settings p;
    kgm_prep_settings_default(&p);
    p.split = KGM_SPLIT_LOO;
    p.loo_valid = true;
    cr_assert_eq(kgm_data_split(&ds, &p), KGM_OK);
    cr_assert_eq(ds.split.n_test, 20);
    cr_assert_eq(ds.split.n_valid, 20);
    check_partition(&ds);
    for (int64_t j = 0; j < ds.split.n_test; j++) { /* test row is the user's latest */
        int64_t r = ds.split.test[j];
        for (int64_t i = 0; i < ds.inter.n; i++)
            if (ds.inter.user[i] == ds.inter.user[r]) cr_assert(ds.inter.ts[i] <= ds.inter.ts[r]);
    }
    p.split = KGM_SPLIT_TEMPORAL;
    p.valid_frac = 0.1f;
    p.test_frac = 0.1f;
    cr_assert_eq(kgm_data_split(&ds, &p), KGM_OK);
    check_partition(&ds);
    int64_t max_train = 0, min_test = INT64_MAX;
    for (int64_t i = 0; i < ds.split.n_train; i++) max_train = ds.inter.ts[ds.split.train[i]] > max_train ? ds.inter.ts[ds.split.train[i]] : max_train;
    for (int64_t i = 0; i < ds.split.n_test; i++) min_test = ds.inter.ts[ds.split.test[i]] < min_test ? ds.inter.ts[ds.split.test[i]] : min_test;
    cr_assert(max_train <= min_test);
    kgm_dataset_destroy(&ds);
    kgm_dataset_init(&ds);
    int32_t u;
    kgm_idmap_intern(&ds.users, "u", 1, &u);
    kgm_idmap_intern(&ds.items, "i", 1, &u);
    kgm_dataset_add_interaction(&ds, 0, 0, 1, false, 0);
    cr_assert_eq(kgm_data_split(&ds, &p), KGM_ERR_ARG, "temporal needs timestamps");
    kgm_dataset_destroy(&ds);
}

Test(prep, negatives_never_positive_and_seeded) {
    kgm_dataset ds;
    synth(&ds, 30, 40, 12);
    kgm_prep_settings p;
    kgm_prep_settings_default(&p);
    p.split = KGM_SPLIT_LOO;
    p.loo_valid = true;
    p.eval_negatives = 20;
    p.seed = 3;
    cr_assert_eq(kgm_data_prepare(&ds, &p), KGM_OK, "%s", kgm_error_message());
    cr_assert(ds.prov.prepared);
    cr_assert_eq(ds.test_neg.n, ds.split.n_test);
    cr_assert_eq(ds.test_neg.k, 20);
    kgm_user_items pos;
    cr_assert_eq(kgm_user_items_build(&ds, NULL, 0, &pos), KGM_OK);
    for (int64_t j = 0; j < ds.test_neg.n; j++) {
        int32_t u = ds.inter.user[ds.split.test[j]];
        for (int k = 0; k < 20; k++) {
            int32_t it = ds.test_neg.items[j * 20 + k];
            cr_assert(it >= 0 && it < 40);
            cr_assert_not(kgm_user_items_has(&pos, u, it), "negative %d is a positive of user %d", it, u);
            for (int k2 = 0; k2 < k; k2++) cr_assert_neq(ds.test_neg.items[j * 20 + k2], it);
        }
    }
    /* popularity sampler and a user with almost every item */
    kgm_neg_sampler s;
    cr_assert_eq(kgm_neg_sampler_init(&s, &ds, &pos, KGM_NEG_POPULARITY), KGM_OK);
    kgm_rng rng;
    kgm_rng_init(&rng, 1, 2);
    int32_t out[40], got;
    cr_assert_eq(kgm_neg_sampler_draw(&s, &rng, 0, 40, out, &got), KGM_OK);
    cr_assert_eq(got, 40 - (int32_t)(pos.ptr[1] - pos.ptr[0]));
    cr_assert_eq(out[39], -1);
    kgm_neg_sampler_destroy(&s);
    kgm_user_items_destroy(&pos);
    /* same seed -> same negatives */
    kgm_dataset ds2;
    synth(&ds2, 30, 40, 12);
    cr_assert_eq(kgm_data_prepare(&ds2, &p), KGM_OK);
    cr_assert_arr_eq(ds.test_neg.items, ds2.test_neg.items, (size_t)ds.test_neg.n * 20 * sizeof(int32_t));
    cr_assert_eq(kgm_dataset_fingerprint(&ds), kgm_dataset_fingerprint(&ds2));
    cr_assert_eq(kgm_data_prepare(&ds2, &p), KGM_ERR_STATE);
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK);
    kgm_dataset_destroy(&ds);
    kgm_dataset_destroy(&ds2);
}

Test(prep, filters_refused_after_split) {
    kgm_dataset ds;
    synth(&ds, 5, 10, 4);
    kgm_prep_settings p;
    kgm_prep_settings_default(&p);
    p.split = KGM_SPLIT_RANDOM;
    p.test_frac = 0.25f;
    cr_assert_eq(kgm_data_split(&ds, &p), KGM_OK);
    cr_assert_eq(kgm_data_filter_min(&ds, 2, 2), KGM_ERR_STATE);
    kgm_dataset_destroy(&ds);
}
