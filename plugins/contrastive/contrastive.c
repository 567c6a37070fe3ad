/* contrastive — self-supervised InfoNCE between two perturbed views.
 *
 * For the distinct items (side item) or users (side user) of a batch, the
 * encoder's embeddings e = embed(kind, ids) are perturbed twice by feature
 * dropout with independent masks (the task's rng), giving views v1 and v2.
 * Each view is standardised per row (layer norm without gain/bias), so
 * z1_i · z2_j / d is the Pearson correlation of the two vectors, in [-1, 1].
 * Logits S = z1 z2^T / (d · temperature); the symmetric InfoNCE loss is
 * 0.5 · (CE(S, diag) + CE(S^T, diag)): each entity must pick out its own other
 * view among the batch's entities.
 *
 * Evaluation (what the metrics measure, honestly): the split's distinct
 * entities are taken in chunks of `eval_chunk`; two views are drawn with
 * dropout masks from a FIXED seed (the same every epoch), and
 *   infonce_acc  fraction of entities whose own second view has the highest
 *                similarity among the chunk (chance: 1 / chunk size);
 *   infonce      the one-directional InfoNCE loss on those views;
 *   alignment    mean ||f1 - f2||^2 of L2-normalised views (Wang & Isola);
 *   uniformity   log mean over pairs i != j of exp(-2 ||f1_i - f1_j||^2).
 * They measure how invariant and how spread-out the embeddings are under the
 * perturbation, not recommendation quality. Model selection: infonce_acc. */
#include <stdlib.h>

#include "pu.h"

typedef struct contrastive {
    const kgm_host_api *H;
    bool user_side;
    double p, temperature;
    int64_t chunk, eval_seed;
} contrastive;

static const kgm_option_spec options[] = {
    {"side", KGM_OPTTYPE_ENUM, "item", 0, -1, "item|user", "which embeddings are contrasted"},
    {"dropout", KGM_OPTTYPE_FLOAT, "0.3", 0.01, 0.9, NULL, "feature-dropout probability of each view"},
    {"temperature", KGM_OPTTYPE_FLOAT, "0.2", 1e-3, 100, NULL, "InfoNCE temperature"},
    {"eval_chunk", KGM_OPTTYPE_INT, "256", 2, 100000, NULL, "entities per evaluation chunk (candidates per query)"},
    {"eval_seed", KGM_OPTTYPE_INT, "4242", 0, 9.0e15, NULL, "seed of the fixed evaluation dropout masks"},
};

static const kgm_metric_spec metrics[] = {{"infonce_acc", 1}, {"infonce", 0}, {"alignment", 0}, {"uniformity", 0}};

static kgm_status co_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    contrastive *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "contrastive state");
    t->H = H;
    const char *side;
    kgm_status st = H->opt_string(ctx, "side", &side);
    if (!st) st = H->opt_float(ctx, "dropout", &t->p);
    if (!st) st = H->opt_float(ctx, "temperature", &t->temperature);
    if (!st) st = H->opt_int(ctx, "eval_chunk", &t->chunk);
    if (!st) st = H->opt_int(ctx, "eval_seed", &t->eval_seed);
    if (st) {
        H->free(t);
        return st;
    }
    t->user_side = strcmp(side, "user") == 0;
    *self = t;
    return KGM_OK;
}

/* Distinct ids of the chosen side, in first-seen order, into out (room for n). */
static int32_t distinct(const int32_t *ids, int32_t n, int32_t n_total, uint8_t *seen, int32_t *out) {
    int32_t k = 0;
    memset(seen, 0, (size_t)n_total);
    for (int32_t i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < n_total && !seen[ids[i]]) {
            seen[ids[i]] = 1;
            out[k++] = ids[i];
        }
    return k;
}

