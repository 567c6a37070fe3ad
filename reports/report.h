/* reports/report.h — summary.csv and a self-contained report.html for a results
 * directory (docs/reports.md).
 *
 * A results directory is what `kgmtl run` writes: `sweep.tsv` (the plan: one
 * line per run with its group, seed, directory, baseline flag and published
 * figures) and one directory per run holding metrics.csv
 * (epoch,split,task,metric,value), weights.csv (step,epoch,task,weight,loss),
 * resolved.yaml, and DONE or FAILED. Without sweep.tsv the runs are discovered
 * (`<group>/seed-<s>/` or `seed-<s>/`) and the first group in name order is
 * the baseline.
 *
 * Statistics: per group and (task, metric, split) the mean and sample
 * standard deviation over the finished seeds, the difference of means against
 * the baseline group, and — where the group and the baseline share at least
 * three seeds — a two-sided paired t-test over those seeds. */
#ifndef KGMTL_REPORT_H
#define KGMTL_REPORT_H

#include <stdio.h>

#include "core/base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Direction of a metric: 1 higher is better, 0 lower is better, -1 unknown
 * (the name rule of kgm_metric_higher_is_better then decides). `plugin` is
 * the task's plugin as written in resolved.yaml ("" when unknown). */
typedef int (*kgm_metric_dir_fn)(void *user, const char *plugin, const char *metric);

typedef struct kgm_report_opts {
    kgm_metric_dir_fn direction; /* may be NULL */
    void *direction_user;
    const char *title;           /* overrides the sweep's title (NULL = keep) */
} kgm_report_opts;

typedef struct kgm_report kgm_report;

/* Read a results directory and compute the summary. Missing or malformed
 * files of single runs are noted in the report, not fatal; a directory with
 * no runs at all is KGM_ERR_IO. */
kgm_status kgm_report_load(const char *dir, const kgm_report_opts *opts, kgm_report **out);
/* summary.csv: group,seeds,task,metric,split,mean,std,n,delta,p_value,best
 * (empty fields where a value is undefined). Written atomically. */
kgm_status kgm_report_write_csv(const kgm_report *r, const char *path);
/* report.html: one file, inline CSS and SVG, no scripts or external
 * resources. Written atomically. */
kgm_status kgm_report_write_html(const kgm_report *r, const char *path);
/* A short table of the test metrics (mean ± std per group) for a terminal. */
void kgm_report_print_table(const kgm_report *r, FILE *f);
/* Runs found / finished / failed. */
void kgm_report_counts(const kgm_report *r, int32_t *runs, int32_t *done, int32_t *failed);
void kgm_report_free(kgm_report *r);

/* Load `dir`, write DIR/summary.csv and DIR/report.html; print the terminal
 * table to `table` when not NULL. `html_path` (may be NULL) receives the path
 * of report.html. */
kgm_status kgm_report_generate(const char *dir, const kgm_report_opts *opts, FILE *table, char *html_path,
                               size_t html_path_len);


/* ---- statistics (exposed for tests) ---------------------------------------- */

/* Mean of n values (NaN when n == 0). */
double kgm_stat_mean(const double *x, int32_t n);
/* Sample standard deviation, divisor n-1 (NaN when n < 2; exactly 0 when the
 * spread is below rounding, 1e-13 of the largest magnitude). */
double kgm_stat_std(const double *x, int32_t n);
/* Regularised incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1
 * (continued fraction, Lentz's method). */
double kgm_stat_betainc(double a, double b, double x);
/* CDF of Student's t distribution with df > 0 degrees of freedom. */
double kgm_stat_t_cdf(double t, double df);
/* Two-sided paired t-test of a[i] - b[i] (n >= 2): t statistic and p-value.
 * Identical pairs give t = 0, p = 1; a constant non-zero difference gives
 * t = ±inf, p = 0. */
kgm_status kgm_stat_paired_t(const double *a, const double *b, int32_t n, double *t, double *p);

/* Name rule for metric direction: lower is better for losses and errors
 * (loss, *_loss, logloss, bce, ce, nll, mse, rmse, mae, mape, error, err,
 * mr / mean_rank, brier, perplexity), higher for everything else (auc,
 * accuracy, f1, recall@k, ndcg@k, hit@k, mrr, precision, ...). A suffix
 * "@k" is ignored. Returns 1 (higher) or 0 (lower). */
int kgm_metric_higher_is_better(const char *metric);

#ifdef __cplusplus
}
#endif
#endif
