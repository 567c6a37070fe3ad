/* Published formats: MovieLens 100K/1M/latest, MKR, KGAT, Census-KDD, WordNet. */
#include <math.h>

#include "tests/datasets/data_test.h"

static const char *genres_of(const kgm_dataset *ds, int32_t item, char *buf, size_t n) {
    int32_t c = kgm_table_find(&ds->item_attrs, "genres");
    buf[0] = '\0';
    if (c < 0) return buf;
    const kgm_column *col = &ds->item_attrs.cols[c];
    for (int64_t i = 0; i < col->multi_n; i++)
        if (col->multi_row[i] == item) {
            strncat(buf, kgm_idmap_name(&col->levels, col->multi_code[i]), n - strlen(buf) - 2);
            strcat(buf, "|");
        }
    return buf;
}

Test(movielens, ml100k) {
    const char *d = tmp_subdir("ml100k");
    char p[600];
    snprintf(p, sizeof p, "ml100k/u.data");
    tmp_file(p, "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881250950\n", (size_t)-1);
    /* u.item is latin-1: "Caf\xe9" */
    tmp_file("ml100k/u.item",
             "242|Kolya (1996)|24-Jan-1997||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
             "302|Caf\xe9 Society (1997)|01-Jan-1997||http://y|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|1|0|0\n",
             (size_t)-1);
    tmp_file("ml100k/u.user", "196|49|M|writer|55105\n186|39|F|executive|00000\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_movielens(d, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 3);
    cr_assert_eq(ds.inter.kind, KGM_LABEL_RATING);
    cr_assert_str_eq(ds.name, "ml-100k");
    int32_t it = kgm_idmap_find(&ds.items, "302", 3);
    cr_assert_str_eq(kgm_strings_get(&ds.item_text, it, NULL), "Caf\xc3\xa9 Society (1997)");
    char g[128];
    cr_assert_str_eq(genres_of(&ds, it, g, sizeof g), "Drama|Thriller|");
    int32_t cy = kgm_table_find(&ds.item_attrs, "year");
    cr_assert_float_eq(ds.item_attrs.cols[cy].num[it], 1997.0f, 0);
    int32_t ca = kgm_table_find(&ds.user_attrs, "age");
    cr_assert_float_eq(ds.user_attrs.cols[ca].num[kgm_idmap_find(&ds.users, "186", 3)], 39.0f, 0);
    cr_assert_eq(ds.prov.n_sources, 3);
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK);
    kgm_dataset_destroy(&ds);
}

