/* Generic delimited loaders on good and bad input. */
#include <math.h>

#include "tests/datasets/data_test.h"

static kgm_status load_inter(const char *content, size_t n, bool lenient, kgm_dataset *ds, kgm_load_report *rep) {
    const char *p = tmp_file("inter.tsv", content, n);
    kgm_load_opts o = {.lenient = lenient, .report = rep};
    kgm_dataset_init(ds);
    return kgm_load_interactions(p, NULL, &o, ds);
}

Test(text, interactions_tsv_with_header) {
    kgm_dataset ds;
    kgm_load_report rep = {0};
    cr_assert_eq(load_inter("userId\tmovieId\trating\ttimestamp\n1\t31\t2.5\t1260759144\n1\t1029\t3\t1260759179\n"
                            "2\t31\t4.0\t1260759200\n", (size_t)-1, false, &ds, &rep), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 3);
    cr_assert_eq(ds.users.count, 2);
    cr_assert_eq(ds.items.count, 2);
    cr_assert_eq(ds.inter.kind, KGM_LABEL_RATING);
    cr_assert_float_eq(ds.inter.label[0], 2.5f, 1e-6);
    cr_assert_not_null(ds.inter.ts);
    cr_assert_eq(ds.inter.ts[1], 1260759179);
    cr_assert_str_eq(kgm_idmap_name(&ds.items, ds.inter.item[1]), "1029");
    cr_assert_eq(rep.rows, 3);
    cr_assert_eq(rep.lines, 4);
    cr_assert_eq(ds.prov.n_sources, 1);
    cr_assert_str_eq(ds.prov.loader, "tsv-interactions");
    kgm_dataset_destroy(&ds);
}

Test(text, csv_two_columns_implicit_and_string_ids) {
    kgm_dataset ds;
    cr_assert_eq(load_inter("alice,Heat\nbob,\"Toy Story, The\"\n", (size_t)-1, false, &ds, NULL), KGM_OK, "%s",
                 kgm_error_message());
    cr_assert_eq(ds.inter.n, 2);
    cr_assert_eq(ds.inter.kind, KGM_LABEL_IMPLICIT);
    cr_assert_null(ds.inter.ts);
    cr_assert_str_eq(kgm_idmap_name(&ds.items, 1), "Toy Story, The");
    kgm_dataset_destroy(&ds);
}

Test(text, binary_labels_detected) {
    kgm_dataset ds;
    cr_assert_eq(load_inter("0\t5\t1\n0\t6\t0\n", (size_t)-1, false, &ds, NULL), KGM_OK);
    cr_assert_eq(ds.inter.kind, KGM_LABEL_BINARY);
    kgm_dataset_destroy(&ds);
}

Test(text, empty_file) {
    kgm_dataset ds;
    kgm_load_report rep = {0};
    cr_assert_eq(load_inter("", 0, false, &ds, &rep), KGM_OK);
    cr_assert_eq(ds.inter.n, 0);
    cr_assert_eq(rep.lines, 0);
    kgm_dataset_destroy(&ds);
}

Test(text, non_numeric_rating_names_file_and_line) {
    kgm_dataset ds;
    cr_assert_eq(load_inter("1\t2\t3.5\t100\n1\t3\tfive\t101\n", (size_t)-1, false, &ds, NULL), KGM_ERR_PARSE);
    const char *m = kgm_error_message();
    cr_assert(strstr(m, "inter.tsv:2: expected a finite number in column 3 (label), found \"five\""), "%s", m);
    kgm_dataset_destroy(&ds);
}

