/* The files of a run directory that resume relies on: strict CSV reading and
 * the DONE marker. See core/train/rundir.h. */
#include "core/train/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/train/checkpoint.h"

static const char *const csv_header[] = {"epoch,split,task,metric,value", "step,epoch,task,weight,loss"};
/* field types, one letter per column: i integer, s split name, n name, f number */
static const char *const csv_types[] = {"isnnf", "iinff"};
static const int csv_epoch_field[] = {0, 1};

/* Does the field [p, e) hold a value of type t? */
static bool field_ok(char t, const char *p, const char *e) {
    size_t n = (size_t)(e - p);
    if (n == 0) return false;
    char buf[128];
    if (n >= sizeof buf) return t == 'n';
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    switch (t) {
    case 'i': {
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        return !*end && errno == 0 && v >= 0;
    }
    case 'f':
        strtod(buf, &end); /* nan / inf are legitimate values (a diverged loss) */
        return !*end;
    case 's': return !strcmp(buf, "train") || !strcmp(buf, "valid") || !strcmp(buf, "test");
    default: return !strpbrk(buf, " \t\r\"");
    }
}

/* Check one data row (without its newline); its epoch into *epoch. */
static kgm_status csv_row(const char *path, int64_t ln, kgm_csv_kind kind, const char *line, int64_t *epoch) {
    const char *types = csv_types[kind], *p = line;
    for (int k = 0; k < 5; k++) {
        const char *e = k < 4 ? strchr(p, ',') : p + strlen(p);
        if (!e || (k == 4 && strchr(p, ',')))
            return kgm_error_at(KGM_ERR_FORMAT, path, ln, "expected 5 comma-separated fields (%s), found '%.80s'",
                                csv_header[kind], line);
        if (!field_ok(types[k], p, e))
            return kgm_error_at(KGM_ERR_FORMAT, path, ln, "field %d of '%.80s' is not %s", k + 1, line,
                                types[k] == 'i' ? "a non-negative integer" : types[k] == 'f' ? "a number"
                                : types[k] == 's' ? "train, valid or test" : "a name");
        if (k == csv_epoch_field[kind]) *epoch = strtoll(p, NULL, 10);
        p = e + 1;
    }
    return KGM_OK;
}

static kgm_status open_regular(const char *path, FILE **out) {
    struct stat sb;
    if (stat(path, &sb) != 0) return KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return KGM_ERR(KGM_ERR_IO, "%s: expected a regular file, found %s", path,
                                             S_ISDIR(sb.st_mode) ? "a directory" : "another kind of file");
    *out = fopen(path, "r");
    if (!*out) return KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
    return KGM_OK;
}

/* Append s to the heap string *b. */
static bool append(char **b, size_t *len, size_t *cap, const char *s, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 4096) + n;
        char *nb = realloc(*b, nc);
        if (!nb) return false;
        *b = nb;
        *cap = nc;
    }
    memcpy(*b + *len, s, n);
    *len += n;
    (*b)[*len] = '\0';
    return true;
}

