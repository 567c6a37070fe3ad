/* kgmtl/plugin.h — the one header a task plugin needs. ABI major 1.
 *
 * A task plugin is a shared object exporting ONE function:
 *
 *     const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host);
 *
 * The host calls it once after dlopen(RTLD_NOW|RTLD_LOCAL), then checks
 * `abi_major` and `struct_size` of the returned descriptor BEFORE calling
 * anything else. The plugin never links against host symbols: everything it
 * needs (allocation, logging, errors, parameters, data, encoder outputs, every
 * tape op, random streams, metrics) comes through the kgm_host_api table.
 * This header and kgmtl/types.h are the whole SDK a plugin compiles against:
 * every member's semantics are stated here. kgmtl/plugin_test.h (installed
 * too, with libkgmtl-plugin-test.a and kgmtl-plugin-test.pc) is a harness to
 * unit-test a plugin .so out of tree; plugins themselves never include it.
 *
 * Compatibility promise (SQLite/Redis style), for every struct that crosses
 * the boundary (layout frozen by _Static_asserts in core/plugin/abi.c):
 *  - kgm_host_api, kgm_metrics_api (host -> plugin): append-only. A plugin
 *    checks `host->struct_size >= KGM_HOST_API_SIZE_1_<minor>` before using a
 *    member added after 1.0 (and may return NULL from kgm_task_entry).
 *  - kgm_task_plugin (plugin -> host): append-only; the host copies only the
 *    prefix the plugin's `struct_size` covers and zero-fills the rest.
 *  - kgm_batch (both ways): append-only; the host writes (split_rows) and
 *    reads (represent) only the prefix the plugin's `abi_minor` defines, so a
 *    plugin's batch may be smaller than the host's.
 *  - kgm_option_spec, kgm_metric_spec (arrays indexed with the host's stride)
 *    and the by-value types of types.h: frozen for the whole major.
 * The loader refuses a plugin of another major, or of a NEWER minor than the
 * host (its structs may be larger than the host's, and it may need members the
 * host lacks), naming the file, the plugin's ABI and the host's. A plugin built
 * against 1.x loads into any host of 1.y, y >= x. Any breaking change bumps
 * KGM_ABI_MAJOR.
 *
 * 1.1 appended to kgm_host_api: op_mixture, op_abs, op_log, op_sqrt, op_clamp,
 * opt_where, op_min, op_max; and the count KGM_COUNT_PAIR_RAW (a 1.0 host answers -1).
 * 1.2 appended eval_negatives to kgm_host_api and rank_sampled to
 * kgm_metrics_api (the sampled top-K protocol, dataset.eval_negatives).
 *
 * Life cycle, per task instance of a run:
 *   create(host, ctx, &self)        read options (host->opt_*), allocate state
 *   declare_params(self, ctx)       host->param_declare(...) for head weights
 *   -- host finalises the parameter store --
 *   forward_loss(self, ctx, tp, b, &loss)   per training batch, on the tape
 *   predict(self, ctx, tp, b, &out)         task output for a batch (no loss)
 *   eval(self, ctx, tp, split, metrics)     fill n_metrics values for a split
 *   destroy(self)
 */
#ifndef KGMTL_PLUGIN_H
#define KGMTL_PLUGIN_H

#include <stdarg.h>

#include "kgmtl/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "kgmtl/version.h" /* KGM_ABI_MAJOR, KGM_VERSION_STRING (from meson.build) */
#ifndef KGM_ABI_SIMULATE_NEXT_MINOR
#define KGM_ABI_MINOR 2
#else
/* TESTS ONLY (tests/plugins/test_abi_next.c): this header as the next minor
 * would look, with a field appended to kgm_batch and a member to the host
 * table, to check that hosts and plugins of different minors stay within the
 * structs they share. Never define it in a real build. */
#define KGM_ABI_MINOR 3
#endif