Test(movielens, ml1m_double_colon) {
    const char *d = tmp_subdir("ml1m");
    tmp_file("ml1m/ratings.dat", "1::1193::5::978300760\r\n1::661::3::978302109\r\n", (size_t)-1);
    tmp_file("ml1m/movies.dat", "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach "
                                "(1996)::Animation|Children's|Musical\n", (size_t)-1);
    tmp_file("ml1m/users.dat", "1::F::1::10::48067\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_movielens(d, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 2);
    cr_assert_eq(ds.inter.ts[1], 978302109);
    char g[128];
    cr_assert_str_eq(genres_of(&ds, kgm_idmap_find(&ds.items, "661", 3), g, sizeof g), "Animation|Children's|Musical|");
    cr_assert_eq(ds.user_attrs.rows, 1);
    kgm_dataset_destroy(&ds);
    tmp_file("ml1m/ratings.dat", "1::1193::5\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_movielens(d, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "ratings.dat:1: expected at least 4 fields, found 3"), "%s",
              kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(movielens, latest_quoted_titles) {
    const char *d = tmp_subdir("mllatest");
    tmp_file("mllatest/ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n",
             (size_t)-1);
    tmp_file("mllatest/movies.csv", "movieId,title,genres\n31,Dangerous Minds (1995),Drama\n"
                                    "1029,\"American President, The (1995)\",Comedy|Drama|Romance\n"
                                    "5,\"Say \"\"Hi\"\" (2000)\",(no genres listed)\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_movielens(d, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 2);
    cr_assert_eq(ds.items.count, 3, "movies without ratings are kept as items");
    cr_assert_str_eq(kgm_strings_get(&ds.item_text, kgm_idmap_find(&ds.items, "1029", 4), NULL),
                     "American President, The (1995)");
    cr_assert_str_eq(kgm_strings_get(&ds.item_text, kgm_idmap_find(&ds.items, "5", 1), NULL), "Say \"Hi\" (2000)");
    kgm_dataset_destroy(&ds);
}

Test(movielens, missing_folder) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_movielens(tmp_subdir("empty"), NULL, &ds), KGM_ERR_IO);
    kgm_dataset_destroy(&ds);
}

Test(mkr, prepared_files) {
    const char *d = tmp_subdir("mkr");
    tmp_file("mkr/ratings_final.txt", "0\t0\t1\n0\t5\t0\n1\t0\t1\n1\t2\t1\n", (size_t)-1);
    tmp_file("mkr/kg_final.txt", "0\t0\t100\n2\t1\t101\n100\t2\t101\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_mkr(d, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 4);
    cr_assert_eq(ds.inter.kind, KGM_LABEL_BINARY);
    cr_assert_eq(ds.kg.n, 3);
    int32_t i0 = kgm_idmap_find(&ds.items, "0", 1), i5 = kgm_idmap_find(&ds.items, "5", 1);
    cr_assert_str_eq(kgm_idmap_name(&ds.entities, ds.item_entity[i0]), "0");
    cr_assert_str_eq(kgm_idmap_name(&ds.entities, ds.item_entity[i5]), "5");
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK);
    kgm_dataset_destroy(&ds);
    tmp_file("mkr/kg_final.txt", "0\t0\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_mkr(d, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "kg_final.txt:1: expected at least 3 fields"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(mkr, raw_inputs) {
    const char *d = tmp_subdir("mkrraw");
    tmp_file("mkrraw/item_index2entity_id.txt", "1\t0\n2\t1\n", (size_t)-1);
    tmp_file("mkrraw/kg.txt", "0\tfilm.film.genre\t7\n1\tfilm.film.director\t8\n", (size_t)-1);
    const char *ratings = tmp_file("mkrraw/ratings.dat", "1::1::5::1\n1::3::4::2\n", (size_t)-1);
    kgm_text_format f;
    kgm_text_format_default(&f, KGM_TEXT_INTERACTIONS);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_mkr_raw(d, ratings, &f, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.relations.count, 2);
    int32_t i1 = kgm_idmap_find(&ds.items, "1", 1), i3 = kgm_idmap_find(&ds.items, "3", 1);
    cr_assert_str_eq(kgm_idmap_name(&ds.entities, ds.item_entity[i1]), "0");
    cr_assert(i3 >= ds.n_item_entity || ds.item_entity[i3] == -1, "unlinked item stays -1");
    kgm_dataset_destroy(&ds);
    tmp_file("mkrraw/item_index2entity_id.txt", "1\t0\n2\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_mkr_raw(d, ratings, &f, NULL, &ds), KGM_ERR_PARSE, "%s", kgm_error_message());
    cr_assert(strstr(kgm_error_message(), "item_index2entity_id.txt:2: expected"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(kgat, train_test_kg) {
    const char *d = tmp_subdir("kgat");
    tmp_file("kgat/train.txt", "0 1 2 3\n1 2\n2\n", (size_t)-1);
    tmp_file("kgat/test.txt", "0 4\n1 3 1\n", (size_t)-1);
    tmp_file("kgat/kg_final.txt", "1 0 10\n10 1 11\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    cr_assert_eq(kgm_load_kgat(d, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 7);
    cr_assert_eq(ds.split.n_train, 4);
    cr_assert_eq(ds.split.n_test, 3);
    cr_assert_eq(ds.users.count, 3);
    cr_assert_eq(ds.kg.n, 2);
    cr_assert_eq(ds.prov.prep.split, KGM_SPLIT_GIVEN);
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK);
    kgm_dataset_destroy(&ds);
    tmp_file("kgat/test.txt", "0 4\n1 x 1\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_kgat(d, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "test.txt:2: expected non-negative integer ids"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

static const char *census_line =
    "73, Not in universe, 0, 0, High school graduate, 0, Not in universe, Widowed, Not in universe or children, "
    "Not in universe, White, All other, Female, Not in universe, Not in universe, Not in labor force, 0, 0, 0, "
    "Nonfiler, Not in universe, Not in universe, Other Rel 18+ ever marr not in subfamily, Other relative of "
    "householder, 1700.09, ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in universe, United-States, "
    "United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 0, 95, - 50000.\n";

Test(census, kdd_train_test) {
    const char *d = tmp_subdir("census");
    tmp_file("census/census-income.data", census_line, (size_t)-1);
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", census_line);
    char *lab = strstr(buf, "- 50000.");
    strcpy(lab, "50000+.\n");
    tmp_file("census/census-income.test", buf, (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_census_kdd(d, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    const kgm_table *t = &ds.tabular;
    cr_assert_eq(t->rows, 2);
    cr_assert_eq(t->ncols, 43);
    int32_t age = kgm_table_find(t, "age"), inc = kgm_table_find(t, "income"), ms = kgm_table_find(t, "marital_stat");
    int32_t mig = kgm_table_find(t, "migration_code_change_in_msa"), sp = kgm_table_find(t, "split");
    cr_assert_float_eq(t->cols[age].num[0], 73.0f, 0);
    cr_assert_str_eq(kgm_idmap_name(&t->cols[inc].levels, t->cols[inc].cat[0]), "- 50000");
    cr_assert_str_eq(kgm_idmap_name(&t->cols[inc].levels, t->cols[inc].cat[1]), "50000+");
    cr_assert_str_eq(kgm_idmap_name(&t->cols[ms].levels, t->cols[ms].cat[0]), "Widowed");
    cr_assert_eq(t->cols[mig].cat[0], -1, "'?' is missing");
    cr_assert_str_eq(kgm_idmap_name(&t->cols[sp].levels, t->cols[sp].cat[1]), "test");
    kgm_dataset_destroy(&ds);
    tmp_file("census/census-income.data", "73, x, 0\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_census_kdd(d, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "census-income.data:1: expected 42 comma-separated fields"), "%s",
              kgm_error_message());
    kgm_dataset_destroy(&ds);
    snprintf(buf, sizeof buf, "%s", census_line);
    buf[0] = 'X';
    tmp_file("census/census-income.data", buf, (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_census_kdd(d, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "expected a number in field 1 (age), found \"X3\""), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(wordnet, data_files) {
    const char *d = tmp_subdir("wn");
    tmp_file("wn/data.adj",
             "  1 This software and database is being provided to you, the LICENSEE, by  \n"
             "00001740 00 a 01 able 0 005 = 05200169 n 0000 = 05616246 n 0000 + 05616246 n 0101 + 05200169 n 0101 ! "
             "00002098 a 0101 | (usually followed by `to') having the necessary means  \n"
             "00002098 00 a 01 unable 0 002 = 05200169 n 0000 ! 00001740 a 0101 | not able  \n"
             "00020103 00 s 02 outback(a) 0 remote 0 001 & 00019874 a 0000 | inaccessible\n",
             (size_t)-1);
    tmp_file("wn/data.verb", "00001740 29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 002 $ 00001740 v 0000 "
                             "$ 00001740 v 0000 02 + 02 00 + 08 00 | draw air into, and expel out of, the lungs\n",
             (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_wordnet(d, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.kg.n, 5 + 2 + 1 + 1, "the repeated verb-group pointer is one triple");
    int32_t able = kgm_idmap_find(&ds.entities, "00001740a", 9);
    cr_assert(able >= 0);
    cr_assert_str_eq(kgm_strings_get(&ds.entity_text, able, NULL),
                     "(usually followed by `to') having the necessary means");
    cr_assert(kgm_idmap_find(&ds.entities, "00020103a", 9) >= 0, "satellites are adjectives");
    cr_assert(kgm_idmap_find(&ds.relations, "_similar_to", 11) >= 0);
    cr_assert(kgm_idmap_find(&ds.relations, "_verb_group", 11) >= 0);
    int32_t cl = kgm_table_find(&ds.entity_attrs, "lemma");
    cr_assert_str_eq(kgm_strings_get(&ds.entity_attrs.cols[cl].text, kgm_idmap_find(&ds.entities, "00020103a", 9), NULL),
                     "outback(a)");
    kgm_dataset_destroy(&ds);
    tmp_file("wn/data.verb", "00001740 29 v 01 breathe 0 002 $ 00001740 v 0000 | short pointer list\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_wordnet(d, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "data.verb:1: expected 1 words then a 3-digit pointer count"), "%s",
              kgm_error_message());
    kgm_dataset_destroy(&ds);
    tmp_file("wn/data.verb", "00001740 29 v 01 breathe 0 001 ?? 00001740 v 0000 | bad symbol\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_wordnet(d, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "expected a pointer symbol (wninput(5)), found \"??\""), "%s",
              kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(auto_detect, folders_and_files) {
    const char *d = tmp_subdir("auto");
    tmp_file("auto/ratings_final.txt", "0\t0\t1\n", (size_t)-1);
    tmp_file("auto/kg_final.txt", "0\t0\t1\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_auto(d, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_str_eq(ds.prov.loader, "mkr");
    kgm_dataset_destroy(&ds);
    const char *p = tmp_file("auto_kg.tsv", "a\tlikes\tb\nb\tlikes\tc\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_auto(p, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.kg.n, 2);
    kgm_dataset_destroy(&ds);
    p = tmp_file("auto_r.csv", "user,item,rating\n1,2,3.5\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_auto(p, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 1);
    kgm_dataset_destroy(&ds);
}

/* A data-file error names the file by the path the user gave (clickable
 * `path:line:`), relative or absolute; source locations stay base names. */
Test(errors, data_errors_keep_the_users_path) {
    tmp_subdir("deep");
    tmp_subdir("deep/er");
    const char *abs = tmp_file("deep/er/inter.tsv", "1\t10\t4\n2\t11\tfive\n", (size_t)-1);
    kgm_text_format f;
    kgm_text_format_default(&f, KGM_TEXT_INTERACTIONS);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_interactions(abs, &f, NULL, &ds), KGM_ERR_PARSE);
    char want[1200];
    snprintf(want, sizeof want, "%s:2: expected", abs);
    cr_assert(strncmp(kgm_error_message(), want, strlen(want)) == 0, "message '%s' does not start with '%s'",
              kgm_error_message(), want);
    kgm_dataset_destroy(&ds);
    /* relative to the working directory */
    char cwd[1024];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    cr_assert_eq(chdir(tmp_dir()), 0);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_interactions("deep/er/inter.tsv", &f, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strncmp(kgm_error_message(), "deep/er/inter.tsv:2: expected", 29) == 0, "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
    cr_assert_eq(chdir(cwd), 0);
    /* lenient mode reports the same path */
    kgm_load_report rep = {0};
    kgm_load_opts o = {.lenient = true, .report = &rep};
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_interactions(abs, &f, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(rep.n_messages, 1);
    cr_assert(strncmp(rep.messages[0], want, strlen(want)) == 0, "%s", rep.messages[0]);
    kgm_dataset_destroy(&ds);
    /* a source location (KGM_ERR) is still shortened to its base name */
    kgm_error_set(KGM_ERR_ARG, "/some/dir/core/x.c", 7, "boom");
    cr_assert_str_eq(kgm_error_message(), "x.c:7: boom");
    kgm_error_at(KGM_ERR_PARSE, "/data/dir/f.tsv", 5000000000LL, "expected a, found b");
    cr_assert_str_eq(kgm_error_message(), "/data/dir/f.tsv:5000000000: expected a, found b");
    tmp_cleanup();
}

/* The shared-set loaders (kgm_load_named) on small fixtures in a temporary
 * root: good input, then bad input naming file and line. */
static void named_expect_error(const char *name, const char *root, kgm_status code, const char *want) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_named(name, root, NULL, &ds), code, "%s: %s", name, kgm_error_message());
    cr_assert(strstr(kgm_error_message(), want), "%s: '%s' lacks '%s'", name, kgm_error_message(), want);
    kgm_dataset_destroy(&ds);
}

Test(named, small_fixtures_good_and_bad) {
    char root[1024];
    snprintf(root, sizeof root, "%s", tmp_subdir("named"));
    tmp_subdir("named/movielens-small");
    tmp_subdir("named/wordnet");
    tmp_subdir("named/kernlab-income");
    tmp_subdir("named/social-small");
    tmp_file("named/movielens-small/ratings.tsv", "userId\tmovieId\trating\ttimestamp\n1\t31\t2.5\t1260759144\n2\t1\t4\t1260759145\n",
             (size_t)-1);
    tmp_file("named/movielens-small/movies.tsv", "movieId\ttitle\tyear\tgenres\n1\tToy Story\t1995\tAdventure|Comedy\n"
                                                 "31\tDangerous Minds\t1995\tDrama\n", (size_t)-1);
    tmp_file("named/movielens-small/kg_triples.tsv", "movie:1\thas_genre\tgenre:Comedy\nmovie:31\thas_genre\tgenre:Drama\n",
             (size_t)-1);
    tmp_file("named/wordnet/triples.tsv", "00001740a\t_antonym\t00002098a\n", (size_t)-1);
    tmp_file("named/wordnet/entities.tsv", "00001740a\table\thaving the means\n00002098a\tunable\tnot able\n", (size_t)-1);
    tmp_file("named/kernlab-income/income.tsv", "INCOME\tSEX\tAGE\n[75.000-\tF\t3\n-10.000)\tM\t1\n", (size_t)-1);
    tmp_file("named/social-small/karate.tsv", "src\tdst\n0\t1\n1\t2\n", (size_t)-1);
    kgm_dataset ds;
    const char *names[4] = {"movielens-small", "wordnet", "kernlab-income", "social-small/karate"};
    for (int i = 0; i < 4; i++) {
        kgm_dataset_init(&ds);
        cr_assert_eq(kgm_load_named(names[i], root, NULL, &ds), KGM_OK, "%s: %s", names[i], kgm_error_message());
        cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK, "%s: %s", names[i], kgm_error_message());
        kgm_dataset_destroy(&ds);
    }
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_named("movielens-small", root, NULL, &ds), KGM_OK);
    cr_assert_eq(ds.inter.n, 2);
    cr_assert_eq(ds.kg.n, 2);
    kgm_dataset_destroy(&ds);
    /* bad input */
    named_expect_error("no-such-set", root, KGM_ERR_ARG, "unknown dataset name no-such-set");
    named_expect_error("social-small/nobody", root, KGM_ERR_IO, "nobody.tsv: no such file");
    tmp_file("named/movielens-small/ratings.tsv", "userId\tmovieId\trating\ttimestamp\n1\t31\tfive\t1260759144\n", (size_t)-1);
    named_expect_error("movielens-small", root, KGM_ERR_PARSE, "ratings.tsv:2: expected");
    tmp_file("named/wordnet/triples.tsv", "00001740a\t_antonym\n", (size_t)-1);
    named_expect_error("wordnet", root, KGM_ERR_PARSE, "triples.tsv:1: expected");
    tmp_file("named/kernlab-income/income.tsv", "INCOME\tSEX\tAGE\n[75.000-\tF\n", (size_t)-1);
    named_expect_error("kernlab-income", root, KGM_ERR_PARSE, "income.tsv:2: expected 3 fields, found 2");
    tmp_file("named/social-small/karate.tsv", "src\tdst\n0\n", (size_t)-1);
    named_expect_error("social-small/karate", root, KGM_ERR_PARSE, "karate.tsv:2: expected");
    tmp_cleanup();
}

/* kgm_load_edges on bad input; kgm_load_auto on a folder it does not recognise. */
Test(errors, edges_and_auto_bad_input) {
    kgm_dataset ds;
    const char *e = tmp_file("edges_bad.tsv", "1\t2\n3\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_edges(e, NULL, false, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "edges_bad.tsv:2: expected"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
    /* weights must be positive: propagation normalises by weighted degrees */
    const char *w = tmp_file("edges_w.tsv", "1\t2\t0.5\n2\t3\t-1\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_edges(w, NULL, true, NULL, &ds), KGM_ERR_PARSE, "%s", kgm_error_message());
    cr_assert(strstr(kgm_error_message(), "edges_w.tsv:2: expected a positive weight in column 3 (weight), found \"-1\""),
              "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
    kgm_dataset_init(&ds);
    cr_assert_neq(kgm_load_auto(tmp_subdir("nothing-here"), NULL, &ds), KGM_OK);
    kgm_dataset_destroy(&ds);
    tmp_cleanup();
}
