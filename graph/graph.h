/* graph/graph.h — igraph-backed knowledge and social graphs, CSR views,
 * samplers and message-passing layers (graph/).
 *
 * A kgm_graph owns an igraph_t plus per-edge relation ids (knowledge graph:
 * directed, typed, multi-edges allowed) or per-edge weights (social graph:
 * directed or undirected). igraph does construction, degrees, components,
 * k-hop neighbourhoods and statistics. Message passing runs on a
 * kgm_graph_csr extracted once: the entries of every node are the messages it
 * RECEIVES (sorted by that node), plus the transpose, so forward kernels own
 * destination rows and backward kernels own source rows (no atomics).
 *
 * Direction: an entry (i <- j) means node i aggregates from neighbour j. By
 * default i is the head of an edge j -> i; with `reverse` the tail aggregates
 * from its out-neighbours (KGAT: a head aggregates its tails; DiffNet: a user
 * aggregates the users it trusts). Undirected edges give both entries.
 *
 * Every layer is a tape op or a composition of tape ops (core/tensor/ops.h): the
 * forward runs at once (OpenMP over destination rows), the backward
 * accumulates into input gradients (OpenMP over source rows or relations).
 * Results do not depend on the number of threads in the fused kernels; BLAS
 * calls may round differently across thread counts. */
#ifndef KGMTL_GRAPH_H
#define KGMTL_GRAPH_H

#include <stdio.h>

#include "core/tensor/tape.h"

