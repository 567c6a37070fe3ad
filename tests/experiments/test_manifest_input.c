/* Manifests as hostile input (issue 13): recursive, undefined and exploding
 * YAML aliases (also across base: files), nesting limits, non-scalar keys,
 * base: naming a directory, and manifests that are FIFOs or pipes (read once). */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "tests/experiments/exp_util.h"
#include "core/plugin/host.h"
#include "kgmtl/kgmtl.h"
#include "experiments/manifest.h"

static char dir[KGM_PATH];
static kgm_run_config *cfg;

static void setup(void) {
    kgm_init_runtime();
    eu_tmpdir(dir, sizeof dir);
    cfg = malloc(sizeof *cfg);
    cr_assert_not_null(cfg);
}

static void teardown(void) {
    free(cfg);
    eu_rm_rf(dir);
}

TestSuite(manifest_input, .init = setup, .fini = teardown);

static kgm_status load_path(const char *p, kgm_diag_list *dl, kgm_manifest **m) {
    kgm_status st = kgm_manifest_load(p, NULL, dl, m);
    if (st != KGM_OK) kgm_diag_print(dl, stderr);
    return st;
}

/* Load dir/name expecting failure; returns the diagnostics. */
static kgm_diag_list load_bad(const char *name) {
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    kgm_diag_list dl = {0};
    kgm_manifest *m = (kgm_manifest *)1;
    cr_assert_eq(kgm_manifest_load(p, NULL, &dl, &m), KGM_ERR_ARG);
    cr_assert_null(m);
    cr_assert_gt(dl.n, 0);
    return dl;
}

/* Assert diagnostic i is at "NAME:line:col" and its message contains `part`. */
static void expect_diag(const kgm_diag_list *dl, int i, const char *name, int line, int col, const char *part) {
    cr_assert_lt(i, dl->n, "only %d diagnostics", dl->n);
    char w[2 * KGM_PATH];
    snprintf(w, sizeof w, "%s/%s:%d:%d", dir, name, line, col);
    cr_expect_str_eq(dl->items[i].where, w, "diag %d: %s: %s", i, dl->items[i].where, dl->items[i].msg);
    cr_expect_not_null(strstr(dl->items[i].msg, part), "diag %d message '%s' lacks '%s'", i, dl->items[i].msg, part);
}

static void no_diag_mentions(const kgm_diag_list *dl, const char *part) {
    for (int32_t i = 0; i < dl->n; i++)
        cr_expect_null(strstr(dl->items[i].msg, part), "diag %d: %s: %s", i, dl->items[i].where, dl->items[i].msg);
}

/* ---- aliases ---- */

Test(manifest_input, recursive_alias_across_base_is_an_error) {
    /* the input: exit 139 (unbounded recursion in the base: merge) */
    eu_write(dir, "cb.yaml", "encoder: &b {x: *b}\n");
    eu_write(dir, "cc.yaml", "base: cb.yaml\nencoder: &e {x: *e}\ntasks:\n  - plugin: ctr\n");
    kgm_diag_list dl = load_bad("cc.yaml");
    cr_assert_eq(dl.n, 2);
    /* reading errors come in the order the files were read: the child first */
    expect_diag(&dl, 0, "cc.yaml", 2, 17, "recursive alias");
    expect_diag(&dl, 1, "cb.yaml", 1, 17, "alias *b: expected an alias to a complete node");
    kgm_diag_list_destroy(&dl);
}

Test(manifest_input, recursive_alias_without_base_is_an_error) {
    eu_write(dir, "r.yaml", "tasks:\n  - plugin: ctr\nencoder: &e\n  dim: 8\n  more: [1, *e]\nseeds: &s [1, *s]\n");
    kgm_diag_list dl = load_bad("r.yaml");
    expect_diag(&dl, 0, "r.yaml", 5, 3, "unknown key 'more' in encoder");
    expect_diag(&dl, 1, "r.yaml", 5, 13, "recursive alias");
    expect_diag(&dl, 2, "r.yaml", 6, 15, "alias *s: expected an alias to a complete node");
    expect_diag(&dl, 3, "r.yaml", 6, 15, "seeds[1]: expected a non-negative integer, found null"); /* it stands for null */
    cr_assert_eq(dl.n, 4);
    kgm_diag_list_destroy(&dl);
}