/* Name of the one symbol a plugin exports. */
#define KGM_TASK_ENTRY_SYMBOL "kgm_task_entry"

typedef struct kgm_task_ctx kgm_task_ctx; /* host-owned, one per task instance */

/* ---- what a task consumes ------------------------------------------------ */

/* The data view: which rows of the dataset a task trains and evaluates on. */
typedef enum kgm_data_view {
    KGM_VIEW_INTERACTIONS = 1, /* (user, item, label 0/1) — CTR, with sampled negatives if implicit */
    KGM_VIEW_RATINGS = 2,      /* (user, item, rating) */
    KGM_VIEW_IMPLICIT = 3,     /* (user, item) positives; negatives sampled by the task — top-K */
    KGM_VIEW_KG = 4,           /* (head, relation, tail) triples over entities */
    KGM_VIEW_SOCIAL = 5,       /* (src, dst, weight) user-user edges */
    KGM_VIEW_USER_ATTR = 6,    /* (user, class) from a categorical user attribute */
    KGM_VIEW_ITEM_LABELS = 7,  /* (item, multi-hot labels) from a multi-valued item attribute */
    KGM_VIEW_TABULAR = 8,      /* tabular rows with one numeric/binary label column */
    KGM_VIEW_IMPRESSIONS = 9   /* (user, item, click, conversion) — ESMM */
} kgm_data_view;

/* The representation the host computes for each batch row (batch->h). */
typedef enum kgm_input_kind {
    KGM_INPUT_NONE = 0,    /* the task calls host->embed itself (KG embedding, link prediction) */
    KGM_INPUT_PAIR = 1,    /* fused (user, item) representation through the task's mixer output */
    KGM_INPUT_USER = 2,    /* the encoder's user representation */
    KGM_INPUT_ITEM = 3,    /* the encoder's item representation */
    KGM_INPUT_TABULAR = 4  /* tabular features through the task's mixer output */
} kgm_input_kind;

/* How the task's loss enters uncertainty weighting (Kendall et al. 2018):
 * regression 0.5·exp(-s)·L + 0.5·s, classification exp(-s)·L + 0.5·s. */
typedef enum kgm_loss_form {
    KGM_LOSS_CLASSIFICATION = 0,
    KGM_LOSS_REGRESSION = 1
} kgm_loss_form;

/* Entity kinds the encoder represents. */
typedef enum kgm_kind {
    KGM_KIND_USER = 0,
    KGM_KIND_ITEM = 1,
    KGM_KIND_ENTITY = 2,
    KGM_KIND_RELATION = 3
} kgm_kind;

typedef enum kgm_split_id {
    KGM_SPLIT_TRAIN = 0,
    KGM_SPLIT_VALID = 1,
    KGM_SPLIT_TEST = 2
} kgm_split_id;

/* A batch of rows of the task's view. Arrays not used by the view are NULL.
 * Valid for the duration of the callback only. */
typedef struct kgm_batch {
    uint32_t struct_size;
    int32_t n;              /* rows */
    int32_t split;          /* kgm_split_id */
    int32_t n_labels;       /* columns of `multi` (ITEM_LABELS) / classes (USER_ATTR) */
    const int64_t *row;     /* (n) row index within the split, for bookkeeping */
    const int32_t *user;    /* INTERACTIONS, RATINGS, IMPLICIT, USER_ATTR, IMPRESSIONS */
    const int32_t *item;    /* INTERACTIONS, RATINGS, IMPLICIT, ITEM_LABELS, IMPRESSIONS */
    const float *label;     /* label / rating / click / tabular label */
    const float *label2;    /* conversion (IMPRESSIONS), second tabular label */
    const int32_t *head, *rel, *tail; /* KG */
    const int32_t *src, *dst;         /* SOCIAL */
    const float *weight;              /* SOCIAL edge weight (or NULL) */
    const int32_t *cls;     /* USER_ATTR class ids */
    const float *multi;     /* ITEM_LABELS (n, n_labels) 0/1 */
    kgm_tensor *h;          /* (n, H) representation (see kgm_input_kind), or NULL */
    /* ---- ABI 1.0 ends here; 1.1 and 1.2 added nothing. Append new fields below. ---- */
#ifdef KGM_ABI_SIMULATE_NEXT_MINOR
    int64_t next_minor_field; /* tests only: the field a later minor appends */
#endif
} kgm_batch;

