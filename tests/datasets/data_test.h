/* Helpers for the data tests: temporary files and directories. */
#ifndef KGMTL_DATA_TEST_H
#define KGMTL_DATA_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/load.h"
#include "datasets/prep.h"
#include "datasets/dataset.h"

/* A fresh temporary directory (removed by tmp_cleanup). */
static inline const char *tmp_dir(void) {
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/kgmtl-data-test-XXXXXX");
        cr_assert_not_null(mkdtemp(dir));
    }
    return dir;
}

/* Write `content` (n bytes, or strlen if n == (size_t)-1) to DIR/name; returns the path (static ring). */
static inline const char *tmp_file(const char *name, const char *content, size_t n) {
    static char paths[8][1024];
    static int k;
    char *p = paths[k++ & 7];
    snprintf(p, 1024, "%s/%s", tmp_dir(), name);
    char *slash = strrchr(p, '/');
    if (slash && slash > p + strlen(tmp_dir())) { /* nested: create the folder */
        *slash = '\0';
        mkdir(p, 0700);
        *slash = '/';
    }
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "cannot write %s", p);
    if (n == (size_t)-1) n = strlen(content);
    fwrite(content, 1, n, f);
    fclose(f);
    return p;
}

static inline const char *tmp_subdir(const char *name) {
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmp_dir(), name);
    mkdir(p, 0700);
    return p;
}

static inline void tmp_cleanup(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir());
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir());
}

/* The shared real datasets, or NULL (tests then skip). */
static inline const char *shared_root(void) {
    static char buf[1024];
    const char *r = kgm_data_root(buf, sizeof buf);
    struct stat st;
    if (!r || stat(r, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return r;
}

#endif
