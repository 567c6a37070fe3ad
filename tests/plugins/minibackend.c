/* Miniature backend and training loop for the plugin tests (see minibackend.h). */
#include "tests/plugins/minibackend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- world generation --------------------------------------------------- */

/* Rows of a view before splitting. */
typedef struct rows {
    int32_t n, cap;
    int32_t *user, *item, *head, *rel, *tail, *src, *dst, *cls;
    float *label, *label2, *multi;
} rows;

static void rows_push(rows *r, int32_t u, int32_t i, int32_t h, int32_t rl, int32_t t, int32_t s, int32_t d,
                      int32_t c, float y, float y2, const float *multi) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
#define GROW(f) r->f = realloc(r->f, (size_t)r->cap * sizeof *r->f)
        GROW(user); GROW(item); GROW(head); GROW(rel); GROW(tail); GROW(src); GROW(dst); GROW(cls);
        GROW(label); GROW(label2);
#undef GROW
        r->multi = realloc(r->multi, (size_t)r->cap * MB_L * sizeof(float));
    }
    int32_t k = r->n++;
    r->user[k] = u; r->item[k] = i; r->head[k] = h; r->rel[k] = rl; r->tail[k] = t;
    r->src[k] = s; r->dst[k] = d; r->cls[k] = c; r->label[k] = y; r->label2[k] = y2;
    if (multi) memcpy(r->multi + (size_t)k * MB_L, multi, MB_L * sizeof(float));
}

static void rows_free(rows *r) {
    free(r->user); free(r->item); free(r->head); free(r->rel); free(r->tail); free(r->src); free(r->dst);
    free(r->cls); free(r->label); free(r->label2); free(r->multi);
    memset(r, 0, sizeof *r);
}

/* Which fields a view fills. */
enum { F_UI = 1, F_LABEL = 2, F_LABEL2 = 4, F_KG = 8, F_SOC = 16, F_CLS = 32, F_MULTI = 64, F_I = 128, F_U = 256 };

static void csr_build(mb_split *s, const int32_t *key, const int32_t *val, const float *lab) {
    s->rowptr = calloc(MB_U + 1, sizeof *s->rowptr);
    s->col = malloc((size_t)(s->n ? s->n : 1) * sizeof *s->col);
    for (int32_t k = 0; k < s->n; k++)
        if (!lab || lab[k] > 0.5f) s->rowptr[key[k] + 1]++;
    for (int32_t u = 0; u < MB_U; u++) s->rowptr[u + 1] += s->rowptr[u];
    int64_t *at = malloc((MB_U + 1) * sizeof *at);
    memcpy(at, s->rowptr, (MB_U + 1) * sizeof *at);
    for (int32_t k = 0; k < s->n; k++)
        if (!lab || lab[k] > 0.5f) s->col[at[key[k]]++] = val[k];
    free(at);
}

/* Copy the rows with split id `which` (assign[k]) into split s. */
static void split_take(mb_split *s, const rows *r, const int8_t *assign, int which, unsigned fields) {
    int32_t n = 0;
    for (int32_t k = 0; k < r->n; k++) n += assign[k] == which;
    s->n = n;
    size_t m = (size_t)(n ? n : 1);
    s->row = malloc(m * sizeof *s->row);
#define TAKE(flag, f)                                                                                              \
    if (fields & (flag)) s->f = malloc(m * sizeof *s->f);
    TAKE(F_UI | F_U, user); TAKE(F_UI | F_I, item); TAKE(F_KG, head); TAKE(F_KG, rel); TAKE(F_KG, tail);
    TAKE(F_SOC, src); TAKE(F_SOC, dst); TAKE(F_SOC, weight); TAKE(F_CLS, cls); TAKE(F_LABEL, label);
    TAKE(F_LABEL2, label2);
#undef TAKE
    if (fields & F_MULTI) s->multi = malloc(m * MB_L * sizeof(float));
    int32_t q = 0;
    for (int32_t k = 0; k < r->n; k++) {
        if (assign[k] != which) continue;
        s->row[q] = q;
        if (s->user) s->user[q] = r->user[k];
        if (s->item) s->item[q] = r->item[k];
        if (s->head) { s->head[q] = r->head[k]; s->rel[q] = r->rel[k]; s->tail[q] = r->tail[k]; }
        if (s->src) { s->src[q] = r->src[k]; s->dst[q] = r->dst[k]; s->weight[q] = 1.0f; }
        if (s->cls) s->cls[q] = r->cls[k];
        if (s->label) s->label[q] = r->label[k];
        if (s->label2) s->label2[q] = r->label2[k];
        if (s->multi) memcpy(s->multi + (size_t)q * MB_L, r->multi + (size_t)k * MB_L, MB_L * sizeof(float));
        q++;
    }
    if (fields & F_SOC) csr_build(s, s->src, s->dst, NULL);
    else if (s->user && s->item) csr_build(s, s->user, s->item, (fields & F_LABEL) ? s->label : NULL);
}

