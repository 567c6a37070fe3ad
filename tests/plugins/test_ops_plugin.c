/* The ABI 1.1 loss ops used from inside a plugin .so (ops_plugin.c), driven
 * by the plugin test harness (kgmtl/plugin_test.h): the loss gradient-checks
 * and falls when trained, on training and validation rows. */
#include <criterion/criterion.h>
#include <string.h>

#include "kgmtl/plugin_test.h"

Test(ops_plugin, gradchecks_and_learns) {
    kgm_plugin_test *pt;
    cr_assert_eq(kgm_plugin_test_open(MB_BAD_DIR "/ops_plugin.so", NULL, 0, 5, 0.02f, &pt), KGM_OK, "%s",
                 kgm_plugin_test_error());
    cr_assert_str_eq(kgm_plugin_test_descriptor(pt)->name, "ops_plugin");
    double err;
    cr_assert_eq(kgm_plugin_test_gradcheck(pt, 16, &err), KGM_OK, "%s", kgm_plugin_test_error());
    cr_expect_lt(err, 1e-2, "max relative error %g", err);
    double v0, v1, loss, first = 0, last = 0;
    cr_assert_eq(kgm_plugin_test_eval(pt, KGM_SPLIT_VALID, &v0), KGM_OK, "%s", kgm_plugin_test_error());
    for (int s = 0; s < 200; s++) {
        cr_assert_eq(kgm_plugin_test_step(pt, 64, &loss), KGM_OK, "%s", kgm_plugin_test_error());
        if (s < 20) first += loss / 20;
        if (s >= 180) last += loss / 20;
    }
    cr_assert_eq(kgm_plugin_test_eval(pt, KGM_SPLIT_VALID, &v1), KGM_OK, "%s", kgm_plugin_test_error());
    cr_log_info("train loss %.4f -> %.4f, valid loss %.4f -> %.4f, gradcheck %.2g", first, last, v0, v1, err);
    cr_expect_lt(last, first - 0.05, "train loss %g -> %g", first, last);
    cr_expect_lt(v1, v0 - 0.05, "valid loss %g -> %g", v0, v1);
    /* still gradient-correct after training moved the weights */
    cr_assert_eq(kgm_plugin_test_gradcheck(pt, 16, &err), KGM_OK, "%s", kgm_plugin_test_error());
    cr_expect_lt(err, 1e-2, "max relative error after training %g", err);
    kgm_plugin_test_close(pt);
}

/* A path that is not a plugin: an error naming the file, nothing left loaded. */
Test(ops_plugin, harness_reports_a_missing_file) {
    kgm_plugin_test *pt = (kgm_plugin_test *)1;
    cr_expect_neq(kgm_plugin_test_open("/nonexistent/x.so", NULL, 0, 1, 0.01f, &pt), KGM_OK);
    cr_expect_null(pt);
    cr_expect(strstr(kgm_plugin_test_error(), "/nonexistent/x.so") != NULL, "%s", kgm_plugin_test_error());
}
