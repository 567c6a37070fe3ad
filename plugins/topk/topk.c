/* topk — top-K recommendation from implicit (user, item) positives.
 *
 * Score: s(u, i) = dot(embed(USER u), embed(ITEM i)) — the encoder's
 * embeddings, no head parameters. Losses (option `loss`):
 *   bpr      -log sigmoid(s(u, i+) - s(u, i-)), one sampled negative per row;
 *   softmax  sampled softmax: each row's positive against `negatives` items
 *            sampled once per batch and shared by its rows, logits divided by
 *            `temperature`; sampled items that are training positives of the
 *            row's user (accidental hits) are masked out.
 * Negatives are drawn uniformly among items that are not training positives of
 * the user (the task's rng; up to 50 draws, then any item).
 * Evaluation, by the run's protocol (host->eval_negatives):
 *   full     (dataset.eval_negatives = 0) ranking of all items for every user
 *            with relevant items in the split; the user's training items (and
 *            validation items when evaluating test) are masked. Metrics,
 *            averaged over those users: recall@k, ndcg@k (IDCG over all
 *            relevant items; KGAT's inflated variant with kgat_ndcg), hit@k
 *            and MRR (1 / rank of the first relevant item in the full ranking).
 *   sampled  (dataset.eval_negatives = K > 0, RecBole's "uni100" for K = 100):
 *            each positive row (u, i) of the split is ranked among {i} and its
 *            K stored negatives (the same for every epoch and model); ties are
 *            pessimistic. Metrics averaged over the positive ROWS; with one
 *            relevant candidate recall@k = hit@k and ndcg@k = 1/log2(rank+1).
 * `k` is the task's `k` option (default 20). */
#include <stdlib.h>

#include "pu.h"

typedef struct topk {
    const kgm_host_api *H;
    bool softmax, kgat;
    int64_t k, negatives, chunk;
    double temperature;
} topk;

static const kgm_option_spec options[] = {
    {"loss", KGM_OPTTYPE_ENUM, "bpr", 0, -1, "bpr|softmax", "training loss: BPR or sampled softmax"},
    {"k", KGM_OPTTYPE_INT, "20", 1, 100000, NULL, "cut-off K of recall@k, ndcg@k and hit@k"},
    {"negatives", KGM_OPTTYPE_INT, "64", 1, 100000, NULL, "sampled-softmax negatives per batch (shared by its rows)"},
    {"temperature", KGM_OPTTYPE_FLOAT, "1", 1e-3, 1e3, NULL, "sampled-softmax temperature (logits are divided by it)"},
    {"kgat_ndcg", KGM_OPTTYPE_BOOL, "false", 0, -1, NULL,
     "use KGAT's NDCG (IDCG over the hits only; inflated, for comparison with KGAT-lineage papers)"},
    {"eval_chunk", KGM_OPTTYPE_INT, "256", 1, 1000000, NULL, "users scored per chunk in full-ranking evaluation"},
};

static const kgm_metric_spec metrics[] = {{"recall@k", 1}, {"ndcg@k", 1}, {"hit@k", 1}, {"mrr", 1}};

static kgm_status tk_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    topk *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "topk state");
    t->H = H;
    const char *loss;
    kgm_status st = H->opt_string(ctx, "loss", &loss);
    if (!st) st = H->opt_int(ctx, "k", &t->k);
    if (!st) st = H->opt_int(ctx, "negatives", &t->negatives);
    if (!st) st = H->opt_float(ctx, "temperature", &t->temperature);
    if (!st) st = H->opt_bool(ctx, "kgat_ndcg", &t->kgat);
    if (!st) st = H->opt_int(ctx, "eval_chunk", &t->chunk);
    if (st) {
        H->free(t);
        return st;
    }
    t->softmax = strcmp(loss, "softmax") == 0;
    H->log(ctx, KGM_LOG_DEBUG, "loss %s, metrics at k = %lld%s", loss, (long long)t->k,
           t->kgat ? ", KGAT NDCG" : "");
    *self = t;
    return KGM_OK;
}