Test(manifest_input, undefined_alias_is_an_error_at_its_position) {
    /* was: accepted, the default dim kept, and the keys after it shifted */
    eu_write(dir, "u.yaml", "tasks:\n  - plugin: ctr\nencoder: {dim: *nope, text: hash}\nseeds: [1, *gone, 3]\n");
    kgm_diag_list dl = load_bad("u.yaml");
    cr_assert_eq(dl.n, 3, "text: hash after the alias is still read as text (no shift)");
    expect_diag(&dl, 0, "u.yaml", 3, 16, "expected an alias to an anchor defined before it (&nope), found the undefined alias *nope");
    expect_diag(&dl, 1, "u.yaml", 4, 12, "undefined alias *gone");
    expect_diag(&dl, 2, "u.yaml", 4, 12, "seeds[1]: expected a non-negative integer, found null"); /* it stands for null */
    kgm_diag_list_destroy(&dl);

    /* anchors are per file: a base's anchor is not visible in the child */
    eu_write(dir, "ab.yaml", "x: &d 24\ntasks:\n  - plugin: ctr\n");
    eu_write(dir, "ac.yaml", "base: ab.yaml\nencoder: {dim: *d}\n");
    dl = load_bad("ac.yaml");
    expect_diag(&dl, 0, "ac.yaml", 2, 16, "undefined alias *d");
    expect_diag(&dl, 1, "ab.yaml", 1, 1, "unknown top-level key 'x'");
    kgm_diag_list_destroy(&dl);
}

Test(manifest_input, aliases_within_the_limits_share_their_value) {
    eu_write(dir, "base.yaml", "tasks:\n  - &t {plugin: ctr, weight: 2}\n  - *t\noptimisation: &o {epochs: 3}\n");
    eu_write(dir, "ok.yaml",
             "base: base.yaml\n"
             "encoder: {dim: &d 24, text: hash}\n"
             "mixer: {kind: mmoe, n_experts: *d}\n"
             "tasks:\n  - &c {plugin: ctr, weight: 2}\n  - {plugin: ctr, name: again}\n");
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/ok.yaml", dir);
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    cr_assert_eq(load_path(p, &dl, &m), KGM_OK);
    cr_assert_eq(kgm_manifest_materialize(m, 0, cfg), KGM_OK);
    cr_assert_eq(cfg->encoder.dim, 24);
    cr_assert_eq(cfg->mixer.n_experts, 24);
    cr_assert_eq(cfg->train.epochs, 3);
    cr_assert_eq(cfg->n_tasks, 2);
    cr_assert_float_eq(cfg->tasks[0].weight, 2.0, 1e-12);
    kgm_manifest_free(m);
    kgm_diag_list_destroy(&dl);
}

/* printf onto a growing heap string */
static void sb_add(char **s, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void sb_add(char **s, size_t *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *r = realloc(*s, *n + (size_t)k + 1);
    cr_assert_not_null(r);
    va_start(ap, fmt);
    vsnprintf(r + *n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    *s = r;
    *n += (size_t)k;
}

/* "a0: &a0 [x, ...]" then levels of `fan` aliases of the level below: fan^levels nodes expanded. */
static char *bomb(const char *prefix, int levels, int fan) {
    char *s = NULL;
    size_t n = 0;
    sb_add(&s, &n, "%s", prefix);
    sb_add(&s, &n, "a0: &a0 {");
    for (int j = 0; j < fan; j++) sb_add(&s, &n, "%sk%d: 1", j ? ", " : "", j);
    sb_add(&s, &n, "}\n");
    for (int i = 1; i < levels; i++) {
        sb_add(&s, &n, "a%d: &a%d {", i, i);
        for (int j = 0; j < fan; j++) sb_add(&s, &n, "%sk%d: *a%d", j ? ", " : "", j, i - 1);
        sb_add(&s, &n, "}\n");
    }
    return s;
}

Test(manifest_input, alias_bomb_is_bounded, .timeout = 20) {
    /* 10^9 nodes expanded, in both the base and the child: the base: merge
     * walked every shared pair (did not finish) */
    char *b = bomb("tasks:\n  - plugin: ctr\n", 9, 10);
    char *c = bomb("base: bb.yaml\n", 9, 10);
    eu_write(dir, "bb.yaml", b);
    eu_write(dir, "bc.yaml", c);
    free(b);
    free(c);
    kgm_diag_list dl = load_bad("bc.yaml");
    /* each pair counts 1 + 1 + its value: a3 expands to 22221 nodes; the 4th
     * *a3 inside a4 (line 6, column 41) crosses 100000; reading stops there */
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "bc.yaml", 6, 41, "alias *a3: expected at most 100000 YAML nodes with aliases expanded");
    kgm_diag_list_destroy(&dl);

    eu_write(dir, "bd.yaml", "base: bb.yaml\nencoder: {dim: 8}\n");
    dl = load_bad("bd.yaml");
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "bb.yaml", 7, 41, "(an alias bomb?)");
    kgm_diag_list_destroy(&dl);
}

