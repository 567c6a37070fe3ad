/* core/train/config.h — the resolved configuration of ONE training run.
 *
 * A manifest (YAML, see docs/manifest.md) is parsed, inherited (`base:`),
 * expanded over its ablation axes and seeds, validated, and each run becomes
 * one kgm_run_config. The trainer (core/train/trainer.h) consumes only this struct,
 * so everything a run does is visible here; kgm_run_config_hash names it.
 * Strings are fixed-size so a config can be copied and hashed as plain data.
 * kgm_run_config_default fills every default documented in docs/manifest.md. */
#ifndef KGMTL_CONFIG_H
#define KGMTL_CONFIG_H

#include <stdio.h>

#include "core/base/status.h"

#define KGM_MAX_TASKS 16
#define KGM_MAX_TASK_OPTS 32
#define KGM_STR 256
#define KGM_PATH 1024

/* ---- dataset ---------------------------------------------------------------- */
typedef struct kgm_data_cfg {
    /* "world" (generated recommendation world), "mmoe" (MMoE synthetic),
     * "movielens-small", "movielens", "mkr", "kgat", "census-kdd",
     * "kernlab-income", "wordnet", "cache" (a kgm_dataset_save file), "auto". */
    char source[64];
    char path[KGM_PATH];      /* directory or file for loaders */
    char cache[KGM_PATH];     /* binary cache path ("" = none) */
    char social_path[KGM_PATH]; /* optional `user friend [weight]` edge list */
    char kg_path[KGM_PATH];     /* optional extra KG triples file, merged into the KG */
    bool social_directed;       /* social edge lists are directed (default: (a, b) = (b, a), merged) */
    char exclude_columns[KGM_STR]; /* tabular columns kept out of the inputs: "a,b,..." */
    /* preparation */
    int32_t min_user_interactions, min_item_interactions;
    double rating_threshold;  /* NaN = keep labels */
    char split[16];           /* "random", "loo", "temporal", "mkr", "given", "generator" */
    double valid_frac, test_frac;
    int32_t eval_negatives;
    int32_t train_negatives;  /* sampled negatives per positive for implicit CTR data (MKR: 1) */
    /* generated data (world / mmoe) */
    int32_t n_users, n_items, latent_dim, interactions_per_user;
    double cold_user_frac, cold_item_frac, noise;
    int32_t mmoe_dim;         /* d */
    double mmoe_corr;         /* p */
    int32_t mmoe_n_train, mmoe_n_valid, mmoe_n_test;
    uint64_t data_seed;       /* generator seed (0 = the run's seed) */
} kgm_data_cfg;

/* ---- shared encoder -------------------------------------------------------- */
typedef struct kgm_encoder_cfg {
    int32_t dim;              /* embedding size d (default 32) */
    bool id;                  /* user/item ID embeddings (default on) */
    bool kg;                  /* KG propagation on the item/entity side */
    char kg_layer[16];        /* "gcn", "sage", "lightgcn", "rgcn", "kgat" */
    int32_t kg_hops;
    bool social;              /* social propagation on the user side */
    char social_layer[16];    /* "diffnet", "gcn", "sage", "lightgcn" */
    int32_t social_hops;
    bool ui_graph;            /* user–item graph propagation (LightGCN) */
    int32_t ui_hops;
    char text[16];            /* "off", "hash", "vectors", "npy" */
    char text_path[KGM_PATH]; /* word vectors (vectors) or (n_items, k) matrix (npy) */
    int32_t text_buckets;     /* hash: number of hashed n-gram buckets */
    int32_t text_char_ngram;  /* hash: character n-gram length (0 = words only) */
    bool text_frozen;
    bool history;             /* behaviour embedding from the user's recent items */
    int32_t history_len;
    char history_pool[16];    /* "mean", "attention" */
    char fusion[16];          /* "concat", "sum", "gated" */
    int32_t tab_cat_dim;      /* tabular: embedding size of categorical columns */
    double dropout;
    int32_t cross_compress;   /* MKR cross&compress units between item and entity vectors (0 = off) */
} kgm_encoder_cfg;

/* ---- mixer (shared MTL architecture) ----------------------------------------- */
typedef struct kgm_mixer_cfg {
    char kind[16];            /* "shared_bottom", "mmoe", "omoe", "ple", "separate", "cross_stitch" */
    int32_t bottom_hidden;    /* shared-bottom / separate towers: hidden units */
    int32_t n_experts;        /* MMoE/OMoE experts; PLE shared experts */
    int32_t task_experts;     /* PLE: experts per task */
    int32_t expert_hidden;    /* units of each expert's hidden layer */
    int32_t levels;           /* PLE extraction levels */
    int32_t tower_hidden;     /* per-task tower hidden units (0 = no tower layer) */
    double dropout;
    bool cross_stitch_per_channel; /* cross_stitch: a T x T mixing per channel instead of per layer */
    char connections[KGM_STR]; /* "from>to[:aitm|gate][;...]" task-to-task transfer after the towers */
} kgm_mixer_cfg;

