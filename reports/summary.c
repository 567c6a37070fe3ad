/* Summary statistics of a results directory: final values per run, mean ±
 * std per group, deltas and paired t-tests against the baseline, summary.csv
 * and the terminal table. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/report_internal.h"

void rp_fmt(char *buf, size_t n, double v) {
    double a = fabs(v);
    if (isnan(v)) snprintf(buf, n, "—");
    else if (v == 0) snprintf(buf, n, "0");
    else if (a >= 1e5 || a < 1e-3) snprintf(buf, n, "%.3e", v);
    else if (a >= 100) snprintf(buf, n, "%.2f", v);
    else snprintf(buf, n, "%.4f", v);
}

void rp_fmt_delta(char *buf, size_t n, double d, double ref) {
    /* same decimals as the values compared, so small deltas stay readable */
    double a = fabs(ref);
    if (!isnan(d) && !isnan(ref) && a >= 1e-3 && a < 1e5 && fabs(d) < 1e5) snprintf(buf, n, "%.*f", a >= 100 ? 2 : 4, d);
    else rp_fmt(buf, n, d);
    if (buf[0] == '-' && strtod(buf, NULL) == 0) memmove(buf, buf + 1, strlen(buf)); /* no "-0.0000" */
}

FILE *rp_open_tmp(const char *path, char *tmp, size_t n) {
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    return fopen(tmp, "w");
}

kgm_status rp_commit(FILE *f, const char *tmp, const char *path) {
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    if (bad) {
        unlink(tmp);
        return KGM_ERR(KGM_ERR_IO, "%s: write failed", path);
    }
    if (rename(tmp, path) != 0) {
        kgm_status st = KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return st;
    }
    return KGM_OK;
}

/* Split order: test, valid, then the others in order of appearance; train last. */
static int split_rank(const kgm_report *r, int32_t s) {
    const char *n = r->splits.s[s];
    if (!strcmp(n, "test")) return 0;
    if (!strcmp(n, "valid")) return 1;
    if (!strcmp(n, "train")) return 1000000;
    return 2 + s;
}

int32_t rp_main_split(const kgm_report *r) {
    int32_t t = rp_find(&r->splits, "test"), v = rp_find(&r->splits, "valid");
    for (int32_t c = 0; t >= 0 && c < r->n_cols; c++)
        if (r->cols[c].split == t) return t;
    for (int32_t c = 0; v >= 0 && c < r->n_cols; c++)
        if (r->cols[c].split == v) return v;
    return r->n_cols ? r->cols[0].split : -1;
}

int32_t rp_cols_of_split(const kgm_report *r, int32_t split, int32_t *cols, int32_t cap) {
    int32_t n = 0;
    for (int32_t c = 0; c < r->n_cols && n < cap; c++)
        if (r->cols[c].split == split) cols[n++] = c;
    return n;
}

static int direction(const kgm_report *r, const kgm_report_opts *o, int32_t task, int32_t metric) {
    const char *plugin = "";
    if (task < r->task_plugin_cap && r->task_plugin && r->task_plugin[task] >= 0)
        plugin = r->plugins.s[r->task_plugin[task]];
    if (o && o->direction) {
        int d = o->direction(o->direction_user, plugin, r->metrics.s[metric]);
        if (d == 0 || d == 1) return d;
    }
    return kgm_metric_higher_is_better(r->metrics.s[metric]);
}

/* The final value of (split, task, metric) in a run: the value at the epoch of
 * the task's test evaluation when that epoch has a row, else the last row. */
static double final_value(const kgm_report *r, const rp_run *run, int32_t split, int32_t task, int32_t metric) {
    int32_t test = rp_find(&r->splits, "test");
    bool have_e = false;
    int32_t e_star = 0;
    for (int32_t i = 0; test >= 0 && i < run->nm; i++)
        if (run->m[i].split == test && run->m[i].task == task) {
            e_star = run->m[i].epoch;
            have_e = true;
        }
    double last = NAN, at = NAN;
    bool found_at = false;
    for (int32_t i = 0; i < run->nm; i++) {
        const rp_mrow *m = &run->m[i];
        if (m->split != split || m->task != task || m->metric != metric) continue;
        last = m->value;
        if (have_e && m->epoch == e_star) {
            at = m->value;
            found_at = true;
        }
    }
    return found_at ? at : last;
}

