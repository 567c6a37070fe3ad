/* The graph-aware shared encoder: ID, KG, social, user-item graph, text and
 * behaviour components, fusion, pair and tabular representations. */
#include "core/model/encoder.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/load.h"
#include "core/tensor/ops.h"

#define P(id) kgm_params_tensor(ps, (id))

static kgm_status decl(kgm_params *ps, const char *name, int32_t r, int32_t c, kgm_init init, uint32_t flags,
                       int32_t *id) {
    return kgm_params_declare(ps, name, r, c, init, flags, 0, id);
}

/* ---- text tokenisation (hashed bags) ------------------------------------------ */

static uint32_t fnv1a(const char *s, size_t n, uint32_t salt) {
    uint32_t h = 2166136261u ^ salt;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Calls fn(word, len) for every lower-cased alphanumeric word of s. */
typedef kgm_status (*word_fn)(void *u, const char *w, size_t len);
static kgm_status for_words(const char *s, void *u, word_fn fn) {
    char buf[128];
    size_t n = 0;
    for (const char *p = s;; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch && (isalnum(ch) || ch >= 0x80)) {
            if (n < sizeof buf - 1) buf[n++] = (char)tolower(ch);
        } else {
            if (n) KGM_TRY(fn(u, buf, n));
            n = 0;
            if (!ch) break;
        }
    }
    return KGM_OK;
}

typedef struct {
    int32_t *tok;
    int64_t n, cap;
    int32_t buckets, ngram;
} tok_acc;

static kgm_status push_tok(tok_acc *a, uint32_t h) {
    if (a->n == a->cap) {
        int64_t nc = a->cap ? a->cap * 2 : 1024;
        int32_t *t = realloc(a->tok, (size_t)nc * sizeof *t);
        if (!t) return KGM_ERR(KGM_ERR_NOMEM, "text tokens");
        a->tok = t;
        a->cap = nc;
    }
    a->tok[a->n++] = (int32_t)(h % (uint32_t)a->buckets);
    return KGM_OK;
}

static kgm_status hash_word(void *u, const char *w, size_t len) {
    tok_acc *a = u;
    KGM_TRY(push_tok(a, fnv1a(w, len, 0)));
    if (a->ngram > 0) { /* character n-grams of "<word>" (fastText) */
        char b[140];
        size_t m = 0;
        b[m++] = '<';
        memcpy(b + m, w, len);
        m += len;
        b[m++] = '>';
        for (size_t i = 0; i + (size_t)a->ngram <= m; i++) KGM_TRY(push_tok(a, fnv1a(b + i, (size_t)a->ngram, 0x9e37u)));
    }
    return KGM_OK;
}

typedef struct {
    const kgm_wordvecs *wv;
    double *acc;
    int32_t hits;
} vec_acc;

static kgm_status add_vec(void *u, const char *w, size_t len) {
    vec_acc *a = u;
    const float *v = kgm_wordvecs_get(a->wv, w, len);
    if (v) {
        for (int32_t j = 0; j < a->wv->dim; j++) a->acc[j] += v[j];
        a->hits++;
    }
    return KGM_OK;
}