/* Random 80/10/10 (or given fractions) split of a view. */
static void split_view(mb_view *v, const rows *r, kgm_rng *g, double valid, double test, unsigned fields) {
    int8_t *assign = malloc((size_t)(r->n ? r->n : 1));
    for (int32_t k = 0; k < r->n; k++) {
        double x = kgm_rng_uniform(g);
        assign[k] = x < test ? 2 : x < test + valid ? 1 : 0;
    }
    for (int s = 0; s < 3; s++) split_take(&v->sp[s], r, assign, s, fields);
    free(assign);
}

static float dotk(const float *a, const float *b) {
    float s = 0;
    for (int j = 0; j < MB_K; j++) s += a[j] * b[j];
    return s;
}

void mb_world_init(mb_world *w, uint64_t seed) {
    memset(w, 0, sizeof *w);
    kgm_rng g;
    kgm_rng_init(&g, seed, 99);
    float cu[MB_C][MB_K], ci[MB_G][MB_K];
    for (int c = 0; c < MB_C; c++)
        for (int j = 0; j < MB_K; j++) cu[c][j] = (float)kgm_rng_normal(&g);
    for (int c = 0; c < MB_G; c++)
        for (int j = 0; j < MB_K; j++) ci[c][j] = (float)kgm_rng_normal(&g);
    for (int32_t u = 0; u < MB_U; u++) {
        w->ucl[u] = u % MB_C;
        for (int j = 0; j < MB_K; j++) w->pu[u * MB_K + j] = cu[w->ucl[u]][j] + 0.3f * (float)kgm_rng_normal(&g);
    }
    for (int32_t i = 0; i < MB_I; i++) {
        w->icl[i] = i % MB_G;
        for (int j = 0; j < MB_K; j++) w->qi[i * MB_K + j] = ci[w->icl[i]][j] + 0.3f * (float)kgm_rng_normal(&g);
    }
    rows r = {0};
    /* INTERACTIONS: random pairs, label = affinity above the median (10% flipped) */
    {
        float aff[900];
        int32_t us[900], is[900];
        for (int k = 0; k < 900; k++) {
            us[k] = (int32_t)kgm_rng_below(&g, MB_U);
            is[k] = (int32_t)kgm_rng_below(&g, MB_I);
            aff[k] = dotk(&w->pu[us[k] * MB_K], &w->qi[is[k] * MB_K]);
        }
        float sorted[900];
        memcpy(sorted, aff, sizeof sorted);
        for (int a = 1; a < 900; a++) { /* insertion sort for the median */
            float x = sorted[a];
            int b = a - 1;
            while (b >= 0 && sorted[b] > x) { sorted[b + 1] = sorted[b]; b--; }
            sorted[b + 1] = x;
        }
        float med = sorted[450];
        for (int k = 0; k < 900; k++) {
            float y = aff[k] > med ? 1.0f : 0.0f;
            if (kgm_rng_uniform(&g) < 0.1) y = 1.0f - y;
            rows_push(&r, us[k], is[k], 0, 0, 0, 0, 0, 0, y, 0, NULL);
        }
        split_view(&w->views[KGM_VIEW_INTERACTIONS], &r, &g, 0.1, 0.2, F_UI | F_LABEL);
        rows_free(&r);
    }
    /* RATINGS: 3 + affinity (scaled), noise, clipped to [1, 5] */
    for (int k = 0; k < 900; k++) {
        int32_t u = (int32_t)kgm_rng_below(&g, MB_U), i = (int32_t)kgm_rng_below(&g, MB_I);
        float y = 3.0f + 0.6f * dotk(&w->pu[u * MB_K], &w->qi[i * MB_K]) + 0.3f * (float)kgm_rng_normal(&g);
        y = y < 1 ? 1 : y > 5 ? 5 : y;
        rows_push(&r, u, i, 0, 0, 0, 0, 0, 0, y, 0, NULL);
    }
    split_view(&w->views[KGM_VIEW_RATINGS], &r, &g, 0.1, 0.2, F_UI | F_LABEL);
    rows_free(&r);
    /* IMPLICIT: each user's 8 best items (noisy affinity); 6 train, 1 valid, 1 test */
    {
        int8_t *assign = malloc(MB_U * 8);
        for (int32_t u = 0; u < MB_U; u++) {
            float sc[MB_I];
            for (int32_t i = 0; i < MB_I; i++)
                sc[i] = dotk(&w->pu[u * MB_K], &w->qi[i * MB_K]) + 0.3f * (float)kgm_rng_normal(&g);
            for (int t = 0; t < 8; t++) {
                int32_t best = 0;
                for (int32_t i = 1; i < MB_I; i++)
                    if (sc[i] > sc[best]) best = i;
                sc[best] = -INFINITY;
                assign[r.n] = t < 6 ? 0 : (int8_t)(t - 5);
                rows_push(&r, u, best, 0, 0, 0, 0, 0, 0, 1.0f, 0, NULL);
            }
        }
        /* shuffle which of the 8 is held out: swap assignments within each user */
        for (int32_t u = 0; u < MB_U; u++)
            for (int t = 7; t > 0; t--) {
                int s = (int)kgm_rng_below(&g, (uint64_t)t + 1);
                int8_t x = assign[u * 8 + t];
                assign[u * 8 + t] = assign[u * 8 + s];
                assign[u * 8 + s] = x;
            }
        for (int s = 0; s < 3; s++) split_take(&w->views[KGM_VIEW_IMPLICIT].sp[s], &r, assign, s, F_UI);
        free(assign);
        rows_free(&r);
    }
    /* IMPRESSIONS: click ~ sigmoid(2 affinity), conversion | click ~ sigmoid(3 f(u, i)) */
    for (int k = 0; k < 1200; k++) {
        int32_t u = (int32_t)kgm_rng_below(&g, MB_U), i = (int32_t)kgm_rng_below(&g, MB_I);
        float a = dotk(&w->pu[u * MB_K], &w->qi[i * MB_K]);
        float b = w->pu[u * MB_K] * w->qi[i * MB_K + 1] - w->pu[u * MB_K + 2] * w->qi[i * MB_K + 3];
        float click = kgm_rng_uniform(&g) < 1.0 / (1.0 + exp(-2.0 * a)) ? 1.0f : 0.0f;
        float conv = click > 0 && kgm_rng_uniform(&g) < 1.0 / (1.0 + exp(-3.0 * b)) ? 1.0f : 0.0f;
        rows_push(&r, u, i, 0, 0, 0, 0, 0, 0, click, conv, NULL);
    }
    split_view(&w->views[KGM_VIEW_IMPRESSIONS], &r, &g, 0.1, 0.25, F_UI | F_LABEL | F_LABEL2);
    rows_free(&r);
    /* KG: (item, has_genre, genre entity) for every item; (item, similar, item) within a genre */
    for (int32_t i = 0; i < MB_I; i++) {
        rows_push(&r, 0, 0, i, 0, MB_I + w->icl[i], 0, 0, 0, 0, 0, NULL);
        for (int t = 0; t < 3; t++) {
            int32_t j;
            do j = w->icl[i] + MB_G * (int32_t)kgm_rng_below(&g, MB_I / MB_G);
            while (j == i);
            rows_push(&r, 0, 0, i, 1, j, 0, 0, 0, 0, 0, NULL);
        }
    }
    split_view(&w->views[KGM_VIEW_KG], &r, &g, 0.1, 0.15, F_KG);
    /* true tails of (h, r) over all triples */
    w->kg_ptr = calloc(MB_E * MB_R + 1, sizeof *w->kg_ptr);
    w->kg_col = malloc((size_t)r.n * sizeof *w->kg_col);
    for (int32_t k = 0; k < r.n; k++) w->kg_ptr[r.head[k] * MB_R + r.rel[k] + 1]++;
    for (int32_t q = 0; q < MB_E * MB_R; q++) w->kg_ptr[q + 1] += w->kg_ptr[q];
    {
        int64_t *at = malloc((MB_E * MB_R + 1) * sizeof *at);
        memcpy(at, w->kg_ptr, (MB_E * MB_R + 1) * sizeof *at);
        for (int32_t k = 0; k < r.n; k++) w->kg_col[at[r.head[k] * MB_R + r.rel[k]]++] = r.tail[k];
        free(at);
    }
    rows_free(&r);
    /* SOCIAL: 4 friends per user inside the user's cluster (homophily) */
    for (int32_t u = 0; u < MB_U; u++)
        for (int t = 0; t < 4; t++) {
            int32_t v;
            do v = w->ucl[u] + MB_C * (int32_t)kgm_rng_below(&g, MB_U / MB_C);
            while (v == u);
            rows_push(&r, 0, 0, 0, 0, 0, u, v, 0, 0, 0, NULL);
        }
    split_view(&w->views[KGM_VIEW_SOCIAL], &r, &g, 0.1, 0.2, F_SOC);
    rows_free(&r);
    /* USER_ATTR: the user's cluster */
    for (int32_t u = 0; u < MB_U; u++) rows_push(&r, u, 0, 0, 0, 0, 0, 0, w->ucl[u], 0, 0, NULL);
    split_view(&w->views[KGM_VIEW_USER_ATTR], &r, &g, 0.2, 0.3, F_U | F_CLS);
    rows_free(&r);
    /* ITEM_LABELS: genre one-hot + "popular" (first factor above 0) */
    for (int32_t i = 0; i < MB_I; i++) {
        float lab[MB_L] = {0};
        lab[w->icl[i]] = 1.0f;
        lab[MB_G] = w->qi[i * MB_K] > 0 ? 1.0f : 0.0f;
        rows_push(&r, 0, i, 0, 0, 0, 0, 0, 0, 0, 0, lab);
    }
    split_view(&w->views[KGM_VIEW_ITEM_LABELS], &r, &g, 0.2, 0.3, F_I | F_MULTI);
    rows_free(&r);
}

