/* CSR views: extraction from the graph store, the transpose, relation
 * grouping, normalisation constants, and mini-batch subgraphs. */
#include "graph/graph_internal.h"

static void *xmalloc(size_t n, size_t size, bool *fail) {
    void *p = malloc((n ? n : 1) * size);
    if (!p) *fail = true;
    return p;
}

void kgm_graph_csr_destroy(kgm_graph_csr *c) {
    if (!c) return;
    free(c->rowptr);
    free(c->nbr);
    free(c->row);
    free(c->rel);
    free(c->weight);
    free(c->eid);
    free(c->deg_in);
    free(c->deg_out);
    free(c->norm_sym);
    free(c->norm_row);
    free(c->norm_rel);
    free(c->t_rowptr);
    free(c->t_dst);
    free(c->t_perm);
    free(c->rel_ptr);
    free(c->rel_perm);
    free(c->global_id);
    free(c->seed_local);
    memset(c, 0, sizeof *c);
}

/* Counting sort of keys[0..m) over [0, n): ptr (n+1) and a stable order. */
static void counting_sort(const int32_t *keys, int64_t m, int32_t n, int64_t *ptr, int64_t *order) {
    memset(ptr, 0, (size_t)(n + 1) * sizeof *ptr);
    for (int64_t k = 0; k < m; k++) ptr[keys[k] + 1]++;
    for (int32_t i = 0; i < n; i++) ptr[i + 1] += ptr[i];
    int64_t *fill = malloc((n > 0 ? (size_t)n : 1) * sizeof *fill);
    if (fill) {
        memcpy(fill, ptr, (size_t)n * sizeof *fill);
        for (int64_t k = 0; k < m; k++) order[fill[keys[k]]++] = k;
        free(fill);
    } else {
        /* Out of memory for the cursor array: a slower in-place fill. */
        int64_t pos = 0;
        for (int32_t i = 0; i < n; i++)
            for (int64_t k = 0; k < m; k++)
                if (keys[k] == i) order[pos++] = k;
    }
}

static void compute_norm_rel(kgm_graph_csr *c, int32_t *cnt) {
    for (int32_t i = 0; i < c->n_nodes; i++) {
        for (int64_t k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) cnt[c->rel[k]]++;
        for (int64_t k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) c->norm_rel[k] = 1.0f / (float)cnt[c->rel[k]];
        for (int64_t k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) cnt[c->rel[k]] = 0;
    }
}