static kgm_status build_text(kgm_encoder *e, const kgm_dataset *ds, kgm_params *ps) {
    const kgm_encoder_cfg *c = &e->cfg;
    if (strcmp(c->text, "hash") == 0) {
        if (c->text_buckets <= 0) return KGM_ERR(KGM_ERR_ARG, "encoder.text_buckets must be > 0");
        tok_acc a = {.buckets = c->text_buckets, .ngram = c->text_char_ngram};
        e->txt_off = calloc((size_t)e->n_items + 1, sizeof(int64_t));
        if (!e->txt_off) return KGM_ERR(KGM_ERR_NOMEM, "text offsets");
        for (int32_t i = 0; i < e->n_items; i++) {
            kgm_status st = for_words(kgm_strings_get(&ds->item_text, i, NULL), &a, hash_word);
            if (st) {
                free(a.tok);
                return st;
            }
            e->txt_off[i + 1] = a.n;
        }
        e->txt_tok = a.tok;
        if (a.n == 0) return KGM_ERR(KGM_ERR_ARG, "encoder.text is 'hash' but no item has any text");
        return decl(ps, "encoder/text_buckets", c->text_buckets, e->d, (kgm_init){KGM_INIT_NORMAL, 0.1f},
                    KGM_TENSOR_SPARSE | (c->text_frozen ? KGM_TENSOR_FROZEN : 0), &e->p_text);
    }
    if (strcmp(c->text, "vectors") == 0 || strcmp(c->text, "npy") == 0) {
        if (!c->text_path[0]) return KGM_ERR(KGM_ERR_ARG, "encoder.text '%s' needs encoder.text_path", c->text);
        if (strcmp(c->text, "npy") == 0) {
            kgm_tensor *m;
            KGM_TRY(kgm_npy_load(c->text_path, &m));
            if (m->rows != e->n_items) {
                int32_t r = m->rows;
                kgm_tensor_free(m);
                return KGM_ERR(KGM_ERR_SHAPE, "%s: expected one row per item (%d), found %d rows", c->text_path,
                               e->n_items, r);
            }
            e->txt_k = m->cols;
            e->txt_init = m->data;
            m->data = NULL;
            kgm_tensor_free(m);
        } else {
            kgm_wordvecs wv;
            kgm_load_opts lo;
            memset(&lo, 0, sizeof lo);
            KGM_TRY(kgm_wordvecs_load(c->text_path, &lo, &wv));
            e->txt_k = wv.dim;
            e->txt_init = calloc((size_t)e->n_items * (size_t)wv.dim, sizeof(float));
            double *acc = calloc((size_t)wv.dim, sizeof(double));
            if (!e->txt_init || !acc) {
                free(acc);
                kgm_wordvecs_destroy(&wv);
                return KGM_ERR(KGM_ERR_NOMEM, "text vectors");
            }
            for (int32_t i = 0; i < e->n_items; i++) {
                memset(acc, 0, (size_t)wv.dim * sizeof(double));
                vec_acc a = {&wv, acc, 0};
                for_words(kgm_strings_get(&ds->item_text, i, NULL), &a, add_vec);
                if (a.hits)
                    for (int32_t j = 0; j < wv.dim; j++) e->txt_init[(size_t)i * wv.dim + j] = (float)(acc[j] / a.hits);
            }
            free(acc);
            kgm_wordvecs_destroy(&wv);
        }
        KGM_TRY(decl(ps, "encoder/text_vectors", e->n_items, e->txt_k, (kgm_init){KGM_INIT_ZEROS, 0},
                     KGM_TENSOR_SPARSE | (c->text_frozen ? KGM_TENSOR_FROZEN : 0), &e->p_text));
        return decl(ps, "encoder/text_proj", e->txt_k, e->d, (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, &e->p_text_proj);
    }
    if (strcmp(c->text, "off") != 0) return KGM_ERR(KGM_ERR_ARG, "unknown encoder.text '%s' (off, hash, vectors, npy)", c->text);
    return KGM_OK;
}

/* ---- graphs ---------------------------------------------------------------------- */

/* Untyped layer values, both sides (the KG side also takes rgcn and kgat). */
static kgm_status layer_weight_rows(const char *layer, int d, int *wrows) {
    if (strcmp(layer, "gcn") == 0) *wrows = d;               /* act(Â h W) */
    else if (strcmp(layer, "lightgcn") == 0) *wrows = 0;     /* no weights */
    else if (strcmp(layer, "sage") == 0 || strcmp(layer, "diffnet") == 0) *wrows = 2 * d; /* [h | mean] W */
    else
        return KGM_ERR(KGM_ERR_ARG, "unknown graph layer '%s' (gcn, sage, lightgcn, diffnet; rgcn and kgat on the KG side)",
                       layer);
    return KGM_OK;
}

#define KGM_RGCN_BASES 4

/* Every KG layer runs on the graph module's CSR view of the KG with inverse
 * relations (each triple gives h <- t and t <- h). The relation-aware layers
 * (R-GCN basis, KGAT) read the relation ids; the untyped ones ignore them. */
static kgm_status build_kg(kgm_encoder *e, const kgm_dataset *ds, kgm_params *ps) {
    const kgm_encoder_cfg *c = &e->cfg;
    kgm_graph_opts go = kgm_graph_default_opts();
    go.n_nodes = e->n_entities;
    go.n_rel = ds->relations.count;
    KGM_TRY(kgm_graph_new_kg(ds->kg.h, ds->kg.r, ds->kg.t, ds->kg.n, &go, NULL, &e->kg_graph));
    kgm_graph_csr_opts co = {.inverse = true};
    KGM_TRY(kgm_graph_csr_build(e->kg_graph, &co, &e->kg_view));
    int32_t R = e->kg_view.n_rel, d = e->d;
    char nm[KGM_PARAM_NAME_MAX];
    kgm_init xav = {KGM_INIT_XAVIER_UNIFORM, 0};
    e->kg_typed = strcmp(c->kg_layer, "rgcn") == 0 || strcmp(c->kg_layer, "kgat") == 0;
    if (!e->kg_typed) {
        int wr = 0;
        KGM_TRY(layer_weight_rows(c->kg_layer, d, &wr));
        for (int l = 0; l < c->kg_hops && wr; l++) {
            snprintf(nm, sizeof nm, "encoder/kg_w%d", l);
            KGM_TRY(decl(ps, nm, wr, d, xav, 0, &e->p_kg_w[l]));
        }
        return KGM_OK;
    }
    for (int l = 0; l < c->kg_hops; l++) {
        if (strcmp(c->kg_layer, "rgcn") == 0) {
            snprintf(nm, sizeof nm, "encoder/kg_bases%d", l);
            KGM_TRY(decl(ps, nm, d, KGM_RGCN_BASES * d, xav, 0, &e->p_kg_w[l]));
            snprintf(nm, sizeof nm, "encoder/kg_coef%d", l);
            KGM_TRY(decl(ps, nm, R, KGM_RGCN_BASES, (kgm_init){KGM_INIT_UNIFORM, 0.5f}, 0, &e->p_kg_a[l]));
            snprintf(nm, sizeof nm, "encoder/kg_self%d", l);
            KGM_TRY(decl(ps, nm, d, d, xav, 0, &e->p_kg_w0[l]));
        } else { /* kgat */
            snprintf(nm, sizeof nm, "encoder/kg_att_w%d", l);
            KGM_TRY(decl(ps, nm, R * d, d, xav, 0, &e->p_kg_wr[l]));
            snprintf(nm, sizeof nm, "encoder/kg_att_e%d", l);
            KGM_TRY(decl(ps, nm, R, d, (kgm_init){KGM_INIT_NORMAL, 0.1f}, 0, &e->p_kg_er[l]));
            snprintf(nm, sizeof nm, "encoder/kg_bi_w1_%d", l);
            KGM_TRY(decl(ps, nm, d, d, xav, 0, &e->p_kg_w[l]));
            snprintf(nm, sizeof nm, "encoder/kg_bi_w2_%d", l);
            KGM_TRY(decl(ps, nm, d, d, xav, 0, &e->p_kg_w2[l]));
        }
    }
    return KGM_OK;
}

/* The social graph as a graph-module view where a user aggregates from the
 * users it trusts: a directed edge u -> f gives the entry (u <- f) (`reverse`),
 * an undirected edge both entries; weights are kept. */
static kgm_status build_social(kgm_encoder *e, const kgm_dataset *ds, kgm_params *ps) {
    const kgm_encoder_cfg *c = &e->cfg;
    int wr = 0;
    KGM_TRY(layer_weight_rows(c->social_layer, e->d, &wr));
    kgm_graph_opts go = kgm_graph_default_opts();
    go.n_nodes = e->n_users;
    go.directed = ds->social.directed;
    kgm_status st = kgm_graph_new_social(ds->social.src, ds->social.dst, ds->social.weight, ds->social.n, &go, NULL,
                                         &e->soc_graph);
    if (st) return kgm_error_wrap(st, "encoder.social (the dataset's social graph)");
    kgm_graph_csr_opts co = {.reverse = true};
    KGM_TRY(kgm_graph_csr_build(e->soc_graph, &co, &e->soc_view));
    char nm[KGM_PARAM_NAME_MAX];
    for (int l = 0; l < c->social_hops && wr; l++) {
        snprintf(nm, sizeof nm, "encoder/social_w%d", l);
        KGM_TRY(decl(ps, nm, wr, e->d, (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, &e->p_soc_w[l]));
    }
    return KGM_OK;
}

static kgm_status build_graphs(kgm_encoder *e, const kgm_dataset *ds, const int64_t *train, int64_t n_train,
                               kgm_params *ps) {
    const kgm_encoder_cfg *c = &e->cfg;
    if (c->kg) {
        if (ds->kg.n == 0) return KGM_ERR(KGM_ERR_ARG, "encoder.kg is on but the dataset has no KG triples");
        if (c->kg_hops < 0 || c->kg_hops > KGM_ENC_MAX_HOPS) return KGM_ERR(KGM_ERR_ARG, "encoder.kg_hops must be in [0, %d]", KGM_ENC_MAX_HOPS);
        KGM_TRY(build_kg(e, ds, ps));
    }
    if (c->social) {
        if (ds->social.n == 0) return KGM_ERR(KGM_ERR_ARG, "encoder.social is on but the dataset has no social edges");
        if (c->social_hops < 0 || c->social_hops > KGM_ENC_MAX_HOPS) return KGM_ERR(KGM_ERR_ARG, "encoder.social_hops must be in [0, %d]", KGM_ENC_MAX_HOPS);
        KGM_TRY(build_social(e, ds, ps));
    }
    if (c->ui_graph) {
        if (c->ui_hops < 0 || c->ui_hops > KGM_ENC_MAX_HOPS) return KGM_ERR(KGM_ERR_ARG, "encoder.ui_hops must be in [0, %d]", KGM_ENC_MAX_HOPS);
        int32_t *u = malloc((size_t)(n_train ? n_train : 1) * sizeof(int32_t));
        int32_t *it = malloc((size_t)(n_train ? n_train : 1) * sizeof(int32_t));
        if (!u || !it) {
            free(u);
            free(it);
            return KGM_ERR(KGM_ERR_NOMEM, "user-item graph");
        }
        int64_t m = 0;
        for (int64_t k = 0; k < n_train; k++) {
            int64_t r = train[k];
            if (ds->inter.kind != KGM_LABEL_RATING && ds->inter.label[r] <= 0) continue; /* positives only */
            u[m] = ds->inter.user[r];
            it[m] = ds->inter.item[r];
            m++;
        }
        kgm_status st = kgm_csr_build(e->n_users, e->n_items, m, u, it, NULL, false, false, KGM_NORM_SYM, &e->ui);
        if (!st) st = kgm_csr_build(e->n_items, e->n_users, m, it, u, NULL, false, false, KGM_NORM_SYM, &e->iu);
        free(u);
        free(it);
        KGM_TRY(st);
    }
    return KGM_OK;
}

static kgm_status build_history(kgm_encoder *e, const kgm_dataset *ds, const int64_t *train, int64_t n_train) {
    int32_t L = e->cfg.history_len;
    if (L <= 0) return KGM_ERR(KGM_ERR_ARG, "encoder.history_len must be > 0");
    if (strcmp(e->cfg.history_pool, "mean") != 0 && strcmp(e->cfg.history_pool, "attention") != 0)
        return KGM_ERR(KGM_ERR_ARG, "unknown encoder.history_pool '%s' (mean, attention)", e->cfg.history_pool);
    /* Train rows per user in time order (row order when there is no time). */
    int64_t *cnt = calloc((size_t)e->n_users + 1, sizeof(int64_t));
    int64_t *rows = malloc((size_t)(n_train ? n_train : 1) * sizeof(int64_t));
    e->hist_off = calloc((size_t)e->n_users + 1, sizeof(int64_t));
    if (!cnt || !rows || !e->hist_off) {
        free(cnt);
        free(rows);
        return KGM_ERR(KGM_ERR_NOMEM, "history");
    }
    for (int64_t k = 0; k < n_train; k++) {
        int64_t r = train[k];
        if (ds->inter.kind != KGM_LABEL_RATING && ds->inter.label[r] <= 0) continue;
        cnt[ds->inter.user[r] + 1]++;
    }
    for (int32_t u = 0; u < e->n_users; u++) cnt[u + 1] += cnt[u];
    int64_t total = cnt[e->n_users];
    int64_t *fill = malloc(((size_t)e->n_users + 1) * sizeof(int64_t));
    if (!fill) {
        free(cnt);
        free(rows);
        return KGM_ERR(KGM_ERR_NOMEM, "history");
    }
    memcpy(fill, cnt, (size_t)e->n_users * sizeof(int64_t));
    for (int64_t k = 0; k < n_train; k++) {
        int64_t r = train[k];
        if (ds->inter.kind != KGM_LABEL_RATING && ds->inter.label[r] <= 0) continue;
        rows[fill[ds->inter.user[r]]++] = r;
    }
    /* insertion sort by timestamp within each user (stable, lists are short-ish) */
    if (ds->inter.ts)
        for (int32_t u = 0; u < e->n_users; u++)
            for (int64_t i = cnt[u] + 1; i < cnt[u + 1]; i++) {
                int64_t x = rows[i], j = i - 1;
                while (j >= cnt[u] && ds->inter.ts[rows[j]] > ds->inter.ts[x]) {
                    rows[j + 1] = rows[j];
                    j--;
                }
                rows[j + 1] = x;
            }
    int64_t m = 0;
    for (int32_t u = 0; u < e->n_users; u++) m += (cnt[u + 1] - cnt[u]) < L ? (cnt[u + 1] - cnt[u]) : L;
    e->hist_item = malloc((size_t)(m ? m : 1) * sizeof(int32_t));
    if (!e->hist_item) {
        free(cnt);
        free(rows);
        free(fill);
        return KGM_ERR(KGM_ERR_NOMEM, "history");
    }
    int64_t pos = 0;
    for (int32_t u = 0; u < e->n_users; u++) {
        int64_t lo = cnt[u + 1] - L > cnt[u] ? cnt[u + 1] - L : cnt[u];
        for (int64_t i = lo; i < cnt[u + 1]; i++) e->hist_item[pos++] = ds->inter.item[rows[i]];
        e->hist_off[u + 1] = pos;
    }
    (void)total;
    free(cnt);
    free(rows);
    free(fill);
    return KGM_OK;
}

static kgm_status build_tabular(kgm_encoder *e, const kgm_dataset *ds, const int64_t *train, int64_t n_train,
                                const char *const *exclude, kgm_params *ps) {
    const kgm_table *t = &ds->tabular;
    e->tab = t;
    for (int32_t c = 0; c < t->ncols; c++) {
        const kgm_column *col = &t->cols[c];
        bool skip = false;
        for (int k = 0; exclude && exclude[k]; k++)
            if (strcmp(exclude[k], col->name) == 0) skip = true;
        if (skip) continue;
        if (col->type == KGM_COL_NUMERIC) {
            if (e->n_num >= KGM_ENC_MAX_TAB_COLS) return KGM_ERR(KGM_ERR_ARG, "too many tabular columns");
            e->num_col[e->n_num++] = c;
        } else if (col->type == KGM_COL_CATEGORICAL) {
            if (e->n_cat >= KGM_ENC_MAX_TAB_COLS) return KGM_ERR(KGM_ERR_ARG, "too many tabular columns");
            char nm[KGM_PARAM_NAME_MAX];
            snprintf(nm, sizeof nm, "encoder/tab_%.60s", col->name);
            e->cat_levels[e->n_cat] = col->levels.count;
            KGM_TRY(decl(ps, nm, col->levels.count + 1, e->cfg.tab_cat_dim, (kgm_init){KGM_INIT_NORMAL, 0.1f},
                         KGM_TENSOR_SPARSE, &e->p_cat[e->n_cat]));
            e->cat_col[e->n_cat++] = c;
        }
    }
    e->num_mean = calloc((size_t)e->n_num + 1, sizeof(float));
    e->num_std = calloc((size_t)e->n_num + 1, sizeof(float));
    if (!e->num_mean || !e->num_std) return KGM_ERR(KGM_ERR_NOMEM, "tabular statistics");
    for (int32_t j = 0; j < e->n_num; j++) { /* statistics of the TRAINING rows only */
        const float *v = t->cols[e->num_col[j]].num;
        double s = 0, s2 = 0;
        int64_t n = 0;
        for (int64_t k = 0; k < n_train; k++) {
            float x = v[train[k]];
            if (isnan(x)) continue;
            s += x;
            s2 += (double)x * x;
            n++;
        }
        double mu = n ? s / n : 0, var = n ? s2 / n - mu * mu : 1;
        e->num_mean[j] = (float)mu;
        e->num_std[j] = (float)(var > 1e-12 ? sqrt(var) : 1.0);
    }
    if (e->n_num + e->n_cat == 0) return KGM_ERR(KGM_ERR_ARG, "the tabular table has no feature columns");
    return KGM_OK;
}

kgm_status kgm_encoder_build(kgm_encoder *e, const kgm_encoder_cfg *cfg, const kgm_dataset *ds,
                             const int64_t *train, int64_t n_train, const char *const *exclude, kgm_params *ps) {
    memset(e, 0, sizeof *e);
    for (int l = 0; l < KGM_ENC_MAX_HOPS; l++) e->p_kg_w[l] = e->p_kg_a[l] = e->p_kg_w0[l] = e->p_kg_wr[l] = e->p_kg_er[l] = e->p_kg_w2[l] = e->p_soc_w[l] = -1;
    e->p_user = e->p_item = e->p_entity = e->p_relation = e->p_text = e->p_text_proj = -1;
    for (int i = 0; i < 2; i++) e->p_fuse_w[i] = e->p_fuse_b[i] = e->p_gate_w[i] = -1;
    e->cfg = *cfg;
    e->d = cfg->dim;
    if (e->d <= 0) return KGM_ERR(KGM_ERR_ARG, "encoder.dim must be > 0");
    e->n_users = ds->users.count;
    e->n_items = ds->items.count;
    e->interactions = e->n_users > 0 && e->n_items > 0 && ds->inter.n > 0;
    e->n_entities = ds->entities.count + 1; /* + a row for items without an entity */
    e->n_relations = ds->relations.count > 0 ? ds->relations.count : 1;
    kgm_init emb = {KGM_INIT_NORMAL, 0.1f};
    if (ds->tabular.rows > 0 && !e->interactions) return build_tabular(e, ds, train, n_train, exclude, ps);
    if (e->n_users > 0) KGM_TRY(decl(ps, "encoder/user", e->n_users, e->d, emb, KGM_TENSOR_SPARSE, &e->p_user));
    if (e->n_items > 0) KGM_TRY(decl(ps, "encoder/item", e->n_items, e->d, emb, KGM_TENSOR_SPARSE, &e->p_item));
    if (ds->kg.n > 0) {
        KGM_TRY(decl(ps, "encoder/entity", e->n_entities, e->d, emb, KGM_TENSOR_SPARSE, &e->p_entity));
        KGM_TRY(decl(ps, "encoder/relation", e->n_relations, e->d, emb, KGM_TENSOR_SPARSE, &e->p_relation));
    }
    e->item_entity = malloc((size_t)(e->n_items ? e->n_items : 1) * sizeof(int32_t));
    if (!e->item_entity) return KGM_ERR(KGM_ERR_NOMEM, "item-entity map");
    for (int32_t i = 0; i < e->n_items; i++) {
        int32_t en = i < ds->n_item_entity ? ds->item_entity[i] : -1;
        e->item_entity[i] = en >= 0 ? en : e->n_entities - 1;
    }
    if (cfg->cross_compress > 0) {
        if (e->p_entity < 0 || e->p_item < 0)
            return KGM_ERR(KGM_ERR_ARG, "encoder.cross_compress needs items linked to KG entities");
        KGM_TRY(kgm_cross_compress_declare(&e->cc, cfg->cross_compress, e->d, "encoder/cross_compress", ps, 0));
        e->entity_item = malloc((size_t)e->n_entities * sizeof(int32_t));
        if (!e->entity_item) return KGM_ERR(KGM_ERR_NOMEM, "entity-item map");
        for (int32_t x = 0; x < e->n_entities; x++) e->entity_item[x] = -1;
        for (int32_t i = 0; i < e->n_items; i++)
            if (e->item_entity[i] < e->n_entities - 1) e->entity_item[e->item_entity[i]] = i;
        e->cc_on = true;
    }
    if (!e->interactions) return KGM_OK; /* e.g. a KG-only dataset */
    KGM_TRY(build_graphs(e, ds, train, n_train, ps));
    KGM_TRY(build_text(e, ds, ps));
    if (cfg->history) KGM_TRY(build_history(e, ds, train, n_train));
    if (strcmp(cfg->fusion, "concat") && strcmp(cfg->fusion, "sum") && strcmp(cfg->fusion, "gated"))
        return KGM_ERR(KGM_ERR_ARG, "unknown encoder.fusion '%s' (concat, sum, gated)", cfg->fusion);
    e->n_user_parts = (cfg->id ? 1 : 0) + (cfg->social ? 1 : 0) + (cfg->ui_graph ? 1 : 0) + (cfg->history ? 1 : 0);
    e->n_item_parts = (cfg->id ? 1 : 0) + (cfg->kg ? 1 : 0) + (cfg->ui_graph ? 1 : 0) + (e->p_text >= 0 ? 1 : 0);
    if (e->n_user_parts == 0) return KGM_ERR(KGM_ERR_ARG, "encoder: the user side has no component (id, social, ui_graph, history all off)");
    if (e->n_item_parts == 0) return KGM_ERR(KGM_ERR_ARG, "encoder: the item side has no component (id, kg, ui_graph, text all off)");
    const char *side[2] = {"user", "item"};
    int parts[2] = {e->n_user_parts, e->n_item_parts};
    for (int s = 0; s < 2; s++) {
        if (parts[s] < 2) continue;
        char nm[KGM_PARAM_NAME_MAX];
        if (strcmp(cfg->fusion, "concat") == 0) {
            snprintf(nm, sizeof nm, "encoder/fuse_%s_w", side[s]);
            KGM_TRY(decl(ps, nm, parts[s] * e->d, e->d, (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, &e->p_fuse_w[s]));
            snprintf(nm, sizeof nm, "encoder/fuse_%s_b", side[s]);
            KGM_TRY(decl(ps, nm, 1, e->d, (kgm_init){KGM_INIT_ZEROS, 0}, 0, &e->p_fuse_b[s]));
        } else if (strcmp(cfg->fusion, "gated") == 0) {
            snprintf(nm, sizeof nm, "encoder/gate_%s_w", side[s]);
            KGM_TRY(decl(ps, nm, parts[s] * e->d, parts[s], (kgm_init){KGM_INIT_XAVIER_UNIFORM, 0}, 0, &e->p_gate_w[s]));
        }
    }
    return KGM_OK;
}

kgm_status kgm_encoder_after_finalize(kgm_encoder *e, kgm_params *ps) {
    if (e->txt_init && e->p_text >= 0) {
        kgm_tensor *t = P(e->p_text);
        memcpy(t->data, e->txt_init, (size_t)e->n_items * (size_t)e->txt_k * sizeof(float));
    }
    return KGM_OK;
}

void kgm_encoder_destroy(kgm_encoder *e) {
    kgm_graph_csr_destroy(&e->kg_view);
    kgm_graph_free(e->kg_graph);
    kgm_graph_csr_destroy(&e->soc_view);
    kgm_graph_free(e->soc_graph);
    kgm_csr_free(&e->ui);
    kgm_csr_free(&e->iu);
    free(e->item_entity);
    free(e->entity_item);
    free(e->txt_off);
    free(e->txt_tok);
    free(e->txt_init);
    free(e->hist_off);
    free(e->hist_item);
    free(e->num_mean);
    free(e->num_std);
    memset(e, 0, sizeof *e);
}

void kgm_encoder_begin_step(kgm_encoder *e) { e->c_ent = e->c_soc = e->c_ui_u = e->c_ui_i = NULL; }

/* ---- propagation ------------------------------------------------------------------ */

/* `hops` layers of `layer` (gcn, sage, lightgcn, diffnet) over the graph
 * view g, starting from x0; returns the mean of the layer outputs 0..hops
 * (LightGCN's layer combination, used for every layer type so the ID signal
 * is kept). All layers are the graph module's tape ops. */
static kgm_status propagate(kgm_tape *tp, kgm_params *ps, const kgm_graph_csr *g, const char *layer, int hops,
                            const int32_t *w, kgm_tensor *x0, kgm_tensor **out) {
    if (strcmp(layer, "lightgcn") == 0) return kgm_graph_lightgcn(tp, g, x0, hops, out); /* fused, mean included */
    kgm_tensor *h = x0, *acc = x0;
    bool gcn = strcmp(layer, "gcn") == 0, sage = strcmp(layer, "sage") == 0;
    for (int l = 0; l < hops; l++) {
        if (gcn) /* tanh(D^-1/2 (A + I) D^-1/2 h W) */
            KGM_TRY(kgm_graph_gcn_layer(tp, g, h, P(w[l]), NULL, KGM_GRAPH_NORM_SYM, true, KGM_GRAPH_ACT_TANH, &h));
        else if (sage) /* tanh([h | mean of neighbours] W) */
            KGM_TRY(kgm_graph_sage_layer(tp, g, h, P(w[l]), NULL, KGM_GRAPH_SAGE_CONCAT, KGM_GRAPH_ACT_TANH, &h));
        else /* diffnet: tanh([h_u | weighted mean of trusted h_v] W) */
            KGM_TRY(kgm_graph_diffnet_layer(tp, g, h, P(w[l]), NULL, KGM_GRAPH_ACT_TANH, &h));
        KGM_TRY(kgm_op_add(tp, acc, h, &acc));
    }
    return kgm_op_scale(tp, acc, 1.0f / (float)(hops + 1), 0.0f, out);
}

/* Drop cached propagations made on another tape or before a reset/rewind. */
static void check_cache(kgm_encoder *e, kgm_tape *tp) {
    if (e->c_tape != tp || e->c_gen != kgm_tape_generation(tp)) {
        kgm_encoder_begin_step(e);
        e->c_tape = tp;
        e->c_gen = kgm_tape_generation(tp);
    }
}

/* R-GCN / KGAT layers over the typed view, mean of the layer outputs. */
static kgm_status typed_propagate(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, kgm_tensor **out) {
    kgm_tensor *h = P(e->p_entity), *acc = h;
    bool rgcn = strcmp(e->cfg.kg_layer, "rgcn") == 0;
    for (int l = 0; l < e->cfg.kg_hops; l++) {
        kgm_tensor *y;
        if (rgcn) {
            KGM_TRY(kgm_graph_rgcn_basis(tp, &e->kg_view, h, P(e->p_kg_w[l]), P(e->p_kg_a[l]), P(e->p_kg_w0[l]), &y));
            KGM_TRY(kgm_op_tanh(tp, y, &y));
        } else {
            KGM_TRY(kgm_graph_kgat_layer(tp, &e->kg_view, h, P(e->p_kg_wr[l]), P(e->p_kg_er[l]), P(e->p_kg_w[l]), NULL,
                                         P(e->p_kg_w2[l]), NULL, &y));
        }
        h = y;
        KGM_TRY(kgm_op_add(tp, acc, h, &acc));
    }
    return kgm_op_scale(tp, acc, 1.0f / (float)(e->cfg.kg_hops + 1), 0.0f, out);
}

static kgm_status ent_prop(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, kgm_tensor **out) {
    check_cache(e, tp);
    if (!e->c_ent && e->kg_typed) KGM_TRY(typed_propagate(e, tp, ps, &e->c_ent));
    if (!e->c_ent) KGM_TRY(propagate(tp, ps, &e->kg_view, e->cfg.kg_layer, e->cfg.kg_hops, e->p_kg_w, P(e->p_entity), &e->c_ent));
    *out = e->c_ent;
    return KGM_OK;
}

static kgm_status soc_prop(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, kgm_tensor **out) {
    check_cache(e, tp);
    if (!e->c_soc)
        KGM_TRY(propagate(tp, ps, &e->soc_view, e->cfg.social_layer, e->cfg.social_hops, e->p_soc_w, P(e->p_user), &e->c_soc));
    *out = e->c_soc;
    return KGM_OK;
}

static kgm_status ui_prop(kgm_encoder *e, kgm_tape *tp, kgm_params *ps) {
    check_cache(e, tp);
    if (e->c_ui_u) return KGM_OK;
    kgm_tensor *u = P(e->p_user), *i = P(e->p_item), *au = u, *ai = i;
    for (int l = 0; l < e->cfg.ui_hops; l++) {
        kgm_tensor *nu, *ni;
        KGM_TRY(kgm_op_spmm(tp, &e->ui.m, NULL, i, &nu));
        KGM_TRY(kgm_op_spmm(tp, &e->iu.m, NULL, u, &ni));
        u = nu;
        i = ni;
        KGM_TRY(kgm_op_add(tp, au, u, &au));
        KGM_TRY(kgm_op_add(tp, ai, i, &ai));
    }
    float f = 1.0f / (float)(e->cfg.ui_hops + 1);
    KGM_TRY(kgm_op_scale(tp, au, f, 0.0f, &e->c_ui_u));
    return kgm_op_scale(tp, ai, f, 0.0f, &e->c_ui_i);
}

/* ---- fusion --------------------------------------------------------------------------- */

static kgm_status fuse(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, int side, int n, kgm_tensor **parts,
                       kgm_tensor **out) {
    if (n == 1) {
        *out = parts[0];
        return KGM_OK;
    }
    if (strcmp(e->cfg.fusion, "sum") == 0) {
        kgm_tensor *acc = parts[0];
        for (int k = 1; k < n; k++) KGM_TRY(kgm_op_add(tp, acc, parts[k], &acc));
        *out = acc;
        return KGM_OK;
    }
    kgm_tensor *cat;
    KGM_TRY(kgm_op_concat_cols(tp, n, parts, &cat));
    if (strcmp(e->cfg.fusion, "gated") == 0) {
        kgm_tensor *z, *g;
        KGM_TRY(kgm_op_linear(tp, cat, P(e->p_gate_w[side]), NULL, &z));
        KGM_TRY(kgm_op_softmax(tp, z, &g));
        return kgm_op_mixture(tp, cat, g, out);
    }
    return kgm_op_linear(tp, cat, P(e->p_fuse_w[side]), P(e->p_fuse_b[side]), out);
}

/* History pooled by mean, or by attention against candidate item vectors
 * `cand` (n, d) when given. */
static kgm_status history(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                          kgm_tensor *cand, kgm_tensor **out) {
    int64_t *off;
    KGM_TRY(kgm_tape_alloc(tp, ((size_t)n + 1) * sizeof(int64_t), (void **)&off));
    off[0] = 0;
    for (int32_t i = 0; i < n; i++) off[i + 1] = off[i] + (e->hist_off[ids[i] + 1] - e->hist_off[ids[i]]);
    int64_t m = off[n];
    int32_t *items, *owner;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(m ? m : 1) * sizeof(int32_t), (void **)&items));
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(m ? m : 1) * sizeof(int32_t), (void **)&owner));
    for (int32_t i = 0; i < n; i++)
        for (int64_t k = e->hist_off[ids[i]], p = off[i]; k < e->hist_off[ids[i] + 1]; k++, p++) {
            items[p] = e->hist_item[k];
            owner[p] = i;
        }
    kgm_tensor *h;
    KGM_TRY(kgm_op_gather(tp, P(e->p_item), items, (int32_t)m, &h));
    if (!cand || strcmp(e->cfg.history_pool, "attention") != 0) return kgm_op_segment_mean(tp, h, off, n, out);
    kgm_tensor *c, *s, *a, *w;
    KGM_TRY(kgm_op_gather(tp, cand, owner, (int32_t)m, &c));
    KGM_TRY(kgm_op_rowdot(tp, h, c, &s));
    KGM_TRY(kgm_op_scale(tp, s, 1.0f / sqrtf((float)e->d), 0.0f, &s));
    KGM_TRY(kgm_op_segment_softmax(tp, s, off, n, &a));
    KGM_TRY(kgm_op_mul_bcast(tp, h, a, &w));
    return kgm_op_segment_sum(tp, w, off, n, out);
}

