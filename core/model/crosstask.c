/* Cross-task components: cross-stitch, MKR cross&compress, consistency
 * penalties, task fusion, AITM connections (see core/model/crosstask.h). */
#include "core/model/crosstask.h"

#include <omp.h>
#include <stdio.h>

#include "core/tensor/ops_internal.h"

/* Declare "<prefix>/<name>"; an over-long name is an argument error rather
 * than a silently truncated (and possibly colliding) one. */
static kgm_status decl(kgm_params *ps, const char *prefix, const char *name, int32_t r, int32_t c,
                       kgm_init_kind ik, int32_t group, int32_t *id) {
    char nm[KGM_PARAM_NAME_MAX];
    int len = snprintf(nm, sizeof nm, "%s/%s", prefix ? prefix : "", name);
    if (len < 0 || (size_t)len >= sizeof nm)
        return KGM_ERR(KGM_ERR_ARG, "parameter name '%s/%s' is longer than %d characters", prefix, name,
                       KGM_PARAM_NAME_MAX - 1);
    return kgm_params_declare(ps, nm, r, c, (kgm_init){ik, 0}, 0, group, id);
}

#define P(id) kgm_params_tensor(ps, (id))

/* Index of `s` in names[0..n), or an argument error listing the choices. */
static kgm_status parse_choice(const char *s, const char *const *names, int n, const char *what, int *out) {
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = i;
            return KGM_OK;
        }
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? (i == n - 1 ? " or " : ", ") : "", names[i]);
    }
    return KGM_ERR(KGM_ERR_ARG, "unknown %s '%s' (expected %s)", what, s ? s : "(null)", list);
}

/* ==== 1. cross-stitch ======================================================== */

typedef struct {
    int n, H;
    bool per_channel;
    kgm_tensor *alpha;
    kgm_tensor **acts;
} xs_saved;

/* One record per output k; each accumulates into every act and row k of α. */
static void cross_stitch_bw(kgm_tape *tp, kgm_node *nd) {
    const xs_saved *s = nd->saved;
    int k = (int)nd->iarg[0], n = s->n, H = s->H;
    const kgm_tensor *y = nd->out;
    int B = y->rows;
    const float *dy = y->grad;
    int acols = s->per_channel ? n * H : n;
    const float *arow = s->alpha->data + (size_t)k * acols;
    float *garow = s->alpha->grad ? s->alpha->grad + (size_t)k * acols : NULL;
    for (int j = 0; j < n; j++) {
        kgm_tensor *a = s->acts[j];
        if (a->grad) {
#pragma omp parallel for schedule(static) if ((int64_t)B * H > KGM_PAR_MIN)
            for (int b = 0; b < B; b++)
                for (int h = 0; h < H; h++)
                    a->grad[(size_t)b * H + h] += (s->per_channel ? arow[j * H + h] : arow[j]) * dy[(size_t)b * H + h];
        }
        if (!garow) continue;
        if (s->per_channel) {
            /* one column per iteration: deterministic for any thread count */
#pragma omp parallel for schedule(static) if ((int64_t)B * H > KGM_PAR_MIN)
            for (int h = 0; h < H; h++) {
                double acc = 0;
                for (int b = 0; b < B; b++) acc += (double)a->data[(size_t)b * H + h] * dy[(size_t)b * H + h];
                garow[j * H + h] += (float)acc;
            }
        } else {
            double acc = 0;
            for (int64_t i = 0; i < (int64_t)B * H; i++) acc += (double)a->data[i] * dy[i];
            garow[j] += (float)acc;
        }
    }
    (void)tp;
}

kgm_status kgm_op_cross_stitch(kgm_tape *tp, int n, kgm_tensor *const *acts, kgm_tensor *alpha, kgm_tensor **out) {
    if (n < 1) return KGM_ERR(KGM_ERR_ARG, "cross_stitch: need at least one activation");
    KGM_CHECK_NOT_NULL(alpha, "cross_stitch");
    for (int j = 0; j < n; j++) {
        KGM_CHECK_NOT_NULL(acts[j], "cross_stitch");
        KGM_CHECK_SAME_SHAPE(acts[j], acts[0], "cross_stitch");
    }
    int B = acts[0]->rows, H = acts[0]->cols;
    bool per_channel;
    if (alpha->rows == n && alpha->cols == n) per_channel = false;
    else if (alpha->rows == n && alpha->cols == n * H) per_channel = true;
    else
        return KGM_ERR(KGM_ERR_SHAPE, "cross_stitch: alpha must be (%d, %d) or (%d, %d), found (%d, %d)", n, n, n,
                       n * H, alpha->rows, alpha->cols);
    /* needs-grad over acts and alpha; acts may be more than the 4 record slots */
    bool g = kgm_tape_needs_grad(tp, acts, n) || kgm_tape_needs_grad(tp, &alpha, 1);
    /* own copy of the inputs: `out` may be the `acts` array (in-place update) */
    xs_saved *s;
    KGM_TRY(kgm_tape_alloc(tp, sizeof *s + (size_t)(n + 1) * sizeof(kgm_tensor *), (void **)&s));
    s->n = n;
    s->H = H;
    s->per_channel = per_channel;
    s->alpha = alpha;
    s->acts = (kgm_tensor **)(s + 1);
    for (int j = 0; j < n; j++) s->acts[j] = acts[j];
    s->acts[n] = alpha; /* record inputs: acts then alpha */
    kgm_tensor *const *in = s->acts;
    int acols = per_channel ? n * H : n;
    for (int k = 0; k < n; k++) {
        KGM_TRY(kgm_tape_tensor(tp, B, H, false, g, &out[k]));
        const float *arow = alpha->data + (size_t)k * acols;
        float *y = out[k]->data;
#pragma omp parallel for schedule(static) if ((int64_t)B * H * n > KGM_PAR_MIN)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                float acc = 0;
                for (int j = 0; j < n; j++)
                    acc += (per_channel ? arow[j * H + h] : arow[j]) * in[j]->data[(size_t)b * H + h];
                y[(size_t)b * H + h] = acc;
            }
    }
    if (g)
        for (int k = 0; k < n; k++) {
            kgm_node *nd;
            KGM_TRY(kgm_tape_record(tp, cross_stitch_bw, out[k], s->acts, n + 1, false, &nd));
            nd->saved = s;
            nd->iarg[0] = k;
        }
    return KGM_OK;
}

