/* kge — knowledge-graph embedding on (head, relation, tail) triples.
 *
 * Entities are the encoder's ENTITY embeddings (host->embed), d columns; the
 * task owns the relation parameters. Scores (higher = more plausible):
 *   transe    -dist(h + r - t)
 *   transr    -dist(h·M_r + r - t·M_r), one (d, rel_dim) matrix per relation
 *   distmult  <h, r, t> = sum(h ⊙ r ⊙ t)
 *   rotate    -dist(h ∘ r - t) on real-valued pairs: the first d/2 columns are
 *             real parts, the last d/2 imaginary parts; r is a unit-modulus
 *             rotation per component, stored as a (cos, sin) pair normalised
 *             by its length (so it is exactly a rotation by the pair's angle)
 *   mkr       MKR's KGE head (Wang et al., WWW 2019): t̂ = σ(MLP([h, r])) with
 *             `layers` dense layers (layers-1 of width 2d, then 2d → d; every
 *             layer ReLU-activated and the last one then squashed by σ, as in
 *             the authors' code, so t̂ ∈ [0.5, 1)^d; query_act sigmoid drops
 *             that last ReLU, linear drops the σ too), the tail through
 *             `tail_layers` dense ReLU layers d → d, score <t̂, t'>; the
 *             probability of a triple is σ(<t̂, t'>). h is what the encoder's
 *             ENTITY embedding gives, i.e. after cross&compress when
 *             encoder.cross_compress > 0 (an item's entity crossed with the
 *             item's vector).
 * where dist is the L1 distance (norm l1) or the squared Euclidean distance
 * (norm l2sq) over the real coordinates. RotatE's paper sums complex moduli;
 * this host has no square-root op, so rotate uses the same l1 / l2sq choice.
 * Training: each triple's tail is corrupted `negatives` times (uniformly over
 * all entities, without filtering, so test triples never influence training);
 * loss margin: mean max(0, margin - s(pos) + s(neg)); loss logistic:
 * mean of BCE(margin + s, 1) over positives and BCE(margin + s, 0) over
 * negatives (distmult and mkr use s as the logit); loss score (MKR's, mkr
 * only): mean of -σ(s) over the true triples, no negatives (the authors'
 * KGE loss), plus `l2`·½·mean(|h|² + |t'|²) over the batch (the authors'
 * L2 on the head and tail vectors; weights are regularised by
 * optimisation.weight_decay). `auto` = logistic for distmult, score for mkr,
 * margin otherwise.
 * Evaluation: tail prediction with FILTERED ranking — for every triple of the
 * split all entities are scored, the other known true tails of (h, r) over
 * all splits are removed, ties count half (rank = 1 + #better + #tied/2):
 * MRR and hits@1/3/10. */
#include <stdlib.h>

#include "pu.h"

enum { TRANSE, TRANSR, DISTMULT, ROTATE, MKR };
enum { LOSS_MARGIN, LOSS_LOGISTIC, LOSS_SCORE };
enum { QA_RELU_SIGMOID, QA_SIGMOID, QA_LINEAR };

#define KGE_MAX_REL_MATS 200
#define KGE_MAX_LAYERS 8

typedef struct kge {
    const kgm_host_api *H;
    int model;
    bool l1;
    int loss, query_act;
    double margin, l2;
    int64_t negatives, rel_dim, layers, tail_layers;
    int32_t d, k, m, R, N; /* entity dim, relation dim, complex components, relations, entities */
    int32_t rel_id;        /* (R, k) translations / (R, d) diagonals / (R*m, 2) rotation pairs */
    int32_t *mat_id;       /* transr: R ids of (d, k) matrices */
    int32_t mlp_w[KGE_MAX_LAYERS], mlp_b[KGE_MAX_LAYERS];   /* mkr: [h, r] -> t̂ */
    int32_t tail_w[KGE_MAX_LAYERS], tail_b[KGE_MAX_LAYERS]; /* mkr: t -> t' */
} kge;

