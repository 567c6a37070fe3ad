/* kgmtl bench — dispatches to the benchmark commands (core/tensor/bench.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/tensor/bench.h"

/* Fallbacks until the real commands land; a strong definition linked into
 * the executable replaces them (see the linking note in core/tensor/bench.h). */
static int not_built(const char *what) {
    fprintf(stderr, "kgmtl bench %s: not built yet\n", what);
    return 2;
}
__attribute__((weak)) int kgm_bench_graph(int argc, char **argv) {
    (void)argc, (void)argv;
    return not_built("graph");
}
__attribute__((weak)) int kgm_bench_data(int argc, char **argv) {
    (void)argc, (void)argv;
    return not_built("data");
}
__attribute__((weak)) int kgm_bench_train(int argc, char **argv) {
    (void)argc, (void)argv;
    return not_built("train");
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} benches[] = {
    {"ops", kgm_bench_ops, "sgemm peak, linear fwd+bwd, embedding gather/scatter"},
    {"graph", kgm_bench_graph, "message passing and samplers"},
    {"data", kgm_bench_data, "dataset loading, preparation and cache"},
    {"train", kgm_bench_train, "end-to-end training throughput"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: kgmtl bench WHAT [--threads N] [--csv] [--help]\n\n");
    for (size_t i = 0; i < sizeof benches / sizeof *benches; i++)
        fprintf(f, "  %-6s %s\n", benches[i].name, benches[i].help);
    fprintf(f, "\nEvery bench prints a table, or with --csv one 'figure,value,unit' row per\n"
               "figure (stable names, listed in docs/performance.md).\n"
               "'kgmtl bench WHAT --help' describes one.\n");
}

int kgm_cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *what = argv[1];
    if (strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0 || strcmp(what, "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof benches / sizeof *benches; i++)
        if (strcmp(what, benches[i].name) == 0) {
            optind = 1; /* the bench runs its own getopt_long over argv[1..] */
            return benches[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "kgmtl bench: unknown benchmark '%s'\n\n", what);
    usage(stderr);
    return 2;
}
