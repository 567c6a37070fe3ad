/* Word vectors and .npy matrices. */
#include <math.h>

#include "datasets/data_internal.h"
#include "tests/datasets/data_test.h"

Test(wordvecs, glove_without_header) {
    const char *p = tmp_file("g.txt", "the 0.1 -0.2 3e-1\nof 1 2 3\n", (size_t)-1);
    kgm_wordvecs w;
    cr_assert_eq(kgm_wordvecs_load(p, NULL, &w), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(w.n, 2);
    cr_assert_eq(w.dim, 3);
    const float *v = kgm_wordvecs_get(&w, "the", 3);
    cr_assert_not_null(v);
    cr_assert_float_eq(v[2], 0.3f, 1e-7);
    cr_assert_null(kgm_wordvecs_get(&w, "and", 3));
    kgm_wordvecs_destroy(&w);
}

Test(wordvecs, word2vec_header_and_errors) {
    const char *p = tmp_file("w.txt", "2 2\r\nking 0.5 0.25\r\nqueen 1 1\r\n", (size_t)-1);
    kgm_wordvecs w;
    cr_assert_eq(kgm_wordvecs_load(p, NULL, &w), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(w.n, 2);
    cr_assert_float_eq(kgm_wordvecs_get(&w, "queen", 5)[1], 1.0f, 0);
    kgm_wordvecs_destroy(&w);
    p = tmp_file("w2.txt", "3 2\nking 0.5 0.25\nqueen 1 1\n", (size_t)-1);
    cr_assert_eq(kgm_wordvecs_load(p, NULL, &w), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "expected 3 vectors as the header says, found 2"), "%s", kgm_error_message());
    p = tmp_file("w3.txt", "king 0.5 0.25\nqueen 1\n", (size_t)-1);
    cr_assert_eq(kgm_wordvecs_load(p, NULL, &w), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "w3.txt:2: expected 2 values after \"queen\", found 1"), "%s", kgm_error_message());
    p = tmp_file("w4.txt", "king 0.5 x\n", (size_t)-1);
    cr_assert_eq(kgm_wordvecs_load(p, NULL, &w), KGM_ERR_PARSE);
    cr_assert(strstr(kgm_error_message(), "w4.txt:1: expected a number as value 2 of \"king\", found \"x\""), "%s",
              kgm_error_message());
    p = tmp_file("w5.txt", "", 0);
    cr_assert_eq(kgm_wordvecs_load(p, NULL, &w), KGM_ERR_PARSE);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    p = tmp_file("w6.txt", "a 1 2\na 3 4\n", (size_t)-1);
    cr_assert_eq(kgm_wordvecs_load(p, &o, &w), KGM_OK);
    cr_assert_eq(rep.duplicates, 1);
    cr_assert_float_eq(kgm_wordvecs_get(&w, "a", 1)[0], 1.0f, 0, "first vector kept");
    kgm_wordvecs_destroy(&w);
}

