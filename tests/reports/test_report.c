/* Reports: the t distribution and paired t-test against known values, and
 * summary.csv / report.html from a synthetic results tree. */
#include <math.h>

#include "tests/experiments/exp_util.h"
#include "kgmtl/kgmtl.h"
#include "reports/report.h"

static char dir[KGM_PATH];

static void setup(void) {
    kgm_init_runtime();
    eu_tmpdir(dir, sizeof dir);
}

static void teardown(void) { eu_rm_rf(dir); }

TestSuite(report, .init = setup, .fini = teardown);

/* ---- statistics ---- */

Test(report, incomplete_beta_known_values) {
    cr_assert_float_eq(kgm_stat_betainc(2, 3, 0.5), 11.0 / 16.0, 1e-12); /* sum_{j>=2} C(4,j)/16 */
    cr_assert_float_eq(kgm_stat_betainc(1, 1, 0.3), 0.3, 1e-12);         /* uniform */
    cr_assert_float_eq(kgm_stat_betainc(0.5, 0.5, 0.5), 0.5, 1e-12);     /* arcsine, symmetric */
    cr_assert_float_eq(kgm_stat_betainc(0.5, 0.5, 0.25), 2 / M_PI * asin(0.5), 1e-12);
    cr_assert_float_eq(kgm_stat_betainc(5, 1, 0.7), pow(0.7, 5), 1e-12); /* I_x(a,1) = x^a */
    cr_assert_float_eq(kgm_stat_betainc(1, 4, 0.2), 1 - pow(0.8, 4), 1e-12);
    for (double x = 0.05; x < 1; x += 0.1) /* I_x(a,b) = 1 - I_{1-x}(b,a) */
        cr_assert_float_eq(kgm_stat_betainc(2.5, 7, x), 1 - kgm_stat_betainc(7, 2.5, 1 - x), 1e-12);
    cr_assert_eq(kgm_stat_betainc(2, 3, 0), 0);
    cr_assert_eq(kgm_stat_betainc(2, 3, 1), 1);
    cr_assert(isnan(kgm_stat_betainc(-1, 3, 0.5)));
}

Test(report, student_t_cdf_known_values) {
    /* df = 1 is Cauchy: 1/2 + atan(t)/pi */
    for (double t = -5; t <= 5; t += 0.5) cr_assert_float_eq(kgm_stat_t_cdf(t, 1), 0.5 + atan(t) / M_PI, 1e-12);
    /* df = 2 has the closed form 1/2 + t / (2 sqrt(2 + t^2)) */
    for (double t = -6; t <= 6; t += 0.75)
        cr_assert_float_eq(kgm_stat_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)), 1e-12);
    /* table quantiles */
    cr_assert_float_eq(kgm_stat_t_cdf(2.015048373, 5), 0.95, 1e-8);
    cr_assert_float_eq(kgm_stat_t_cdf(2.570581836, 5), 0.975, 1e-8);
    cr_assert_float_eq(kgm_stat_t_cdf(1.812461123, 10), 0.95, 1e-8);
    cr_assert_float_eq(kgm_stat_t_cdf(2.228138852, 10), 0.975, 1e-8);
    cr_assert_float_eq(kgm_stat_t_cdf(3.169272673, 10), 0.995, 1e-8);
    cr_assert_float_eq(kgm_stat_t_cdf(2.0, 5), 0.9490302605850709, 1e-10);
    /* large df tends to the normal */
    cr_assert_float_eq(kgm_stat_t_cdf(1.959963985, 1e7), 0.975, 1e-6);
    cr_assert_float_eq(kgm_stat_t_cdf(0, 7), 0.5, 1e-15);
    cr_assert_eq(kgm_stat_t_cdf(INFINITY, 3), 1);
}