kgm_status rp_summarize(kgm_report *r, const kgm_report_opts *o) {
    int32_t nt = r->tasks.n, ns = r->splits.n, nm = r->metrics.n;
    if (nt == 0 || ns == 0 || nm == 0) return KGM_OK;
    bool *seen = calloc((size_t)nt * ns * nm, 1);
    int32_t *order = malloc((size_t)ns * sizeof *order);
    if (!seen || !order) {
        free(seen);
        free(order);
        return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    }
    for (int32_t i = 0; i < r->n_runs; i++)
        for (int32_t k = 0; k < r->runs[i].nm; k++) {
            const rp_mrow *m = &r->runs[i].m[k];
            seen[((size_t)m->task * ns + m->split) * nm + m->metric] = true;
        }
    for (int32_t s = 0; s < ns; s++) order[s] = s;
    for (int32_t a = 1; a < ns; a++) /* insertion sort by rank */
        for (int32_t b = a; b > 0 && split_rank(r, order[b]) < split_rank(r, order[b - 1]); b--) {
            int32_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    int32_t train = rp_find(&r->splits, "train");
    r->cols = calloc((size_t)nt * ns * nm, sizeof *r->cols);
    if (!r->cols) {
        free(seen);
        free(order);
        return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    }
    for (int32_t t = 0; t < nt; t++)
        for (int32_t si = 0; si < ns; si++) {
            int32_t s = order[si];
            if (s == train) continue;
            for (int32_t m = 0; m < nm; m++)
                if (seen[((size_t)t * ns + s) * nm + m])
                    r->cols[r->n_cols++] = (rp_col){t, m, s, direction(r, o, t, m)};
        }
    free(seen);
    free(order);
    int32_t nc = r->n_cols;
    r->final = malloc((size_t)(r->n_runs ? r->n_runs : 1) * (nc ? nc : 1) * sizeof *r->final);
    r->cells = calloc((size_t)(r->n_groups ? r->n_groups : 1) * (nc ? nc : 1), sizeof *r->cells);
    double *va = malloc((size_t)(r->n_runs + 1) * sizeof *va), *vb = malloc((size_t)(r->n_runs + 1) * sizeof *vb);
    if (!r->final || !r->cells || !va || !vb) {
        free(va);
        free(vb);
        return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    }
    for (int32_t i = 0; i < r->n_runs; i++)
        for (int32_t c = 0; c < nc; c++) {
            const rp_col *col = &r->cols[c];
            r->final[(size_t)i * nc + c] = r->runs[i].status == RP_DONE
                                               ? final_value(r, &r->runs[i], col->split, col->task, col->metric)
                                               : NAN;
        }
    for (int32_t c = 0; c < nc; c++) {
        for (int32_t g = 0; g < r->n_groups; g++) {
            rp_cell *cell = &r->cells[(size_t)g * nc + c];
            const rp_group *gr = &r->groups[g];
            cell->n = 0;
            size_t o2 = 0;
            for (int32_t k = 0; k < gr->n_runs; k++) {
                double v = r->final[(size_t)gr->runs[k] * nc + c];
                if (isnan(v)) continue;
                va[cell->n++] = v;
                int w = snprintf(cell->seeds + o2, sizeof cell->seeds - o2, "%s%llu", o2 ? " " : "",
                                 (unsigned long long)r->runs[gr->runs[k]].seed);
                if (w > 0 && o2 + (size_t)w < sizeof cell->seeds) o2 += (size_t)w;
            }
            cell->mean = kgm_stat_mean(va, cell->n);
            cell->std = kgm_stat_std(va, cell->n);
        }
        const rp_cell *bc = &r->cells[(size_t)r->baseline * nc + c];
        const rp_group *bg = &r->groups[r->baseline];
        for (int32_t g = 0; g < r->n_groups; g++) {
            rp_cell *cell = &r->cells[(size_t)g * nc + c];
            cell->delta = (cell->n && bc->n) ? cell->mean - bc->mean : NAN;
            cell->t = cell->p = NAN;
            if (g == r->baseline) continue;
            /* pair by seed */
            int32_t np = 0;
            const rp_group *gr = &r->groups[g];
            for (int32_t k = 0; k < gr->n_runs; k++) {
                const rp_run *ra = &r->runs[gr->runs[k]];
                double a = r->final[(size_t)gr->runs[k] * nc + c];
                if (isnan(a)) continue;
                for (int32_t j = 0; j < bg->n_runs; j++) {
                    double b = r->final[(size_t)bg->runs[j] * nc + c];
                    if (r->runs[bg->runs[j]].seed == ra->seed && !isnan(b)) {
                        va[np] = a;
                        vb[np++] = b;
                        break;
                    }
                }
            }
            cell->n_pairs = np;
            if (np >= 3) kgm_stat_paired_t(va, vb, np, &cell->t, &cell->p);
        }
        /* best mean per column, respecting the direction */
        double best = NAN;
        for (int32_t g = 0; g < r->n_groups; g++) {
            const rp_cell *cell = &r->cells[(size_t)g * nc + c];
            if (!cell->n) continue;
            if (isnan(best) || (r->cols[c].higher ? cell->mean > best : cell->mean < best)) best = cell->mean;
        }
        for (int32_t g = 0; g < r->n_groups && r->n_groups > 1; g++) {
            rp_cell *cell = &r->cells[(size_t)g * nc + c];
            cell->best = cell->n && cell->mean == best;
        }
    }
    free(va);
    free(vb);
    return KGM_OK;
}

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v) {
    fputc(',', f);
    if (!isnan(v)) {
        if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
        else fprintf(f, "%.10g", v);
    }
}

