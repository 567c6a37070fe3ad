/* `kgmtl data inspect`: counts plus graph statistics computed by igraph. */
#include <igraph.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"
#include "datasets/tools.h"

static kgm_status ig(igraph_error_t e, const char *what) {
    if (e == IGRAPH_SUCCESS) return KGM_OK;
    return KGM_ERR(KGM_ERR_GRAPH, "igraph %s: %s", what, igraph_strerror(e));
}

static int cmp_int(const void *a, const void *b) {
    igraph_integer_t x = *(const igraph_integer_t *)a, y = *(const igraph_integer_t *)b;
    return (x > y) - (x < y);
}

/* Degree statistics over vertices [from, to) of the degree vector. */
static void degree_line(FILE *out, const char *label, const igraph_vector_int_t *deg, igraph_integer_t from,
                        igraph_integer_t to) {
    igraph_integer_t n = to - from;
    if (n <= 0) return;
    igraph_integer_t *v = malloc((size_t)n * sizeof *v);
    if (!v) return;
    double sum = 0;
    igraph_integer_t zero = 0;
    for (igraph_integer_t i = 0; i < n; i++) {
        v[i] = VECTOR(*deg)[from + i];
        sum += (double)v[i];
        zero += v[i] == 0;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_int);
    fprintf(out, "    %-18s degree min %lld  median %lld  mean %.2f  p99 %lld  max %lld", label, (long long)v[0],
            (long long)v[n / 2], sum / (double)n, (long long)v[(n - 1) * 99 / 100], (long long)v[n - 1]);
    if (zero) fprintf(out, "  (%lld isolated)", (long long)zero);
    fprintf(out, "\n");
    free(v);
}

/* Build a graph on n vertices from (a[i] + oa, b[i] + ob) edges and print
 * its degree and component statistics. `split` separates two vertex kinds. */
static kgm_status graph_stats(FILE *out, const char *title, igraph_integer_t n, const int32_t *a, int32_t oa,
                              const int32_t *b, int32_t ob, int64_t m, bool directed, igraph_integer_t split,
                              const char *la, const char *lb, igraph_vector_int_t *deg_out) {
    igraph_vector_int_t edges;
    KGM_TRY(ig(igraph_vector_int_init(&edges, 2 * (igraph_integer_t)m), "edges"));
    for (int64_t i = 0; i < m; i++) {
        VECTOR(edges)[2 * i] = a[i] + oa;
        VECTOR(edges)[2 * i + 1] = b[i] + ob;
    }
    igraph_t g;
    kgm_status st = ig(igraph_create(&g, &edges, n, directed ? IGRAPH_DIRECTED : IGRAPH_UNDIRECTED), "create");
    igraph_vector_int_destroy(&edges);
    KGM_TRY(st);
    igraph_vector_int_t deg, csize;
    igraph_integer_t ncomp = 0;
    st = ig(igraph_vector_int_init(&deg, 0), "vector");
    if (st == KGM_OK) st = ig(igraph_vector_int_init(&csize, 0), "vector");
    if (st == KGM_OK) st = ig(igraph_degree(&g, &deg, igraph_vss_all(), IGRAPH_ALL, IGRAPH_LOOPS), "degree");
    if (st == KGM_OK) st = ig(igraph_connected_components(&g, NULL, &csize, &ncomp, IGRAPH_WEAK), "components");
    if (st == KGM_OK) {
        igraph_integer_t largest = 0;
        for (igraph_integer_t i = 0; i < igraph_vector_int_size(&csize); i++)
            if (VECTOR(csize)[i] > largest) largest = VECTOR(csize)[i];
        fprintf(out, "  %s: %lld vertices, %lld edges, %lld components (largest %lld = %.1f%%)\n", title, (long long)n,
                (long long)m, (long long)ncomp, (long long)largest, n ? 100.0 * (double)largest / (double)n : 0.0);
        degree_line(out, la, &deg, 0, split);
        if (lb) degree_line(out, lb, &deg, split, n);
        if (directed) {
            igraph_real_t rec = 0;
            if (igraph_reciprocity(&g, &rec, true, IGRAPH_RECIPROCITY_DEFAULT) == IGRAPH_SUCCESS)
                fprintf(out, "    reciprocity %.3f\n", (double)rec);
        }
        if (deg_out) igraph_vector_int_update(deg_out, &deg);
    }
    igraph_vector_int_destroy(&deg);
    igraph_vector_int_destroy(&csize);
    igraph_destroy(&g);
    return st;
}

