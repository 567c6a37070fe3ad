/* The plugin host: the kgm_host_api table handed to plugins, option
 * validation, and task instances that forward data/encoder requests to the
 * trainer's backend. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor/gradcheck.h"
#include "core/plugin/host.h"
#include "core/metrics/metrics.h"
#include "core/tensor/ops.h"
#include "core/base/rng.h"
#include "core/tensor/tape.h"
#include "core/plugin/plugin_internal.h"

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- memory, log, errors -------------------------------------------------- */

static void *h_alloc(size_t bytes) { return malloc(bytes ? bytes : 1); }
static void *h_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
static void h_free(void *p) { free(p); }

static const char *level_name(kgm_log_level l) {
    switch (l) {
    case KGM_LOG_DEBUG: return "debug";
    case KGM_LOG_INFO: return "info";
    case KGM_LOG_WARN: return "warning";
    case KGM_LOG_ERROR: return "error";
    }
    return "log";
}

static void h_log(kgm_task_ctx *ctx, kgm_log_level level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *task = ctx && ctx->name ? ctx->name : "plugin";
    if (ctx && ctx->log) {
        ctx->log(ctx->log_user, level, task, msg);
        return;
    }
    if (ctx && level < ctx->log_level) return;
    fprintf(stderr, "[%s] %s: %s\n", task, level_name(level), msg);
}

static kgm_status h_error_set(kgm_status st, const char *file, int line, const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kgm_error_set(st, file ? file : "plugin", line, "%s", msg);
}

static const char *h_error_message(void) { return kgm_error_message(); }

/* ---- options ---------------------------------------------------------------- */

static int32_t opt_index(const kgm_task_ctx *t, const char *name) {
    const kgm_task_plugin *d = &t->plugin->desc;
    for (int32_t i = 0; name && i < d->n_options; i++)
        if (strcmp(d->options[i].name, name) == 0) return i;
    return -1;
}

const kgm_opt_value *kgm_task_option(const kgm_task_ctx *t, const char *name) {
    int32_t i = opt_index(t, name);
    return i < 0 ? NULL : &t->opts[i];
}

static kgm_status opt_get(kgm_task_ctx *ctx, const char *name, const char *want, const kgm_opt_value **v) {
    if (!ctx || !ctx->opts) return KGM_ERR(KGM_ERR_STATE, "option '%s' read without a task context", name);
    int32_t i = opt_index(ctx, name);
    if (i < 0)
        return KGM_ERR(KGM_ERR_ARG, "plugin '%s' reads option '%s', which its own schema does not declare",
                       ctx->plugin->desc.name, name ? name : "(NULL)");
    *v = &ctx->opts[i];
    (void)want;
    return KGM_OK;
}

static kgm_status type_err(kgm_task_ctx *ctx, const char *name, const kgm_opt_value *v, const char *getter) {
    return KGM_ERR(KGM_ERR_ARG, "plugin '%s' reads %s option '%s' with %s", ctx->plugin->desc.name,
                   kgm_opt_type_name(v->type), name, getter);
}

static kgm_status h_opt_int(kgm_task_ctx *ctx, const char *name, int64_t *out) {
    const kgm_opt_value *v;
    KGM_TRY(opt_get(ctx, name, "int", &v));
    if (v->type != KGM_OPTTYPE_INT) return type_err(ctx, name, v, "opt_int");
    *out = v->i;
    return KGM_OK;
}

static kgm_status h_opt_float(kgm_task_ctx *ctx, const char *name, double *out) {
    const kgm_opt_value *v;
    KGM_TRY(opt_get(ctx, name, "float", &v));
    if (v->type != KGM_OPTTYPE_FLOAT && v->type != KGM_OPTTYPE_INT) return type_err(ctx, name, v, "opt_float");
    *out = v->f;
    return KGM_OK;
}

static kgm_status h_opt_bool(kgm_task_ctx *ctx, const char *name, bool *out) {
    const kgm_opt_value *v;
    KGM_TRY(opt_get(ctx, name, "bool", &v));
    if (v->type != KGM_OPTTYPE_BOOL) return type_err(ctx, name, v, "opt_bool");
    *out = v->i != 0;
    return KGM_OK;
}