static kgm_status co_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    contrastive *t = self;
    const kgm_host_api *H = t->H;
    const int32_t *src = t->user_side ? b->user : b->item;
    if (!src) return PU_ERR(H, KGM_ERR_ARG, "the batch has no %s ids", t->user_side ? "user" : "item");
    kgm_kind kind = t->user_side ? KGM_KIND_USER : KGM_KIND_ITEM;
    int32_t total = (int32_t)H->count(ctx, t->user_side ? KGM_COUNT_USERS : KGM_COUNT_ITEMS);
    if (total <= 0) return PU_ERR(H, KGM_ERR_STATE, "no %s to contrast", t->user_side ? "users" : "items");
    uint8_t *seen;
    int32_t *ids, *lab;
    PU_TRY(H->tape_alloc(tp, (size_t)total, (void **)&seen));
    PU_TRY(H->tape_alloc(tp, (size_t)b->n * 2 * sizeof(int32_t), (void **)&ids));
    lab = ids + b->n;
    int32_t n = distinct(src, b->n, total, seen, ids);
    kgm_tensor *e, *v1, *v2, *z1, *z2, *s12, *s21, *l1, *l2, *sum;
    PU_TRY(H->embed(ctx, tp, kind, ids, n, &e));
    if (n < 2) { /* nothing to contrast: a zero loss that still reaches the embedding */
        PU_TRY(H->op_scale(tp, e, 0.0f, 0.0f, &sum));
        return H->op_sum(tp, sum, loss);
    }
    for (int32_t i = 0; i < n; i++) lab[i] = i;
    kgm_rng *r = H->rng(ctx);
    PU_TRY(H->op_dropout(tp, e, (float)t->p, r, &v1));
    PU_TRY(H->op_dropout(tp, e, (float)t->p, r, &v2));
    PU_TRY(H->op_layernorm(tp, v1, NULL, NULL, 1e-5f, &z1));
    PU_TRY(H->op_layernorm(tp, v2, NULL, NULL, 1e-5f, &z2));
    float scale = (float)(1.0 / ((double)e->cols * t->temperature));
    PU_TRY(H->op_matmul(tp, z1, z2, false, true, &s12));
    PU_TRY(H->op_matmul(tp, z2, z1, false, true, &s21));
    PU_TRY(H->op_scale(tp, s12, scale, 0.0f, &s12));
    PU_TRY(H->op_scale(tp, s21, scale, 0.0f, &s21));
    PU_TRY(H->op_softmax_ce(tp, s12, lab, NULL, &l1));
    PU_TRY(H->op_softmax_ce(tp, s21, lab, NULL, &l2));
    PU_TRY(H->op_add(tp, l1, l2, &sum));
    return H->op_scale(tp, sum, 0.5f, 0.0f, loss);
}

/* (n, d) embeddings of the batch's side (the representation being trained). */
static kgm_status co_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    contrastive *t = self;
    const int32_t *src = t->user_side ? b->user : b->item;
    if (!src) return PU_ERR(t->H, KGM_ERR_ARG, "the batch has no %s ids", t->user_side ? "user" : "item");
    return t->H->embed(ctx, tp, t->user_side ? KGM_KIND_USER : KGM_KIND_ITEM, src, b->n, out);
}

static uint64_t xs_next(uint64_t *x) {
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1Dull;
}

/* Perturbed, standardised (z) and L2-normalised (f) copy of row e (d). */
static void view(const float *e, int32_t d, double p, uint64_t *x, float *z, float *f) {
    double mean = 0, var = 0, nrm = 0;
    for (int32_t j = 0; j < d; j++) {
        double u = (double)(xs_next(x) >> 11) / 9007199254740992.0;
        z[j] = u < p ? 0.0f : (float)(e[j] / (1.0 - p));
        mean += z[j];
    }
    mean /= d;
    for (int32_t j = 0; j < d; j++) {
        var += (z[j] - mean) * (z[j] - mean);
        nrm += (double)z[j] * z[j];
    }
    var /= d;
    nrm = sqrt(nrm);
    for (int32_t j = 0; j < d; j++) {
        f[j] = nrm > 1e-12 ? (float)(z[j] / nrm) : 0.0f;
        z[j] = (float)((z[j] - mean) / sqrt(var + 1e-5));
    }
}