static float xs_alpha0(const kgm_cross_stitch *cs, int k, int j) {
    if (cs->n_tasks == 1) return 1.0f;
    return k == j ? cs->self_weight : (1.0f - cs->self_weight) / (float)(cs->n_tasks - 1);
}

kgm_status kgm_cross_stitch_declare(kgm_cross_stitch *cs, const char *prefix, int32_t n_tasks, int32_t dim,
                                    bool per_channel, float self_weight, kgm_params *ps, int32_t group) {
    if (n_tasks < 1 || n_tasks > KGM_MAX_TASKS)
        return KGM_ERR(KGM_ERR_ARG, "cross_stitch: %d tasks outside [1, %d]", n_tasks, KGM_MAX_TASKS);
    if (dim < 1) return KGM_ERR(KGM_ERR_ARG, "cross_stitch: width must be >= 1, found %d", dim);
    if (!(self_weight > 0.0f && self_weight <= 1.0f))
        return KGM_ERR(KGM_ERR_ARG, "cross_stitch: self_weight %g outside (0, 1]", (double)self_weight);
    cs->n_tasks = n_tasks;
    cs->dim = dim;
    cs->per_channel = per_channel;
    cs->self_weight = self_weight;
    return decl(ps, prefix, "alpha_delta", n_tasks, per_channel ? n_tasks * dim : n_tasks, KGM_INIT_ZEROS, group,
                &cs->alpha_delta);
}

kgm_status kgm_cross_stitch_forward(const kgm_cross_stitch *cs, kgm_tape *tp, kgm_params *ps,
                                    kgm_tensor *const *acts, kgm_tensor **out) {
    int T = cs->n_tasks, H = cs->dim, C = cs->per_channel ? T * H : T;
    for (int k = 0; k < T; k++) {
        KGM_CHECK_NOT_NULL(acts[k], "cross_stitch");
        if (acts[k]->cols != H)
            return KGM_ERR(KGM_ERR_SHAPE, "cross_stitch: task %d's activation has %d columns, the unit was built for %d",
                           k, acts[k]->cols, H);
    }
    kgm_tensor *a0, *alpha;
    KGM_TRY(kgm_tape_tensor(tp, T, C, false, false, &a0));
    for (int k = 0; k < T; k++)
        for (int c = 0; c < C; c++) a0->data[(size_t)k * C + c] = xs_alpha0(cs, k, cs->per_channel ? c / H : c);
    KGM_TRY(kgm_op_add(tp, P(cs->alpha_delta), a0, &alpha));
    return kgm_op_cross_stitch(tp, T, acts, alpha, out);
}

void kgm_cross_stitch_alpha(const kgm_cross_stitch *cs, kgm_params *ps, float *alpha_out) {
    int T = cs->n_tasks, H = cs->dim, C = cs->per_channel ? T * H : T;
    const float *d = P(cs->alpha_delta)->data;
    for (int k = 0; k < T; k++)
        for (int c = 0; c < C; c++)
            alpha_out[(size_t)k * C + c] = xs_alpha0(cs, k, cs->per_channel ? c / H : c) + d[(size_t)k * C + c];
}

/* ==== 2. MKR cross&compress ================================================== */

/* Both outputs have the form out = v·sA + e·sB + bias with per-row scalars
 * sA = e·wA and sB = v·wB: (wA, wB) = (w_vv, w_ev) for v', (w_ve, w_ee) for e'.
 * One backward serves both records. */
typedef struct {
    kgm_tensor *bias; /* (1,d) or NULL */
    float *sA, *sB;   /* (B) per-row scalars from the forward pass */
    float *gA, *gB;   /* (B) scratch: v·G and e·G */
} cc_saved;

