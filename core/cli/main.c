/* kgmtl — command-line entry point: dispatches to subcommands. */
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "kgmtl/kgmtl.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command commands[] = {
    {"run", kgm_cmd_run, "train the runs of an experiment manifest"},
    {"report", kgm_cmd_report, "write summary.csv and report.html for a results directory"},
    {"eval", kgm_cmd_eval, "evaluate a checkpoint on its validation/test split"},
    {"recommend", kgm_cmd_recommend, "top-K items for a user from a checkpoint"},
    {"plugins", kgm_cmd_plugins, "list task plugins or describe one"},
    {"data", kgm_cmd_data, "inspect, convert or fetch datasets"},
    {"bench", kgm_cmd_bench, "benchmarks: ops, graph, data, train"},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: kgmtl [--version] [--help] COMMAND [ARGS]\n\n"
            "Multi-task learning for recommender systems with graph-aware shared encoders.\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-10s %s\n", "version", "print the version and the plugin ABI");
    fprintf(f, "\n'kgmtl COMMAND --help' describes a command.\n"
               "exit codes: 0 ok, 1 run failed, 2 usage error\n");
}

int kgm_cli_not_built(const char *cmd, const char *what) {
    fprintf(stderr, "kgmtl %s: not built yet (%s)\n", cmd, what);
    return 2;
}

static int cmd_version(void) {
    printf("kgmtl %s (plugin ABI %d.%d)\n", KGM_VERSION_STRING, KGM_ABI_MAJOR, KGM_ABI_MINOR);
    return 0;
}

/* libgomp reads OMP_WAIT_POLICY when it is loaded, before main(). Spinning
 * OpenMP workers compete with OpenBLAS's own threads for the cores, which
 * halves throughput on small matrices, so unless the user chose a policy we
 * re-execute once with the passive one. */
static void ensure_passive_omp(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("KGMTL_NO_REEXEC")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    setenv("KGMTL_NO_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the default policy */
}

int main(int argc, char **argv) {
    ensure_passive_omp(argv);
    kgm_init_runtime();
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'}, {0, 0, 0, 0}};
    /* Only parse options before the command name. */
    int c;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'V': return cmd_version();
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[optind];
    if (strcmp(name, "version") == 0) return cmd_version();
    if (strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(name, commands[i].name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0; /* subcommands run their own getopt_long; 0 re-initialises glibc getopt (argument permutation) */
            return commands[i].fn(sub_argc, sub_argv);
        }
    }
    fprintf(stderr, "kgmtl: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}
