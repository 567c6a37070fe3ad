/* Derived 0/1 task labels on tabular data (`label: COLUMN=LEVEL[|LEVEL...]`),
 * as the Census family uses them: the kernlab-income table and the
 * Census-Income (KDD) files, on small fixtures, through the trainer. */
#include <math.h>

#include "tests/datasets/data_test.h"
#include "core/train/config.h"
#include "kgmtl/kgmtl.h"
#include "core/base/rng.h"
#include "core/train/trainer.h"
#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

static const char *bands[9] = {"-10.000)",        "[10.000-15.000)", "[15.000-20.000)", "[20.000-25.000)", "[25.000-30.000)",
                               "[30.000-40.000)", "[40.000-50.000)", "[50.000-75.000)", "[75.000-"};
static const char *status[5] = {"Divorced", "Married", "Single", "Together", "Widowed"};

/* A kernlab-income-like table in ROOT/kernlab-income/income.tsv: INCOME,
 * MARITAL.STATUS (every 10th row missing), NOISE (categorical noise), X
 * (numeric noise) and, with `hint`, HINT = a copy of MARITAL.STATUS. */
static const char *write_income(int n, bool hint) {
    tmp_subdir("root");
    tmp_subdir("root/kernlab-income");
    size_t cap = (size_t)n * 96 + 128, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    len += (size_t)snprintf(buf + len, cap - len, "INCOME\tMARITAL.STATUS\tNOISE\tX%s\n", hint ? "\tHINT" : "");
    kgm_rng r;
    kgm_rng_init(&r, 11, 0);
    for (int i = 0; i < n; i++) {
        const char *b = bands[kgm_rng_uniform(&r) < 0.3 ? 8 : i % 8];
        const char *m = i % 10 == 9 ? "" : status[(int)(kgm_rng_uniform(&r) * 5) % 5];
        len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\tn%d\t%.4f", b, m, (int)(kgm_rng_uniform(&r) * 4),
                                kgm_rng_normal(&r));
        if (hint) len += (size_t)snprintf(buf + len, cap - len, "\t%s", m);
        buf[len++] = '\n';
    }
    tmp_file("root/kernlab-income/income.tsv", buf, len);
    free(buf);
    return tmp_subdir("root");
}

/* Two ctr tasks on a small shared bottom; each task carries a manifest position. */
static void income_config(kgm_run_config *c, const char *root, const char *out, const char *l1, const char *l2) {
    kgm_run_config_default(c);
    tu_add_task(c, "ctr", "income", l1);
    tu_add_task(c, "ctr", "married", l2);
    for (int k = 0; k < 2; k++) snprintf(c->tasks[k].where, sizeof c->tasks[k].where, "census.yaml:%d:12", 10 + 3 * k);
    snprintf(c->output, sizeof c->output, "%s", out);
    snprintf(c->data.path, sizeof c->data.path, "%s", root);
    snprintf(c->data.source, sizeof c->data.source, "kernlab-income");
    snprintf(c->data.split, sizeof c->data.split, "random");
    c->data.valid_frac = 0.1;
    c->data.test_frac = 0.3;
    c->mixer.bottom_hidden = 16;
    c->mixer.tower_hidden = 0;
    c->train.lr = 0.02;
    c->train.batch_size = 64;
    c->train.epochs = 15;
    c->eval.cold = false;
}

/* Test-split value of task.metric (last epoch logged). */
static double test_metric(const char *out, const char *task, const char *metric) {
    return tu_metric(out, -1, "test", task, metric);
}

static kgm_status run(const char *root, const char *out, const char *l1, const char *l2) {
    kgm_run_config c;
    income_config(&c, root, out, l1, l2);
    kgm_train_opts o = {.quiet = true};
    kgm_train_result res;
    return kgm_train_run(&c, &o, &res);
}

