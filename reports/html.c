/* report.html: one self-contained page (inline CSS and SVG, no scripts, no
 * external resources) with the ablation table, published figures, learning
 * curves, task-weight trajectories and failed runs. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/report_internal.h"

#define CHART_W 380
#define MAX_POINTS 300

static const char css[] =
    "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px 32px;color:#1d2125;"
    "background:#fafbfc;font-size:14px}\n"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d8dee4;"
    "padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}\n"
    ".meta{color:#57606a;margin:2px 0}.desc{margin:6px 0 10px}\n"
    "table{border-collapse:collapse;background:#fff;margin:6px 0 10px}\n"
    "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right;vertical-align:top;white-space:nowrap}\n"
    ".scroll{overflow-x:auto;max-width:100%}\n"
    "th{background:#f0f3f6;font-weight:600}th[colspan]{text-align:center}td.g,th.g{text-align:left;font-family:ui-monospace,Menlo,Consolas,monospace;"
    "font-size:12.5px}\n"
    "tr.base td{background:#f6f8fa}td.best{background:#dff3e3;font-weight:700}\n"
    ".sd{color:#57606a;font-size:12px}.d{font-size:12px;display:block}.up{color:#1a7f37}.down{color:#cf222e}"
    ".flat{color:#57606a}.p{font-size:11.5px;color:#57606a}.sig{font-weight:700}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{border:1px solid #d0d7de;background:#fff}\n"
    "svg text{font-family:Helvetica,Arial,sans-serif;fill:#1d2125}\n"
    "svg .ct{font-size:13px;font-weight:600;text-anchor:middle}svg .yt{font-size:11px;text-anchor:end}"
    "svg .xt{font-size:11px;text-anchor:middle}svg .al{font-size:12px;text-anchor:middle;fill:#444}"
    "svg .lg{font-size:11px}\n"
    "svg .grid{stroke:#e6e9ed;stroke-width:1}svg .axis{stroke:#444;stroke-width:1.2}svg .tick{stroke:#444}\n"
    ".note{color:#57606a;font-size:12.5px;max-width:980px}pre.err{white-space:pre-wrap;margin:0;font-size:12px;"
    "text-align:left}\n"
    "td.l{text-align:left}.tag{display:inline-block;border-radius:3px;padding:0 5px;font-size:11.5px;"
    "background:#eaeef2;margin-left:4px}\n";

static void esc(FILE *f, const char *s) { rp_html_text(f, s); }

static const rp_cell *cell_at(const kgm_report *r, int32_t g, int32_t c) { return &r->cells[(size_t)g * r->n_cols + c]; }

static void col_head(FILE *f, const kgm_report *r, int32_t c) {
    const rp_col *col = &r->cols[c];
    esc(f, r->metrics.s[col->metric]);
    fprintf(f, " <span title=\"%s is better\">%s</span>", col->higher ? "higher" : "lower", col->higher ? "↑" : "↓");
}

/* Published value for column c in a "k=v,k=v" string, NaN when none. */
static double published_for(const kgm_report *r, const char *pub, int32_t c) {
    const rp_col *col = &r->cols[c];
    const char *task = r->tasks.s[col->task], *metric = r->metrics.s[col->metric];
    char buf[KGM_STR];
    snprintf(buf, sizeof buf, "%s", pub);
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(it, '=');
        if (!eq) continue;
        *eq = '\0';
        while (*it == ' ') it++;
        char full[256];
        snprintf(full, sizeof full, "%s.%s", task, metric);
        if (!strcmp(it, full) || !strcmp(it, metric)) return strtod(eq + 1, NULL);
    }
    return NAN;
}