static kgm_status h_opt_string(kgm_task_ctx *ctx, const char *name, const char **out) {
    const kgm_opt_value *v;
    KGM_TRY(opt_get(ctx, name, "string", &v));
    *out = v->s; /* every type keeps its text; STRING/ENUM are the intended use */
    return KGM_OK;
}

static const char *h_opt_where(kgm_task_ctx *ctx, const char *name) {
    int32_t i = ctx && ctx->opts ? opt_index(ctx, name) : -1;
    return i < 0 ? NULL : ctx->opts[i].where;
}

void kgm_opt_values_free(kgm_opt_value *vals, int32_t n) {
    if (!vals) return;
    for (int32_t i = 0; i < n; i++) {
        free(vals[i].s);
        free(vals[i].where_buf);
    }
    free(vals);
}

/* Append a formatted line to a growing message buffer (truncates quietly). */
static void msg_add(char *buf, size_t cap, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

kgm_status kgm_opt_parse(const kgm_plugin *pl, const char *task_name, const kgm_opt_kv *opts, int32_t n_opts,
                         kgm_opt_value **vals_out) {
    *vals_out = NULL;
    const kgm_task_plugin *d = &pl->desc;
    int32_t no = d->n_options;
    kgm_opt_value *vals = calloc((size_t)(no ? no : 1), sizeof *vals);
    int32_t *given = calloc((size_t)(no ? no : 1), sizeof *given);
    if (!vals || !given) {
        free(vals);
        free(given);
        return KGM_ERR(KGM_ERR_NOMEM, "options");
    }
    char errs[1600] = "";
    int n_err = 0;
    for (int32_t k = 0; k < n_opts; k++) {
        const kgm_opt_kv *kv = &opts[k];
        const char *where = kv->where && *kv->where ? kv->where : "option";
        int32_t i = -1;
        for (int32_t j = 0; kv->name && j < no; j++)
            if (strcmp(d->options[j].name, kv->name) == 0) i = j;
        if (i < 0) {
            const char *best = NULL;
            int bd = 3;
            for (int32_t j = 0; kv->name && j < no; j++) {
                int dd = kgm_plugin_edit_distance(kv->name, d->options[j].name);
                if (dd < bd) {
                    bd = dd;
                    best = d->options[j].name;
                }
            }
            msg_add(errs, sizeof errs, "\n  %s: unknown option '%s'", where, kv->name ? kv->name : "(NULL)");
            if (best)
                msg_add(errs, sizeof errs, " (did you mean '%s'?)", best);
            else {
                msg_add(errs, sizeof errs, "; %s options:", no ? "known" : "the plugin takes no");
                for (int32_t j = 0; j < no; j++) msg_add(errs, sizeof errs, " %s", d->options[j].name);
            }
            n_err++;
            continue;
        }
        if (given[i]++) {
            msg_add(errs, sizeof errs, "\n  %s: option '%s' given twice", where, kv->name);
            n_err++;
            continue;
        }
        char why[256];
        if (!kgm_plugin_parse_opt(&d->options[i], kv->value, &vals[i], why, sizeof why)) {
            msg_add(errs, sizeof errs, "\n  %s: option '%s' (%s) %s", where, kv->name,
                    kgm_opt_type_name(d->options[i].type), why);
            n_err++;
            continue;
        }
        vals[i].where_buf = xstrdup(where);
        vals[i].where = vals[i].where_buf ? vals[i].where_buf : "option";
    }
    for (int32_t i = 0; i < no && !n_err; i++) {
        if (given[i]) continue;
        char why[256];
        /* Defaults were validated at load time; this cannot fail but for memory. */
        if (!kgm_plugin_parse_opt(&d->options[i], d->options[i].default_value, &vals[i], why, sizeof why)) {
            msg_add(errs, sizeof errs, "\n  default of option '%s' %s", d->options[i].name, why);
            n_err++;
        }
        vals[i].where = "default";
    }
    free(given);
    if (n_err) {
        kgm_opt_values_free(vals, no);
        return KGM_ERR(KGM_ERR_ARG, "task '%s' (plugin %s, %s): %d invalid option%s:%s",
                       task_name ? task_name : d->name, d->name, pl->path, n_err, n_err > 1 ? "s" : "", errs);
    }
    *vals_out = vals;
    return KGM_OK;
}

/* ---- parameters ------------------------------------------------------------- */

static kgm_status h_param_declare(kgm_task_ctx *ctx, const char *name, int32_t rows, int32_t cols, kgm_init init,
                                  uint32_t flags, int32_t *id_out) {
    if (id_out) *id_out = -1;
    if (!ctx || !ctx->params) return KGM_ERR(KGM_ERR_STATE, "param_declare without a parameter store");
    if (!name || !*name) return KGM_ERR(KGM_ERR_ARG, "task '%s': parameter name is empty", ctx->name);
    if (ctx->n_params >= KGM_TASK_MAX_PARAMS)
        return KGM_ERR(KGM_ERR_ARG, "task '%s': more than %d parameters", ctx->name, KGM_TASK_MAX_PARAMS);
    char full[KGM_PARAM_NAME_MAX + 64];
    snprintf(full, sizeof full, "%s/%s", ctx->name, name);
    int32_t id;
    KGM_TRY(kgm_params_declare(ctx->params, full, rows, cols, init, flags, ctx->param_group, &id));
    ctx->param_ids[ctx->n_params++] = id;
    if (id_out) *id_out = id;
    return KGM_OK;
}

static kgm_tensor *h_param(kgm_task_ctx *ctx, int32_t id) {
    if (!ctx || !ctx->params || !ctx->params->finalized) return NULL;
    for (int32_t i = 0; i < ctx->n_params; i++)
        if (ctx->param_ids[i] == id) return kgm_params_tensor(ctx->params, id);
    return NULL; /* not this task's parameter */
}

/* ---- data and encoder: forwarded to the backend ---------------------------- */

#define NEED_BACKEND(ctx, fn)                                                                                      \
    do {                                                                                                           \
        if (!(ctx)) return KGM_ERR(KGM_ERR_STATE, #fn " called without a task context");                        \
        if (!(ctx)->backend.fn)                                                                                    \
            return KGM_ERR(KGM_ERR_UNSUPPORTED, "task '%s': the host's backend does not provide " #fn "()",       \
                           (ctx)->name);                                                                           \
    } while (0)

static int64_t h_count(kgm_task_ctx *ctx, kgm_count_kind what) {
    if (!ctx || !ctx->backend.count) return -1;
    return ctx->backend.count(ctx->backend.self, ctx, what);
}

/* Bytes of a kgm_batch that the calling plugin's struct has. */
static size_t plugin_batch_size(const kgm_task_ctx *ctx) {
    return kgm_abi_batch_size(ctx->plugin->desc.abi_minor);
}

static kgm_status h_split_rows(kgm_task_ctx *ctx, kgm_split_id split, kgm_batch *out) {
    NEED_BACKEND(ctx, split_rows);
    if (!out) return KGM_ERR(KGM_ERR_ARG, "split_rows: output is NULL");
    if (split < KGM_SPLIT_TRAIN || split > KGM_SPLIT_TEST)
        return KGM_ERR(KGM_ERR_ARG, "split_rows: unknown split %d", (int)split);
    kgm_batch b;
    memset(&b, 0, sizeof b);
    b.struct_size = sizeof b;
    KGM_TRY(ctx->backend.split_rows(ctx->backend.self, ctx, split, &b));
    /* `out` is the plugin's kgm_batch, which may be an older, smaller one:
     * write only the prefix its minor defines (not sizeof(kgm_batch)). */
    size_t n = plugin_batch_size(ctx);
    b.struct_size = (uint32_t)n;
    b.split = split;
    b.h = NULL;
    memcpy(out, &b, n);
    return KGM_OK;
}

static kgm_status h_user_items(kgm_task_ctx *ctx, kgm_split_id split, const int64_t **rowptr,
                               const int32_t **col) {
    NEED_BACKEND(ctx, user_items);
    if (!rowptr || !col) return KGM_ERR(KGM_ERR_ARG, "user_items: output is NULL");
    return ctx->backend.user_items(ctx->backend.self, ctx, split, rowptr, col);
}

static kgm_status h_kg_true_tails(kgm_task_ctx *ctx, int32_t head, int32_t rel, const int32_t **tails,
                                  int32_t *n) {
    NEED_BACKEND(ctx, kg_true_tails);
    if (!tails || !n) return KGM_ERR(KGM_ERR_ARG, "kg_true_tails: output is NULL");
    return ctx->backend.kg_true_tails(ctx->backend.self, ctx, head, rel, tails, n);
}

static kgm_status h_eval_negatives(kgm_task_ctx *ctx, kgm_split_id split, int32_t *k, const int32_t **items) {
    if (!ctx) return KGM_ERR(KGM_ERR_STATE, "eval_negatives called without a task context");
    if (!k || !items) return KGM_ERR(KGM_ERR_ARG, "eval_negatives: output is NULL");
    *k = 0;
    *items = NULL;
    if (!ctx->backend.eval_negatives) return KGM_OK; /* a backend without stored negatives: full ranking */
    return ctx->backend.eval_negatives(ctx->backend.self, ctx, split, k, items);
}

static kgm_status h_embed(kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, const int32_t *ids, int32_t n,
                          kgm_tensor **out) {
    NEED_BACKEND(ctx, embed);
    if (!out) return KGM_ERR(KGM_ERR_ARG, "embed: output is NULL");
    *out = NULL;
    KGM_TRY(ctx->backend.embed(ctx->backend.self, ctx, tp, kind, ids, n, out));
    if (!*out || (*out)->rows != n)
        return KGM_ERR(KGM_ERR_STATE, "task '%s': backend embed() returned %d rows for %d ids", ctx->name,
                       *out ? (*out)->rows : -1, n);
    return KGM_OK;
}

static kgm_status h_embed_all(kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, kgm_tensor **out) {
    NEED_BACKEND(ctx, embed_all);
    if (!out) return KGM_ERR(KGM_ERR_ARG, "embed_all: output is NULL");
    *out = NULL;
    KGM_TRY(ctx->backend.embed_all(ctx->backend.self, ctx, tp, kind, out));
    if (!*out) return KGM_ERR(KGM_ERR_STATE, "task '%s': backend embed_all() returned no tensor", ctx->name);
    return KGM_OK;
}

static kgm_status h_represent(kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **h) {
    NEED_BACKEND(ctx, represent);
    if (!b || !h) return KGM_ERR(KGM_ERR_ARG, "represent: batch or output is NULL");
    *h = NULL;
    /* The plugin's batch may be an older, smaller struct: the backend reads
     * a host-sized copy whose fields past the plugin's prefix are zero. */
    kgm_batch hb;
    memset(&hb, 0, sizeof hb);
    memcpy(&hb, b, plugin_batch_size(ctx));
    hb.struct_size = sizeof hb;
    b = &hb;
    KGM_TRY(ctx->backend.represent(ctx->backend.self, ctx, tp, b, h));
    if (!*h || (*h)->rows != b->n)
        return KGM_ERR(KGM_ERR_STATE, "task '%s': backend represent() returned %d rows for a batch of %d",
                       ctx->name, *h ? (*h)->rows : -1, b->n);
    return KGM_OK;
}

/* ---- random streams ----------------------------------------------------------- */

static kgm_rng *h_rng(kgm_task_ctx *ctx) { return ctx ? &ctx->rng : NULL; }

/* ---- metrics ------------------------------------------------------------------ */

static kgm_status m_accuracy(const float *p, const float *y, int64_t n, double thr, double *out) {
    return kgm_metric_binary_accuracy(p, y, n, (float)thr, out);
}

static kgm_status m_f1(const float *p, const float *y, int64_t n, double thr, double *out) {
    kgm_prf r;
    kgm_status st = kgm_metric_binary_prf(p, y, n, (float)thr, &r);
    *out = r.f1;
    return st;
}

static int32_t n_classes_of(const int32_t *a, const int32_t *b, int64_t n) {
    int32_t mx = -1;
    for (int64_t i = 0; i < n; i++) {
        if (a[i] > mx) mx = a[i];
        if (b[i] > mx) mx = b[i];
    }
    return mx + 1;
}

static kgm_status m_mc_accuracy(const int32_t *truth, const int32_t *pred, int64_t n, double *out) {
    if (!truth || !pred) return KGM_ERR(KGM_ERR_ARG, "mc_accuracy: NULL input");
    return kgm_metric_multiclass_accuracy(truth, pred, n, n_classes_of(truth, pred, n), out);
}

static kgm_status m_mc_macro_f1(const int32_t *truth, const int32_t *pred, int64_t n, int32_t nc, double *out) {
    return kgm_metric_macro_f1(truth, pred, n, nc, out, NULL);
}

static kgm_status m_ml_micro(const float *t, const float *s, int64_t n, int32_t L, double thr, double *out) {
    return kgm_metric_multilabel_f1(t, s, n, L, (float)thr, out, NULL);
}

static kgm_status m_ml_macro(const float *t, const float *s, int64_t n, int32_t L, double thr, double *out) {
    return kgm_metric_multilabel_f1(t, s, n, L, (float)thr, NULL, out);
}

static kgm_status m_rank_user(const float *scores, int32_t n_items, const int32_t *mask, int32_t n_mask,
                              const int32_t *rel, int32_t n_rel, int32_t k, bool kgat, double out[5]) {
    for (int j = 0; j < 5; j++) out[j] = NAN;
    if (n_items <= 0) return KGM_ERR(KGM_ERR_ARG, "rank_user: no items");
    uint8_t *ex = NULL;
    if (n_mask > 0) {
        ex = calloc((size_t)n_items, 1);
        if (!ex) return KGM_ERR(KGM_ERR_NOMEM, "rank_user");
        for (int32_t i = 0; i < n_mask; i++) {
            if (mask[i] < 0 || mask[i] >= n_items) {
                free(ex);
                return KGM_ERR(KGM_ERR_INDEX, "rank_user: masked item %d outside [0, %d)", mask[i], n_items);
            }
            ex[mask[i]] = 1;
        }
    }
    kgm_topk_result r;
    kgm_status st = kgm_metric_topk_user(scores, n_items, ex, rel, n_rel, k, kgat ? KGM_TOPK_NDCG_KGAT : 0, &r);
    free(ex);
    if (st == KGM_OK) {
        out[0] = r.recall;
        out[1] = r.ndcg;
        out[2] = r.hit;
        out[3] = r.precision;
        out[4] = r.mrr;
    }
    return st;
}

static kgm_status m_rank_sampled(float pos, const float *neg, int32_t n_neg, int32_t k, double out[5]) {
    kgm_topk_result r;
    kgm_status st = kgm_metric_topk_sampled(pos, neg, n_neg, k, &r);
    out[0] = r.recall;
    out[1] = r.ndcg;
    out[2] = r.hit;
    out[3] = r.precision;
    out[4] = r.mrr;
    return st;
}

static const kgm_metrics_api metrics_api = {
    .struct_size = sizeof(kgm_metrics_api),
    .auc = kgm_metric_auc,
    .logloss = kgm_metric_logloss,
    .accuracy = m_accuracy,
    .f1 = m_f1,
    .rmse = kgm_metric_rmse,
    .mae = kgm_metric_mae,
    .mc_accuracy = m_mc_accuracy,
    .mc_macro_f1 = m_mc_macro_f1,
    .ml_micro_f1 = m_ml_micro,
    .ml_macro_f1 = m_ml_macro,
    .rank_user = m_rank_user,
    .filtered_rank = kgm_metric_filtered_rank,
    .rank_sampled = m_rank_sampled,
};

/* ---- gradcheck -------------------------------------------------------------- */

static kgm_status h_gradcheck(kgm_status (*f)(kgm_tape *, kgm_tensor **, void *, kgm_tensor **), kgm_tensor **in,
                              int n_in, void *uctx, double h, double floor, uint64_t seed, double *max_rel_err) {
    kgm_gradcheck_result r;
    kgm_status st = kgm_gradcheck(f, in, n_in, uctx, h, floor, seed, &r);
    if (max_rel_err) *max_rel_err = st ? NAN : r.max_rel_err;
    return st;
}

/* ---- the table ----------------------------------------------------------------- */

static const kgm_host_api host_api = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_host_api),
    .alloc = h_alloc,
    .calloc = h_calloc,
    .free = h_free,
    .log = h_log,
    .error_set = h_error_set,
    .error_message = h_error_message,
    .opt_int = h_opt_int,
    .opt_float = h_opt_float,
    .opt_bool = h_opt_bool,
    .opt_string = h_opt_string,
    .param_declare = h_param_declare,
    .param = h_param,
    .count = h_count,
    .split_rows = h_split_rows,
    .user_items = h_user_items,
    .kg_true_tails = h_kg_true_tails,
    .embed = h_embed,
    .embed_all = h_embed_all,
    .represent = h_represent,
    .rng = h_rng,
    .rng_below = kgm_rng_below,
    .rng_uniform = kgm_rng_uniform,
    .rng_normal = kgm_rng_normal,
    .tape_tensor = kgm_tape_tensor,
    .tape_input = kgm_tape_input,
    .tape_alloc = kgm_tape_alloc,
    .tape_training = kgm_tape_training,
    .tape_get_mark = kgm_tape_get_mark,
    .tape_rewind = kgm_tape_rewind,
    .op_matmul = kgm_op_matmul,
    .op_linear = kgm_op_linear,
    .op_bias_add = kgm_op_bias_add,
    .op_add = kgm_op_add,
    .op_sub = kgm_op_sub,
    .op_mul = kgm_op_mul,
    .op_scale = kgm_op_scale,
    .op_mul_bcast = kgm_op_mul_bcast,
    .op_concat_cols = kgm_op_concat_cols,
    .op_slice_cols = kgm_op_slice_cols,
    .op_relu = kgm_op_relu,
    .op_leaky_relu = kgm_op_leaky_relu,
    .op_sigmoid = kgm_op_sigmoid,
    .op_tanh = kgm_op_tanh,
    .op_exp = kgm_op_exp,
    .op_softplus = kgm_op_softplus,
    .op_softmax = kgm_op_softmax,
    .op_dropout = kgm_op_dropout,
    .op_layernorm = kgm_op_layernorm,
    .op_gather = kgm_op_gather,
    .op_segment_sum = kgm_op_segment_sum,
    .op_segment_mean = kgm_op_segment_mean,
    .op_segment_softmax = kgm_op_segment_softmax,
    .op_rowdot = kgm_op_rowdot,
    .op_rowcos = kgm_op_rowcos,
    .op_spmm = kgm_op_spmm,
    .op_sum = kgm_op_sum,
    .op_mean = kgm_op_mean,
    .op_bce_logits = kgm_op_bce_logits,
    .op_softmax_ce = kgm_op_softmax_ce,
    .op_mse = kgm_op_mse,
    .op_bpr = kgm_op_bpr,
    .op_margin_ranking = kgm_op_margin_ranking,
    .metrics = &metrics_api,
    .opt_where = h_opt_where,
    .gradcheck = h_gradcheck,
    /* ABI 1.1 */
    .op_mixture = kgm_op_mixture,
    .op_abs = kgm_op_abs,
    .op_log = kgm_op_log,
    .op_sqrt = kgm_op_sqrt,
    .op_clamp = kgm_op_clamp,
    .op_min = kgm_op_min,
    .op_max = kgm_op_max,
    /* ABI 1.2 */
    .eval_negatives = h_eval_negatives,
};