/* income_config on the Census-Income (KDD) files in `dir` (train/test as given). */
static void census_config(kgm_run_config *c, const char *dir, const char *out, const char *l1, const char *l2) {
    income_config(c, dir, out, l1, l2);
    snprintf(c->data.source, sizeof c->data.source, "census-kdd");
    snprintf(c->data.split, sizeof c->data.split, "given");
}

/* Train c with dataset.exclude_columns = excl. */
static kgm_status run_excluding(kgm_run_config *c, const char *excl) {
    snprintf(c->data.exclude_columns, sizeof c->data.exclude_columns, "%s", excl);
    kgm_train_opts o = {.quiet = true};
    kgm_train_result res;
    return kgm_train_run(c, &o, &res);
}

#define INCOME_GE_50K "INCOME=[50.000-75.000)|[75.000-"

/* The source column of a derived label is not an input: with noise features
 * only, the derived tasks cannot be predicted; the same data with a copy of
 * MARITAL.STATUS under another name (HINT) shows the model would learn a leak. */
Test(labels, derived_labels_keep_their_source_out_of_the_inputs, .init = setup, .timeout = 120) {
    char out[1100];
    const char *root = write_income(1200, false);
    snprintf(out, sizeof out, "%s/run-noise", tmp_dir());
    cr_assert_eq(run(root, out, INCOME_GE_50K, "MARITAL.STATUS=Married"), KGM_OK, "%s", kgm_error_message());
    double inc = test_metric(out, "income", "auc"), mar = test_metric(out, "married", "auc");
    cr_assert(inc > 0.3 && inc < 0.7, "income AUC %g on noise features: INCOME leaked into the inputs?", inc);
    cr_assert(mar > 0.3 && mar < 0.7, "married AUC %g on noise features: MARITAL.STATUS leaked?", mar);
    root = write_income(1200, true);
    snprintf(out, sizeof out, "%s/run-hint", tmp_dir());
    cr_assert_eq(run(root, out, INCOME_GE_50K, "MARITAL.STATUS=Married"), KGM_OK, "%s", kgm_error_message());
    mar = test_metric(out, "married", "auc");
    cr_assert(mar > 0.95, "married AUC %g with HINT = MARITAL.STATUS in the inputs, expected > 0.95", mar);
    tmp_cleanup();
}

static void expect_error(const char *l2, const char *want) {
    char out[1100];
    const char *root = write_income(200, false);
    snprintf(out, sizeof out, "%s/run-bad", tmp_dir());
    cr_assert_neq(run(root, out, INCOME_GE_50K, l2), KGM_OK, "label '%s' was accepted", l2);
    cr_assert(strstr(kgm_error_message(), want), "label '%s': message '%s' lacks '%s'", l2, kgm_error_message(), want);
}

Test(labels, unknown_level_is_an_error_naming_the_levels, .init = setup) {
    expect_error("MARITAL.STATUS=Maried",
                 "census.yaml:13:12: expected a level of column 'MARITAL.STATUS' in label 'MARITAL.STATUS=Maried' "
                 "(levels: ");
    cr_assert(strstr(kgm_error_message(), "'Married'") && strstr(kgm_error_message(), "), found 'Maried'"), "%s",
              kgm_error_message());
    expect_error("MARITAL.STATUS=Married|Widow", "found 'Widow'");
    expect_error("MARITAL.STATUS=", "found ''");
    expect_error("MARITAL.STATUS=Married|", "found ''");
    tmp_cleanup();
}

Test(labels, derived_label_needs_a_categorical_column, .init = setup) {
    expect_error("X=1", "census.yaml:13:12: expected a categorical column before '=' in label 'X=1', found the numeric "
                        "column 'X'");
    expect_error("NOPE=1", "no tabular column 'NOPE'");
    tmp_cleanup();
}

/* Census-Income (KDD): 42 comma-separated fields; the label sits last with a
 * trailing '.', marital_stat is field 8. */
static const char *census_head =
    "73, Not in universe, 0, 0, High school graduate, 0, Not in universe, ";