static void ablation_table(FILE *f, const kgm_report *r, int32_t split) {
    int32_t *cols = malloc((size_t)(r->n_cols ? r->n_cols : 1) * sizeof *cols);
    if (!cols) return;
    int32_t nc = rp_cols_of_split(r, split, cols, r->n_cols);
    fprintf(f, "<div class=\"scroll\"><table class=\"ablation\">\n<tr><th class=\"g\" rowspan=\"2\">group</th>");
    for (int32_t i = 0; i < nc;) { /* task header spans its metrics */
        int32_t j = i;
        while (j < nc && r->cols[cols[j]].task == r->cols[cols[i]].task) j++;
        fprintf(f, "<th colspan=\"%d\">", j - i);
        esc(f, r->tasks.s[r->cols[cols[i]].task]);
        fprintf(f, "</th>");
        i = j;
    }
    fprintf(f, "</tr>\n<tr>");
    for (int32_t i = 0; i < nc; i++) {
        fprintf(f, "<th>");
        col_head(f, r, cols[i]);
        fprintf(f, "</th>");
    }
    fprintf(f, "</tr>\n");
    for (int32_t g = 0; g < r->n_groups; g++) {
        bool base = g == r->baseline && r->n_groups > 1;
        fprintf(f, "<tr%s><td class=\"g\">", base ? " class=\"base\"" : "");
        esc(f, r->groups[g].name);
        if (rp_base_tag(r, g)) fprintf(f, "<span class=\"tag\">baseline</span>");
        char proto[32];
        rp_protocol(r, g, proto, sizeof proto);
        if (!rp_protocol_shared(r) && proto[0]) fprintf(f, "<span class=\"tag\">protocol: %s</span>", proto);
        fprintf(f, "</td>");
        for (int32_t i = 0; i < nc; i++) {
            const rp_cell *cell = cell_at(r, g, cols[i]);
            const rp_col *col = &r->cols[cols[i]];
            char m[48], s[48], d[48], p[48];
            if (!cell->n) {
                fprintf(f, "<td>—</td>");
                continue;
            }
            rp_fmt(m, sizeof m, cell->mean);
            fprintf(f, "<td%s title=\"n=%d, seeds %s\">%s%s", cell->best ? " class=\"best\"" : "", cell->n, cell->seeds,
                    cell->best ? "★ " : "", m);
            if (cell->n >= 2) {
                rp_fmt_delta(s, sizeof s, cell->std, cell->mean);
                fprintf(f, " <span class=\"sd\">± %s</span>", s);
            }
            if (!base && r->n_groups > 1 && !isnan(cell->delta)) {
                rp_fmt_delta(d, sizeof d, cell->delta, cell_at(r, r->baseline, cols[i])->mean);
                double shown = strtod(d, NULL); /* what the reader sees decides the colour */
                bool better = col->higher ? shown > 0 : shown < 0;
                const char *cls = shown == 0 ? "flat" : better ? "up" : "down";
                fprintf(f, "<span class=\"d %s\">Δ %s%s", cls, shown > 0 ? "+" : "", d);
                if (!isnan(cell->p)) {
                    snprintf(p, sizeof p, cell->p < 0.001 ? "%.1e" : "%.3f", cell->p);
                    fprintf(f, " <span class=\"p%s\">p=%s</span>", cell->p < 0.05 ? " sig" : "", p);
                }
                fprintf(f, "</span>");
            }
            fprintf(f, "</td>");
        }
        fprintf(f, "</tr>\n");
    }
    /* one published row when every group shares the same published figures */
    bool one = r->groups[0].published[0] != '\0';
    for (int32_t g = 1; g < r->n_groups && one; g++)
        if (strcmp(r->groups[g].published, r->groups[0].published)) one = false;
    if (one) {
        fprintf(f, "<tr class=\"pub\"><td class=\"g\">published</td>");
        for (int32_t i = 0; i < nc; i++) {
            double v = published_for(r, r->groups[0].published, cols[i]);
            char m[48];
            rp_fmt(m, sizeof m, v);
            fprintf(f, "<td>%s</td>", m);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table></div>\n");
    free(cols);
}

static void published_section(FILE *f, const kgm_report *r, int32_t split) {
    bool any = false;
    for (int32_t g = 0; g < r->n_groups; g++) any |= r->groups[g].published[0] != '\0';
    if (!any) return;
    fprintf(f, "<section id=\"published\"><h2>Published figures beside ours</h2>\n<table>"
               "<tr><th class=\"g\">group</th><th class=\"g\">task.metric</th><th>published</th><th>ours (mean ± std)</th>"
               "<th>ours − published</th></tr>\n");
    for (int32_t g = 0; g < r->n_groups; g++) {
        if (!r->groups[g].published[0]) continue;
        char buf[KGM_STR];
        snprintf(buf, sizeof buf, "%s", r->groups[g].published);
        char *save = NULL;
        for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(it, '=');
            if (!eq) continue;
            *eq = '\0';
            double pv = strtod(eq + 1, NULL);
            int32_t shown = 0;
            for (int32_t c = 0; c < r->n_cols; c++) {
                const rp_col *col = &r->cols[c];
                if (col->split != split) continue;
                char full[256];
                snprintf(full, sizeof full, "%s.%s", r->tasks.s[col->task], r->metrics.s[col->metric]);
                if (strcmp(it, full) && strcmp(it, r->metrics.s[col->metric])) continue;
                const rp_cell *cell = cell_at(r, g, c);
                char a[48], m[48], s[48], d[48];
                rp_fmt(a, sizeof a, pv);
                rp_fmt(m, sizeof m, cell->mean);
                rp_fmt_delta(s, sizeof s, cell->std, cell->mean);
                rp_fmt(d, sizeof d, cell->n ? cell->mean - pv : NAN);
                fprintf(f, "<tr><td class=\"g\">");
                esc(f, r->groups[g].name);
                fprintf(f, "</td><td class=\"g\">");
                esc(f, full);
                fprintf(f, "</td><td>%s</td><td>%s%s%s</td><td>%s%s</td></tr>\n", a, m, cell->n >= 2 ? " ± " : "",
                        cell->n >= 2 ? s : "", cell->n && cell->mean - pv > 0 ? "+" : "", d);
                shown++;
            }
            if (!shown) {
                char a[48];
                rp_fmt(a, sizeof a, pv);
                fprintf(f, "<tr><td class=\"g\">");
                esc(f, r->groups[g].name);
                fprintf(f, "</td><td class=\"g\">");
                esc(f, it);
                fprintf(f, "</td><td>%s</td><td>— (not measured)</td><td>—</td></tr>\n", a);
            }
        }
    }
    fprintf(f, "</table>\n<p class=\"note\">Published numbers are copied from the manifest's <code>published:</code> "
               "key; ours are on the ");
    esc(f, r->splits.s[split]);
    fprintf(f, " split.</p></section>\n");
}

/* ---- curves ---- */

typedef struct {
    double *x, *y;
    int32_t n;
} xy;

/* Mean over a group's runs of (split, task, metric) per epoch. */
static xy epoch_curve(const kgm_report *r, int32_t g, int32_t split, int32_t task, int32_t metric, bool done_only) {
    xy out = {0};
    int32_t max_e = -1;
    const rp_group *gr = &r->groups[g];
    for (int32_t k = 0; k < gr->n_runs; k++) {
        const rp_run *run = &r->runs[gr->runs[k]];
        if (done_only && run->status != RP_DONE) continue;
        for (int32_t i = 0; i < run->nm; i++)
            if (run->m[i].split == split && run->m[i].task == task && run->m[i].metric == metric &&
                run->m[i].epoch > max_e && run->m[i].epoch < 1000000)
                max_e = run->m[i].epoch;
    }
    if (max_e < 0) return out;
    double *sum = calloc((size_t)max_e + 1, sizeof *sum), *cnt = calloc((size_t)max_e + 1, sizeof *cnt);
    out.x = malloc(((size_t)max_e + 1) * sizeof *out.x);
    out.y = malloc(((size_t)max_e + 1) * sizeof *out.y);
    if (!sum || !cnt || !out.x || !out.y) {
        free(out.x);
        free(out.y);
        out.x = out.y = NULL;
        goto done;
    }
    for (int32_t k = 0; k < gr->n_runs; k++) {
        const rp_run *run = &r->runs[gr->runs[k]];
        if (done_only && run->status != RP_DONE) continue;
        for (int32_t i = 0; i < run->nm; i++) {
            const rp_mrow *m = &run->m[i];
            if (m->split != split || m->task != task || m->metric != metric || m->epoch < 0 || m->epoch > max_e ||
                !isfinite(m->value))
                continue;
            sum[m->epoch] += m->value;
            cnt[m->epoch] += 1;
        }
    }
    for (int32_t e = 0; e <= max_e; e++)
        if (cnt[e] > 0) {
            out.x[out.n] = e;
            out.y[out.n++] = sum[e] / cnt[e];
        }
done:
    free(sum);
    free(cnt);
    return out;
}

static bool group_has_done(const kgm_report *r, int32_t g) {
    for (int32_t k = 0; k < r->groups[g].n_runs; k++)
        if (r->runs[r->groups[g].runs[k]].status == RP_DONE) return true;
    return false;
}

static void curves_section(FILE *f, const kgm_report *r) {
    int32_t test = rp_find(&r->splits, "test"), train = rp_find(&r->splits, "train");
    int32_t ng = r->n_groups, ns = r->splits.n;
    /* many groups: a chart with both splits of every group would be unreadable, so
     * training curves are drawn only where a metric has no other split */
    bool crowded = ng > 8;
    fprintf(f, "<section id=\"curves\"><h2>Learning curves</h2>\n<p class=\"note\">Mean over the seeds of each group "
               "per epoch; solid lines are training, dashed lines validation%s.</p>\n",
            crowded ? " (with this many groups, training curves only where there is no validation curve)" : "");
    rp_series *ser = calloc((size_t)ng * ns + 1, sizeof *ser);
    xy *data = calloc((size_t)ng * ns + 1, sizeof *data);
    char(*names)[192] = calloc((size_t)ng * ns + 1, sizeof *names);
    int32_t *split_of = calloc((size_t)ng * ns + 1, sizeof *split_of);
    int charts = 0;
    if (!ser || !data || !names || !split_of) goto out;
    for (int32_t t = 0; t < r->tasks.n; t++) {
        bool header = false;
        for (int32_t m = 0; m < r->metrics.n; m++) {
            int32_t n = 0;
            bool other_split = false;
            for (int32_t k = 0; crowded && k < r->n_runs && !other_split; k++)
                for (int32_t i = 0; i < r->runs[k].nm && !other_split; i++) {
                    const rp_mrow *row = &r->runs[k].m[i];
                    other_split = row->task == t && row->metric == m && row->split != train && row->split != test;
                }
            for (int32_t g = 0; g < ng; g++) {
                bool done_only = group_has_done(r, g);
                for (int32_t s = 0; s < ns; s++) {
                    if (s == test || (s == train && other_split)) continue;
                    xy c = epoch_curve(r, g, s, t, m, done_only);
                    if (c.n == 0) {
                        free(c.x);
                        free(c.y);
                        continue;
                    }
                    data[n] = c;
                    if (ng > 1) snprintf(names[n], sizeof names[n], "%.150s · %.30s", r->groups[g].name, r->splits.s[s]);
                    else snprintf(names[n], sizeof names[n], "%.30s", r->splits.s[s]);
                    ser[n] = (rp_series){names[n], g, s != train, c.x, c.y, c.n};
                    split_of[n++] = s;
                }
            }
            if (n) {
                if (!header) {
                    fprintf(f, "<h3>task ");
                    esc(f, r->tasks.s[t]);
                    fprintf(f, "</h3>\n<div class=\"charts\">\n");
                    header = true;
                }
                /* one split only: say it in the title, not in every legend entry */
                bool one_split = ng > 1;
                for (int32_t i = 1; i < n; i++) one_split &= split_of[i] == split_of[0];
                char title[256];
                if (one_split) {
                    for (int32_t i = 0; i < n; i++) ser[i].name = r->groups[ser[i].color].name;
                    snprintf(title, sizeof title, "%.100s — %.60s (%.30s)", r->tasks.s[t], r->metrics.s[m],
                             r->splits.s[split_of[0]]);
                } else snprintf(title, sizeof title, "%.100s — %.100s", r->tasks.s[t], r->metrics.s[m]);
                rp_svg_line_chart(f, title, "epoch", r->metrics.s[m], ser, n, CHART_W);
                charts++;
            }
            for (int32_t i = 0; i < n; i++) {
                free(data[i].x);
                free(data[i].y);
            }
        }
        if (header) fprintf(f, "</div>\n");
    }
out:
    if (!charts) fprintf(f, "<p>No per-epoch metrics found (metrics.csv).</p>\n");
    fprintf(f, "</section>\n");
    free(ser);
    free(data);
    free(names);
    free(split_of);
}

/* ---- weights ---- */

typedef struct {
    int64_t step;
    double w;
} sw;

static int cmp_sw(const void *a, const void *b) {
    const sw *x = a, *y = b;
    return x->step < y->step ? -1 : x->step > y->step;
}

/* Mean weight per step of (group, task), bucketed down to MAX_POINTS. */
static xy weight_curve(const kgm_report *r, int32_t g, int32_t task) {
    xy out = {0};
    const rp_group *gr = &r->groups[g];
    bool done_only = group_has_done(r, g);
    int64_t n = 0;
    for (int32_t k = 0; k < gr->n_runs; k++) {
        const rp_run *run = &r->runs[gr->runs[k]];
        if (!done_only || run->status == RP_DONE)
            for (int32_t i = 0; i < run->nw; i++) n += run->w[i].task == task;
    }
    if (!n) return out;
    sw *v = malloc((size_t)n * sizeof *v);
    if (!v) return out;
    int64_t o = 0;
    for (int32_t k = 0; k < gr->n_runs; k++) {
        const rp_run *run = &r->runs[gr->runs[k]];
        if (done_only && run->status != RP_DONE) continue;
        for (int32_t i = 0; i < run->nw; i++)
            if (run->w[i].task == task && isfinite(run->w[i].weight)) v[o++] = (sw){run->w[i].step, run->w[i].weight};
    }
    n = o;
    qsort(v, (size_t)n, sizeof *v, cmp_sw);
    /* average equal steps */
    int64_t u = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        double s = 0;
        while (j < n && v[j].step == v[i].step) s += v[j++].w;
        v[u++] = (sw){v[i].step, s / (double)(j - i)};
        i = j;
    }
    int64_t buckets = u < MAX_POINTS ? u : MAX_POINTS;
    out.x = malloc((size_t)(buckets ? buckets : 1) * sizeof *out.x);
    out.y = malloc((size_t)(buckets ? buckets : 1) * sizeof *out.y);
    if (!out.x || !out.y) {
        free(out.x);
        free(out.y);
        free(v);
        return (xy){0};
    }
    for (int64_t b = 0; b < buckets; b++) {
        int64_t lo = b * u / buckets, hi = (b + 1) * u / buckets;
        double sx = 0, sy = 0;
        for (int64_t i = lo; i < hi; i++) {
            sx += (double)v[i].step;
            sy += v[i].w;
        }
        out.x[out.n] = sx / (double)(hi - lo);
        out.y[out.n++] = sy / (double)(hi - lo);
    }
    free(v);
    return out;
}

