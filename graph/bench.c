/* `kgmtl bench graph`: forward + backward throughput of every message-passing
 * layer on WordNet 3.0 (or a generated graph of the same size and degree
 * distribution), with 1 and 2 threads. */
#include <errno.h>
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "graph/graph_internal.h"
#include "core/tensor/bench.h"
#include "kgmtl/kgmtl.h"

/* ---- WordNet triples: "synset <TAB> relation <TAB> synset" ------------------------ */

typedef struct {
    char **keys;
    int32_t *vals;
    size_t cap, n;
} strmap;

static uint64_t fnv1a(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static kgm_status strmap_grow(strmap *m) {
    size_t nc = m->cap ? 2 * m->cap : 1024;
    char **k = calloc(nc, sizeof *k);
    int32_t *v = calloc(nc, sizeof *v);
    if (!k || !v) {
        free(k);
        free(v);
        return KGM_ERR(KGM_ERR_NOMEM, "bench graph: id map");
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t p = fnv1a(m->keys[i], strlen(m->keys[i])) & (nc - 1);
        while (k[p]) p = (p + 1) & (nc - 1);
        k[p] = m->keys[i];
        v[p] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = nc;
    return KGM_OK;
}

/* Dense id of the string s[0..len) (s is NUL-terminated by the caller). */
static kgm_status strmap_id(strmap *m, char *s, size_t len, int32_t *id) {
    if (2 * (m->n + 1) > m->cap) KGM_TRY(strmap_grow(m));
    size_t p = fnv1a(s, len) & (m->cap - 1);
    while (m->keys[p]) {
        if (strcmp(m->keys[p], s) == 0) {
            *id = m->vals[p];
            return KGM_OK;
        }
        p = (p + 1) & (m->cap - 1);
    }
    m->keys[p] = s; /* points into the file buffer, which outlives the map */
    m->vals[p] = *id = (int32_t)m->n++;
    return KGM_OK;
}

static void strmap_free(strmap *m) {
    free(m->keys);
    free(m->vals);
}

static kgm_status read_file(const char *path, char **buf, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return KGM_ERR(KGM_ERR_IO, "%s: %s", path, strerror(errno));
    kgm_status st = KGM_OK;
    if (fseek(f, 0, SEEK_END) != 0) st = KGM_ERR(KGM_ERR_IO, "%s: cannot seek", path);
    long sz = st ? -1 : ftell(f);
    if (!st && sz < 0) st = KGM_ERR(KGM_ERR_IO, "%s: cannot tell size", path);
    if (!st) rewind(f);
    char *b = st ? NULL : malloc((size_t)sz + 1);
    if (!st && !b) st = KGM_ERR(KGM_ERR_NOMEM, "%s: %ld bytes", path, sz);
    if (!st && fread(b, 1, (size_t)sz, f) != (size_t)sz) st = KGM_ERR(KGM_ERR_IO, "%s: short read", path);
    fclose(f);
    if (st) {
        free(b);
        return st;
    }
    b[sz] = '\0';
    *buf = b;
    *len = (size_t)sz;
    return KGM_OK;
}

/* Split the next tab-separated field of line [*p, end) in place. */
static char *next_field(char **p, char *end) {
    char *s = *p;
    while (*p < end && **p != '\t') (*p)++;
    if (*p < end) *(*p)++ = '\0';
    return s;
}

typedef struct {
    int32_t *h, *r, *t;
    int64_t n;
    int32_t n_nodes, n_rel;
} triples;

static void triples_free(triples *tr) {
    free(tr->h);
    free(tr->r);
    free(tr->t);
}

static kgm_status load_wordnet(const char *path, triples *tr) {
    char *buf;
    size_t len;
    KGM_TRY(read_file(path, &buf, &len));
    int64_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    lines++;
    tr->h = malloc((size_t)lines * sizeof(int32_t));
    tr->r = malloc((size_t)lines * sizeof(int32_t));
    tr->t = malloc((size_t)lines * sizeof(int32_t));
    strmap ents = {0}, rels = {0};
    kgm_status st = tr->h && tr->r && tr->t ? KGM_OK : KGM_ERR(KGM_ERR_NOMEM, "bench graph: triples");
    char *p = buf, *end = buf + len;
    int64_t lineno = 0;
    while (!st && p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        *eol = '\0';
        lineno++;
        if (eol > p && eol[-1] == '\r') eol[-1] = '\0';
        if (*p) {
            char *a = next_field(&p, eol), *b = next_field(&p, eol), *c = next_field(&p, eol);
            if (!*a || !*b || !*c || p < eol) {
                st = KGM_ERR(KGM_ERR_PARSE, "%s:%lld: expected 'head<TAB>relation<TAB>tail'", path,
                             (long long)lineno);
                break;
            }
            int64_t k = tr->n++;
            st = strmap_id(&ents, a, strlen(a), &tr->h[k]);
            if (!st) st = strmap_id(&rels, b, strlen(b), &tr->r[k]);
            if (!st) st = strmap_id(&ents, c, strlen(c), &tr->t[k]);
        }
        p = eol + 1;
    }
    tr->n_nodes = (int32_t)ents.n;
    tr->n_rel = (int32_t)rels.n;
    /* entities.tsv beside the triples lists every synset, also the ones
     * without relations; count them as isolated nodes when it is there. */
    char epath[4096];
    const char *slash = strrchr(path, '/');
    snprintf(epath, sizeof epath, "%.*sentities.tsv", slash ? (int)(slash - path + 1) : 0, path);
    char *ebuf;
    size_t elen;
    if (!st && read_file(epath, &ebuf, &elen) == KGM_OK) {
        char *q = ebuf, *qe = ebuf + elen;
        while (!st && q < qe) {
            char *eol = memchr(q, '\n', (size_t)(qe - q));
            if (!eol) eol = qe;
            *eol = '\0';
            char *id = next_field(&q, eol);
            int32_t dummy;
            if (*id) st = strmap_id(&ents, id, strlen(id), &dummy);
            q = eol + 1;
        }
        tr->n_nodes = (int32_t)ents.n;
        strmap_free(&ents);
        free(ebuf);
    } else {
        strmap_free(&ents);
        kgm_error_clear();
    }
    strmap_free(&rels);
    free(buf);
    if (st) triples_free(tr);
    return st;
}

/* A graph of WordNet's size and degree distribution: Chung-Lu with
 * Pareto(1.84) expected degrees (WordNet: median 2, p90 6, p99 21, max ~670
 * per direction), relations drawn with WordNet's relation frequencies. */
static kgm_status generate_wordnet_like(triples *tr, double scale, uint64_t seed) {
    static const int32_t rel_counts[26] = {89089, 89089, 63658, 21386, 12293, 12293, 9097, 9097, 8577,
                                           8577,  7604,  6667,  6653,  6653,  3220,  1750, 1357, 1357,
                                           1287,  1287,  1278,  797,   797,   408,   220,  61};
    int32_t n = (int32_t)ceil(117659 * scale), counts[26];
    int64_t m = 0;
    for (int r = 0; r < 26; r++) m += counts[r] = (int32_t)ceil(rel_counts[r] * scale);
    tr->n = m;
    tr->n_nodes = n;
    tr->n_rel = 26;
    tr->h = malloc((size_t)m * sizeof(int32_t));
    tr->r = malloc((size_t)m * sizeof(int32_t));
    tr->t = malloc((size_t)m * sizeof(int32_t));
    double *cum = malloc((size_t)n * sizeof *cum);
    if (!tr->h || !tr->r || !tr->t || !cum) {
        free(cum);
        triples_free(tr);
        return KGM_ERR(KGM_ERR_NOMEM, "bench graph: generated graph");
    }
    kgm_rng rng;
    kgm_rng_init(&rng, seed, kgm_rng_stream_id("bench.graph", 0));
    double acc = 0;
    for (int32_t i = 0; i < n; i++) {
        double u = 1.0 - kgm_rng_uniform(&rng);
        acc += fmin(1.3 * pow(u, -1.0 / 1.84), 670.0);
        cum[i] = acc;
    }
    int64_t k = 0;
    for (int r = 0; r < 26; r++)
        for (int32_t e = 0; e < counts[r]; e++, k++) {
            int32_t v[2];
            do {
                for (int q = 0; q < 2; q++) {
                    double x = kgm_rng_uniform(&rng) * acc;
                    int32_t lo = 0, hi = n - 1;
                    while (lo < hi) {
                        int32_t mid = lo + (hi - lo) / 2;
                        if (cum[mid] > x) hi = mid;
                        else lo = mid + 1;
                    }
                    v[q] = lo;
                }
            } while (v[0] == v[1]);
            tr->h[k] = v[0];
            tr->r[k] = r;
            tr->t[k] = v[1];
        }
    free(cum);
    return KGM_OK;
}

/* ---- the layers under test ------------------------------------------------------------ */

enum { B_GCN_PROP, B_GCN2_PROP, B_GCN2, B_SAGE_PROP, B_SAGE, B_LIGHTGCN, B_RGCN_BASIS, B_RGCN_BLOCK, B_KGAT, B_DIFFNET, B_N };

static const char *const bench_names[B_N] = {"gcn_propagate", "gcn2_propagate", "gcn2_layer",  "sage_propagate",
                                             "sage_concat",   "lightgcn3",      "rgcn_basis4", "rgcn_block8",
                                             "kgat",          "diffnet"};
static const char *const bench_help[B_N] = {
    "one GCN aggregation (sym + self-loops)",
    "two GCN aggregations",
    "2 GCN layers (aggregate, W 64x64, ReLU)",
    "SAGE mean aggregation, concat [x | mean]",
    "SAGE concat + W (128x64) + ReLU",
    "LightGCN, K = 3",
    "R-GCN basis (B = 4) + W0",
    "R-GCN block-diagonal (B = 8) + W0",
    "KGAT layer (Dr = d, bi-interaction)",
    "DiffNet layer (sigmoid)"};

#define BENCH_MAXP 8

typedef struct {
    int which;
    const kgm_graph_csr *g;
    int32_t D;
    kgm_tensor *p[BENCH_MAXP];
    int np;
} bench_case;

static kgm_status case_init(bench_case *c, int which, const kgm_graph_csr *g, int32_t D) {
    memset(c, 0, sizeof *c);
    c->which = which;
    c->g = g;
    c->D = D;
    int32_t n = g->n_nodes, R = g->n_rel;
    int32_t shapes[BENCH_MAXP][2] = {{n, D}};
    int np = 1;
    switch (which) {
    case B_GCN2: np = 3, shapes[1][0] = D, shapes[1][1] = D, shapes[2][0] = D, shapes[2][1] = D; break;
    case B_SAGE:
    case B_DIFFNET: np = 3, shapes[1][0] = 2 * D, shapes[1][1] = D, shapes[2][0] = 1, shapes[2][1] = D; break;
    case B_RGCN_BASIS:
        np = 4, shapes[1][0] = D, shapes[1][1] = 4 * D, shapes[2][0] = R, shapes[2][1] = 4;
        shapes[3][0] = D, shapes[3][1] = D;
        break;
    case B_RGCN_BLOCK: np = 3, shapes[1][0] = R * D, shapes[1][1] = D / 8, shapes[2][0] = D, shapes[2][1] = D; break;
    case B_KGAT:
        np = 7, shapes[1][0] = R * D, shapes[1][1] = D, shapes[2][0] = R, shapes[2][1] = D;
        shapes[3][0] = D, shapes[3][1] = D, shapes[4][0] = 1, shapes[4][1] = D;
        shapes[5][0] = D, shapes[5][1] = D, shapes[6][0] = 1, shapes[6][1] = D;
        break;
    default: break;
    }
    c->np = np;
    kgm_rng rng;
    kgm_rng_init(&rng, 7, kgm_rng_stream_id("bench.graph.params", (uint64_t)which));
    for (int i = 0; i < np; i++) {
        KGM_TRY(kgm_tensor_new(shapes[i][0], shapes[i][1], &c->p[i]));
        int64_t ne = kgm_tensor_numel(c->p[i]);
        c->p[i]->grad = calloc((size_t)(ne ? ne : 1), sizeof(float));
        if (!c->p[i]->grad) return KGM_ERR(KGM_ERR_NOMEM, "bench graph: gradients");
        float scale = i == 0 ? 0.1f : 1.0f / sqrtf((float)shapes[i][0]);
        for (int64_t e = 0; e < ne; e++) c->p[i]->data[e] = scale * (float)kgm_rng_normal(&rng);
    }
    return KGM_OK;
}

static void case_destroy(bench_case *c) {
    for (int i = 0; i < c->np; i++) kgm_tensor_free(c->p[i]);
}

static kgm_status case_forward(bench_case *c, kgm_tape *tp, kgm_tensor **out) {
    const kgm_graph_csr *g = c->g;
    kgm_tensor **p = c->p, *h;
    switch (c->which) {
    case B_GCN_PROP: return kgm_graph_gcn_aggregate(tp, g, p[0], KGM_GRAPH_NORM_SYM, true, out);
    case B_GCN2_PROP:
        KGM_TRY(kgm_graph_gcn_aggregate(tp, g, p[0], KGM_GRAPH_NORM_SYM, true, &h));
        return kgm_graph_gcn_aggregate(tp, g, h, KGM_GRAPH_NORM_SYM, true, out);
    case B_GCN2:
        KGM_TRY(kgm_graph_gcn_layer(tp, g, p[0], p[1], NULL, KGM_GRAPH_NORM_SYM, true, KGM_GRAPH_ACT_RELU, &h));
        return kgm_graph_gcn_layer(tp, g, h, p[2], NULL, KGM_GRAPH_NORM_SYM, true, KGM_GRAPH_ACT_RELU, out);
    case B_SAGE:
        return kgm_graph_sage_layer(tp, g, p[0], p[1], p[2], KGM_GRAPH_SAGE_CONCAT, KGM_GRAPH_ACT_RELU, out);
    case B_SAGE_PROP: return kgm_graph_sage_aggregate(tp, g, p[0], KGM_GRAPH_SAGE_CONCAT, out);
    case B_LIGHTGCN: return kgm_graph_lightgcn(tp, g, p[0], 3, out);
    case B_RGCN_BASIS: return kgm_graph_rgcn_basis(tp, g, p[0], p[1], p[2], p[3], out);
    case B_RGCN_BLOCK: return kgm_graph_rgcn_block(tp, g, p[0], p[1], 8, p[2], out);
    case B_KGAT: return kgm_graph_kgat_layer(tp, g, p[0], p[1], p[2], p[3], p[4], p[5], p[6], out);
    case B_DIFFNET: return kgm_graph_diffnet_layer(tp, g, p[0], p[1], p[2], KGM_GRAPH_ACT_SIGMOID, out);
    }
    return KGM_ERR(KGM_ERR_ARG, "bench graph: unknown case %d", c->which);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best forward+backward time of `reps` runs after one warm-up (as `bench
 * ops` reports: the least disturbed run), for each of the two thread
 * counts, alternating run by run so that a disturbance on a shared machine
 * hits both alike; and the arena high-water mark of a step. */
static kgm_status time_case(bench_case *c, const int threads[2], int reps, size_t arena, double sec[2],
                            size_t *peak) {
    kgm_tape *tp;
    KGM_TRY(kgm_tape_new(arena, &tp));
    kgm_status st = KGM_OK;
    sec[0] = sec[1] = INFINITY;
    for (int r = 0; !st && r <= reps; r++)
        for (int w = 0; !st && w < 2; w++) {
            kgm_set_threads(threads[w]);
            kgm_tape_reset(tp);
            for (int i = 0; i < c->np; i++)
                memset(c->p[i]->grad, 0, (size_t)kgm_tensor_numel(c->p[i]) * sizeof(float));
            double t0 = now_s();
            kgm_tensor *out;
            st = case_forward(c, tp, &out);
            if (st) break;
            /* The seed gradient (a loss would set it) is part of the step. */
            int64_t ne = kgm_tensor_numel(out);
            float seed = 1.0f / (float)ne;
#pragma omp parallel for schedule(static) if (ne > 32768)
            for (int64_t e = 0; e < ne; e++) out->grad[e] = seed;
            st = kgm_tape_backward_from(tp, out);
            double t = now_s() - t0;
            if (r > 0 && t < sec[w]) sec[w] = t;
        }
    *peak = kgm_tape_arena_high_water(tp);
    kgm_tape_free(tp);
    return st;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: kgmtl bench graph [--wordnet PATH] [--threads N] [--dim D] [--reps N] [--layers a,b,...]\n"
            "                         [--scale F] [--csv]\n\n"
            "Forward + backward time of every message-passing layer with 1 and with N threads\n"
            "(default 2), on WordNet 3.0 or, when the file is missing, a generated graph of the\n"
            "same size and degree distribution. Edges are CSR entries: every triple is a message\n"
            "in both directions (inverse relations), so WordNet gives 729,104.\n\n"
            "  --wordnet PATH  triples 'synset<TAB>relation<TAB>synset' (default\n"
            "                  ../shared/datasets/wordnet/triples.tsv; entities.tsv beside it adds\n"
            "                  the synsets without relations)\n"
            "  --threads N     the multi-threaded measurement (default 2)\n"
            "  --dim D         embedding size (default 64; a multiple of 8)\n"
            "  --reps N        timed runs per measurement after a warm-up; the best is reported (5)\n"
            "  --scale F       size of the generated graph relative to WordNet, (0, 1] (default 1)\n"
            "  --layers LIST   comma-separated subset of:");
    for (int i = 0; i < B_N; i++) fprintf(f, " %s", bench_names[i]);
    fprintf(f, "\n  --csv           'figure,value,unit' rows (names in docs/graph.md)\n");
}

typedef struct {
    const char *path, *layers;
    int dim, reps, threads;
    double scale;
    bool csv;
    bool run[B_N];
} bench_args;

/* 0 to go on, else the exit code. */
static int parse_args(int argc, char **argv, bench_args *a) {
    static const struct option opts[] = {{"wordnet", required_argument, 0, 'w'}, {"dim", required_argument, 0, 'd'},
                                         {"reps", required_argument, 0, 'r'},    {"layers", required_argument, 0, 'l'},
                                         {"scale", required_argument, 0, 's'},   {"threads", required_argument, 0, 't'},
                                         {"csv", no_argument, 0, 'c'},           {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *a = (bench_args){.path = "../shared/datasets/wordnet/triples.tsv", .dim = 64, .reps = 5, .threads = 2,
                      .scale = 1.0};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "w:d:r:l:s:t:ch", opts, NULL)) != -1) {
        switch (ch) {
        case 'w': a->path = optarg; break;
        case 'd': a->dim = atoi(optarg); break;
        case 'r': a->reps = atoi(optarg); break;
        case 'l': a->layers = optarg; break;
        case 's': a->scale = atof(optarg); break;
        case 't':
            if (!kgm_bench_parse_threads("graph", optarg, &a->threads)) return 2;
            break;
        case 'c': a->csv = true; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || a->dim <= 0 || a->dim % 8 != 0 || a->reps <= 0 || !(a->scale > 0 && a->scale <= 1)) {
        usage(stderr);
        return 2;
    }
    for (int i = 0; i < B_N; i++) a->run[i] = a->layers == NULL;
    for (const char *p = a->layers; p && *p;) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int i = 0; i < B_N; i++)
            if (strlen(bench_names[i]) == len && strncmp(p, bench_names[i], len) == 0) found = i;
        if (found < 0) {
            fprintf(stderr, "kgmtl bench graph: unknown layer '%.*s'\n", (int)len, p);
            usage(stderr);
            return 2;
        }
        a->run[found] = true;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* The graph under test: WordNet when the file is there, else generated. */
static kgm_status load_graph(const bench_args *a, kgm_graph **g, bool *generated) {
    triples tr = {0};
    *generated = false;
    kgm_status st = load_wordnet(a->path, &tr);
    if (st && st != KGM_ERR_IO) return st; /* present but not triples: an error, not a fallback */
    if (st) {
        fprintf(stderr, "kgmtl bench graph: %s; using a generated graph of WordNet's size and degree distribution\n",
                kgm_error_message());
        *generated = true;
        KGM_TRY(generate_wordnet_like(&tr, a->scale, 42));
    }
    kgm_graph_opts go = kgm_graph_default_opts();
    go.n_nodes = tr.n_nodes;
    go.n_rel = tr.n_rel;
    st = kgm_graph_new_kg(tr.h, tr.r, tr.t, tr.n, &go, NULL, g);
    triples_free(&tr);
    return st;
}

/* Samplers: a KGCN-style receptive field (1024 seeds, 2 hops, fan-out 8)
 * with 1 and N threads, and a 2-hop mini-batch subgraph of 1024 seeds. */
static int bench_samplers(const kgm_bench_out *o, const kgm_graph_csr *csr, int reps, int T) {
    enum { NSEED = 1024 };
    int32_t seeds[NSEED];
    for (int i = 0; i < NSEED; i++) seeds[i] = (int32_t)(((int64_t)i * 2654435761u) % (uint32_t)csr->n_nodes);
    kgm_fanout f;
    kgm_fanout_init(&f);
    double best[2] = {INFINITY, INFINITY}, sub_best = INFINITY;
    int64_t n_sub_nodes = 0, n_sub_entries = 0;
    kgm_status st = KGM_OK;
    for (int r = 0; !st && r <= reps; r++) {
        for (int w = 0; !st && w < 2; w++) {
            kgm_set_threads(w ? T : 1);
            double t0 = now_s();
            st = kgm_graph_sample_fanout(csr, seeds, NSEED, 2, 8, (uint64_t)r, &f);
            double t = now_s() - t0;
            if (r > 0 && t < best[w]) best[w] = t;
        }
        kgm_graph_csr sub;
        double t0 = now_s();
        if (!st) st = kgm_graph_subgraph(csr, seeds, NSEED, 2, &sub);
        double t = now_s() - t0;
        if (!st) {
            if (r > 0 && t < sub_best) sub_best = t;
            n_sub_nodes = sub.n_nodes;
            n_sub_entries = sub.nnz;
            kgm_graph_csr_destroy(&sub);
        }
    }
    kgm_fanout_destroy(&f);
    if (st) {
        fprintf(stderr, "kgmtl bench graph: samplers: %s\n", kgm_error_message());
        return 1;
    }
    double ids = (double)NSEED * (8 + 64);
    char name[64], what[64];
    kgm_bench_figure(o, "fanout_t1_ids_per_s", ids / best[0], "ids/s",
                     "fan-out sampling, 1024 seeds x 2 hops x 8, 1 thread");
    snprintf(name, sizeof name, "fanout_t%d_ids_per_s", T);
    snprintf(what, sizeof what, "  %d threads", T);
    kgm_bench_figure(o, name, ids / best[1], "ids/s", what);
    kgm_bench_figure(o, "subgraph_2hop_1024_s", sub_best, "s", "mini-batch subgraph, 1024 seeds, 2 hops");
    kgm_bench_figure(o, "subgraph_2hop_1024_nodes", (double)n_sub_nodes, "nodes", "  its nodes");
    kgm_bench_figure(o, "subgraph_2hop_1024_entries", (double)n_sub_entries, "edges", "  its CSR entries");
    return 0;
}

int kgm_bench_graph(int argc, char **argv) {
    bench_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    kgm_graph *g = NULL;
    bool generated;
    kgm_graph_csr csr = {0};
    kgm_status st = load_graph(&a, &g, &generated);
    double t_csr = now_s();
    if (!st) st = kgm_graph_csr_build(g, &(kgm_graph_csr_opts){.inverse = true}, &csr);
    t_csr = now_s() - t_csr;
    if (st) {
        fprintf(stderr, "kgmtl bench graph: %s\n", kgm_error_message());
        kgm_graph_free(g);
        return 1;
    }
    double E = (double)csr.nnz, load0 = kgm_bench_load_1min();
    int T = a.threads;
    kgm_bench_out o;
    kgm_bench_begin(&o, stdout, a.csv, "kgmtl bench graph");
    const char *wait = getenv("OMP_WAIT_POLICY");
    kgm_bench_note(&o, "  graph: %s%s; d = %d; 1 vs %d threads; best of %d runs; OMP_WAIT_POLICY=%s; load %.2f",
                   generated ? "GENERATED (WordNet size and degrees), not found: " : "WordNet 3.0 from ", a.path,
                   a.dim, T, a.reps, wait ? wait : "(unset)", load0);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu > 0 && load0 > 0.5 * (double)ncpu)
        kgm_bench_note(&o, "  WARNING: busy machine (load %.2f on %ld CPUs): the figures below are unreliable", load0,
                       ncpu);
    kgm_bench_figure(&o, "generated", generated, "bool", "1: a generated graph stands in for WordNet");
    kgm_bench_figure(&o, "load_1min", load0, "load", "1-minute load average at the start");
    kgm_bench_figure(&o, "threads", T, "threads", "the multi-threaded measurement");
    kgm_bench_figure(&o, "dim", a.dim, "dim", "embedding size");
    kgm_bench_figure(&o, "nodes", csr.n_nodes, "nodes", NULL);
    kgm_bench_figure(&o, "edges", (double)kgm_graph_n_edges(g), "edges", "triples");
    kgm_bench_figure(&o, "relations", kgm_graph_n_rel(g), "relations", NULL);
    kgm_bench_figure(&o, "csr_entries", E, "edges", "messages: every triple both ways");
    kgm_bench_figure(&o, "csr_build_s", t_csr, "s", "CSR view with inverse relations, from the graph store");
    char summary[B_N][200];
    int n_sum = 0;
    size_t arena = (size_t)8 << 30; /* reserved lazily */
    for (int w = 0; w < B_N && !rc; w++) {
        if (!a.run[w]) continue;
        bench_case c;
        double sec[2] = {0, 0};
        size_t peak = 0;
        st = case_init(&c, w, &csr, a.dim);
        if (!st) st = time_case(&c, (const int[2]){1, T}, a.reps, arena, sec, &peak);
        double t1 = sec[0], tn = sec[1];
        case_destroy(&c);
        if (st) {
            fprintf(stderr, "kgmtl bench graph: %s: %s\n", bench_names[w], kgm_error_message());
            rc = 1;
            break;
        }
        double bpe = (double)peak / E;
        const char *nm = bench_names[w];
        char name[96], what[160];
        snprintf(name, sizeof name, "%s_t1_s", nm);
        snprintf(what, sizeof what, "%s: forward + backward, 1 thread", bench_help[w]);
        kgm_bench_figure(&o, name, t1, "s", what);
        snprintf(name, sizeof name, "%s_t%d_s", nm, T);
        snprintf(what, sizeof what, "  %d threads", T);
        kgm_bench_figure(&o, name, tn, "s", what);
        snprintf(name, sizeof name, "%s_t1_edges_per_s", nm);
        kgm_bench_figure(&o, name, E / t1, "edges/s", "  1 thread");
        snprintf(name, sizeof name, "%s_t%d_edges_per_s", nm, T);
        kgm_bench_figure(&o, name, E / tn, "edges/s", what);
        snprintf(name, sizeof name, "%s_speedup", nm);
        kgm_bench_figure(&o, name, t1 / tn, "x", "  1-thread time / multi-thread time");
        snprintf(name, sizeof name, "%s_peak_bytes_per_edge", nm);
        kgm_bench_figure(&o, name, bpe, "B/edge", "  tape arena high-water mark / CSR entries");
        snprintf(summary[n_sum++], sizeof summary[0], "  %-15s %9.4f %11.3e %9.4f %11.3e %7.2fx %9.1f", nm, t1,
                 E / t1, tn, E / tn, t1 / tn, bpe);
    }
    if (!rc) rc = bench_samplers(&o, &csr, a.reps, T);
    if (n_sum > 0) {
        kgm_bench_note(&o, "\n  %-15s %9s %11s %9s %11s %8s %9s", "layer", "1 thr (s)", "edges/s", "N thr (s)",
                       "edges/s", "speed-up", "B/edge");
        for (int i = 0; i < n_sum; i++) kgm_bench_note(&o, "%s", summary[i]);
    }
    kgm_set_threads(omp_get_num_procs());
    kgm_graph_csr_destroy(&csr);
    kgm_graph_free(g);
    return rc;
}