void rp_protocol(const kgm_report *r, int32_t g, char *buf, size_t n) {
    int32_t k = -1;
    buf[0] = '\0';
    for (int32_t i = 0; i < r->groups[g].n_runs; i++) {
        int32_t e = r->runs[r->groups[g].runs[i]].eval_negatives;
        if (e < 0) continue;
        if (k >= 0 && e != k) {
            snprintf(buf, n, "mixed");
            return;
        }
        k = e;
    }
    if (k == 0) snprintf(buf, n, "full");
    else if (k > 0) snprintf(buf, n, "sampled-%d", k);
}

bool rp_protocol_shared(const kgm_report *r) {
    char a[32], b[32];
    for (int32_t g = 1; g < r->n_groups; g++) {
        rp_protocol(r, 0, a, sizeof a);
        rp_protocol(r, g, b, sizeof b);
        if (strcmp(a, b)) return false;
    }
    return true;
}

kgm_status kgm_report_write_csv(const kgm_report *r, const char *path) {
    char tmp[KGM_PATH + 64];
    FILE *f = rp_open_tmp(path, tmp, sizeof tmp);
    if (!f) return KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "group,seeds,task,metric,split,mean,std,n,delta,p_value,best,protocol\n");
    for (int32_t g = 0; g < r->n_groups; g++)
        for (int32_t c = 0; c < r->n_cols; c++) {
            const rp_cell *cell = &r->cells[(size_t)g * r->n_cols + c];
            const rp_col *col = &r->cols[c];
            if (!cell->n) continue;
            csv_field(f, r->groups[g].name);
            fputc(',', f);
            csv_field(f, cell->seeds);
            fputc(',', f);
            csv_field(f, r->tasks.s[col->task]);
            fputc(',', f);
            csv_field(f, r->metrics.s[col->metric]);
            fputc(',', f);
            csv_field(f, r->splits.s[col->split]);
            csv_num(f, cell->mean);
            csv_num(f, cell->std);
            fprintf(f, ",%d", cell->n);
            csv_num(f, cell->delta);
            csv_num(f, cell->p);
            char proto[32];
            rp_protocol(r, g, proto, sizeof proto);
            fprintf(f, ",%d,%s\n", cell->best ? 1 : 0, proto);
        }
    return rp_commit(f, tmp, path);
}