Test(npy, round_trip_and_header_checks) {
    kgm_tensor *t, *u;
    cr_assert_eq(kgm_tensor_new(3, 4, &t), KGM_OK);
    for (int i = 0; i < 12; i++) t->data[i] = (float)i * 0.5f;
    char path[1024];
    snprintf(path, sizeof path, "%s/m.npy", tmp_dir());
    cr_assert_eq(kgm_npy_save(path, t), KGM_OK);
    cr_assert_eq(kgm_npy_load(path, &u), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(u->rows, 3);
    cr_assert_eq(u->cols, 4);
    cr_assert_arr_eq(u->data, t->data, 48);
    kgm_tensor_free(u);
    /* header written by numpy for a 1-D float32 array */
    const char hdr[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    char buf[256];
    size_t hl = 128 - 10;
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)hl;
    buf[9] = 0;
    memcpy(buf + 10, hdr, sizeof hdr - 1);
    buf[10 + hl - 1] = '\n';
    float two[2] = {1.5f, -2.0f};
    memcpy(buf + 128, two, 8);
    cr_assert_eq(kgm__npy_parse("v.npy", buf, 136, &u), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(u->rows, 2);
    cr_assert_eq(u->cols, 1);
    cr_assert_float_eq(u->data[1], -2.0f, 0);
    kgm_tensor_free(u);
    cr_assert_eq(kgm__npy_parse("v.npy", buf, 135, &u), KGM_ERR_PARSE, "truncated data");
    cr_assert(strstr(kgm_error_message(), "expected 8 data bytes"), "%s", kgm_error_message());
    char *dt = strstr(buf + 10, "<f4");
    memcpy(dt, "<f8", 3);
    cr_assert_eq(kgm__npy_parse("v.npy", buf, 136, &u), KGM_ERR_UNSUPPORTED);
    cr_assert(strstr(kgm_error_message(), "expected dtype '<f4'"), "%s", kgm_error_message());
    memcpy(dt, "<f4", 3);
    char *fo = strstr(buf + 10, "False");
    memcpy(fo, "True ", 5);
    cr_assert_eq(kgm__npy_parse("v.npy", buf, 136, &u), KGM_ERR_UNSUPPORTED);
    cr_assert_eq(kgm__npy_parse("v.npy", "\x93NUMPY", 6, &u), KGM_ERR_PARSE);
    cr_assert_eq(kgm__npy_parse("v.npy", "PK\x03\x04 not npy at all", 20, &u), KGM_ERR_PARSE);
    kgm_tensor_free(t);
}

/* A .npy image of shape (rows, cols) holding `v` (rows * cols floats). */
static size_t npy_image(char *buf, int rows, int cols, const float *v) {
    char hdr[118];
    memset(hdr, ' ', sizeof hdr);
    int k = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols);
    hdr[k] = ' ';
    hdr[sizeof hdr - 1] = '\n';
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)sizeof hdr;
    buf[9] = 0;
    memcpy(buf + 10, hdr, sizeof hdr);
    memcpy(buf + 128, v, (size_t)rows * (size_t)cols * 4);
    return 128 + (size_t)rows * (size_t)cols * 4;
}

Test(npy, non_finite_and_huge_values_name_the_file_and_element) {
    char buf[256];
    kgm_tensor *u = NULL;
    float v[6] = {0.5f, -1.0f, 2.0f, 3.0f, 4.0f, 1e29f};
    size_t n = npy_image(buf, 2, 3, v);
    cr_assert_eq(kgm__npy_parse("emb.npy", buf, n, &u), KGM_OK, "%s", kgm_error_message());
    cr_assert_float_eq(u->data[5], 1e29f, 1e22);
    kgm_tensor_free(u);
    const float bad[3] = {NAN, INFINITY, 3e38f};
    const char *want[3] = {"found nan at element 4 (row 1, col 1)", "found inf at element 4 (row 1, col 1)",
                           "found 3e+38 at element 4 (row 1, col 1)"};
    for (int k = 0; k < 3; k++) {
        v[4] = bad[k];
        n = npy_image(buf, 2, 3, v);
        u = NULL;
        cr_assert_eq(kgm__npy_parse("emb.npy", buf, n, &u), KGM_ERR_PARSE, "value %g accepted", (double)bad[k]);
        cr_assert_null(u);
        const char *m = kgm_error_message();
        cr_assert(strstr(m, "emb.npy: expected finite values with |x| <= 1e+30"), "%s", m);
        cr_assert(strstr(m, want[k]), "%s", m);
    }
}

Test(npy, zero_extent_shape_names_the_file) {
    char buf[256];
    kgm_tensor *u = NULL;
    float v[1] = {0};
    size_t n = npy_image(buf, 5, 0, v);
    cr_assert_eq(kgm__npy_parse("emb.npy", buf, n, &u), KGM_ERR_SHAPE);
    cr_assert(strstr(kgm_error_message(), "emb.npy: expected a non-empty matrix, found shape (5, 0)"), "%s",
              kgm_error_message());
    n = npy_image(buf, 0, 4, v);
    cr_assert_eq(kgm__npy_parse("emb.npy", buf, n, &u), KGM_ERR_SHAPE);
    cr_assert(strstr(kgm_error_message(), "found shape (0, 4)"), "%s", kgm_error_message());
}
