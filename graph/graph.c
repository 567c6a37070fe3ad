/* The graph store: construction with validation, and what igraph answers
 * about the graph (degrees, components, k-hop neighbourhoods, statistics). */
#include <stdio.h>

#include "graph/graph_internal.h"

kgm_status kgm_graph_igraph_err(int code, const char *file, int line, const char *what) {
    if (code == IGRAPH_SUCCESS) return KGM_OK;
    kgm_status st = code == IGRAPH_ENOMEM        ? KGM_ERR_NOMEM
                    : code == IGRAPH_INTERRUPTED ? KGM_ERR_INTERRUPTED
                                                 : KGM_ERR_GRAPH;
    return kgm_error_set(st, file, line, "%s: igraph: %s (code %d)", what,
                         igraph_strerror((igraph_error_t)code), code);
}

kgm_status kgm_graph_igraph_status(int igraph_code, const char *what) {
    return kgm_graph_igraph_err(igraph_code, __FILE__, __LINE__, what ? what : "igraph");
}

kgm_graph_opts kgm_graph_default_opts(void) {
    kgm_graph_opts o = {0};
    o.directed = true;
    o.dangling = KGM_GRAPH_ERROR;
    o.self_loops = KGM_GRAPH_KEEP;
    o.duplicates = KGM_GRAPH_KEEP;
    return o;
}

/* ---- validation ------------------------------------------------------------------ */

typedef struct {
    uint64_t key; /* (a << 32) | b */
    int32_t rel;
    int64_t idx;
} dup_key;

