/* Reading a results directory: sweep.tsv (or discovery), and per run
 * metrics.csv, weights.csv, resolved.yaml, DONE / FAILED. */
#include <dirent.h>
#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/report_internal.h"

int32_t rp_find(const rp_strs *t, const char *s) {
    for (int32_t i = 0; i < t->n; i++)
        if (!strcmp(t->s[i], s)) return i;
    return -1;
}

int32_t rp_intern(rp_strs *t, const char *s) {
    int32_t i = rp_find(t, s);
    if (i >= 0) return i;
    if (t->n == t->cap) {
        int32_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->s, (size_t)cap * sizeof *p);
        if (!p) return -1;
        t->s = p;
        t->cap = cap;
    }
    t->s[t->n] = strdup(s);
    return t->s[t->n] ? t->n++ : -1;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static rp_run *add_run(kgm_report *r, const char *group, uint64_t seed, const char *rel) {
    int32_t g = 0;
    while (g < r->n_groups && strcmp(r->groups[g].name, group)) g++;
    if (g == r->n_groups) {
        if (r->n_groups == r->groups_cap) {
            int32_t cap = r->groups_cap ? r->groups_cap * 2 : 8;
            rp_group *p = realloc(r->groups, (size_t)cap * sizeof *p);
            if (!p) return NULL;
            r->groups = p;
            r->groups_cap = cap;
        }
        memset(&r->groups[g], 0, sizeof r->groups[g]);
        snprintf(r->groups[g].name, sizeof r->groups[g].name, "%s", group);
        r->n_groups++;
    }
    if (r->n_runs == r->runs_cap) {
        int32_t cap = r->runs_cap ? r->runs_cap * 2 : 16;
        rp_run *p = realloc(r->runs, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        r->runs = p;
        r->runs_cap = cap;
    }
    rp_group *gr = &r->groups[g];
    int32_t *gr_runs = realloc(gr->runs, (size_t)(gr->n_runs + 1) * sizeof *gr_runs);
    if (!gr_runs) return NULL;
    gr->runs = gr_runs;
    gr->runs[gr->n_runs++] = r->n_runs;
    rp_run *run = &r->runs[r->n_runs++];
    memset(run, 0, sizeof *run);
    run->eval_negatives = -1;
    run->group = g;
    run->seed = seed;
    snprintf(run->rel, sizeof run->rel, "%s", rel);
    return run;
}

static const char *file_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* ---- CSV ---- */

/* Split a CSV line in place (double quotes, "" escapes); returns the field count. */
static int csv_split(char *line, char **f, int cap) {
    int n = 0;
    char *p = line;
    size_t len = strlen(p);
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) p[--len] = '\0';
    for (;;) {
        if (n == cap) return n;
        if (*p == '"') {
            char *o = ++p;
            f[n++] = o;
            while (*p) {
                if (*p == '"' && p[1] == '"') {
                    *o++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else *o++ = *p++;
            }
            char *comma = strchr(p, ',');
            *o = '\0';
            if (!comma) return n;
            p = comma + 1;
        } else {
            f[n++] = p;
            char *comma = strchr(p, ',');
            if (!comma) return n;
            *comma = '\0';
            p = comma + 1;
        }
    }
}

typedef void (*csv_row_fn)(kgm_report *r, rp_run *run, char **fields);

/* Read `path` with a header; the columns named in `want` are passed to fn in
 * that order. A missing column or a short row is noted in run->note. */
static void csv_read(kgm_report *r, rp_run *run, const char *path, const char *const *want, int nwant, csv_row_fn fn) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    int col[8], nbad = 0;
    char *fields[64], *row[8] = {0};
    long lineno = 0;
    if (getline(&line, &cap, f) < 0) goto done;
    lineno++;
    int nf = csv_split(line, fields, 64);
    for (int i = 0; i < nwant; i++) {
        col[i] = -1;
        for (int j = 0; j < nf; j++)
            if (!strcmp(fields[j], want[i])) col[i] = j;
        if (col[i] < 0) {
            snprintf(run->note, sizeof run->note, "%.64s: no column '%s' in the header", file_name(path), want[i]);
            goto done;
        }
    }
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        if (line[0] == '\n' || line[0] == '\0') continue;
        nf = csv_split(line, fields, 64);
        bool ok = true;
        for (int i = 0; i < nwant; i++) {
            if (col[i] >= nf) ok = false;
            else row[i] = fields[col[i]];
        }
        if (!ok) {
            if (!nbad++) snprintf(run->note, sizeof run->note, "%.64s:%ld: short row skipped", file_name(path), lineno);
            continue;
        }
        fn(r, run, row);
    }
    if (nbad > 1) {
        size_t l = strlen(run->note);
        snprintf(run->note + l, sizeof run->note - l, " (%d short rows in all)", nbad);
    }
