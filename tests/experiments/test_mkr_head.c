/* MKR as the authors run it (issue 12, defect 10): mixer.kind none (the task
 * reads the encoder output itself), ctr head mkr (<relu-MLP(u), v'>), the
 * per-epoch schedule (a full pass over a task's rows every k-th epoch) and
 * tasks[].split none (the KG task trains on every triple). Small worlds,
 * fast (unit). */
#include <criterion/criterion.h>
#include <math.h>

#include "core/train/trainer_internal.h"
#include "datasets/gen.h"
#include "datasets/dataset.h"
#include "experiments/manifest.h"
#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

/* A small world (no social graph, no text) saved as a cache; returns its
 * training interactions and KG triples. */
static void small_world(const char *path, uint64_t seed, int64_t *n_train, int64_t *n_kg) {
    kgm_gen_world_cfg g;
    kgm_gen_world_cfg_default(&g);
    g.seed = seed;
    g.n_users = 120;
    g.n_items = 100;
    g.social_degree = 0;
    g.text_len = 0;
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_gen_world(&g, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_dataset_save(&ds, path), KGM_OK, "%s", kgm_error_message());
    *n_train = ds.split.n_train;
    *n_kg = ds.kg.n;
    kgm_dataset_destroy(&ds);
}

/* MKR's configuration on that world: ctr head mkr + (optionally) kge model
 * mkr, cross&compress L = 1, dim 8, mixer none, alternating per epoch. */
static void mkr_config(kgm_run_config *c, const char *cache, const char *out, bool with_kge) {
    kgm_run_config_default(c);
    c->seed = 5;
    snprintf(c->data.source, sizeof c->data.source, "cache");
    snprintf(c->data.path, sizeof c->data.path, "%s", cache);
    snprintf(c->data.split, sizeof c->data.split, "given");
    c->encoder.dim = 8;
    c->encoder.kg = false;
    c->encoder.cross_compress = 1;
    snprintf(c->mixer.kind, sizeof c->mixer.kind, "none");
    tu_add_task(c, "ctr", "rec", NULL);
    tu_opt(c, 0, "head", "mkr");
    if (with_kge) {
        tu_add_task(c, "kge", "kge", NULL);
        tu_opt(c, 1, "model", "mkr");
        c->tasks[1].every = 2;
        c->tasks[1].lr_mult = 0.5;
        snprintf(c->tasks[1].split, sizeof c->tasks[1].split, "none");
    }
    snprintf(c->train.mode, sizeof c->train.mode, "alternating");
    snprintf(c->train.schedule, sizeof c->train.schedule, "every_epoch");
    c->train.lr = 0.02;
    c->train.batch_size = 128;
    c->train.epochs = 4;
    c->train.threads = 1;
    c->eval.cold = false;
    snprintf(c->eval.select, sizeof c->eval.select, "rec.auc");
    snprintf(c->output, sizeof c->output, "%s", out);
}

static int32_t param_id(const kgm_params *ps, const char *name) {
    for (int32_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->p[i].name, name)) return i;
    return -1;
}