static kgm_status check_ids(const int32_t *ids, int32_t n, int32_t lim, const char *what) {
    for (int32_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= lim) return KGM_ERR(KGM_ERR_INDEX, "%s id %d outside [0, %d)", what, ids[i], lim);
    return KGM_OK;
}

static kgm_status users_with(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                             kgm_tensor *cand, kgm_tensor **out) {
    if (e->p_user < 0) return KGM_ERR(KGM_ERR_STATE, "this dataset has no users");
    KGM_TRY(check_ids(ids, n, e->n_users, "user"));
    kgm_tensor *parts[4];
    int np = 0;
    if (!e->interactions || e->cfg.id) KGM_TRY(kgm_op_gather(tp, P(e->p_user), ids, n, &parts[np++]));
    if (!e->interactions) {
        *out = parts[0];
        return KGM_OK;
    }
    if (e->cfg.social) {
        kgm_tensor *s;
        KGM_TRY(soc_prop(e, tp, ps, &s));
        KGM_TRY(kgm_op_gather(tp, s, ids, n, &parts[np++]));
    }
    if (e->cfg.ui_graph) {
        KGM_TRY(ui_prop(e, tp, ps));
        KGM_TRY(kgm_op_gather(tp, e->c_ui_u, ids, n, &parts[np++]));
    }
    if (e->cfg.history) KGM_TRY(history(e, tp, ps, ids, n, cand, &parts[np++]));
    return fuse(e, tp, ps, 0, np, parts, out);
}

