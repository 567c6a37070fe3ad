/* Live progress line on a TTY, periodic plain lines elsewhere. */
#include "core/base/progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double kgm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void kgm_progress_begin(kgm_progress *p, FILE *out, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->out = out ? out : stderr;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->total = total;
    p->t_start = p->t_last_print = kgm_now();
    p->interval_s = 10.0;
    p->tty = isatty(fileno(p->out));
}

static void fmt_eta(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "--");
        return;
    }
    int h = (int)(s / 3600), m = (int)(s / 60) % 60, sec = (int)s % 60;
    if (h) snprintf(buf, n, "%dh%02dm", h, m);
    else snprintf(buf, n, "%dm%02ds", m, sec);
}

static void print_line(kgm_progress *p, const char *extra, bool final) {
    double now = kgm_now(), el = now - p->t_start;
    double rate = el > 0 ? (double)p->samples / el : 0.0;
    char eta[32] = "--";
    if (p->total > 0 && p->done > 0 && !final)
        fmt_eta(eta, sizeof eta, el * (double)(p->total - p->done) / (double)p->done);
    else if (final)
        fmt_eta(eta, sizeof eta, el);
    char line[512];
    int len;
    if (p->total > 0)
        len = snprintf(line, sizeof line, "%s %lld/%lld (%3.0f%%) %.0f samples/s %s %s %s", p->label,
                       (long long)p->done, (long long)p->total,
                       100.0 * (double)p->done / (double)p->total, rate, final ? "took" : "ETA", eta,
                       extra ? extra : "");
    else
        len = snprintf(line, sizeof line, "%s step %lld %.0f samples/s %s", p->label,
                       (long long)p->done, rate, extra ? extra : "");
    if (len >= (int)sizeof line) len = (int)sizeof line - 1;
    if (p->tty) {
        int pad = p->last_len > len ? p->last_len - len : 0;
        fprintf(p->out, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
        p->last_len = len;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
    p->t_last_print = now;
}

void kgm_progress_update(kgm_progress *p, int64_t done, int64_t samples, const char *extra) {
    p->done = done;
    p->samples = samples;
    if (p->quiet) return;
    double now = kgm_now();
    double period = p->tty ? 0.1 : p->interval_s;
    if (now - p->t_last_print >= period) print_line(p, extra, false);
}

void kgm_progress_end(kgm_progress *p, const char *extra) {
    if (p->quiet) return;
    print_line(p, extra, true);
}