Test(report, paired_t_test) {
    double a[] = {0.75, 0.78, 0.78}, b[] = {0.70, 0.72, 0.74}, t, p;
    cr_assert_eq(kgm_stat_paired_t(a, b, 3, &t, &p), KGM_OK);
    /* d = .05 .06 .04: mean .05, sd .01, t = .05 / (.01 / sqrt 3) */
    cr_assert_float_eq(t, 5 * sqrt(3.0), 1e-9);
    cr_assert_float_eq(p, 1 - t / sqrt(2 + t * t), 1e-9); /* df = 2 closed form */
    double c[] = {1, 2, 3, 4}, d[] = {1, 2, 3, 4};
    cr_assert_eq(kgm_stat_paired_t(c, d, 4, &t, &p), KGM_OK);
    cr_assert_eq(t, 0);
    cr_assert_eq(p, 1);
    double e[] = {2, 3, 4, 5};
    cr_assert_eq(kgm_stat_paired_t(e, c, 4, &t, &p), KGM_OK);
    cr_assert(isinf(t) && t > 0);
    cr_assert_eq(p, 0);
    /* argument order: the difference is a - b */
    double x[] = {12.9, 13.5, 12.8, 15.6, 17.2, 19.2, 12.6, 15.3, 14.4, 11.3};
    double y[] = {12.7, 13.6, 12.0, 15.2, 16.8, 20.0, 12.0, 15.9, 16.0, 11.1};
    cr_assert_eq(kgm_stat_paired_t(y, x, 10, &t, &p), KGM_OK);
    double md = 0;
    for (int i = 0; i < 10; i++) md += (y[i] - x[i]) / 10;
    cr_assert_float_eq(md, 0.05, 1e-12);
    cr_assert_eq(kgm_stat_paired_t(x, y, 1, &t, &p), KGM_ERR_ARG);
    cr_assert_float_eq(kgm_stat_mean(x, 10), 14.48, 1e-12);
    cr_assert_float_eq(kgm_stat_std(b, 3), 0.02, 1e-12);
    cr_assert(isnan(kgm_stat_std(b, 1)));
    double same[] = {0.4, 0.4, 0.4};
    cr_assert_eq(kgm_stat_std(same, 3), 0, "no rounding noise for equal values");
}

Test(report, metric_direction_by_name) {
    static const char *const up[] = {"auc", "accuracy", "f1", "recall@20", "ndcg@10", "hit@k", "mrr", "hits@10",
                                     "macro_f1", "ctr_auc"};
    static const char *const down[] = {"loss", "logloss", "rmse", "MAE", "mse", "bce_loss", "mean_rank", "mr", "nll"};
    for (size_t i = 0; i < sizeof up / sizeof *up; i++) cr_expect_eq(kgm_metric_higher_is_better(up[i]), 1, "%s", up[i]);
    for (size_t i = 0; i < sizeof down / sizeof *down; i++)
        cr_expect_eq(kgm_metric_higher_is_better(down[i]), 0, "%s", down[i]);
}

/* ---- synthetic results tree ---- */

/* Fields of the summary.csv row for (group, task, metric, split); NULL if absent. */
static char *summary_row(const char *csv, const char *group, const char *tms, char **f, int nf) {
    char key[256];
    snprintf(key, sizeof key, "\n%s,", group);
    for (const char *p = strstr(csv, key); p; p = strstr(p + 1, key)) {
        const char *eol = strchr(p + 1, '\n');
        size_t len = eol ? (size_t)(eol - p - 1) : strlen(p + 1);
        char *line = strndup(p + 1, len);
        if (strstr(line, tms)) {
            int n = 0;
            for (char *s = line, *c; n < nf; s = c + 1) { /* group names here have no commas */
                f[n++] = s;
                c = strchr(s, ',');
                if (!c) break;
                *c = '\0';
            }
            return line;
        }
        free(line);
    }
    return NULL;
}

static double num(const char *s) { return *s ? strtod(s, NULL) : NAN; }

/* Load the tree, check the run counts, write summary.csv and return its text. */
static char *summary_of(const kgm_report_opts *o, int32_t want_runs, int32_t want_done) {
    kgm_report *r;
    cr_assert_eq(kgm_report_load(dir, o, &r), KGM_OK, "%s", kgm_error_message());
    int32_t runs, done, failed;
    kgm_report_counts(r, &runs, &done, &failed);
    cr_assert_eq(runs, want_runs);
    cr_assert_eq(done, want_done);
    cr_assert_eq(failed, 1);
    char path[2 * KGM_PATH];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    cr_assert_eq(kgm_report_write_csv(r, path), KGM_OK);
    kgm_report_free(r);
    char *csv = eu_read(path, NULL);
    cr_assert_not_null(csv);
    return csv;
}

