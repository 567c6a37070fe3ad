/* kgmtl bench ops — this machine's measured peaks (cblas_sgemm GFLOP/s,
 * memcpy GB/s) and the core kernels against them, all in one run: linear
 * forward+backward through the tape, and embedding gather + row-sparse
 * gradient scatter on a 1M x 64 table. Also the shared figure printer used by
 * every `kgmtl bench` command (core/tensor/bench.h). */
#include "core/tensor/bench.h"

#include <cblas.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kgmtl/kgmtl.h"

/* ---- shared output ---------------------------------------------------------- */

void kgm_bench_begin(kgm_bench_out *o, FILE *f, bool csv, const char *title) {
    o->f = f;
    o->csv = csv;
    if (csv)
        fprintf(f, "figure,value,unit\n");
    else if (title)
        fprintf(f, "%s\n", title);
}

void kgm_bench_figure(const kgm_bench_out *o, const char *name, double value, const char *unit,
                      const char *what) {
    if (o->csv) {
        fprintf(o->f, "%s,%.6g,%s\n", name, value, unit);
    } else {
        char num[32];
        if (value != 0 && (value >= 1e6 || value < 1e-2))
            snprintf(num, sizeof num, "%.3e", value);
        else
            snprintf(num, sizeof num, "%.3f", value);
        fprintf(o->f, "  %-36s %12s %-8s %s\n", name, num, unit, what ? what : "");
    }
    fflush(o->f);
}

void kgm_bench_note(const kgm_bench_out *o, const char *fmt, ...) {
    if (o->csv) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->f, fmt, ap);
    va_end(ap);
    fputc('\n', o->f);
}

bool kgm_bench_parse_threads(const char *cmd, const char *arg, int *out) {
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 1 || v > 4096) {
        fprintf(stderr, "kgmtl bench %s: --threads expects an integer in [1, 4096], found '%s'\n", cmd, arg);
        return false;
    }
    *out = (int)v;
    return true;
}

/* ---- timing helpers --------------------------------------------------------- */

typedef struct {
    int reps;   /* timed repetitions; the best is reported */
    bool quick; /* small sizes (smoke test) */
    kgm_bench_out out;
} bench_cfg;

static void fill_random(float *x, size_t n, uint64_t seed) {
    kgm_rng r;
    kgm_rng_init(&r, seed, kgm_rng_stream_id("bench", 0));
    for (size_t i = 0; i < n; i++) x[i] = (float)(2.0 * kgm_rng_uniform(&r) - 1.0);
}

static void fail_msg(kgm_status st) {
    fprintf(stderr, "kgmtl bench ops: %s: %s\n", kgm_status_str(st), kgm_error_message());
}

/* ---- peaks -------------------------------------------------------------------- */

/* Best-of-reps GFLOP/s of C = A·B for square n x n x n. */
static double bench_sgemm(const bench_cfg *c, int n) {
    size_t nn = (size_t)n * n;
    float *a = malloc(nn * sizeof(float)), *b = malloc(nn * sizeof(float)), *cc = calloc(nn, sizeof(float));
    if (!a || !b || !cc) {
        free(a), free(b), free(cc);
        return -1;
    }
    fill_random(a, nn, 1);
    fill_random(b, nn, 2);
    double best = 1e30;
    /* at least 10 tries: one long call is the likeliest to be interrupted */
    int tries = c->reps < 10 ? 10 : c->reps;
    for (int r = 0; r <= tries; r++) { /* r == 0 warms up */
        double t0 = kgm_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, cc, n);
        double t = kgm_now() - t0;
        if (r > 0 && t < best) best = t;
    }
    free(a), free(b), free(cc);
    return 2.0 * n * (double)n * n / best / 1e9;
}

/* Best-of-reps memcpy bandwidth (bytes read + written). */
static double bench_memcpy(const bench_cfg *c, size_t bytes) {
    char *src = malloc(bytes), *dst = malloc(bytes);
    if (!src || !dst) {
        free(src), free(dst);
        return -1;
    }
    memset(src, 1, bytes);
    memset(dst, 0, bytes);
    double best = 1e30;
    for (int r = 0; r <= c->reps; r++) {
        double t0 = kgm_now();
        memcpy(dst, src, bytes);
        double t = kgm_now() - t0;
        if (r > 0 && t < best) best = t;
    }
    volatile char sink = dst[bytes / 2];
    (void)sink;
    free(src), free(dst);
    return 2.0 * (double)bytes / best / 1e9;
}