/* sizeof(kgm_batch) as ABI 1.0 (and 1.1, 1.2) define it. A batch crosses the ABI
 * both ways (the host fills the plugin's in split_rows; the plugin hands its
 * own to represent), so the host reads and writes only the prefix of the
 * plugin's minor: the plugin's struct may be smaller than the host's. */
#define KGM_BATCH_SIZE_1_0 (offsetof(kgm_batch, h) + sizeof(kgm_tensor *))

/* ---- options schema ------------------------------------------------------- */

typedef enum kgm_opt_type {
    KGM_OPTTYPE_INT = 1,
    KGM_OPTTYPE_FLOAT = 2,
    KGM_OPTTYPE_BOOL = 3,
    KGM_OPTTYPE_STRING = 4,
    KGM_OPTTYPE_ENUM = 5 /* one of `choices` ("a|b|c") */
} kgm_opt_type;

typedef struct kgm_option_spec {
    const char *name;
    kgm_opt_type type;
    const char *default_value; /* textual default, parsed with the type */
    double min, max;           /* INT/FLOAT range (ignored when min > max) */
    const char *choices;       /* ENUM: "a|b|c" */
    const char *help;
} kgm_option_spec;

typedef struct kgm_metric_spec {
    const char *name;          /* e.g. "auc", "ndcg@20" */
    int32_t higher_is_better;  /* 1 or 0 */
} kgm_metric_spec;

/* ---- host API table (append-only) ---------------------------------------- */

typedef enum kgm_log_level { KGM_LOG_DEBUG = 0, KGM_LOG_INFO = 1, KGM_LOG_WARN = 2, KGM_LOG_ERROR = 3 } kgm_log_level;

/* Which count host->count returns. */
typedef enum kgm_count_kind {
    KGM_COUNT_USERS = 0,
    KGM_COUNT_ITEMS = 1,
    KGM_COUNT_ENTITIES = 2,
    KGM_COUNT_RELATIONS = 3,
    KGM_COUNT_CLASSES = 4,   /* USER_ATTR classes / ITEM_LABELS labels */
    KGM_COUNT_ROWS_TRAIN = 5,
    KGM_COUNT_ROWS_VALID = 6,
    KGM_COUNT_ROWS_TEST = 7,
    KGM_COUNT_DIM = 8,       /* encoder embedding size d (host->embed outputs (n, d)) */
    KGM_COUNT_HIDDEN = 9,    /* columns of batch->h for this task */
    /* ABI 1.1: 1 when batch->h is the encoder's (user, item) pair itself,
     * [u, v, u*v] with d columns each (mixer.kind none), else 0; hosts of
     * ABI 1.0 answer -1 */
    KGM_COUNT_PAIR_RAW = 10
} kgm_count_kind;