done:
    free(line);
    fclose(f);
}

static double parse_num(const char *s) {
    char *end;
    double v = strtod(s, &end);
    return (end == s) ? NAN : v;
}

static void metrics_row(kgm_report *r, rp_run *run, char **f) {
    if (run->nm == run->mcap) {
        int32_t cap = run->mcap ? run->mcap * 2 : 64;
        rp_mrow *p = realloc(run->m, (size_t)cap * sizeof *p);
        if (!p) return;
        run->m = p;
        run->mcap = cap;
    }
    rp_mrow *m = &run->m[run->nm];
    m->epoch = (int32_t)strtol(f[0], NULL, 10);
    m->split = rp_intern(&r->splits, f[1]);
    m->task = rp_intern(&r->tasks, f[2]);
    m->metric = rp_intern(&r->metrics, f[3]);
    m->value = parse_num(f[4]);
    if (m->split >= 0 && m->task >= 0 && m->metric >= 0) run->nm++;
}

static void weights_row(kgm_report *r, rp_run *run, char **f) {
    if (run->nw == run->wcap) {
        int32_t cap = run->wcap ? run->wcap * 2 : 64;
        rp_wrow *p = realloc(run->w, (size_t)cap * sizeof *p);
        if (!p) return;
        run->w = p;
        run->wcap = cap;
    }
    rp_wrow *w = &run->w[run->nw];
    w->step = strtoll(f[0], NULL, 10);
    w->epoch = (int32_t)strtol(f[1], NULL, 10);
    w->task = rp_intern(&r->tasks, f[2]);
    w->weight = parse_num(f[3]);
    w->loss = parse_num(f[4]);
    if (w->task >= 0) run->nw++;
}

/* ---- resolved.yaml: task -> plugin (and published when no sweep.tsv) ---- */

static void read_resolved(kgm_report *r, rp_run *run, const char *path) {
    if (!exists(path)) return;
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET};
    struct fy_document *doc = fy_document_build_from_file(&cfg, path);
    if (!doc) {
        snprintf(run->note, sizeof run->note, "%.64s: not valid YAML", file_name(path));
        return;
    }
    struct fy_node *root = fy_document_root(doc);
    struct fy_node *tasks = root ? fy_node_mapping_lookup_by_string(root, "tasks", FY_NT) : NULL;
    int n = tasks && fy_node_is_sequence(tasks) ? fy_node_sequence_item_count(tasks) : 0;
    for (int i = 0; i < n; i++) {
        struct fy_node *t = fy_node_sequence_get_by_index(tasks, i);
        struct fy_node *nm = t ? fy_node_mapping_lookup_by_string(t, "name", FY_NT) : NULL;
        struct fy_node *pl = t ? fy_node_mapping_lookup_by_string(t, "plugin", FY_NT) : NULL;
        const char *name = nm && fy_node_is_scalar(nm) ? fy_node_get_scalar0(nm) : NULL;
        const char *plugin = pl && fy_node_is_scalar(pl) ? fy_node_get_scalar0(pl) : NULL;
        if (!name || !plugin) continue;
        int32_t ti = rp_intern(&r->tasks, name), pi = rp_intern(&r->plugins, plugin);
        if (ti < 0 || pi < 0) continue;
        if (ti >= r->task_plugin_cap) {
            int32_t cap = ti + 16;
            int32_t *p = realloc(r->task_plugin, (size_t)cap * sizeof *p);
            if (!p) continue;
            for (int32_t k = r->task_plugin_cap; k < cap; k++) p[k] = -1;
            r->task_plugin = p;
            r->task_plugin_cap = cap;
        }
        r->task_plugin[ti] = pi;
    }
    struct fy_node *data = root ? fy_node_mapping_lookup_by_string(root, "dataset", FY_NT) : NULL;
    struct fy_node *en = data ? fy_node_mapping_lookup_by_string(data, "eval_negatives", FY_NT) : NULL;
    const char *ens = en && fy_node_is_scalar(en) ? fy_node_get_scalar0(en) : NULL;
    if (ens) {
        char *end;
        long k = strtol(ens, &end, 10);
        if (*ens && !*end && k >= 0 && k <= INT32_MAX) run->eval_negatives = (int32_t)k;
    }
    if (!run->published[0]) {
        struct fy_node *pub = root ? fy_node_mapping_lookup_by_string(root, "published", FY_NT) : NULL;
        const char *s = pub && fy_node_is_scalar(pub) ? fy_node_get_scalar0(pub) : NULL;
        if (s) snprintf(run->published, sizeof run->published, "%s", s);
    }
    fy_document_destroy(doc);
}

