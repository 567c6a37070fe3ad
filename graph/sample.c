/* Fixed fan-out neighbour sampling (KGCN-style receptive fields). */
#include <omp.h>

#include "graph/graph_internal.h"
#include "core/base/rng.h"

void kgm_fanout_init(kgm_fanout *f) { memset(f, 0, sizeof *f); }

void kgm_fanout_destroy(kgm_fanout *f) {
    if (!f) return;
    for (int h = 0; h <= KGM_FANOUT_MAX_HOPS; h++) {
        free(f->nodes[h]);
        free(f->rels[h]);
    }
    memset(f, 0, sizeof *f);
}

static kgm_status reserve(kgm_fanout *f, int h, int64_t n, bool rels) {
    if (n <= f->cap_[h] && (!rels || f->rels[h])) return KGM_OK;
    int64_t cap = n > f->cap_[h] ? n : f->cap_[h];
    int32_t *a = realloc(f->nodes[h], (size_t)(cap ? cap : 1) * sizeof *a);
    if (!a) return KGM_ERR(KGM_ERR_NOMEM, "fanout sample: %lld ids at hop %d", (long long)n, h);
    f->nodes[h] = a;
    if (rels) {
        int32_t *b = realloc(f->rels[h], (size_t)(cap ? cap : 1) * sizeof *b);
        if (!b) return KGM_ERR(KGM_ERR_NOMEM, "fanout sample: %lld relations at hop %d", (long long)n, h);
        f->rels[h] = b;
    }
    f->cap_[h] = cap;
    return KGM_OK;
}

/* Draw F entries of row u into out/out_rel. */
static void sample_row(const kgm_graph_csr *g, int32_t u, int32_t F, kgm_rng *r, int32_t *out, int32_t *out_rel) {
    int64_t k0 = g->rowptr[u], deg = g->rowptr[u + 1] - k0;
    if (deg == 0) {
        for (int32_t f = 0; f < F; f++) {
            out[f] = u;
            if (out_rel) out_rel[f] = g->n_rel;
        }
        return;
    }
    if (deg < F) {
        for (int32_t f = 0; f < F; f++) {
            int64_t k = k0 + (int64_t)kgm_rng_below(r, (uint64_t)deg);
            out[f] = g->nbr[k];
            if (out_rel) out_rel[f] = g->rel[k];
        }
        return;
    }
    /* Floyd's algorithm: F distinct offsets in [0, deg). The chosen offsets
     * are kept in `out` temporarily (as int64 would be wider; deg < 2^31). */
    int32_t cnt = 0;
    for (int64_t j = deg - F; j < deg; j++) {
        int32_t t = (int32_t)kgm_rng_below(r, (uint64_t)j + 1);
        bool seen = false;
        for (int32_t q = 0; q < cnt; q++)
            if (out[q] == t) {
                seen = true;
                break;
            }
        out[cnt++] = seen ? (int32_t)j : t;
    }
    for (int32_t f = 0; f < F; f++) {
        int64_t k = k0 + out[f];
        out[f] = g->nbr[k];
        if (out_rel) out_rel[f] = g->rel[k];
    }
}

kgm_status kgm_graph_sample_fanout(const kgm_graph_csr *g, const int32_t *seeds, int32_t n_seeds,
                                   int32_t n_hops, int32_t fanout, uint64_t seed, kgm_fanout *out) {
    if (!g || !g->rowptr) return KGM_ERR(KGM_ERR_ARG, "fanout sample: CSR view is NULL");
    if (n_seeds < 0 || (n_seeds > 0 && !seeds)) return KGM_ERR(KGM_ERR_ARG, "fanout sample: bad seed array");
    if (n_hops < 0 || n_hops > KGM_FANOUT_MAX_HOPS)
        return KGM_ERR(KGM_ERR_ARG, "fanout sample: %d hops (0 .. %d allowed)", n_hops, KGM_FANOUT_MAX_HOPS);
    if (fanout <= 0) return KGM_ERR(KGM_ERR_ARG, "fanout sample: fan-out must be positive, found %d", fanout);
    int64_t total = n_seeds;
    for (int32_t h = 1; h <= n_hops; h++) {
        if (total > INT32_MAX / fanout)
            return KGM_ERR(KGM_ERR_ARG, "fanout sample: %d seeds x %d^%d exceeds 2^31 ids", n_seeds, fanout, h);
        total *= fanout;
    }
    for (int32_t s = 0; s < n_seeds; s++)
        if (seeds[s] < 0 || seeds[s] >= g->n_nodes)
            return KGM_ERR(KGM_ERR_INDEX, "fanout sample: seed %d at position %d outside [0, %d)", seeds[s], s,
                           g->n_nodes);
    bool rels = g->rel != NULL;
    out->n_seeds = n_seeds;
    out->n_hops = n_hops;
    out->fanout = fanout;
    memset(out->count, 0, sizeof out->count);
    KGM_TRY(reserve(out, 0, n_seeds, false));
    if (n_seeds) memcpy(out->nodes[0], seeds, (size_t)n_seeds * sizeof(int32_t));
    out->count[0] = n_seeds;
    for (int32_t h = 1; h <= n_hops; h++) {
        int64_t prev = out->count[h - 1];
        KGM_TRY(reserve(out, h, prev * fanout, rels));
        out->count[h] = prev * fanout;
        const int32_t *src = out->nodes[h - 1];
        int32_t *dst = out->nodes[h], *dr = rels ? out->rels[h] : NULL;
        uint64_t hop_base = kgm_rng_stream_id("graph.fanout", (uint64_t)h);
#pragma omp parallel for schedule(static) if (prev * fanout > 4096)
        for (int64_t p = 0; p < prev; p++) {
            kgm_rng r;
            /* The draw of node p at hop h depends on (seed, h, p) only. */
            kgm_rng_init(&r, seed, hop_base + (uint64_t)p);
            sample_row(g, src[p], fanout, &r, dst + p * fanout, dr ? dr + p * fanout : NULL);
        }
    }
    return KGM_OK;
}