typedef struct kgm_host_api {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size; /* sizeof(kgm_host_api) of the host */
    uint32_t reserved0;

    /* memory */
    void *(*alloc)(size_t bytes);
    void *(*calloc)(size_t n, size_t size);
    void (*free)(void *p);

    /* logging and errors (error_set formats into the host's error buffer and
     * returns st; the host prefixes the plugin name) */
    void (*log)(kgm_task_ctx *ctx, kgm_log_level level, const char *fmt, ...);
    kgm_status (*error_set)(kgm_status st, const char *file, int line, const char *fmt, ...);
    const char *(*error_message)(void);

    /* options (validated by the host against the plugin's schema) */
    kgm_status (*opt_int)(kgm_task_ctx *ctx, const char *name, int64_t *out);
    kgm_status (*opt_float)(kgm_task_ctx *ctx, const char *name, double *out);
    kgm_status (*opt_bool)(kgm_task_ctx *ctx, const char *name, bool *out);
    kgm_status (*opt_string)(kgm_task_ctx *ctx, const char *name, const char **out);

    /* parameters: names are prefixed with the task name by the host */
    kgm_status (*param_declare)(kgm_task_ctx *ctx, const char *name, int32_t rows, int32_t cols,
                                kgm_init init, uint32_t flags, int32_t *id_out);
    kgm_tensor *(*param)(kgm_task_ctx *ctx, int32_t id);

    /* data */
    int64_t (*count)(kgm_task_ctx *ctx, kgm_count_kind what);
    /* All rows of a split of the task's view (h is NULL). */
    kgm_status (*split_rows)(kgm_task_ctx *ctx, kgm_split_id split, kgm_batch *out);
    /* Per-user item lists of the view's positives in a split, as CSR over users:
     * items of user u are col[rowptr[u] .. rowptr[u+1]). Used for masking
     * training items and as relevant sets in full ranking. */
    kgm_status (*user_items)(kgm_task_ctx *ctx, kgm_split_id split, const int64_t **rowptr,
                             const int32_t **col);
    /* Known true tails of (h, r) over ALL splits, for filtered KG ranking. */
    kgm_status (*kg_true_tails)(kgm_task_ctx *ctx, int32_t head, int32_t rel, const int32_t **tails,
                                int32_t *n);

    /* encoder outputs (differentiable when the tape records gradients) */
    kgm_status (*embed)(kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, const int32_t *ids, int32_t n,
                        kgm_tensor **out);
    kgm_status (*embed_all)(kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, kgm_tensor **out);
    /* The representation the host would put in batch->h for these rows. */
    kgm_status (*represent)(kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **h);

    /* random streams (per task, reproducible for the run's seed) */
    kgm_rng *(*rng)(kgm_task_ctx *ctx);
    uint64_t (*rng_below)(kgm_rng *r, uint64_t n);
    double (*rng_uniform)(kgm_rng *r);
    double (*rng_normal)(kgm_rng *r);

    /* tape */
    kgm_status (*tape_tensor)(kgm_tape *tp, int32_t rows, int32_t cols, bool zero, bool with_grad,
                              kgm_tensor **out);
    kgm_status (*tape_input)(kgm_tape *tp, int32_t rows, int32_t cols, const float *data, kgm_tensor **out);
    kgm_status (*tape_alloc)(kgm_tape *tp, size_t bytes, void **out);
    bool (*tape_training)(const kgm_tape *tp);
    kgm_tape_mark (*tape_get_mark)(const kgm_tape *tp);
    void (*tape_rewind)(kgm_tape *tp, kgm_tape_mark m);

    /* ops. Each computes its output at once into the tape's arena (valid until
     * the host resets the tape after the step), records its backward when a
     * gradient is needed, and reports bad shapes / indices as KGM_ERR_SHAPE /
     * KGM_ERR_INDEX (nothing recorded). Shapes (rows, cols):
     *  matmul      op(a) (M,K) · op(b) (K,N); ta / tb transpose a / b
     *  linear      x (B,I) · w (I,O) + b (1,O); b may be NULL
     *  bias_add    x (B,D) + b (1,D) broadcast over rows
     *  add/sub/mul elementwise, same shapes
     *  scale       alpha * x + beta (constants)
     *  mul_bcast   x (B,D) * s with s (B,1), (1,D) or (1,1)
     *  concat_cols n tensors of equal rows side by side; slice_cols x[:, start:start+len]
     *  relu, leaky_relu(slope), sigmoid, tanh, exp, softplus = log(1 + e^x) (stable)
     *  softmax     row-wise (max-subtracted)
     *  dropout     inverted, keep-probability 1 - p, mask from rng; identity when
     *              the tape is not training (host->tape_training) or p == 0
     *  layernorm   row-wise, gain g (1,D), bias b (1,D) (either may be NULL)
     *  gather      y (n,D) = table[idx[i], :]; gradients into tables are row-sparse
     *  segment_*   over rows of x (E,D): segment s is rows off[s] .. off[s+1]-1
     *              (n_seg + 1 non-decreasing offsets, off[n_seg] == E); sum / mean
     *              give (n_seg, D) (zeros for an empty segment), softmax (E, D)
     *  rowdot, rowcos  per row of a, b (B,D) -> (B,1); rowcos floors each norm at eps
     *  spmm        y (R,D) = A (R,C) · x (C,D) for A in CSR (kgm_csr, types.h);
     *              edge values from w (nnz,1) when given (it gets gradients),
     *              else A->val, else 1; the CSR arrays must outlive backward
     *  sum, mean   of all elements -> (1,1)
     * Losses -> (1,1), the mean over rows; wt is a per-row weight (B) or NULL:
     *  bce_logits  logits (B,1), targets y in [0,1] (softplus form)
     *  softmax_ce  logits (B,C), class labels in [0,C)
     *  mse         pred (B,D) against target (B*D values)
     *  bpr         mean softplus(neg - pos); pos, neg (B,1)
     *  margin_ranking  mean max(0, margin - pos + neg) */
    kgm_status (*op_matmul)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, bool ta, bool tb, kgm_tensor **out);
    kgm_status (*op_linear)(kgm_tape *tp, kgm_tensor *x, kgm_tensor *w, kgm_tensor *b, kgm_tensor **out);
    kgm_status (*op_bias_add)(kgm_tape *tp, kgm_tensor *x, kgm_tensor *b, kgm_tensor **out);
    kgm_status (*op_add)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
    kgm_status (*op_sub)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
    kgm_status (*op_mul)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
    kgm_status (*op_scale)(kgm_tape *tp, kgm_tensor *x, float alpha, float beta, kgm_tensor **out);
    kgm_status (*op_mul_bcast)(kgm_tape *tp, kgm_tensor *x, kgm_tensor *s, kgm_tensor **out);
    kgm_status (*op_concat_cols)(kgm_tape *tp, int n, kgm_tensor *const *xs, kgm_tensor **out);
    kgm_status (*op_slice_cols)(kgm_tape *tp, kgm_tensor *x, int32_t start, int32_t len, kgm_tensor **out);
    kgm_status (*op_relu)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_leaky_relu)(kgm_tape *tp, kgm_tensor *x, float slope, kgm_tensor **out);
    kgm_status (*op_sigmoid)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_tanh)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_exp)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_softplus)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_softmax)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_dropout)(kgm_tape *tp, kgm_tensor *x, float p, kgm_rng *rng, kgm_tensor **out);
    kgm_status (*op_layernorm)(kgm_tape *tp, kgm_tensor *x, kgm_tensor *g, kgm_tensor *b, float eps,
                               kgm_tensor **out);
    kgm_status (*op_gather)(kgm_tape *tp, kgm_tensor *table, const int32_t *idx, int32_t n, kgm_tensor **out);
    kgm_status (*op_segment_sum)(kgm_tape *tp, kgm_tensor *x, const int64_t *off, int32_t n_seg,
                                 kgm_tensor **out);
    kgm_status (*op_segment_mean)(kgm_tape *tp, kgm_tensor *x, const int64_t *off, int32_t n_seg,
                                  kgm_tensor **out);
    kgm_status (*op_segment_softmax)(kgm_tape *tp, kgm_tensor *x, const int64_t *off, int32_t n_seg,
                                     kgm_tensor **out);
    kgm_status (*op_rowdot)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
    kgm_status (*op_rowcos)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, float eps, kgm_tensor **out);
    kgm_status (*op_spmm)(kgm_tape *tp, const kgm_csr *a, kgm_tensor *w, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_sum)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_mean)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_bce_logits)(kgm_tape *tp, kgm_tensor *logits, const float *y, const float *wt,
                                kgm_tensor **out);
    kgm_status (*op_softmax_ce)(kgm_tape *tp, kgm_tensor *logits, const int32_t *labels, const float *wt,
                                kgm_tensor **out);
    kgm_status (*op_mse)(kgm_tape *tp, kgm_tensor *pred, const float *target, const float *wt,
                         kgm_tensor **out);
    kgm_status (*op_bpr)(kgm_tape *tp, kgm_tensor *pos, kgm_tensor *neg, kgm_tensor **out);
    kgm_status (*op_margin_ranking)(kgm_tape *tp, kgm_tensor *pos, kgm_tensor *neg, float margin,
                                    kgm_tensor **out);

    /* metric helpers (kgm_metrics_api below); filled by the host,
     * NULL-checked by plugins that want them. */
    const struct kgm_metrics_api *metrics;

    /* Finite-difference check of a plugin's own computation: runs
     * f(tp, inputs, uctx, &out) on a fresh tape, forms L = sum(r * out) with a
     * fixed random r (from seed), backpropagates, and compares the analytic
     * gradient of every element of every input that has a `grad` buffer (the
     * caller allocates it) with the central difference (L(x+h) - L(x-h)) / 2h
     * in double. Relative error |a - n| / max(|a|, |n|, floor); the worst goes
     * to *max_rel_err (NaN on failure). Elements at a kink (the one-sided
     * differences disagree) are skipped. h = 1e-3, floor = 1e-2 suit values of
     * order 1. */
    kgm_status (*gradcheck)(kgm_status (*f)(kgm_tape *tp, kgm_tensor **inputs, void *uctx, kgm_tensor **out),
                            kgm_tensor **inputs, int n_inputs, void *uctx, double h, double floor,
                            uint64_t seed, double *max_rel_err);

    /* ---- ABI 1.0 ends here; append new members below this line only ---- */

    /* ---- ABI 1.1: check host->struct_size >= KGM_HOST_API_SIZE_1_1 first ---- */
    /* Gated mixture (MMoE / PLE): y (B,H) = sum_e g[:, e] * x[:, e*H:(e+1)*H]
     * for experts x (B, E*H) and gates g (B, E). */
    kgm_status (*op_mixture)(kgm_tape *tp, kgm_tensor *x, kgm_tensor *g, kgm_tensor **out);
    /* Pointwise ops for loss authors: |x| (gradient sign(x), 0 at 0);
     * log(x) and sqrt(x), which fail with KGM_ERR_NUMERIC naming the entry on
     * one outside x > 0 / x >= 0 (sqrt's gradient at 0 is 0); clamp =
     * min(max(x, lo), hi), gradient 1 on [lo, hi] and 0 outside (lo > hi is
     * KGM_ERR_ARG). */
    kgm_status (*op_abs)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_log)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_sqrt)(kgm_tape *tp, kgm_tensor *x, kgm_tensor **out);
    kgm_status (*op_clamp)(kgm_tape *tp, kgm_tensor *x, float lo, float hi, kgm_tensor **out);
    /* Where option `name` was written ("file:line:col" of its value in the
     * manifest, or the caller's position), "default" when it was not given,
     * NULL for an option the plugin's schema does not declare: lets a plugin
     * reject an option that has no effect in its configuration, at the
     * option's position. */
    const char *(*opt_where)(kgm_task_ctx *ctx, const char *name);
    /* Elementwise min(a, b) / max(a, b) of two tensors of the same shape; each
     * gradient entry goes to the input that was selected (to a on a tie). */
    kgm_status (*op_min)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
    kgm_status (*op_max)(kgm_tape *tp, kgm_tensor *a, kgm_tensor *b, kgm_tensor **out);
    /* ---- ABI 1.1 ends here ---- */

    /* ---- ABI 1.2: check host->struct_size >= KGM_HOST_API_SIZE_1_2 first ---- */
    /* The stored evaluation negatives of a split (dataset.eval_negatives = K):
     * *items is (n, *k) row-major, row r belonging to row r of
     * split_rows(split) (the cold-start subset while it is evaluated); each row
     * holds K distinct items that are not positives of that row's user in any
     * split, drawn once from the dataset seed, so every epoch and every model
     * ranks the same candidates. *k = 0 and *items = NULL: the run ranks all
     * items (full ranking). Valid and test splits only. A task of the implicit
     * view that does not call this while K > 0 fails the run (no silent no-op). */
    kgm_status (*eval_negatives)(kgm_task_ctx *ctx, kgm_split_id split, int32_t *k, const int32_t **items);
    /* ---- ABI 1.2 ends here ---- */
