/* plugin_train PLUGIN [STEPS] — train a plugin (a name on the build plugin
 * directory, or a path to a .so) against the mini backend and print its test
 * metrics before and after; exit 0 when the selection metric improved and the
 * loss decreased, 1 otherwise. Used by the out-of-tree template test. */
#include <stdio.h>
#include <stdlib.h>

#include "tests/plugins/minibackend.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: plugin_train PLUGIN [STEPS]\n");
        return 2;
    }
    kgm_init_runtime();
    int steps = argc > 2 ? atoi(argv[2]) : 300;
    mb_result r;
    if (mb_train(MB_PLUGIN_DIR, argv[1], NULL, 0, steps, 64, 0.01f, 11, &r) != KGM_OK) {
        fprintf(stderr, "plugin_train: %s\n", kgm_error_message());
        return 1;
    }
    printf("loss %.4f -> %.4f\n", r.first_loss, r.last_loss);
    for (int i = 0; i < r.n_metrics; i++) printf("%s %.4f -> %.4f\n", r.names[i], r.before[i], r.after[i]);
    /* the first metric of the template is AUC (higher is better) */
    bool ok = r.last_loss < r.first_loss && r.after[0] > r.before[0] && r.after[0] > 0.7;
    printf("%s\n", ok ? "trained: ok" : "trained: NOT better");
    return ok ? 0 : 1;
}
