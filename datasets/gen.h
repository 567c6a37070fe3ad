/* datasets/gen.h — synthetic data generators.
 *
 * Two generators fill an empty kgm_dataset (kgm_dataset_init'ed, nothing
 * added yet):
 *   - kgm_gen_mmoe: the MMoE synthetic regression benchmark (Ma et al., KDD
 *     2018, Section 3; BASELINES.md §1) as a tabular table;
 *   - kgm_gen_world: a recommendation world with planted structure (latent
 *     user/item factors; clicks or ratings from them; a KG, a social graph,
 *     item text, user and item attributes all derived from the factors;
 *     cold-start users and items), so that each encoder component has a
 *     known, measurable effect. docs/generators.md lists every knob.
 * Both are deterministic functions of their configuration: each part draws
 * from its own named rng stream of cfg->seed, so the hidden quantities (the
 * MMoE task vectors, the world's factors and cold sets) can be recomputed
 * from the configuration alone (kgm_gen_mmoe_weights, kgm_gen_world_truth_new)
 * without storing them in the dataset. The settings are recorded in
 * ds->prov (loader "gen-mmoe" / "gen-world", one source whose path spells
 * out every setting and whose checksum hashes settings and content), so
 * kgm_dataset_fingerprint tells generated datasets apart. */
#ifndef KGMTL_DATA_GEN_H
#define KGMTL_DATA_GEN_H

#include "datasets/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* MMoE synthetic benchmark                                                  */

#define KGM_GEN_MMOE_MAX_M 64

/* x ~ N(0, I_d); w1 = c·u1, w2 = c·(p·u1 + sqrt(1 - p²)·u2) with u1, u2
 * orthonormal; y_k = w_kᵀx + Σ_{i=1..m} sin(alpha_i·w_kᵀx + beta_i) + eps_k,
 * eps_k ~ N(0, noise_std²), alpha_i = i and beta_i = (i - 1)² (i = 1..m), as
 * Google's public re-implementation does (the paper leaves them open). */
typedef struct kgm_gen_mmoe_cfg {
    int32_t d;          /* input dimension (100) */
    int32_t m;          /* number of sine terms (10), 0..KGM_GEN_MMOE_MAX_M */
    double c;           /* scale of the task vectors (1) */
    double p;           /* correlation score in [-1, 1] (0.9): cos(w1, w2) */
    double noise_std;   /* std of the label noise eps (0.01) */
    int64_t n_train;    /* rows of each split (10000 / 1000 / 1000) */
    int64_t n_valid;
    int64_t n_test;
    uint64_t seed;      /* (1) */
} kgm_gen_mmoe_cfg;

/* The defaults above. */
void kgm_gen_mmoe_cfg_default(kgm_gen_mmoe_cfg *cfg);

/* Generate n_train + n_valid + n_test rows into ds->tabular: NUMERIC columns
 * x0..x{d-1}, y1, y2 and a CATEGORICAL column "split" whose levels are
 * "train" (code 0), "valid" (1), "test" (2) — always in that order, even when
 * a split is empty; rows are train rows, then valid, then test. Labels are
 * computed from the stored (float) x, in double precision. ds must be empty
 * (KGM_ERR_STATE otherwise); KGM_ERR_ARG for an invalid configuration. */
kgm_status kgm_gen_mmoe(const kgm_gen_mmoe_cfg *cfg, kgm_dataset *ds);

/* The hidden vectors of the generator for `cfg` (each array has cfg->d
 * entries; any pointer may be NULL): u1, u2 orthonormal, w1, w2 as above.
 * Equal to what kgm_gen_mmoe(cfg) used. */
kgm_status kgm_gen_mmoe_weights(const kgm_gen_mmoe_cfg *cfg, double *u1, double *u2, double *w1,
                                double *w2);

/* ------------------------------------------------------------------------ */
/* Recommendation world                                                      */