#ifdef KGM_ABI_SIMULATE_NEXT_MINOR
    void (*next_minor_member)(void); /* tests only */
#endif
} kgm_host_api;

/* host->struct_size of each minor: a plugin may use a member only when the
 * host's table covers it, e.g. `host->struct_size >= KGM_HOST_API_SIZE_1_1`
 * before host->op_mixture .. op_max. */
#define KGM_HOST_API_SIZE_1_0 (offsetof(kgm_host_api, gradcheck) + sizeof(void (*)(void)))
#define KGM_HOST_API_SIZE_1_1 (offsetof(kgm_host_api, op_max) + sizeof(void (*)(void)))
#define KGM_HOST_API_SIZE_1_2 (offsetof(kgm_host_api, eval_negatives) + sizeof(void (*)(void)))

/* Metric helpers the host lends to plugins (append-only as well). Results are
 * written to the last argument. An undefined value (AUC with one class, no
 * relevant item) is NaN with KGM_ERR_ARG: report NaN, do not fail the eval.
 *  auc         P(random positive scores above a random negative), ties 1/2 (exact, midranks)
 *  logloss     mean -[y log p + (1-y) log(1-p)], p clipped to [eps, 1-eps]
 *  accuracy, f1  of the positive class, predicting 1 when prob >= threshold
 *  rmse, mae   sqrt(mean((pred-target)^2)), mean |pred-target|
 *  mc_*        multi-class accuracy and macro-F1 (unweighted mean of per-class F1)
 *  ml_*        multi-label (n, L) micro-F1 (pooled counts) and macro-F1 (mean over labels)
 *  rank_user   full ranking of one user; ties broken by item id ascending;
 *              recall = hits/|rel|, precision = hits/k, hit = hits > 0,
 *              NDCG = DCG/IDCG with 1/log2(i+1) gains (IDCG over min(k, |rel|)),
 *              MRR = 1/rank of the best relevant item in the full ranking
 *  filtered_rank  1 + #better + #tied/2 among the scores not in `filter` */
