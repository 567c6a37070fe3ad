/* `kgmtl bench graph` entry point: options, the triples parser, the
 * generated fallback, and the CSV figure names. */
#include <unistd.h>

#include "tests/graph/graph_testutil.h"

#include <criterion/redirect.h>

static void setup(void) { kgm_init_runtime(); }

TestSuite(bench, .init = setup);

static int bench(int argc, const char **argv) { return kgm_bench_graph(argc, (char **)argv); }

Test(bench, usage_and_bad_options) {
    cr_redirect_stdout();
    cr_redirect_stderr();
    cr_assert_eq(bench(2, (const char *[]){"graph", "--help", NULL}), 0);
    cr_assert_eq(bench(2, (const char *[]){"graph", "--bogus", NULL}), 2);
    cr_assert_eq(bench(3, (const char *[]){"graph", "--layers", "gcn_propagate,nope", NULL}), 2);
    cr_assert_eq(bench(3, (const char *[]){"graph", "--dim", "12", NULL}), 2);
    cr_assert_eq(bench(2, (const char *[]){"graph", "extra", NULL}), 2);
    cr_assert_eq(bench(3, (const char *[]){"graph", "--scale", "2", NULL}), 2);
    cr_assert_eq(bench(3, (const char *[]){"graph", "--threads", "0", NULL}), 2);
}

static char *slurp(FILE *f) {
    fflush(f);
    rewind(f);
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - 1 - n, f)) > 0) {
        n += r;
        if (n + 1 >= cap) b = realloc(b, cap *= 2);
    }
    b[n] = '\0';
    return b;
}

Test(bench, generated_fallback_prints_stable_figures) {
    cr_redirect_stdout();
    cr_redirect_stderr();
    const char *argv[] = {"graph", "--wordnet", "/nonexistent/triples.tsv", "--dim", "8", "--reps", "1",
                          "--layers", "gcn_propagate,kgat", "--scale", "0.02", "--csv", NULL};
    cr_assert_eq(bench(12, argv), 0);
    char *out = slurp(cr_get_redirected_stdout());
    cr_assert(strstr(out, "figure,value,unit\n") == out, "%s", out);
    cr_assert(strstr(out, "generated,1,bool"), "%s", out);
    cr_assert(strstr(out, "nodes,2354,nodes"), "%s", out);
    cr_assert(strstr(out, "gcn_propagate_t2_edges_per_s,"), "%s", out);
    cr_assert(strstr(out, "kgat_speedup,"), "%s", out);
    cr_assert(strstr(out, "kgat_peak_bytes_per_edge,"), "%s", out);
    cr_assert_null(strstr(out, "lightgcn3"), "%s", out);
    cr_assert(strstr(out, "fanout_t2_ids_per_s,"), "%s", out);
    cr_assert(strstr(out, "subgraph_2hop_1024_s,"), "%s", out);
    free(out);
}

Test(bench, reads_a_triples_file) {
    char dir[] = "/tmp/kgm_bench_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/triples.tsv", dir);
    FILE *f = fopen(path, "w");
    fputs("a\thyper\tb\nb\thypo\ta\nc\thyper\ta\n\nd\tanto\tc\n", f);
    fclose(f);
    cr_redirect_stdout();
    cr_redirect_stderr();
    const char *argv[] = {"graph", "--wordnet", path, "--dim", "8", "--reps", "1", "--csv", NULL};
    cr_assert_eq(bench(8, argv), 0);
    char *out = slurp(cr_get_redirected_stdout());
    cr_assert(strstr(out, "generated,0,bool"), "%s", out);
    cr_assert(strstr(out, "nodes,4,nodes"), "%s", out);
    cr_assert(strstr(out, "edges,4,edges"), "%s", out);
    cr_assert(strstr(out, "relations,3,relations"), "%s", out);
    cr_assert(strstr(out, "csr_entries,8,edges"), "%s", out);
    free(out);
    /* A malformed file is an error, not a reason to fall back. */
    f = fopen(path, "w");
    fputs("a\thyper\tb\nonly two\tfields\n", f);
    fclose(f);
    cr_assert_eq(bench(8, argv), 1);
    unlink(path);
    rmdir(dir);
}