static const kgm_option_spec options[] = {
    {"model", KGM_OPTTYPE_ENUM, "transe", 0, -1, "transe|transr|distmult|rotate|mkr",
     "scoring function (mkr: MKR's MLP tail predictor, sigma(<t_hat, t>))"},
    {"norm", KGM_OPTTYPE_ENUM, "l1", 0, -1, "l1|l2sq", "distance of transe/transr/rotate: L1 or squared L2"},
    {"loss", KGM_OPTTYPE_ENUM, "auto", 0, -1, "auto|margin|logistic|score",
     "margin ranking, logistic, or MKR's -sigma(score) on true triples only (score: mkr only; auto: logistic for "
     "distmult, score for mkr, margin otherwise)"},
    {"margin", KGM_OPTTYPE_FLOAT, "1", 0, 1e4, NULL, "margin of the ranking loss / offset of the logistic loss"},
    {"negatives", KGM_OPTTYPE_INT, "1", 1, 1024, NULL, "corrupted tails per training triple"},
    {"rel_dim", KGM_OPTTYPE_INT, "0", 0, 4096, NULL, "transr relation-space dimension (0: the entity dimension)"},
    {"layers", KGM_OPTTYPE_INT, "1", 1, KGE_MAX_LAYERS, NULL,
     "mkr: dense layers from [h, r] to the predicted tail (the authors' H; 1 for movies)"},
    {"tail_layers", KGM_OPTTYPE_INT, "1", 0, KGE_MAX_LAYERS, NULL,
     "mkr: dense ReLU layers on the tail vector (the authors' tail MLP, one per low layer L; 1 for movies)"},
    {"query_act", KGM_OPTTYPE_ENUM, "relu_sigmoid", 0, -1, "relu_sigmoid|sigmoid|linear",
     "mkr: activation of the last MLP layer (relu_sigmoid: sigma(relu(.)) as in the authors' code, t_hat in "
     "[0.5, 1); sigmoid; linear: no squashing)"},
    {"l2", KGM_OPTTYPE_FLOAT, "1e-6", 0, 1e3, NULL,
     "mkr: weight of 0.5*mean(|h|^2 + |t'|^2) added to the loss (the authors' l2_weight)"},
};

static const kgm_metric_spec metrics[] = {{"mrr", 1}, {"hits@1", 1}, {"hits@3", 1}, {"hits@10", 1}};

static kgm_status kge_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    kge *t = H->calloc(1, sizeof *t);
    if (!t) return PU_ERR(H, KGM_ERR_NOMEM, "kge state");
    t->H = H;
    const char *model, *norm, *loss, *qa;
    kgm_status st = H->opt_string(ctx, "model", &model);
    if (!st) st = H->opt_string(ctx, "query_act", &qa);
    if (!st) st = H->opt_string(ctx, "norm", &norm);
    if (!st) st = H->opt_string(ctx, "loss", &loss);
    if (!st) st = H->opt_float(ctx, "margin", &t->margin);
    if (!st) st = H->opt_int(ctx, "negatives", &t->negatives);
    if (!st) st = H->opt_int(ctx, "rel_dim", &t->rel_dim);
    if (!st) st = H->opt_int(ctx, "layers", &t->layers);
    if (!st) st = H->opt_int(ctx, "tail_layers", &t->tail_layers);
    if (!st) st = H->opt_float(ctx, "l2", &t->l2);
    if (st) {
        H->free(t);
        return st;
    }
    t->model = strcmp(model, "transr") == 0 ? TRANSR
               : strcmp(model, "distmult") == 0 ? DISTMULT
               : strcmp(model, "rotate") == 0 ? ROTATE
               : strcmp(model, "mkr") == 0    ? MKR
                                               : TRANSE;
    t->l1 = strcmp(norm, "l1") == 0;
    t->query_act = strcmp(qa, "sigmoid") == 0 ? QA_SIGMOID : strcmp(qa, "linear") == 0 ? QA_LINEAR : QA_RELU_SIGMOID;
    if (strcmp(loss, "auto") == 0)
        t->loss = t->model == DISTMULT ? LOSS_LOGISTIC : t->model == MKR ? LOSS_SCORE : LOSS_MARGIN;
    else
        t->loss = strcmp(loss, "logistic") == 0 ? LOSS_LOGISTIC : strcmp(loss, "score") == 0 ? LOSS_SCORE : LOSS_MARGIN;
    if (t->loss == LOSS_SCORE && t->model != MKR) {
        H->free(t);
        return PU_ERR(H, KGM_ERR_ARG, "kge loss 'score' is MKR's (-sigma of the true triples' score): use it with model mkr");
    }
    *self = t;
    return KGM_OK;
}