void mb_world_destroy(mb_world *w) {
    for (int v = 0; v < 10; v++)
        for (int s = 0; s < 3; s++) {
            mb_split *p = &w->views[v].sp[s];
            free(p->row); free(p->user); free(p->item); free(p->head); free(p->rel); free(p->tail);
            free(p->src); free(p->dst); free(p->weight); free(p->cls); free(p->label); free(p->label2);
            free(p->multi); free(p->rowptr); free(p->col);
        }
    free(w->kg_ptr);
    free(w->kg_col);
    memset(w, 0, sizeof *w);
}

kgm_status mb_world_declare(mb_world *w, kgm_params *ps) {
    w->ps = ps;
    kgm_init nrm = {KGM_INIT_NORMAL, 0.1f}, xav = {KGM_INIT_XAVIER_UNIFORM, 0.0f}, zero = {KGM_INIT_ZEROS, 0.0f};
    KGM_TRY(kgm_params_declare(ps, "enc/user", MB_U, MB_D, nrm, KGM_TENSOR_SPARSE, 0, &w->p_user));
    KGM_TRY(kgm_params_declare(ps, "enc/item", MB_I, MB_D, nrm, KGM_TENSOR_SPARSE, 0, &w->p_item));
    KGM_TRY(kgm_params_declare(ps, "enc/entity", MB_E, MB_D, nrm, KGM_TENSOR_SPARSE, 0, &w->p_ent));
    KGM_TRY(kgm_params_declare(ps, "enc/pair.w", 2 * (MB_D + MB_K) + MB_K, MB_H, xav, 0, 0, &w->p_w));
    KGM_TRY(kgm_params_declare(ps, "enc/pair.b", 1, MB_H, zero, 0, 0, &w->p_b));
    return KGM_OK;
}

