/* Helpers of the experiments suites: temporary directories, files, and a
 * synthetic results tree with hand-chosen values. */
#ifndef KGMTL_EXP_UTIL_H
#define KGMTL_EXP_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kgmtl/config.h"

#define EU_PATH (4 * KGM_PATH)

/* A fresh directory under $TMPDIR (or /tmp). */
static inline void eu_tmpdir(char *out, size_t n) {
    const char *t = getenv("TMPDIR");
    snprintf(out, n, "%s/kgmtl-exp-XXXXXX", t && *t ? t : "/tmp");
    cr_assert_not_null(mkdtemp(out), "mkdtemp");
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
    cr_assert_lt(snprintf(p, sizeof p, "%s/%s", dir, name), (int)sizeof p);
    char parent[EU_PATH];
    snprintf(parent, sizeof parent, "%s", p);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        eu_mkdirs(parent);
    }
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "open %s", p);
    fputs(text, f);
    fclose(f);
}

static inline bool eu_exists(const char *dir, const char *name) {
    char p[EU_PATH];
    cr_assert_lt(snprintf(p, sizeof p, "%s/%s", dir, name), (int)sizeof p);
    return access(p, F_OK) == 0;
}

/* Whole file into a heap string (NULL when missing). */
static inline char *eu_read(const char *dir, const char *name) {
    char p[EU_PATH];
    cr_assert_lt(name ? snprintf(p, sizeof p, "%s/%s", dir, name) : snprintf(p, sizeof p, "%s", dir), (int)sizeof p);
    FILE *f = fopen(p, "r");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
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

#endif