/* acc[h] += Σ_b coef[b] · m[b, h], column-split across threads (deterministic). */
static void weighted_colsum_acc(const float *coef, const float *m, int32_t B, int32_t d, float *acc) {
#pragma omp parallel if ((int64_t)B * d > KGM_PAR_MIN)
    {
        int32_t c0, c1;
        kgm_col_range(d, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
        for (int32_t b = 0; b < B; b++) {
            const float *r = m + (size_t)b * d;
            for (int32_t h = c0; h < c1; h++) acc[h] += coef[b] * r[h];
        }
    }
}

static inline float dotf(const float *x, const float *y, int32_t d) {
    double acc = 0;
    for (int32_t h = 0; h < d; h++) acc += (double)x[h] * y[h];
    return (float)acc;
}

static void cross_compress_bw(kgm_tape *tp, kgm_node *nd) {
    kgm_tensor *v = nd->in[0], *e = nd->in[1], *wA = nd->in[2], *wB = nd->in[3], *y = nd->out;
    cc_saved *s = nd->saved;
    int32_t B = y->rows, d = y->cols;
    const float *G = y->grad;
#pragma omp parallel for schedule(static) if ((int64_t)B * d > KGM_PAR_MIN)
    for (int32_t b = 0; b < B; b++) {
        const float *vb = v->data + (size_t)b * d, *eb = e->data + (size_t)b * d, *gb = G + (size_t)b * d;
        float gA = dotf(vb, gb, d), gB = dotf(eb, gb, d); /* d out/d sA, d out/d sB */
        s->gA[b] = gA;
        s->gB[b] = gB;
        if (v->grad) {
            float *dv = v->grad + (size_t)b * d;
            for (int32_t h = 0; h < d; h++) dv[h] += s->sA[b] * gb[h] + gB * wB->data[h];
        }
        if (e->grad) {
            float *de = e->grad + (size_t)b * d;
            for (int32_t h = 0; h < d; h++) de[h] += s->sB[b] * gb[h] + gA * wA->data[h];
        }
    }
    if (wA->grad) weighted_colsum_acc(s->gA, e->data, B, d, wA->grad); /* sA = e·wA */
    if (wB->grad) weighted_colsum_acc(s->gB, v->data, B, d, wB->grad); /* sB = v·wB */
    if (s->bias && s->bias->grad) kgm_colsum_acc(G, B, d, s->bias->grad);
    (void)tp;
}

static kgm_status cc_vec(const kgm_tensor *w, int32_t d, const char *what) {
    if (!w) return KGM_ERR(KGM_ERR_ARG, "cross_compress: %s is NULL", what);
    if (w->rows != d || w->cols != 1)
        return KGM_ERR(KGM_ERR_SHAPE, "cross_compress: %s must be (%d, 1), found (%d, %d)", what, d, w->rows, w->cols);
    return KGM_OK;
}

kgm_status kgm_op_cross_compress(kgm_tape *tp, kgm_tensor *v, kgm_tensor *e, kgm_tensor *const *w, kgm_tensor *b_v,
                                 kgm_tensor *b_e, kgm_tensor **v_out, kgm_tensor **e_out) {
    KGM_CHECK_NOT_NULL(v, "cross_compress");
    KGM_CHECK_NOT_NULL(e, "cross_compress");
    KGM_CHECK_SAME_SHAPE(v, e, "cross_compress");
    if (!w) return KGM_ERR(KGM_ERR_ARG, "cross_compress: weight array is NULL");
    int32_t B = v->rows, d = v->cols;
    static const char *wn[4] = {"w_vv", "w_ev", "w_ve", "w_ee"};
    for (int m = 0; m < 4; m++) KGM_TRY(cc_vec(w[m], d, wn[m]));
    kgm_tensor *bs[2] = {b_v, b_e};
    for (int o = 0; o < 2; o++)
        if (bs[o] && (bs[o]->rows != 1 || bs[o]->cols != d))
            return KGM_ERR(KGM_ERR_SHAPE, "cross_compress: %s must be (1, %d), found (%d, %d)", o ? "b_e" : "b_v", d,
                           bs[o]->rows, bs[o]->cols);
    kgm_tensor *all[8] = {v, e, w[0], w[1], w[2], w[3], b_v, b_e};
    bool g = kgm_tape_needs_grad(tp, all, 8);
    /* per-row scalars: s[m] = (e or v)·w[m]; VV and VE read e, EV and EE read v */
    float *sc;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(B ? B : 1) * 4 * sizeof(float), (void **)&sc));
    float *s_vv = sc, *s_ev = sc + B, *s_ve = sc + 2 * (size_t)B, *s_ee = sc + 3 * (size_t)B;
#pragma omp parallel for schedule(static) if ((int64_t)B * d * 4 > KGM_PAR_MIN)
    for (int32_t b = 0; b < B; b++) {
        const float *vb = v->data + (size_t)b * d, *eb = e->data + (size_t)b * d;
        s_vv[b] = dotf(eb, w[KGM_CC_VV]->data, d);
        s_ev[b] = dotf(vb, w[KGM_CC_EV]->data, d);
        s_ve[b] = dotf(eb, w[KGM_CC_VE]->data, d);
        s_ee[b] = dotf(vb, w[KGM_CC_EE]->data, d);
    }
    kgm_tensor **outs[2] = {v_out, e_out};
    const float *sA[2] = {s_vv, s_ve}, *sB[2] = {s_ev, s_ee};
    for (int o = 0; o < 2; o++) {
        KGM_TRY(kgm_tape_tensor(tp, B, d, false, g, outs[o]));
        float *y = (*outs[o])->data;
        const float *bias = bs[o] ? bs[o]->data : NULL;
#pragma omp parallel for schedule(static) if ((int64_t)B * d > KGM_PAR_MIN)
        for (int32_t b = 0; b < B; b++) {
            const float *vb = v->data + (size_t)b * d, *eb = e->data + (size_t)b * d;
            for (int32_t h = 0; h < d; h++)
                y[(size_t)b * d + h] = vb[h] * sA[o][b] + eb[h] * sB[o][b] + (bias ? bias[h] : 0.0f);
        }
    }
    if (!g) return KGM_OK;
    kgm_tensor *wA[2] = {w[KGM_CC_VV], w[KGM_CC_VE]}, *wB[2] = {w[KGM_CC_EV], w[KGM_CC_EE]};
    for (int o = 0; o < 2; o++) {
        cc_saved *s;
        KGM_TRY(kgm_tape_alloc(tp, sizeof *s + (size_t)(B ? B : 1) * 2 * sizeof(float), (void **)&s));
        s->bias = bs[o];
        s->sA = (float *)sA[o];
        s->sB = (float *)sB[o];
        s->gA = (float *)(s + 1);
        s->gB = s->gA + B;
        kgm_tensor *in[5] = {v, e, wA[o], wB[o], bs[o]};
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, cross_compress_bw, *outs[o], in, bs[o] ? 5 : 4, false, &nd));
        nd->saved = s;
    }
    return KGM_OK;
}