/* ---- the backend --------------------------------------------------------- */

static const mb_view *view_of(mb_world *w, kgm_task_ctx *ctx) { return &w->views[ctx->plugin->desc.view]; }

static int64_t be_count(void *self, kgm_task_ctx *ctx, kgm_count_kind what) {
    mb_world *w = self;
    int32_t view = ctx->plugin->desc.view, input = ctx->plugin->desc.input;
    switch (what) {
    case KGM_COUNT_USERS: return MB_U;
    case KGM_COUNT_ITEMS: return MB_I;
    case KGM_COUNT_ENTITIES: return MB_E;
    case KGM_COUNT_RELATIONS: return MB_R;
    case KGM_COUNT_CLASSES: return view == KGM_VIEW_USER_ATTR ? MB_C : view == KGM_VIEW_ITEM_LABELS ? MB_L : 0;
    case KGM_COUNT_ROWS_TRAIN: return view_of(w, ctx)->sp[0].n;
    case KGM_COUNT_ROWS_VALID: return view_of(w, ctx)->sp[1].n;
    case KGM_COUNT_ROWS_TEST: return view_of(w, ctx)->sp[2].n;
    case KGM_COUNT_DIM: return MB_D;
    case KGM_COUNT_HIDDEN:
        return input == KGM_INPUT_PAIR ? MB_H : (input == KGM_INPUT_USER || input == KGM_INPUT_ITEM) ? MB_D + MB_K : 0;
    case KGM_COUNT_PAIR_RAW: return 0; /* the pair goes through a projection (enc/pair.w) */
    }
    return -1;
}

