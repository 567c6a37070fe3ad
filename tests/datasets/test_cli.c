/* `kgmtl data` command line: exit codes and outputs. */
#include <sys/wait.h>

#include "tests/datasets/data_test.h"

/* Run `kgmtl ARGS` (shell words), capture stdout+stderr into out; return the exit code. */
static int run(const char *args, char *out, size_t n) {
    const char *bd = getenv("KGMTL_BUILD_DIR");
    cr_assert_not_null(bd, "KGMTL_BUILD_DIR must be set (meson test sets it)");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s/kgmtl' %s 2>&1", bd, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t k = fread(out, 1, n - 1, p);
    out[k] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char out[1 << 16];

Test(cli, help_and_usage_errors) {
    cr_assert_eq(run("data --help", out, sizeof out), 0);
    cr_assert(strstr(out, "inspect PATH|NAME"), "%s", out);
    cr_assert_eq(run("data inspect --help", out, sizeof out), 0);
    cr_assert_eq(run("data convert --help", out, sizeof out), 0);
    cr_assert(strstr(out, "--split KIND"), "%s", out);
    cr_assert_eq(run("data fetch --help", out, sizeof out), 0);
    cr_assert_eq(run("data", out, sizeof out), 2);
    cr_assert_eq(run("data frobnicate", out, sizeof out), 2);
    cr_assert_eq(run("data inspect", out, sizeof out), 2);
    cr_assert_eq(run("data convert x.tsv", out, sizeof out), 2, "missing -o");
    cr_assert_eq(run("data convert --split sideways x.tsv -o y", out, sizeof out), 2);
    cr_assert_eq(run("data fetch no-such-set", out, sizeof out), 2);
    cr_assert(strstr(out, "not available"), "%s", out);
}

Test(cli, inspect_convert_reload) {
    const char *p = tmp_file("cli_r.tsv", "u\ti\tr\tts\n1\t10\t4\t100\n1\t11\t2\t101\n2\t10\t5\t102\n2\t12\t3\t103\n"
                                          "3\t11\t4\t104\n3\t12\t1\t105\n3\t10\t2\t106\n", (size_t)-1);
    char args[2048];
    snprintf(args, sizeof args, "data inspect '%s'", p);
    cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "interactions 7 (rating, timestamps)"), "%s", out);
    cr_assert(strstr(out, "user-item: 6 vertices, 7 edges, 1 components"), "%s", out);
    /* user 3 rated every item: no room for an evaluation negative (refused, not padded) */
    snprintf(args, sizeof args, "data convert --split loo --negatives 1 --seed 3 '%s' -o '%s/cli.kgd'", p, tmp_dir());
    cr_assert_eq(run(args, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "dataset.eval_negatives: expected at most 0 (user '3'"), "%s", out);
    snprintf(args, sizeof args, "data convert --split loo --seed 3 '%s' -o '%s/cli.kgd'", p, tmp_dir());
    cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "wrote"), "%s", out);
    snprintf(args, sizeof args, "data inspect '%s/cli.kgd'", tmp_dir());
    cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "prepared: split leave-one-out (train 4, valid 0, test 3)"), "%s", out);
    /* bad data: exit 1 with file:line; lenient: exit 0 and a report */
    p = tmp_file("cli_bad.tsv", "1\t2\t3\t4\n1\t2\tx\t4\n", (size_t)-1);
    snprintf(args, sizeof args, "data inspect -f interactions '%s'", p);
    cr_assert_eq(run(args, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "cli_bad.tsv:2: expected a finite number"), "%s", out);
    snprintf(args, sizeof args, "data inspect --lenient -f interactions '%s'", p);
    cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "1 malformed rows skipped"), "%s", out);
    /* a corrupt cache is refused */
    const char *c = tmp_file("cli_bad.kgd", "\x8f\xa5magic\xadKGMTL-DATASET", 21);
    snprintf(args, sizeof args, "data inspect -f cache '%s'", c);
    cr_assert_eq(run(args, out, sizeof out), 1, "%s", out);
    tmp_cleanup();
}