kgm_status kgm_rundir_read_csv(const char *path, kgm_csv_kind kind, int64_t max_epoch, char **rows, int64_t *n_rows,
                               int64_t *last_epoch) {
    if (rows) *rows = NULL;
    FILE *f;
    KGM_TRY(open_regular(path, &f));
    char *line = NULL, *out = NULL;
    size_t lcap = 0, len = 0, cap = 0;
    int64_t ln = 0, n = 0, last = 0;
    kgm_status st = KGM_OK;
    ssize_t got;
    while (st == KGM_OK && (got = getline(&line, &lcap, f)) >= 0) {
        ln++;
        if (got == 0 || line[got - 1] != '\n') {
            st = kgm_error_at(KGM_ERR_FORMAT, path, ln, "the last line '%.80s' has no newline (the file was cut short)",
                              line);
            break;
        }
        line[got - 1] = '\0';
        if (ln == 1) {
            if (strcmp(line, csv_header[kind]) != 0)
                st = kgm_error_at(KGM_ERR_FORMAT, path, 1, "expected the header '%s', found '%.80s'", csv_header[kind], line);
            continue;
        }
        int64_t epoch = 0;
        if ((st = csv_row(path, ln, kind, line, &epoch))) break;
        n++;
        if (epoch > last) last = epoch;
        line[got - 1] = '\n';
        if (rows && epoch <= max_epoch && !append(&out, &len, &cap, line, (size_t)got))
            st = KGM_ERR(KGM_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == KGM_OK && ln == 0) st = kgm_error_at(KGM_ERR_FORMAT, path, 1, "empty file, expected the header '%s'", csv_header[kind]);
    if (st == KGM_OK && ferror(f)) st = KGM_ERR(KGM_ERR_IO, "%s: read error", path);
    fclose(f);
    free(line);
    if (st != KGM_OK) {
        free(out);
        return st;
    }
    if (rows) *rows = out;
    else free(out);
    if (n_rows) *n_rows = n;
    if (last_epoch) *last_epoch = last;
    return KGM_OK;
}

kgm_status kgm_rundir_write_atomic(const char *path, const char *data, size_t n) {
    char tmp[KGM_PATH + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return KGM_ERR(KGM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, n, f) == n;
    ok = fflush(f) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        kgm_status st = KGM_ERR(KGM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
        return st;
    }
    return KGM_OK;
}

/* What DONE records about the run's files. */
typedef struct {
    int64_t metrics_rows;
    bool has_best;
    uint64_t best_sum;
} done_files;

static kgm_status describe_files(const char *dir, done_files *d) {
    char p[KGM_PATH + 32];
    memset(d, 0, sizeof *d);
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    KGM_TRY(kgm_rundir_read_csv(p, KGM_CSV_METRICS, 0, NULL, &d->metrics_rows, NULL));
    snprintf(p, sizeof p, "%s/best.ckpt", dir);
    struct stat sb;
    if (lstat(p, &sb) != 0) return KGM_OK; /* no epoch improved the selection metric */
    kgm_ckpt_info info;
    KGM_TRY(kgm_checkpoint_info(p, &info));
    d->has_best = true;
    d->best_sum = info.checksum;
    return KGM_OK;
}

kgm_status kgm_rundir_write_done(const char *dir, uint64_t config_hash) {
    done_files d;
    KGM_TRY(describe_files(dir, &d));
    char text[256], best[32] = "none", p[KGM_PATH + 32];
    if (d.has_best) snprintf(best, sizeof best, "%016llx", (unsigned long long)d.best_sum);
    int n = snprintf(text, sizeof text, "ok\nconfig_hash %016llx\nmetrics_rows %lld\nbest_ckpt %s\n",
                     (unsigned long long)config_hash, (long long)d.metrics_rows, best);
    snprintf(p, sizeof p, "%s/DONE", dir);
    return kgm_rundir_write_atomic(p, text, (size_t)n);
}

/* Parse DONE; false when a field is missing. */
static bool read_done(FILE *f, uint64_t *hash, int64_t *rows, bool *has_best, uint64_t *best) {
    char line[256], word[32], val[64];
    int seen = 0;
    if (!fgets(line, sizeof line, f) || strcmp(line, "ok\n") != 0) return false;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%31s %63s", word, val) != 2) return false;
        char *end;
        if (!strcmp(word, "config_hash")) *hash = strtoull(val, &end, 16), seen |= *end ? 0 : 1;
        else if (!strcmp(word, "metrics_rows")) *rows = strtoll(val, &end, 10), seen |= *end ? 0 : 2;
        else if (!strcmp(word, "best_ckpt")) {
            *has_best = strcmp(val, "none") != 0;
            *best = *has_best ? strtoull(val, &end, 16) : 0;
            seen |= (*has_best && *end) ? 0 : 4;
        }
    }
    return seen == 7;
}

kgm_status kgm_rundir_check_done(const char *dir, uint64_t config_hash) {
    char p[KGM_PATH + 32];
    snprintf(p, sizeof p, "%s/DONE", dir);
    FILE *f;
    KGM_TRY(open_regular(p, &f));
    uint64_t hash = 0, best = 0;
    int64_t rows = -1;
    bool has_best = false, ok = read_done(f, &hash, &rows, &has_best, &best);
    fclose(f);
    if (!ok)
        return KGM_ERR(KGM_ERR_STATE, "%s records no configuration hash (written by an older kgmtl or edited): its "
                                      "configuration cannot be checked", p);
    if (hash != config_hash)
        return KGM_ERR(KGM_ERR_STATE, "the configuration changed (the run was made with config hash %016llx, the "
                                      "manifest now gives %016llx)", (unsigned long long)hash, (unsigned long long)config_hash);
    done_files d;
    if (describe_files(dir, &d) != KGM_OK) return KGM_ERR_STATE; /* keeps describe_files' message */
    if (d.metrics_rows != rows)
        return KGM_ERR(KGM_ERR_STATE, "%s/metrics.csv has %lld rows, the finished run wrote %lld (truncated or edited)",
                       dir, (long long)d.metrics_rows, (long long)rows);
    if (has_best && !d.has_best) return KGM_ERR(KGM_ERR_STATE, "%s/best.ckpt is missing (the run's best model)", dir);
    if (has_best && d.best_sum != best)
        return KGM_ERR(KGM_ERR_STATE, "%s/best.ckpt is not the file the run wrote (checksum %016llx, recorded %016llx)",
                       dir, (unsigned long long)d.best_sum, (unsigned long long)best);
    return KGM_OK;
}