kgm_status kgm_encoder_users(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                             kgm_tensor **out) {
    return users_with(e, tp, ps, ids, n, NULL, out);
}

kgm_status kgm_encoder_items(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                             kgm_tensor **out) {
    if (e->p_item < 0) return KGM_ERR(KGM_ERR_STATE, "this dataset has no items");
    KGM_TRY(check_ids(ids, n, e->n_items, "item"));
    kgm_tensor *parts[4];
    int np = 0;
    if (!e->interactions || e->cfg.id) KGM_TRY(kgm_op_gather(tp, P(e->p_item), ids, n, &parts[np++]));
    if (e->cc_on && np == 1) { /* MKR: v' from the item vector crossed with its entity vector */
        int32_t *eid;
        kgm_tensor *ev, *vo, *eo;
        KGM_TRY(kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof(int32_t), (void **)&eid));
        for (int32_t i = 0; i < n; i++) eid[i] = e->item_entity[ids[i]];
        KGM_TRY(kgm_op_gather(tp, P(e->p_entity), eid, n, &ev));
        KGM_TRY(kgm_cross_compress_forward(&e->cc, tp, ps, parts[0], ev, &vo, &eo));
        parts[0] = vo;
    }
    if (!e->interactions) {
        *out = parts[0];
        return KGM_OK;
    }
    if (e->cfg.kg) {
        kgm_tensor *ent;
        int32_t *eid;
        KGM_TRY(ent_prop(e, tp, ps, &ent));
        KGM_TRY(kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof(int32_t), (void **)&eid));
        for (int32_t i = 0; i < n; i++) eid[i] = e->item_entity[ids[i]];
        KGM_TRY(kgm_op_gather(tp, ent, eid, n, &parts[np++]));
    }
    if (e->cfg.ui_graph) {
        KGM_TRY(ui_prop(e, tp, ps));
        KGM_TRY(kgm_op_gather(tp, e->c_ui_i, ids, n, &parts[np++]));
    }
    if (e->p_text >= 0) {
        if (e->txt_tok) {
            int64_t *off;
            KGM_TRY(kgm_tape_alloc(tp, ((size_t)n + 1) * sizeof(int64_t), (void **)&off));
            off[0] = 0;
            for (int32_t i = 0; i < n; i++) off[i + 1] = off[i] + e->txt_off[ids[i] + 1] - e->txt_off[ids[i]];
            int32_t *tok;
            KGM_TRY(kgm_tape_alloc(tp, (size_t)(off[n] ? off[n] : 1) * sizeof(int32_t), (void **)&tok));
            for (int32_t i = 0; i < n; i++)
                memcpy(tok + off[i], e->txt_tok + e->txt_off[ids[i]], (size_t)(off[i + 1] - off[i]) * sizeof(int32_t));
            kgm_tensor *g;
            KGM_TRY(kgm_op_gather(tp, P(e->p_text), tok, (int32_t)off[n], &g));
            KGM_TRY(kgm_op_segment_mean(tp, g, off, n, &parts[np++]));
        } else {
            kgm_tensor *g;
            KGM_TRY(kgm_op_gather(tp, P(e->p_text), ids, n, &g));
            KGM_TRY(kgm_op_matmul(tp, g, P(e->p_text_proj), false, false, &parts[np++]));
        }
    }
    return fuse(e, tp, ps, 1, np, parts, out);
}