#ifdef __cplusplus
extern "C" {
#endif

struct igraph_s; /* igraph_t, from <igraph.h> */

/* ---- graph store ----------------------------------------------------------------- */

typedef struct kgm_graph kgm_graph;

typedef enum kgm_graph_kind {
    KGM_GRAPH_KG = 0,     /* typed directed edges (head, relation, tail) */
    KGM_GRAPH_SOCIAL = 1  /* user-user edges, optional weights */
} kgm_graph_kind;

/* What to do with a suspicious input edge. */
typedef enum kgm_graph_policy {
    KGM_GRAPH_KEEP = 0,  /* keep it (dangling ids: grow the node / relation count) */
    KGM_GRAPH_DROP = 1,  /* leave it out, count it */
    KGM_GRAPH_ERROR = 2  /* fail with KGM_ERR_INDEX (dangling) or KGM_ERR_ARG */
} kgm_graph_policy;

typedef enum kgm_graph_dir {
    KGM_GRAPH_OUT = 1,
    KGM_GRAPH_IN = 2,
    KGM_GRAPH_ALL = 3
} kgm_graph_dir;

/* Construction options. A dangling id is a node id outside [0, n_nodes) or a
 * relation id outside [0, n_rel); a negative id can never be kept (KEEP acts
 * as ERROR for it). A duplicate is an edge equal to an earlier one: same
 * (head, relation, tail) in a KG, same (src, dst) in a social graph (in either
 * order when undirected); the first occurrence stays. */
typedef struct kgm_graph_opts {
    int32_t n_nodes;             /* 0: max id + 1 */
    int32_t n_rel;               /* KG: 0 = max relation + 1 */
    bool directed;               /* social graphs only; a KG is always directed */
    kgm_graph_policy dangling;   /* default ERROR */
    kgm_graph_policy self_loops; /* default KEEP */
    kgm_graph_policy duplicates; /* default KEEP */
} kgm_graph_opts;

/* Counts found while validating the input (edges may be counted under more
 * than one heading, except that a dropped dangling edge is not checked
 * further). */
typedef struct kgm_graph_report {
    int64_t n_input;      /* edges given */
    int64_t n_dangling;   /* edges with a dangling id */
    int64_t n_self_loops; /* edges with src == dst */
    int64_t n_duplicates; /* edges equal to an earlier edge */
    int64_t n_dropped;    /* edges removed under DROP */
    int64_t n_edges;      /* edges in the graph */
} kgm_graph_report;

/* Per-edge arrays of a graph, indexed by igraph edge id (valid while the graph lives). */
typedef struct kgm_graph_edges {
    int64_t n;
    const int32_t *src;   /* (n) tail of the edge (KG: head entity) */
    const int32_t *dst;   /* (n) (KG: tail entity) */
    const int32_t *rel;   /* (n) relation id, NULL for social graphs */
    const float *weight;  /* (n) weight, NULL when unweighted */
} kgm_graph_edges;

/* Defaults: infer counts, directed, dangling ERROR, self-loops and duplicates KEEP. */
kgm_graph_opts kgm_graph_default_opts(void);

/* Build a knowledge graph from n triples (head[k], rel[k], tail[k]) over dense
 * ids, validating them under `opts` (NULL: defaults). `report` (may be NULL)
 * receives the validation counts, also on failure. Edge k of the result is
 * the k-th kept triple, in input order. */
kgm_status kgm_graph_new_kg(const int32_t *head, const int32_t *rel, const int32_t *tail, int64_t n,
                            const kgm_graph_opts *opts, kgm_graph_report *report, kgm_graph **out);

/* Build a social graph from n edges (src[k], dst[k]) with optional weights
 * (NULL: unweighted; weights must be finite and > 0), directed or not per
 * `opts->directed`. Validation and report as for kgm_graph_new_kg. */
kgm_status kgm_graph_new_social(const int32_t *src, const int32_t *dst, const float *weight, int64_t n,
                                const kgm_graph_opts *opts, kgm_graph_report *report,
                                kgm_graph **out);

/* Build a social graph from a copy of an existing igraph graph (directedness
 * kept; weights may be NULL or one per igraph edge). */
kgm_status kgm_graph_from_igraph(const struct igraph_s *ig, const float *weight, kgm_graph **out);

/* Free a graph (NULL is ignored). CSR views extracted from it stay valid. */
void kgm_graph_free(kgm_graph *g);

/* Simple accessors: kind, node count, edge count, relation count (0 for a
 * social graph), directedness (a KG is always directed). */
kgm_graph_kind kgm_graph_get_kind(const kgm_graph *g);
int32_t kgm_graph_n_nodes(const kgm_graph *g);
int64_t kgm_graph_n_edges(const kgm_graph *g);
int32_t kgm_graph_n_rel(const kgm_graph *g);
bool kgm_graph_is_directed(const kgm_graph *g);
/* The per-edge arrays (by igraph edge id). */
kgm_graph_edges kgm_graph_get_edges(const kgm_graph *g);
/* The underlying igraph graph (read-only; cast to const igraph_t *). */
const struct igraph_s *kgm_graph_igraph(const kgm_graph *g);

/* Convert an igraph return code into a status: KGM_OK for IGRAPH_SUCCESS,
 * else KGM_ERR_GRAPH (KGM_ERR_NOMEM / KGM_ERR_INTERRUPTED where they apply)
 * with "what: igraph: <igraph_strerror> (code N)" in the error buffer. */
kgm_status kgm_graph_igraph_status(int igraph_code, const char *what);

/* Degrees of every node (out: n_nodes values) in direction `dir`, counting
 * self-loops when `loops` (twice for ALL, as igraph does). */
kgm_status kgm_graph_degrees(const kgm_graph *g, kgm_graph_dir dir, bool loops, int32_t *out);

/* Connected components (weak, or strong when `strong` on a directed graph).
 * membership (n_nodes values, may be NULL) gets each node's component id;
 * n_components and largest (size of the biggest component) may be NULL. */
kgm_status kgm_graph_components(const kgm_graph *g, bool strong, int32_t *membership,
                                int32_t *n_components, int32_t *largest);

/* The nodes within k hops of any seed following `dir` (seeds included),
 * sorted ascending, in a malloc'd array (*nodes, free with free()). Seed ids
 * and k are validated by igraph: bad ones give KGM_ERR_GRAPH. */
kgm_status kgm_graph_khop(const kgm_graph *g, const int32_t *seeds, int32_t n_seeds, int32_t k,
                          kgm_graph_dir dir, int32_t **nodes, int32_t *n_nodes);

/* Summary statistics (what `kgmtl data inspect` prints). Degrees are total
 * degrees (in + out for directed graphs) with self-loops counted twice. */
typedef struct kgm_graph_stats {
    kgm_graph_kind kind;
    bool directed;
    bool weighted;
    int32_t n_nodes;
    int64_t n_edges;
    int32_t n_rel;
    int64_t n_self_loops;
    int64_t n_multi_edges;     /* edges parallel to an earlier edge (ignoring relation) */
    int32_t n_isolated;        /* nodes of degree 0 */
    double density;            /* edges / possible edges (self-loops excluded) */
    double mean_degree;
    int32_t max_degree, max_in_degree, max_out_degree;
    int32_t median_degree, p99_degree;
    int32_t n_components;      /* weakly connected */
    int32_t largest_component; /* nodes in the biggest one */
    double reciprocity;        /* directed: share of reciprocated edges; 1 when undirected */
    double transitivity;       /* global clustering coefficient (direction and multi-edges ignored; NaN if no triple) */
    double weight_min, weight_max, weight_mean; /* weighted social graphs, else 0 */
} kgm_graph_stats;

kgm_status kgm_graph_stats_compute(const kgm_graph *g, kgm_graph_stats *out);
/* Print the statistics as aligned "name  value" lines. */
void kgm_graph_stats_print(const kgm_graph_stats *s, FILE *f);
/* Edges per relation (counts: n_rel values; KG only). */
kgm_status kgm_graph_relation_counts(const kgm_graph *g, int64_t *counts);

/* ---- CSR views ------------------------------------------------------------------------ */

typedef struct kgm_graph_csr_opts {
    bool inverse;    /* KG: add (t <- h) with relation r + n_rel for every triple (h, r, t) */
    bool reverse;    /* aggregate over out-neighbours instead of in-neighbours */
    bool unweighted; /* ignore the social graph's weights */
} kgm_graph_csr_opts;

/* Message-passing view of a graph. Entries of node i (the messages it
 * receives) are k = rowptr[i] .. rowptr[i+1]-1, in igraph edge order within
 * the row. All arrays are owned by the view (kgm_graph_csr_destroy). */
typedef struct kgm_graph_csr {
    int32_t n_nodes;
    int64_t nnz;
    int32_t n_rel;       /* relation ids in rel[]: 2 * graph's with `inverse`, 0 social */
    int64_t *rowptr;     /* (n_nodes+1) */
    int32_t *nbr;        /* (nnz) the neighbour j that sends the message */
    int32_t *row;        /* (nnz) the row i of each entry (the receiver) */
    int32_t *rel;        /* (nnz) relation id, NULL for social graphs */
    float *weight;       /* (nnz) edge weight, NULL when unweighted */
    int64_t *eid;        /* (nnz) igraph edge id (global graph) */
    /* Degrees used for normalisation (weighted sums when weighted): deg_in[i]
     * = sum of row i, deg_out[j] = sum of column j. In a subgraph these are
     * the full graph's, so normalisation matches full-graph propagation. */
    float *deg_in;       /* (n_nodes) */
    float *deg_out;      /* (n_nodes) */
    float *norm_sym;     /* (nnz) w / sqrt(deg_in[i] * deg_out[j]) */
    float *norm_row;     /* (nnz) w / deg_in[i] */
    float *norm_rel;     /* (nnz) 1 / |{entries of row i with this relation}| (KG), else NULL */
    /* Transpose: entries grouped by neighbour j: t_dst[p] is the row i of the
     * original entry t_perm[p]. */
    int64_t *t_rowptr;   /* (n_nodes+1) */
    int32_t *t_dst;      /* (nnz) */
    int64_t *t_perm;     /* (nnz) */
    /* Relation grouping (KG): entries of relation r are rel_perm[rel_ptr[r] ..
     * rel_ptr[r+1]-1], ascending. */
    int64_t *rel_ptr;    /* (n_rel+1) or NULL */
    int64_t *rel_perm;   /* (nnz) or NULL */
    /* Subgraph only (NULL/0 for a full view): local -> global node ids (the
     * seeds come first), and each seed's local id. */
    int32_t *global_id;  /* (n_nodes) */
    int32_t *seed_local; /* (n_seeds) */
    int32_t n_seeds;
    /* The same matrix as a core kgm_csr (rows = cols = n_nodes, col = nbr,
     * val = NULL, transpose filled) for kgm_op_spmm and the segment ops. */
    kgm_csr view;
} kgm_graph_csr;

/* Extract the CSR view of `g` (opts may be NULL: forward direction, no
 * inverse, weights used). Independent of the graph afterwards. */
kgm_status kgm_graph_csr_build(const kgm_graph *g, const kgm_graph_csr_opts *opts, kgm_graph_csr *out);
/* Free a view's arrays and zero it (a zeroed or destroyed view is ignored).
 * Layers keep pointers into the view until the tape is reset: destroy it
 * only after that. */
void kgm_graph_csr_destroy(kgm_graph_csr *c);

/* Mini-batch subgraph: the nodes within n_hops of the seeds following the
 * messages backwards (i <- j), with local ids (seeds first, in order of first
 * appearance; the rest in order of discovery), and every entry of every node
 * at distance < n_hops. An n_hops-layer network on the subgraph gives at the
 * seeds exactly what it gives on the full view. Gather input rows with
 * out->global_id. */
kgm_status kgm_graph_subgraph(const kgm_graph_csr *full, const int32_t *seeds, int32_t n_seeds,
                              int32_t n_hops, kgm_graph_csr *out);

/* ---- samplers --------------------------------------------------------------------------- */

#define KGM_FANOUT_MAX_HOPS 8

/* KGCN-style receptive field: nodes[0] are the seeds; nodes[h] holds fanout
 * neighbours for every node of nodes[h-1] (node p's at p*fanout ..
 * p*fanout+fanout-1), rels[h] their relation ids (NULL for social views).
 * A node with at least `fanout` entries gets a sample without replacement,
 * one with fewer a sample with replacement, an isolated node itself with
 * relation id n_rel (callers size relation tables n_rel + 1). */
typedef struct kgm_fanout {
    int32_t n_seeds, n_hops, fanout;
    int64_t count[KGM_FANOUT_MAX_HOPS + 1];
    int32_t *nodes[KGM_FANOUT_MAX_HOPS + 1];
    int32_t *rels[KGM_FANOUT_MAX_HOPS + 1];
    int64_t cap_[KGM_FANOUT_MAX_HOPS + 1];
} kgm_fanout;

/* An empty sample (no buffers yet); destroy frees the buffers. */
void kgm_fanout_init(kgm_fanout *f);
void kgm_fanout_destroy(kgm_fanout *f);

/* Sample a receptive field of n_hops hops around the seeds. The draw of node
 * p at hop h depends only on (seed, h, p), so results are reproducible and do
 * not depend on the thread count. Buffers of `out` are reused across calls. */
kgm_status kgm_graph_sample_fanout(const kgm_graph_csr *g, const int32_t *seeds, int32_t n_seeds,
                                   int32_t n_hops, int32_t fanout, uint64_t seed, kgm_fanout *out);

/* ---- message-passing layers --------------------------------------------------------------- */

typedef enum kgm_graph_norm {
    KGM_GRAPH_NORM_SYM = 0,  /* D_in^-1/2 A D_out^-1/2 (Kipf & Welling) */
    KGM_GRAPH_NORM_ROW = 1,  /* D_in^-1 A (mean) */
    KGM_GRAPH_NORM_NONE = 2  /* A (sum) */
} kgm_graph_norm;

typedef enum kgm_graph_act {
    KGM_GRAPH_ACT_NONE = 0,
    KGM_GRAPH_ACT_RELU = 1,
    KGM_GRAPH_ACT_LEAKY_RELU = 2, /* slope 0.2 */
    KGM_GRAPH_ACT_SIGMOID = 3,
    KGM_GRAPH_ACT_TANH = 4
} kgm_graph_act;

typedef enum kgm_graph_sage_mode {
    KGM_GRAPH_SAGE_CONCAT = 0, /* [x_i | mean_j x_j]: (n, 2D) */
    KGM_GRAPH_SAGE_ADD = 1     /* x_i + mean_j x_j:   (n, D) */
} kgm_graph_sage_mode;

/* Apply an activation as a tape op (NONE returns x itself). */
kgm_status kgm_graph_activate(kgm_tape *tp, kgm_tensor *x, kgm_graph_act act, kgm_tensor **out);

/* GCN aggregation y (n,D) = Â x (n,D), Â = norm(A + I) with `self_loops`
 * (the self-loop counts 1 in both degrees), norm(A) without. Weighted views
 * use their weights. Fused kernel. */
kgm_status kgm_graph_gcn_aggregate(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x,
                                   kgm_graph_norm norm, bool self_loops, kgm_tensor **out);

/* GCN layer y (n,O) = act(Â x W + b): x (n,D), w (D,O), b (1,O) or NULL. */
kgm_status kgm_graph_gcn_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *w,
                               kgm_tensor *b, kgm_graph_norm norm, bool self_loops,
                               kgm_graph_act act, kgm_tensor **out);