kgm_status kgm_data_inspect(const kgm_dataset *ds, FILE *out) {
    KGM_TRY(kgm_dataset_validate(ds));
    kgm_dataset_summary(ds, out);
    fprintf(out, "graphs (igraph):\n");
    const kgm_interactions *it = &ds->inter;
    if (it->n)
        KGM_TRY(graph_stats(out, "user-item", (igraph_integer_t)ds->users.count + ds->items.count, it->user, 0,
                            it->item, ds->users.count, it->n, false, ds->users.count, "users", "items", NULL));
    igraph_vector_int_t kdeg;
    KGM_TRY(ig(igraph_vector_int_init(&kdeg, 0), "vector"));
    kgm_status st = KGM_OK;
    if (ds->kg.n) {
        st = graph_stats(out, "knowledge graph", ds->entities.count, ds->kg.h, 0, ds->kg.t, 0, ds->kg.n, true,
                         ds->entities.count, "entities", NULL, &kdeg);
        if (st == KGM_OK) {
            int64_t *per = calloc((size_t)ds->relations.count + 1, sizeof *per);
            if (per) {
                for (int64_t i = 0; i < ds->kg.n; i++) per[ds->kg.r[i]]++;
                fprintf(out, "    triples per relation:");
                for (int32_t r = 0; r < ds->relations.count; r++) {
                    if (r == 12 && ds->relations.count > 14) {
                        fprintf(out, " ... (%d more)", ds->relations.count - 12);
                        break;
                    }
                    fprintf(out, " %s %lld", kgm_idmap_name(&ds->relations, r), (long long)per[r]);
                }
                fprintf(out, "\n");
                free(per);
            }
        }
    }
    if (st == KGM_OK && ds->social.n)
        st = graph_stats(out, "social", ds->users.count, ds->social.src, 0, ds->social.dst, 0, ds->social.n,
                         ds->social.directed, ds->users.count, "users", NULL, NULL);
    if (st == KGM_OK && ds->items.count && (ds->n_item_entity || ds->entities.count)) {
        int32_t linked = 0, with_triples = 0;
        for (int32_t i = 0; i < ds->n_item_entity; i++) {
            int32_t e = ds->item_entity[i];
            if (e < 0) continue;
            linked++;
            if (ds->kg.n && e < igraph_vector_int_size(&kdeg) && VECTOR(kdeg)[e] > 0) with_triples++;
        }
        int32_t n_i = ds->items.count, n_e = ds->entities.count;
        fprintf(out, "id coverage:\n");
        fprintf(out, "  items linked to an entity   %d / %d (%.1f%%)\n", linked, n_i, n_i ? 100.0 * linked / n_i : 0.0);
        fprintf(out, "  items with KG triples       %d / %d (%.1f%%)\n", with_triples, n_i,
                n_i ? 100.0 * with_triples / n_i : 0.0);
        fprintf(out, "  entities that are items     %d / %d (%.1f%%)\n", linked, n_e, n_e ? 100.0 * linked / n_e : 0.0);
    }
    if (st == KGM_OK && ds->items.count && ds->item_text.n) {
        int32_t with = 0;
        for (int32_t i = 0; i < ds->items.count; i++) {
            int32_t l;
            kgm_strings_get(&ds->item_text, i, &l);
            with += l > 0;
        }
        fprintf(out, "  items with text             %d / %d (%.1f%%)\n", with, ds->items.count,
                100.0 * with / ds->items.count);
    }
    igraph_vector_int_destroy(&kdeg);
    return st;
}
