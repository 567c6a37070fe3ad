/* The graph store: validation policies, igraph queries, statistics, CSR
 * views against igraph's own adjacency, igraph failure paths. */
#include "tests/graph/graph_testutil.h"

static void setup(void) { kgm_init_runtime(); }

TestSuite(graph_store, .init = setup);

/* 0:(0,0,1) 1:(1,1,1) self 2:(0,0,1) dup 3:(2,1,9) dangling 4:(3,0,2) 5:(0,1,1) multi */
static const int32_t H[] = {0, 1, 0, 2, 3, 0};
static const int32_t R[] = {0, 1, 0, 1, 0, 1};
static const int32_t T[] = {1, 1, 1, 9, 2, 1};

Test(graph_store, dangling_policies) {
    kgm_graph_opts o = kgm_graph_default_opts();
    o.n_nodes = 5;
    kgm_graph_report rep;
    kgm_graph *g = NULL;
    cr_assert_eq(kgm_graph_new_kg(H, R, T, 6, &o, &rep, &g), KGM_ERR_INDEX);
    cr_assert_null(g);
    cr_assert_eq(rep.n_dangling, 1);
    cr_assert(strstr(kgm_error_message(), "edge 3") != NULL, "%s", kgm_error_message());

    o.dangling = KGM_GRAPH_DROP;
    GT_OK(kgm_graph_new_kg(H, R, T, 6, &o, &rep, &g));
    cr_assert_eq(rep.n_input, 6);
    cr_assert_eq(rep.n_dangling, 1);
    cr_assert_eq(rep.n_dropped, 1);
    cr_assert_eq(rep.n_self_loops, 1);
    cr_assert_eq(rep.n_duplicates, 1);
    cr_assert_eq(rep.n_edges, 5);
    cr_assert_eq(kgm_graph_n_nodes(g), 5);
    cr_assert_eq(kgm_graph_n_rel(g), 2);
    kgm_graph_free(g);

    o.dangling = KGM_GRAPH_KEEP; /* grows the node count to cover id 9 */
    GT_OK(kgm_graph_new_kg(H, R, T, 6, &o, &rep, &g));
    cr_assert_eq(kgm_graph_n_nodes(g), 10);
    cr_assert_eq(kgm_graph_n_edges(g), 6);
    kgm_graph_free(g);

    /* A negative id can never be kept. */
    int32_t hn[] = {0, -1}, rn[] = {0, 0}, tn[] = {1, 1};
    cr_assert_eq(kgm_graph_new_kg(hn, rn, tn, 2, &o, &rep, &g), KGM_ERR_INDEX);
    o.dangling = KGM_GRAPH_DROP;
    GT_OK(kgm_graph_new_kg(hn, rn, tn, 2, &o, &rep, &g));
    cr_assert_eq(kgm_graph_n_edges(g), 1);
    kgm_graph_free(g);

    /* Nor can an id that leaves no room for a count below 2^31. */
    o.dangling = KGM_GRAPH_KEEP;
    int32_t hb[] = {0, INT32_MAX};
    cr_assert_eq(kgm_graph_new_kg(hb, rn, tn, 2, &o, &rep, &g), KGM_ERR_INDEX);
    kgm_graph_opts oi = kgm_graph_default_opts();
    cr_assert_eq(kgm_graph_new_kg(hb, rn, tn, 2, &oi, &rep, &g), KGM_ERR_INDEX);

    /* Relation ids are checked against n_rel too. */
    o.n_rel = 1;
    o.dangling = KGM_GRAPH_ERROR;
    cr_assert_eq(kgm_graph_new_kg(H, R, T, 3, &o, &rep, &g), KGM_ERR_INDEX);
    cr_assert(strstr(kgm_error_message(), "relation") != NULL, "%s", kgm_error_message());
}