static kgm_status kge_declare(void *self, kgm_task_ctx *ctx) {
    kge *t = self;
    const kgm_host_api *H = t->H;
    t->d = (int32_t)H->count(ctx, KGM_COUNT_DIM);
    t->R = (int32_t)H->count(ctx, KGM_COUNT_RELATIONS);
    t->N = (int32_t)H->count(ctx, KGM_COUNT_ENTITIES);
    if (t->d <= 0 || t->R <= 0 || t->N <= 1)
        return PU_ERR(H, KGM_ERR_STATE, "kge needs entities, relations and an embedding size (d %d, R %d, N %d)", t->d,
                      t->R, t->N);
    kgm_init xav = {KGM_INIT_XAVIER_UNIFORM, 0.0f}, uni = {KGM_INIT_UNIFORM, 1.0f};
    switch (t->model) {
    case TRANSE: return H->param_declare(ctx, "rel", t->R, t->d, xav, 0, &t->rel_id);
    case MKR: {
        kgm_init zero = {KGM_INIT_ZEROS, 0.0f};
        char nm[32];
        int32_t d2 = 2 * t->d;
        PU_TRY(H->param_declare(ctx, "rel", t->R, t->d, xav, 0, &t->rel_id));
        for (int32_t l = 0; l < (int32_t)t->layers; l++) {
            int32_t out = l + 1 < t->layers ? d2 : t->d;
            snprintf(nm, sizeof nm, "mlp.w%d", (int)l);
            PU_TRY(H->param_declare(ctx, nm, d2, out, xav, 0, &t->mlp_w[l]));
            snprintf(nm, sizeof nm, "mlp.b%d", (int)l);
            PU_TRY(H->param_declare(ctx, nm, 1, out, zero, 0, &t->mlp_b[l]));
        }
        for (int32_t l = 0; l < (int32_t)t->tail_layers; l++) {
            snprintf(nm, sizeof nm, "tail.w%d", (int)l);
            PU_TRY(H->param_declare(ctx, nm, t->d, t->d, xav, 0, &t->tail_w[l]));
            snprintf(nm, sizeof nm, "tail.b%d", (int)l);
            PU_TRY(H->param_declare(ctx, nm, 1, t->d, zero, 0, &t->tail_b[l]));
        }
        return KGM_OK;
    }
    case DISTMULT: {
        kgm_init nrm = {KGM_INIT_NORMAL, 0.5f};
        return H->param_declare(ctx, "rel", t->R, t->d, nrm, 0, &t->rel_id);
    }
    case ROTATE:
        if (t->d % 2) return PU_ERR(H, KGM_ERR_ARG, "rotate needs an even embedding size, the encoder gives %d", t->d);
        t->m = t->d / 2;
        return H->param_declare(ctx, "rot", t->R * t->m, 2, uni, 0, &t->rel_id);
    case TRANSR: {
        if (t->R > KGE_MAX_REL_MATS)
            return PU_ERR(H, KGM_ERR_ARG, "transr keeps one matrix per relation; %d relations exceed %d (use transe or "
                          "distmult)", t->R, KGE_MAX_REL_MATS);
        t->k = t->rel_dim > 0 ? (int32_t)t->rel_dim : t->d;
        PU_TRY(H->param_declare(ctx, "rel", t->R, t->k, xav, 0, &t->rel_id));
        t->mat_id = H->calloc((size_t)t->R, sizeof *t->mat_id);
        if (!t->mat_id) return PU_ERR(H, KGM_ERR_NOMEM, "transr matrices");
        for (int32_t r = 0; r < t->R; r++) {
            char nm[32];
            snprintf(nm, sizeof nm, "M.%d", (int)r);
            PU_TRY(H->param_declare(ctx, nm, t->d, t->k, xav, 0, &t->mat_id[r]));
        }
        return KGM_OK;
    }
    }
    return KGM_OK;
}

/* dist (n, 1) of x (n, D): L1 or squared L2 per row. */
static kgm_status dist(kge *t, kgm_tape *tp, kgm_tensor *x, kgm_tensor **out) {
    const kgm_host_api *H = t->H;
    if (!t->l1) return H->op_rowdot(tp, x, x, out);
    kgm_tensor *p, *nx, *n, *a, *ones;
    PU_TRY(H->op_relu(tp, x, &p));
    PU_TRY(H->op_scale(tp, x, -1.0f, 0.0f, &nx));
    PU_TRY(H->op_relu(tp, nx, &n));
    PU_TRY(H->op_add(tp, p, n, &a)); /* |x| */
    PU_TRY(H->tape_tensor(tp, x->cols, 1, false, false, &ones));
    for (int32_t i = 0; i < x->cols; i++) ones->data[i] = 1.0f;
    return H->op_matmul(tp, a, ones, false, false, out);
}

/* (n, m) normalised cos / sin of the rotation pairs of relations r[0..n). */
static kgm_status rotation(kge *t, kgm_task_ctx *ctx, kgm_tape *tp, const int32_t *r, int32_t n, kgm_tensor **c,
                           kgm_tensor **s) {
    const kgm_host_api *H = t->H;
    int32_t m = t->m, nm = n * m;
    int32_t *idx;
    int64_t *off;
    kgm_tensor *e1, *e2, *onehot, *g, *cv, *sv, *tmp;
    PU_TRY(H->tape_alloc(tp, (size_t)nm * sizeof *idx, (void **)&idx));
    PU_TRY(H->tape_alloc(tp, (size_t)(n + 1) * sizeof *off, (void **)&off));
    PU_TRY(H->tape_tensor(tp, nm, 2, true, false, &e1));
    PU_TRY(H->tape_tensor(tp, nm, 2, true, false, &e2));
    PU_TRY(H->tape_tensor(tp, nm, m, true, false, &onehot));
    for (int32_t i = 0; i < n; i++) {
        off[i] = (int64_t)i * m;
        for (int32_t j = 0; j < m; j++) {
            int64_t q = (int64_t)i * m + j;
            idx[q] = r[i] * m + j;
            e1->data[2 * q] = 1.0f;
            e2->data[2 * q + 1] = 1.0f;
            onehot->data[q * m + j] = 1.0f;
        }
    }
    off[n] = nm;
    PU_TRY(H->op_gather(tp, H->param(ctx, t->rel_id), idx, nm, &g)); /* (n*m, 2) */
    PU_TRY(H->op_rowcos(tp, g, e1, 1e-6f, &cv));                      /* (n*m, 1) cos */
    PU_TRY(H->op_rowcos(tp, g, e2, 1e-6f, &sv));                      /* (n*m, 1) sin */
    /* reshape (n*m, 1) -> (n, m): spread into one-hot columns, sum per row */
    PU_TRY(H->op_mul_bcast(tp, onehot, cv, &tmp));
    PU_TRY(H->op_segment_sum(tp, tmp, off, n, c));
    PU_TRY(H->op_mul_bcast(tp, onehot, sv, &tmp));
    return H->op_segment_sum(tp, tmp, off, n, s);
}