static void weights_section(FILE *f, const kgm_report *r) {
    fprintf(f, "<section id=\"weights\"><h2>Task-weight trajectories</h2>\n<p class=\"note\">Weight of each task per "
               "step (weights.csv), mean over the group's seeds.</p>\n<div class=\"charts\">\n");
    int charts = 0;
    int32_t nt = r->tasks.n;
    rp_series *ser = calloc((size_t)nt + 1, sizeof *ser);
    xy *data = calloc((size_t)nt + 1, sizeof *data);
    if (!ser || !data) goto out;
    for (int32_t g = 0; g < r->n_groups; g++) {
        int32_t n = 0;
        for (int32_t t = 0; t < nt; t++) {
            xy c = weight_curve(r, g, t);
            if (!c.n) {
                free(c.x);
                free(c.y);
                continue;
            }
            data[n] = c;
            ser[n] = (rp_series){r->tasks.s[t], t, false, c.x, c.y, c.n};
            n++;
        }
        if (n) {
            char title[200];
            snprintf(title, sizeof title, "weights — %.150s", r->groups[g].name);
            rp_svg_line_chart(f, title, "step", "task weight", ser, n, CHART_W);
            charts++;
        }
        for (int32_t i = 0; i < n; i++) {
            free(data[i].x);
            free(data[i].y);
        }
    }
out:
    fprintf(f, "</div>\n");
    if (!charts) fprintf(f, "<p>No task weights found (weights.csv).</p>\n");
    fprintf(f, "</section>\n");
    free(ser);
    free(data);
}

