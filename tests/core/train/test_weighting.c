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

#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

typedef struct {
    double first[2], last[2]; /* task loss at the first step / mean over the last epoch */
    double w_first[2], w_last[2]; /* logged weight at the first / last step */
    double v_first, v_last;   /* selection metric at epochs 1 and last (valid) */
} outcome;

/* Sparse: ctr + kge over the tiny generated world (embedding tables). */
static void sparse_config(kgm_run_config *c, const char *out) {
    tu_world_config(c, out);
    c->eval.test = false;
    c->train.log_steps = true;
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
    FILE *f = tu_weights_open(dir);
    cr_assert(f, "no weights.csv in %s", dir);
    double sum[2] = {0, 0};
    int n[2] = {0, 0};
    bool seen[2] = {false, false};
    tu_wrow r;
    while (tu_weights_next(f, &r)) {
        int k = !strcmp(r.task, c->tasks[0].name) ? 0 : !strcmp(r.task, c->tasks[1].name) ? 1 : -1;
        if (k < 0) continue;
        if (!seen[k]) o->first[k] = r.loss, o->w_first[k] = r.weight, seen[k] = true;
        if (r.epoch == c->train.epochs) sum[k] += r.loss, n[k]++;
        o->w_last[k] = r.weight;
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
    if (!strcmp(weighting, "uncertainty") || !strcmp(weighting, "gradnorm") || !strcmp(weighting, "dwa"))
        cr_expect(fabs(o.w_last[0] - o.w_first[0]) > 1e-4 || fabs(o.w_last[1] - o.w_first[1]) > 1e-4,
                  "%s %s/%s/%s: the adaptive weights never moved (%g, %g)", what, weighting, mode, schedule, o.w_last[0],
                  o.w_last[1]);
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

/* ---- tasks[].weight ------------------------------------------------------------- */

/* A run of the sparse model with ctr's weight `w` under `weighting`; *st_out
 * gets the status. */
static void sparse_with_weight(double w, const char *weighting, kgm_status *st_out) {
    char dir[128], out[200];
    tu_tmpdir(dir, sizeof dir, "wgt");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    sparse_config(&c, out);
    c.tasks[0].weight = w;
    snprintf(c.train.weighting, sizeof c.train.weighting, "%s", weighting);
    kgm_train_opts opt = {.quiet = true};
    *st_out = kgm_train_run(&c, &opt, NULL);
}

/* Valid RMSE of t2 on the dense model with t2's weight `w`, weighting unset. */
static double dense_t2_rmse(double w) {
    char dir[128], out[200];
    tu_tmpdir(dir, sizeof dir, "wgt");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    dense_config(&c, out);
    c.tasks[1].weight = w;
    kgm_train_opts opt = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &opt, NULL), KGM_OK, "%s", kgm_error_message());
    return tu_metric(out, c.train.epochs, "valid", "t2", "rmse");
}

/* A weight with optimisation.weighting unset (auto) is a static weight: at
 * 1e-4 the shared bottom is fitted to t1 alone and t2 ends worse than at
 * weight 1 (t2's own head still trains: Adam rescales its small gradient).
 * On the old code both runs were identical (the weight was read only under
 * weighting: static). */
Test(weight, implies_static_weighting_when_weighting_is_unset, .init = setup, .timeout = 120) {
    double tiny = dense_t2_rmse(1e-4), one = dense_t2_rmse(1.0);
    cr_log_info("valid t2 rmse: weight 1e-4 %.4f, weight 1 %.4f", tiny, one);
    cr_expect_gt(tiny, one + 0.05, "t2 weight 1e-4 gave rmse %g, weight 1 gave %g", tiny, one);
}

/* A weight that the explicit method would ignore is refused, naming the task. */
Test(weight, refused_by_methods_that_ignore_it, .init = setup, .timeout = 60) {
    static const char *const ignore[] = {"equal", "dwa", "pcgrad"};
    for (int i = 0; i < 3; i++) {
        kgm_status st;
        sparse_with_weight(0.5, ignore[i], &st);
        cr_expect_eq(st, KGM_ERR_ARG, "%s: a weight 0.5 must be refused", ignore[i]);
        cr_expect(strstr(kgm_error_message(), "task 'ctr'") && strstr(kgm_error_message(), ignore[i]), "%s",
                  kgm_error_message());
    }
    kgm_status st;
    sparse_with_weight(0.0, "uncertainty", &st); /* an initial precision of 0 is no weight */
    cr_expect_eq(st, KGM_ERR_ARG, "uncertainty with weight 0 must be refused");
}

/* Logged weight (weights.csv) of task k at the first step. */
static double first_weight(const char *dir, const char *task) {
    FILE *f = tu_weights_open(dir);
    cr_assert(f);
    double v = NAN;
    tu_wrow r;
    while (isnan(v) && tu_weights_next(f, &r))
        if (!strcmp(r.task, task)) v = r.weight;
    fclose(f);
    return v;
}

/* uncertainty: tasks[].weight is the initial precision exp(-s_k) (the logged
 * weight of a regression task is 0.5·exp(-s_k)); gradnorm: the initial weights,
 * renormalised to sum T. Measured at the first step. */
