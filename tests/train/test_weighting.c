/* Task weighting on OUTCOME: every method (equal, static, uncertainty,
 * GradNorm, DWA, PCGrad) and schedule (joint, alternating round_robin,
 * alternating every) must make the model learn — the training loss drops below
 * its value at initialisation and the validation metric improves — on a sparse
 * model (generated world, ctr + kge: embeddings) and on a dense one (MMoE
 * synthetic data, two regressions over a shared bottom). Plus the rules of
 * tasks[].weight, tasks[].lr_mult, negative losses under uncertainty weighting
 * and the "nothing changed in an epoch" check (docs/weighting.md). */
#include <criterion/criterion.h>
#include <math.h>

#include "train_util.h"

static void setup(void) { kgm_init_runtime(); }

typedef struct {
    double first[2], last[2]; /* task loss at the first step / mean over the last epoch */
    double w_last[2];         /* logged weight at the last step */
    double v_first, v_last;   /* selection metric at epochs 1 and last (valid) */
} outcome;

/* Sparse: ctr + kge over the tiny generated world (embedding tables). */
static void sparse_config(kgm_run_config *c, const char *out) {
    kgm_run_config_default(c);
    c->data.n_users = 150;
    c->data.n_items = 200;
    c->data.interactions_per_user = 20;
    c->encoder.dim = 16;
    c->encoder.kg = true;
    c->encoder.kg_hops = 1;
    c->mixer.bottom_hidden = 16;
    c->mixer.tower_hidden = 8;
    tu_add_task(c, "ctr", "ctr", NULL);
    tu_add_task(c, "kge", "kge", NULL);
    tu_opt(c, 0, "hidden", "8");
    c->train.epochs = 3;
    c->train.batch_size = 128;
    c->train.steps_per_epoch = 12;
    c->eval.cold = false;
    c->eval.test = false;
    c->train.log_steps = true;
    snprintf(c->output, sizeof c->output, "%s", out);
}

/* Dense: the MMoE synthetic regression pair over a shared bottom. */
static void dense_config(kgm_run_config *c, const char *out) {
    kgm_run_config_default(c);
    snprintf(c->data.source, sizeof c->data.source, "mmoe");
    c->data.mmoe_dim = 16;
    c->data.mmoe_n_train = 2000;
    c->data.mmoe_n_valid = 500;
    c->data.mmoe_n_test = 200;
    c->mixer.bottom_hidden = 16;
    c->mixer.tower_hidden = 8;
    tu_add_task(c, "rating", "t1", "y1");
    tu_add_task(c, "rating", "t2", "y2");
    tu_opt(c, 0, "hidden", "0");
    tu_opt(c, 1, "hidden", "0");
    c->train.epochs = 3;
    c->train.batch_size = 128;
    c->train.steps_per_epoch = 16;
    c->eval.cold = false;
    c->eval.test = false;
    c->train.log_steps = true;
    snprintf(c->output, sizeof c->output, "%s", out);
}

/* Per-task first-step loss, last-epoch mean loss and last weight from weights.csv. */
static void read_weights(const char *dir, const kgm_run_config *c, outcome *o) {
    char path[300], line[256];
    snprintf(path, sizeof path, "%s/weights.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no %s", path);
    double sum[2] = {0, 0};
    int n[2] = {0, 0};
    bool seen[2] = {false, false};
    while (fgets(line, sizeof line, f)) {
        long long st;
        int ep;
        char tk[64];
        double w, l;
        if (sscanf(line, "%lld,%d,%63[^,],%lf,%lf", &st, &ep, tk, &w, &l) != 5) continue;
        int k = !strcmp(tk, c->tasks[0].name) ? 0 : !strcmp(tk, c->tasks[1].name) ? 1 : -1;
        if (k < 0) continue;
        if (!seen[k]) o->first[k] = l, seen[k] = true;
        if (ep == c->train.epochs) sum[k] += l, n[k]++;
        o->w_last[k] = w;
    }
    fclose(f);
    for (int k = 0; k < 2; k++) {
        cr_assert(seen[k] && n[k] > 0, "task %d has no logged steps", k);
        o->last[k] = sum[k] / n[k];
    }
}