static int dup_cmp(const void *pa, const void *pb) {
    const dup_key *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    if (a->rel != b->rel) return a->rel < b->rel ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Decide which of the n input edges stay. keep[k] is set to 1 for kept edges.
 * rel may be NULL (social). Fills the report and the final counts. */
static kgm_status validate(const int32_t *src, const int32_t *rel, const int32_t *dst, int64_t n,
                           const kgm_graph_opts *o, bool undirected, uint8_t *keep, int32_t *n_nodes,
                           int32_t *n_rel, kgm_graph_report *rep) {
    int32_t nn = o->n_nodes, nr = o->n_rel;
    if (nn < 0 || nr < 0) return KGM_ERR(KGM_ERR_ARG, "graph: negative node or relation count");
    bool infer_n = nn == 0, infer_r = nr == 0;
    int64_t max_id = -1, max_rel = -1;
    for (int64_t k = 0; k < n; k++) {
        if (src[k] > max_id) max_id = src[k];
        if (dst[k] > max_id) max_id = dst[k];
        if (rel && rel[k] > max_rel) max_rel = rel[k];
    }
    if ((infer_n && max_id >= INT32_MAX) || (rel && infer_r && max_rel >= INT32_MAX))
        return KGM_ERR(KGM_ERR_INDEX, "graph: id %lld leaves no room for a node count below 2^31",
                       (long long)(max_id >= INT32_MAX ? max_id : max_rel));
    if (infer_n) nn = (int32_t)(max_id + 1);
    if (rel && infer_r) nr = (int32_t)(max_rel + 1);

    /* Dangling ids. */
    int32_t grow_n = nn, grow_r = nr;
    for (int64_t k = 0; k < n; k++) {
        keep[k] = 1;
        bool bad_node = src[k] < 0 || dst[k] < 0 || src[k] >= nn || dst[k] >= nn;
        bool bad_rel = rel && (rel[k] < 0 || rel[k] >= nr);
        if (!bad_node && !bad_rel) continue;
        rep->n_dangling++;
        bool negative = src[k] < 0 || dst[k] < 0 || (rel && rel[k] < 0) || src[k] == INT32_MAX ||
                        dst[k] == INT32_MAX || (rel && rel[k] == INT32_MAX); /* cannot be kept either */
        if (o->dangling == KGM_GRAPH_ERROR || (o->dangling == KGM_GRAPH_KEEP && negative)) {
            if (bad_node)
                return KGM_ERR(KGM_ERR_INDEX, "graph: edge %lld (%d -> %d) has a node id outside [0, %d)",
                               (long long)k, src[k], dst[k], nn);
            return KGM_ERR(KGM_ERR_INDEX, "graph: edge %lld has relation id %d outside [0, %d)",
                           (long long)k, rel[k], nr);
        }
        if (o->dangling == KGM_GRAPH_DROP) {
            keep[k] = 0;
            rep->n_dropped++;
            continue;
        }
        if (src[k] >= grow_n) grow_n = src[k] + 1;
        if (dst[k] >= grow_n) grow_n = dst[k] + 1;
        if (rel && rel[k] >= grow_r) grow_r = rel[k] + 1;
    }
    nn = grow_n;
    nr = grow_r;

    /* Self-loops. */
    for (int64_t k = 0; k < n; k++) {
        if (!keep[k] || src[k] != dst[k]) continue;
        rep->n_self_loops++;
        if (o->self_loops == KGM_GRAPH_ERROR)
            return KGM_ERR(KGM_ERR_ARG, "graph: edge %lld is a self-loop on node %d (policy: error)",
                           (long long)k, src[k]);
        if (o->self_loops == KGM_GRAPH_DROP) {
            keep[k] = 0;
            rep->n_dropped++;
        }
    }

    /* Duplicates: sort (key, relation, index) and flag all but the first of a run. */
    int64_t m = 0;
    for (int64_t k = 0; k < n; k++) m += keep[k];
    if (m > 1) {
        dup_key *ks = malloc((size_t)m * sizeof *ks);
        if (!ks) return KGM_ERR(KGM_ERR_NOMEM, "graph: duplicate check (%lld edges)", (long long)m);
        int64_t p = 0;
        for (int64_t k = 0; k < n; k++) {
            if (!keep[k]) continue;
            uint32_t a = (uint32_t)src[k], b = (uint32_t)dst[k];
            if (undirected && a > b) {
                uint32_t t = a;
                a = b;
                b = t;
            }
            ks[p].key = ((uint64_t)a << 32) | b;
            ks[p].rel = rel ? rel[k] : 0;
            ks[p].idx = k;
            p++;
        }
        qsort(ks, (size_t)m, sizeof *ks, dup_cmp);
        kgm_status st = KGM_OK;
        for (int64_t q = 1; q < m; q++) {
            if (ks[q].key != ks[q - 1].key || ks[q].rel != ks[q - 1].rel) continue;
            int64_t k = ks[q].idx;
            rep->n_duplicates++;
            if (o->duplicates == KGM_GRAPH_ERROR) {
                st = KGM_ERR(KGM_ERR_ARG, "graph: edge %lld (%d -> %d) duplicates edge %lld (policy: error)",
                             (long long)k, src[k], dst[k], (long long)ks[q - 1].idx);
                break;
            }
            if (o->duplicates == KGM_GRAPH_DROP) {
                keep[k] = 0;
                rep->n_dropped++;
            }
        }
        /* Keep the earliest index of each run as "the first": the run is sorted
         * by index, so ks[q-1] is always an earlier edge of the same key. */
        free(ks);
        if (st) return st;
    }
    *n_nodes = nn;
    *n_rel = rel ? nr : 0;
    return KGM_OK;
}

static kgm_status alloc_edges(kgm_graph *g, int64_t m, bool with_rel, bool with_w) {
    size_t cnt = (size_t)(m ? m : 1);
    g->src = malloc(cnt * sizeof(int32_t));
    g->dst = malloc(cnt * sizeof(int32_t));
    if (with_rel) g->rel = malloc(cnt * sizeof(int32_t));
    if (with_w) g->weight = malloc(cnt * sizeof(float));
    if (!g->src || !g->dst || (with_rel && !g->rel) || (with_w && !g->weight))
        return KGM_ERR(KGM_ERR_NOMEM, "graph: edge arrays (%lld edges)", (long long)m);
    return KGM_OK;
}

/* Create the igraph graph from g->src/g->dst. */
static kgm_status make_igraph(kgm_graph *g) {
    igraph_vector_int_t ev;
    kgm_status st = KGM_IG(igraph_vector_int_init(&ev, 2 * g->n_edges), "graph: edge vector");
    if (st) return st;
    for (int64_t k = 0; k < g->n_edges; k++) {
        VECTOR(ev)[2 * k] = g->src[k];
        VECTOR(ev)[2 * k + 1] = g->dst[k];
    }
    st = KGM_IG(igraph_create(&g->ig, &ev, g->n_nodes, g->directed), "graph: igraph_create");
    igraph_vector_int_destroy(&ev);
    return st;
}

static void graph_free_arrays(kgm_graph *g) {
    free(g->src);
    free(g->dst);
    free(g->rel);
    free(g->weight);
}

static kgm_status build(kgm_graph_kind kind, const int32_t *src, const int32_t *rel, const int32_t *dst,
                        const float *weight, int64_t n, const kgm_graph_opts *opts,
                        kgm_graph_report *report, kgm_graph **out) {
    *out = NULL;
    kgm_graph_report rep = {0};
    rep.n_input = n;
    if (report) *report = rep;
    if (n < 0) return KGM_ERR(KGM_ERR_ARG, "graph: negative edge count");
    if (n > 0 && (!src || !dst || (kind == KGM_GRAPH_KG && !rel)))
        return KGM_ERR(KGM_ERR_ARG, "graph: edge arrays are NULL");
    if (n > INT32_MAX) return KGM_ERR(KGM_ERR_ARG, "graph: more than 2^31 edges");
    kgm_graph_opts o = opts ? *opts : kgm_graph_default_opts();
    if (kind == KGM_GRAPH_KG) o.directed = true;
    if (weight)
        for (int64_t k = 0; k < n; k++)
            if (!(weight[k] > 0) || !isfinite(weight[k]))
                return KGM_ERR(KGM_ERR_ARG, "graph: edge %lld has weight %g (weights must be finite and > 0)",
                               (long long)k, (double)weight[k]);
    uint8_t *keep = malloc((size_t)(n ? n : 1));
    if (!keep) return KGM_ERR(KGM_ERR_NOMEM, "graph: validation flags");
    int32_t nn = 0, nr = 0;
    kgm_status st = validate(src, rel, dst, n, &o, !o.directed, keep, &nn, &nr, &rep);
    if (st) {
        free(keep);
        if (report) *report = rep;
        return st;
    }
    kgm_graph *g = calloc(1, sizeof *g);
    if (!g) {
        free(keep);
        return KGM_ERR(KGM_ERR_NOMEM, "graph");
    }
    g->kind = kind;
    g->directed = o.directed;
    g->n_nodes = nn;
    g->n_rel = nr;
    int64_t m = 0;
    for (int64_t k = 0; k < n; k++) m += keep[k];
    g->n_edges = m;
    st = alloc_edges(g, m, kind == KGM_GRAPH_KG, weight != NULL);
    if (!st) {
        int64_t p = 0;
        for (int64_t k = 0; k < n; k++) {
            if (!keep[k]) continue;
            g->src[p] = src[k];
            g->dst[p] = dst[k];
            if (g->rel) g->rel[p] = rel[k];
            if (g->weight) g->weight[p] = weight[k];
            p++;
        }
        st = make_igraph(g);
    }
    free(keep);
    rep.n_edges = m;
    if (report) *report = rep;
    if (st) {
        graph_free_arrays(g);
        free(g);
        return st;
    }
    *out = g;
    return KGM_OK;
}

kgm_status kgm_graph_new_kg(const int32_t *head, const int32_t *rel, const int32_t *tail, int64_t n,
                            const kgm_graph_opts *opts, kgm_graph_report *report, kgm_graph **out) {
    return build(KGM_GRAPH_KG, head, rel, tail, NULL, n, opts, report, out);
}

kgm_status kgm_graph_new_social(const int32_t *src, const int32_t *dst, const float *weight, int64_t n,
                                const kgm_graph_opts *opts, kgm_graph_report *report,
                                kgm_graph **out) {
    return build(KGM_GRAPH_SOCIAL, src, NULL, dst, weight, n, opts, report, out);
}

kgm_status kgm_graph_from_igraph(const struct igraph_s *ig, const float *weight, kgm_graph **out) {
    *out = NULL;
    if (!ig) return KGM_ERR(KGM_ERR_ARG, "graph_from_igraph: graph is NULL");
    igraph_integer_t nv = igraph_vcount(ig), ne = igraph_ecount(ig);
    if (nv > INT32_MAX || ne > INT32_MAX)
        return KGM_ERR(KGM_ERR_ARG, "graph_from_igraph: graph too large (%lld nodes, %lld edges)",
                       (long long)nv, (long long)ne);
    if (weight)
        for (igraph_integer_t k = 0; k < ne; k++)
            if (!(weight[k] > 0) || !isfinite(weight[k]))
                return KGM_ERR(KGM_ERR_ARG, "graph_from_igraph: edge %lld has weight %g", (long long)k,
                               (double)weight[k]);
    kgm_graph *g = calloc(1, sizeof *g);
    if (!g) return KGM_ERR(KGM_ERR_NOMEM, "graph");
    g->kind = KGM_GRAPH_SOCIAL;
    g->directed = igraph_is_directed(ig);
    g->n_nodes = (int32_t)nv;
    g->n_edges = ne;
    kgm_status st = alloc_edges(g, ne, false, weight != NULL);
    igraph_vector_int_t el;
    bool el_init = false, ig_init = false;
    if (!st) {
        st = KGM_IG(igraph_vector_int_init(&el, 0), "graph_from_igraph");
        el_init = !st;
    }
    if (!st) st = KGM_IG(igraph_get_edgelist(ig, &el, false), "graph_from_igraph: edge list");
    if (!st) {
        for (igraph_integer_t k = 0; k < ne; k++) {
            g->src[k] = (int32_t)VECTOR(el)[2 * k];
            g->dst[k] = (int32_t)VECTOR(el)[2 * k + 1];
            if (g->weight) g->weight[k] = weight[k];
        }
        st = KGM_IG(igraph_copy(&g->ig, ig), "graph_from_igraph: copy");
        ig_init = !st;
    }
    if (el_init) igraph_vector_int_destroy(&el);
    if (st) {
        if (ig_init) igraph_destroy(&g->ig);
        graph_free_arrays(g);
        free(g);
        return st;
    }
    *out = g;
    return KGM_OK;
}

void kgm_graph_free(kgm_graph *g) {
    if (!g) return;
    igraph_destroy(&g->ig);
    graph_free_arrays(g);
    free(g);
}

kgm_graph_kind kgm_graph_get_kind(const kgm_graph *g) { return g->kind; }
int32_t kgm_graph_n_nodes(const kgm_graph *g) { return g->n_nodes; }
int64_t kgm_graph_n_edges(const kgm_graph *g) { return g->n_edges; }
int32_t kgm_graph_n_rel(const kgm_graph *g) { return g->n_rel; }
bool kgm_graph_is_directed(const kgm_graph *g) { return g->directed; }
const struct igraph_s *kgm_graph_igraph(const kgm_graph *g) { return &g->ig; }

kgm_graph_edges kgm_graph_get_edges(const kgm_graph *g) {
    kgm_graph_edges e = {g->n_edges, g->src, g->dst, g->rel, g->weight};
    return e;
}

/* ---- queries answered by igraph ----------------------------------------------- */

static igraph_neimode_t ig_mode(kgm_graph_dir d) {
    return d == KGM_GRAPH_OUT ? IGRAPH_OUT : d == KGM_GRAPH_IN ? IGRAPH_IN : IGRAPH_ALL;
}

kgm_status kgm_graph_degrees(const kgm_graph *g, kgm_graph_dir dir, bool loops, int32_t *out) {
    if (dir < KGM_GRAPH_OUT || dir > KGM_GRAPH_ALL)
        return KGM_ERR(KGM_ERR_ARG, "graph_degrees: bad direction %d", (int)dir);
    igraph_vector_int_t d;
    KGM_TRY(KGM_IG(igraph_vector_int_init(&d, 0), "graph_degrees"));
    kgm_status st =
        KGM_IG(igraph_degree(&g->ig, &d, igraph_vss_all(), ig_mode(dir), loops), "graph_degrees");
    if (!st)
        for (int32_t i = 0; i < g->n_nodes; i++) out[i] = (int32_t)VECTOR(d)[i];
    igraph_vector_int_destroy(&d);
    return st;
}

kgm_status kgm_graph_components(const kgm_graph *g, bool strong, int32_t *membership,
                                int32_t *n_components, int32_t *largest) {
    igraph_vector_int_t mem, csize;
    KGM_TRY(KGM_IG(igraph_vector_int_init(&mem, 0), "graph_components"));
    kgm_status st = KGM_IG(igraph_vector_int_init(&csize, 0), "graph_components");
    if (st) {
        igraph_vector_int_destroy(&mem);
        return st;
    }
    igraph_integer_t no = 0;
    st = KGM_IG(igraph_connected_components(&g->ig, &mem, &csize, &no,
                                            strong && g->directed ? IGRAPH_STRONG : IGRAPH_WEAK),
                "graph_components");
    if (!st) {
        if (membership)
            for (int32_t i = 0; i < g->n_nodes; i++) membership[i] = (int32_t)VECTOR(mem)[i];
        if (n_components) *n_components = (int32_t)no;
        if (largest) *largest = no > 0 ? (int32_t)igraph_vector_int_max(&csize) : 0;
    }
    igraph_vector_int_destroy(&mem);
    igraph_vector_int_destroy(&csize);
    return st;
}

kgm_status kgm_graph_khop(const kgm_graph *g, const int32_t *seeds, int32_t n_seeds, int32_t k,
                          kgm_graph_dir dir, int32_t **nodes, int32_t *n_out) {
    *nodes = NULL;
    *n_out = 0;
    if (n_seeds < 0 || (n_seeds > 0 && !seeds)) return KGM_ERR(KGM_ERR_ARG, "graph_khop: bad seed array");
    igraph_vector_int_t sv;
    igraph_vector_int_list_t res;
    KGM_TRY(KGM_IG(igraph_vector_int_init(&sv, n_seeds), "graph_khop"));
    kgm_status st = KGM_IG(igraph_vector_int_list_init(&res, 0), "graph_khop");
    if (st) {
        igraph_vector_int_destroy(&sv);
        return st;
    }
    for (int32_t i = 0; i < n_seeds; i++) VECTOR(sv)[i] = seeds[i];
    /* igraph validates the seed ids and the order itself. */
    st = KGM_IG(igraph_neighborhood(&g->ig, &res, igraph_vss_vector(&sv), k, ig_mode(dir), 0),
                "graph_khop: neighbourhood");
    uint8_t *mark = NULL;
    if (!st) {
        mark = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), 1);
        if (!mark) st = KGM_ERR(KGM_ERR_NOMEM, "graph_khop");
    }
    if (!st) {
        igraph_integer_t nl = igraph_vector_int_list_size(&res);
        for (igraph_integer_t s = 0; s < nl; s++) {
            igraph_vector_int_t *v = igraph_vector_int_list_get_ptr(&res, s);
            for (igraph_integer_t t = 0; t < igraph_vector_int_size(v); t++) mark[VECTOR(*v)[t]] = 1;
        }
        int32_t cnt = 0;
        for (int32_t i = 0; i < g->n_nodes; i++) cnt += mark[i];
        int32_t *arr = malloc((size_t)(cnt ? cnt : 1) * sizeof *arr);
        if (!arr) {
            st = KGM_ERR(KGM_ERR_NOMEM, "graph_khop");
        } else {
            int32_t p = 0;
            for (int32_t i = 0; i < g->n_nodes; i++)
                if (mark[i]) arr[p++] = i;
            *nodes = arr;
            *n_out = cnt;
        }
    }
    free(mark);
    igraph_vector_int_list_destroy(&res);
    igraph_vector_int_destroy(&sv);
    return st;
}