static void read_run(kgm_report *r, rp_run *run) {
    char base[2 * KGM_PATH + 2], p[3 * KGM_PATH];
    if (!strcmp(run->rel, ".")) snprintf(base, sizeof base, "%s", r->dir);
    else snprintf(base, sizeof base, "%s/%s", r->dir, run->rel);
    snprintf(p, sizeof p, "%s/DONE", base);
    if (exists(p)) run->status = RP_DONE;
    else {
        snprintf(p, sizeof p, "%s/FAILED", base);
        FILE *f = fopen(p, "r");
        if (f) {
            run->status = RP_FAILED;
            size_t n = fread(run->error, 1, sizeof run->error - 1, f);
            run->error[n] = '\0';
            while (n && (run->error[n - 1] == '\n' || run->error[n - 1] == ' ')) run->error[--n] = '\0';
            fclose(f);
        } else run->status = RP_INCOMPLETE;
    }
    static const char *const mcols[] = {"epoch", "split", "task", "metric", "value"};
    static const char *const wcols[] = {"step", "epoch", "task", "weight", "loss"};
    snprintf(p, sizeof p, "%s/metrics.csv", base);
    csv_read(r, run, p, mcols, 5, metrics_row);
    snprintf(p, sizeof p, "%s/weights.csv", base);
    csv_read(r, run, p, wcols, 5, weights_row);
    snprintf(p, sizeof p, "%s/resolved.yaml", base);
    read_resolved(r, run, p);
}

/* ---- sweep.tsv ---- */

static char *tsv_next(char **p) {
    if (!*p) return NULL;
    char *s = *p, *tab = strchr(s, '\t');
    if (tab) {
        *tab = '\0';
        *p = tab + 1;
    } else *p = NULL;
    size_t l = strlen(s);
    while (l && (s[l - 1] == '\n' || s[l - 1] == '\r')) s[--l] = '\0';
    return s;
}

static kgm_status read_sweep(kgm_report *r, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    kgm_status st = KGM_OK;
    int32_t base_group = -1;
    while (getline(&line, &cap, f) >= 0) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *p = line, *kind = tsv_next(&p);
        if (!strcmp(kind, "title") || !strcmp(kind, "description") || !strcmp(kind, "manifest")) {
            char *v = tsv_next(&p);
            if (!v) continue;
            if (!strcmp(kind, "title")) snprintf(r->title, sizeof r->title, "%s", v);
            else if (!strcmp(kind, "description")) snprintf(r->description, sizeof r->description, "%s", v);
            else snprintf(r->manifest, sizeof r->manifest, "%s", v);
        } else if (!strcmp(kind, "run")) {
            char *group = tsv_next(&p), *seed = tsv_next(&p), *rel = tsv_next(&p), *baseline = tsv_next(&p),
                 *pub = tsv_next(&p);
            if (!group || !seed || !rel) continue;
            rp_run *run = add_run(r, group, strtoull(seed, NULL, 10), rel);
            if (!run) {
                st = KGM_ERR(KGM_ERR_NOMEM, "out of memory");
                break;
            }
            if (pub) snprintf(run->published, sizeof run->published, "%s", pub);
            if (baseline && !strcmp(baseline, "1") && base_group < 0) base_group = run->group;
        }
    }
    free(line);
    fclose(f);
    r->baseline = base_group >= 0 ? base_group : 0;
    return st;
}