typedef enum kgm_gen_label {
    KGM_GEN_LABEL_CLICK = 0, /* binary click on each impression (inter.kind BINARY) */
    KGM_GEN_LABEL_RATING = 1 /* rating 1..5 on each impression (inter.kind RATING) */
} kgm_gen_label;

/* Every knob with its default (kgm_gen_world_cfg_default); docs/generators.md
 * says what each one plants and which encoder component should profit. */
typedef struct kgm_gen_world_cfg {
    uint64_t seed;                 /* (1) */
    /* sizes */
    int32_t n_users;               /* (600) */
    int32_t n_items;               /* (800) */
    int32_t dim;                   /* latent factors k (8) */
    /* impressions (one interaction row per impression, no (user, item) twice) */
    double interactions_per_user;  /* mean impressions per user (40) */
    double density;                /* if > 0: overrides the above with density × n_items (0) */
    double activity_sigma;         /* log-normal spread of per-user activity (0.5) */
    int32_t min_per_user;          /* at least this many impressions per user (5) */
    double popularity_exponent;    /* Zipf exponent of item popularity (0.8) */
    double affinity_temp;          /* impressions ∝ popularity·exp(temp·u·v) (1.0) */
    /* labels */
    kgm_gen_label labels;          /* (CLICK) */
    double click_scale;            /* click ~ Bernoulli(sigmoid(scale·(u·v + b_i) + bias)) (3.0) */
    double click_bias;             /* (-3.0) */
    double item_bias_std;          /* std of the item quality b_i (0.3) */
    double rating_scale;           /* rating = round(3 + scale·(u·v + b_i) + N(0, noise²)) in 1..5 (1.2) */
    double rating_noise;           /* (0.5) */
    double label_noise;            /* probability a label is replaced by a random one (0.05) */
    bool conversion;               /* CLICK only: numeric column "conversion" in ds->tabular (false) */
    double cvr_scale;              /* conversion | click ~ Bernoulli(sigmoid(scale·u·v + q·b_i + bias)) (2.0) */
    double cvr_quality;            /* q (2.0) */
    double cvr_bias;               /* (-5.0) */
    /* timestamps */
    int64_t ts_start;              /* unix seconds of the first possible event (1577836800 = 2020-01-01) */
    int64_t ts_span;               /* seconds the events span (365 days) */
    /* split: warm rows at random by these fractions; rows of cold entities go to valid/test */
    double valid_frac;             /* (0.1) */
    double test_frac;              /* (0.2) */
    double cold_user_frac;         /* fraction of users that are cold (0.1) */
    double cold_item_frac;         /* fraction of items that are cold (0.1) */
    int32_t cold_train_max;        /* train rows a cold user/item may keep (0 = none) */
    /* knowledge graph: item entities -(rel r)-> "r<r>:<bucket>" entities */
    int32_t kg_relations;          /* relations derived from item factors (12) */
    int32_t kg_values;             /* tail entities (quantile buckets) per relation (6) */
    double kg_noise;               /* projection noise, relative to the projection's std (0.3) */
    double kg_coverage;            /* probability that an (item, relation) triple exists (0.9) */
    bool kg_chain;                 /* link neighbouring buckets: "r<r>:<b>" -next-> "r<r>:<b+1>" (true) */
    /* social graph (undirected, each edge once) */
    double social_degree;          /* mean degree (10); 0 = no social graph */
    double social_homophily;       /* partner ∝ exp(h·cos(u, u')) among candidates (4.0); 0 = random */
    int32_t social_candidates;     /* candidates per edge (64) */
    /* item text */
    int32_t text_len;              /* words per item (12); 0 = no text */
    double text_signal;            /* fraction of factor words, the rest common words (0.5) */
    int32_t text_vocab;            /* words per (factor dimension, sign) vocabulary (8) */
    /* attributes */
    int32_t user_segments;         /* user attribute "segment": argmax of projections (4); 0 = none */
    double segment_noise;          /* probability of a random segment instead (0.05) */
    int32_t item_genres;           /* item attribute "genres": thresholded projections (6); 0 = none */
    double genre_rate;             /* prevalence of each genre (0.25); every item gets >= 1 */
} kgm_gen_world_cfg;