/* mkr: predicted tails t̂ (n, d) = σ(MLP([eh, rel[r]])). */
static kgm_status mkr_query(kge *t, kgm_task_ctx *ctx, kgm_tape *tp, kgm_tensor *eh, const int32_t *r, int32_t n,
                            kgm_tensor **q) {
    const kgm_host_api *H = t->H;
    kgm_tensor *rr, *x;
    PU_TRY(H->op_gather(tp, H->param(ctx, t->rel_id), r, n, &rr));
    kgm_tensor *two[2] = {eh, rr};
    PU_TRY(H->op_concat_cols(tp, 2, two, &x));
    for (int32_t l = 0; l < (int32_t)t->layers; l++) {
        PU_TRY(H->op_linear(tp, x, H->param(ctx, t->mlp_w[l]), H->param(ctx, t->mlp_b[l]), &x));
        if (l + 1 < t->layers || t->query_act == QA_RELU_SIGMOID) PU_TRY(H->op_relu(tp, x, &x));
    }
    if (t->query_act == QA_LINEAR) {
        *q = x;
        return KGM_OK;
    }
    return H->op_sigmoid(tp, x, q);
}

/* mkr: tail vectors t' (n, d) through the tail MLP. */
static kgm_status mkr_tail(kge *t, kgm_task_ctx *ctx, kgm_tape *tp, kgm_tensor *et, kgm_tensor **out) {
    const kgm_host_api *H = t->H;
    kgm_tensor *x = et;
    for (int32_t l = 0; l < (int32_t)t->tail_layers; l++) {
        PU_TRY(H->op_linear(tp, x, H->param(ctx, t->tail_w[l]), H->param(ctx, t->tail_b[l]), &x));
        PU_TRY(H->op_relu(tp, x, &x));
    }
    *out = x;
    return KGM_OK;
}

/* Scores (n, 1) of triples (h, r, tl); for transr all r equal `rel`. */
static kgm_status score_rows(kge *t, kgm_task_ctx *ctx, kgm_tape *tp, const int32_t *h, const int32_t *r,
                             const int32_t *tl, int32_t n, int32_t rel, kgm_tensor **s) {
    const kgm_host_api *H = t->H;
    kgm_tensor *eh, *et, *rr, *x, *y, *dd;
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ENTITY, h, n, &eh));
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ENTITY, tl, n, &et));
    switch (t->model) {
    case MKR: {
        kgm_tensor *q, *tt;
        PU_TRY(mkr_query(t, ctx, tp, eh, r, n, &q));
        PU_TRY(mkr_tail(t, ctx, tp, et, &tt));
        return H->op_rowdot(tp, q, tt, s);
    }
    case DISTMULT:
        PU_TRY(H->op_gather(tp, H->param(ctx, t->rel_id), r, n, &rr));
        PU_TRY(H->op_mul(tp, eh, rr, &x));
        return H->op_rowdot(tp, x, et, s);
    case TRANSE:
    case TRANSR:
        if (t->model == TRANSR) {
            kgm_tensor *M = H->param(ctx, t->mat_id[rel]);
            PU_TRY(H->op_matmul(tp, eh, M, false, false, &eh));
            PU_TRY(H->op_matmul(tp, et, M, false, false, &et));
        }
        PU_TRY(H->op_gather(tp, H->param(ctx, t->rel_id), r, n, &rr));
        PU_TRY(H->op_add(tp, eh, rr, &x));
        PU_TRY(H->op_sub(tp, x, et, &y));
        break;
    case ROTATE: {
        kgm_tensor *c, *sn, *hre, *him, *tre, *tim, *a, *b, *re, *im;
        PU_TRY(rotation(t, ctx, tp, r, n, &c, &sn));
        PU_TRY(H->op_slice_cols(tp, eh, 0, t->m, &hre));
        PU_TRY(H->op_slice_cols(tp, eh, t->m, t->m, &him));
        PU_TRY(H->op_slice_cols(tp, et, 0, t->m, &tre));
        PU_TRY(H->op_slice_cols(tp, et, t->m, t->m, &tim));
        PU_TRY(H->op_mul(tp, hre, c, &a));
        PU_TRY(H->op_mul(tp, him, sn, &b));
        PU_TRY(H->op_sub(tp, a, b, &re)); /* Re(h r) */
        PU_TRY(H->op_mul(tp, hre, sn, &a));
        PU_TRY(H->op_mul(tp, him, c, &b));
        PU_TRY(H->op_add(tp, a, b, &im)); /* Im(h r) */
        PU_TRY(H->op_sub(tp, re, tre, &re));
        PU_TRY(H->op_sub(tp, im, tim, &im));
        kgm_tensor *parts[2] = {re, im};
        PU_TRY(H->op_concat_cols(tp, 2, parts, &y));
        break;
    }
    }
    PU_TRY(dist(t, tp, y, &dd));
    return H->op_scale(tp, dd, -1.0f, 0.0f, s);
}