/* `kgmtl data fetch` outside the source tree: the build finds the recipes of
 * the tree it was built from; a relocated install (EXE_DIR/../share/kgmtl/recipes)
 * finds its own; KGMTL_SOURCE_DIR comes first; any DEST path works. */
Test(cli, fetch_outside_the_source_tree) {
    const char *bd = getenv("KGMTL_BUILD_DIR"), *src = getenv("KGMTL_SOURCE_DIR");
    cr_assert(bd && src, "KGMTL_BUILD_DIR and KGMTL_SOURCE_DIR must be set (meson test sets them)");
    const char *d = tmp_dir();
    char cmd[8192], want[2048];
    /* the build dir, run from elsewhere, without KGMTL_SOURCE_DIR */
    snprintf(cmd, sizeof cmd, "cd '%s' && env -u KGMTL_SOURCE_DIR '%s/kgmtl' data fetch --list 2>&1", d, bd);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t k = fread(out, 1, sizeof out - 1, p);
    out[k] = '\0';
    cr_assert_eq(pclose(p), 0, "%s", out);
    snprintf(want, sizeof want, "movie-kg\t%s/datasets/recipes/movie-kg.sh\n", src);
    cr_assert(strstr(out, want), "--list from %s lacks '%s':\n%s", d, want, out);
    /* a relocated install: PREFIX/bin/kgmtl with PREFIX/share/kgmtl/recipes */
    snprintf(cmd, sizeof cmd,
             "set -e; mkdir -p '%s/prefix/bin' '%s/prefix/share/kgmtl/recipes' '%s/src/datasets/recipes'; "
             "cp '%s/kgmtl' '%s/prefix/bin/'; "
             "printf 'mkdir -p \"$1/only-installed\"; echo installed > \"$1/only-installed/ok\"\\n' "
             "> '%s/prefix/share/kgmtl/recipes/only-installed.sh'; "
             "printf 'exit 3\\n' > '%s/prefix/share/kgmtl/recipes/failing.sh'",
             d, d, d, bd, d, d, d);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "cd / && env -u KGMTL_SOURCE_DIR '%s/prefix/bin/kgmtl' data fetch only-installed "
             "--dest \"%s/it's here\" >/dev/null 2>&1 && grep -qx installed \"%s/it's here/only-installed/ok\"", d, d, d);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "cd / && env -u KGMTL_SOURCE_DIR '%s/prefix/bin/kgmtl' data fetch failing >/dev/null 2>&1",
             d);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "a failing recipe: status %d, expected exit 1", st);
    /* KGMTL_SOURCE_DIR is searched first */
    snprintf(cmd, sizeof cmd,
             "printf 'mkdir -p \"$1/only-installed\"; echo source > \"$1/only-installed/ok\"\\n' "
             "> '%s/src/datasets/recipes/only-installed.sh' && cd / && KGMTL_SOURCE_DIR='%s/src' "
             "'%s/prefix/bin/kgmtl' data fetch only-installed --dest '%s/d2' >/dev/null 2>&1 && "
             "grep -qx source '%s/d2/only-installed/ok'",
             d, d, d, d, d);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    tmp_cleanup();
}

/* meson installs the recipe folder into DATADIR/kgmtl/recipes, where an
 * installed kgmtl looks for it. */
Test(cli, recipes_are_installed) {
    const char *bd = getenv("KGMTL_BUILD_DIR");
    cr_assert_not_null(bd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "meson introspect --installed '%s' 2>/dev/null | grep -q '/datasets/recipes\": \"[^\"]*/share/kgmtl/recipes\"'",
             bd);
    if (system("command -v meson >/dev/null 2>&1") != 0) cr_skip_test("meson is not on PATH");
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* `kgmtl bench data` on a small CSV: the figures, with the load it ran under. */
Test(cli, bench_data_reports_the_load) {
    cr_assert_eq(run("bench data --rows 1000 --csv", out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "load_1min,"), "%s", out);
    cr_assert(strstr(out, "data_rows,1000,rows"), "%s", out);
    cr_assert(strstr(out, "data_parse_mb_s,"), "%s", out);
    cr_assert(strstr(out, "data_cache_load_s,"), "%s", out);
}
