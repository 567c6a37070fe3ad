/* core/tensor/bench.h — the `kgmtl bench …` commands and their shared output.
 *
 * Every bench command is `int kgm_bench_X(int argc, char **argv)` with
 * argv[0] = "X" (the subcommand name), returns the process exit code (0 ok,
 * 1 failed, 2 usage), takes --help, --threads N and --csv, and reports its
 * results through kgm_bench_figure so that all of them print alike: a
 * readable table on a terminal, or with --csv a `figure,value,unit` header
 * followed by one row per figure. Figure names are stable (tracked over time)
 * and listed in docs/performance.md.
 *
 * Linking note: core/cli/cmd_bench.c carries weak "not built yet" fallbacks
 * for graph/data/train. A static archive member is not extracted to replace
 * a weak definition that is already linked, so the real implementations must
 * be linked as objects of the `kgmtl` executable (kgm_cli_sources in
 * core/cli/meson.build), not only through libkgmtl.a. */
#ifndef KGMTL_BENCH_H
#define KGMTL_BENCH_H

#include <stdio.h>

#include "kgmtl/types.h"

/* Core kernels: sgemm peak, linear fwd+bwd, embedding gather/scatter (core/tensor/bench_ops.c). */
int kgm_bench_ops(int argc, char **argv);
/* Graph message passing and samplers (graph/). */
int kgm_bench_graph(int argc, char **argv);
/* Dataset loading, preparation and the binary cache (datasets/). */
int kgm_bench_data(int argc, char **argv);
/* End-to-end training throughput (trainer). */
int kgm_bench_train(int argc, char **argv);

/* Where and how figures are printed. */
typedef struct kgm_bench_out {
    FILE *f;
    bool csv;
} kgm_bench_out;

/* Start a report on `f`: with csv, prints the `figure,value,unit` header;
 * otherwise prints `title` as a heading (may be NULL). */
void kgm_bench_begin(kgm_bench_out *o, FILE *f, bool csv, const char *title);
/* One figure: stable `name`, value, unit, and a short human description
 * (`what`, shown in table mode only; may be NULL). */
void kgm_bench_figure(const kgm_bench_out *o, const char *name, double value, const char *unit,
                      const char *what);
/* A free-form note (table mode only; ignored with csv). */
void kgm_bench_note(const kgm_bench_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The 1-minute load average from /proc/loadavg (-1 when unavailable): every
 * bench prints it as figure `load_1min`, since other jobs on the machine
 * change the figures. */
double kgm_bench_load_1min(void);

/* Parse a positive thread count for --threads; false (and a message on
 * stderr naming `cmd`) when `arg` is not an integer in [1, 4096]. */
bool kgm_bench_parse_threads(const char *cmd, const char *arg, int *out);

#endif
