/* The plugin search path of every subcommand, in one place: the -P
 * directories (in the order given), $KGMTL_PLUGIN_PATH, the build tree's
 * plugins/ (only for the binary of that build tree) and the installed plugin
 * directory. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef KGM_BUILD_PLUGIN_DIR
#define KGM_BUILD_PLUGIN_DIR NULL
#endif
#ifndef KGM_INSTALL_PLUGIN_DIR
#define KGM_INSTALL_PLUGIN_DIR NULL
#endif

/* The build tree's plugins/ when this executable is the one of that build
 * tree (<builddir>/kgmtl next to <builddir>/plugins), else NULL: an installed
 * kgmtl must not pick up whatever the source tree was last rebuilt with. */
static const char *build_dir_if_ours(void) {
    static int ours = -1;
    if (ours < 0) {
        ours = 0;
        char exe[PATH_MAX], bd[PATH_MAX], real_bd[PATH_MAX];
        if (KGM_BUILD_PLUGIN_DIR && realpath("/proc/self/exe", exe)) {
            snprintf(bd, sizeof bd, "%s", KGM_BUILD_PLUGIN_DIR);
            char *build_root = dirname(bd); /* <builddir> */
            if (realpath(build_root, real_bd)) ours = strcmp(dirname(exe), real_bd) == 0;
        }
    }
    return ours ? KGM_BUILD_PLUGIN_DIR : NULL;
}

const char *kgm_cli_build_plugin_dir(void) { return build_dir_if_ours(); }
const char *kgm_cli_install_plugin_dir(void) { return KGM_INSTALL_PLUGIN_DIR; }

int kgm_cli_plugin_dirs_add(kgm_cli_plugin_dirs *d, const char *dir, const char *cmd) {
    if (d->n == KGM_CLI_MAX_PLUGIN_DIRS) {
        fprintf(stderr, "kgmtl %s: at most %d --plugin-path options, found another: '%s'\n", cmd,
                KGM_CLI_MAX_PLUGIN_DIRS, dir);
        return 2;
    }
    d->dir[d->n++] = dir;
    return 0;
}

kgm_status kgm_cli_plugin_path(const kgm_cli_plugin_dirs *d, kgm_plugin_path *sp) {
    kgm_plugin_path_init(sp);
    kgm_status st = KGM_OK;
    for (int i = 0; i < d->n && !st; i++) st = kgm_plugin_path_add(sp, d->dir[i]);
    if (!st) st = kgm_plugin_path_add_env(sp);
    if (!st && build_dir_if_ours()) st = kgm_plugin_path_add(sp, build_dir_if_ours());
    if (!st && KGM_INSTALL_PLUGIN_DIR) st = kgm_plugin_path_add(sp, KGM_INSTALL_PLUGIN_DIR);
    return st;
}

void kgm_cli_plugin_dir_list(const kgm_cli_plugin_dirs *d, const char *out[8]) {
    int k = 0;
    for (int i = 0; i < d->n; i++) out[k++] = d->dir[i];
    if (build_dir_if_ours()) out[k++] = build_dir_if_ours();
    if (KGM_INSTALL_PLUGIN_DIR) out[k++] = KGM_INSTALL_PLUGIN_DIR;
    while (k < 8) out[k++] = NULL;
}