static bool is_pos(const int64_t *rp, const int32_t *col, int32_t u, int32_t item) {
    return pu_contains(col + rp[u], rp[u + 1] - rp[u], item);
}

/* An item that is not a training positive of user u (best effort). */
static int32_t sample_neg(const kgm_host_api *H, kgm_rng *r, const int64_t *rp, const int32_t *col, int32_t u,
                          int32_t n_items) {
    int32_t x = 0;
    for (int a = 0; a < 50; a++) {
        x = (int32_t)H->rng_below(r, (uint64_t)n_items);
        if (!rp || !is_pos(rp, col, u, x)) return x;
    }
    return x;
}

static kgm_status tk_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    topk *t = self;
    const kgm_host_api *H = t->H;
    int32_t B = b->n, I = (int32_t)H->count(ctx, KGM_COUNT_ITEMS), U = (int32_t)H->count(ctx, KGM_COUNT_USERS);
    if (I <= 1 || U <= 0) return PU_ERR(H, KGM_ERR_STATE, "topk needs users and at least two items");
    const int64_t *rp;
    const int32_t *col;
    PU_TRY(H->user_items(ctx, KGM_SPLIT_TRAIN, &rp, &col));
    kgm_rng *r = H->rng(ctx);
    kgm_tensor *u, *ip, *pos;
    PU_TRY(H->embed(ctx, tp, KGM_KIND_USER, b->user, B, &u));
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ITEM, b->item, B, &ip));
    PU_TRY(H->op_rowdot(tp, u, ip, &pos));
    if (!t->softmax) {
        int32_t *neg;
        PU_TRY(H->tape_alloc(tp, (size_t)B * sizeof *neg, (void **)&neg));
        for (int32_t i = 0; i < B; i++) neg[i] = sample_neg(H, r, rp, col, b->user[i], I);
        kgm_tensor *in, *ns;
        PU_TRY(H->embed(ctx, tp, KGM_KIND_ITEM, neg, B, &in));
        PU_TRY(H->op_rowdot(tp, u, in, &ns));
        return H->op_bpr(tp, pos, ns, loss);
    }
    int32_t m = (int32_t)t->negatives;
    int32_t *neg, *lab;
    float *mask;
    PU_TRY(H->tape_alloc(tp, (size_t)m * sizeof *neg, (void **)&neg));
    PU_TRY(H->tape_alloc(tp, (size_t)B * sizeof *lab, (void **)&lab));
    PU_TRY(H->tape_alloc(tp, (size_t)B * (size_t)(m + 1) * sizeof *mask, (void **)&mask));
    for (int32_t j = 0; j < m; j++) neg[j] = (int32_t)H->rng_below(r, (uint64_t)I);
    for (int32_t i = 0; i < B; i++) {
        lab[i] = 0;
        float *row = mask + (size_t)i * (m + 1);
        row[0] = 0.0f;
        for (int32_t j = 0; j < m; j++)
            row[j + 1] = (neg[j] == b->item[i] || is_pos(rp, col, b->user[i], neg[j])) ? -1e9f : 0.0f;
    }
    kgm_tensor *nt, *nl, *lg, *mk;
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ITEM, neg, m, &nt));
    PU_TRY(H->op_matmul(tp, u, nt, false, true, &nl)); /* (B, m) */
    kgm_tensor *parts[2] = {pos, nl};
    PU_TRY(H->op_concat_cols(tp, 2, parts, &lg)); /* (B, 1+m), positive in column 0 */
    PU_TRY(H->op_scale(tp, lg, (float)(1.0 / t->temperature), 0.0f, &lg));
    PU_TRY(H->tape_input(tp, B, m + 1, mask, &mk));
    PU_TRY(H->op_add(tp, lg, mk, &lg));
    return H->op_softmax_ce(tp, lg, lab, NULL, loss);
}