/* Display width of a UTF-8 string (counts code points). */
static int u8width(const char *s) {
    int w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) w++;
    return w;
}

static void pad(FILE *f, const char *s, int width, bool right) {
    int n = width - u8width(s);
    if (right)
        for (int i = 0; i < n; i++) fputc(' ', f);
    fputs(s, f);
    if (!right)
        for (int i = 0; i < n; i++) fputc(' ', f);
}

/* Whether group g needs a "baseline" mark (not when it is already called so). */
bool rp_base_tag(const kgm_report *r, int32_t g) {
    return g == r->baseline && r->n_groups > 1 && strcmp(r->groups[g].name, "baseline") != 0;
}

/* Text of a terminal cell. */
static void cell_text(const rp_cell *cell, char *buf, size_t n) {
    char m[48], sd[48];
    rp_fmt(m, sizeof m, cell->mean);
    rp_fmt_delta(sd, sizeof sd, cell->std, cell->mean);
    if (!cell->n) snprintf(buf, n, "—");
    else if (cell->n < 2) snprintf(buf, n, "%s%s", m, cell->best ? "*" : " ");
    else snprintf(buf, n, "%s ± %s%s", m, sd, cell->best ? "*" : " ");
}

void kgm_report_print_table(const kgm_report *r, FILE *f) {
    int32_t split = rp_main_split(r);
    if (split < 0) {
        fprintf(f, "(no finished runs with metrics to summarise)\n");
        return;
    }
    int32_t *all = malloc((size_t)(r->n_cols ? r->n_cols : 1) * sizeof *all);
    int32_t *cols = malloc((size_t)(r->n_cols ? r->n_cols : 1) * sizeof *cols);
    if (!all || !cols) {
        free(all);
        free(cols);
        return;
    }
    /* a short table: the plain tasks first (variants such as "ctr@cold_items" only when room is left) */
    const int32_t max_cols = 8;
    int32_t n_all = rp_cols_of_split(r, split, all, r->n_cols), nc = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int32_t i = 0; i < n_all && nc < max_cols; i++)
            if ((strchr(r->tasks.s[r->cols[all[i]].task], '@') != NULL) == (pass == 1)) cols[nc++] = all[i];
    int gw = 5;
    for (int32_t g = 0; g < r->n_groups; g++) {
        int w = u8width(r->groups[g].name) + (rp_base_tag(r, g) ? 11 : 0);
        if (w > gw) gw = w;
    }
    if (gw > 60) gw = 60;
    fprintf(f, "%s metrics, mean ± std over seeds (* best per column)%s:\n", r->splits.s[split],
            n_all > nc ? "; more in summary.csv" : "");
    for (int32_t c0 = 0; c0 < nc;) {
        /* as many columns as fit in ~120 characters */
        int width = gw, cw[16];
        int32_t c1 = c0;
        while (c1 < nc && c1 - c0 < 16) {
            const rp_col *col = &r->cols[cols[c1]];
            char h[160], t[128];
            snprintf(h, sizeof h, "%.60s.%.60s %s", r->tasks.s[col->task], r->metrics.s[col->metric], col->higher ? "↑" : "↓");
            int w = u8width(h);
            for (int32_t g = 0; g < r->n_groups; g++) {
                cell_text(&r->cells[(size_t)g * r->n_cols + cols[c1]], t, sizeof t);
                if (u8width(t) > w) w = u8width(t);
            }
            if (c1 > c0 && width + 2 + w > 120) break;
            cw[c1 - c0] = w;
            width += 2 + w;
            c1++;
        }
        pad(f, "group", gw, false);
        for (int32_t c = c0; c < c1; c++) {
            const rp_col *col = &r->cols[cols[c]];
            char h[160];
            snprintf(h, sizeof h, "%.60s.%.60s %s", r->tasks.s[col->task], r->metrics.s[col->metric], col->higher ? "↑" : "↓");
            fputs("  ", f);
            pad(f, h, cw[c - c0], true);
        }
        fputc('\n', f);
        for (int32_t g = 0; g < r->n_groups; g++) {
            char name[200], t[128];
            snprintf(name, sizeof name, "%.*s%s", gw, r->groups[g].name,
                     rp_base_tag(r, g) ? " (baseline)" : "");
            pad(f, name, gw, false);
            for (int32_t c = c0; c < c1; c++) {
                cell_text(&r->cells[(size_t)g * r->n_cols + cols[c]], t, sizeof t);
                fputs("  ", f);
                pad(f, t, cw[c - c0], true);
            }
            fputc('\n', f);
        }
        if (c1 < nc) fputc('\n', f);
        c0 = c1;
    }
    free(all);
    free(cols);
}

