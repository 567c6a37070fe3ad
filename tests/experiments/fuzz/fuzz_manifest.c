/* libFuzzer harness for the manifest parser: the input is written to a
 * manifest file and loaded (YAML syntax, aliases, schema, cross-field rules,
 * base: inheritance, ablation expansion), then every run is materialised into
 * a configuration. Plugins are not opened (no check_task hook). Built with
 * -Dfuzz=true (clang); the same function is replayed over the seed corpus
 * and the shipped manifests by tests/experiments/test_manifest_fuzz.c in the
 * default suite.
 *
 * Input: MAIN, optionally followed by the line "#%base.yaml" and the text of
 * the base file MAIN may name (`base: base.yaml`), so YAML anchors and
 * aliases in both files and their merge are fuzzed together; without it the
 * base file is a fixed valid manifest. Beside them is a directory `sub` (for
 * `base: sub`). Each input is loaded twice: from a FIFO at the manifest's
 * path (a writer thread feeds it, as `cat m.yaml > fifo &` would), then from
 * the regular file; both must give the same status and the same diagnostics
 * (a FIFO read twice blocks or finds it drained). The replay runs the FIFO
 * load for one input in fuzz_fifo_every. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/train/config.h"
#include "experiments/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char base_sep[] = "\n#%base.yaml\n";
static const char base_default[] = "dataset: {source: world, n_users: 50}\ntasks:\n  - plugin: ctr\nseeds: 2\n";

/* One scratch folder per process, removed at exit: the manifest, the base
 * file it may name and an empty directory. */
static char dir[64];
static long fuzz_inputs, fuzz_compared; /* inputs seen; of them, loaded from a FIFO too and compared */
/* Every how many inputs the FIFO twin runs: 1 when fuzzing; the default-suite
 * replay thins it (its hand-shake costs a few context switches, ~1 ms on a
 * loaded 2-core machine, for a class of bug any one input finds). */
static long fuzz_fifo_every = 1;

static void scratch_path(char *p, size_t n, const char *name) { snprintf(p, n, "%s/%s", dir, name); }

static void scratch_remove(void) {
    char p[128];
    scratch_path(p, sizeof p, "m.yaml");
    unlink(p);
    scratch_path(p, sizeof p, "base.yaml");
    unlink(p);
    scratch_path(p, sizeof p, "sub");
    rmdir(p);
    rmdir(dir);
}

static const char *scratch(void) {
    if (!dir[0]) {
        /* tmpfs when there is one: the harness writes files per input */
        snprintf(dir, sizeof dir, "/dev/shm/kgmtl-fuzz-manifest-XXXXXX");
        if (!mkdtemp(dir)) {
            snprintf(dir, sizeof dir, "/tmp/kgmtl-fuzz-manifest-XXXXXX");
            if (!mkdtemp(dir)) abort();
        }
        char p[128];
        scratch_path(p, sizeof p, "sub");
        if (mkdir(p, 0700) != 0) abort();
        signal(SIGPIPE, SIG_IGN); /* a FIFO reader that stops early must not kill the writer thread */
        atexit(scratch_remove);
    }
    return dir;
}

/* The first occurrence of `sep` in d[0, n), or NULL (memmem is a GNU extension). */
static const uint8_t *find_sep(const uint8_t *d, size_t n, const char *sep, size_t sl) {
    for (size_t i = 0; i + sl <= n; i++)
        if (!memcmp(d + i, sep, sl)) return d + i;
    return NULL;
}

static void write_file(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(d, 1, n, f) != n) abort();
    fclose(f);
}

/* The base file, rewritten only when it changes (most inputs keep the default). */
static void write_base(const char *path, const uint8_t *d, size_t n) {
    static uint8_t *last;
    static size_t last_n = SIZE_MAX;
    if (n == last_n && (!n || !memcmp(last, d, n))) return;
    write_file(path, d, n);
    free(last);
    last = malloc(n ? n : 1);
    if (!last) abort();
    memcpy(last, d, n);
    last_n = n;
}

