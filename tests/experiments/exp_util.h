/* Helpers of the experiments suites: temporary directories, files, and a
 * synthetic results tree with hand-chosen values. */
#ifndef KGMTL_EXP_UTIL_H
#define KGMTL_EXP_UTIL_H

#ifndef EU_NO_CRITERION
#include <criterion/criterion.h>
#define EU_CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)
#else /* plain programs (the browser check): print and exit */
#define EU_CHECK(cond, ...)                                                                                        \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                \
            exit(1);                                                                                               \
        }                                                                                                          \
    } while (0)
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/train/config.h"

#define EU_PATH (4 * KGM_PATH)

/* A fresh directory under $TMPDIR (or /tmp). */
static inline void eu_tmpdir(char *out, size_t n) {
    const char *t = getenv("TMPDIR");
    snprintf(out, n, "%s/kgmtl-exp-XXXXXX", t && *t ? t : "/tmp");
    EU_CHECK(mkdtemp(out) != NULL, "mkdtemp");
}

static inline void eu_mkdirs(const char *path) {
    char tmp[EU_PATH];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0777);
            *p = '/';
        }
    mkdir(tmp, 0777);
}

/* Write `text` to dir/name (creating parent directories). */
static inline void eu_write(const char *dir, const char *name, const char *text) {
    char p[EU_PATH];
    EU_CHECK(snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p, "path too long");
    char parent[EU_PATH];
    snprintf(parent, sizeof parent, "%s", p);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        eu_mkdirs(parent);
    }
    FILE *f = fopen(p, "w");
    EU_CHECK(f != NULL, "open %s", p);
    fputs(text, f);
    fclose(f);
}

static inline bool eu_exists(const char *dir, const char *name) {
    char p[EU_PATH];
    EU_CHECK(snprintf(p, sizeof p, "%s/%s", dir, name) < (int)sizeof p, "path too long");
    return access(p, F_OK) == 0;
}

/* Whole file into a heap string (NULL when missing). */
static inline char *eu_read(const char *dir, const char *name) {
    char p[EU_PATH];
    EU_CHECK((name ? snprintf(p, sizeof p, "%s/%s", dir, name) : snprintf(p, sizeof p, "%s", dir)) < (int)sizeof p,
             "path too long");
    FILE *f = fopen(p, "r");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    EU_CHECK(s != NULL, "out of memory");
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static inline void eu_rm_rf(const char *dir) {
    char cmd[KGM_PATH + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* One finished run of the synthetic tree: ctr (auc, logloss) and kge (mrr),
 * valid metrics for epochs 1..3, test at the best epoch 3, train losses and
 * per-step weights. */
static inline void eu_fake_run(const char *root, const char *rel, double test_auc, double test_logloss,
                               double valid_auc_e3, bool done) {
    char dir[EU_PATH], buf[8192];
    snprintf(dir, sizeof dir, "%s/%s", root, rel);
    eu_mkdirs(dir);
    int o = snprintf(buf, sizeof buf, "epoch,split,task,metric,value\n");
    for (int e = 1; e <= 3; e++) {
        o += snprintf(buf + o, sizeof buf - (size_t)o, "%d,train,ctr,loss,%.6f\n%d,train,kge,loss,%.6f\n", e,
                      0.7 - 0.1 * e, e, 0.3 - 0.05 * e);
        o += snprintf(buf + o, sizeof buf - (size_t)o, "%d,valid,ctr,loss,%.6f\n%d,valid,ctr,auc,%.6f\n", e,
                      0.72 - 0.08 * e, e, e == 3 ? valid_auc_e3 : valid_auc_e3 - 0.01 * (3 - e));
        o += snprintf(buf + o, sizeof buf - (size_t)o, "%d,valid,kge,mrr,%.6f\n", e, 0.2 + 0.05 * e);
    }
    o += snprintf(buf + o, sizeof buf - (size_t)o, "3,test,ctr,auc,%.6f\n3,test,ctr,logloss,%.6f\n3,test,kge,mrr,0.4\n",
                  test_auc, test_logloss);
    eu_write(dir, "metrics.csv", buf);
    o = snprintf(buf, sizeof buf, "step,epoch,task,weight,loss\n");
    for (int s = 1; s <= 30; s++)
        o += snprintf(buf + o, sizeof buf - (size_t)o, "%d,%d,ctr,%.4f,0.5\n%d,%d,kge,%.4f,0.2\n", s, (s - 1) / 10 + 1,
                      1.0 + 0.01 * s, s, (s - 1) / 10 + 1, 1.0 - 0.01 * s);
    eu_write(dir, "weights.csv", buf);
    eu_write(dir, "resolved.yaml", "name: \"x\"\ntasks:\n  - name: \"ctr\"\n    plugin: \"ctr\"\n  - name: \"kge\"\n"
                                   "    plugin: \"kge\"\n");
    if (done) eu_write(dir, "DONE", "ok\n");
}

/* A sweep of two groups (BASE_NAME, the baseline, and "alt") x seeds 1..3 with
 * the test values below (hand-computed statistics in test_report.c), plus a
 * failed (alt/seed-4) and an unfinished (alt/seed-5) run; sweep.tsv when
 * `with_sweep`. */
static inline void eu_fake_sweep(const char *dir, const char *base_name, bool with_sweep) {
    static const double base_auc[] = {0.70, 0.72, 0.74}, alt_auc[] = {0.75, 0.78, 0.78};
    static const double base_ll[] = {0.50, 0.52, 0.48}, alt_ll[] = {0.45, 0.47, 0.46};
    char rel[256];
    for (int s = 0; s < 3; s++) {
        snprintf(rel, sizeof rel, "%s/seed-%d", base_name, s + 1);
        eu_fake_run(dir, rel, base_auc[s], base_ll[s], 0.69 + 0.02 * s, true);
        snprintf(rel, sizeof rel, "alt/seed-%d", s + 1);
        eu_fake_run(dir, rel, alt_auc[s], alt_ll[s], 0.74 + 0.01 * s, true);
    }
    /* a failed and an unfinished run: listed, never averaged */
    eu_fake_run(dir, "alt/seed-4", 0.1, 9.0, 0.1, false);
    eu_write(dir, "alt/seed-4/FAILED", "numeric: step 12: task ctr: loss is NaN\n");
    eu_fake_run(dir, "alt/seed-5", 0.2, 9.0, 0.2, false);
    if (with_sweep) {
        char buf[4096];
        int o = snprintf(buf, sizeof buf, "# kgmtl sweep 1\ntitle\tsynthetic <sweep> & co\ndescription\ttest tree\n"
                                          "manifest\texp.yaml\naxis\tencoder.kg\ttrue\tfalse\n");
        for (int s = 1; s <= 3; s++)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "run\t%s\t%d\t%s/seed-%d\t1\tctr.auc=0.73,kge.mrr=0.41\n",
                          base_name, s, base_name, s);
        for (int s = 1; s <= 5; s++)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "run\talt\t%d\talt/seed-%d\t0\tctr.auc=0.73,kge.mrr=0.41\n", s, s);
        eu_write(dir, "sweep.tsv", buf);
    }
}

#endif