Test(mkr_head, mixer_none_has_no_parameters_and_the_head_is_mlp_u_dot_v, .init = setup, .timeout = 120) {
    char dir[128], cache[200], out[200];
    tu_tmpdir(dir, sizeof dir, "mkrhead");
    snprintf(cache, sizeof cache, "%s/w.cache", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    int64_t ntr, nkg;
    small_world(cache, 2, &ntr, &nkg);
    kgm_run_config c;
    mkr_config(&c, cache, out, true);
    kgm_trainer *tr = calloc(1, sizeof *tr);
    cr_assert_eq(kgm_trainer_setup(tr, &c, NULL), KGM_OK, "%s", kgm_error_message());
    for (int32_t i = 0; i < tr->ps->n; i++)
        cr_assert(strncmp(tr->ps->p[i].name, "mixer/", 6), "mixer.kind none declared '%s'", tr->ps->p[i].name);
    int32_t d = 8, wid = param_id(tr->ps, "rec/user_mlp.l0.w"), bid = param_id(tr->ps, "rec/user_mlp.l0.b");
    cr_assert(wid >= 0 && bid >= 0, "the MKR head declares the user MLP");
    cr_assert(param_id(tr->ps, "rec/tower.w2") < 0, "head mkr has no tower");
    /* give the bias non-zero values so that it is part of the check */
    float *bias = kgm_params_tensor(tr->ps, bid)->data;
    for (int j = 0; j < d; j++) bias[j] = 0.05f * (float)(j - 3);
    kgm_run_task *t = &tr->t[0];
    kgm_tape_set_grad(tr->tp, false);
    kgm_tape_set_training(tr->tp, false);
    int32_t users[5] = {0, 3, 7, 11, 40}, items[5] = {1, 2, 9, 30, 55};
    int64_t rows[5] = {-1, -1, -1, -1, -1};
    kgm_batch b = {.struct_size = sizeof b, .n = 5, .split = KGM_SPLIT_TEST, .row = rows, .user = users, .item = items};
    kgm_tensor *x, *p;
    cr_assert_eq(kgm_encoder_pair(&tr->enc, tr->tp, tr->ps, users, items, 5, &x), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_trainer_represent(tr, t, tr->tp, &b, &b.h), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(b.h->cols, 3 * d, "the task reads the encoder's [u, v, u*v]");
    for (int i = 0; i < 5 * 3 * d; i++) cr_assert_eq(b.h->data[i], x->data[i], "mixer none is the identity");
    cr_assert_eq(kgm_task_predict(t->ctx, tr->tp, &b, &p), KGM_OK, "%s", kgm_error_message());
    const float *W = kgm_params_tensor(tr->ps, wid)->data; /* (d, d): x W */
    for (int i = 0; i < 5; i++) {
        const float *u = x->data + (size_t)i * 3 * d, *v = u + d;
        double z = 0;
        for (int j = 0; j < d; j++) {
            double h = bias[j];
            for (int q = 0; q < d; q++) h += (double)u[q] * W[q * d + j];
            z += (h > 0 ? h : 0) * v[j];
        }
        double want = 1.0 / (1.0 + exp(-z));
        cr_assert(fabs(p->data[i] - want) < 1e-6, "row %d: predicted %.8f, by hand sigma(<relu(uW+b), v>) = %.8f", i,
                  (double)p->data[i], want);
    }
    kgm_trainer_destroy(tr);
    free(tr);
}

/* ctr head mkr behind a mixer would read mixer activations as [u, v]: refused. */
Test(mkr_head, head_mkr_needs_mixer_none_and_rejects_tower_options, .init = setup, .timeout = 120) {
    char dir[128], cache[200], out[200];
    tu_tmpdir(dir, sizeof dir, "mkrrej");
    snprintf(cache, sizeof cache, "%s/w.cache", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    int64_t ntr, nkg;
    small_world(cache, 2, &ntr, &nkg);
    kgm_run_config c;
    mkr_config(&c, cache, out, false);
    snprintf(c.mixer.kind, sizeof c.mixer.kind, "shared_bottom");
    c.mixer.bottom_hidden = 24; /* = 3d: the width alone cannot tell */
    c.mixer.tower_hidden = 0;
    kgm_train_opts o = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "mixer.kind none"), "%s", kgm_error_message());
    mkr_config(&c, cache, out, false);
    tu_opt(&c, 0, "hidden", "16");
    snprintf(c.tasks[0].opts[1].where, sizeof c.tasks[0].opts[1].where, "exp.yaml:9:14");
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "exp.yaml:9:14: option 'hidden' has no effect with head mkr"), "%s",
              kgm_error_message());
    mkr_config(&c, cache, out, false);
    snprintf(c.tasks[0].opts[0].value, sizeof c.tasks[0].opts[0].value, "tower");
    tu_opt(&c, 0, "user_layers", "2");
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "option 'user_layers' has no effect with head tower"), "%s", kgm_error_message());
    mkr_config(&c, cache, out, false); /* the rec task uses the dataset's split: split none would leak test rows */
    snprintf(c.tasks[0].split, sizeof c.tasks[0].split, "none");
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "split none is only for tasks with a split of their own"), "%s", kgm_error_message());
}

/* weights.csv with log_steps: one row per step and active task. */
static void count_steps(const char *out, int epochs, int *rec, int *kge) {
    char path[300], line[256];
    snprintf(path, sizeof path, "%s/weights.csv", out);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    memset(rec, 0, sizeof(int) * (size_t)(epochs + 1));
    memset(kge, 0, sizeof(int) * (size_t)(epochs + 1));
    while (fgets(line, sizeof line, f)) {
        long long step;
        int ep;
        char task[64];
        if (sscanf(line, "%lld,%d,%63[^,]", &step, &ep, task) != 3 || ep < 1 || ep > epochs) continue;
        if (!strcmp(task, "rec")) rec[ep]++;
        else if (!strcmp(task, "kge")) kge[ep]++;
    }
    fclose(f);
}