Test(graph_store, self_loop_and_duplicate_policies) {
    kgm_graph_opts o = kgm_graph_default_opts();
    o.n_nodes = 5;
    o.dangling = KGM_GRAPH_DROP;
    o.self_loops = KGM_GRAPH_DROP;
    o.duplicates = KGM_GRAPH_DROP;
    kgm_graph_report rep;
    kgm_graph *g = NULL;
    GT_OK(kgm_graph_new_kg(H, R, T, 6, &o, &rep, &g));
    cr_assert_eq(rep.n_dropped, 3);
    cr_assert_eq(kgm_graph_n_edges(g), 3);
    kgm_graph_edges e = kgm_graph_get_edges(g);
    /* First occurrences stay, in input order: edges 0, 4, 5. */
    cr_assert_eq(e.src[0], 0);
    cr_assert_eq(e.src[1], 3);
    cr_assert_eq(e.rel[2], 1);
    kgm_graph_free(g);

    o.self_loops = KGM_GRAPH_ERROR;
    cr_assert_eq(kgm_graph_new_kg(H, R, T, 6, &o, &rep, &g), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "self-loop") != NULL);
    o.self_loops = KGM_GRAPH_KEEP;
    o.duplicates = KGM_GRAPH_ERROR;
    cr_assert_eq(kgm_graph_new_kg(H, R, T, 6, &o, &rep, &g), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "duplicates edge 0") != NULL, "%s", kgm_error_message());
}

Test(graph_store, undirected_duplicates_and_weights) {
    int32_t s[] = {0, 1, 2, 0}, d[] = {1, 0, 2, 1};
    float w[] = {1, 2, 3, 4};
    kgm_graph_opts o = kgm_graph_default_opts();
    o.directed = false;
    kgm_graph_report rep;
    kgm_graph *g = NULL;
    GT_OK(kgm_graph_new_social(s, d, w, 4, &o, &rep, &g));
    cr_assert_eq(rep.n_duplicates, 2); /* (1,0) and the second (0,1) */
    cr_assert_eq(rep.n_self_loops, 1);
    kgm_graph_free(g);
    o.directed = true;
    GT_OK(kgm_graph_new_social(s, d, w, 4, &o, &rep, &g));
    cr_assert_eq(rep.n_duplicates, 1);
    cr_assert_not(kgm_graph_is_directed(g) == false);
    kgm_graph_free(g);
    w[2] = -1;
    cr_assert_eq(kgm_graph_new_social(s, d, w, 4, &o, &rep, &g), KGM_ERR_ARG);
    w[2] = NAN;
    cr_assert_eq(kgm_graph_new_social(s, d, w, 4, &o, &rep, &g), KGM_ERR_ARG);
}

Test(graph_store, degrees_components_khop) {
    /* A path 0-1-2-3 (directed), a pair 4->5, an isolated 6. */
    int32_t s[] = {0, 1, 2, 4}, d[] = {1, 2, 3, 5};
    kgm_graph_opts o = kgm_graph_default_opts();
    o.n_nodes = 7;
    kgm_graph *g = NULL;
    GT_OK(kgm_graph_new_social(s, d, NULL, 4, &o, NULL, &g));
    int32_t deg[7];
    GT_OK(kgm_graph_degrees(g, KGM_GRAPH_IN, true, deg));
    int32_t want_in[] = {0, 1, 1, 1, 0, 1, 0};
    for (int i = 0; i < 7; i++) cr_assert_eq(deg[i], want_in[i]);
    GT_OK(kgm_graph_degrees(g, KGM_GRAPH_ALL, true, deg));
    cr_assert_eq(deg[1], 2);
    int32_t mem[7], nc, largest;
    GT_OK(kgm_graph_components(g, false, mem, &nc, &largest));
    cr_assert_eq(nc, 3);
    cr_assert_eq(largest, 4);
    cr_assert_eq(mem[0], mem[3]);
    cr_assert_neq(mem[0], mem[4]);
    GT_OK(kgm_graph_components(g, true, NULL, &nc, NULL));
    cr_assert_eq(nc, 7);

    int32_t seeds[] = {0, 4}, *nodes, cnt;
    GT_OK(kgm_graph_khop(g, seeds, 2, 2, KGM_GRAPH_OUT, &nodes, &cnt));
    int32_t want[] = {0, 1, 2, 4, 5};
    cr_assert_eq(cnt, 5);
    for (int i = 0; i < 5; i++) cr_assert_eq(nodes[i], want[i]);
    free(nodes);
    GT_OK(kgm_graph_khop(g, seeds, 1, 3, KGM_GRAPH_IN, &nodes, &cnt));
    cr_assert_eq(cnt, 1);
    free(nodes);
    kgm_graph_free(g);
}