static kgm_status co_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    contrastive *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    PU_TRY(H->split_rows(ctx, split, &rows));
    const int32_t *src = t->user_side ? rows.user : rows.item;
    int32_t total = (int32_t)H->count(ctx, t->user_side ? KGM_COUNT_USERS : KGM_COUNT_ITEMS);
    if (rows.n == 0 || !src || total <= 0) return KGM_OK;
    uint8_t *seen = H->alloc((size_t)total);
    int32_t *ids = H->alloc((size_t)rows.n * sizeof(int32_t));
    if (!seen || !ids) {
        H->free(seen);
        H->free(ids);
        return PU_ERR(H, KGM_ERR_NOMEM, "evaluation buffers");
    }
    int32_t n = distinct(src, rows.n, total, seen, ids);
    H->free(seen);
    kgm_status st = KGM_OK;
    double acc = 0, nce = 0, align = 0, unif = 0;
    int64_t counted = 0, unif_chunks = 0;
    uint64_t x = (uint64_t)t->eval_seed * 0x9E3779B97F4A7C15ull + 7;
    for (int32_t s = 0; s < n && !st; s += (int32_t)t->chunk) {
        int32_t c = n - s < t->chunk ? n - s : (int32_t)t->chunk;
        if (c < 2) break; /* a single entity has no negatives */
        kgm_tape_mark mk = H->tape_get_mark(tp);
        kgm_tensor *e;
        st = H->embed(ctx, tp, t->user_side ? KGM_KIND_USER : KGM_KIND_ITEM, ids + s, c, &e);
        float *buf = NULL;
        int32_t d = st ? 0 : e->cols;
        if (!st) st = H->tape_alloc(tp, (size_t)c * d * 4 * sizeof(float), (void **)&buf);
        if (st) break;
        float *z1 = buf, *z2 = z1 + (size_t)c * d, *f1 = z2 + (size_t)c * d, *f2 = f1 + (size_t)c * d;
        for (int32_t i = 0; i < c; i++) {
            view(e->data + (size_t)i * d, d, t->p, &x, z1 + (size_t)i * d, f1 + (size_t)i * d);
            view(e->data + (size_t)i * d, d, t->p, &x, z2 + (size_t)i * d, f2 + (size_t)i * d);
        }
        double u_sum = 0;
        for (int32_t i = 0; i < c; i++) {
            /* similarities of view 1 of i to view 2 of every j */
            double mx = -INFINITY, own = 0, lse = 0;
            bool beaten = false;
            for (int32_t j = 0; j < c; j++) {
                double sij = 0;
                for (int32_t q = 0; q < d; q++) sij += (double)z1[(size_t)i * d + q] * z2[(size_t)j * d + q];
                sij /= (double)d * t->temperature;
                if (j == i) own = sij;
                if (sij > mx) mx = sij;
            }
            for (int32_t j = 0; j < c; j++) {
                double sij = 0;
                for (int32_t q = 0; q < d; q++) sij += (double)z1[(size_t)i * d + q] * z2[(size_t)j * d + q];
                sij /= (double)d * t->temperature;
                lse += exp(sij - mx);
                if (j != i && sij >= own) beaten = true; /* ties count as misses */
            }
            nce += mx + log(lse) - own;
            acc += !beaten;
            double al = 0;
            for (int32_t q = 0; q < d; q++) {
                double df = (double)f1[(size_t)i * d + q] - f2[(size_t)i * d + q];
                al += df * df;
            }
            align += al;
            for (int32_t j = 0; j < c; j++) {
                if (j == i) continue;
                double dd = 0;
                for (int32_t q = 0; q < d; q++) {
                    double df = (double)f1[(size_t)i * d + q] - f1[(size_t)j * d + q];
                    dd += df * df;
                }
                u_sum += exp(-2.0 * dd);
            }
        }
        unif += log(u_sum / ((double)c * (c - 1)));
        unif_chunks++;
        counted += c;
        H->tape_rewind(tp, mk);
    }
    H->free(ids);
    if (st) return st;
    if (counted > 0) {
        m[0] = acc / counted;
        m[1] = nce / counted;
        m[2] = align / counted;
        m[3] = unif / unif_chunks;
    }
    return KGM_OK;
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "contrastive",
    .version = "1.0.0",
    .description = "self-supervised InfoNCE between two feature-dropout views of item or user embeddings",
    .view = KGM_VIEW_IMPLICIT,
    .input = KGM_INPUT_NONE,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 0,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = co_create,
    .declare_params = pu_declare_none,
    .forward_loss = co_forward_loss,
    .predict = co_predict,
    .eval = co_eval,
    .destroy = pu_destroy_simple,
};

PU_EXPORT_PLUGIN(plugin)