Test(mkr_head, every_epoch_runs_full_kg_passes_on_every_kth_epoch_over_all_triples, .init = setup, .timeout = 180) {
    char dir[128], cache[200], out[200], path[300], line[512];
    tu_tmpdir(dir, sizeof dir, "mkrsched");
    snprintf(cache, sizeof cache, "%s/w.cache", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    int64_t ntr, nkg;
    small_world(cache, 3, &ntr, &nkg);
    kgm_run_config c;
    mkr_config(&c, cache, out, true);
    c.train.log_steps = true;
    c.train.batch_size = 64;
    kgm_train_opts o = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    /* hand count: k = 2 -> the KG pass runs on epochs 1 and 3, over all triples (split none) */
    int rec[5], kge[5];
    count_steps(out, 4, rec, kge);
    int want_rec = (int)((ntr + 63) / 64), want_kge = (int)((nkg + 63) / 64);
    cr_assert_neq(want_kge, (int)((nkg - 2 * (int64_t)floor(nkg * 0.05) + 63) / 64),
                  "batch size chosen so that the default 90%% split would give another count");
    for (int e = 1; e <= 4; e++) {
        cr_assert_eq(rec[e], want_rec, "epoch %d: %d rec steps, hand count ceil(%lld / 64) = %d", e, rec[e], (long long)ntr,
                     want_rec);
        cr_assert_eq(kge[e], e % 2 == 1 ? want_kge : 0, "epoch %d: %d kge steps, hand count %d", e, kge[e],
                     e % 2 == 1 ? want_kge : 0);
    }
    /* no valid/test metrics for the KG task, and the log says why */
    cr_assert(isnan(tu_metric(out, -1, "valid", "kge", "mrr")) && isnan(tu_metric(out, -1, "test", "kge", "mrr")));
    cr_assert(!isnan(tu_metric(out, -1, "test", "rec", "auc")));
    snprintf(path, sizeof path, "%s/run.log", out);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    bool said = false;
    char want[160];
    snprintf(want, sizeof want, "task 'kge': split none: trains on all %lld rows", (long long)nkg);
    while (fgets(line, sizeof line, f)) said |= strstr(line, want) != NULL;
    fclose(f);
    cr_assert(said, "run.log says '%s'", want);
    /* selecting on the task without validation rows is refused */
    snprintf(c.eval.select, sizeof c.eval.select, "kge.mrr");
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "no selected task has validation rows"), "%s", kgm_error_message());
}

/* A manifest with `text`; returns the diagnostics joined by newlines. */
static bool load_manifest(const char *text, char *diags, size_t n) {
    char dir[128], path[200];
    tu_tmpdir(dir, sizeof dir, "mkrman");
    snprintf(path, sizeof path, "%s/m.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    kgm_status st = kgm_manifest_load(path, NULL, &dl, &m);
    diags[0] = 0;
    for (int32_t i = 0; i < dl.n; i++)
        snprintf(diags + strlen(diags), n - strlen(diags), "%s: %s\n", dl.items[i].where, dl.items[i].msg);
    kgm_diag_list_destroy(&dl);
    kgm_manifest_free(m);
    unlink(path);
    rmdir(dir);
    return st == KGM_OK;
}

Test(mkr_head, manifest_rejects_keys_without_effect) {
    char d[4096];
    cr_assert(load_manifest("mixer: {kind: none}\ntasks: [{plugin: ctr}]\n", d, sizeof d), "%s", d);
    cr_assert_not(load_manifest("mixer:\n  kind: none\n  bottom_hidden: 8\n  n_experts: 2\ntasks: [{plugin: ctr}]\n", d,
                                sizeof d));
    cr_assert(strstr(d, "m.yaml:3:18: mixer.bottom_hidden: has no effect with mixer.kind none"), "%s", d);
    cr_assert(strstr(d, "m.yaml:4:14: mixer.n_experts: has no effect with mixer.kind none"), "%s", d);
    cr_assert_not(load_manifest("tasks: [{plugin: ctr}]\noptimisation: {schedule: every_epoch}\n", d, sizeof d));
    cr_assert(strstr(d, "every_epoch needs mode: alternating"), "%s", d);
    cr_assert_not(load_manifest("tasks: [{plugin: ctr}]\noptimisation: {mode: alternating, schedule: every_epoch, "
                                "steps_per_epoch: 5}\n", d, sizeof d));
    cr_assert(strstr(d, "m.yaml:2:75: optimisation.steps_per_epoch: has no effect with schedule every_epoch"), "%s", d);
}