const kgm_host_api *kgm_host_api_get(void) { return &host_api; }

/* ---- task instances ----------------------------------------------------------- */

static kgm_status wrap(const kgm_task_ctx *t, kgm_status st, const char *what) {
    if (st == KGM_OK) return st;
    return kgm_error_wrap(st, "task '%s' (plugin %s, %s): %s", t->name, t->plugin->desc.name, t->plugin->path, what);
}

kgm_status kgm_task_new(const kgm_plugin *pl, const char *name, const kgm_opt_kv *opts, int32_t n_opts,
                        const kgm_task_cfg *cfg, kgm_task_ctx **out) {
    *out = NULL;
    if (!pl || !cfg) return KGM_ERR(KGM_ERR_ARG, "kgm_task_new: plugin or config is NULL");
    if (!cfg->params) return KGM_ERR(KGM_ERR_ARG, "kgm_task_new: no parameter store");
    const char *nm = name && *name ? name : pl->desc.name;
    if (strlen(nm) > 48 || strchr(nm, '/'))
        return KGM_ERR(KGM_ERR_ARG, "task name '%s' must have at most 48 characters and no '/'", nm);
    kgm_task_ctx *t = calloc(1, sizeof *t);
    if (!t) return KGM_ERR(KGM_ERR_NOMEM, "task");
    t->plugin = pl;
    t->host = kgm_host_api_get();
    t->name = xstrdup(nm);
    if (!t->name) {
        free(t);
        return KGM_ERR(KGM_ERR_NOMEM, "task");
    }
    t->params = cfg->params;
    t->param_group = cfg->param_group;
    t->log = cfg->log;
    t->log_user = cfg->log_user;
    /* A zeroed config must not print debug lines: the default sink starts at INFO. */
    t->log_level = cfg->log || cfg->log_level > KGM_LOG_DEBUG ? cfg->log_level : KGM_LOG_INFO;
    if (cfg->backend) t->backend = *cfg->backend;
    char comp[80];
    snprintf(comp, sizeof comp, "task:%s", nm);
    kgm_rng_init(&t->rng, cfg->seed, kgm_rng_stream_id(comp, 0));
    kgm_status st = kgm_opt_parse(pl, nm, opts, n_opts, &t->opts);
    if (st) {
        free(t->name);
        free(t);
        return st;
    }
    void *self = NULL;
    st = pl->desc.create(t->host, t, &self);
    if (st) {
        st = wrap(t, st, "create() failed");
        kgm_opt_values_free(t->opts, pl->desc.n_options);
        free(t->name);
        free(t);
        return st;
    }
    t->self = self;
    *out = t;
    return KGM_OK;
}