Test(text, missing_columns) {
    kgm_dataset ds;
    cr_assert_eq(load_inter("1\t2\t3.5\t100\n1\t3\n", (size_t)-1, false, &ds, NULL), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "inter.tsv:2: expected at least 4 fields, found 2"), "%s",
              kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(text, overflowing_timestamp_and_nan_label) {
    kgm_dataset ds;
    cr_assert_eq(load_inter("1\t2\t3\t99999999999999999999\n", (size_t)-1, false, &ds, NULL), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), ":1: expected an integer timestamp"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
    cr_assert_eq(load_inter("1\t2\t1e999\t5\n", (size_t)-1, false, &ds, NULL), KGM_ERR_PARSE);
    kgm_dataset_destroy(&ds);
    cr_assert_eq(load_inter("1\t2\t3\t4\n1\t2\tnan\t5\n", (size_t)-1, false, &ds, NULL), KGM_ERR_PARSE);
    kgm_dataset_destroy(&ds);
}

Test(text, overflowing_ids_are_raw_strings) {
    /* ids are names, not numbers: a 30-digit id is kept verbatim */
    kgm_dataset ds;
    cr_assert_eq(load_inter("123456789012345678901234567890\t1\n", (size_t)-1, false, &ds, NULL), KGM_OK);
    cr_assert_str_eq(kgm_idmap_name(&ds.users, 0), "123456789012345678901234567890");
    kgm_dataset_destroy(&ds);
}

Test(text, crlf_bom_and_truncated_last_line) {
    kgm_dataset ds;
    cr_assert_eq(load_inter("\xEF\xBB\xBFuser,item,rating\r\n7,8,4\r\n7,9,5", (size_t)-1, false, &ds, NULL), KGM_OK,
                 "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, 2);
    cr_assert_str_eq(kgm_idmap_name(&ds.users, 0), "7");
    cr_assert_float_eq(ds.inter.label[1], 5.0f, 0);
    kgm_dataset_destroy(&ds);
    /* a last line cut in the middle of a row is an error on its line */
    cr_assert_eq(load_inter("7\t8\t4\t1\n7\t9\t", (size_t)-1, false, &ds, NULL), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "inter.tsv:2:"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(text, duplicates_reported_not_dropped) {
    kgm_dataset ds;
    kgm_load_report rep = {0};
    cr_assert_eq(load_inter("1\t2\n1\t2\n1\t3\n1\t2\n", (size_t)-1, false, &ds, &rep), KGM_OK);
    cr_assert_eq(ds.inter.n, 4);
    cr_assert_eq(rep.duplicates, 2);
    cr_assert_eq(ds.prov.duplicates, 2);
    kgm_dataset_destroy(&ds);
}

Test(text, lenient_counts_and_reports_skipped_rows) {
    kgm_dataset ds;
    kgm_load_report rep = {0};
    cr_assert_eq(load_inter("1\t2\t3\n1\tx\tbad\n\t4\t5\n2\t2\t1\n", (size_t)-1, true, &ds, &rep), KGM_OK);
    cr_assert_eq(ds.inter.n, 2);
    cr_assert_eq(rep.skipped, 2);
    cr_assert_eq(ds.prov.rows_skipped, 2);
    cr_assert_eq(rep.n_messages, 2);
    cr_assert(strstr(rep.messages[0], "inter.tsv:2: expected a finite number"), "%s", rep.messages[0]);
    cr_assert(strstr(rep.messages[1], "inter.tsv:3: expected a user id in column 1, found an empty field"), "%s",
              rep.messages[1]);
    kgm_dataset_destroy(&ds);
}

Test(text, long_line_and_many_rows_across_blocks) {
    /* rows crossing the 4 MiB read block boundary */
    size_t n = 600000;
    char *buf = malloc(n * 16 + 200000);
    size_t o = 0;
    o += (size_t)sprintf(buf + o, "%s", "1\t");
    for (int i = 0; i < 150000; i++) buf[o++] = 'a'; /* one long item id */
    buf[o++] = '\n';
    for (size_t i = 0; i < n; i++) o += (size_t)sprintf(buf + o, "%zu\t%zu\n", i % 1000, i % 777);
    kgm_dataset ds;
    kgm_load_report rep = {0};
    cr_assert_eq(load_inter(buf, o, false, &ds, &rep), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.inter.n, (int64_t)n + 1);
    cr_assert_eq(ds.users.count, 1000);
    cr_assert_eq(ds.items.count, 778);
    uint64_t bytes, sum;
    cr_assert_eq(kgm_file_checksum(ds.prov.sources[0].path, &bytes, &sum), KGM_OK);
    cr_assert_eq(bytes, o);
    cr_assert_eq(sum, ds.prov.sources[0].checksum, "checksum while parsing equals the file checksum");
    free(buf);
    kgm_dataset_destroy(&ds);
}

Test(text, unterminated_quote) {
    kgm_dataset ds;
    cr_assert_eq(load_inter("a,\"b\n", (size_t)-1, false, &ds, NULL), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "inter.tsv:1: expected a closing double quote"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(text, triples_and_relations) {
    const char *p = tmp_file("kg.tsv", "movie:1\thas_genre\tgenre:Comedy\nmovie:2\thas_genre\tgenre:Comedy\n"
                                       "movie:1\tdirected_by\tperson:X\nmovie:1\thas_genre\tgenre:Comedy\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    cr_assert_eq(kgm_load_triples(p, NULL, &o, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.kg.n, 4);
    cr_assert_eq(ds.entities.count, 4);
    cr_assert_eq(ds.relations.count, 2);
    cr_assert_eq(rep.duplicates, 1);
    kgm_dataset_destroy(&ds);
    p = tmp_file("kg2.tsv", "a\tr\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_triples(p, NULL, NULL, &ds), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "kg2.tsv:1: expected at least 3 fields, found 2"), "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
}

Test(text, edges_weighted_and_header) {
    const char *p = tmp_file("edges.tsv", "src\tdst\tweight\nNapoleon\tMyriel\t1\nMyriel\tMlleBaptistine\t8\n", (size_t)-1);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_edges(p, NULL, false, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.social.n, 2);
    cr_assert_not_null(ds.social.weight);
    cr_assert_float_eq(ds.social.weight[1], 8.0f, 0);
    cr_assert_eq(ds.users.count, 3);
    cr_assert_not(ds.social.directed);
    kgm_dataset_destroy(&ds);
    p = tmp_file("friends.txt", "1 2\n2 3\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_edges(p, NULL, true, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.social.n, 2);
    cr_assert_null(ds.social.weight);
    kgm_dataset_destroy(&ds);
}

Test(text, table_inferred_and_declared_types) {
    const char *p = tmp_file("t.tsv", "INCOME\tAGE\tSEX\tSCORE\n[75.000-\t45-54\tF\t1.5\n[10.000-\t25-34\t\tNA\n", (size_t)-1);
    kgm_table t;
    cr_assert_eq(kgm_load_table(p, NULL, NULL, 0, NULL, &t), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(t.rows, 2);
    cr_assert_eq(t.ncols, 4);
    cr_assert_eq(t.cols[1].type, KGM_COL_CATEGORICAL);
    cr_assert_eq(t.cols[3].type, KGM_COL_NUMERIC);
    cr_assert(isnan(t.cols[3].num[1]));
    cr_assert_eq(t.cols[2].cat[1], -1);
    cr_assert_eq(t.cols[2].missing, 1);
    kgm_table_destroy(&t);
    kgm_col_decl d[1] = {{"SEX", KGM_COL_NUMERIC}};
    cr_assert_eq(kgm_load_table(p, NULL, d, 1, NULL, &t), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "t.tsv:2: expected a number in column 3 (SEX), found \"F\""), "%s",
              kgm_error_message());
    kgm_col_decl d2[1] = {{"NOPE", KGM_COL_NUMERIC}};
    cr_assert_eq(kgm_load_table(p, NULL, d2, 1, NULL, &t), KGM_ERR_PARSE);
    p = tmp_file("t2.tsv", "A\tB\n1\n", (size_t)-1);
    cr_assert_eq(kgm_load_table(p, NULL, NULL, 0, NULL, &t), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "t2.tsv:2: expected 2 fields, found 1"), "%s", kgm_error_message());
    p = tmp_file("t3.tsv", "", 0);
    cr_assert_eq(kgm_load_table(p, NULL, NULL, 0, NULL, &t), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "t3.tsv:1: expected a header line"), "%s", kgm_error_message());
}

Test(text, missing_file_is_io_error) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_interactions("/nonexistent/x.tsv", NULL, NULL, &ds), KGM_ERR_IO);
    kgm_dataset_destroy(&ds);
}