kgm_status kgm_cross_compress_declare(kgm_cross_compress *cc, int32_t layers, int32_t dim, const char *prefix,
                                      kgm_params *ps, int32_t group) {
    if (layers < 1 || layers > KGM_CC_MAX_LAYERS)
        return KGM_ERR(KGM_ERR_ARG, "cross_compress: %d layers outside [1, %d]", layers, KGM_CC_MAX_LAYERS);
    if (dim < 1) return KGM_ERR(KGM_ERR_ARG, "cross_compress: width must be >= 1, found %d", dim);
    memset(cc, 0xff, sizeof *cc); /* unused ids -1 */
    cc->layers = layers;
    cc->dim = dim;
    static const char *wn[4] = {"w_vv", "w_ev", "w_ve", "w_ee"};
    char nm[64];
    for (int l = 0; l < layers; l++) {
        for (int m = 0; m < 4; m++) {
            snprintf(nm, sizeof nm, "l%d/%s", l, wn[m]);
            KGM_TRY(decl(ps, prefix, nm, dim, 1, KGM_INIT_XAVIER_UNIFORM, group, &cc->w[l][m]));
        }
        snprintf(nm, sizeof nm, "l%d/b_v", l);
        KGM_TRY(decl(ps, prefix, nm, 1, dim, KGM_INIT_ZEROS, group, &cc->b_v[l]));
        snprintf(nm, sizeof nm, "l%d/b_e", l);
        KGM_TRY(decl(ps, prefix, nm, 1, dim, KGM_INIT_ZEROS, group, &cc->b_e[l]));
    }
    return KGM_OK;
}

kgm_status kgm_cross_compress_forward(const kgm_cross_compress *cc, kgm_tape *tp, kgm_params *ps, kgm_tensor *v,
                                      kgm_tensor *e, kgm_tensor **v_out, kgm_tensor **e_out) {
    KGM_CHECK_NOT_NULL(v, "cross_compress");
    if (v->cols != cc->dim)
        return KGM_ERR(KGM_ERR_SHAPE, "cross_compress: input has %d columns, the stack was built for %d", v->cols,
                       cc->dim);
    for (int l = 0; l < cc->layers; l++) {
        kgm_tensor *w[4] = {P(cc->w[l][0]), P(cc->w[l][1]), P(cc->w[l][2]), P(cc->w[l][3])};
        kgm_tensor *nv, *ne;
        KGM_TRY(kgm_op_cross_compress(tp, v, e, w, P(cc->b_v[l]), P(cc->b_e[l]), &nv, &ne));
        v = nv;
        e = ne;
    }
    *v_out = v;
    *e_out = e;
    return KGM_OK;
}

/* ==== 3. consistency regularisation ========================================= */

kgm_consistency_cfg kgm_consistency_defaults(kgm_consistency_distance d) {
    return (kgm_consistency_cfg){.distance = d, .weight = 0.1f, .logits = true, .detach_a = false, .eps = 1e-6f};
}

kgm_status kgm_consistency_distance_parse(const char *s, kgm_consistency_distance *out) {
    static const char *const names[] = {"sq", "abs", "sym_kl", "cosine", "order"};
    int i;
    KGM_TRY(parse_choice(s, names, 5, "consistency distance", &i));
    *out = (kgm_consistency_distance)i;
    return KGM_OK;
}

/* logit(clamp(x, eps, 1-eps)); zero gradient where the clamp is active. */
static void logit_bw(kgm_tape *tp, kgm_node *nd) {
    kgm_tensor *x = nd->in[0], *y = nd->out;
    float eps = nd->farg[0];
    for (int64_t i = 0; i < kgm_tensor_numel(x); i++) {
        float p = x->data[i];
        if (p > eps && p < 1.0f - eps) x->grad[i] += y->grad[i] / (p * (1.0f - p));
    }
    (void)tp;
}

static kgm_status op_logit(kgm_tape *tp, kgm_tensor *x, float eps, kgm_tensor **out) {
    kgm_tensor *in[1] = {x};
    bool g;
    KGM_TRY(kgm_op_out(tp, x->rows, x->cols, in, 1, false, out, &g));
    for (int64_t i = 0; i < kgm_tensor_numel(x); i++) {
        double p = fmin(fmax(x->data[i], eps), 1.0 - eps);
        (*out)->data[i] = (float)log(p / (1.0 - p));
    }
    if (g) {
        kgm_node *nd;
        KGM_TRY(kgm_tape_record(tp, logit_bw, *out, in, 1, false, &nd));
        nd->farg[0] = eps;
    }
    return KGM_OK;
}

