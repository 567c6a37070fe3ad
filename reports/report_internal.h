/* Internal model of a results directory, shared by the report writers. */
#ifndef KGMTL_REPORT_INTERNAL_H
#define KGMTL_REPORT_INTERNAL_H

#include <stdio.h>

#include "core/train/config.h"
#include "reports/report.h"

/* Interned strings (task, metric, split and plugin names). */
typedef struct rp_strs {
    char **s;
    int32_t n, cap;
} rp_strs;

/* Index of `s` in `t`, adding it when new (-1 on allocation failure). */
int32_t rp_intern(rp_strs *t, const char *s);
/* Index of `s` or -1. */
int32_t rp_find(const rp_strs *t, const char *s);

typedef struct rp_mrow {
    int32_t epoch, split, task, metric;
    double value;
} rp_mrow;

typedef struct rp_wrow {
    int64_t step;
    int32_t epoch, task;
    double weight, loss;
} rp_wrow;

typedef enum rp_status { RP_DONE = 0, RP_FAILED = 1, RP_INCOMPLETE = 2 } rp_status;

typedef struct rp_run {
    int32_t group;
    uint64_t seed;
    char rel[KGM_PATH];
    rp_status status;
    char error[512];
    char published[KGM_STR];
    rp_mrow *m;
    int32_t nm, mcap;
    rp_wrow *w;
    int32_t nw, wcap;
    char note[256];          /* problems reading the run's files */
    int32_t eval_negatives;  /* resolved dataset.eval_negatives (the top-K protocol), -1 = unknown */
} rp_run;

typedef struct rp_group {
    char name[128];
    int32_t *runs;
    int32_t n_runs;
    char published[KGM_STR]; /* of the group's first run */
} rp_group;

/* A summary column: one (task, metric, split). */
typedef struct rp_col {
    int32_t task, metric, split;
    int higher;              /* 1 higher is better, 0 lower */
} rp_col;

/* A summary cell: one group × column. */
typedef struct rp_cell {
    int32_t n;               /* finished seeds with a value */
    double mean, std;        /* std NaN when n < 2 */
    double delta;            /* mean - baseline mean (NaN when either is missing) */
    double t, p;             /* paired t-test; p NaN when < 3 shared seeds */
    int32_t n_pairs;
    bool best;
    char seeds[256];         /* "1 2 3" */
} rp_cell;

struct kgm_report {
    char dir[KGM_PATH];
    char title[128];
    char description[512];
    char manifest[KGM_PATH];
    bool discovered;         /* no sweep.tsv: runs were found by directory names */
    rp_strs tasks, metrics, splits, plugins;
    int32_t *task_plugin;    /* per task: index into plugins or -1 */
    int32_t task_plugin_cap;
    rp_run *runs;
    int32_t n_runs, runs_cap;
    rp_group *groups;
    int32_t n_groups, groups_cap;
    int32_t baseline;        /* group index */
    rp_col *cols;
    int32_t n_cols;
    double *final;           /* (n_runs, n_cols) final value of each run, NaN when absent */
    rp_cell *cells;          /* (n_groups, n_cols) */
    int32_t n_done, n_failed, n_incomplete;
};

/* results.c */
kgm_status rp_load_runs(kgm_report *r, const char *dir);
/* summary.c */
kgm_status rp_summarize(kgm_report *r, const kgm_report_opts *opts);
/* Columns of split `split` (index into r->splits) in display order. */
int32_t rp_cols_of_split(const kgm_report *r, int32_t split, int32_t *cols, int32_t cap);
/* The split shown in the main table: "test" when present, else "valid", else -1. */
int32_t rp_main_split(const kgm_report *r);
/* Whether group g is the baseline and its name does not already say so. */
bool rp_base_tag(const kgm_report *r, int32_t g);
/* The top-K evaluation protocol of group g's runs: "full" (dataset.eval_negatives
 * 0), "sampled-K", "mixed" when its runs differ, "" when no run recorded it. */
void rp_protocol(const kgm_report *r, int32_t g, char *buf, size_t n);
/* Whether every group has the same protocol (then the report states it once). */
bool rp_protocol_shared(const kgm_report *r);
/* Format a number for tables (4 significant decimals, scientific when tiny/huge). */
void rp_fmt(char *buf, size_t n, double v);
/* Format a difference with the decimals of the reference value it is relative to. */
void rp_fmt_delta(char *buf, size_t n, double d, double ref);

/* svg.c: line charts */
typedef struct rp_series {
    const char *name;
    int color;               /* palette index */
    bool dashed;
    const double *x, *y;
    int32_t n;
} rp_series;

void rp_svg_line_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel, const rp_series *s,
                       int32_t ns, int width);
/* Palette colour of index i (#rrggbb). */
const char *rp_color(int i);
/* HTML-escape text into f. */
void rp_html_text(FILE *f, const char *s);

/* Open DIR/NAME.tmp for writing; rp_commit closes and renames it to NAME. */
FILE *rp_open_tmp(const char *path, char *tmp, size_t n);
kgm_status rp_commit(FILE *f, const char *tmp, const char *path);

#endif
