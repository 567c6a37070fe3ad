/* template_test — unit test of the template plugin with the kgmtl plugin test
 * harness (kgmtl/plugin_test.h). Copy it beside your plugin and change the
 * checks marked "YOUR TASK". Build and run against an installed kgmtl:
 *
 *     cc -shared -fPIC -O2 $(pkg-config --cflags kgmtl-plugin) template.c -o template.so
 *     cc -O2 template_test.c $(pkg-config --cflags --libs kgmtl-plugin-test) -o template_test
 *     ./template_test ./template.so
 *
 * Exit status 0 when every check passes, 1 otherwise (a line per check). */
#include <stdio.h>

#include "kgmtl/plugin_test.h"

static int failures;

static void check(int ok, const char *what, double value) {
    printf("%s %s (%g)\n", ok ? "ok  " : "FAIL", what, value);
    if (!ok) failures++;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: template_test PLUGIN.so\n");
        return 2;
    }
    kgm_plugin_test *pt;
    kgm_plugin_test_option opts[] = {{"threshold", "0.5"}}; /* YOUR TASK: your options */
    if (kgm_plugin_test_open(argv[1], opts, 1, 7, 0.01f, &pt)) {
        fprintf(stderr, "template_test: %s\n", kgm_plugin_test_error());
        return 1;
    }
    /* The loss's gradients (w.r.t. batch->h and the task's parameters) agree
     * with finite differences. */
    double err;
    if (kgm_plugin_test_gradcheck(pt, 8, &err)) goto fail;
    check(err < 1e-2, "gradcheck: max relative error < 1e-2", err);
    /* It learns: the loss falls and the selection metric (AUC) improves. */
    double m0[8], m1[8], loss, first = 0, last = 0;
    if (kgm_plugin_test_eval(pt, KGM_SPLIT_VALID, m0)) goto fail;
    for (int s = 0; s < 300; s++) {
        if (kgm_plugin_test_step(pt, 64, &loss)) goto fail;
        if (s < 20) first += loss / 20;
        if (s >= 280) last += loss / 20;
    }
    if (kgm_plugin_test_eval(pt, KGM_SPLIT_VALID, m1)) goto fail;
    check(last < first, "training loss falls (last 20 steps vs first 20)", last - first);
    check(m1[0] > m0[0] && m1[0] > 0.7, "validation AUC rises above 0.7", m1[0]); /* YOUR TASK */
    kgm_plugin_test_close(pt);
    printf("%d failed\n", failures);
    return failures ? 1 : 0;
fail:
    fprintf(stderr, "template_test: %s\n", kgm_plugin_test_error());
    kgm_plugin_test_close(pt);
    return 1;
}