kgm_status kgm_consistency_penalty(kgm_tape *tp, const kgm_consistency_cfg *cfg, kgm_tensor *a, kgm_tensor *b,
                                   kgm_tensor **out) {
    KGM_CHECK_NOT_NULL(a, "consistency");
    KGM_CHECK_NOT_NULL(b, "consistency");
    KGM_CHECK_SAME_SHAPE(a, b, "consistency");
    if (!(cfg->eps > 0.0f && cfg->eps < 0.5f))
        return KGM_ERR(KGM_ERR_ARG, "consistency: eps %g outside (0, 0.5)", (double)cfg->eps);
    int32_t B = a->rows;
    if (B == 0) return kgm_tape_tensor(tp, 1, 1, true, false, out); /* nothing to compare */
    if (cfg->detach_a) KGM_TRY(kgm_tape_input(tp, a->rows, a->cols, a->data, &a));
    kgm_tensor *d, *t, *u, *m;
    switch (cfg->distance) {
    case KGM_CONS_SQ:
        KGM_TRY(kgm_op_sub(tp, a, b, &d));
        KGM_TRY(kgm_op_mul(tp, d, d, &m));
        break;
    case KGM_CONS_ABS: /* |d| = relu(d) + relu(-d) */
        KGM_TRY(kgm_op_sub(tp, a, b, &d));
        KGM_TRY(kgm_op_relu(tp, d, &t));
        KGM_TRY(kgm_op_scale(tp, d, -1.0f, 0.0f, &u));
        KGM_TRY(kgm_op_relu(tp, u, &u));
        KGM_TRY(kgm_op_add(tp, t, u, &m));
        break;
    case KGM_CONS_SYM_KL: { /* (p - q)(logit p - logit q) */
        kgm_tensor *pa, *pb, *za, *zb;
        if (cfg->logits) {
            za = a;
            zb = b;
            KGM_TRY(kgm_op_sigmoid(tp, a, &pa));
            KGM_TRY(kgm_op_sigmoid(tp, b, &pb));
        } else {
            pa = a;
            pb = b;
            KGM_TRY(op_logit(tp, a, cfg->eps, &za));
            KGM_TRY(op_logit(tp, b, cfg->eps, &zb));
        }
        KGM_TRY(kgm_op_sub(tp, pa, pb, &t));
        KGM_TRY(kgm_op_sub(tp, za, zb, &u));
        KGM_TRY(kgm_op_mul(tp, t, u, &m));
        break;
    }
    case KGM_CONS_COSINE:
        KGM_TRY(kgm_op_rowcos(tp, a, b, cfg->eps, &t));
        KGM_TRY(kgm_op_scale(tp, t, -1.0f, 1.0f, &m));
        break;
    case KGM_CONS_ORDER:
        KGM_TRY(kgm_op_sub(tp, b, a, &d));
        KGM_TRY(kgm_op_relu(tp, d, &m));
        break;
    default: return KGM_ERR(KGM_ERR_ARG, "consistency: unknown distance %d", (int)cfg->distance);
    }
    KGM_TRY(kgm_op_sum(tp, m, &t));
    return kgm_op_scale(tp, t, cfg->weight / (float)B, 0.0f, out);
}

/* ==== 4. task fusion ========================================================== */

/* Π_k max(x_k, eps)^e_k in double; with grad != NULL also each factor's
 * partial derivative (0 where the floor is active). */
static double power_row(int n, const float *x, const float *expo, float eps, double *grad) {
    double y = 1.0;
    for (int k = 0; k < n; k++) y *= pow(fmax(x[k], eps), expo ? expo[k] : 1.0);
    if (grad)
        for (int k = 0; k < n; k++) {
            if (!(x[k] > eps)) {
                grad[k] = 0;
                continue;
            }
            double ek = expo ? expo[k] : 1.0, gk = ek * pow(x[k], ek - 1.0);
            for (int j = 0; j < n; j++)
                if (j != k) gk *= pow(fmax(x[j], eps), expo ? expo[j] : 1.0);
            grad[k] = gk;
        }
    return y;
}

typedef struct {
    int n;
    float eps;
    const float *expo;
    kgm_tensor **xs;
} pp_saved;

static void power_product_bw(kgm_tape *tp, kgm_node *nd) {
    const pp_saved *s = nd->saved;
    const kgm_tensor *y = nd->out;
    int n = s->n;
    for (int32_t b = 0; b < y->rows; b++) {
        float x[KGM_MAX_TASKS];
        double gr[KGM_MAX_TASKS];
        for (int k = 0; k < n; k++) x[k] = s->xs[k]->data[b];
        power_row(n, x, s->expo, s->eps, gr);
        for (int k = 0; k < n; k++)
            if (s->xs[k]->grad) s->xs[k]->grad[b] += (float)(y->grad[b] * gr[k]);
    }
    (void)tp;
}