/* GraphSAGE mean aggregation (Hamilton et al. 2017), fused: CONCAT gives
 * (n,2D) [x_i | mean], ADD gives (n,D) x_i + mean; an isolated node's mean
 * is 0. Weighted views give weighted means. */
kgm_status kgm_graph_sage_aggregate(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x,
                                    kgm_graph_sage_mode mode, kgm_tensor **out);

/* GraphSAGE layer y (n,O) = act(sage(x) W + b): w is (2D,O) for CONCAT, (D,O) for ADD. */
kgm_status kgm_graph_sage_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *w,
                                kgm_tensor *b, kgm_graph_sage_mode mode, kgm_graph_act act,
                                kgm_tensor **out);

/* LightGCN propagation (He et al. 2020): e_0 = x, e_{k+1} = Â e_k with the
 * symmetric normalisation and no self-loops, y = mean(e_0 .. e_K), K =
 * n_layers >= 0. One fused op: the backward needs no saved layers. */
kgm_status kgm_graph_lightgcn(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, int32_t n_layers,
                              kgm_tensor **out);

/* R-GCN with basis decomposition (Schlichtkrull et al. 2018):
 *   y_i = x_i W0 + sum_r sum_{j in N_i^r} (1/c_{i,r}) x_j W_r,  W_r = sum_b a[r,b] V_b
 * x (n,Din); v (Din, B*Dout): the B bases side by side; a (n_rel, B);
 * w0 (Din,Dout) or NULL (no self-connection); out (n,Dout). */