kgm_status kgm_encoder_entities(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                                kgm_tensor **out) {
    if (e->p_entity < 0) return KGM_ERR(KGM_ERR_STATE, "this dataset has no knowledge graph");
    KGM_TRY(check_ids(ids, n, e->n_entities - 1, "entity"));
    kgm_tensor *src = P(e->p_entity);
    if (e->cfg.kg && e->interactions) KGM_TRY(ent_prop(e, tp, ps, &src));
    if (!e->cc_on) return kgm_op_gather(tp, src, ids, n, out);
    /* MKR: an entity that is an item's is crossed with that item's vector;
     * other entities pass through (mask). */
    int32_t *iid;
    float *mk;
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof(int32_t), (void **)&iid));
    KGM_TRY(kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof(float), (void **)&mk));
    for (int32_t i = 0; i < n; i++) {
        int32_t it = e->entity_item[ids[i]];
        iid[i] = it >= 0 ? it : 0;
        mk[i] = it >= 0 ? 1.0f : 0.0f;
    }
    kgm_tensor *ent, *v, *vo, *eo, *m1, *m0, *a, *b;
    KGM_TRY(kgm_op_gather(tp, src, ids, n, &ent));
    KGM_TRY(kgm_op_gather(tp, P(e->p_item), iid, n, &v));
    KGM_TRY(kgm_cross_compress_forward(&e->cc, tp, ps, v, ent, &vo, &eo));
    KGM_TRY(kgm_tape_input(tp, n, 1, mk, &m1));
    KGM_TRY(kgm_op_scale(tp, m1, -1.0f, 1.0f, &m0));
    KGM_TRY(kgm_op_mul_bcast(tp, eo, m1, &a));
    KGM_TRY(kgm_op_mul_bcast(tp, ent, m0, &b));
    return kgm_op_add(tp, a, b, out);
}

