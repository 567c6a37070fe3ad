/* Subcommand entry points of the `kgmtl` executable. Each returns the process
 * exit code: 0 ok, 1 run failed, 2 usage error / not available. */
#ifndef KGMTL_CLI_H
#define KGMTL_CLI_H

int kgm_cmd_run(int argc, char **argv);
int kgm_cmd_report(int argc, char **argv);
int kgm_cmd_eval(int argc, char **argv);
int kgm_cmd_recommend(int argc, char **argv);
int kgm_cmd_plugins(int argc, char **argv);
int kgm_cmd_data(int argc, char **argv);
int kgm_cmd_bench(int argc, char **argv);

/* Prints "kgmtl CMD: not built yet (...)" and returns 2. */
int kgm_cli_not_built(const char *cmd, const char *what);

#endif