Test(report, summary_csv_matches_hand_computed_statistics) {
    eu_fake_sweep(dir, "<base>&", true);
    char *csv = summary_of(NULL, 8, 6);
    const char *header = "group,seeds,task,metric,split,mean,std,n,delta,p_value,best,protocol\n";
    cr_assert_eq(strncmp(csv, header, strlen(header)), 0);
    char *f[11], *line;

    line = summary_row(csv, "alt", ",ctr,auc,test,", f, 11);
    cr_assert_not_null(line, "no alt/ctr/auc/test row in\n%s", csv);
    cr_assert_str_eq(f[1], "1 2 3");
    cr_assert_float_eq(num(f[5]), 0.77, 1e-9);
    cr_assert_float_eq(num(f[6]), sqrt(0.0003), 1e-9);
    cr_assert_eq(atoi(f[7]), 3);
    cr_assert_float_eq(num(f[8]), 0.05, 1e-9);
    double t = 5 * sqrt(3.0);
    cr_assert_float_eq(num(f[9]), 1 - t / sqrt(2 + t * t), 1e-7);
    cr_assert_str_eq(f[10], "1");
    free(line);

    line = summary_row(csv, "alt", ",ctr,logloss,test,", f, 11);
    cr_assert_not_null(line);
    cr_assert_float_eq(num(f[5]), 0.46, 1e-9);
    cr_assert_float_eq(num(f[6]), 0.01, 1e-9);
    cr_assert_float_eq(num(f[8]), -0.04, 1e-9);
    cr_assert_float_eq(num(f[9]), 1 - 4 / sqrt(18.0), 1e-7); /* t = -4, df = 2 */
    cr_assert_str_eq(f[10], "1", "lower logloss is better");
    free(line);

    /* the baseline row: its own delta is 0, no test against itself; quoted name */
    cr_assert_not_null(strstr(csv, "\n<base>&,1 2 3,ctr,auc,test,0.72,0.02,3,0,,0,\n"), "%s", csv);
    /* valid: the value at the epoch of the test evaluation (3) */
    cr_assert_not_null(strstr(csv, "\n<base>&,1 2 3,ctr,auc,valid,0.71,0.02,3,0,,0,\n"), "%s", csv);
    /* equal means tie for best; identical pairs give p = 1 */
    line = summary_row(csv, "alt", ",kge,mrr,test,", f, 11);
    cr_assert_not_null(line);
    cr_assert_float_eq(num(f[8]), 0, 1e-12);
    cr_assert_float_eq(num(f[9]), 1, 1e-12);
    cr_assert_str_eq(f[10], "1");
    free(line);
    cr_assert_null(strstr(csv, ",train,"), "train metrics are curves, not summary rows");
    free(csv);
}

static int auc_lower(void *user, const char *plugin, const char *metric) {
    int *calls = user;
    (*calls)++;
    return !strcmp(plugin, "ctr") && !strcmp(metric, "auc") ? 0 : -1;
}

Test(report, plugin_direction_hook_decides_the_best_row) {
    eu_fake_sweep(dir, "base", true);
    int calls = 0;
    kgm_report_opts o = {.direction = auc_lower, .direction_user = &calls};
    char *csv = summary_of(&o, 8, 6), *f[11];
    cr_assert_gt(calls, 0);
    char *line = summary_row(csv, "base", ",ctr,auc,test,", f, 11);
    cr_assert_not_null(line);
    cr_assert_str_eq(f[10], "1", "with auc lower-is-better the baseline wins");
    free(line);
    free(csv);
}