kgm_status kgm_graph_relation_counts(const kgm_graph *g, int64_t *counts) {
    if (g->kind != KGM_GRAPH_KG) return KGM_ERR(KGM_ERR_ARG, "graph_relation_counts: not a knowledge graph");
    memset(counts, 0, (size_t)g->n_rel * sizeof *counts);
    for (int64_t k = 0; k < g->n_edges; k++) counts[g->rel[k]]++;
    return KGM_OK;
}

/* Value at quantile q of a degree histogram (hist[d] = nodes of degree d). */
static int32_t hist_quantile(const int64_t *hist, int32_t maxd, int64_t n, double q) {
    int64_t target = (int64_t)ceil(q * (double)n);
    if (target < 1) target = 1;
    int64_t acc = 0;
    for (int32_t d = 0; d <= maxd; d++) {
        acc += hist[d];
        if (acc >= target) return d;
    }
    return maxd;
}

static kgm_status degree_stats(const kgm_graph *g, kgm_graph_stats *s) {
    int32_t n = g->n_nodes;
    int32_t *deg = malloc((size_t)(n ? n : 1) * sizeof *deg);
    if (!deg) return KGM_ERR(KGM_ERR_NOMEM, "graph_stats");
    kgm_status st = kgm_graph_degrees(g, KGM_GRAPH_IN, true, deg);
    for (int32_t i = 0; !st && i < n; i++)
        if (deg[i] > s->max_in_degree) s->max_in_degree = deg[i];
    if (!st) st = kgm_graph_degrees(g, KGM_GRAPH_OUT, true, deg);
    for (int32_t i = 0; !st && i < n; i++)
        if (deg[i] > s->max_out_degree) s->max_out_degree = deg[i];
    if (!st) st = kgm_graph_degrees(g, KGM_GRAPH_ALL, true, deg);
    int64_t *hist = NULL;
    if (!st) {
        double sum = 0;
        for (int32_t i = 0; i < n; i++) {
            sum += deg[i];
            if (deg[i] > s->max_degree) s->max_degree = deg[i];
            if (deg[i] == 0) s->n_isolated++;
        }
        s->mean_degree = n ? sum / n : 0;
        hist = calloc((size_t)s->max_degree + 1, sizeof *hist);
        if (!hist) st = KGM_ERR(KGM_ERR_NOMEM, "graph_stats");
    }
    if (!st && n > 0) {
        for (int32_t i = 0; i < n; i++) hist[deg[i]]++;
        s->median_degree = hist_quantile(hist, s->max_degree, n, 0.5);
        s->p99_degree = hist_quantile(hist, s->max_degree, n, 0.99);
    }
    free(hist);
    free(deg);
    return st;
}