static const char *census_mid =
    ", Not in universe or children, Not in universe, White, All other, Female, Not in universe, Not in universe, Not "
    "in labor force, 0, 0, 0, Nonfiler, Not in universe, Not in universe, Other Rel 18+ ever marr not in subfamily, "
    "Other relative of householder, ";
static const char *census_tail =
    ", ?, ?, ?, Not in universe under 1 year old, ?, 0, Not in universe, "
    "United-States, United-States, United-States, Native- Born in the United States, 0, Not in universe, 2, 0, 95, ";

/* Age tracks the marital status (a learnable signal), income is noise; with
 * `weight_leak` the instance weight (field 25) gives the income away. */
static void write_census_w(const char *name, int n, int seed, bool weight_leak) {
    size_t cap = (size_t)n * 700, len = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    kgm_rng r;
    kgm_rng_init(&r, (uint64_t)seed, 0);
    static const char *ms[3] = {"Never married", "Widowed", "Married-civilian spouse present"};
    for (int i = 0; i < n; i++) {
        int m = (int)(kgm_rng_uniform(&r) * 3) % 3;
        int age = m == 0 ? 15 + i % 10 : 50 + i % 30;
        bool rich = kgm_rng_uniform(&r) < 0.3;
        double w = weight_leak ? (rich ? 3000.5 : 900.25) : 1700.09;
        len += (size_t)snprintf(buf + len, cap - len, "%d%s%s%s%.2f%s%s\n", age, census_head + 2, ms[m], census_mid, w,
                                census_tail, rich ? "50000+." : "- 50000.");
    }
    tmp_file(name, buf, len);
    free(buf);
}
static void write_census(const char *name, int n, int seed) { write_census_w(name, n, seed, false); }

Test(labels, census_kdd_derives_income_and_never_married, .init = setup, .timeout = 120) {
    const char *d = tmp_subdir("census");
    write_census("census/census-income.data", 400, 1);
    write_census("census/census-income.test", 200, 2);
    kgm_run_config c;
    char out[1100];
    snprintf(out, sizeof out, "%s/run", tmp_dir());
    census_config(&c, d, out, "income=50000+", "marital_stat=Never married");
    cr_assert_eq(run_excluding(&c, ""), KGM_OK, "%s", kgm_error_message());
    double mar = test_metric(out, "married", "auc"), inc = test_metric(out, "income", "auc");
    cr_assert(mar > 0.95, "never-married AUC %g: age separates it in this fixture", mar);
    cr_assert(inc > 0.2 && inc < 0.8, "income AUC %g: income is noise here (income leaked into the inputs?)", inc);
    /* the label values the manifest names must exist: a typo is an error */
    snprintf(c.tasks[0].label, sizeof c.tasks[0].label, "income=50000+.");
    cr_assert_neq(run_excluding(&c, ""), KGM_OK);
    const char *msg = kgm_error_message();
    cr_assert(strstr(msg, "expected a level of column 'income' in label 'income=50000+.' (levels: "), "%s", msg);
    cr_assert(strstr(msg, "'50000+'") && strstr(msg, "'- 50000'") && strstr(msg, "found '50000+.'"), "%s", msg);
    tmp_cleanup();
}

/* ---- dataset.exclude_columns --------------------------------------------------- */

/* HINT (a copy of MARITAL.STATUS) would give the married task away (see
 * derived_labels_keep_their_source_out_of_the_inputs); excluded, it cannot. */
Test(labels, exclude_columns_keeps_a_column_out_of_the_inputs, .init = setup, .timeout = 120) {
    const char *root = write_income(1200, true);
    kgm_run_config c;
    char out[1100];
    snprintf(out, sizeof out, "%s/run-excl", tmp_dir());
    income_config(&c, root, out, INCOME_GE_50K, "MARITAL.STATUS=Married");
    cr_assert_eq(run_excluding(&c, " HINT ,X"), KGM_OK, "%s", kgm_error_message());
    double mar = test_metric(out, "married", "auc");
    cr_assert(mar > 0.3 && mar < 0.7, "married AUC %g with HINT excluded: HINT is still an input?", mar);
    tmp_cleanup();
}