kgm_status kgm_graph_csr_assemble(const kgm_csr_entries *e, kgm_graph_csr *c) {
    memset(c, 0, sizeof *c);
    int32_t n = e->n_nodes;
    int64_t m = e->nnz;
    c->n_nodes = n;
    c->nnz = m;
    c->n_rel = e->rel ? e->n_rel : 0;
    bool fail = false;
    int64_t *order = xmalloc((size_t)m, sizeof *order, &fail);
    c->rowptr = xmalloc((size_t)n + 1, sizeof *c->rowptr, &fail);
    c->nbr = xmalloc((size_t)m, sizeof *c->nbr, &fail);
    c->row = xmalloc((size_t)m, sizeof *c->row, &fail);
    c->eid = xmalloc((size_t)m, sizeof *c->eid, &fail);
    c->deg_in = xmalloc((size_t)n, sizeof(float), &fail);
    c->deg_out = xmalloc((size_t)n, sizeof(float), &fail);
    c->norm_sym = xmalloc((size_t)m, sizeof(float), &fail);
    c->norm_row = xmalloc((size_t)m, sizeof(float), &fail);
    c->t_rowptr = xmalloc((size_t)n + 1, sizeof *c->t_rowptr, &fail);
    c->t_dst = xmalloc((size_t)m, sizeof *c->t_dst, &fail);
    c->t_perm = xmalloc((size_t)m, sizeof *c->t_perm, &fail);
    if (e->weight) c->weight = xmalloc((size_t)m, sizeof(float), &fail);
    int32_t *cnt = NULL;
    if (e->rel) {
        c->rel = xmalloc((size_t)m, sizeof *c->rel, &fail);
        c->norm_rel = xmalloc((size_t)m, sizeof(float), &fail);
        c->rel_ptr = xmalloc((size_t)c->n_rel + 1, sizeof *c->rel_ptr, &fail);
        c->rel_perm = xmalloc((size_t)m, sizeof *c->rel_perm, &fail);
        cnt = calloc((size_t)c->n_rel + 1, sizeof *cnt);
        if (!cnt) fail = true;
    }
    if (fail) {
        free(order);
        free(cnt);
        kgm_graph_csr_destroy(c);
        return KGM_ERR(KGM_ERR_NOMEM, "graph CSR (%d nodes, %lld entries)", n, (long long)m);
    }

    /* Rows: stable by destination, so a row keeps the igraph edge order. */
    counting_sort(e->row, m, n, c->rowptr, order);
    for (int64_t p = 0; p < m; p++) {
        int64_t k = order[p];
        c->nbr[p] = e->nbr[k];
        c->eid[p] = e->eid ? e->eid[k] : k;
        if (c->rel) c->rel[p] = e->rel[k];
        if (c->weight) c->weight[p] = e->weight[k];
    }

    /* Transpose: entries grouped by neighbour, rows ascending within a group. */
    for (int32_t i = 0; i < n; i++)
        for (int64_t k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) c->row[k] = i;
    counting_sort(c->nbr, m, n, c->t_rowptr, c->t_perm);
    for (int64_t p = 0; p < m; p++) c->t_dst[p] = c->row[c->t_perm[p]];

    /* Degrees (weighted) and per-entry normalisation. */
    if (e->deg_in) {
        memcpy(c->deg_in, e->deg_in, (size_t)n * sizeof(float));
        memcpy(c->deg_out, e->deg_out, (size_t)n * sizeof(float));
    } else {
        for (int32_t i = 0; i < n; i++) {
            double s = 0;
            for (int64_t k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) s += c->weight ? c->weight[k] : 1.0;
            c->deg_in[i] = (float)s;
            s = 0;
            for (int64_t p = c->t_rowptr[i]; p < c->t_rowptr[i + 1]; p++)
                s += c->weight ? c->weight[c->t_perm[p]] : 1.0;
            c->deg_out[i] = (float)s;
        }
    }
    for (int32_t i = 0; i < n; i++)
        for (int64_t k = c->rowptr[i]; k < c->rowptr[i + 1]; k++) {
            if (e->norm_sym) {
                c->norm_sym[k] = e->norm_sym[order[k]];
                c->norm_row[k] = e->norm_row[order[k]];
                continue;
            }
            double w = c->weight ? c->weight[k] : 1.0;
            double di = c->deg_in[i], dj = c->deg_out[c->nbr[k]];
            c->norm_sym[k] = di > 0 && dj > 0 ? (float)(w / sqrt(di * dj)) : 0.0f;
            c->norm_row[k] = di > 0 ? (float)(w / di) : 0.0f;
        }
    free(order);

    if (c->rel) {
        compute_norm_rel(c, cnt);
        counting_sort(c->rel, m, c->n_rel, c->rel_ptr, c->rel_perm);
        free(cnt);
    }

    c->view.rows = n;
    c->view.cols = n;
    c->view.nnz = m;
    c->view.rowptr = c->rowptr;
    c->view.col = c->nbr;
    c->view.val = NULL;
    c->view.t_rowptr = c->t_rowptr;
    c->view.t_col = c->t_dst;
    c->view.t_perm = c->t_perm;
    return KGM_OK;
}

/* Mutable per-entry buffers handed to kgm_graph_csr_assemble. */
typedef struct {
    int32_t *row, *nbr, *rel;
    float *w, *ns, *nr, *din, *dout;
    int64_t *eid;
} entry_bufs;