kgm_status kgm_graph_stats_compute(const kgm_graph *g, kgm_graph_stats *s) {
    memset(s, 0, sizeof *s);
    s->kind = g->kind;
    s->directed = g->directed;
    s->weighted = g->weight != NULL;
    s->n_nodes = g->n_nodes;
    s->n_edges = g->n_edges;
    s->n_rel = g->n_rel;
    for (int64_t k = 0; k < g->n_edges; k++) s->n_self_loops += g->src[k] == g->dst[k];
    KGM_TRY(degree_stats(g, s));
    KGM_TRY(kgm_graph_components(g, false, NULL, &s->n_components, &s->largest_component));

    igraph_vector_bool_t multi;
    KGM_TRY(KGM_IG(igraph_vector_bool_init(&multi, 0), "graph_stats"));
    kgm_status st = KGM_IG(igraph_is_multiple(&g->ig, &multi, igraph_ess_all(IGRAPH_EDGEORDER_ID)),
                           "graph_stats: multi-edges");
    if (!st)
        for (int64_t k = 0; k < g->n_edges; k++) s->n_multi_edges += VECTOR(multi)[k] ? 1 : 0;
    igraph_vector_bool_destroy(&multi);
    KGM_TRY(st);

    igraph_real_t r = 0;
    if (g->n_nodes > 1) KGM_TRY(KGM_IG(igraph_density(&g->ig, &r, false), "graph_stats: density"));
    s->density = r;
    r = 1;
    if (g->directed && g->n_edges > 0)
        KGM_TRY(KGM_IG(igraph_reciprocity(&g->ig, &r, true, IGRAPH_RECIPROCITY_DEFAULT),
                       "graph_stats: reciprocity"));
    s->reciprocity = r;
    KGM_TRY(KGM_IG(igraph_transitivity_undirected(&g->ig, &r, IGRAPH_TRANSITIVITY_NAN),
                   "graph_stats: transitivity"));
    s->transitivity = r;
    if (g->weight && g->n_edges > 0) {
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        for (int64_t k = 0; k < g->n_edges; k++) {
            mn = fmin(mn, g->weight[k]);
            mx = fmax(mx, g->weight[k]);
            sum += g->weight[k];
        }
        s->weight_min = mn;
        s->weight_max = mx;
        s->weight_mean = sum / (double)g->n_edges;
    }
    return KGM_OK;
}