static kgm_status group_loss(kge *t, kgm_task_ctx *ctx, kgm_tape *tp, const int32_t *h, const int32_t *r,
                             const int32_t *tp_, const int32_t *tn, int32_t n, int32_t rel, kgm_tensor **loss) {
    const kgm_host_api *H = t->H;
    kgm_tensor *sp, *sn;
    PU_TRY(score_rows(t, ctx, tp, h, r, tp_, n, rel, &sp));
    PU_TRY(score_rows(t, ctx, tp, h, r, tn, n, rel, &sn));
    if (t->loss == LOSS_MARGIN) return H->op_margin_ranking(tp, sp, sn, (float)t->margin, loss);
    float off = t->model == DISTMULT || t->model == MKR ? 0.0f : (float)t->margin;
    float *ones, *zeros;
    PU_TRY(H->tape_alloc(tp, (size_t)n * sizeof(float), (void **)&ones));
    PU_TRY(H->tape_alloc(tp, (size_t)n * sizeof(float), (void **)&zeros));
    for (int32_t i = 0; i < n; i++) {
        ones[i] = 1.0f;
        zeros[i] = 0.0f;
    }
    kgm_tensor *zp, *zn, *lp, *ln, *sum;
    PU_TRY(H->op_scale(tp, sp, 1.0f, off, &zp));
    PU_TRY(H->op_scale(tp, sn, 1.0f, off, &zn));
    PU_TRY(H->op_bce_logits(tp, zp, ones, NULL, &lp));
    PU_TRY(H->op_bce_logits(tp, zn, zeros, NULL, &ln));
    PU_TRY(H->op_add(tp, lp, ln, &sum));
    return H->op_scale(tp, sum, 0.5f, 0.0f, loss);
}

/* mkr: the base loss (score: mean -σ(s) over the true triples; logistic /
 * margin: against `negatives` uniformly corrupted tails per triple) plus the
 * authors' L2 on the batch's head and tail vectors. */
static kgm_status mkr_loss(kge *t, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    const kgm_host_api *H = t->H;
    int32_t n = b->n;
    for (int32_t i = 0; i < n; i++)
        if (b->rel[i] < 0 || b->rel[i] >= t->R)
            return PU_ERR(H, KGM_ERR_INDEX, "relation %d outside [0, %d)", b->rel[i], t->R);
    kgm_tensor *eh, *et, *q, *tt, *sp, *base;
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ENTITY, b->head, n, &eh));
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ENTITY, b->tail, n, &et));
    PU_TRY(mkr_query(t, ctx, tp, eh, b->rel, n, &q));
    PU_TRY(mkr_tail(t, ctx, tp, et, &tt));
    PU_TRY(H->op_rowdot(tp, q, tt, &sp));
    if (t->loss == LOSS_SCORE) {
        kgm_tensor *p, *m;
        PU_TRY(H->op_sigmoid(tp, sp, &p));
        PU_TRY(H->op_mean(tp, p, &m));
        PU_TRY(H->op_scale(tp, m, -1.0f, 0.0f, &base));
    } else {
        int32_t k = (int32_t)t->negatives, nk = n * k;
        int32_t *ih, *tn;
        PU_TRY(H->tape_alloc(tp, (size_t)nk * 2 * sizeof(int32_t), (void **)&ih));
        tn = ih + nk;
        kgm_rng *rng = H->rng(ctx);
        for (int32_t i = 0, x = 0; i < n; i++)
            for (int32_t j = 0; j < k; j++, x++) {
                ih[x] = i;
                tn[x] = (int32_t)H->rng_below(rng, (uint64_t)t->N);
            }
        kgm_tensor *en, *tnv, *qr, *spr, *sn;
        PU_TRY(H->embed(ctx, tp, KGM_KIND_ENTITY, tn, nk, &en));
        PU_TRY(mkr_tail(t, ctx, tp, en, &tnv));
        PU_TRY(H->op_gather(tp, q, ih, nk, &qr)); /* each query once per negative */
        PU_TRY(H->op_rowdot(tp, qr, tnv, &sn));
        PU_TRY(H->op_gather(tp, sp, ih, nk, &spr));
        if (t->loss == LOSS_MARGIN) {
            PU_TRY(H->op_margin_ranking(tp, spr, sn, (float)t->margin, &base));
        } else {
            float *ones, *zeros;
            PU_TRY(H->tape_alloc(tp, (size_t)nk * 2 * sizeof(float), (void **)&ones));
            zeros = ones + nk;
            for (int32_t i = 0; i < nk; i++) {
                ones[i] = 1.0f;
                zeros[i] = 0.0f;
            }
            kgm_tensor *lp, *ln, *sum;
            PU_TRY(H->op_bce_logits(tp, spr, ones, NULL, &lp));
            PU_TRY(H->op_bce_logits(tp, sn, zeros, NULL, &ln));
            PU_TRY(H->op_add(tp, lp, ln, &sum));
            PU_TRY(H->op_scale(tp, sum, 0.5f, 0.0f, &base));
        }
    }
    if (t->l2 <= 0) {
        *loss = base;
        return KGM_OK;
    }
    kgm_tensor *hh, *ttn, *sq, *m, *reg;
    PU_TRY(H->op_rowdot(tp, eh, eh, &hh));
    PU_TRY(H->op_rowdot(tp, tt, tt, &ttn));
    PU_TRY(H->op_add(tp, hh, ttn, &sq));
    PU_TRY(H->op_mean(tp, sq, &m));
    PU_TRY(H->op_scale(tp, m, (float)(0.5 * t->l2), 0.0f, &reg));
    return H->op_add(tp, base, reg, loss);
}