void kgm_report_counts(const kgm_report *r, int32_t *runs, int32_t *done, int32_t *failed) {
    if (runs) *runs = r->n_runs;
    if (done) *done = r->n_done;
    if (failed) *failed = r->n_failed;
}

static void strs_free(rp_strs *t) {
    for (int32_t i = 0; i < t->n; i++) free(t->s[i]);
    free(t->s);
}

void kgm_report_free(kgm_report *r) {
    if (!r) return;
    for (int32_t i = 0; i < r->n_runs; i++) {
        free(r->runs[i].m);
        free(r->runs[i].w);
    }
    for (int32_t g = 0; g < r->n_groups; g++) free(r->groups[g].runs);
    free(r->runs);
    free(r->groups);
    free(r->cols);
    free(r->final);
    free(r->cells);
    free(r->task_plugin);
    strs_free(&r->tasks);
    strs_free(&r->metrics);
    strs_free(&r->splits);
    strs_free(&r->plugins);
    free(r);
}

kgm_status kgm_report_load(const char *dir, const kgm_report_opts *opts, kgm_report **out) {
    *out = NULL;
    kgm_report *r = calloc(1, sizeof *r);
    if (!r) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    size_t l = strlen(r->dir);
    while (l > 1 && r->dir[l - 1] == '/') r->dir[--l] = '\0';
    const char *base = strrchr(r->dir, '/');
    snprintf(r->title, sizeof r->title, "%.*s", (int)sizeof r->title - 1, base ? base + 1 : r->dir);
    kgm_status st = rp_load_runs(r, r->dir);
    if (st == KGM_OK) st = rp_summarize(r, opts);
    if (st != KGM_OK) {
        kgm_report_free(r);
        return st;
    }
    if (opts && opts->title) snprintf(r->title, sizeof r->title, "%s", opts->title);
    *out = r;
    return KGM_OK;
}

kgm_status kgm_report_generate(const char *dir, const kgm_report_opts *opts, FILE *table, char *html_path,
                               size_t html_path_len) {
    kgm_report *r;
    KGM_TRY(kgm_report_load(dir, opts, &r));
    char p[KGM_PATH + 32];
    snprintf(p, sizeof p, "%s/summary.csv", r->dir);
    kgm_status st = kgm_report_write_csv(r, p);
    if (st == KGM_OK) {
        snprintf(p, sizeof p, "%s/report.html", r->dir);
        st = kgm_report_write_html(r, p);
        if (st == KGM_OK && html_path) snprintf(html_path, html_path_len, "%s", p);
    }
    if (st == KGM_OK && table) kgm_report_print_table(r, table);
    kgm_report_free(r);
    return st;
}