static kgm_status be_split_rows(void *self, kgm_task_ctx *ctx, kgm_split_id split, kgm_batch *out) {
    mb_world *w = self;
    const mb_split *s = &view_of(w, ctx)->sp[split];
    out->n = s->n;
    out->split = split;
    out->n_labels = ctx->plugin->desc.view == KGM_VIEW_ITEM_LABELS ? MB_L
                    : ctx->plugin->desc.view == KGM_VIEW_USER_ATTR ? MB_C
                                                                   : 0;
    out->row = s->row;
    out->user = s->user;
    out->item = s->item;
    out->label = s->label;
    out->label2 = s->label2;
    out->head = s->head;
    out->rel = s->rel;
    out->tail = s->tail;
    out->src = s->src;
    out->dst = s->dst;
    out->weight = s->weight;
    out->cls = s->cls;
    out->multi = s->multi;
    return KGM_OK;
}

static kgm_status be_user_items(void *self, kgm_task_ctx *ctx, kgm_split_id split, const int64_t **rowptr,
                                const int32_t **col) {
    mb_world *w = self;
    const mb_split *s = &view_of(w, ctx)->sp[split];
    if (!s->rowptr) return KGM_ERR(KGM_ERR_UNSUPPORTED, "view %d has no per-user lists", ctx->plugin->desc.view);
    *rowptr = s->rowptr;
    *col = s->col;
    return KGM_OK;
}

static kgm_status be_kg_true_tails(void *self, kgm_task_ctx *ctx, int32_t head, int32_t rel, const int32_t **tails,
                                   int32_t *n) {
    mb_world *w = self;
    (void)ctx;
    if (head < 0 || head >= MB_E || rel < 0 || rel >= MB_R)
        return KGM_ERR(KGM_ERR_INDEX, "kg_true_tails: (%d, %d) out of range", head, rel);
    int64_t q = (int64_t)head * MB_R + rel;
    *tails = w->kg_col + w->kg_ptr[q];
    *n = (int32_t)(w->kg_ptr[q + 1] - w->kg_ptr[q]);
    return KGM_OK;
}

static int32_t table_of(mb_world *w, kgm_kind kind, int32_t *rows) {
    switch (kind) {
    case KGM_KIND_USER: *rows = MB_U; return w->p_user;
    case KGM_KIND_ITEM: *rows = MB_I; return w->p_item;
    case KGM_KIND_ENTITY: *rows = MB_E; return w->p_ent;
    default: *rows = 0; return -1;
    }
}

static kgm_status be_embed(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, const int32_t *ids, int32_t n,
                           kgm_tensor **out) {
    mb_world *w = self;
    (void)ctx;
    int32_t rows, id = table_of(w, kind, &rows);
    if (id < 0) return KGM_ERR(KGM_ERR_UNSUPPORTED, "mini backend: no embeddings of kind %d", (int)kind);
    return kgm_op_gather(tp, kgm_params_tensor(w->ps, id), ids, n, out);
}

static kgm_status be_embed_all(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, kgm_tensor **out) {
    mb_world *w = self;
    int32_t rows;
    if (table_of(w, kind, &rows) < 0) return KGM_ERR(KGM_ERR_UNSUPPORTED, "mini backend: kind %d", (int)kind);
    int32_t *ids;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)rows * sizeof *ids, (void **)&ids));
    for (int32_t i = 0; i < rows; i++) ids[i] = i;
    return be_embed(self, ctx, tp, kind, ids, rows, out);
}