Test(report, discovery_without_sweep_file) {
    eu_fake_sweep(dir, "a-base", false);
    char *csv = summary_of(NULL, 8, 6);
    kgm_report *r;
    /* "a-base" sorts first and is the baseline */
    cr_assert_not_null(strstr(csv, "\na-base,1 2 3,ctr,auc,test,0.72,0.02,3,0,,0,\n"), "%s", csv);
    free(csv);
    cr_assert_eq(kgm_report_load("/nonexistent/kgmtl", NULL, &r), KGM_ERR_IO);
    char empty[2 * KGM_PATH];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    eu_mkdirs(empty);
    cr_assert_eq(kgm_report_load(empty, NULL, &r), KGM_ERR_IO);
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

Test(report, html_is_self_contained_escaped_and_complete) {
    eu_fake_sweep(dir, "<base>&", true);
    char html[2 * KGM_PATH];
    FILE *null = fopen("/dev/null", "w");
    cr_assert_eq(kgm_report_generate(dir, NULL, null, html, sizeof html), KGM_OK, "%s", kgm_error_message());
    fclose(null);
    cr_assert(eu_exists(dir, "summary.csv"));
    char *h = eu_read(html, NULL);
    cr_assert_not_null(h);
    cr_assert_eq(strncmp(h, "<!DOCTYPE html>", 15), 0);
    /* self-contained: no scripts, links, images or URLs */
    cr_assert_null(strstr(h, "<script"));
    cr_assert_null(strstr(h, "<link"));
    cr_assert_null(strstr(h, "<img"));
    cr_assert_null(strstr(h, "src="));
    cr_assert_null(strstr(h, "http:"));
    cr_assert_null(strstr(h, "https:"));
    cr_assert_null(strstr(h, "url("));
    /* escaped text */
    cr_assert_null(strstr(h, "<base>"));
    cr_assert_null(strstr(h, "<sweep>"));
    cr_assert_not_null(strstr(h, "&lt;base&gt;&amp;"));
    cr_assert_not_null(strstr(h, "synthetic &lt;sweep&gt; &amp; co"));
    /* content */
    cr_assert_not_null(strstr(h, "<table class=\"ablation\">"));
    cr_assert_not_null(strstr(h, "class=\"best\""));
    cr_assert_not_null(strstr(h, "tag\">baseline"));
    cr_assert_not_null(strstr(h, "p=0.013"), "the paired test of alt vs the baseline");
    cr_assert_not_null(strstr(h, "id=\"published\""));
    cr_assert_not_null(strstr(h, "<td class=\"g\">published</td>"));
    cr_assert_not_null(strstr(h, "id=\"curves\""));
    cr_assert_not_null(strstr(h, "id=\"weights\""));
    cr_assert_not_null(strstr(h, "id=\"failures\""));
    cr_assert_not_null(strstr(h, "loss is NaN"));
    /* charts: ctr (loss, auc), kge (loss, mrr) curves + 2 weight charts, each with axes and legend */
    int svgs = count(h, "<svg ");
    cr_assert_eq(svgs, 6, "%d charts", svgs);
    cr_assert_eq(count(h, "</svg>"), svgs);
    cr_assert_geq(count(h, "class=\"al\""), 2 * svgs, "axis labels");
    cr_assert_geq(count(h, "class=\"lg\""), svgs, "legend entries");
    cr_assert_geq(count(h, "<polyline"), 8);
    cr_assert_not_null(strstr(h, ">epoch</text>"));
    cr_assert_not_null(strstr(h, ">task weight</text>"));
    free(h);
}

/* resolved.yaml of every run of `group` (seeds 1..n) with dataset.eval_negatives = k */
static void set_protocol(const char *group, int n, int k) {
    char rel[2 * KGM_PATH], text[512];
    snprintf(text, sizeof text,
             "name: \"x\"\ndataset:\n  source: \"world\"\n  eval_negatives: %d\ntasks:\n  - name: \"ctr\"\n"
             "    plugin: \"ctr\"\n  - name: \"kge\"\n    plugin: \"kge\"\n", k);
    for (int s = 1; s <= n; s++) {
        snprintf(rel, sizeof rel, "%s/%s/seed-%d", dir, group, s);
        eu_write(rel, "resolved.yaml", text);
    }
}

Test(report, protocol_named_in_summary_and_html) {
    eu_fake_sweep(dir, "base", true);
    set_protocol("base", 3, 0);
    set_protocol("alt", 5, 100);
    char html[2 * KGM_PATH];
    FILE *null = fopen("/dev/null", "w");
    cr_assert_eq(kgm_report_generate(dir, NULL, null, html, sizeof html), KGM_OK, "%s", kgm_error_message());
    fclose(null);
    char path[2 * KGM_PATH];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    char *csv = eu_read(path, NULL), *h = eu_read(html, NULL);
    cr_assert(csv && h);
    cr_expect_not_null(strstr(csv, "\nbase,1 2 3,ctr,auc,test,0.72,0.02,3,0,,0,full\n"), "%s", csv);
    cr_expect_not_null(strstr(csv, ",ctr,auc,test,") && strstr(csv, ",1,sampled-100\n"), "%s", csv);
    cr_expect_not_null(strstr(h, "protocol: sampled-100"), "the alt row is tagged");
    cr_expect_not_null(strstr(h, "protocol: full"), "the base row is tagged");
    cr_expect_not_null(strstr(h, "Top-K protocol: <strong>differs between groups"));
    free(csv), free(h);
    /* one protocol for every group: stated once in the header, no row tags */
    set_protocol("base", 3, 100);
    cr_assert_eq(kgm_report_generate(dir, NULL, NULL, html, sizeof html), KGM_OK, "%s", kgm_error_message());
    h = eu_read(html, NULL);
    cr_expect_not_null(strstr(h, "Top-K protocol: <code>sampled-100</code> — each positive ranked against its 100"), "%s", h);
    cr_expect_null(strstr(h, "protocol: sampled-100</span>"));
    free(h);
}