Test(graph_store, igraph_failures_become_statuses) {
    kgm_graph *g = gt_karate();
    int32_t bad[] = {3, 99}, *nodes = NULL, cnt = -1;
    kgm_error_clear();
    cr_assert_eq(kgm_graph_khop(g, bad, 2, 1, KGM_GRAPH_ALL, &nodes, &cnt), KGM_ERR_GRAPH);
    cr_assert_null(nodes);
    cr_assert(strstr(kgm_error_message(), "igraph") != NULL, "%s", kgm_error_message());
    cr_assert(strstr(kgm_error_message(), igraph_strerror(IGRAPH_EINVVID)) != NULL, "%s", kgm_error_message());
    int32_t ok[] = {0};
    cr_assert_eq(kgm_graph_khop(g, ok, 1, -2, KGM_GRAPH_ALL, &nodes, &cnt), KGM_ERR_GRAPH);
    cr_assert(strstr(kgm_error_message(), igraph_strerror(IGRAPH_EINVAL)) != NULL, "%s", kgm_error_message());
    kgm_graph_free(g);

    cr_assert_eq(kgm_graph_igraph_status(IGRAPH_SUCCESS, "x"), KGM_OK);
    cr_assert_eq(kgm_graph_igraph_status(IGRAPH_ENOMEM, "alloc"), KGM_ERR_NOMEM);
    cr_assert_eq(kgm_graph_igraph_status(IGRAPH_INTERRUPTED, "x"), KGM_ERR_INTERRUPTED);
    cr_assert_eq(kgm_graph_igraph_status(IGRAPH_EINVAL, "thing"), KGM_ERR_GRAPH);
    cr_assert(strstr(kgm_error_message(), "thing: igraph: ") != NULL, "%s", kgm_error_message());

    /* A failing igraph call inside the library: kgm_graph_from_igraph of a
     * graph whose edge list igraph cannot produce is hard to provoke, so
     * provoke igraph directly and check that the handler returned. */
    igraph_t ig;
    igraph_vector_int_t ev;
    igraph_vector_int_init(&ev, 2);
    VECTOR(ev)[0] = -1;
    VECTOR(ev)[1] = 0;
    igraph_error_t rc = igraph_create(&ig, &ev, 3, true);
    igraph_vector_int_destroy(&ev);
    cr_assert_neq(rc, IGRAPH_SUCCESS);
    cr_assert_eq(kgm_graph_igraph_status(rc, "create"), KGM_ERR_GRAPH);
}