void kgm_task_set_backend(kgm_task_ctx *t, const kgm_task_backend *be) {
    if (be)
        t->backend = *be;
    else
        memset(&t->backend, 0, sizeof t->backend);
}

kgm_status kgm_task_declare_params(kgm_task_ctx *t) {
    if (t->params_declared) return KGM_ERR(KGM_ERR_STATE, "task '%s': parameters declared twice", t->name);
    if (t->params->finalized)
        return KGM_ERR(KGM_ERR_STATE, "task '%s': the parameter store is already finalised", t->name);
    t->params_declared = true;
    return wrap(t, t->plugin->desc.declare_params(t->self, t), "declare_params() failed");
}

kgm_status kgm_task_forward_loss(kgm_task_ctx *t, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    *loss = NULL;
    if (t->plugin->desc.input != KGM_INPUT_NONE && !b->h)
        return KGM_ERR(KGM_ERR_STATE, "task '%s': batch->h is NULL but the plugin takes input '%s'", t->name,
                       kgm_input_name(t->plugin->desc.input));
    KGM_TRY(wrap(t, t->plugin->desc.forward_loss(t->self, t, tp, b, loss), "forward_loss() failed"));
    if (!*loss || (*loss)->rows != 1 || (*loss)->cols != 1)
        return KGM_ERR(KGM_ERR_PLUGIN, "task '%s' (plugin %s): forward_loss() returned %s instead of a (1,1) loss",
                       t->name, t->plugin->desc.name, *loss ? "a tensor of another shape" : "no tensor");
    if (!isfinite((*loss)->data[0]))
        return KGM_ERR(KGM_ERR_NUMERIC, "task '%s' (plugin %s): the loss is %g", t->name, t->plugin->desc.name,
                       (double)(*loss)->data[0]);
    return KGM_OK;
}