/* (n, 1) scores s(u, i). */
static kgm_status tk_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    topk *t = self;
    kgm_tensor *u, *i;
    PU_TRY(t->H->embed(ctx, tp, KGM_KIND_USER, b->user, b->n, &u));
    PU_TRY(t->H->embed(ctx, tp, KGM_KIND_ITEM, b->item, b->n, &i));
    return t->H->op_rowdot(tp, u, i, out);
}

/* Whether the host table and its metrics table have the ABI 1.2 members (an
 * older host has no stored negatives: full ranking). */
static bool has_sampled_api(const kgm_host_api *H) {
    return H->struct_size >= KGM_HOST_API_SIZE_1_2 && H->metrics && H->metrics->struct_size >= KGM_METRICS_API_SIZE_1_2;
}

/* dot(user row q of U, item row `item` of E), the score tk_predict gives. */
static float score_of(const kgm_tensor *U, int32_t q, const kgm_tensor *E, int32_t item) {
    const float *u = U->data + (size_t)q * U->cols, *e = E->data + (size_t)item * E->cols;
    float s = 0.0f;
    for (int32_t d = 0; d < U->cols; d++) s += u[d] * e[d];
    return s;
}

/* The sampled protocol: row r's positive against negs[r*K .. r*K+K). */
static kgm_status eval_sampled(topk *t, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, int32_t K,
                               const int32_t *negs, double *m) {
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    PU_TRY(H->split_rows(ctx, split, &rows));
    kgm_tape_mark m0 = H->tape_get_mark(tp);
    kgm_tensor *E;
    PU_TRY(H->embed_all(ctx, tp, KGM_KIND_ITEM, &E));
    float *ns = H->alloc((size_t)K * sizeof *ns + 1);
    if (!ns) return PU_ERR(H, KGM_ERR_NOMEM, "evaluation scores");
    double sum[4] = {0, 0, 0, 0};
    kgm_status st = KGM_OK;
    for (int32_t s = 0; s < rows.n && !st; s += (int32_t)t->chunk) {
        int32_t n = rows.n - s < t->chunk ? rows.n - s : (int32_t)t->chunk;
        kgm_tape_mark mk = H->tape_get_mark(tp);
        kgm_tensor *U;
        st = H->embed(ctx, tp, KGM_KIND_USER, rows.user + s, n, &U);
        for (int32_t q = 0; q < n && !st; q++) {
            const int32_t *ng = negs + (size_t)(s + q) * K;
            for (int32_t j = 0; j < K; j++) ns[j] = score_of(U, q, E, ng[j]);
            double out[5];
            st = H->metrics->rank_sampled(score_of(U, q, E, rows.item[s + q]), ns, K, (int32_t)t->k, out);
            sum[0] += out[0];
            sum[1] += out[1];
            sum[2] += out[2];
            sum[3] += out[4];
        }
        H->tape_rewind(tp, mk);
    }
    H->tape_rewind(tp, m0);
    H->free(ns);
    if (st) return st;
    if (rows.n > 0)
        for (int j = 0; j < 4; j++) m[j] = sum[j] / (double)rows.n;
    return KGM_OK;
}