static void bufs_free(entry_bufs *b) {
    free(b->row);
    free(b->nbr);
    free(b->rel);
    free(b->w);
    free(b->ns);
    free(b->nr);
    free(b->din);
    free(b->dout);
    free(b->eid);
    memset(b, 0, sizeof *b);
}

/* m entries; n_keep > 0 also keeps degrees of n_keep nodes and per-entry norms. */
static kgm_status bufs_alloc(entry_bufs *b, int64_t m, bool rel, bool w, int32_t n_keep) {
    memset(b, 0, sizeof *b);
    bool fail = false;
    b->row = xmalloc((size_t)m, sizeof *b->row, &fail);
    b->nbr = xmalloc((size_t)m, sizeof *b->nbr, &fail);
    b->eid = xmalloc((size_t)m, sizeof *b->eid, &fail);
    if (rel) b->rel = xmalloc((size_t)m, sizeof *b->rel, &fail);
    if (w) b->w = xmalloc((size_t)m, sizeof *b->w, &fail);
    if (n_keep > 0) {
        b->ns = xmalloc((size_t)m, sizeof *b->ns, &fail);
        b->nr = xmalloc((size_t)m, sizeof *b->nr, &fail);
        b->din = xmalloc((size_t)n_keep, sizeof *b->din, &fail);
        b->dout = xmalloc((size_t)n_keep, sizeof *b->dout, &fail);
    }
    if (!fail) return KGM_OK;
    bufs_free(b);
    return KGM_ERR(KGM_ERR_NOMEM, "graph CSR: %lld entries", (long long)m);
}

static kgm_status bufs_assemble(const entry_bufs *b, int32_t n, int32_t n_rel, int64_t m, kgm_graph_csr *out) {
    kgm_csr_entries e = {n, b->rel ? n_rel : 0, m, b->row, b->nbr, b->rel, b->w, b->eid,
                         b->din, b->dout, b->ns, b->nr};
    return kgm_graph_csr_assemble(&e, out);
}

kgm_status kgm_graph_csr_build(const kgm_graph *g, const kgm_graph_csr_opts *opts, kgm_graph_csr *out) {
    memset(out, 0, sizeof *out);
    kgm_graph_csr_opts o = {0};
    if (opts) o = *opts;
    if (o.inverse && g->kind != KGM_GRAPH_KG)
        return KGM_ERR(KGM_ERR_ARG, "graph CSR: inverse relations need a knowledge graph");
    bool both = o.inverse || !g->directed;
    entry_bufs b;
    KGM_TRY(bufs_alloc(&b, both ? 2 * g->n_edges : g->n_edges, g->rel != NULL, g->weight && !o.unweighted, 0));
    int64_t m = 0;
    for (int64_t k = 0; k < g->n_edges; k++) {
        int32_t s = g->src[k], d = g->dst[k];
        int32_t to = o.reverse ? s : d, from = o.reverse ? d : s;
        b.row[m] = to;
        b.nbr[m] = from;
        if (b.rel) b.rel[m] = g->rel[k];
        if (b.w) b.w[m] = g->weight[k];
        b.eid[m++] = k;
        /* The other direction: inverse relation (KG) or undirected edge
         * (a self-loop of an undirected graph is one entry). */
        if (o.inverse || (!g->directed && s != d)) {
            b.row[m] = from;
            b.nbr[m] = to;
            if (b.rel) b.rel[m] = g->rel[k] + (o.inverse ? g->n_rel : 0);
            if (b.w) b.w[m] = g->weight[k];
            b.eid[m++] = k;
        }
    }
    kgm_status st = bufs_assemble(&b, g->n_nodes, o.inverse ? 2 * g->n_rel : g->n_rel, m, out);
    bufs_free(&b);
    return st;
}

/* ---- mini-batch subgraphs ---------------------------------------------------- */