kgm_status kgm_task_predict(kgm_task_ctx *t, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    *out = NULL;
    KGM_TRY(wrap(t, t->plugin->desc.predict(t->self, t, tp, b, out), "predict() failed"));
    if (!*out || (*out)->rows != b->n)
        return KGM_ERR(KGM_ERR_PLUGIN, "task '%s' (plugin %s): predict() returned %d rows for a batch of %d",
                       t->name, t->plugin->desc.name, *out ? (*out)->rows : -1, b->n);
    return KGM_OK;
}

kgm_status kgm_task_eval(kgm_task_ctx *t, kgm_tape *tp, kgm_split_id split, double *metrics) {
    bool g = kgm_tape_grad_enabled(tp), tr = kgm_tape_training(tp);
    kgm_tape_set_grad(tp, false);
    kgm_tape_set_training(tp, false);
    for (int32_t i = 0; i < t->plugin->desc.n_metrics; i++) metrics[i] = NAN;
    kgm_status st = wrap(t, t->plugin->desc.eval(t->self, t, tp, split, metrics), "eval() failed");
    kgm_tape_set_grad(tp, g);
    kgm_tape_set_training(tp, tr);
    return st;
}

void kgm_task_free(kgm_task_ctx *t) {
    if (!t) return;
    if (t->self) t->plugin->desc.destroy(t->self);
    kgm_opt_values_free(t->opts, t->plugin->desc.n_options);
    free(t->name);
    free(t);
}