kgm_status kgm_encoder_relations(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                                 kgm_tensor **out) {
    if (e->p_relation < 0) return KGM_ERR(KGM_ERR_STATE, "this dataset has no knowledge graph");
    KGM_TRY(check_ids(ids, n, e->n_relations, "relation"));
    return kgm_op_gather(tp, P(e->p_relation), ids, n, out);
}

int32_t kgm_encoder_pair_dim(const kgm_encoder *e) { return 3 * e->d; }

kgm_status kgm_encoder_pair(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *users, const int32_t *items,
                            int32_t n, kgm_tensor **out) {
    kgm_tensor *v, *u, *uv;
    KGM_TRY(kgm_encoder_items(e, tp, ps, items, n, &v));
    KGM_TRY(users_with(e, tp, ps, users, n, v, &u));
    KGM_TRY(kgm_op_mul(tp, u, v, &uv));
    kgm_tensor *three[3] = {u, v, uv};
    return kgm_op_concat_cols(tp, 3, three, out);
}

int32_t kgm_encoder_tab_dim(const kgm_encoder *e) { return e->n_num + e->n_cat * e->cfg.tab_cat_dim; }

kgm_status kgm_encoder_tabular(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int64_t *rows, int32_t n,
                               kgm_tensor **out) {
    if (!e->tab || e->n_num + e->n_cat == 0) return KGM_ERR(KGM_ERR_STATE, "the encoder has no tabular inputs");
    kgm_tensor *parts[KGM_ENC_MAX_TAB_COLS + 1];
    int np = 0;
    if (e->n_num) {
        kgm_tensor *x;
        KGM_TRY(kgm_tape_tensor(tp, n, e->n_num, false, false, &x));
        for (int32_t i = 0; i < n; i++)
            for (int32_t j = 0; j < e->n_num; j++) {
                float v = e->tab->cols[e->num_col[j]].num[rows[i]];
                x->data[(size_t)i * e->n_num + j] = isnan(v) ? 0.0f : (v - e->num_mean[j]) / e->num_std[j];
            }
        parts[np++] = x;
    }
    for (int32_t c = 0; c < e->n_cat; c++) {
        int32_t *idx;
        KGM_TRY(kgm_tape_alloc(tp, (size_t)(n ? n : 1) * sizeof(int32_t), (void **)&idx));
        const int32_t *codes = e->tab->cols[e->cat_col[c]].cat;
        for (int32_t i = 0; i < n; i++) {
            int32_t v = codes[rows[i]];
            idx[i] = (v >= 0 && v < e->cat_levels[c]) ? v : e->cat_levels[c]; /* missing -> own row */
        }
        KGM_TRY(kgm_op_gather(tp, P(e->p_cat[c]), idx, n, &parts[np++]));
    }
    if (np == 1) {
        *out = parts[0];
        return KGM_OK;
    }
    return kgm_op_concat_cols(tp, np, parts, out);
}
