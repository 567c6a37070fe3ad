/* Helpers for the trainer suites: configurations built in code, temp dirs,
 * reading metrics.csv back. */
#ifndef KGMTL_TRAIN_UTIL_H
#define KGMTL_TRAIN_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kgmtl/kgmtl.h"
#include "core/train/config.h"
#include "core/train/trainer.h"

static inline void tu_tmpdir(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/kgmtl-test-%s-XXXXXX", tag);
    if (!mkdtemp(buf)) abort();
}

static inline void tu_add_task(kgm_run_config *c, const char *plugin, const char *name, const char *label) {
    kgm_task_spec *t = &c->tasks[c->n_tasks++];
    kgm_task_spec_default(t);
    snprintf(t->plugin, sizeof t->plugin, "%s", plugin);
    snprintf(t->name, sizeof t->name, "%s", name);
    if (label) snprintf(t->label, sizeof t->label, "%s", label);
}

static inline void tu_opt(kgm_run_config *c, int task, const char *k, const char *v) {
    kgm_task_spec *t = &c->tasks[task];
    kgm_opt_entry *e = &t->opts[t->n_opts++];
    snprintf(e->key, sizeof e->key, "%s", k);
    snprintf(e->value, sizeof e->value, "%s", v);
}

/* The tiny generated world with ctr + kge (embedding tables, a KG encoder,
 * a shared bottom): 3 epochs of 12 steps, output in `out`. */
static inline void tu_world_config(kgm_run_config *c, const char *out) {
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
    snprintf(c->output, sizeof c->output, "%s", out);
}

/* One row of weights.csv (step,epoch,task,weight,loss). */
typedef struct {
    long long step;
    int epoch;
    char task[64];
    double weight, loss;
} tu_wrow;

/* <dir>/weights.csv opened for tu_weights_next, NULL if absent. */
static inline FILE *tu_weights_open(const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/weights.csv", dir);
    return fopen(path, "r");
}

/* The next data row of an opened weights.csv; false at the end. */
static inline bool tu_weights_next(FILE *f, tu_wrow *r) {
    char line[512];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lld,%d,%63[^,],%lf,%lf", &r->step, &r->epoch, r->task, &r->weight, &r->loss) == 5) return true;
    return false;
}

/* Value of (split, task, metric) at the given epoch (-1 = last row found) in
 * <dir>/metrics.csv; NAN if absent. */
static inline double tu_metric(const char *dir, int epoch, const char *split, const char *task, const char *metric) {
    char path[1200], line[512];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "r");
    double v = 0.0 / 0.0;
    if (!f) return v;
    while (fgets(line, sizeof line, f)) {
        char sp[32], tk[128], me[64];
        int ep;
        double val;
        if (sscanf(line, "%d,%31[^,],%127[^,],%63[^,],%lf", &ep, sp, tk, me, &val) == 5 && strcmp(sp, split) == 0 &&
            strcmp(tk, task) == 0 && strcmp(me, metric) == 0 && (epoch < 0 || ep == epoch))
            v = val;
    }
    fclose(f);
    return v;
}

#endif
