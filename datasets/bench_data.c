/* `kgmtl bench data`: parse throughput of a generated ratings CSV and the
 * binary cache's save/load times. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/tensor/bench.h"
#include "datasets/load.h"
#include "datasets/tools.h"
#include "core/base/progress.h"
#include "core/base/rng.h"

/* CPU time of this process: on a shared machine wall time also counts the
 * time other processes held the core. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f) {
    fprintf(f, "usage: kgmtl bench data [--rows N] [--csv] [--keep DIR] [--help]\n\n"
               "Writes an N-row ratings CSV (user,item,rating,timestamp; default 20000000 rows,\n"
               "about 0.6 GB) to a temporary folder, parses it on one core, then saves and\n"
               "reloads the binary cache. Figures: load_1min, data_parse_mb_s, data_parse_rows_s,\n"
               "data_parse_cpu_mb_s, data_parse_s, data_cache_save_s, data_cache_load_s, data_cache_mb.\n"
               "  --rows N     number of rows (>= 1000)\n"
               "  --keep DIR   write the files into DIR and keep them\n"
               "  --csv        figure,value,unit rows\n");
}

static char *put_u(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* The CSV is generated with a fixed seed so that figures compare run to run. */
static int write_csv(const char *path, int64_t rows) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    kgm_rng r;
    kgm_rng_init(&r, 42, kgm_rng_stream_id("bench-data", 0));
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK + 128);
    if (!buf) {
        fclose(f);
        return 1;
    }
    char *p = buf;
    p += sprintf(p, "userId,movieId,rating,timestamp\n");
    int64_t users = rows / 100 > 1000 ? rows / 100 : 1000, items = rows / 400 > 500 ? rows / 400 : 500;
    for (int64_t i = 0; i < rows; i++) {
        uint64_t x = kgm_rng_u64(&r);
        p = put_u(p, (uint64_t)(i * users / rows));         /* users in blocks, like real exports */
        *p++ = ',';
        p = put_u(p, (x >> 8) % (uint64_t)items);
        *p++ = ',';
        unsigned half = 1 + (unsigned)((x >> 40) % 10); /* 0.5 .. 5.0 */
        p = put_u(p, half / 2);
        *p++ = '.';
        *p++ = half % 2 ? '5' : '0';
        *p++ = ',';
        p = put_u(p, 828000000u + (x >> 34) % 700000000u);
        *p++ = '\n';
        if (p - buf >= CHUNK) {
            if (fwrite(buf, 1, (size_t)(p - buf), f) != (size_t)(p - buf)) break;
            p = buf;
        }
    }
    bool ok = fwrite(buf, 1, (size_t)(p - buf), f) == (size_t)(p - buf);
    ok = fclose(f) == 0 && ok;
    free(buf);
    if (!ok) fprintf(stderr, "kgmtl bench data: cannot write %s\n", path);
    return ok ? 0 : 1;
}

int kgm_bench_data(int argc, char **argv) {
    int64_t rows = 20000000;
    bool csv = false;
    const char *keep = NULL;
    static const struct option opts[] = {{"rows", required_argument, 0, 'r'}, {"csv", no_argument, 0, 'c'},
                                         {"keep", required_argument, 0, 'k'}, {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    optind = 0; /* 0: full re-initialisation of GNU getopt (permutes INPUT after options) */
    int c;
    while ((c = getopt_long(argc, argv, "r:ck:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 1000 || v > 2000000000LL) {
                fprintf(stderr, "kgmtl bench data: --rows expects an integer >= 1000, found %s\n", optarg);
                return 2;
            }
            rows = v;
            break;
        }
        case 'c': csv = true; break;
        case 'k': keep = optarg; break;
        case 't': break; /* the parser is single-threaded by design */
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kgmtl bench data: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    char dir[1024];
    if (keep) {
        snprintf(dir, sizeof dir, "%s", keep);
        mkdir(dir, 0755);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/kgmtl-bench-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    char csvp[1100], cachep[1100];
    snprintf(csvp, sizeof csvp, "%s/ratings.csv", dir);
    snprintf(cachep, sizeof cachep, "%s/ratings.kgd", dir);
    kgm_bench_out out;
    kgm_bench_begin(&out, stdout, csv, "kgmtl bench data");
    kgm_bench_figure(&out, "load_1min", kgm_bench_load_1min(), "load", "1-minute load average at the start");
    double t0 = kgm_now();
    int rc = write_csv(csvp, rows);
    if (rc) return 1;
    double tgen = kgm_now() - t0;
    struct stat st;
    stat(csvp, &st);
    double mb = (double)st.st_size / 1e6;
    kgm_bench_note(&out, "generated %lld rows (%.1f MB) in %.2f s: %s", (long long)rows, mb, tgen, csvp);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    kgm_text_format f;
    kgm_text_format_default(&f, KGM_TEXT_INTERACTIONS);
    f.delim = ',';
    f.header = 1;
    f.cols[2] = 2;
    f.cols[3] = 3;
    t0 = kgm_now();
    double c0 = cpu_now();
    kgm_status s = kgm_load_interactions(csvp, &f, &o, &ds);
    double tparse = kgm_now() - t0, cparse = cpu_now() - c0;
    if (s != KGM_OK) {
        fprintf(stderr, "kgmtl bench data: %s\n", kgm_error_message());
        kgm_dataset_destroy(&ds);
        return 1;
    }
    kgm_bench_figure(&out, "data_rows", (double)ds.inter.n, "rows", "ratings parsed");
    kgm_bench_figure(&out, "data_csv_mb", mb, "MB", "size of the CSV");
    kgm_bench_figure(&out, "data_parse_s", tparse, "s", "parse (ids interned, duplicates counted, checksum)");
    kgm_bench_figure(&out, "data_parse_mb_s", mb / tparse, "MB/s", "parse throughput, one core");
    kgm_bench_figure(&out, "data_parse_rows_s", (double)ds.inter.n / tparse, "rows/s", "parse throughput, one core");
    kgm_bench_figure(&out, "data_parse_cpu_mb_s", mb / cparse, "MB/s",
                     "parse throughput per CPU second (user+sys; differs from wall time on a busy machine)");
    t0 = kgm_now();
    s = kgm_dataset_save(&ds, cachep);
    double tsave = kgm_now() - t0;
    kgm_dataset_destroy(&ds);
    if (s != KGM_OK) {
        fprintf(stderr, "kgmtl bench data: %s\n", kgm_error_message());
        return 1;
    }
    stat(cachep, &st);
    double cmb = (double)st.st_size / 1e6;
    t0 = kgm_now();
    s = kgm_dataset_load(cachep, NULL, &ds);
    double tload = kgm_now() - t0;
    if (s != KGM_OK) {
        fprintf(stderr, "kgmtl bench data: %s\n", kgm_error_message());
        return 1;
    }
    kgm_dataset_destroy(&ds);
    kgm_bench_figure(&out, "data_cache_mb", cmb, "MB", "size of the binary cache");
    kgm_bench_figure(&out, "data_cache_save_s", tsave, "s", "cache save");
    kgm_bench_figure(&out, "data_cache_load_s", tload, "s", "cache load (checksum + validation)");
    kgm_bench_figure(&out, "data_cache_speedup", tparse / tload, "x", "parse time / cache load time");
    if (!keep) {
        unlink(csvp);
        unlink(cachep);
        rmdir(dir);
    }
    return 0;
}