kgm_status kgm_graph_rgcn_basis(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *v,
                                kgm_tensor *a, kgm_tensor *w0, kgm_tensor **out);

/* The relation-weighted sum of basis blocks (the fused part of
 * kgm_graph_rgcn_basis): z (n, B*Dout) = x V, a (n_rel,B) -> (n,Dout). */
kgm_status kgm_graph_rgcn_basis_aggregate(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *z,
                                          kgm_tensor *a, int32_t n_bases, kgm_tensor **out);

/* R-GCN with block-diagonal W_r = diag(Q_r1 .. Q_rB), fused: x (n,Din);
 * q (n_rel*Din, Dout/B): row r*Din + b*(Din/B) + p, column c holds entry
 * (p, c) of Q_rb; Din and Dout divisible by B; w0 as above. */
kgm_status kgm_graph_rgcn_block(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *q,
                                int32_t n_blocks, kgm_tensor *w0, kgm_tensor **out);

/* KGAT attention logits (Wang et al. 2019) for every entry k = (i <- j, r):
 *   s_k = (x_j W_r) . tanh(x_i W_r + e_r)
 * x (n,D); wr (n_rel*D, Dr): rows r*D .. r*D+D-1 hold W_r; er (n_rel, Dr);
 * out (nnz,1). Grouped by relation, one GEMM per relation. */
