/* Social edge lists: a friendship listed both ways is one undirected edge
 * (kgm_social_merge in the edge loaders), directed lists keep both
 * directions, and the CLI reports what was merged. */
#include <sys/wait.h>

#include "tests/datasets/data_test.h"

/* Every friendship of {a-b, a-c, b-c, c-d} listed both ways, plus one exact
 * repeat of "a b" (a friend list exported from both users' side). */
static const char *both_ways = "a\tb\nb\ta\na\tc\nc\ta\nb\tc\nc\tb\nc\td\nd\tc\na\tb\n";

/* 1 if the unordered pair {x, y} of user names is an edge of ds, counted. */
static int pair_count(const kgm_dataset *ds, const char *x, const char *y) {
    int32_t a = kgm_idmap_find(&ds->users, x, strlen(x)), b = kgm_idmap_find(&ds->users, y, strlen(y));
    int k = 0;
    for (int64_t i = 0; i < ds->social.n; i++)
        k += (ds->social.src[i] == a && ds->social.dst[i] == b) || (ds->social.src[i] == b && ds->social.dst[i] == a);
    return k;
}

Test(social, reciprocal_friend_lists_become_one_undirected_edge_per_friendship) {
    const char *p = tmp_file("both_ways.tsv", both_ways, (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    cr_assert_eq(kgm_load_edges(p, NULL, false, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(rep.rows, 9, "every line is read");
    cr_assert_eq(ds.social.n, 4, "4 friendships, found %lld edges", (long long)ds.social.n);
    cr_assert_eq(rep.reciprocal, 4);
    cr_assert_eq(rep.duplicates, 1, "the repeated 'a b' line");
    cr_assert_eq(ds.prov.duplicates, 1);
    const char *pairs[4][2] = {{"a", "b"}, {"a", "c"}, {"b", "c"}, {"c", "d"}};
    for (int k = 0; k < 4; k++) cr_assert_eq(pair_count(&ds, pairs[k][0], pairs[k][1]), 1, "%s-%s", pairs[k][0], pairs[k][1]);
    /* the first listing is kept, in file order */
    cr_assert_str_eq(kgm_idmap_name(&ds.users, ds.social.src[0]), "a");
    cr_assert_str_eq(kgm_idmap_name(&ds.users, ds.social.dst[3]), "d");
    kgm_dataset_destroy(&ds);
}

Test(social, directed_lists_keep_both_directions_and_drop_exact_repeats) {
    const char *p = tmp_file("both_ways_d.tsv", both_ways, (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    cr_assert_eq(kgm_load_edges(p, NULL, true, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert(ds.social.directed);
    cr_assert_eq(ds.social.n, 8, "a -> b and b -> a are two directed edges");
    cr_assert_eq(rep.reciprocal, 0);
    cr_assert_eq(rep.duplicates, 1);
    cr_assert_eq(pair_count(&ds, "a", "b"), 2);
    kgm_dataset_destroy(&ds);
    /* kgm_load_auto reads a 2-column list undirected unless opts say otherwise */
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_auto(p, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_not(ds.social.directed);
    cr_assert_eq(ds.social.n, 4);
    kgm_dataset_destroy(&ds);
    kgm_dataset_init(&ds);
    o.directed_edges = true;
    cr_assert_eq(kgm_load_auto(p, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert(ds.social.directed);
    cr_assert_eq(ds.social.n, 8);
    kgm_dataset_destroy(&ds);
}

Test(social, merged_weights_keep_the_first_listing_and_count_conflicts) {
    const char *p = tmp_file("w_both.tsv", "src\tdst\tweight\nx\ty\t2\ny\tx\t2\nu\tv\t1\nv\tu\t3\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    cr_assert_eq(kgm_load_edges(p, NULL, false, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.social.n, 2);
    cr_assert_eq(rep.reciprocal, 2);
    cr_assert_eq(rep.weight_conflicts, 1, "v-u lists weight 3 against the kept 1");
    cr_assert_float_eq(ds.social.weight[0], 2.0f, 0);
    cr_assert_float_eq(ds.social.weight[1], 1.0f, 0);
    kgm_dataset_destroy(&ds);
}

Test(social, merge_of_a_generated_graph_changes_nothing) {
    /* the merge is a no-op on a list without repeats (each pair once, any order) */
    kgm_social s = {0};
    int32_t src[] = {0, 2, 3, 1, 4}, dst[] = {1, 1, 0, 3, 4};
    s.n = s.cap = 5;
    s.src = src;
    s.dst = dst;
    kgm_social_merged m;
    cr_assert_eq(kgm_social_merge(&s, &m), KGM_OK);
    cr_assert_eq(s.n, 5);
    cr_assert_eq(m.reciprocal + m.duplicates + m.weight_conflicts, 0);
    int32_t want_src[] = {0, 2, 3, 1, 4};
    cr_assert_arr_eq(src, want_src, sizeof want_src);
}

/* `kgmtl data inspect` names the merge on stderr. */
Test(social, inspect_reports_merged_pairs) {
    const char *bd = getenv("KGMTL_BUILD_DIR");
    cr_assert_not_null(bd);
    const char *p = tmp_file("cli_both.tsv", both_ways, (size_t)-1);
    char cmd[4096], out[1 << 14];
    for (int directed = 0; directed < 2; directed++) {
        snprintf(cmd, sizeof cmd, "'%s/kgmtl' data inspect -f edges %s '%s' 2>&1", bd, directed ? "--directed" : "", p);
        FILE *f = popen(cmd, "r");
        cr_assert_not_null(f);
        size_t k = fread(out, 1, sizeof out - 1, f);
        out[k] = 0;
        int st = pclose(f);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", out);
        const char *want = directed ? "9 edges read, 8 kept (directed): 0 reciprocal pairs merged, 1 duplicate lines dropped"
                                    : "9 edges read, 4 kept (undirected): 4 reciprocal pairs merged, 1 duplicate lines dropped";
        cr_assert(strstr(out, want), "%s", out);
    }
}