static void problems_section(FILE *f, const kgm_report *r) {
    bool any = false;
    for (int32_t i = 0; i < r->n_runs; i++) any |= r->runs[i].status != RP_DONE || r->runs[i].note[0];
    if (!any) return;
    fprintf(f, "<section id=\"failures\"><h2>Failed, unfinished and incomplete runs</h2>\n<p class=\"note\">Only "
               "finished runs (with a DONE file) enter the tables.</p>\n<table><tr><th class=\"g\">run</th><th class=\"g\">"
               "status</th><th class=\"g\">message</th></tr>\n");
    for (int32_t i = 0; i < r->n_runs; i++) {
        const rp_run *run = &r->runs[i];
        if (run->status == RP_DONE && !run->note[0]) continue;
        fprintf(f, "<tr><td class=\"g\">");
        esc(f, run->rel);
        fprintf(f, "</td><td class=\"l\">%s</td><td class=\"l\"><pre class=\"err\">",
                run->status == RP_FAILED ? "failed" : run->status == RP_INCOMPLETE ? "unfinished" : "finished");
        esc(f, run->status == RP_FAILED ? run->error : "");
        if (run->note[0]) {
            if (run->status == RP_FAILED) fputc('\n', f);
            esc(f, run->note);
        }
        fprintf(f, "</pre></td></tr>\n");
    }
    fprintf(f, "</table></section>\n");
}