kgm_status kgm_graph_subgraph(const kgm_graph_csr *full, const int32_t *seeds, int32_t n_seeds,
                              int32_t n_hops, kgm_graph_csr *out) {
    memset(out, 0, sizeof *out);
    if (n_seeds < 0 || (n_seeds > 0 && !seeds)) return KGM_ERR(KGM_ERR_ARG, "subgraph: bad seed array");
    if (n_hops < 0) return KGM_ERR(KGM_ERR_ARG, "subgraph: negative hop count %d", n_hops);
    int32_t N = full->n_nodes;
    for (int32_t s = 0; s < n_seeds; s++)
        if (seeds[s] < 0 || seeds[s] >= N)
            return KGM_ERR(KGM_ERR_INDEX, "subgraph: seed %d at position %d outside [0, %d)", seeds[s], s, N);
    bool fail = false;
    int32_t *local = xmalloc((size_t)N, sizeof *local, &fail);
    int32_t *gid = xmalloc((size_t)N, sizeof *gid, &fail); /* local -> global, at most N */
    int32_t *seed_local = xmalloc((size_t)n_seeds, sizeof *seed_local, &fail);
    entry_bufs b = {0};
    kgm_status st = KGM_OK;
    if (fail) {
        st = KGM_ERR(KGM_ERR_NOMEM, "subgraph");
        goto done;
    }
    for (int32_t i = 0; i < N; i++) local[i] = -1;
    int32_t nl = 0;
    for (int32_t s = 0; s < n_seeds; s++) {
        if (local[seeds[s]] < 0) {
            local[seeds[s]] = nl;
            gid[nl++] = seeds[s];
        }
        seed_local[s] = local[seeds[s]];
    }
    /* Breadth-first over the messages: level h is [lo, hi) in local ids. */
    int32_t lo = 0, hi = nl;
    int64_t m = 0;
    for (int32_t h = 0; h < n_hops; h++) {
        for (int32_t u = lo; u < hi; u++) {
            int32_t gu = gid[u];
            m += full->rowptr[gu + 1] - full->rowptr[gu];
            for (int64_t k = full->rowptr[gu]; k < full->rowptr[gu + 1]; k++) {
                int32_t j = full->nbr[k];
                if (local[j] < 0) {
                    local[j] = nl;
                    gid[nl++] = j;
                }
            }
        }
        lo = hi;
        hi = nl;
    }
    int32_t n_inner = lo; /* nodes at distance < n_hops keep all their entries */
    if ((st = bufs_alloc(&b, m, full->rel != NULL, full->weight != NULL, nl ? nl : 1))) goto done;
    int64_t p = 0;
    for (int32_t u = 0; u < n_inner; u++) {
        int32_t gu = gid[u];
        for (int64_t k = full->rowptr[gu]; k < full->rowptr[gu + 1]; k++, p++) {
            b.row[p] = u;
            b.nbr[p] = local[full->nbr[k]];
            b.eid[p] = full->eid[k];
            b.ns[p] = full->norm_sym[k];
            b.nr[p] = full->norm_row[k];
            if (b.rel) b.rel[p] = full->rel[k];
            if (b.w) b.w[p] = full->weight[k];
        }
    }
    for (int32_t u = 0; u < nl; u++) {
        b.din[u] = full->deg_in[gid[u]];
        b.dout[u] = full->deg_out[gid[u]];
    }
    st = bufs_assemble(&b, nl, full->n_rel, m, out);
    if (!st) {
        int32_t *g2 = realloc(gid, (size_t)(nl ? nl : 1) * sizeof *g2);
        if (g2) gid = g2;
        out->global_id = gid;
        out->seed_local = seed_local;
        out->n_seeds = n_seeds;
        gid = NULL;
        seed_local = NULL;
    }
done:
    free(local);
    free(gid);
    free(seed_local);
    bufs_free(&b);
    return st;
}