void kgm_graph_stats_print(const kgm_graph_stats *s, FILE *f) {
    fprintf(f, "%-22s %s\n", "kind", s->kind == KGM_GRAPH_KG ? "knowledge graph" : "social graph");
    fprintf(f, "%-22s %s%s\n", "type", s->directed ? "directed" : "undirected",
            s->weighted ? ", weighted" : "");
    fprintf(f, "%-22s %d\n", "nodes", s->n_nodes);
    fprintf(f, "%-22s %lld\n", "edges", (long long)s->n_edges);
    if (s->kind == KGM_GRAPH_KG) fprintf(f, "%-22s %d\n", "relations", s->n_rel);
    fprintf(f, "%-22s %lld\n", "self-loops", (long long)s->n_self_loops);
    fprintf(f, "%-22s %lld\n", "multi-edges", (long long)s->n_multi_edges);
    fprintf(f, "%-22s %d\n", "isolated nodes", s->n_isolated);
    fprintf(f, "%-22s %.4g\n", "density", s->density);
    fprintf(f, "%-22s %.3f\n", "mean degree", s->mean_degree);
    fprintf(f, "%-22s %d / %d / %d\n", "degree median/p99/max", s->median_degree, s->p99_degree,
            s->max_degree);
    if (s->directed) fprintf(f, "%-22s %d / %d\n", "max in/out degree", s->max_in_degree, s->max_out_degree);
    fprintf(f, "%-22s %d (largest %d nodes)\n", "components", s->n_components, s->largest_component);
    if (s->directed) fprintf(f, "%-22s %.4f\n", "reciprocity", s->reciprocity);
    fprintf(f, "%-22s %.4f\n", "transitivity", s->transitivity);
    if (s->weighted)
        fprintf(f, "%-22s %.4g / %.4g / %.4g\n", "weight min/mean/max", s->weight_min, s->weight_mean,
                s->weight_max);
}