/* ---- nesting and keys ---- */

/* "x: " + depth '[' + depth ']' (or '{a: ' ... '}' when map). */
static char *nested(int depth, bool map) {
    char *s = NULL;
    size_t n = 0;
    sb_add(&s, &n, "%s", "tasks:\n  - plugin: ctr\nx: ");
    for (int i = 0; i < depth; i++) sb_add(&s, &n, "%s", map ? "{a: " : "[");
    sb_add(&s, &n, "%s", "1");
    for (int i = 0; i < depth; i++) sb_add(&s, &n, "%s", map ? "}" : "]");
    sb_add(&s, &n, "%s", "\n");
    return s;
}

Test(manifest_input, nesting_limit_is_reported_once_at_its_position, .timeout = 20) {
    /* depth 64 (the root mapping is level 1, x's value 2 .. 64) is allowed */
    char *s = nested(63, false);
    eu_write(dir, "n63.yaml", s);
    free(s);
    kgm_diag_list dl = load_bad("n63.yaml");
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "n63.yaml", 3, 1, "unknown top-level key 'x'");
    kgm_diag_list_destroy(&dl);

    s = nested(64, false);
    eu_write(dir, "n64.yaml", s);
    free(s);
    dl = load_bad("n64.yaml");
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "n64.yaml", 3, 4 + 63, "expected at most 64 levels of nested lists and mappings");
    kgm_diag_list_destroy(&dl);

    /* was: tens of thousands of "duplicate key" lines and an out-of-memory line */
    s = nested(20000, true);
    eu_write(dir, "deep.yaml", s);
    free(s);
    dl = load_bad("deep.yaml");
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "deep.yaml", 3, 4 + 63 * 4, "found deeper nesting");
    kgm_diag_list_destroy(&dl);

    /* an alias counts with the depth of what it names */
    s = nested(40, false);
    char *t = malloc(strlen(s) + 256);
    cr_assert_not_null(t);
    sprintf(t, "y: &y %s", s + strcspn(s, "[")); /* y's value: 40 levels */
    strcat(t, "z: [[[[[[[[[[[[[[[[[[[[[[[[[[*y]]]]]]]]]]]]]]]]]]]]]]]]]]\n"); /* 1 + 26 + 40 = 67 */
    strcat(t, "tasks:\n  - plugin: ctr\n");
    eu_write(dir, "alias_deep.yaml", t);
    free(s);
    free(t);
    dl = load_bad("alias_deep.yaml");
    expect_diag(&dl, 0, "alias_deep.yaml", 1, 1, "unknown top-level key 'y'");
    expect_diag(&dl, 1, "alias_deep.yaml", 2, 1, "unknown top-level key 'z'");
    expect_diag(&dl, 2, "alias_deep.yaml", 2, 30, "alias *y: expected at most 64 levels of nested lists and mappings, found 67");
    cr_assert_eq(dl.n, 3);
    kgm_diag_list_destroy(&dl);
}

Test(manifest_input, non_scalar_key_is_one_error) {
    /* was: the error plus a spurious "out of memory" line */
    eu_write(dir, "k.yaml", "? [a, b]\n: 1\ntasks:\n  - plugin: ctr\nencoder: {{dim: 8}: 3, dim: 9}\n");
    kgm_diag_list dl = load_bad("k.yaml");
    cr_assert_eq(dl.n, 2);
    expect_diag(&dl, 0, "k.yaml", 1, 3, "expected a plain word as a mapping key, found a list");
    expect_diag(&dl, 1, "k.yaml", 5, 11, "found a mapping");
    no_diag_mentions(&dl, "out of memory");
    kgm_diag_list_destroy(&dl);
}