Test(graph_store, karate_statistics) {
    kgm_graph *g = gt_karate();
    kgm_graph_stats s;
    GT_OK(kgm_graph_stats_compute(g, &s));
    cr_assert_eq(s.n_nodes, 34);
    cr_assert_eq(s.n_edges, 78);
    cr_assert_not(s.directed);
    cr_assert_eq(s.n_components, 1);
    cr_assert_eq(s.largest_component, 34);
    cr_assert_eq(s.n_isolated, 0);
    cr_assert_eq(s.max_degree, 17);
    cr_assert_float_eq(s.mean_degree, 156.0 / 34.0, 1e-9);
    cr_assert_float_eq(s.density, 78.0 / (34.0 * 33.0 / 2.0), 1e-9);
    cr_assert_float_eq(s.transitivity, 0.2556818, 1e-6);
    cr_assert_eq(s.n_self_loops, 0);
    cr_assert_eq(s.n_multi_edges, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    kgm_graph_stats_print(&s, f);
    fclose(f);
    cr_assert(strstr(buf, "nodes") && strstr(buf, "34") && strstr(buf, "transitivity"), "%s", buf);
    free(buf);
    kgm_graph_free(g);
}

Test(graph_store, kg_statistics_and_relation_counts) {
    kgm_graph *g = gt_random_kg(20, 3, 4, 50, 7);
    kgm_graph_stats s;
    GT_OK(kgm_graph_stats_compute(g, &s));
    cr_assert_eq(s.n_nodes, 20);
    cr_assert_eq(s.n_edges, 54);
    cr_assert_geq(s.n_isolated, 3);
    cr_assert_geq(s.n_self_loops, 1);
    cr_assert_geq(s.n_multi_edges, 2);
    int64_t cnt[4], tot = 0;
    GT_OK(kgm_graph_relation_counts(g, cnt));
    for (int r = 0; r < 4; r++) tot += cnt[r];
    cr_assert_eq(tot, 54);
    kgm_graph_free(g);
    kgm_graph *soc = gt_karate();
    cr_assert_eq(kgm_graph_relation_counts(soc, cnt), KGM_ERR_ARG);
    kgm_graph_free(soc);
}

/* Compare row i of a CSR view with igraph's incident edges of i (IN, or OUT
 * when reversed; ALL for undirected graphs, where igraph lists a self-loop twice). */
static void check_roundtrip(const kgm_graph *g, const kgm_graph_csr *c, bool reverse, bool inverse) {
    const igraph_t *ig = (const igraph_t *)kgm_graph_igraph(g);
    kgm_graph_edges e = kgm_graph_get_edges(g);
    igraph_vector_int_t inc;
    igraph_vector_int_init(&inc, 0);
    int64_t total = 0;
    for (int32_t i = 0; i < c->n_nodes; i++) {
        igraph_neimode_t mode = !kgm_graph_is_directed(g) || inverse ? IGRAPH_ALL : reverse ? IGRAPH_OUT : IGRAPH_IN;
        cr_assert_eq(igraph_incident(ig, &inc, i, mode), IGRAPH_SUCCESS);
        /* Expected multiset of (eid, neighbour); a self-loop is one entry
         * per direction it is stored in. */
        int64_t n_exp = 0;
        int64_t exp_eid[512];
        int32_t exp_nbr[512];
        for (igraph_integer_t q = 0; q < igraph_vector_int_size(&inc); q++) {
            int64_t k = VECTOR(inc)[q];
            bool loop = e.src[k] == e.dst[k];
            if (loop && !inverse) {
                bool dup = false;
                for (int64_t z = 0; z < n_exp; z++) dup |= exp_eid[z] == k;
                if (dup) continue;
            }
            int32_t other = e.src[k] == i ? e.dst[k] : e.src[k];
            cr_assert_lt(n_exp, 512);
            exp_eid[n_exp] = k;
            exp_nbr[n_exp++] = other;
        }
        int64_t deg = c->rowptr[i + 1] - c->rowptr[i];
        cr_assert_eq(deg, n_exp, "node %d: CSR has %lld entries, igraph %lld", i, (long long)deg, (long long)n_exp);
        for (int64_t k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) {
            bool found = false;
            for (int64_t z = 0; z < n_exp && !found; z++)
                if (exp_eid[z] == c->eid[k] && exp_nbr[z] == c->nbr[k]) {
                    exp_eid[z] = -1;
                    found = true;
                }
            cr_assert(found, "node %d: entry eid %lld nbr %d not in igraph's adjacency", i, (long long)c->eid[k],
                      c->nbr[k]);
            cr_assert_eq(c->row[k], i);
            if (c->rel) {
                int32_t r = e.rel[c->eid[k]];
                bool fwd = reverse ? e.src[c->eid[k]] == i : e.dst[c->eid[k]] == i;
                cr_assert(c->rel[k] == r || (inverse && c->rel[k] == r + kgm_graph_n_rel(g) && !fwd) ||
                          (inverse && e.src[c->eid[k]] == e.dst[c->eid[k]]));
            }
        }
        total += deg;
    }
    cr_assert_eq(total, c->nnz);
    igraph_vector_int_destroy(&inc);
    /* The transpose holds the same entries grouped by neighbour. */
    for (int32_t j = 0; j < c->n_nodes; j++)
        for (int64_t p = c->t_rowptr[j]; p < c->t_rowptr[j + 1]; p++) {
            int64_t k = c->t_perm[p];
            cr_assert_eq(c->nbr[k], j);
            cr_assert_eq(c->row[k], c->t_dst[p]);
            if (p > c->t_rowptr[j]) cr_assert_gt(k, c->t_perm[p - 1]);
        }
    /* Relation groups are a permutation, ascending within a relation. */
    if (c->rel_ptr) {
        cr_assert_eq(c->rel_ptr[c->n_rel], c->nnz);
        for (int32_t r = 0; r < c->n_rel; r++)
            for (int64_t p = c->rel_ptr[r]; p < c->rel_ptr[r + 1]; p++) {
                cr_assert_eq(c->rel[c->rel_perm[p]], r);
                if (p > c->rel_ptr[r]) cr_assert_gt(c->rel_perm[p], c->rel_perm[p - 1]);
            }
    }
}

Test(graph_store, csr_roundtrip_against_igraph) {
    kgm_graph *kg = gt_random_kg(15, 2, 3, 40, 3);
    for (int rev = 0; rev < 2; rev++)
        for (int inv = 0; inv < 2; inv++) {
            kgm_graph_csr c = gt_csr(kg, inv, rev);
            cr_assert_eq(c.nnz, inv ? 2 * kgm_graph_n_edges(kg) : kgm_graph_n_edges(kg));
            cr_assert_eq(c.n_rel, inv ? 6 : 3);
            check_roundtrip(kg, &c, rev, inv);
            kgm_graph_csr_destroy(&c);
        }
    kgm_graph_free(kg);
    kgm_graph *soc = gt_random_social(12, 2, 30, false, true, 4);
    kgm_graph_csr c = gt_csr(soc, false, false);
    check_roundtrip(soc, &c, false, false);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(soc);
    kgm_graph *ka = gt_karate();
    c = gt_csr(ka, false, false);
    cr_assert_eq(c.nnz, 156);
    check_roundtrip(ka, &c, false, false);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(ka);
}

Test(graph_store, csr_degrees_and_norms) {
    kgm_graph *g = gt_lesmis(true);
    kgm_graph_csr c = gt_csr(g, false, false);
    kgm_graph_csr_opts uw = {.unweighted = true};
    kgm_graph_csr cu;
    GT_OK(kgm_graph_csr_build(g, &uw, &cu));
    cr_assert_null(cu.weight);
    int32_t deg[77];
    GT_OK(kgm_graph_degrees(g, KGM_GRAPH_ALL, false, deg));
    kgm_graph_edges e = kgm_graph_get_edges(g);
    for (int32_t i = 0; i < 77; i++) {
        cr_assert_float_eq(cu.deg_in[i], (float)deg[i], 0);
        double s = 0;
        for (int64_t k = 0; k < e.n; k++)
            if (e.src[k] == i || e.dst[k] == i) s += e.weight[k];
        cr_assert_float_eq(c.deg_in[i], s, 1e-3);
        double rs = 0;
        for (int64_t k = c.rowptr[i]; k < c.rowptr[i + 1]; k++) rs += c.norm_row[k];
        cr_assert_float_eq(rs, 1.0, 1e-5);
    }
    for (int64_t k = 0; k < c.nnz; k++)
        cr_assert_float_eq(c.norm_sym[k], c.weight[k] / sqrt(c.deg_in[c.row[k]] * c.deg_out[c.nbr[k]]), 1e-6);
    kgm_graph_csr_destroy(&cu);
    cr_assert_eq(kgm_graph_csr_build(g, &(kgm_graph_csr_opts){.inverse = true}, &cu), KGM_ERR_ARG);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(graph_store, norm_rel_counts_relation_neighbours) {
    kgm_graph *g = gt_random_kg(10, 1, 2, 30, 9);
    kgm_graph_csr c = gt_csr(g, true, false);
    for (int32_t i = 0; i < c.n_nodes; i++)
        for (int64_t k = c.rowptr[i]; k < c.rowptr[i + 1]; k++) {
            int cnt = 0;
            for (int64_t q = c.rowptr[i]; q < c.rowptr[i + 1]; q++) cnt += c.rel[q] == c.rel[k];
            cr_assert_float_eq(c.norm_rel[k], 1.0f / cnt, 1e-7);
        }
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}

Test(graph_store, empty_graph) {
    kgm_graph_opts o = kgm_graph_default_opts();
    o.n_nodes = 3;
    kgm_graph *g = NULL;
    GT_OK(kgm_graph_new_social(NULL, NULL, NULL, 0, &o, NULL, &g));
    cr_assert_eq(kgm_graph_n_nodes(g), 3);
    kgm_graph_stats s;
    GT_OK(kgm_graph_stats_compute(g, &s));
    cr_assert_eq(s.n_isolated, 3);
    kgm_graph_csr c = gt_csr(g, false, false);
    cr_assert_eq(c.nnz, 0);
    kgm_graph_csr_destroy(&c);
    kgm_graph_free(g);
}