kgm_status kgm_op_power_product(kgm_tape *tp, int n, kgm_tensor *const *xs, const float *expo, float eps,
                                kgm_tensor **out) {
    if (n < 1 || n > KGM_MAX_TASKS)
        return KGM_ERR(KGM_ERR_ARG, "power_product: %d inputs outside [1, %d]", n, KGM_MAX_TASKS);
    if (!(eps > 0.0f)) return KGM_ERR(KGM_ERR_ARG, "power_product: eps must be > 0, found %g", (double)eps);
    for (int k = 0; k < n; k++) {
        KGM_CHECK_NOT_NULL(xs[k], "power_product");
        if (xs[k]->cols != 1 || xs[k]->rows != xs[0]->rows)
            return KGM_ERR(KGM_ERR_SHAPE, "power_product: input %d is (%d, %d), expected (%d, 1)", k, xs[k]->rows,
                           xs[k]->cols, xs[0]->rows);
        if (expo && !isfinite(expo[k]))
            return KGM_ERR(KGM_ERR_ARG, "power_product: exponent %d is not finite", k);
    }
    int32_t B = xs[0]->rows;
    kgm_tensor *in[KGM_MAX_TASKS]; /* `out` may point into `xs` */
    for (int k = 0; k < n; k++) in[k] = xs[k];
    bool g;
    KGM_TRY(kgm_op_out(tp, B, 1, in, n, false, out, &g));
    for (int32_t b = 0; b < B; b++) {
        float x[KGM_MAX_TASKS];
        for (int k = 0; k < n; k++) x[k] = in[k]->data[b];
        (*out)->data[b] = (float)power_row(n, x, expo, eps, NULL);
    }
    if (!g) return KGM_OK;
    pp_saved *s;
    KGM_TRY(kgm_tape_alloc(tp, sizeof *s + (size_t)n * (sizeof(kgm_tensor *) + sizeof(float)), (void **)&s));
    s->n = n;
    s->eps = eps;
    s->xs = (kgm_tensor **)(s + 1);
    for (int k = 0; k < n; k++) s->xs[k] = in[k];
    float *ex = (float *)(s->xs + n); /* own copy: the caller's array may not outlive the step */
    for (int k = 0; k < n; k++) ex[k] = expo ? expo[k] : 1.0f;
    s->expo = ex;
    kgm_node *nd;
    KGM_TRY(kgm_tape_record(tp, power_product_bw, *out, in, n, false, &nd));
    nd->saved = s;
    return KGM_OK;
}

kgm_status kgm_fusion_kind_parse(const char *s, kgm_fusion_kind *out) {
    static const char *const names[] = {"sum", "product", "weighted", "power", "mlp"};
    int i;
    KGM_TRY(parse_choice(s, names, 5, "fusion kind", &i));
    *out = (kgm_fusion_kind)i;
    return KGM_OK;
}

kgm_fusion_cfg kgm_fusion_defaults(kgm_fusion_kind kind, int32_t n_inputs) {
    kgm_fusion_cfg c = {.kind = kind, .n_inputs = n_inputs, .hidden = 8, .detach = true, .eps = 1e-12f};
    for (int k = 0; k < KGM_MAX_TASKS; k++) c.coef[k] = 1.0f;
    return c;
}

kgm_status kgm_fusion_declare(kgm_fusion *f, const kgm_fusion_cfg *cfg, const char *prefix, kgm_params *ps,
                              int32_t group) {
    if (cfg->n_inputs < 1 || cfg->n_inputs > KGM_MAX_TASKS)
        return KGM_ERR(KGM_ERR_ARG, "fusion: %d inputs outside [1, %d]", cfg->n_inputs, KGM_MAX_TASKS);
    if ((unsigned)cfg->kind > KGM_FUSION_MLP) return KGM_ERR(KGM_ERR_ARG, "fusion: unknown kind %d", (int)cfg->kind);
    for (int k = 0; k < cfg->n_inputs; k++)
        if (!isfinite(cfg->coef[k])) return KGM_ERR(KGM_ERR_ARG, "fusion: coefficient %d is not finite", k);
    if ((cfg->kind == KGM_FUSION_PRODUCT || cfg->kind == KGM_FUSION_POWER) && !(cfg->eps > 0.0f))
        return KGM_ERR(KGM_ERR_ARG, "fusion: eps must be > 0 for products");
    f->cfg = *cfg;
    f->w1 = f->b1 = f->w2 = f->b2 = -1;
    if (cfg->kind != KGM_FUSION_MLP) return KGM_OK;
    if (cfg->hidden < 1) return KGM_ERR(KGM_ERR_ARG, "fusion: the MLP needs hidden >= 1, found %d", cfg->hidden);
    if (!ps) return KGM_ERR(KGM_ERR_ARG, "fusion: the MLP needs a parameter store");
    KGM_TRY(decl(ps, prefix, "w1", cfg->n_inputs, cfg->hidden, KGM_INIT_KAIMING_UNIFORM, group, &f->w1));
    KGM_TRY(decl(ps, prefix, "b1", 1, cfg->hidden, KGM_INIT_ZEROS, group, &f->b1));
    KGM_TRY(decl(ps, prefix, "w2", cfg->hidden, 1, KGM_INIT_XAVIER_UNIFORM, group, &f->w2));
    return decl(ps, prefix, "b2", 1, 1, KGM_INIT_ZEROS, group, &f->b2);
}

static kgm_status fusion_check(const kgm_fusion *f, kgm_tensor *const *outs) {
    for (int k = 0; k < f->cfg.n_inputs; k++) {
        KGM_CHECK_NOT_NULL(outs[k], "fusion");
        if (outs[k]->cols != 1 || outs[k]->rows != outs[0]->rows)
            return KGM_ERR(KGM_ERR_SHAPE, "fusion: task output %d is (%d, %d), expected (%d, 1)", k, outs[k]->rows,
                           outs[k]->cols, outs[0]->rows);
    }
    return KGM_OK;
}

static kgm_status fusion_logit(const kgm_fusion *f, kgm_tape *tp, kgm_params *ps, kgm_tensor *const *outs,
                               kgm_tensor **z) {
    int n = f->cfg.n_inputs;
    kgm_tensor *xs[KGM_MAX_TASKS], *x, *h;
    for (int k = 0; k < n; k++) {
        xs[k] = outs[k];
        if (f->cfg.detach) KGM_TRY(kgm_tape_input(tp, outs[k]->rows, 1, outs[k]->data, &xs[k]));
    }
    KGM_TRY(kgm_op_concat_cols(tp, n, xs, &x));
    KGM_TRY(kgm_op_linear(tp, x, P(f->w1), P(f->b1), &h));
    KGM_TRY(kgm_op_relu(tp, h, &h));
    return kgm_op_linear(tp, h, P(f->w2), P(f->b2), z);
}