static kgm_status kge_forward_loss(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    kge *t = self;
    const kgm_host_api *H = t->H;
    if (!b->head || !b->rel || !b->tail) return PU_ERR(H, KGM_ERR_ARG, "the batch has no triples");
    if (t->model == MKR) return mkr_loss(t, ctx, tp, b, loss);
    int32_t k = (int32_t)t->negatives, n = b->n * k;
    int32_t *h, *r, *tp_, *tn;
    PU_TRY(H->tape_alloc(tp, (size_t)n * 4 * sizeof(int32_t), (void **)&h));
    r = h + n;
    tp_ = r + n;
    tn = tp_ + n;
    kgm_rng *rng = H->rng(ctx);
    for (int32_t i = 0, q = 0; i < b->n; i++)
        for (int32_t j = 0; j < k; j++, q++) {
            if (b->rel[i] < 0 || b->rel[i] >= t->R)
                return PU_ERR(H, KGM_ERR_INDEX, "relation %d outside [0, %d)", b->rel[i], t->R);
            h[q] = b->head[i];
            r[q] = b->rel[i];
            tp_[q] = b->tail[i];
            tn[q] = (int32_t)H->rng_below(rng, (uint64_t)t->N);
        }
    if (t->model != TRANSR) return group_loss(t, ctx, tp, h, r, tp_, tn, n, -1, loss);
    /* transr: one group per relation (each has its own matrix), weighted by size */
    int32_t *order, *cnt;
    PU_TRY(H->tape_alloc(tp, (size_t)n * 4 * sizeof(int32_t), (void **)&order));
    PU_TRY(H->tape_alloc(tp, (size_t)(t->R + 1) * sizeof(int32_t), (void **)&cnt));
    memset(cnt, 0, (size_t)(t->R + 1) * sizeof(int32_t));
    for (int32_t q = 0; q < n; q++) cnt[r[q] + 1]++;
    for (int32_t g = 0; g < t->R; g++) cnt[g + 1] += cnt[g];
    int32_t *gh = order, *gr = order + n, *gp = order + 2 * n, *gn = order + 3 * n;
    for (int32_t q = 0; q < n; q++) {
        int32_t at = cnt[r[q]]++;
        gh[at] = h[q];
        gr[at] = r[q];
        gp[at] = tp_[q];
        gn[at] = tn[q];
    }
    kgm_tensor *total = NULL;
    for (int32_t s = 0; s < n;) {
        int32_t e = s;
        while (e < n && gr[e] == gr[s]) e++;
        kgm_tensor *lg;
        PU_TRY(group_loss(t, ctx, tp, gh + s, gr + s, gp + s, gn + s, e - s, gr[s], &lg));
        PU_TRY(H->op_scale(tp, lg, (float)(e - s) / (float)n, 0.0f, &lg));
        if (total)
            PU_TRY(H->op_add(tp, total, lg, &total));
        else
            total = lg;
        s = e;
    }
    *loss = total;
    return KGM_OK;
}

/* ---- plain-C scoring for evaluation (no gradients) ------------------------------ */

/* Query vector q (D') of (h, r) and, for transr, the projection of all
 * candidates; see the header comment for the formulas. */
static float pair_dist(const kge *t, const float *q, const float *c, int32_t D) {
    double acc = 0;
    for (int32_t j = 0; j < D; j++) {
        double x = (double)q[j] - c[j];
        acc += t->l1 ? fabs(x) : x * x;
    }
    return (float)acc;
}

