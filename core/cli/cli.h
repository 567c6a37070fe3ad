/* Subcommand entry points of the `kgmtl` executable. Each returns the process
 * exit code: 0 ok, 1 run failed, 2 usage error / not available. */
#ifndef KGMTL_CLI_H
#define KGMTL_CLI_H

#include "core/plugin/host.h"

int kgm_cmd_run(int argc, char **argv);
int kgm_cmd_report(int argc, char **argv);
int kgm_cmd_eval(int argc, char **argv);
int kgm_cmd_recommend(int argc, char **argv);
int kgm_cmd_plugins(int argc, char **argv);
int kgm_cmd_data(int argc, char **argv);
int kgm_cmd_bench(int argc, char **argv);

/* Prints "kgmtl CMD: not built yet (...)" and returns 2. */
int kgm_cli_not_built(const char *cmd, const char *what);

/* Plugin search path shared by the subcommands: -P directories first, then
 * $KGMTL_PLUGIN_PATH, the build tree's plugins/ and the install directory.
 * At most 5 -P directories, so that they and the two built-in directories fit
 * a NULL-terminated plugin_dirs[8] of the trainer and runner options (which
 * add $KGMTL_PLUGIN_PATH themselves). */
#define KGM_CLI_MAX_PLUGIN_DIRS 5
typedef struct {
    const char *dir[KGM_CLI_MAX_PLUGIN_DIRS];
    int n;
} kgm_cli_plugin_dirs;

/* Appends a -P directory; prints an error naming `cmd` and returns 2 when full. */
int kgm_cli_plugin_dirs_add(kgm_cli_plugin_dirs *d, const char *dir, const char *cmd);
/* Initialises `sp` with the whole search path; the caller destroys `sp`, on
 * failure too. */
kgm_status kgm_cli_plugin_path(const kgm_cli_plugin_dirs *d, kgm_plugin_path *sp);
/* The -P, build and install directories as a NULL-terminated list. */
void kgm_cli_plugin_dir_list(const kgm_cli_plugin_dirs *d, const char *out[8]);
const char *kgm_cli_build_plugin_dir(void);   /* NULL when not configured or this binary is not the build tree's */
const char *kgm_cli_install_plugin_dir(void); /* NULL when not configured */

#endif