/* ---- linear forward + backward ----------------------------------------------------- */

typedef struct {
    double fwd, bwd; /* best seconds per iteration */
} fb_time;

/* Each phase keeps its fastest iteration, as the sgemm peak keeps its
 * fastest call: best against best, so that the ratio is not skewed by
 * whichever of the two runs was interrupted. */
static void keep_best(fb_time *t, double fwd, double bwd) {
    if (fwd < t->fwd) t->fwd = fwd;
    if (bwd < t->bwd) t->bwd = bwd;
}

/* y = x·W + b through kgm_op_linear, then the tape's backward from a seeded
 * dy: dx, dW and db. x carries a gradient (a hidden layer), so the backward
 * does both GEMMs. Filling dy and resetting the tape are not timed. */
static kgm_status bench_linear(const bench_cfg *c, int B, int In, int O, fb_time *res) {
    kgm_status st = KGM_OK;
    kgm_params *ps = NULL;
    kgm_tape *tp = NULL;
    kgm_tensor *x = NULL;
    int32_t iw, ib;
    if ((st = kgm_params_new(&ps))) goto done;
    if ((st = kgm_params_declare(ps, "w", In, O, (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, 0, &iw))) goto done;
    if ((st = kgm_params_declare(ps, "b", 1, O, (kgm_init){KGM_INIT_ZEROS, 0}, 0, 0, &ib))) goto done;
    if ((st = kgm_params_finalize(ps, 1))) goto done;
    if ((st = kgm_tensor_new(B, In, &x))) goto done;
    fill_random(x->data, (size_t)B * In, 3);
    x->grad = calloc((size_t)B * In, sizeof(float));
    if (!x->grad) {
        st = KGM_ERR(KGM_ERR_NOMEM, "bench input gradient");
        goto done;
    }
    if ((st = kgm_tape_new((size_t)B * O * 2 * sizeof(float) + (1u << 20), &tp))) goto done;
    kgm_tensor *w = kgm_params_tensor(ps, iw), *b = kgm_params_tensor(ps, ib);
    /* iterations per repetition: about 50 ms of work each */
    double flop = 6.0 * B * In * O;
    int inner = (int)(0.05 / (flop / 50e9)) + 1;
    if (inner > 20000) inner = 20000;
    res->fwd = res->bwd = 1e30;
    for (int r = 0; r <= c->reps; r++) {
        for (int k = 0; k < inner; k++) {
            kgm_tape_reset(tp);
            kgm_tensor *y;
            double t0 = kgm_now();
            if ((st = kgm_op_linear(tp, x, w, b, &y))) goto done;
            double t1 = kgm_now();
            for (int64_t i = 0; i < (int64_t)B * O; i++) y->grad[i] = 1e-3f;
            double t2 = kgm_now();
            if ((st = kgm_tape_backward_from(tp, y))) goto done;
            double t3 = kgm_now();
            if (r > 0) keep_best(res, t1 - t0, t3 - t2);
        }
    }
done:
    kgm_tape_free(tp);
    kgm_tensor_free(x);
    kgm_params_free(ps);
    return st;
}

/* Figures are named after the nominal shape `nominal_B` (stable names even
 * with --quick, which runs a smaller batch B). */
static void report_linear(const bench_cfg *c, int nominal_B, int B, int In, int O, const fb_time *t,
                          double peak, double *ratio_out) {
    char name[96], what[96];
    double flop = 2.0 * B * In * O;
    double g = 3 * flop / (t->fwd + t->bwd) / 1e9;
    snprintf(name, sizeof name, "linear_%dx%dx%d_gflops", nominal_B, In, O);
    snprintf(what, sizeof what, "linear B=%d %d->%d, forward+backward", B, In, O);
    kgm_bench_figure(&c->out, name, g, "GFLOP/s", what);
    snprintf(name, sizeof name, "linear_%dx%dx%d_peak_ratio", nominal_B, In, O);
    kgm_bench_figure(&c->out, name, g / peak, "ratio", "  of the sgemm peak");
    snprintf(name, sizeof name, "linear_%dx%dx%d_fwd_gflops", nominal_B, In, O);
    kgm_bench_figure(&c->out, name, flop / t->fwd / 1e9, "GFLOP/s", "  forward only");
    snprintf(name, sizeof name, "linear_%dx%dx%d_bwd_gflops", nominal_B, In, O);
    kgm_bench_figure(&c->out, name, 2 * flop / t->bwd / 1e9, "GFLOP/s", "  backward only (dx, dW, db)");
    if (ratio_out) *ratio_out = g / peak;
}

/* ---- embedding gather + sparse scatter ------------------------------------------------ */

/* Gather n random rows of a (rows, D) KGM_TENSOR_SPARSE table, then the
 * backward scatter-adds dy into the touched rows of the table gradient.
 * zero_grad (touched rows only) runs between iterations, untimed. */
static kgm_status bench_embedding(const bench_cfg *c, int32_t rows, int32_t D, int32_t n, fb_time *res) {
    kgm_status st = KGM_OK;
    kgm_params *ps = NULL;
    kgm_tape *tp = NULL;
    int32_t *idx = malloc((size_t)n * sizeof(int32_t)), id;
    if (!idx) return KGM_ERR(KGM_ERR_NOMEM, "bench indices");
    kgm_rng r;
    kgm_rng_init(&r, 7, kgm_rng_stream_id("bench.idx", 0));
    for (int32_t i = 0; i < n; i++) idx[i] = (int32_t)kgm_rng_below(&r, (uint64_t)rows);
    if ((st = kgm_params_new(&ps))) goto done;
    /* zeros: finalize memsets, so every page is touched before timing */
    if ((st = kgm_params_declare(ps, "table", rows, D, (kgm_init){KGM_INIT_ZEROS, 0}, KGM_TENSOR_SPARSE, 0, &id)))
        goto done;
    if ((st = kgm_params_finalize(ps, 1))) goto done;
    if ((st = kgm_tape_new((size_t)n * D * 2 * sizeof(float) + (size_t)n * sizeof(int32_t) + (1u << 20), &tp)))
        goto done;
    kgm_tensor *tab = kgm_params_tensor(ps, id);
    int inner = c->quick ? 3 : 10;
    res->fwd = res->bwd = 1e30;
    for (int rep = 0; rep <= c->reps; rep++) {
        for (int k = 0; k < inner; k++) {
            kgm_params_zero_grad(ps);
            kgm_tape_reset(tp);
            kgm_tensor *y;
            double t0 = kgm_now();
            if ((st = kgm_op_gather(tp, tab, idx, n, &y))) goto done;
            double t1 = kgm_now();
            for (int64_t i = 0; i < (int64_t)n * D; i++) y->grad[i] = 1e-3f;
            double t2 = kgm_now();
            if ((st = kgm_tape_backward_from(tp, y))) goto done;
            double t3 = kgm_now();
            if (rep > 0) keep_best(res, t1 - t0, t3 - t2);
        }
    }
    if (ps->p[id].all_touched) st = KGM_ERR(KGM_ERR_STATE, "bench: the table lost its row-sparse gradient");
done:
    kgm_tape_free(tp);
    kgm_params_free(ps);
    free(idx);
    return st;
}

/* ---- command ------------------------------------------------------------------------ */

static void usage(FILE *f) {
    fprintf(f,
            "usage: kgmtl bench ops [--threads N] [--reps N] [--quick] [--csv]\n\n"
            "Measures, in one run, this machine's cblas_sgemm peak (2048^3) and memcpy\n"
            "bandwidth, then through kgmtl's tape: linear forward+backward GFLOP/s for\n"
            "(B=1024, 512->512) and (B=256, 100->16), and embedding gather + row-sparse\n"
            "gradient scatter for a 1M x 64 table with 65536 random indices; each figure\n"
            "with its ratio to the peak where one applies. Target: the large linear at\n"
            ">= 70%% of the sgemm peak.\n\n"
            "  --threads N  OpenMP and BLAS threads (default: all)\n"
            "  --reps N     timed repetitions, best reported (default 5)\n"
            "  --quick      small sizes, for a smoke test (figures not comparable)\n"
            "  --csv        'figure,value,unit' rows (names in docs/performance.md)\n"
            "  --help       this text\n");
}

/* 1-minute load average (-1 if unknown): a busy machine makes every figure
 * below unreliable, so it is printed with them. */
double kgm_bench_load_1min(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

static void cpu_model(char *buf, size_t n) {
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + strspn(p + 1, " \t");
                p[strcspn(p, "\n")] = '\0';
                snprintf(buf, n, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

int kgm_bench_ops(int argc, char **argv) {
    static const struct option opts[] = {{"threads", required_argument, 0, 't'},
                                          {"reps", required_argument, 0, 'r'},
                                          {"quick", no_argument, 0, 'q'},
                                          {"csv", no_argument, 0, 'c'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    bench_cfg c = {.reps = 5};
    bool csv = false;
    int threads = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "t:r:qch", opts, NULL)) != -1) {
        switch (opt) {
        case 't':
            if (!kgm_bench_parse_threads("ops", optarg, &threads)) return 2;
            break;
        case 'r':
            if (!kgm_bench_parse_threads("ops", optarg, &c.reps)) return 2; /* same range check */
            break;
        case 'q': c.quick = true; break;
        case 'c': csv = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kgmtl bench ops: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (threads > 0) kgm_set_threads(threads);
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    kgm_bench_begin(&c.out, stdout, csv, "kgmtl bench ops");
    const char *wait = getenv("OMP_WAIT_POLICY");
    double load0 = kgm_bench_load_1min();
    kgm_bench_note(&c.out, "  machine: %s; threads: %d; OMP_WAIT_POLICY=%s; load %.2f; %s%s", cpu,
                   kgm_get_threads(), wait ? wait : "(unset)", load0, openblas_get_config(),
                   c.quick ? "; QUICK sizes" : "");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu > 0 && load0 > 0.5 * (double)ncpu)
        kgm_bench_note(&c.out, "  WARNING: busy machine (load %.2f on %ld CPUs): the figures below are unreliable",
                       load0, ncpu);

    int n_gemm = c.quick ? 256 : 2048;
    double peak = bench_sgemm(&c, n_gemm);
    double bw = bench_memcpy(&c, c.quick ? ((size_t)16 << 20) : ((size_t)256 << 20));
    if (peak <= 0 || bw <= 0) {
        fprintf(stderr, "kgmtl bench ops: out of memory\n");
        return 1;
    }
    kgm_bench_figure(&c.out, "threads", kgm_get_threads(), "threads", "OpenMP threads");
    kgm_bench_figure(&c.out, "load_1min", load0, "load", "1-minute load average at the start");
    kgm_bench_figure(&c.out, "sgemm_peak_gflops", peak, "GFLOP/s", "cblas_sgemm 2048^3, best of max(reps, 10) (the peak)");
    kgm_bench_figure(&c.out, "memcpy_gbps", bw, "GB/s", "memcpy 256 MiB, read+write (bandwidth peak)");

    static const int shapes[2][3] = {{1024, 512, 512}, {256, 100, 16}};
    double big_ratio = 0;
    for (int s = 0; s < 2; s++) {
        int B = shapes[s][0], In = shapes[s][1], O = shapes[s][2];
        int run_B = c.quick && s == 0 ? 128 : B;
        fb_time t = {0, 0};
        kgm_status st = bench_linear(&c, run_B, In, O, &t);
        if (st) {
            fail_msg(st);
            return 1;
        }
        report_linear(&c, B, run_B, In, O, &t, peak, s == 0 ? &big_ratio : NULL);
    }

    int32_t rows = c.quick ? 100000 : 1000000, D = 64, n = c.quick ? 8192 : 65536;
    fb_time e = {0, 0};
    kgm_status st = bench_embedding(&c, rows, D, n, &e);
    if (st) {
        fail_msg(st);
        return 1;
    }
    double row_bytes = (double)D * sizeof(float);
    /* bytes: forward reads a row, writes it out (2); backward reads dy and
     * reads+writes the gradient row (3) */
    double gbps = 5 * row_bytes * n / (e.fwd + e.bwd) / 1e9;
    kgm_bench_figure(&c.out, "embedding_1Mx64_rows_per_s", n / (e.fwd + e.bwd), "rows/s",
                     "gather + sparse scatter, 65536 random rows of 1M x 64");
    kgm_bench_figure(&c.out, "embedding_1Mx64_gbps", gbps, "GB/s", "  bytes moved (5 row transfers per row)");
    kgm_bench_figure(&c.out, "embedding_1Mx64_bw_ratio", gbps / bw, "ratio", "  of the memcpy bandwidth");
    kgm_bench_figure(&c.out, "embedding_1Mx64_fwd_gbps", 2 * row_bytes * n / e.fwd / 1e9, "GB/s",
                     "  gather forward only");
    kgm_bench_figure(&c.out, "embedding_1Mx64_bwd_gbps", 3 * row_bytes * n / e.bwd / 1e9, "GB/s",
                     "  scatter backward only");
    kgm_bench_note(&c.out, "  target: linear 1024x512x512 fwd+bwd >= 70%% of the sgemm peak: %s (%.0f%%)",
                   big_ratio >= 0.70 ? "met" : "NOT met", 100 * big_ratio);
    return 0;
}