static void make_query(const kge *t, kgm_task_ctx *ctx, const float *eh, int32_t r, float *q) {
    const kgm_host_api *H = t->H;
    const float *rel = H->param(ctx, t->rel_id)->data;
    int32_t d = t->d;
    switch (t->model) {
    case TRANSE:
    case DISTMULT:
        for (int32_t j = 0; j < d; j++) q[j] = t->model == TRANSE ? eh[j] + rel[(size_t)r * d + j] : eh[j] * rel[(size_t)r * d + j];
        break;
    case TRANSR: {
        const float *M = H->param(ctx, t->mat_id[r])->data;
        for (int32_t c = 0; c < t->k; c++) {
            double acc = rel[(size_t)r * t->k + c];
            for (int32_t j = 0; j < d; j++) acc += (double)eh[j] * M[(size_t)j * t->k + c];
            q[c] = (float)acc;
        }
        break;
    }
    case ROTATE:
        for (int32_t j = 0; j < t->m; j++) {
            const float *p = rel + ((size_t)r * t->m + j) * 2;
            double len = sqrt((double)p[0] * p[0] + (double)p[1] * p[1]);
            double c = len < 1e-6 ? 0 : p[0] / len, s = len < 1e-6 ? 0 : p[1] / len;
            q[j] = (float)(eh[j] * c - eh[t->m + j] * s);
            q[t->m + j] = (float)(eh[j] * s + eh[t->m + j] * c);
        }
        break;
    }
}

/* Scores of all N candidates C (N, D') for query q. */
static void score_all(const kge *t, const float *q, const float *C, int32_t N, int32_t D, float *out) {
    for (int32_t e = 0; e < N; e++) {
        const float *c = C + (size_t)e * D;
        if (t->model == DISTMULT || t->model == MKR) {
            double acc = 0;
            for (int32_t j = 0; j < D; j++) acc += (double)q[j] * c[j];
            out[e] = (float)acc;
        } else {
            out[e] = -pair_dist(t, q, c, D);
        }
    }
}

/* Candidates for relation r: the entity table, or its transr projection. */
static kgm_status candidates(kge *t, kgm_task_ctx *ctx, kgm_tape *tp, kgm_tensor *E, int32_t r, const float **C,
                             int32_t *D) {
    if (t->model != TRANSR) {
        *C = E->data;
        *D = E->cols;
        return KGM_OK;
    }
    kgm_tensor *P;
    PU_TRY(t->H->op_matmul(tp, E, t->H->param(ctx, t->mat_id[r]), false, false, &P));
    *C = P->data;
    *D = P->cols;
    return KGM_OK;
}

/* (n, 1) scores of the batch's triples. */
static kgm_status kge_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    kge *t = self;
    const kgm_host_api *H = t->H;
    kgm_tensor *eh, *et, *o;
    for (int32_t i = 0; i < b->n; i++)
        if (b->rel[i] < 0 || b->rel[i] >= t->R) return PU_ERR(H, KGM_ERR_INDEX, "relation %d outside [0, %d)", b->rel[i], t->R);
    if (t->model == MKR) { /* the probability σ(<t̂, t'>) */
        kgm_tensor *s;
        PU_TRY(score_rows(t, ctx, tp, b->head, b->rel, b->tail, b->n, -1, &s));
        return H->op_sigmoid(tp, s, out);
    }
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ENTITY, b->head, b->n, &eh));
    PU_TRY(H->embed(ctx, tp, KGM_KIND_ENTITY, b->tail, b->n, &et));
    PU_TRY(H->tape_tensor(tp, b->n, 1, false, false, &o));
    float *q, *pt;
    PU_TRY(H->tape_alloc(tp, (size_t)(t->d + (t->k > t->d ? t->k : t->d)) * 2 * sizeof(float), (void **)&q));
    pt = q + (t->k > t->d ? t->k : t->d);
    for (int32_t i = 0; i < b->n; i++) {
        int32_t r = b->rel[i], D = t->d;
        if (r < 0 || r >= t->R) return PU_ERR(H, KGM_ERR_INDEX, "relation %d outside [0, %d)", r, t->R);
        make_query(t, ctx, eh->data + (size_t)i * t->d, r, q);
        const float *c = et->data + (size_t)i * t->d;
        if (t->model == TRANSR) {
            const float *M = H->param(ctx, t->mat_id[r])->data;
            for (int32_t cc = 0; cc < t->k; cc++) {
                double acc = 0;
                for (int32_t j = 0; j < t->d; j++) acc += (double)c[j] * M[(size_t)j * t->k + cc];
                pt[cc] = (float)acc;
            }
            c = pt;
            D = t->k;
        }
        score_all(t, q, c, 1, D, &o->data[i]);
    }
    *out = o;
    return KGM_OK;
}

static int cmp_by_rel(const void *a, const void *b, void *ctx) {
    const int32_t *rel = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return rel[x] != rel[y] ? (rel[x] < rel[y] ? -1 : 1) : (x < y ? -1 : x > y);
}