static kgm_status tk_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    topk *t = self;
    const kgm_host_api *H = t->H;
    if (split != KGM_SPLIT_TRAIN && has_sampled_api(H)) {
        int32_t K;
        const int32_t *negs;
        PU_TRY(H->eval_negatives(ctx, split, &K, &negs));
        if (K > 0 && t->kgat)
            return PU_ERR(H, KGM_ERR_ARG,
                          "option kgat_ndcg: expected false under the sampled protocol (dataset.eval_negatives = %d: one "
                          "relevant item per list, so KGAT's IDCG changes nothing), found true",
                          K);
        if (K > 0) return eval_sampled(t, ctx, tp, split, K, negs, m);
    }
    int32_t U = (int32_t)H->count(ctx, KGM_COUNT_USERS), I = (int32_t)H->count(ctx, KGM_COUNT_ITEMS);
    const int64_t *trp = NULL, *vrp = NULL, *rrp;
    const int32_t *tcol = NULL, *vcol = NULL, *rcol;
    PU_TRY(H->user_items(ctx, split, &rrp, &rcol));
    if (split != KGM_SPLIT_TRAIN) PU_TRY(H->user_items(ctx, KGM_SPLIT_TRAIN, &trp, &tcol));
    if (split == KGM_SPLIT_TEST) PU_TRY(H->user_items(ctx, KGM_SPLIT_VALID, &vrp, &vcol));
    kgm_tape_mark m0 = H->tape_get_mark(tp);
    kgm_tensor *E;
    PU_TRY(H->embed_all(ctx, tp, KGM_KIND_ITEM, &E));
    if (E->rows != I) return PU_ERR(H, KGM_ERR_SHAPE, "embed_all(ITEM) has %d rows for %d items", E->rows, I);
    int32_t *users = H->alloc((size_t)(U > 0 ? U : 1) * sizeof *users);
    int32_t *mask = H->alloc((size_t)(I > 0 ? I : 1) * 2 * sizeof *mask);
    if (!users || !mask) {
        H->free(users);
        H->free(mask);
        return PU_ERR(H, KGM_ERR_NOMEM, "evaluation buffers");
    }
    int32_t nu = 0;
    for (int32_t u = 0; u < U; u++)
        if (rrp[u + 1] > rrp[u]) users[nu++] = u;
    double sum[4] = {0, 0, 0, 0};
    int64_t counted = 0;
    kgm_status st = KGM_OK;
    for (int32_t s = 0; s < nu && !st; s += (int32_t)t->chunk) {
        int32_t n = nu - s < t->chunk ? nu - s : (int32_t)t->chunk;
        kgm_tape_mark mk = H->tape_get_mark(tp);
        kgm_tensor *ue, *S;
        st = H->embed(ctx, tp, KGM_KIND_USER, users + s, n, &ue);
        if (!st) st = H->op_matmul(tp, ue, E, false, true, &S); /* (n, I) */
        for (int32_t q = 0; q < n && !st; q++) {
            int32_t u = users[s + q];
            const int32_t *rel = rcol + rrp[u];
            int32_t nrel = (int32_t)(rrp[u + 1] - rrp[u]), nm = 0;
            /* Known positives outside the evaluated split are masked; an item
             * that is also relevant here stays a candidate. */
            for (int pass = 0; pass < 2; pass++) {
                const int64_t *rp = pass ? vrp : trp;
                const int32_t *cl = pass ? vcol : tcol;
                if (!rp) continue;
                for (int64_t e = rp[u]; e < rp[u + 1]; e++)
                    if (!pu_contains(rel, nrel, cl[e]) && !pu_contains(mask, nm, cl[e])) mask[nm++] = cl[e];
            }
            double out[5];
            st = H->metrics->rank_user(S->data + (size_t)q * I, I, mask, nm, rel, nrel, (int32_t)t->k, t->kgat, out);
            if (st) break;
            sum[0] += out[0];
            sum[1] += out[1];
            sum[2] += out[2];
            sum[3] += out[4];
            counted++;
        }
        H->tape_rewind(tp, mk);
    }
    H->tape_rewind(tp, m0);
    H->free(users);
    H->free(mask);
    if (st) return st;
    if (counted > 0)
        for (int j = 0; j < 4; j++) m[j] = sum[j] / (double)counted;
    return KGM_OK;
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "topk",
    .version = "1.0.0",
    .description = "top-K recommendation: dot-product scores, BPR or sampled softmax; recall/NDCG/hit@k, MRR by full ranking or against stored sampled negatives",
    .view = KGM_VIEW_IMPLICIT,
    .input = KGM_INPUT_NONE,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 0,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = tk_create,
    .declare_params = pu_declare_none,
    .forward_loss = tk_forward_loss,
    .predict = tk_predict,
    .eval = tk_eval,
    .destroy = pu_destroy_simple,
};

PU_EXPORT_PLUGIN(plugin)
