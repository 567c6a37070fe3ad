/* The sweep runner: one forked process per run, up to N at a time, with
 * crash isolation, resume and progress. See experiments/runner.h. */
#include "experiments/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/train/checkpoint.h"
#include "core/base/progress.h"
#include "core/train/rundir.h"

/* The one piece of process state: which signal asked the sweep to stop.
 * A signal handler can do nothing else safely. */
static volatile sig_atomic_t stop_signal = 0;

static void on_stop(int sig) { stop_signal = sig; }

int32_t kgm_runner_cores(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int32_t)n : 1;
}

static bool file_exists(const char *dir, const char *name) {
    char p[KGM_PATH + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

static kgm_status mkdir_p(const char *path) {
    char tmp[KGM_PATH];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return KGM_ERR(KGM_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return KGM_ERR(KGM_ERR_IO, "mkdir %s: %s", tmp, strerror(errno));
    return KGM_OK;
}

/* Write `text` to dir/name atomically. */
static kgm_status write_atomic(const char *dir, const char *name, const char *text) {
    char p[KGM_PATH + 64];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return kgm_rundir_write_atomic(p, text, strlen(text));
}

static void write_failed(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_failed(const char *dir, const char *fmt, ...) {
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg - 2, fmt, ap);
    va_end(ap);
    size_t l = strlen(msg);
    if (!l || msg[l - 1] != '\n') memcpy(msg + l, "\n", 2);
    write_atomic(dir, "FAILED", msg);
}

static void fmt_duration(char *buf, size_t n, double s) {
    if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static bool selected(const kgm_plan_run *r, const char *only) {
    if (!only || !*only) return true;
    char gs[KGM_PATH];
    snprintf(gs, sizeof gs, "%s/seed-%llu", r->group, (unsigned long long)r->seed);
    return fnmatch(only, r->group, 0) == 0 || fnmatch(only, gs, 0) == 0;
}

/* The configuration hash a run's DONE must record: of the run as the
 * manifest defines it (before the runner fills in a default thread count,
 * which depends on -j and on how many runs are left). */
static kgm_status plan_hash(const kgm_manifest *m, int32_t i, kgm_run_config *cfg, uint64_t *out) {
    KGM_TRY(kgm_manifest_materialize(m, i, cfg));
    *out = kgm_run_config_hash(cfg);
    return KGM_OK;
}

typedef enum { RS_UNSELECTED, RS_PENDING, RS_PARTIAL, RS_FAILED, RS_DONE, RS_STALE } run_state_id;

/* Where run i stands. A DONE that does not verify (another configuration,
 * damaged files) is RS_STALE with the reason in `why`. */
static run_state_id classify(const kgm_manifest *m, int32_t i, const kgm_runner_opts *o, kgm_run_config *cfg,
                             char *why, size_t n) {
    const kgm_plan_run *r = &kgm_manifest_plan(m)->runs[i];
    why[0] = '\0';
    if (!selected(r, o ? o->only : NULL)) return RS_UNSELECTED;
    if (file_exists(r->dir, "DONE")) {
        uint64_t h = 0;
        kgm_status st = plan_hash(m, i, cfg, &h);
        if (st == KGM_OK) st = kgm_rundir_check_done(r->dir, h);
        if (st == KGM_OK) return RS_DONE;
        snprintf(why, n, "%s", kgm_diag_strip_source(kgm_error_message()));
        return RS_STALE;
    }
    if (file_exists(r->dir, "FAILED")) return RS_FAILED;
    if (file_exists(r->dir, "last.ckpt") || file_exists(r->dir, "metrics.csv")) return RS_PARTIAL;
    return RS_PENDING;
}

static const char *const state_word[] = {"skip (--only)", "pending", "partial", "failed", "done",
                                         "done, NOT reusable"};

void kgm_runner_print_plan(const kgm_manifest *m, const kgm_runner_opts *o, FILE *f) {
    const kgm_plan *p = kgm_manifest_plan(m);
    fprintf(f, "plan: %s — %d run%s (%d configuration%s × %d seed%s), output %s\n", p->title, p->n_runs,
            p->n_runs == 1 ? "" : "s", p->n_points, p->n_points == 1 ? "" : "s", p->n_seeds, p->n_seeds == 1 ? "" : "s",
            p->output);
    for (int32_t a = 0; a < p->n_axes; a++) {
        fprintf(f, "  axis %-28s ", p->axes[a].key);
        for (int32_t v = 0; v < p->axes[a].n_values; v++) fprintf(f, "%s%s", v ? " | " : "", p->axes[a].values[v]);
        fprintf(f, "%s\n", a == 0 && p->n_axes > 1 ? (p->zip ? "   (zip)" : p->one_at_a_time ? "   (one at a time)" : "   (grid)") : "");
    }
    int gw = 5;
    for (int32_t i = 0; i < p->n_runs; i++) {
        int l = (int)strlen(p->runs[i].group);
        if (l > gw) gw = l;
    }
    if (gw > 64) gw = 64;
    fprintf(f, "  %4s  %-*s  %6s  %s\n", "#", gw, "group", "seed", "state");
    kgm_run_config *cfg = malloc(sizeof *cfg);
    char why[512];
    const int32_t limit = 200;
    for (int32_t i = 0; i < p->n_runs && i < limit; i++) {
        const kgm_plan_run *r = &p->runs[i];
        fprintf(f, "  %4d  %-*.*s  %6llu  %s%s\n", i + 1, gw, gw, r->group, (unsigned long long)r->seed,
                cfg ? state_word[classify(m, i, o, cfg, why, sizeof why)] : "?",
                r->baseline && p->n_points > 1 && i == 0 ? "  (baseline)" : "");
    }
    if (p->n_runs > limit) fprintf(f, "  ... %d more\n", p->n_runs - limit);
    free(cfg);
}

/* TSV fields may not hold tabs or newlines. */
static void tsv(FILE *f, const char *s) {
    for (; *s; s++) fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static kgm_status write_sweep(const kgm_manifest *m, kgm_run_config *cfg) {
    const kgm_plan *p = kgm_manifest_plan(m);
    char path[KGM_PATH + 32], tmp[KGM_PATH + 64];
    snprintf(path, sizeof path, "%s/sweep.tsv", p->output);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return KGM_ERR(KGM_ERR_IO, "%s: %s", tmp, strerror(errno));
    fprintf(f, "# kgmtl sweep 1\ntitle\t");
    tsv(f, p->title);
    fprintf(f, "\ndescription\t");
    tsv(f, p->description);
    fprintf(f, "\nmanifest\t");
    tsv(f, p->manifest);
    fputc('\n', f);
    for (int32_t a = 0; a < p->n_axes; a++) {
        fprintf(f, "axis\t");
        tsv(f, p->axes[a].key);
        for (int32_t v = 0; v < p->axes[a].n_values; v++) {
            fputc('\t', f);
            tsv(f, p->axes[a].values[v]);
        }
        fputc('\n', f);
    }
    kgm_status st = KGM_OK;
    for (int32_t i = 0; i < p->n_runs && st == KGM_OK; i++) {
        const kgm_plan_run *r = &p->runs[i];
        st = kgm_manifest_materialize(m, i, cfg);
        fprintf(f, "run\t");
        tsv(f, r->group);
        fprintf(f, "\t%llu\t", (unsigned long long)r->seed);
        tsv(f, r->rel);
        fprintf(f, "\t%d\t", r->baseline ? 1 : 0);
        tsv(f, cfg->published);
        fputc('\n', f);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    if (st == KGM_OK && (bad || rename(tmp, path) != 0)) st = KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
    if (st != KGM_OK) unlink(tmp);
    return st;
}

/* The thread count a run gets when the manifest leaves it to the runner. A
 * continued run keeps the one it started with: the checkpoint's configuration
 * hash includes it (results are bit-identical per thread count), and the
 * default depends on -j and on how many runs are left. */
static int32_t continued_threads(const kgm_plan_run *r, const kgm_runner_opts *o, int32_t threads) {
    char p[KGM_PATH + 32];
    snprintf(p, sizeof p, "%s/last.ckpt", r->dir);
    kgm_run_config *old = o->resume && file_exists(r->dir, "last.ckpt") ? malloc(sizeof *old) : NULL;
    if (old && kgm_checkpoint_read_config(p, old) == KGM_OK && old->train.threads > 0) threads = old->train.threads;
    free(old); /* an unreadable checkpoint: the trainer reports it */
    return threads;
}

/* The child: never returns. */
static _Noreturn void child_main(const kgm_manifest *m, int32_t i, const kgm_runner_opts *o, bool redirect,
                                 int32_t threads) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    const kgm_plan_run *r = &kgm_manifest_plan(m)->runs[i];
    if (redirect) {
        char p[KGM_PATH + 32];
        snprintf(p, sizeof p, "%s/console.log", r->dir);
        int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
    }
    kgm_run_config *cfg = malloc(sizeof *cfg);
    uint64_t hash = 0;
    kgm_status st = cfg ? plan_hash(m, i, cfg, &hash) : KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    if (st == KGM_OK) {
        if (cfg->train.threads == 0) cfg->train.threads = continued_threads(r, o, threads);
        kgm_train_opts to;
        memset(&to, 0, sizeof to);
        to.resume = o->resume;
        to.quiet = o->quiet;
        for (int k = 0; k < 7 && o->plugin_dirs[k]; k++) to.plugin_dirs[k] = o->plugin_dirs[k];
        kgm_train_result *res = calloc(1, sizeof *res);
        st = res ? o->work(o->work_user, cfg, &to, res) : KGM_ERR(KGM_ERR_NOMEM, "out of memory");
        free(res);
        /* DONE with the manifest-level hash a resume checks (the trainer's
         * own DONE hashed the configuration with the thread count filled in) */
        if (st == KGM_OK) st = kgm_rundir_write_done(r->dir, hash);
    }
    if (st != KGM_OK) {
        const char *msg = kgm_error_message();
        write_failed(r->dir, "%s: %s", kgm_status_str(st), msg[0] ? msg : "(no message)");
        fprintf(stderr, "run %s seed %llu failed: %s\n", r->group, (unsigned long long)r->seed, msg);
    }
    free(cfg);
    fflush(stdout);
    fflush(stderr);
    _exit(st == KGM_OK ? 0 : 1);
}

/* The runs this invocation runs, with each run's state and the
 * configuration hash its DONE must record. */
typedef struct {
    int32_t *run, n;      /* plan indices to run, in plan order */
    uint8_t *state;       /* run_state_id per plan run */
    uint64_t *hash;       /* per plan run (selected runs only) */
    int32_t n_existing, n_stale;
} sweep_todo;

static void todo_free(sweep_todo *t) {
    free(t->run);
    free(t->state);
    free(t->hash);
}

/* Print the finished runs that cannot be reused, with the reason. */
static void list_stale(const kgm_manifest *m, const kgm_runner_opts *o, const sweep_todo *t, FILE *out) {
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_run_config *cfg = malloc(sizeof *cfg);
    char why[512];
    for (int32_t i = 0; cfg && i < p->n_runs; i++)
        if (t->state[i] == RS_STALE && classify(m, i, o, cfg, why, sizeof why) == RS_STALE)
            fprintf(out, "  not reusable: %s/seed-%llu: %s\n", p->runs[i].group, (unsigned long long)p->runs[i].seed, why);
    free(cfg);
}

static kgm_status plan_todo(const kgm_manifest *m, const kgm_runner_opts *o, kgm_sweep_stats *s, sweep_todo *t,
                            FILE *out) {
    const kgm_plan *p = kgm_manifest_plan(m);
    size_t n = (size_t)(p->n_runs ? p->n_runs : 1);
    memset(t, 0, sizeof *t);
    t->run = malloc(n * sizeof *t->run);
    t->state = calloc(n, 1);
    t->hash = calloc(n, sizeof *t->hash);
    kgm_run_config *cfg = malloc(sizeof *cfg);
    kgm_status st = t->run && t->state && t->hash && cfg ? KGM_OK : KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    char why[512];
    for (int32_t i = 0; i < p->n_runs && st == KGM_OK; i++) {
        run_state_id rs = classify(m, i, o, cfg, why, sizeof why);
        t->state[i] = (uint8_t)rs;
        if (rs == RS_UNSELECTED) continue;
        s->selected++;
        if ((st = plan_hash(m, i, cfg, &t->hash[i]))) break;
        if (rs != RS_PENDING) t->n_existing++;
        if (rs == RS_STALE) t->n_stale++;
        if (rs == RS_DONE && o->resume) {
            s->skipped++;
            continue;
        }
        if (rs == RS_STALE && !o->rerun_changed) continue; /* refused below, never re-run in place */
        t->run[t->n++] = i;
    }
    free(cfg);
    if (st != KGM_OK) todo_free(t);
    else if (t->n_stale && o->resume) list_stale(m, o, t, out);
    return st;
}

/* Without --resume nothing that exists is touched; with it, finished runs
 * that do not verify are not reused, and not redone without --rerun-changed. */
static kgm_status refuse_existing(const kgm_manifest *m, const kgm_runner_opts *o, const sweep_todo *t, FILE *out) {
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_status st = KGM_OK;
    if (t->n_existing && !o->resume)
        st = KGM_ERR(KGM_ERR_STATE,
                     "%d run%s in %s already %s results: pass --resume to continue the sweep (finished runs are "
                     "skipped), or remove the directory",
                     t->n_existing, t->n_existing == 1 ? "" : "s", p->output, t->n_existing == 1 ? "has" : "have");
    else if (t->n_stale && !o->rerun_changed)
        st = KGM_ERR(KGM_ERR_STATE,
                     "%d finished run%s in %s cannot be reused (listed above: the configuration changed or the files "
                     "do not verify); nothing was run. Write to a new output folder (--output DIR), or pass "
                     "--rerun-changed to move those run folders to %s/.superseded/ and run them again",
                     t->n_stale, t->n_stale == 1 ? "" : "s", p->output, p->output);
    else if (o->rerun_changed && !t->n_stale)
        fprintf(out, "--rerun-changed: every finished run matches the manifest; none is run again\n");
    return st;
}

/* Move a run folder to OUTPUT/.superseded/REL.N (first free N): a run that
 * starts over never overwrites or deletes what an earlier run wrote. */
static kgm_status move_aside(const kgm_plan *p, const kgm_plan_run *r, const char *why, FILE *out) {
    char dst[2 * KGM_PATH + 64], parent[2 * KGM_PATH + 64];
    if (snprintf(parent, sizeof parent, "%s/.superseded/%s", p->output, r->rel) >= KGM_PATH - 16)
        return KGM_ERR(KGM_ERR_IO, "%s/.superseded/%s: path too long to move %s aside", p->output, r->rel, r->dir);
    *strrchr(parent, '/') = '\0';
    KGM_TRY(mkdir_p(parent));
    struct stat sb;
    int k = 1;
    do snprintf(dst, sizeof dst, "%s/.superseded/%s.%d", p->output, r->rel, k++);
    while (lstat(dst, &sb) == 0);
    if (rename(r->dir, dst) != 0) return KGM_ERR(KGM_ERR_IO, "cannot move %s to %s: %s", r->dir, dst, strerror(errno));
    fprintf(out, "moved %s (%s) to %s; it runs again from scratch\n", r->rel, why, dst);
    return KGM_OK;
}

typedef struct {
    pid_t pid;
    int32_t run;
    double t0;
} slot;

kgm_status kgm_runner_run(const kgm_manifest *m, const kgm_runner_opts *opts, kgm_sweep_stats *stats) {
    const kgm_plan *p = kgm_manifest_plan(m);
    kgm_runner_opts o = *opts;
    FILE *out = o.out ? o.out : stdout;
    if (o.jobs <= 0) o.jobs = 1;
    kgm_sweep_stats st0 = {0};
    kgm_sweep_stats *s = stats ? stats : &st0;
    memset(s, 0, sizeof *s);
    s->total = p->n_runs;
    if (!o.work && !o.dry_run) return KGM_ERR(KGM_ERR_ARG, "the runner needs a work function");

    sweep_todo t;
    kgm_status st = plan_todo(m, &o, s, &t, out);
    if (st != KGM_OK) return st;
    kgm_runner_print_plan(m, &o, out);
    if (o.dry_run) {
        fprintf(out, "dry run: %d of %d runs would run%s\n", t.n, p->n_runs, o.resume ? "" : " (without --resume)");
        todo_free(&t);
        return KGM_OK;
    }
    st = refuse_existing(m, &o, &t, out);
    if (st == KGM_OK) st = mkdir_p(p->output);
    /* one sweep per output directory at a time (released when the process ends) */
    int lock_fd = -1;
    if (st == KGM_OK) {
        char lp[KGM_PATH + 32];
        snprintf(lp, sizeof lp, "%s/.sweep.lock", p->output);
        lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0) st = KGM_ERR(KGM_ERR_IO, "%s: %s", lp, strerror(errno));
        else if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
            st = KGM_ERR(KGM_ERR_STATE, "another kgmtl run is already writing to %s", p->output);
    }
    /* only now, holding the lock: old run folders that are started over go aside */
    for (int32_t k = 0; k < t.n && st == KGM_OK; k++)
        if (t.state[t.run[k]] == RS_STALE || (t.state[t.run[k]] == RS_FAILED && o.retry_failed))
            st = move_aside(p, &p->runs[t.run[k]], t.state[t.run[k]] == RS_STALE ? "not reusable" : "failed", out);
    kgm_run_config *cfg = st == KGM_OK ? malloc(sizeof *cfg) : NULL;
    if (st == KGM_OK && !cfg) st = KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    if (st == KGM_OK) st = write_sweep(m, cfg);
    free(cfg);
    for (int32_t k = 0; k < t.n && st == KGM_OK; k++) st = mkdir_p(p->runs[t.run[k]].dir);
    if (st != KGM_OK) {
        if (lock_fd >= 0) close(lock_fd);
        todo_free(&t);
        return st;
    }
    int32_t *todo = t.run, n_todo = t.n;

    int32_t cores = kgm_runner_cores();
    int32_t jobs = o.jobs < n_todo ? o.jobs : (n_todo ? n_todo : 1);
    int32_t threads = o.threads > 0 ? o.threads : (cores / jobs > 0 ? cores / jobs : 1);
    bool redirect = jobs > 1 || o.quiet;
    fprintf(out, "running %d run%s (%d skipped as finished) with %d worker%s × %d thread%s%s\n", n_todo,
            n_todo == 1 ? "" : "s", s->skipped, jobs, jobs == 1 ? "" : "s", threads, threads == 1 ? "" : "s",
            redirect ? "; run output in <run>/console.log" : "");
    fflush(out);

    slot *slots = calloc((size_t)jobs, sizeof *slots);
    if (!slots) {
        close(lock_fd);
        todo_free(&t);
        return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    double t_start = kgm_now(), busy = 0;
    int32_t next = 0, running = 0, finished = 0;
    bool forwarded = false;
    while (next < n_todo || running > 0) {
        while (!stop_signal && running < jobs && next < n_todo) {
            int32_t i = todo[next++];
            const kgm_plan_run *r = &p->runs[i];
            char failed_path[KGM_PATH + 16];
            snprintf(failed_path, sizeof failed_path, "%s/FAILED", r->dir);
            unlink(failed_path); /* a retried run starts clean */
            snprintf(failed_path, sizeof failed_path, "%s/DONE", r->dir);
            unlink(failed_path); /* success is a DONE this process writes */
            fprintf(out, "[%d/%d] start  %s seed %llu%s\n", s->skipped + finished + running + 1, s->selected, r->group,
                    (unsigned long long)r->seed,
                    o.resume && file_exists(r->dir, "last.ckpt") ? " (resuming)" : "");
            fflush(out);
            fflush(stdout);
            fflush(stderr);
            pid_t pid = fork();
            if (pid < 0) {
                st = KGM_ERR(KGM_ERR_IO, "fork: %s", strerror(errno));
                next = n_todo;
                break;
            }
            if (pid == 0) child_main(m, i, &o, redirect, threads);
            int32_t k = 0;
            while (slots[k].pid) k++;
            slots[k] = (slot){pid, i, kgm_now()};
            running++;
        }
        if (running == 0) break;
        if (stop_signal && !forwarded) {
            /* pass the stop on (a terminal's Ctrl-C already reached them; kill(1) did not) */
            for (int32_t k = 0; k < jobs; k++)
                if (slots[k].pid) kill(slots[k].pid, SIGTERM);
            forwarded = true;
        }
        int wst = 0;
        pid_t pid = waitpid(-1, &wst, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            if (errno == ECHILD) break;
            st = KGM_ERR(KGM_ERR_IO, "waitpid: %s", strerror(errno));
            break;
        }
        int32_t k = 0;
        while (k < jobs && slots[k].pid != pid) k++;
        if (k == jobs) continue; /* not one of ours */
        const kgm_plan_run *r = &p->runs[slots[k].run];
        double dt = kgm_now() - slots[k].t0;
        slots[k].pid = 0;
        running--;
        /* success is the run's DONE, not the exit status: a plugin that
         * calls exit(0) half-way leaves status 0 and no results */
        bool exit0 = WIFEXITED(wst) && WEXITSTATUS(wst) == 0;
        bool ok = exit0 && kgm_rundir_check_done(r->dir, t.hash[slots[k].run]) == KGM_OK;
        bool interrupted = stop_signal && WIFSIGNALED(wst) && (WTERMSIG(wst) == SIGINT || WTERMSIG(wst) == SIGTERM);
        const char *word = "ok";
        if (interrupted) {
            word = "stopped";
        } else if (!ok) {
            word = "FAILED";
            if (exit0)
                write_failed(r->dir, "the run's process exited with status 0 before the run finished (%s): a plugin or "
                             "library called exit()? see run.log / console.log in this directory",
                             kgm_diag_strip_source(kgm_error_message()));
            else if (WIFSIGNALED(wst))
                write_failed(r->dir, "killed by signal %d (%s); see run.log / console.log in this directory",
                             WTERMSIG(wst), strsignal(WTERMSIG(wst)));
            else if (!file_exists(r->dir, "FAILED"))
                write_failed(r->dir, "exited with status %d without a message; see run.log / console.log",
                             WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
        }
        if (interrupted) {
            finished++;
            continue;
        }
        finished++;
        busy += dt;
        if (ok) s->ok++;
        else s->failed++;
        int32_t remaining = n_todo - (s->ok + s->failed);
        int32_t par = remaining < jobs ? remaining : jobs;
        double eta = remaining > 0 ? busy / (s->ok + s->failed) * remaining / (par ? par : 1) : 0;
        char d1[32], d2[32];
        fmt_duration(d1, sizeof d1, dt);
        fmt_duration(d2, sizeof d2, eta);
        fprintf(out, "[%d/%d] %-6s %s seed %llu (%s) · done %d/%d, failed %d%s%s\n", s->skipped + s->ok + s->failed,
                s->selected, word, r->group, (unsigned long long)r->seed, d1, s->skipped + s->ok + s->failed,
                s->selected, s->failed, remaining > 0 ? ", ETA " : "", remaining > 0 ? d2 : "");
        if (!ok) {
            char fp[KGM_PATH + 16];
            snprintf(fp, sizeof fp, "%s/FAILED", r->dir);
            FILE *ff = fopen(fp, "r");
            char line[512] = "";
            if (ff) {
                if (!fgets(line, sizeof line, ff)) line[0] = '\0';
                fclose(ff);
            }
            fprintf(out, "         %s", line[0] ? line : "(no message)\n");
        }
        fflush(out);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    s->seconds = kgm_now() - t_start;
    s->interrupted = stop_signal != 0;
    close(lock_fd);
    free(slots);
    todo_free(&t);
    if (st != KGM_OK) return st;
    char d[32];
    fmt_duration(d, sizeof d, s->seconds);
    if (s->interrupted) {
        fprintf(out, "sweep interrupted after %s: %d ok, %d failed; continue with --resume\n", d, s->ok, s->failed);
        return KGM_ERR(KGM_ERR_INTERRUPTED, "interrupted by signal %d", (int)stop_signal);
    }
    fprintf(out, "sweep finished in %s: %d ok, %d failed, %d skipped (already finished)\n", d, s->ok, s->failed,
            s->skipped);
    return KGM_OK;
}