typedef struct kgm_metrics_api {
    uint32_t struct_size;
    kgm_status (*auc)(const float *scores, const float *labels, int64_t n, double *out);
    kgm_status (*logloss)(const float *probs, const float *labels, int64_t n, double eps, double *out);
    kgm_status (*accuracy)(const float *probs, const float *labels, int64_t n, double threshold, double *out);
    kgm_status (*f1)(const float *probs, const float *labels, int64_t n, double threshold, double *out);
    kgm_status (*rmse)(const float *pred, const float *target, int64_t n, double *out);
    kgm_status (*mae)(const float *pred, const float *target, int64_t n, double *out);
    /* multi-class from int labels/predictions */
    kgm_status (*mc_accuracy)(const int32_t *truth, const int32_t *pred, int64_t n, double *out);
    kgm_status (*mc_macro_f1)(const int32_t *truth, const int32_t *pred, int64_t n, int32_t n_classes,
                              double *out);
    /* multi-label (n, L) 0/1 truth vs scores at a threshold */
    kgm_status (*ml_micro_f1)(const float *truth, const float *scores, int64_t n, int32_t L, double threshold,
                              double *out);
    kgm_status (*ml_macro_f1)(const float *truth, const float *scores, int64_t n, int32_t L, double threshold,
                              double *out);
    /* one user's full ranking: scores over n_items; exclude (mask, n_mask) and
     * relevant (rel, n_rel) item ids; out[0..4] = recall@k, ndcg@k, hit@k,
     * precision@k, mrr. kgat_ndcg selects KGAT's IDCG variant (off = correct). */
    kgm_status (*rank_user)(const float *scores, int32_t n_items, const int32_t *mask, int32_t n_mask,
                            const int32_t *rel, int32_t n_rel, int32_t k, bool kgat_ndcg, double out[5]);
    /* filtered rank (1-based, ties: mean of optimistic and pessimistic) of
     * `target` among n scores, ignoring the `filter` ids (other true answers) */
    kgm_status (*filtered_rank)(const float *scores, int32_t n, int32_t target, const int32_t *filter,
                                int32_t n_filter, double *rank);
    /* ---- ABI 1.2: check metrics->struct_size >= KGM_METRICS_API_SIZE_1_2 first ---- */
    /* one positive's score against its n_neg sampled negatives' scores; out as
     * rank_user. Ties are pessimistic (the positive ranks below equal-scored
     * negatives). */
    kgm_status (*rank_sampled)(float pos, const float *neg, int32_t n_neg, int32_t k, double out[5]);
} kgm_metrics_api;