/* ---- tasks ------------------------------------------------------------------------- */
typedef struct kgm_opt_entry {
    char key[64];
    char value[KGM_STR];
    char where[KGM_STR];      /* "file:line:col" of the value, for messages */
} kgm_opt_entry;

typedef struct kgm_task_spec {
    char name[64];            /* instance name (default: plugin name) */
    char plugin[KGM_PATH];    /* plugin name on the search path, or a path to a .so */
    double weight;            /* static weight / initial weight (default 1) */
    double lr_mult;           /* learning-rate multiplier for this task's steps (default 1) */
    int32_t every;            /* alternating "every": run every k steps (default 1) */
    int32_t batch_size;       /* 0 = optimisation.batch_size */
    char label[64];           /* tabular data: label column */
    char where[KGM_STR];      /* position of the task in the manifest */
    char consistency_with[64];    /* consistency regularisation against this task ("" = off) */
    double consistency_weight;
    char consistency_distance[16]; /* sq, abs, sym_kl, cosine, order */
    char split[16];           /* "default" (the view's own train/valid/test split) or "none" (every row trains) */
    int32_t n_opts;
    kgm_opt_entry opts[KGM_MAX_TASK_OPTS];
} kgm_task_spec;

/* ---- optimisation ------------------------------------------------------------------ */
typedef struct kgm_train_cfg {
    char mode[16];            /* "joint", "alternating" */
    char schedule[16];        /* alternating: "round_robin", "every" */
    char weighting[16];       /* "auto" (static if a task weight is not 1, else equal), "equal", "static", "uncertainty", "gradnorm", "dwa", "pcgrad" */
    double gradnorm_alpha;
    double dwa_temperature;
    char optimizer[16];       /* "adam", "adamw", "sgd", "adagrad" */
    double lr, weight_decay, momentum, clip_norm;
    int32_t epochs;
    int32_t batch_size;
    int32_t steps_per_epoch;  /* 0 = one pass over the largest task's training rows */
    int32_t patience;         /* early stopping on the selection metric (0 = off) */
    int32_t threads;          /* 0 = OMP default */
    int32_t arena_mb;
    char frozen[KGM_STR];     /* comma-separated parameter-name prefixes to freeze */
    bool log_steps;           /* weights.csv per step (else per epoch) */
} kgm_train_cfg;

/* ---- evaluation ---------------------------------------------------------------------- */
typedef struct kgm_eval_cfg {
    char select[128];         /* "task.metric" used for model selection (default: first task's) */
    bool test;                /* evaluate the selected model on test (default true) */
    bool cold;                /* also report cold-start metrics when the data marks cold ids */
    int32_t cold_max_train;   /* cold slices: users/items with at most this many training rows (0 = strict cold) */
    char fusion[16];          /* "off", "sum", "product", "weighted", "power": fused score of several tasks */
    char fusion_tasks[KGM_STR]; /* comma-separated task names; the first one's labels score the fusion */
    char fusion_weights[KGM_STR]; /* weighted: comma-separated weights; power: exponents */
} kgm_eval_cfg;

typedef struct kgm_run_config {
    char name[128];           /* run name (ablation label) */
    char manifest[KGM_PATH];  /* the manifest this run came from */
    uint64_t seed;
    kgm_data_cfg data;
    kgm_encoder_cfg encoder;
    kgm_mixer_cfg mixer;
    int32_t n_tasks;
    kgm_task_spec tasks[KGM_MAX_TASKS];
    kgm_train_cfg train;
    kgm_eval_cfg eval;
    char output[KGM_PATH];    /* run output directory */
    char published[KGM_STR];  /* baseline manifests: "metric=value[,metric=value]" to show beside ours */
} kgm_run_config;

/* Fill every field with its documented default. */
void kgm_run_config_default(kgm_run_config *c);
/* Stable 64-bit hash of the configuration (output path and name excluded). */
uint64_t kgm_run_config_hash(const kgm_run_config *c);
/* Defaults of one task entry (weight 1, lr_mult 1, every 1). */
void kgm_task_spec_default(kgm_task_spec *t);
/* Write the configuration as YAML (the "resolved manifest" of a run). */
kgm_status kgm_run_config_write_yaml(const kgm_run_config *c, FILE *out);

#endif
