/* core/model/encoder.h — the graph-aware shared encoder.
 *
 * User side:  ID embedding, social propagation (DiffNet / GCN / SAGE /
 *             LightGCN layers of the graph module over the user–user graph), behaviour embedding (the
 *             user's most recent training items, pooled by mean or by
 *             attention against the candidate item), user–item graph
 *             propagation (LightGCN) — fused by concat+linear, sum or a gate.
 * Item side:  ID embedding, KG propagation of the item's entity (GCN / SAGE /
 *             LightGCN / DiffNet / R-GCN / KGAT layers of the graph module over
 *             the entity graph, both edge directions), text
 *             (hashed word / char n-gram bags, or averaged pretrained word
 *             vectors, or an external .npy matrix; frozen or fine-tuned),
 *             user–item propagation — fused the same way.
 * Pair:       x = [u, v, u ⊙ v] (B, 3d) — the mixer's input.
 * Tabular:    numeric columns z-scored with training statistics, categorical
 *             columns embedded; x = their concatenation.
 * Every component can be switched off in the manifest; ablations toggle them.
 * Full-graph propagations are computed once per step and cached until
 * kgm_encoder_begin_step. */
#ifndef KGMTL_ENCODER_H
#define KGMTL_ENCODER_H

#include "core/train/config.h"
#include "core/tensor/csr.h"
#include "datasets/dataset.h"
#include "graph/graph.h"
#include "core/model/crosstask.h"
#include "core/tensor/params.h"
#include "core/tensor/tape.h"

#define KGM_ENC_MAX_HOPS 8 /* encoder.kg_hops / social_hops / ui_hops in [0, 8]; 0 = the ID table itself */
#define KGM_ENC_MAX_TAB_COLS 512

typedef struct kgm_encoder {
    kgm_encoder_cfg cfg;
    int32_t d;
    int32_t n_users, n_items, n_entities, n_relations;
    bool interactions;          /* the dataset has users and items */
    /* parameter ids (-1 unused) */
    int32_t p_user, p_item, p_entity, p_relation;
    int32_t p_text, p_text_proj;
    int32_t p_kg_w[KGM_ENC_MAX_HOPS], p_soc_w[KGM_ENC_MAX_HOPS];
    /* relation-aware KG layers (graph module): R-GCN basis / KGAT */
    int32_t p_kg_a[KGM_ENC_MAX_HOPS], p_kg_w0[KGM_ENC_MAX_HOPS];
    int32_t p_kg_wr[KGM_ENC_MAX_HOPS], p_kg_er[KGM_ENC_MAX_HOPS], p_kg_w2[KGM_ENC_MAX_HOPS];
    /* graph-module views, built once (encoder.kg / encoder.social on) */
    kgm_graph *kg_graph;        /* the KG (igraph) */
    kgm_graph_csr kg_view;      /* its CSR view with inverse relations (every KG layer) */
    bool kg_typed;              /* kg_layer is relation-aware (rgcn / kgat) */
    kgm_graph *soc_graph;       /* the social graph (igraph) */
    kgm_graph_csr soc_view;     /* users aggregate from the users they trust (reverse view) */
    /* MKR cross&compress between an item's vector and its entity's vector */
    bool cc_on;
    kgm_cross_compress cc;
    int32_t *entity_item;       /* (n_entities) item linked to each entity, -1 = none */
    int32_t p_fuse_w[2], p_fuse_b[2], p_gate_w[2];
    /* graphs */
    kgm_csr_owned ui, iu;       /* user-item graph: iu items <- users, ui users <- items */
    int32_t *item_entity;       /* (n_items) entity row of each item (n_entities-1 = none) */
    /* text */
    int64_t *txt_off;           /* hash: (n_items+1) */
    int32_t *txt_tok;
    float *txt_init;            /* vectors/npy: (n_items, txt_k) initial values */
    int32_t txt_k;
    /* behaviour */
    int64_t *hist_off;          /* (n_users+1) */
    int32_t *hist_item;
    /* tabular */
    int32_t n_num, n_cat;
    int32_t num_col[KGM_ENC_MAX_TAB_COLS], cat_col[KGM_ENC_MAX_TAB_COLS];
    int32_t cat_levels[KGM_ENC_MAX_TAB_COLS];
    int32_t p_cat[KGM_ENC_MAX_TAB_COLS];
    float *num_mean, *num_std;
    const kgm_table *tab;
    /* per-step cache of full-graph propagations */
    kgm_tensor *c_ent, *c_soc, *c_ui_u, *c_ui_i;
    const kgm_tape *c_tape;     /* tape and generation the cache belongs to */
    uint64_t c_gen;
    int32_t n_user_parts, n_item_parts;
} kgm_encoder;

/* Build graphs, text and history structures from `ds` and declare the
 * parameters (group 0). `train_rows` (n_train indices into ds->inter) are the
 * interactions the encoder may look at (history, user–item graph): never the
 * validation or test rows. `exclude_cols` (NULL-terminated) are tabular
 * columns that are labels or the split marker. */
kgm_status kgm_encoder_build(kgm_encoder *e, const kgm_encoder_cfg *cfg, const kgm_dataset *ds,
                             const int64_t *train_rows, int64_t n_train, const char *const *exclude_cols,
                             kgm_params *ps);
/* After kgm_params_finalize: copy pretrained text vectors into their table. */
kgm_status kgm_encoder_after_finalize(kgm_encoder *e, kgm_params *ps);
void kgm_encoder_destroy(kgm_encoder *e);
/* Forget cached propagations (call after every tape reset). */
void kgm_encoder_begin_step(kgm_encoder *e);

/* (n, d) user / item / entity / relation representations. */
kgm_status kgm_encoder_users(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                             kgm_tensor **out);
kgm_status kgm_encoder_items(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                             kgm_tensor **out);
kgm_status kgm_encoder_entities(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                                kgm_tensor **out);
kgm_status kgm_encoder_relations(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *ids, int32_t n,
                                 kgm_tensor **out);
/* (n, 3d) pair representation [u, v, u ⊙ v]. */
kgm_status kgm_encoder_pair(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int32_t *users,
                            const int32_t *items, int32_t n, kgm_tensor **out);
int32_t kgm_encoder_pair_dim(const kgm_encoder *e);
/* (n, tab_dim) tabular features of table rows. */
kgm_status kgm_encoder_tabular(kgm_encoder *e, kgm_tape *tp, kgm_params *ps, const int64_t *rows, int32_t n,
                               kgm_tensor **out);
int32_t kgm_encoder_tab_dim(const kgm_encoder *e);

#endif