kgm_status kgm_graph_kgat_scores(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *wr,
                                 kgm_tensor *er, kgm_tensor **out);

/* KGAT layer with the bi-interaction aggregator:
 *   pi = softmax of s over each node's entries, n_i = sum_k pi_k x_j,
 *   y = LeakyReLU((x + n) W1 + b1) + LeakyReLU((x * n) W2 + b2)
 * w1, w2 (D,O); b1, b2 (1,O) or NULL; out (n,O). */
kgm_status kgm_graph_kgat_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *wr,
                                kgm_tensor *er, kgm_tensor *w1, kgm_tensor *b1, kgm_tensor *w2,
                                kgm_tensor *b2, kgm_tensor **out);

/* DiffNet social diffusion layer (Wu et al. 2019, eq. 5):
 *   h'_u = act([h_u | mean_{v in S(u)} h_v] W + b)
 * on a social view (use `reverse` for "u trusts v" edges u -> v); the paper
 * uses the sigmoid. x (n,D), w (2D,O), b (1,O) or NULL. */
kgm_status kgm_graph_diffnet_layer(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, kgm_tensor *w,
                                   kgm_tensor *b, kgm_graph_act act, kgm_tensor **out);

/* DiffNet user representation: K diffusion layers from x (w[k] (2D,D), b[k]
 * (1,D) or NULL), then + hist (n,D), the mean of each user's item
 * embeddings (NULL to leave out). */
kgm_status kgm_graph_diffnet(kgm_tape *tp, const kgm_graph_csr *g, kgm_tensor *x, int32_t n_layers,
                             kgm_tensor *const *w, kgm_tensor *const *b, kgm_graph_act act,
                             kgm_tensor *hist, kgm_tensor **out);

/* ---- benchmark ------------------------------------------------------------------------------ */

/* `kgmtl bench graph`: forward + backward throughput of every layer on
 * WordNet 3.0 (--wordnet PATH, default ../shared/datasets/wordnet/triples.tsv,
 * else a generated graph of the same size and degree distribution) at
 * --dim (64), with 1 and 2 threads; --csv prints figure,value,unit rows.
 * argv[0] is the subcommand name. Returns an exit code (0 ok, 1 failed, 2 usage). */
int kgm_bench_graph(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