/* concat(embedding, planted features) of users or items. */
static kgm_status side_repr(mb_world *w, kgm_tape *tp, kgm_kind kind, const int32_t *ids, int32_t n, kgm_tensor **out,
                            kgm_tensor **feat) {
    kgm_tensor *e, *f;
    KGM_TRY(be_embed(w, NULL, tp, kind, ids, n, &e));
    KGM_TRY(kgm_tape_tensor(tp, n, MB_K, false, false, &f));
    const float *src = kind == KGM_KIND_USER ? w->pu : w->qi;
    for (int32_t i = 0; i < n; i++) memcpy(f->data + (size_t)i * MB_K, src + (size_t)ids[i] * MB_K, MB_K * sizeof(float));
    kgm_tensor *parts[2] = {e, f};
    if (feat) *feat = f;
    return kgm_op_concat_cols(tp, 2, parts, out);
}

static kgm_status be_represent(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **h) {
    mb_world *w = self;
    switch (ctx->plugin->desc.input) {
    case KGM_INPUT_USER: return side_repr(w, tp, KGM_KIND_USER, b->user, b->n, h, NULL);
    case KGM_INPUT_ITEM: return side_repr(w, tp, KGM_KIND_ITEM, b->item, b->n, h, NULL);
    case KGM_INPUT_PAIR: {
        kgm_tensor *hu, *hi, *fu, *fi, *prod, *x;
        KGM_TRY(side_repr(w, tp, KGM_KIND_USER, b->user, b->n, &hu, &fu));
        KGM_TRY(side_repr(w, tp, KGM_KIND_ITEM, b->item, b->n, &hi, &fi));
        KGM_TRY(kgm_op_mul(tp, fu, fi, &prod));
        kgm_tensor *parts[3] = {hu, hi, prod};
        KGM_TRY(kgm_op_concat_cols(tp, 3, parts, &x));
        KGM_TRY(kgm_op_linear(tp, x, kgm_params_tensor(w->ps, w->p_w), kgm_params_tensor(w->ps, w->p_b), &x));
        return kgm_op_tanh(tp, x, h);
    }
    default: return KGM_ERR(KGM_ERR_UNSUPPORTED, "mini backend: input kind %d", ctx->plugin->desc.input);
    }
}

kgm_task_backend mb_backend(mb_world *w) {
    kgm_task_backend be = {w, be_count, be_split_rows, be_user_items, be_kg_true_tails, be_embed, be_embed_all,
                           be_represent, NULL};
    return be;
}

/* ---- training loop --------------------------------------------------------- */

int mb_metric(const mb_result *r, const char *name) {
    for (int i = 0; i < r->n_metrics; i++)
        if (strcmp(r->names[i], name) == 0) return i;
    return -1;
}

/* A batch of `n` random training rows (arrays in the tape arena). */
kgm_status mb_sample_batch(kgm_tape *tp, const kgm_batch *all, kgm_rng *g, int32_t n, kgm_batch *b) {
    memset(b, 0, sizeof *b);
    b->struct_size = sizeof *b;
    b->n = n;
    b->split = KGM_SPLIT_TRAIN;
    b->n_labels = all->n_labels;
    int32_t *idx;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)n * sizeof *idx, (void **)&idx));
    for (int32_t i = 0; i < n; i++) idx[i] = (int32_t)kgm_rng_below(g, (uint64_t)all->n);
#define PICK(f)                                                                                                    \
    if (all->f) {                                                                                                  \
        void *p;                                                                                                   \
        KGM_TRY(kgm_tape_alloc(tp, (size_t)n * sizeof *all->f, &p));                                               \
        for (int32_t i = 0; i < n; i++)                                                                           \
            memcpy((char *)p + (size_t)i * sizeof *all->f, &all->f[idx[i]], sizeof *all->f);                       \
        b->f = p;                                                                                                  \
    }
    PICK(row); PICK(user); PICK(item); PICK(label); PICK(label2); PICK(head); PICK(rel); PICK(tail);
    PICK(src); PICK(dst); PICK(weight); PICK(cls);