/* metrics->struct_size of each minor that grew the metrics table. */
#define KGM_METRICS_API_SIZE_1_0 (offsetof(kgm_metrics_api, filtered_rank) + sizeof(void (*)(void)))
#define KGM_METRICS_API_SIZE_1_2 (offsetof(kgm_metrics_api, rank_sampled) + sizeof(void (*)(void)))

/* ---- the descriptor a plugin returns -------------------------------------- */

typedef struct kgm_task_plugin {
    uint32_t abi_major;   /* must equal the host's KGM_ABI_MAJOR */
    uint32_t abi_minor;
    uint32_t struct_size; /* sizeof(kgm_task_plugin) the plugin was built with */
    uint32_t reserved0;

    const char *name;        /* unique, [a-z0-9_]+ */
    const char *version;     /* the plugin's own version */
    const char *description; /* one line */

    int32_t view;            /* kgm_data_view */
    int32_t input;           /* kgm_input_kind */
    int32_t loss_form;       /* kgm_loss_form */
    int32_t select_metric;   /* index into metrics used for model selection */

    int32_t n_options;
    const kgm_option_spec *options;
    int32_t n_metrics;
    const kgm_metric_spec *metrics;

    kgm_status (*create)(const kgm_host_api *host, kgm_task_ctx *ctx, void **self);
    kgm_status (*declare_params)(void *self, kgm_task_ctx *ctx);
    /* Loss (1,1) of a training batch; batch->h is set unless input == NONE. */
    kgm_status (*forward_loss)(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b,
                               kgm_tensor **loss);
    /* Task output for a batch: (n, 1) score/probability/prediction or (n, C). */
    kgm_status (*predict)(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b,
                          kgm_tensor **out);
    /* Metrics of a split (n_metrics values, in declared order). The host has
     * disabled gradient recording and training mode; the plugin may reset
     * nothing but may use the tape's arena through its own ops. */
    kgm_status (*eval)(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *metrics);
    void (*destroy)(void *self);

    void *reserved[8];
} kgm_task_plugin;

typedef const kgm_task_plugin *(*kgm_task_entry_fn)(const kgm_host_api *host);

/* Declare the entry point with default visibility (plugins may build with
 * -fvisibility=hidden). */
#if defined(__GNUC__)
#define KGM_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define KGM_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
}
#endif
#endif
