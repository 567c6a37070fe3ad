/* A miniature trainer backend for the plugin tests.
 *
 * It generates a tiny world with planted structure — users and items with
 * latent factors in clusters, binary interactions, ratings, implicit
 * positives, impressions with clicks and conversions, a small knowledge graph
 * (items, genre entities; "has_genre" and "similar" relations), homophilous
 * social edges, a categorical user attribute and multi-label item genres —
 * and answers every kgm_task_backend request over it:
 *   embed        gather from a sparse parameter table per kind (USER, ITEM, ENTITY)
 *   represent    USER/ITEM: concat(embedding, fixed planted features);
 *                PAIR: linear(concat(user repr, item repr, feature product))
 * plus a generic training loop (sampled batches, Adam) so that every plugin is
 * trained and evaluated exactly the same way, through the plugin loader. */
#ifndef KGMTL_TEST_MINIBACKEND_H
#define KGMTL_TEST_MINIBACKEND_H

#include "core/plugin/host.h"
#include "kgmtl/kgmtl.h"

#define MB_U 60       /* users */
#define MB_I 80       /* items */
#define MB_G 5        /* genres = item clusters */
#define MB_C 3        /* user clusters = attribute classes */
#define MB_E (MB_I + MB_G + 5) /* entities: items, genres, 5 unrelated */
#define MB_R 2        /* relations: has_genre, similar */
#define MB_D 8        /* embedding size */
#define MB_K 4        /* latent factors / feature size */
#define MB_H 16       /* PAIR representation width */
#define MB_L (MB_G + 1) /* item labels: genres + "popular" */

typedef struct mb_split {
    int32_t n;
    int64_t *row;
    int32_t *user, *item, *head, *rel, *tail, *src, *dst, *cls;
    float *label, *label2, *weight, *multi;
    int64_t *rowptr; /* (MB_U + 1) CSR of positives per user (user_items) */
    int32_t *col;
} mb_split;

typedef struct mb_view {
    mb_split sp[3];
} mb_view;

typedef struct mb_world {
    float pu[MB_U * MB_K], qi[MB_I * MB_K]; /* planted factors (also the fixed features) */
    int32_t ucl[MB_U], icl[MB_I];
    mb_view views[10];                      /* indexed by kgm_data_view */
    int64_t *kg_ptr;                        /* (MB_E * MB_R + 1) true tails of (h, r) over all splits */
    int32_t *kg_col;
    kgm_params *ps;
    int32_t p_user, p_item, p_ent, p_w, p_b;
} mb_world;

/* Generate the world from a seed (deterministic). */
void mb_world_init(mb_world *w, uint64_t seed);
void mb_world_destroy(mb_world *w);
/* Declare the encoder's parameters (group 0) in `ps`. */
kgm_status mb_world_declare(mb_world *w, kgm_params *ps);
/* The backend vtable over `w`. */
kgm_task_backend mb_backend(mb_world *w);

/* Load `plugin` (name on `plugin_dir`, or a path), create a task with the
 * options, train `steps` Adam steps on batches of `batch` rows, and evaluate
 * on the TEST split before and after (metrics in declared order, up to 16).
 * Returns KGM_OK or the first failure (message in the error buffer). */
typedef struct mb_result {
    int32_t n_metrics;
    char names[16][32];
    double before[16], after[16];
    double first_loss, last_loss; /* mean of the first / last 20 step losses */
} mb_result;

kgm_status mb_train(const char *plugin_dir, const char *plugin, const kgm_opt_kv *opts, int32_t n_opts, int32_t steps,
                    int32_t batch, float lr, uint64_t seed, mb_result *res);

/* A batch of `n` rows drawn with `g` from `all` (arrays in the tape arena). */
kgm_status mb_sample_batch(kgm_tape *tp, const kgm_batch *all, kgm_rng *g, int32_t n, kgm_batch *b);

/* Index of a metric by name in a result, or -1. */
int mb_metric(const mb_result *r, const char *name);

#endif