kgm_status kgm_fusion_forward(const kgm_fusion *f, kgm_tape *tp, kgm_params *ps, kgm_tensor *const *outs,
                              kgm_tensor **score) {
    KGM_TRY(fusion_check(f, outs));
    int n = f->cfg.n_inputs;
    switch (f->cfg.kind) {
    case KGM_FUSION_SUM:
    case KGM_FUSION_WEIGHTED: {
        bool w = f->cfg.kind == KGM_FUSION_WEIGHTED;
        kgm_tensor *acc, *t;
        KGM_TRY(kgm_op_scale(tp, outs[0], w ? f->cfg.coef[0] : 1.0f, 0.0f, &acc));
        for (int k = 1; k < n; k++) {
            KGM_TRY(kgm_op_scale(tp, outs[k], w ? f->cfg.coef[k] : 1.0f, 0.0f, &t));
            KGM_TRY(kgm_op_add(tp, acc, t, &acc));
        }
        *score = acc;
        return KGM_OK;
    }
    case KGM_FUSION_PRODUCT: return kgm_op_power_product(tp, n, outs, NULL, f->cfg.eps, score);
    case KGM_FUSION_POWER: return kgm_op_power_product(tp, n, outs, f->cfg.coef, f->cfg.eps, score);
    case KGM_FUSION_MLP: {
        kgm_tensor *z;
        KGM_TRY(fusion_logit(f, tp, ps, outs, &z));
        return kgm_op_sigmoid(tp, z, score);
    }
    }
    return KGM_ERR(KGM_ERR_ARG, "fusion: unknown kind %d", (int)f->cfg.kind);
}

kgm_status kgm_fusion_loss(const kgm_fusion *f, kgm_tape *tp, kgm_params *ps, kgm_tensor *const *outs,
                           const float *y, const float *wt, kgm_tensor **loss) {
    if (f->cfg.kind != KGM_FUSION_MLP)
        return KGM_ERR(KGM_ERR_ARG, "fusion: only the learned (mlp) fusion has a training loss");
    KGM_TRY(fusion_check(f, outs));
    kgm_tensor *z;
    KGM_TRY(fusion_logit(f, tp, ps, outs, &z));
    return kgm_op_bce_logits(tp, z, y, wt, loss);
}

kgm_status kgm_fusion_score(const kgm_fusion *f, kgm_params *ps, int64_t n_rows, const float *const *task_scores,
                            float *out) {
    int n = f->cfg.n_inputs;
    for (int k = 0; k < n; k++)
        if (!task_scores[k]) return KGM_ERR(KGM_ERR_ARG, "fusion: task score array %d is NULL", k);
    const kgm_fusion_cfg *c = &f->cfg;
    const float *w1 = NULL, *b1 = NULL, *w2 = NULL, *b2 = NULL;
    if (c->kind == KGM_FUSION_MLP) {
        if (!ps) return KGM_ERR(KGM_ERR_ARG, "fusion: the MLP needs its parameter store");
        w1 = P(f->w1)->data;
        b1 = P(f->b1)->data;
        w2 = P(f->w2)->data;
        b2 = P(f->b2)->data;
    }
#pragma omp parallel for schedule(static) if (n_rows * n > KGM_PAR_MIN)
    for (int64_t i = 0; i < n_rows; i++) {
        float x[KGM_MAX_TASKS] = {0};
        for (int k = 0; k < n; k++) x[k] = task_scores[k][i];
        switch (c->kind) {
        case KGM_FUSION_SUM:
        case KGM_FUSION_WEIGHTED: { /* the same float operations as the tape version */
            bool w = c->kind == KGM_FUSION_WEIGHTED;
            float acc = (w ? c->coef[0] : 1.0f) * x[0] + 0.0f;
            for (int k = 1; k < n; k++) acc = acc + ((w ? c->coef[k] : 1.0f) * x[k] + 0.0f);
            out[i] = acc;
            break;
        }
        case KGM_FUSION_PRODUCT: out[i] = (float)power_row(n, x, NULL, c->eps, NULL); break;
        case KGM_FUSION_POWER: out[i] = (float)power_row(n, x, c->coef, c->eps, NULL); break;
        case KGM_FUSION_MLP: {
            double z = b2[0];
            for (int j = 0; j < c->hidden; j++) {
                double h = b1[j];
                for (int k = 0; k < n; k++) h += (double)x[k] * w1[(size_t)k * c->hidden + j];
                if (h > 0) z += h * w2[j];
            }
            out[i] = (float)(z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)));
            break;
        }
        }
    }
    return KGM_OK;
}

/* ==== 5. connections between task towers (AITM) ============================== */

kgm_status kgm_connection_kind_parse(const char *s, kgm_connection_kind *out) {
    static const char *const names[] = {"aitm", "gate"};
    int i;
    KGM_TRY(parse_choice(s, names, 2, "connection kind", &i));
    *out = (kgm_connection_kind)i;
    return KGM_OK;
}

