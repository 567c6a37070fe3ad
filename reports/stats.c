/* Statistics for reports: mean, sample std, Student's t CDF through the
 * regularised incomplete beta function, paired t-test, metric direction. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "reports/report.h"

double kgm_stat_mean(const double *x, int32_t n) {
    if (n <= 0) return NAN;
    double s = 0;
    for (int32_t i = 0; i < n; i++) s += x[i];
    return s / n;
}

double kgm_stat_std(const double *x, int32_t n) {
    if (n < 2) return NAN;
    double m = kgm_stat_mean(x, n), ss = 0, scale = 0;
    for (int32_t i = 0; i < n; i++) {
        ss += (x[i] - m) * (x[i] - m);
        scale = fmax(scale, fabs(x[i]));
    }
    double sd = sqrt(ss / (n - 1));
    /* equal values give exactly 0, not the rounding noise of the mean */
    return sd <= 1e-13 * scale ? 0 : sd;
}

/* Continued fraction of I_x(a, b) (modified Lentz), valid for
 * x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

double kgm_stat_betainc(double a, double b, double x) {
    if (!(a > 0) || !(b > 0) || isnan(x)) return NAN;
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    /* front factor x^a (1-x)^b / (a B(a, b)) in logs */
    double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2)) return exp(lfront) * betacf(a, b, x) / a;
    /* symmetry I_x(a, b) = 1 - I_{1-x}(b, a) keeps the fraction convergent */
    return 1 - exp(lfront) * betacf(b, a, 1 - x) / b;
}

double kgm_stat_t_cdf(double t, double df) {
    if (!(df > 0) || isnan(t)) return NAN;
    if (isinf(t)) return t > 0 ? 1 : 0;
    /* P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2) */
    double tail = 0.5 * kgm_stat_betainc(df / 2, 0.5, df / (df + t * t));
    return t >= 0 ? 1 - tail : tail;
}

kgm_status kgm_stat_paired_t(const double *a, const double *b, int32_t n, double *t, double *p) {
    if (n < 2) return KGM_ERR(KGM_ERR_ARG, "a paired t-test needs at least 2 pairs, got %d", n);
    double md = 0;
    for (int32_t i = 0; i < n; i++) md += a[i] - b[i];
    md /= n;
    double ss = 0;
    for (int32_t i = 0; i < n; i++) {
        double d = a[i] - b[i] - md;
        ss += d * d;
    }
    double sd = sqrt(ss / (n - 1));
    /* differences equal up to rounding count as constant */
    double scale = 0;
    for (int32_t i = 0; i < n; i++) scale = fmax(scale, fmax(fabs(a[i]), fabs(b[i])));
    if (sd <= 1e-13 * (scale > 0 ? scale : 1)) {
        if (fabs(md) <= 1e-13 * (scale > 0 ? scale : 1)) {
            *t = 0;
            *p = 1;
        } else {
            *t = md > 0 ? INFINITY : -INFINITY;
            *p = 0;
        }
        return KGM_OK;
    }
    *t = md / (sd / sqrt((double)n));
    double df = n - 1;
    *p = kgm_stat_betainc(df / 2, 0.5, df / (df + *t * *t));
    return KGM_OK;
}

int kgm_metric_higher_is_better(const char *metric) {
    char m[96];
    size_t n = 0;
    for (const char *s = metric; *s && *s != '@' && n + 1 < sizeof m; s++) m[n++] = (char)tolower((unsigned char)*s);
    m[n] = '\0';
    static const char *const lower[] = {"loss", "logloss", "log_loss", "bce", "ce", "nll", "mse", "rmse",
                                        "mae", "mape", "error", "err", "mr", "mean_rank", "brier", "perplexity"};
    for (size_t i = 0; i < sizeof lower / sizeof *lower; i++)
        if (!strcmp(m, lower[i])) return 0;
    static const char *const lower_suffix[] = {"_loss", "_mse", "_rmse", "_mae", "_error", "_nll"};
    for (size_t i = 0; i < sizeof lower_suffix / sizeof *lower_suffix; i++) {
        size_t l = strlen(lower_suffix[i]);
        if (n > l && !strcmp(m + n - l, lower_suffix[i])) return 0;
    }
    if (!strncmp(m, "loss_", 5)) return 0;
    return 1;
}