#undef PICK
    if (all->multi) {
        float *p;
        KGM_TRY(kgm_tape_alloc(tp, (size_t)n * all->n_labels * sizeof *p, (void **)&p));
        for (int32_t i = 0; i < n; i++)
            memcpy(p + (size_t)i * all->n_labels, all->multi + (size_t)idx[i] * all->n_labels,
                   (size_t)all->n_labels * sizeof *p);
        b->multi = p;
    }
    return KGM_OK;
}

kgm_status mb_train(const char *plugin_dir, const char *plugin, const kgm_opt_kv *opts, int32_t n_opts, int32_t steps,
                    int32_t batch, float lr, uint64_t seed, mb_result *res) {
    memset(res, 0, sizeof *res);
    mb_world *w = calloc(1, sizeof *w);
    if (!w) return KGM_ERR(KGM_ERR_NOMEM, "world");
    mb_world_init(w, seed);
    kgm_plugin_path sp;
    kgm_plugin *pl = NULL;
    kgm_params *ps = NULL;
    kgm_task_ctx *t = NULL;
    kgm_optim *opt = NULL;
    kgm_tape *tp = NULL;
    kgm_status st = kgm_plugin_path_init_default(&sp, plugin_dir, NULL, NULL);
    if (st) goto out;
    if ((st = kgm_plugin_open(&sp, plugin, &pl))) goto out;
    if ((st = kgm_params_new(&ps))) goto out;
    if ((st = mb_world_declare(w, ps))) goto out;
    kgm_task_backend be = mb_backend(w);
    kgm_task_cfg cfg = {.params = ps, .param_group = 1, .seed = seed, .backend = &be, .log_level = KGM_LOG_WARN};
    if ((st = kgm_task_new(pl, NULL, opts, n_opts, &cfg, &t))) goto out;
    if ((st = kgm_task_declare_params(t))) goto out;
    if ((st = kgm_params_finalize(ps, seed))) goto out;
    kgm_optim_cfg oc = kgm_optim_defaults(KGM_OPT_ADAM);
    oc.lr = lr;
    if ((st = kgm_optim_new(ps, &oc, &opt))) goto out;
    if ((st = kgm_tape_new((size_t)32 << 20, &tp))) goto out;
    res->n_metrics = pl->desc.n_metrics < 16 ? pl->desc.n_metrics : 16;
    for (int i = 0; i < res->n_metrics; i++) snprintf(res->names[i], sizeof res->names[i], "%s", pl->desc.metrics[i].name);
    double vals[64];
    if ((st = kgm_task_eval(t, tp, KGM_SPLIT_TEST, vals))) goto out;
    memcpy(res->before, vals, (size_t)res->n_metrics * sizeof(double));
    kgm_tape_reset(tp);
    kgm_batch all;
    if ((st = be_split_rows(w, t, KGM_SPLIT_TRAIN, &all))) goto out;
    kgm_rng g;
    kgm_rng_init(&g, seed, 4242);
    double first = 0, last = 0;
    for (int32_t s = 0; s < steps; s++) {
        kgm_tape_reset(tp);
        kgm_batch b;
        if ((st = mb_sample_batch(tp, &all, &g, batch, &b))) goto out;
        if (pl->desc.input != KGM_INPUT_NONE && (st = be_represent(w, t, tp, &b, &b.h))) goto out;
        kgm_tensor *loss;
        if ((st = kgm_task_forward_loss(t, tp, &b, &loss))) goto out;
        if (s < 20) first += loss->data[0] / 20.0;
        if (s >= steps - 20) last += loss->data[0] / 20.0;
        if ((st = kgm_tape_backward(tp, loss))) goto out;
        if ((st = kgm_optim_step(opt, 1.0f, NULL))) goto out;
        kgm_params_zero_grad(ps);
    }
    res->first_loss = first;
    res->last_loss = last;
    kgm_tape_reset(tp);
    if ((st = kgm_task_eval(t, tp, KGM_SPLIT_TEST, vals))) goto out;
    memcpy(res->after, vals, (size_t)res->n_metrics * sizeof(double));
out:
    kgm_tape_free(tp);
    kgm_optim_free(opt);
    kgm_task_free(t);
    kgm_params_free(ps);
    kgm_plugin_close(pl);
    kgm_plugin_path_destroy(&sp);
    mb_world_destroy(w);
    free(w);
    return st;
}