static void run_case(const char *weighting, const char *mode, const char *schedule, bool dense, outcome *o) {
    char dir[128], out[200];
    tu_tmpdir(dir, sizeof dir, "wout");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    if (dense) dense_config(&c, out);
    else sparse_config(&c, out);
    snprintf(c.train.weighting, sizeof c.train.weighting, "%s", weighting);
    snprintf(c.train.mode, sizeof c.train.mode, "%s", mode);
    snprintf(c.train.schedule, sizeof c.train.schedule, "%s", schedule);
    if (!strcmp(weighting, "static")) c.tasks[1].weight = 0.5;
    if (!strcmp(schedule, "every")) c.tasks[1].every = 2;
    kgm_train_opts opt = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &opt, NULL), KGM_OK, "%s/%s/%s: %s", weighting, mode, schedule, kgm_error_message());
    read_weights(out, &c, o);
    const char *task = dense ? "t1" : "ctr", *metric = dense ? "rmse" : "auc";
    o->v_first = tu_metric(out, 1, "valid", task, metric);
    o->v_last = tu_metric(out, c.train.epochs, "valid", task, metric);
}

/* The outcome every weighting must reach: both tasks' training losses fall
 * below their value at initialisation, the validation metric improves. */
static void expect_learns(const char *weighting, const char *mode, const char *schedule, bool dense) {
    outcome o;
    run_case(weighting, mode, schedule, dense, &o);
    const char *what = dense ? "dense" : "sparse";
    for (int k = 0; k < 2; k++)
        cr_expect_lt(o.last[k], 0.97 * o.first[k], "%s %s/%s/%s: task %d loss %g at init, %g in the last epoch", what,
                     weighting, mode, schedule, k, o.first[k], o.last[k]);
    if (dense)
        cr_expect_lt(o.v_last, o.v_first - 1e-3, "%s %s/%s/%s: valid rmse %g at epoch 1, %g at the end", what, weighting,
                     mode, schedule, o.v_first, o.v_last);
    else
        cr_expect_gt(o.v_last, o.v_first + 1e-3, "%s %s/%s/%s: valid auc %g at epoch 1, %g at the end", what, weighting,
                     mode, schedule, o.v_first, o.v_last);
    cr_log_info("%s %s/%s/%s: loss %.4g -> %.4g, %.4g -> %.4g; valid %.4f -> %.4f; weights %.4g %.4g", what, weighting,
                mode, schedule, o.first[0], o.last[0], o.first[1], o.last[1], o.v_first, o.v_last, o.w_last[0], o.w_last[1]);
}

#define LEARNS(name, weighting, mode, schedule)                                                                        \
    Test(learns_sparse, name, .init = setup, .timeout = 120) { expect_learns(weighting, mode, schedule, false); }    \
    Test(learns_dense, name, .init = setup, .timeout = 120) { expect_learns(weighting, mode, schedule, true); }

LEARNS(equal_joint, "equal", "joint", "round_robin")
LEARNS(static_joint, "static", "joint", "round_robin")
LEARNS(uncertainty_joint, "uncertainty", "joint", "round_robin")
LEARNS(gradnorm_joint, "gradnorm", "joint", "round_robin")
LEARNS(dwa_joint, "dwa", "joint", "round_robin")
LEARNS(pcgrad_joint, "pcgrad", "joint", "round_robin")
LEARNS(equal_round_robin, "equal", "alternating", "round_robin")
LEARNS(static_round_robin, "static", "alternating", "round_robin")
LEARNS(uncertainty_round_robin, "uncertainty", "alternating", "round_robin")
LEARNS(dwa_round_robin, "dwa", "alternating", "round_robin")
LEARNS(equal_every, "equal", "alternating", "every")
LEARNS(static_every, "static", "alternating", "every")
LEARNS(uncertainty_every, "uncertainty", "alternating", "every")
LEARNS(dwa_every, "dwa", "alternating", "every")