Test(labels, exclude_columns_unknown_name_is_an_error_listing_the_columns, .init = setup) {
    const char *root = write_income(200, true);
    kgm_run_config c;
    char out[1100];
    snprintf(out, sizeof out, "%s/run-bad", tmp_dir());
    income_config(&c, root, out, INCOME_GE_50K, "MARITAL.STATUS=Married");
    cr_assert_neq(run_excluding(&c, "HINT,instance_weight"), KGM_OK, "an unknown excluded column was accepted");
    const char *msg = kgm_error_message();
    cr_assert(strstr(msg, "dataset.exclude_columns: expected a tabular column, found 'instance_weight' (columns: 'INCOME', "
                          "'MARITAL.STATUS', 'NOISE', 'X', 'HINT'"),
              "%s", msg);
    /* on interaction data, whose tabular columns are not inputs */
    kgm_run_config w;
    kgm_run_config_default(&w);
    tu_add_task(&w, "ctr", "click", NULL);
    snprintf(w.output, sizeof w.output, "%s/run-world", tmp_dir());
    w.data.n_users = 40, w.data.n_items = 50;
    cr_assert_neq(run_excluding(&w, "age"), KGM_OK);
    cr_assert(strstr(kgm_error_message(), "dataset.exclude_columns ('age') applies to tabular data (feature columns as "
                                          "the model inputs); source 'world' gives user-item interactions"),
              "%s", kgm_error_message());
    tmp_cleanup();
}

/* census-kdd.yaml excludes instance_weight (UCI: not for classifiers): with a
 * weight that gives the income away, the income task stays at chance. */
Test(labels, census_kdd_instance_weight_excluded, .init = setup, .timeout = 120) {
    const char *d = tmp_subdir("census");
    write_census_w("census/census-income.data", 400, 1, true);
    write_census_w("census/census-income.test", 200, 2, true);
    kgm_run_config c;
    char out[1100];
    snprintf(out, sizeof out, "%s/run", tmp_dir());
    census_config(&c, d, out, "income=50000+", "marital_stat=Never married");
    cr_assert_eq(run_excluding(&c, "instance_weight"), KGM_OK, "%s", kgm_error_message());
    double inc = test_metric(out, "income", "auc");
    cr_assert(inc > 0.2 && inc < 0.8, "income AUC %g with instance_weight excluded: the weight is still an input?", inc);
    tmp_cleanup();
}

/* ---- categorical label columns need COLUMN=LEVEL ------------------------------ */

/* Level codes follow the order of first appearance in the file, so a bare
 * categorical column is no label: an error lists the levels and shows the form. */
Test(labels, categorical_label_without_level_is_an_error, .init = setup) {
    expect_error("MARITAL.STATUS", "census.yaml:13:12: label column 'MARITAL.STATUS' is categorical (levels: ");
    const char *msg = kgm_error_message();
    cr_assert(strstr(msg, "'Married'") && strstr(msg, "'Widowed'"), "%s", msg);
    cr_assert(strstr(msg, "name the level(s) that are 1, e.g. label: \"MARITAL.STATUS="), "%s", msg);
    /* two levels only (Census income): still explicit, since which one would
     * be 1 depends on the order of the file */
    const char *d = tmp_subdir("census");
    write_census("census/census-income.data", 50, 1);
    kgm_run_config c;
    char out[1100];
    snprintf(out, sizeof out, "%s/run-two", tmp_dir());
    census_config(&c, d, out, "income", "marital_stat=Never married");
    cr_assert_neq(run_excluding(&c, ""), KGM_OK, "a bare 2-level categorical label was accepted");
    msg = kgm_error_message();
    cr_assert(strstr(msg, "census.yaml:10:12: label column 'income' is categorical (levels: '"), "%s", msg);
    cr_assert(strstr(msg, "'50000+'") && strstr(msg, "'- 50000'"), "%s", msg);
    tmp_cleanup();
}