kgm_status kgm_connection_declare(kgm_connection *c, kgm_connection_kind kind, const char *prefix, int32_t from,
                                  int32_t to, int32_t from_dim, int32_t dim, kgm_params *ps, int32_t group) {
    if (from < 0 || to < 0 || from >= KGM_MAX_TASKS || to >= KGM_MAX_TASKS || from == to)
        return KGM_ERR(KGM_ERR_ARG, "connection: from %d -> to %d must name two different tasks", from, to);
    if (from_dim < 1 || dim < 1)
        return KGM_ERR(KGM_ERR_ARG, "connection: widths must be >= 1, found %d -> %d", from_dim, dim);
    memset(c, 0xff, sizeof *c);
    c->kind = kind;
    c->from = from;
    c->to = to;
    c->from_dim = from_dim;
    c->dim = dim;
    KGM_TRY(decl(ps, prefix, "transfer_w", from_dim, dim, KGM_INIT_KAIMING_UNIFORM, group, &c->wt));
    KGM_TRY(decl(ps, prefix, "transfer_b", 1, dim, KGM_INIT_ZEROS, group, &c->bt));
    switch (kind) {
    case KGM_CONN_AITM:
        KGM_TRY(decl(ps, prefix, "attn_q", dim, dim, KGM_INIT_XAVIER_UNIFORM, group, &c->wq));
        KGM_TRY(decl(ps, prefix, "attn_k", dim, dim, KGM_INIT_XAVIER_UNIFORM, group, &c->wk));
        return decl(ps, prefix, "attn_v", dim, dim, KGM_INIT_XAVIER_UNIFORM, group, &c->wv);
    case KGM_CONN_GATE:
        KGM_TRY(decl(ps, prefix, "gate_w", 2 * dim, dim, KGM_INIT_XAVIER_UNIFORM, group, &c->wg));
        return decl(ps, prefix, "gate_b", 1, dim, KGM_INIT_ZEROS, group, &c->bg);
    }
    return KGM_ERR(KGM_ERR_ARG, "connection: unknown kind %d", (int)kind);
}

kgm_status kgm_connection_forward(const kgm_connection *c, kgm_tape *tp, kgm_params *ps, kgm_tensor *p, kgm_tensor *q,
                                  kgm_tensor **out, kgm_tensor **attn) {
    KGM_CHECK_NOT_NULL(p, "connection");
    KGM_CHECK_NOT_NULL(q, "connection");
    if (p->cols != c->from_dim || q->cols != c->dim || p->rows != q->rows)
        return KGM_ERR(KGM_ERR_SHAPE, "connection %d -> %d: expected (B, %d) and (B, %d), found (%d, %d) and (%d, %d)",
                       c->from, c->to, c->from_dim, c->dim, p->rows, p->cols, q->rows, q->cols);
    kgm_tensor *pt;
    KGM_TRY(kgm_op_linear(tp, p, P(c->wt), P(c->bt), &pt));
    KGM_TRY(kgm_op_relu(tp, pt, &pt));
    if (c->kind == KGM_CONN_GATE) {
        kgm_tensor *both[2] = {pt, q}, *x, *g, *m;
        KGM_TRY(kgm_op_concat_cols(tp, 2, both, &x));
        KGM_TRY(kgm_op_linear(tp, x, P(c->wg), P(c->bg), &g));
        KGM_TRY(kgm_op_sigmoid(tp, g, &g));
        KGM_TRY(kgm_op_mul(tp, g, pt, &m));
        if (attn) *attn = g;
        return kgm_op_add(tp, q, m, out);
    }
    /* AITM: self-attention over the two items {p', q} of each row */
    kgm_tensor *u[2] = {pt, q}, *sc[2], *val[2], *s, *a, *vv;
    for (int i = 0; i < 2; i++) {
        kgm_tensor *qq, *kk;
        KGM_TRY(kgm_op_linear(tp, u[i], P(c->wq), NULL, &qq));
        KGM_TRY(kgm_op_linear(tp, u[i], P(c->wk), NULL, &kk));
        KGM_TRY(kgm_op_linear(tp, u[i], P(c->wv), NULL, &val[i]));
        KGM_TRY(kgm_op_rowdot(tp, qq, kk, &sc[i]));
    }
    KGM_TRY(kgm_op_concat_cols(tp, 2, sc, &s));
    KGM_TRY(kgm_op_scale(tp, s, 1.0f / sqrtf((float)c->dim), 0.0f, &s));
    KGM_TRY(kgm_op_softmax(tp, s, &a));
    KGM_TRY(kgm_op_concat_cols(tp, 2, val, &vv));
    if (attn) *attn = a;
    return kgm_op_mixture(tp, vv, a, out);
}

kgm_status kgm_connection_apply(const kgm_connection *c, int32_t n, kgm_tape *tp, kgm_params *ps, int32_t n_tasks,
                                kgm_tensor **hid) {
    for (int32_t i = 0; i < n; i++) {
        const kgm_connection *ci = &c[i];
        if (ci->from >= n_tasks || ci->to >= n_tasks)
            return KGM_ERR(KGM_ERR_ARG, "connection %d: %d -> %d outside the %d tasks", i, ci->from, ci->to, n_tasks);
        if (!hid[ci->to]) continue;
        if (!hid[ci->from])
            return KGM_ERR(KGM_ERR_STATE,
                           "connection %d: task %d reads task %d, whose representation was not computed this step",
                           i, ci->to, ci->from);
        kgm_tensor *o;
        KGM_TRY(kgm_connection_forward(ci, tp, ps, hid[ci->from], hid[ci->to], &o, NULL));
        hid[ci->to] = o;
    }
    return KGM_OK;
}

void kgm_connection_expand_want(const kgm_connection *c, int32_t n, int32_t n_tasks, bool *want) {
    for (bool changed = true; changed;) {
        changed = false;
        for (int32_t i = 0; i < n; i++)
            if (c[i].from < n_tasks && c[i].to < n_tasks && want[c[i].to] && !want[c[i].from]) {
                want[c[i].from] = true;
                changed = true;
            }
    }
}
