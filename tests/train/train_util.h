/* Helpers for the trainer suites: configurations built in code, temp dirs,
 * reading metrics.csv back. */
#ifndef KGMTL_TRAIN_UTIL_H
#define KGMTL_TRAIN_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kgmtl/kgmtl.h"
#include "kgmtl/config.h"
#include "kgmtl/trainer.h"

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
