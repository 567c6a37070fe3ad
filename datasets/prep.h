/* datasets/prep.h — preparing a loaded dataset: filters, implicit labels,
 * splits, negative sampling.
 *
 * kgm_data_prepare runs the whole pipeline from a kgm_prep_settings and records
 * the settings in ds->prov, so a cached dataset says how it was made. The
 * individual steps are public too, for generators and tests. Everything that
 * draws random numbers takes the seed from the settings and its own named rng
 * stream, so results do not depend on call order. */
#ifndef KGMTL_DATA_PREP_H
#define KGMTL_DATA_PREP_H

#include "datasets/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Run threshold -> dedup -> k-core filter -> split -> eval negatives, in that
 * order, as `p` asks; record `p` in ds->prov. */
kgm_status kgm_data_prepare(kgm_dataset *ds, const kgm_prep_settings *p);

/* Replace the split a dataset came with (a generator's) by p->split (random,
 * loo, temporal or mkr, with p's fractions and seed) and draw p's evaluation
 * negatives; rows are not touched, so filters in `p` are refused. Records `p`
 * in ds->prov. */
kgm_status kgm_data_resplit(kgm_dataset *ds, const kgm_prep_settings *p);

/* Ratings -> implicit/binary labels: label = (rating >= threshold). With
 * `drop_below` the rows below the threshold are removed instead (counted in
 * ds->prov.rows_filtered). Sets inter.kind to BINARY (or IMPLICIT if dropped). */
kgm_status kgm_data_binarize(kgm_dataset *ds, float threshold, bool drop_below);

/* Count duplicate (user, item) rows; with `drop` remove all but the first of
 * each. *out_dups (may be NULL) receives the number of duplicates. */
kgm_status kgm_data_dedup(kgm_dataset *ds, bool drop, int64_t *out_dups);

/* Iteratively remove interactions of users with fewer than `min_user` and
 * items with fewer than `min_item` interactions until both hold (k-core).
 * Ids are kept (maps are not renumbered); removed rows are counted. */
kgm_status kgm_data_filter_min(kgm_dataset *ds, int32_t min_user, int32_t min_item);

/* Split ds->inter into ds->split (any previous split is replaced) as
 * p->split / valid_frac / test_frac / loo_valid / seed say. */
kgm_status kgm_data_split(kgm_dataset *ds, const kgm_prep_settings *p);

/* Per-user positive sets (CSR over users, sorted item ids) for membership
 * tests. Built from the rows `rows` (n_rows), or all rows if rows == NULL; a
 * row is positive if inter.kind is IMPLICIT or its label > 0. */
typedef struct kgm_user_items {
    int32_t n_users;
    int64_t *ptr;   /* (n_users + 1) */
    int32_t *items; /* (ptr[n_users]) sorted within each user */
} kgm_user_items;

kgm_status kgm_user_items_build(const kgm_dataset *ds, const int64_t *rows, int64_t n_rows,
                                kgm_user_items *out);
void kgm_user_items_destroy(kgm_user_items *u);
bool kgm_user_items_has(const kgm_user_items *u, int32_t user, int32_t item);

/* Training-time negative sampler: never returns a positive of the user (as
 * given by `pos`), uniform or by popularity (alias table). */
typedef struct kgm_neg_sampler {
    kgm_neg_kind kind;
    int32_t n_items;
    const kgm_user_items *pos; /* borrowed; must outlive the sampler */
    float *alias_prob;         /* (n_items) popularity alias table */
    int32_t *alias_idx;        /* (n_items) */
} kgm_neg_sampler;

/* `popularity` counts come from ds->inter (all rows). */
kgm_status kgm_neg_sampler_init(kgm_neg_sampler *s, const kgm_dataset *ds, const kgm_user_items *pos,
                                kgm_neg_kind kind);
void kgm_neg_sampler_destroy(kgm_neg_sampler *s);
/* Draw `k` distinct negatives for `user` into out (k). Fewer non-positives
 * than k: the rest is -1 and *out_n (may be NULL) tells how many are real. */
kgm_status kgm_neg_sampler_draw(const kgm_neg_sampler *s, kgm_rng *rng, int32_t user, int32_t k,
                                int32_t *out, int32_t *out_n);

/* Draw ds->valid_neg and ds->test_neg once: k distinct items per valid/test
 * row, excluding every positive of the user in any split, from rng stream
 * "eval-negatives" of `seed` (so the same seed gives the same lists). A k
 * larger than the number of non-positive items of some valid/test user is
 * KGM_ERR_ARG naming that user and the largest k possible (no padding). */
kgm_status kgm_data_eval_negatives(kgm_dataset *ds, int32_t k, kgm_neg_kind kind, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