static kgm_status kge_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    kge *t = self;
    const kgm_host_api *H = t->H;
    kgm_batch rows;
    PU_TRY(H->split_rows(ctx, split, &rows));
    if (rows.n == 0) return KGM_OK;
    kgm_tape_mark m0 = H->tape_get_mark(tp);
    kgm_tensor *E;
    PU_TRY(H->embed_all(ctx, tp, KGM_KIND_ENTITY, &E));
    if (E->rows != t->N) return PU_ERR(H, KGM_ERR_SHAPE, "embed_all(ENTITY) has %d rows, expected %d", E->rows, t->N);
    int32_t maxD = t->k > t->d ? t->k : t->d;
    float *scores = H->alloc((size_t)t->N * sizeof(float));
    float *q = H->alloc((size_t)maxD * sizeof(float));
    int32_t *order = H->alloc((size_t)rows.n * sizeof(int32_t));
    if (!scores || !q || !order) {
        H->free(scores);
        H->free(q);
        H->free(order);
        return PU_ERR(H, KGM_ERR_NOMEM, "evaluation buffers");
    }
    /* Queries sorted by relation so that transr projects the candidates once per relation. */
    for (int32_t i = 0; i < rows.n; i++) order[i] = i;
    for (int32_t i = 1; i < rows.n; i++) { /* insertion sort keeps this dependency-free and stable */
        int32_t x = order[i], j = i - 1;
        while (j >= 0 && cmp_by_rel(&order[j], &x, (void *)rows.rel) > 0) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = x;
    }
    double sum_rr = 0;
    int64_t h1 = 0, h3 = 0, h10 = 0;
    kgm_status st = KGM_OK;
    int32_t cur_r = -1, D = 0;
    const float *C = NULL;
    kgm_tensor *Q = NULL; /* mkr: the predicted tails of every query row, computed once */
    if (t->model == MKR) {
        kgm_tensor *EH, *CT;
        for (int32_t i = 0; i < rows.n && !st; i++)
            if (rows.rel[i] < 0 || rows.rel[i] >= t->R || rows.head[i] < 0 || rows.head[i] >= t->N)
                st = PU_ERR(H, KGM_ERR_INDEX, "triple (%d, %d, %d) outside %d entities / %d relations", rows.head[i],
                            rows.rel[i], rows.tail[i], t->N, t->R);
        if (!st) st = H->op_gather(tp, E, rows.head, rows.n, &EH);
        if (!st) st = mkr_query(t, ctx, tp, EH, rows.rel, rows.n, &Q);
        if (!st) st = mkr_tail(t, ctx, tp, E, &CT);
        if (!st) {
            C = CT->data;
            D = CT->cols;
            cur_r = -2; /* the candidates do not depend on the relation */
        }
    }
    kgm_tape_mark mr = H->tape_get_mark(tp);
    for (int32_t qi = 0; qi < rows.n && !st; qi++) {
        int32_t i = order[qi], h = rows.head[i], r = rows.rel[i], tl = rows.tail[i];
        if (r < 0 || r >= t->R || h < 0 || h >= t->N || tl < 0 || tl >= t->N) {
            st = PU_ERR(H, KGM_ERR_INDEX, "triple (%d, %d, %d) outside %d entities / %d relations", h, r, tl, t->N, t->R);
            break;
        }
        if (r != cur_r && cur_r != -2) {
            H->tape_rewind(tp, mr);
            st = candidates(t, ctx, tp, E, r, &C, &D);
            if (st) break;
            cur_r = r;
        }
        if (Q)
            memcpy(q, Q->data + (size_t)i * t->d, (size_t)t->d * sizeof(float));
        else
            make_query(t, ctx, E->data + (size_t)h * t->d, r, q);
        score_all(t, q, C, t->N, D, scores);
        const int32_t *filt;
        int32_t nf;
        st = H->kg_true_tails(ctx, h, r, &filt, &nf);
        double rank = 0;
        if (!st) st = H->metrics->filtered_rank(scores, t->N, tl, filt, nf, &rank);
        if (st) break;
        sum_rr += 1.0 / rank;
        h1 += rank <= 1.0;
        h3 += rank <= 3.0;
        h10 += rank <= 10.0;
    }
    H->tape_rewind(tp, m0);
    H->free(scores);
    H->free(q);
    H->free(order);
    if (st) return st;
    m[0] = sum_rr / rows.n;
    m[1] = (double)h1 / rows.n;
    m[2] = (double)h3 / rows.n;
    m[3] = (double)h10 / rows.n;
    return KGM_OK;
}

static void kge_destroy(void *self) {
    kge *t = self;
    t->H->free(t->mat_id);
    t->H->free(t);
}

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = KGM_ABI_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = "kge",
    .version = "1.0.0",
    .description = "KG embedding (TransE, TransR, DistMult, RotatE, MKR's MLP head): corrupted-tail training; filtered MRR, "
                   "hits@1/3/10",
    .view = KGM_VIEW_KG,
    .input = KGM_INPUT_NONE,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .select_metric = 0,
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_metrics = sizeof metrics / sizeof metrics[0],
    .metrics = metrics,
    .create = kge_create,
    .declare_params = kge_declare,
    .forward_loss = kge_forward_loss,
    .predict = kge_predict,
    .eval = kge_eval,
    .destroy = kge_destroy,
};

PU_EXPORT_PLUGIN(plugin)