/* The top-K protocol line: ranking metrics (recall@k, ndcg@k, hit@k, MRR of
 * implicit-view tasks) mean different things under full and sampled ranking. */
static void html_protocol(FILE *f, const kgm_report *r) {
    char proto[32];
    if (r->n_groups == 0) return;
    rp_protocol(r, 0, proto, sizeof proto);
    if (!rp_protocol_shared(r)) {
        fprintf(f, "<p class=\"meta\">Top-K protocol: <strong>differs between groups</strong> (see the tags in the "
                   "ablation table); ranking metrics of different protocols are not comparable.</p>\n");
        return;
    }
    if (!proto[0]) return;
    if (!strcmp(proto, "full"))
        fprintf(f, "<p class=\"meta\">Top-K protocol: <code>full</code> — every item ranked, the user's known "
                   "positives outside the evaluated split masked (<code>dataset.eval_negatives: 0</code>).</p>\n");
    else
        fprintf(f, "<p class=\"meta\">Top-K protocol: <code>%s</code> — each positive ranked against its %s stored "
                   "uniform negatives (<code>dataset.eval_negatives: %s</code>), pessimistic ties.</p>\n", proto,
                proto + 8, proto + 8);
}

kgm_status kgm_report_write_html(const kgm_report *r, const char *path) {
    char tmp[KGM_PATH + 64];
    FILE *f = rp_open_tmp(path, tmp, sizeof tmp);
    if (!f) return KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    esc(f, r->title);
    fprintf(f, " — kgmtl report</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>", css);
    esc(f, r->title);
    fprintf(f, "</h1>\n");
    if (r->description[0]) {
        fprintf(f, "<p class=\"desc\">");
        esc(f, r->description);
        fprintf(f, "</p>\n");
    }
    fprintf(f, "<p class=\"meta\">%d run%s in %d group%s: %d finished, %d failed, %d unfinished.", r->n_runs,
            r->n_runs == 1 ? "" : "s", r->n_groups, r->n_groups == 1 ? "" : "s", r->n_done, r->n_failed,
            r->n_incomplete);
    if (r->n_groups > 1) {
        fprintf(f, " Baseline: <code>");
        esc(f, r->groups[r->baseline].name);
        fprintf(f, "</code>%s.", r->discovered ? " (first group by name: no sweep.tsv)" : "");
    }
    fprintf(f, "</p>\n");
    html_protocol(f, r);
    fprintf(f, "<p class=\"meta\">");
    if (r->manifest[0]) {
        fprintf(f, "Manifest <code>");
        esc(f, r->manifest);
        fprintf(f, "</code> · ");
    }
    fprintf(f, "results <code>");
    esc(f, r->dir);
    time_t now = time(NULL);
    struct tm tmv;
    char when[64] = "";
    if (gmtime_r(&now, &tmv)) strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tmv);
    fprintf(f, "</code> · generated %s by kgmtl</p>\n</header>\n", when);

    int32_t split = rp_main_split(r);
    if (split >= 0) {
        fprintf(f, "<section id=\"ablation\"><h2>Ablation table (");
        esc(f, r->splits.s[split]);
        fprintf(f, ")</h2>\n");
        ablation_table(f, r, split);
        fprintf(f, "<p class=\"note\">Each cell: mean ± sample standard deviation over the finished seeds (hover for n "
                   "and the seeds). ★ marks the best mean per column (↑ higher is better, ↓ lower is better). Δ is the "
                   "difference of means against the baseline row; p is a two-sided paired t-test over the seeds both "
                   "rows share, shown where there are at least 3 (bold when p &lt; 0.05).</p>\n");
        for (int32_t s = 0; s < r->splits.n; s++) {
            if (s == split) continue;
            int32_t dummy;
            if (!rp_cols_of_split(r, s, &dummy, 1)) continue;
            fprintf(f, "<details><summary>");
            esc(f, r->splits.s[s]);
            fprintf(f, " split</summary>\n");
            ablation_table(f, r, s);
            fprintf(f, "</details>\n");
        }
        fprintf(f, "</section>\n");
        published_section(f, r, split);
    } else fprintf(f, "<section id=\"ablation\"><h2>Ablation table</h2><p>No finished runs with metrics.</p></section>\n");
    curves_section(f, r);
    weights_section(f, r);
    problems_section(f, r);
    fprintf(f, "<footer><p class=\"note\">summary.csv beside this file holds the same statistics "
               "(group, seeds, task, metric, split, mean, std, n, delta, p_value, best).</p></footer>\n</body>\n</html>\n");
    return rp_commit(f, tmp, path);
}