typedef struct {
    const char *path;
    const uint8_t *data;
    size_t size;
    atomic_bool done;
} fifo_feed;

static void *feed_fifo(void *arg) {
    fifo_feed *f = arg;
    int fd;
    do fd = open(f->path, O_WRONLY); /* libFuzzer's timer signal may interrupt it */
    while (fd < 0 && errno == EINTR);
    for (size_t o = 0; fd >= 0 && o < f->size;) {
        ssize_t k = write(fd, f->data + o, f->size - o);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        o += (size_t)k;
    }
    if (fd >= 0) close(fd);
    atomic_store(&f->done, true);
    return NULL;
}

static kgm_status load(const char *path, kgm_diag_list *dl) {
    kgm_manifest *m = NULL;
    kgm_status st = kgm_manifest_load(path, NULL, dl, &m);
    if (st == KGM_OK && m) {
        const kgm_plan *p = kgm_manifest_plan(m);
        kgm_run_config *c = malloc(sizeof *c);
        if (!c) abort();
        for (int32_t i = 0; i < p->n_runs && i < 64; i++) (void)kgm_manifest_materialize(m, i, c);
        free(c);
    }
    kgm_manifest_free(m);
    return st;
}

/* Load `path` as a FIFO fed with the manifest's bytes. */
static kgm_status load_fifo(const char *path, const uint8_t *d, size_t n, kgm_diag_list *dl) {
    unlink(path);
    if (mkfifo(path, 0600) != 0) abort();
    fifo_feed feed = {path, d, n, false};
    pthread_t th;
    if (pthread_create(&th, NULL, feed_fifo, &feed) != 0) abort();
    kgm_status st = load(path, dl);
    /* a loader that gave up before reading to the end (or before opening)
     * leaves the writer blocked: be its reader until it is done */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    char sink[4096];
    while (fd >= 0 && !atomic_load(&feed.done))
        if (read(fd, sink, sizeof sink) <= 0) usleep(100);
    if (fd >= 0) close(fd);
    pthread_join(th, NULL);
    unlink(path);
    return st;
}

static void same_or_abort(kgm_status sa, const kgm_diag_list *a, kgm_status sb, const kgm_diag_list *b) {
    bool same = sa == sb && a->n == b->n;
    for (int32_t i = 0; same && i < a->n; i++)
        same = !strcmp(a->items[i].where, b->items[i].where) && !strcmp(a->items[i].msg, b->items[i].msg);
    if (same) return;
    fprintf(stderr, "fuzz_manifest: the manifest read from a FIFO (status %d) and from a file (status %d) differ\n", sa, sb);
    kgm_diag_print(a, stderr);
    fprintf(stderr, "--- from the file:\n");
    kgm_diag_print(b, stderr);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[128], bpath[128];
    scratch();
    scratch_path(path, sizeof path, "m.yaml");
    scratch_path(bpath, sizeof bpath, "base.yaml");
    const uint8_t *sep = find_sep(data, size, base_sep, sizeof base_sep - 1);
    size_t main_n = sep ? (size_t)(sep - data) : size;
    if (sep) write_base(bpath, sep + sizeof base_sep - 1, size - main_n - (sizeof base_sep - 1));
    else write_base(bpath, (const uint8_t *)base_default, sizeof base_default - 1);

    kgm_diag_list from_fifo = {0}, from_file = {0};
    bool twin = fuzz_inputs++ % fuzz_fifo_every == 0;
    kgm_status sa = twin ? load_fifo(path, data, main_n, &from_fifo) : KGM_OK;
    write_file(path, data, main_n); /* left in place: the replay test reloads it */
    kgm_status sb = load(path, &from_file);
    if (twin) {
        same_or_abort(sa, &from_fifo, sb, &from_file);
        fuzz_compared++;
    }
    kgm_diag_list_destroy(&from_fifo);
    kgm_diag_list_destroy(&from_file);
    return 0;
}