/* ---- discovery ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool seed_dir(const char *name, uint64_t *seed) {
    if (strncmp(name, "seed-", 5) || !name[5]) return false;
    char *end;
    *seed = strtoull(name + 5, &end, 10);
    return !*end;
}

/* Sorted names of the subdirectories of `dir` (caller frees). */
static int32_t list_dirs(const char *dir, char ***out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int32_t n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char p[2 * KGM_PATH];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!is_dir(p)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) break;
            v = nv;
        }
        v[n] = strdup(e->d_name);
        if (v[n]) n++;
    }
    closedir(d);
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, int32_t n) {
    for (int32_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Seeds sort numerically within a group. */
static int cmp_seed_name(const void *a, const void *b) {
    uint64_t x = 0, y = 0;
    seed_dir(*(char *const *)a, &x);
    seed_dir(*(char *const *)b, &y);
    return x < y ? -1 : x > y;
}

static kgm_status discover(kgm_report *r, const char *dir) {
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    if (exists(p)) {
        return add_run(r, "default", 0, ".") ? KGM_OK : KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    }
    char **top;
    int32_t nt = list_dirs(dir, &top);
    /* seed-N directly below: one group */
    char **seeds = calloc((size_t)(nt ? nt : 1), sizeof *seeds);
    int32_t ns = 0;
    for (int32_t i = 0; seeds && i < nt; i++) {
        uint64_t s;
        if (seed_dir(top[i], &s)) seeds[ns++] = top[i];
    }
    if (seeds && ns) qsort(seeds, (size_t)ns, sizeof *seeds, cmp_seed_name);
    for (int32_t i = 0; i < ns; i++) {
        uint64_t s = 0;
        seed_dir(seeds[i], &s);
        if (!add_run(r, "default", s, seeds[i])) break;
    }
    free(seeds);
    for (int32_t i = 0; i < nt; i++) {
        uint64_t s;
        if (seed_dir(top[i], &s)) continue;
        snprintf(p, sizeof p, "%s/%s", dir, top[i]);
        char **sub;
        int32_t nsub = list_dirs(p, &sub);
        if (nsub) qsort(sub, (size_t)nsub, sizeof *sub, cmp_seed_name);
        for (int32_t j = 0; j < nsub; j++) {
            if (!seed_dir(sub[j], &s)) continue;
            char rel[KGM_PATH];
            snprintf(rel, sizeof rel, "%s/%s", top[i], sub[j]);
            if (!add_run(r, top[i], s, rel)) break;
        }
        free_list(sub, nsub);
    }
    free_list(top, nt);
    r->baseline = 0;
    return KGM_OK;
}

kgm_status rp_load_runs(kgm_report *r, const char *dir) {
    if (!is_dir(dir)) return KGM_ERR(KGM_ERR_IO, "%s: not a directory", dir);
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/sweep.tsv", dir);
    if (exists(p)) KGM_TRY(read_sweep(r, p));
    else {
        r->discovered = true;
        KGM_TRY(discover(r, dir));
    }
    if (r->n_runs == 0)
        return KGM_ERR(KGM_ERR_IO, "%s: no runs found (expected sweep.tsv, or <group>/seed-<s>/metrics.csv)", dir);
    for (int32_t i = 0; i < r->n_runs; i++) {
        read_run(r, &r->runs[i]);
        if (r->runs[i].status == RP_DONE) r->n_done++;
        else if (r->runs[i].status == RP_FAILED) r->n_failed++;
        else r->n_incomplete++;
    }
    for (int32_t g = 0; g < r->n_groups; g++)
        snprintf(r->groups[g].published, sizeof r->groups[g].published, "%s",
                 r->runs[r->groups[g].runs[0]].published);
    return KGM_OK;
}
