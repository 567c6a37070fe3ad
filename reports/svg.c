/* Inline SVG line charts: axes with "nice" ticks, tick and axis labels, a
 * title and a legend; no scripts, no external resources. */
#include <math.h>
#include <string.h>

#include "reports/report_internal.h"

/* tab10, then darker and lighter variants so up to 20 groups stay distinct */
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                      "#7f7f7f", "#bcbd22", "#17becf", "#0b3d6b", "#a34b00", "#145214", "#7a1010",
                                      "#4b2d73", "#c49c94", "#f7b6d2", "#393939", "#6b6b10", "#0a6b75"};

const char *rp_color(int i) {
    int n = (int)(sizeof palette / sizeof *palette);
    return palette[((i % n) + n) % n];
}

void rp_html_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Escaped text of at most `max` characters (code points), "…" when cut. */
static void text_fit(FILE *f, const char *s, int max) {
    int n = 0;
    for (const char *p = s; *p; p++) n += ((unsigned char)*p & 0xC0) != 0x80;
    if (n <= max || max < 4) {
        rp_html_text(f, s);
        return;
    }
    char buf[512];
    size_t o = 0;
    int k = 0;
    for (const char *p = s; *p && o + 4 < sizeof buf; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && ++k > max - 1) break;
        buf[o++] = *p;
    }
    buf[o] = '\0';
    rp_html_text(f, buf);
    fputs("…", f);
}

/* 1, 2 or 5 times a power of ten, close to `raw`. */
static double nice_step(double raw) {
    if (!(raw > 0) || !isfinite(raw)) return 1;
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void tick_label(char *buf, size_t n, double v, double step) {
    if (fabs(v) < step * 1e-9) v = 0;
    double a = fabs(v);
    if (a != 0 && (a >= 1e6 || a < 1e-4)) {
        snprintf(buf, n, "%.2g", v);
        return;
    }
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    snprintf(buf, n, "%.*f", dec, v);
}

typedef struct {
    double lo, hi, step;
} axis;

static axis make_axis(double lo, double hi, bool pad_range) {
    if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
    if (hi - lo <= fabs(hi) * 1e-12) {
        double d = fabs(hi) > 0 ? fabs(hi) * 0.05 : 1;
        lo -= d;
        hi += d;
    } else if (pad_range) {
        double d = (hi - lo) * 0.05;
        lo -= d;
        hi += d;
    }
    axis a;
    a.step = nice_step((hi - lo) / 5);
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

void rp_svg_line_chart(FILE *f, const char *title, const char *xlabel, const char *ylabel, const rp_series *s,
                       int32_t ns, int width) {
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int32_t i = 0; i < ns; i++)
        for (int32_t k = 0; k < s[i].n; k++) {
            if (!isfinite(s[i].x[k]) || !isfinite(s[i].y[k])) continue;
            xlo = fmin(xlo, s[i].x[k]);
            xhi = fmax(xhi, s[i].x[k]);
            ylo = fmin(ylo, s[i].y[k]);
            yhi = fmax(yhi, s[i].y[k]);
        }
    bool int_x = true; /* epochs and steps: no fractional ticks */
    for (int32_t i = 0; i < ns && int_x; i++)
        for (int32_t k = 0; k < s[i].n && int_x; k++)
            if (isfinite(s[i].x[k]) && s[i].x[k] != floor(s[i].x[k])) int_x = false;
    axis ax = make_axis(xlo, xhi, false), ay = make_axis(ylo, yhi, true);
    if (int_x && ax.step < 1) {
        ax.step = 1;
        ax.lo = floor(ax.lo);
        ax.hi = ceil(ax.hi);
    }
    const int ml = 64, mr = 16, mt = 30, plot_h = 200, mb = 46;
    int pw = width - ml - mr;
    /* legend: entries in columns below the plot */
    int maxlen = 4;
    for (int32_t i = 0; i < ns; i++) {
        int l = (int)strlen(s[i].name);
        if (l > maxlen) maxlen = l;
    }
    int entry_w = 30 + 7 * (maxlen > 48 ? 48 : maxlen);
    int per_row = (width - 20) / entry_w;
    if (per_row < 1) per_row = 1;
    int rows = (ns + per_row - 1) / per_row;
    int height = mt + plot_h + mb + rows * 18 + 6;
#define PX(v) (ml + (double)pw * ((v) - ax.lo) / (ax.hi - ax.lo))
#define PY(v) (mt + (double)plot_h * (1 - ((v) - ay.lo) / (ay.hi - ay.lo)))
    fprintf(f, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", width,
            height, width, height);
    rp_html_text(f, title);
    fprintf(f, "\">\n<title>");
    rp_html_text(f, title);
    fprintf(f, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
    fprintf(f, "<text x=\"%d\" y=\"18\" class=\"ct\">", width / 2);
    text_fit(f, title, (width - 16) / 7);
    fprintf(f, "</text>\n");
    /* grid, ticks and labels */
    char lab[64];
    for (int k = 0; k <= 1000; k++) {
        double v = ay.lo + k * ay.step;
        if (v > ay.hi + ay.step * 1e-6) break;
        double y = PY(v);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", ml, y, ml + pw, y);
        tick_label(lab, sizeof lab, v, ay.step);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"yt\">%s</text>\n", ml - 6, y + 4, lab);
    }
    for (int k = 0; k <= 1000; k++) {
        double v = ax.lo + k * ax.step;
        if (v > ax.hi + ax.step * 1e-6) break;
        double x = PX(v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"tick\"/>", x, mt + plot_h, x, mt + plot_h + 5);
        tick_label(lab, sizeof lab, v, ax.step);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xt\">%s</text>\n", x, mt + plot_h + 18, lab);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>", ml, mt, ml, mt + plot_h);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", ml, mt + plot_h, ml + pw, mt + plot_h);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"al\">", ml + pw / 2.0, mt + plot_h + 36);
    rp_html_text(f, xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(14,%.1f) rotate(-90)\" class=\"al\">", mt + plot_h / 2.0);
    rp_html_text(f, ylabel);
    fprintf(f, "</text>\n");
    /* series */
    for (int32_t i = 0; i < ns; i++) {
        const char *col = rp_color(s[i].color);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s points=\"", col,
                s[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
        for (int32_t k = 0; k < s[i].n; k++)
            if (isfinite(s[i].x[k]) && isfinite(s[i].y[k])) fprintf(f, "%.1f,%.1f ", PX(s[i].x[k]), PY(s[i].y[k]));
        fprintf(f, "\"/>\n");
        if (s[i].n <= 30)
            for (int32_t k = 0; k < s[i].n; k++)
                if (isfinite(s[i].x[k]) && isfinite(s[i].y[k]))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", PX(s[i].x[k]), PY(s[i].y[k]),
                            col);
        if (s[i].n <= 30) fputc('\n', f);
    }
    /* legend */
    for (int32_t i = 0; i < ns; i++) {
        int lx = 10 + (i % per_row) * entry_w, ly = mt + plot_h + mb + (i / per_row) * 18 + 6;
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2.5\"%s/>", lx, ly, lx + 22,
                ly, rp_color(s[i].color), s[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"lg\">", lx + 28, ly + 4);
        text_fit(f, s[i].name, (entry_w - 34) / 6);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
}