/* ---- what a path may name ---- */

Test(manifest_input, base_naming_a_directory_is_an_error) {
    /* was: taken as an empty base */
    eu_mkdirs(dir);
    char sub[2 * KGM_PATH];
    snprintf(sub, sizeof sub, "%s/conf", dir);
    eu_mkdirs(sub);
    eu_write(dir, "d.yaml", "tasks:\n  - plugin: ctr\nbase: conf\n");
    kgm_diag_list dl = load_bad("d.yaml");
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "d.yaml", 3, 7, "base: expected a manifest file, found the directory");
    kgm_diag_list_destroy(&dl);

    dl = load_bad("conf");
    cr_assert_eq(dl.n, 1);
    cr_expect_str_eq(dl.items[0].where, sub);
    cr_expect_not_null(strstr(dl.items[0].msg, "expected a manifest file, found the directory"), "%s", dl.items[0].msg);
    kgm_diag_list_destroy(&dl);
}

Test(manifest_input, oversized_manifest_is_refused_at_the_limit) {
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/big.yaml", dir);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("tasks:\n  - plugin: ctr\n# ", f);
    for (int i = 0; i < (4 << 20); i++) fputc('x', f);
    fclose(f);
    kgm_diag_list dl = load_bad("big.yaml");
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "big.yaml", 3, (4 << 20) - 23 + 1, "expected a manifest of at most 4 MiB, found more");
    kgm_diag_list_destroy(&dl);
}

static const char pipe_text[] = "base: pb.yaml\nencoder: {dim: 24}\nseeds: [4, 5, 6]\n";

static void check_pipe_manifest(kgm_manifest *m) {
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert_eq(p->n_runs, 3);
    cr_assert_eq(kgm_manifest_materialize(m, 2, cfg), KGM_OK);
    cr_assert_eq(cfg->seed, 6);
    cr_assert_eq(cfg->encoder.dim, 24);
    cr_assert_eq(cfg->train.epochs, 3); /* from the base */
    cr_assert_eq(cfg->n_tasks, 1);
}

Test(manifest_input, fifo_manifest_is_read_once, .timeout = 20) {
    /* was: the UTF-8 check read the FIFO, then libfyaml opened it again and blocked */
    eu_write(dir, "pb.yaml", "tasks:\n  - plugin: ctr\noptimisation: {epochs: 3}\n");
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/m.yaml", dir);
    cr_assert_eq(mkfifo(p, 0600), 0);
    pid_t w = fork();
    cr_assert_geq(w, 0);
    if (w == 0) { /* the writer, as `cat m.yaml > fifo &` */
        int fd = open(p, O_WRONLY);
        _exit(fd >= 0 && write(fd, pipe_text, sizeof pipe_text - 1) == (ssize_t)(sizeof pipe_text - 1) ? 0 : 1);
    }
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    kgm_status st = load_path(p, &dl, &m);
    int ws = 0;
    waitpid(w, &ws, 0);
    cr_assert_eq(st, KGM_OK);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    check_pipe_manifest(m); /* relative base: next to the FIFO */
    kgm_manifest_free(m);
    kgm_diag_list_destroy(&dl);
}

Test(manifest_input, process_substitution_manifest_resolves_base_from_the_current_directory, .timeout = 20) {
    /* `kgmtl run <(cat m.yaml)`: was "tasks: at least one task is required" (the pipe drained by the first read) */
    eu_write(dir, "pb.yaml", "tasks:\n  - plugin: ctr\noptimisation: {epochs: 3}\n");
    cr_assert_eq(chdir(dir), 0);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(write(fds[1], pipe_text, sizeof pipe_text - 1), (ssize_t)(sizeof pipe_text - 1));
    close(fds[1]);
    char p[64];
    snprintf(p, sizeof p, "/dev/fd/%d", fds[0]);
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    cr_assert_eq(load_path(p, &dl, &m), KGM_OK);
    close(fds[0]);
    check_pipe_manifest(m);
    kgm_manifest_free(m);
    kgm_diag_list_destroy(&dl);
}