/* The defaults above: a world a quickstart trains on in seconds. */
void kgm_gen_world_cfg_default(kgm_gen_world_cfg *cfg);

/* Generate the world into `ds` (empty; KGM_ERR_STATE otherwise):
 *   users "u<i>", items "i<j>" (dense ids i, j);
 *   ds->inter: one row per impression, user-major, time-ordered per user, with
 *     click (0/1) or rating labels and timestamps;
 *   ds->split: train/valid/test rows (ascending), prov.prep.split GIVEN;
 *   ds->kg: entity j = "item:<j>" (ds->item_entity[j] = j), then the tails
 *     "r<r>:<b>" = entity n_items + r·kg_values + b; relation r = "r<r>" has
 *     id r, and "next" (kg_chain) id kg_relations; triples (item:j, r<r>,
 *     r<r>:<b>) and (r<r>:<b>, next, r<r>:<b+1>);
 *   ds->social: undirected homophilous edges;
 *   ds->item_text: space-separated words;
 *   ds->user_attrs "segment" (CATEGORICAL), ds->item_attrs "genres" (MULTI);
 *   ds->tabular "conversion" (NUMERIC, row r = interaction r) with cfg->conversion.
 * KGM_ERR_ARG for an invalid configuration. */
kgm_status kgm_gen_world(const kgm_gen_world_cfg *cfg, kgm_dataset *ds);

/* Ground truth of a world, recomputed from the configuration (what
 * kgm_gen_world(cfg) planted): for tests, analysis and cold-start reports. */
typedef struct kgm_gen_world_truth {
    int32_t n_users, n_items, dim;
    float *user_factors;   /* (n_users, dim) row-major */
    float *item_factors;   /* (n_items, dim) */
    float *item_bias;      /* (n_items) b_i */
    uint8_t *cold_user;    /* (n_users) 1 = planted cold */
    uint8_t *cold_item;    /* (n_items) */
    int32_t n_cold_users, n_cold_items;
    /* text vocabulary: word w belongs to factor dimension word_dim[w] with
     * sign word_sign[w] (+1 / -1), or is a common word (word_dim -1, sign 0) */
    int32_t n_words;
    char **words;          /* (n_words) NUL-terminated */
    int32_t *word_dim;     /* (n_words) */
    int8_t *word_sign;     /* (n_words) */
} kgm_gen_world_truth;

/* Fill `out` (owned by the caller, free with kgm_gen_world_truth_free). */
kgm_status kgm_gen_world_truth_new(const kgm_gen_world_cfg *cfg, kgm_gen_world_truth *out);
void kgm_gen_world_truth_free(kgm_gen_world_truth *t);

/* Cold entities as seen by the split of any dataset: cold_users[u] = 1 when
 * user u has interactions but at most `max_train` of them in ds->split.train
 * (likewise items); arrays have users.count / items.count entries (either may
 * be NULL); counts in *n_cold_users / *n_cold_items (may be NULL). For a
 * generated world with max_train = cfg.cold_train_max this contains every
 * planted cold entity that has any interaction. */
kgm_status kgm_gen_cold_from_split(const kgm_dataset *ds, int32_t max_train, uint8_t *cold_users,
                                   uint8_t *cold_items, int32_t *n_cold_users, int32_t *n_cold_items);

/* ------------------------------------------------------------------------ */
/* Provenance of generated data                                              */

/* Name and record a generated dataset: sets ds->name to `name` (truncated),
 * ds->prov.loader to `loader` and adds one source {path = "<loader>:<settings>",
 * role "generator", bytes 0, checksum = hash of settings and `content_hash`},
 * so that kgm_dataset_fingerprint differs between settings and contents. */
kgm_status kgm_gen_record(kgm_dataset *ds, const char *loader, const char *name, const char *settings,
                          uint64_t content_hash);

#ifdef __cplusplus
}
#endif
#endif