Test(weight, initial_weight_of_uncertainty_and_gradnorm, .init = setup, .timeout = 120) {
    char dir[128], out[200];
    tu_tmpdir(dir, sizeof dir, "wini");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    dense_config(&c, out);
    c.train.epochs = 1;
    c.train.steps_per_epoch = 2;
    c.tasks[1].weight = 0.25;
    snprintf(c.train.weighting, sizeof c.train.weighting, "uncertainty");
    kgm_train_opts opt = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &opt, NULL), KGM_OK, "%s", kgm_error_message());
    cr_expect_float_eq(first_weight(out, "t1"), 0.5, 1e-6);
    cr_expect_float_eq(first_weight(out, "t2"), 0.5 * 0.25, 1e-6);
    snprintf(c.train.weighting, sizeof c.train.weighting, "gradnorm");
    c.tasks[0].weight = 3.0;
    c.tasks[1].weight = 1.0;
    c.train.lr = 1e-6; /* GradNorm's own weight step (lr · |grad|) stays negligible */
    cr_assert_eq(kgm_train_run(&c, &opt, NULL), KGM_OK, "%s", kgm_error_message());
    cr_expect_float_eq(first_weight(out, "t1"), 1.5, 1e-3);
    cr_expect_float_eq(first_weight(out, "t2"), 0.5, 1e-3);
}

/* ---- tasks[].lr_mult in joint mode ------------------------------------------------ */

/* t2's own parameters (its head and tower) at lr_mult 1e-3 barely move in
 * joint mode, so t2 fits worse while t1 is unaffected in kind; on the old
 * code lr_mult was ignored in joint mode and both runs were identical. */
Test(lr_mult, scales_the_task_parameters_in_joint_mode, .init = setup, .timeout = 120) {
    char dir[128], a[200], b[200];
    tu_tmpdir(dir, sizeof dir, "lrm");
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    kgm_run_config c;
    dense_config(&c, a);
    kgm_train_opts opt = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &opt, NULL), KGM_OK, "%s", kgm_error_message());
    c.tasks[1].lr_mult = 1e-3;
    snprintf(c.output, sizeof c.output, "%s", b);
    cr_assert_eq(kgm_train_run(&c, &opt, NULL), KGM_OK, "%s", kgm_error_message());
    double fa = tu_metric(a, 3, "valid", "t2", "rmse"), fb = tu_metric(b, 3, "valid", "t2", "rmse");
    double ga = tu_metric(a, 3, "valid", "t1", "rmse"), gb = tu_metric(b, 3, "valid", "t1", "rmse");
    cr_log_info("valid t2 rmse: lr_mult 1 %.4f, 1e-3 %.4f; t1: %.4f, %.4f", fa, fb, ga, gb);
    cr_expect_gt(fb, fa + 0.05, "t2 at lr_mult 1e-3: rmse %g, at 1: %g", fb, fa);
}

/* ---- negative losses under uncertainty weighting ----------------------------------- */

/* MKR's KGE loss -σ(score) is negative: exp(-s)·L + s/2 then has no minimum
 * (the old code let its weight grow 1 -> 486 over 20 epochs). Refused with a
 * message naming the task; the same run with weighting static trains. */
Test(uncertainty, refuses_a_negative_loss, .init = setup, .timeout = 120) {
    char dir[128], out[200];
    tu_tmpdir(dir, sizeof dir, "uneg");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    sparse_config(&c, out);
    tu_opt(&c, 1, "model", "mkr");
    tu_opt(&c, 1, "loss", "score");
    snprintf(c.train.weighting, sizeof c.train.weighting, "uncertainty");
    kgm_train_opts opt = {.quiet = true};
    kgm_status st = kgm_train_run(&c, &opt, NULL);
    cr_expect_eq(st, KGM_ERR_ARG, "a negative loss under uncertainty weighting must be refused");
    cr_expect(strstr(kgm_error_message(), "task 'kge'") && strstr(kgm_error_message(), "< 0"), "%s", kgm_error_message());
    snprintf(c.train.weighting, sizeof c.train.weighting, "static");
    cr_expect_eq(kgm_train_run(&c, &opt, NULL), KGM_OK, "%s", kgm_error_message());
}

/* ---- an epoch that changes nothing ------------------------------------------------- */

/* Every task at static weight 0: all gradients are exactly 0, Adam moves
 * nothing, and the run must fail after the first epoch, naming the weighting,
 * instead of reporting an untrained model. */
Test(trainer_check, an_epoch_that_changes_no_parameter_fails_the_run, .init = setup, .timeout = 60) {
    char dir[128], out[200], path[260];
    tu_tmpdir(dir, sizeof dir, "still");
    snprintf(out, sizeof out, "%s/run", dir);
    kgm_run_config c;
    dense_config(&c, out);
    c.tasks[0].weight = c.tasks[1].weight = 0.0;
    snprintf(c.train.weighting, sizeof c.train.weighting, "static");
    kgm_train_opts opt = {.quiet = true};
    kgm_status st = kgm_train_run(&c, &opt, NULL);
    cr_expect_eq(st, KGM_ERR_NUMERIC, "got %d: %s", st, kgm_error_message());
    cr_expect(strstr(kgm_error_message(), "no trainable parameter changed") && strstr(kgm_error_message(), "static") &&
                  strstr(kgm_error_message(), "epoch 1"),
              "%s", kgm_error_message());
    snprintf(path, sizeof path, "%s/DONE", out);
    cr_expect_neq(access(path, F_OK), 0, "a run that trained nothing must not be marked done");
    /* every parameter frozen under pcgrad: an error, not a crash (the per-task
     * backward passes seeded a loss that has no gradient) */
    snprintf(c.train.frozen, sizeof c.train.frozen, "mixer,t1,t2");
    c.tasks[0].weight = c.tasks[1].weight = 1.0;
    snprintf(c.train.weighting, sizeof c.train.weighting, "pcgrad");
    st = kgm_train_run(&c, &opt, NULL);
    cr_expect_neq(st, KGM_OK, "a run with every parameter frozen must fail");
    cr_log_info("all frozen, pcgrad: %s", kgm_error_message());
}
