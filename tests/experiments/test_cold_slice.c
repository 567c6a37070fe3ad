/* evaluation.cold_max_train: the trainer's cold-start slices (rec@cold_items,
 * rec@cold_users) mark the items/users that have interactions and at most k
 * training rows (k = 0: strict cold, the default). Small and fast (unit). */
#include <criterion/criterion.h>

#include "core/train/trainer_internal.h"
#include "datasets/gen.h"
#include "datasets/dataset.h"
#include "experiments/manifest.h"
#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

/* Opens the trainer's data from `cache` with cold_max_train = k and checks the
 * item and user marks against counts taken from the split; returns how many
 * marked items have 1..k training rows (the few-shot ones). */
static int check_slice(const char *cache, int32_t k, int *n_excluded) {
    kgm_run_config c;
    kgm_run_config_default(&c);
    snprintf(c.data.source, sizeof c.data.source, "cache");
    snprintf(c.data.path, sizeof c.data.path, "%s", cache);
    snprintf(c.data.split, sizeof c.data.split, "given");
    c.eval.cold_max_train = k;
    kgm_trainer *tr = calloc(1, sizeof *tr);
    cr_assert(tr);
    tr->cfg = &c;
    cr_assert_eq(kgm_trainer_open_data(tr), KGM_OK, "%s", kgm_error_message());
    const kgm_dataset *ds = &tr->ds;
    int32_t nu = ds->users.count, ni = ds->items.count;
    int32_t *u_all = calloc((size_t)nu, 4), *u_tr = calloc((size_t)nu, 4);
    int32_t *i_all = calloc((size_t)ni, 4), *i_tr = calloc((size_t)ni, 4);
    for (int64_t j = 0; j < ds->inter.n; j++) u_all[ds->inter.user[j]]++, i_all[ds->inter.item[j]]++;
    for (int64_t j = 0; j < ds->split.n_train; j++) {
        int64_t r = ds->split.train[j];
        u_tr[ds->inter.user[r]]++, i_tr[ds->inter.item[r]]++;
    }
    int few = 0, marked = 0, excl = 0;
    cr_assert(tr->cold_items && tr->cold_users);
    for (int32_t i = 0; i < ni; i++) {
        bool want = i_all[i] > 0 && i_tr[i] <= k;
        cr_assert_eq(tr->cold_items[i] != 0, want, "k %d: item %d (%d rows, %d train) marked %d", k, i, i_all[i],
                     i_tr[i], tr->cold_items[i]);
        marked += want;
        few += want && i_tr[i] > 0;
        excl += i_all[i] > 0 && i_tr[i] > k;
    }
    cr_assert_eq(tr->n_cold_items, marked);
    for (int32_t u = 0; u < nu; u++)
        cr_assert_eq(tr->cold_users[u] != 0, u_all[u] > 0 && u_tr[u] <= k, "k %d: user %d", k, u);
    free(u_all), free(u_tr), free(i_all), free(i_tr);
    kgm_dataset_destroy(&tr->ds);
    free(tr->kg_h), free(tr->kg_r), free(tr->kg_t), free(tr->cold_users), free(tr->cold_items);
    free(tr);
    *n_excluded = excl;
    return few;
}

Test(cold_slice, few_shot_slice_marks_entities_with_at_most_k_train_rows, .init = setup) {
    char dir[128], cache[200];
    tu_tmpdir(dir, sizeof dir, "coldslice");
    snprintf(cache, sizeof cache, "%s/world.cache", dir);
    kgm_gen_world_cfg g;
    kgm_gen_world_cfg_default(&g);
    g.seed = 3;
    g.n_users = 150;
    g.n_items = 150;
    g.cold_train_max = 3;
    g.social_degree = 0;
    g.text_len = 0;
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_gen_world(&g, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_dataset_save(&ds, cache), KGM_OK, "%s", kgm_error_message());
    kgm_dataset_destroy(&ds);
    int excl0, excl3;
    cr_assert_eq(check_slice(cache, 0, &excl0), 0, "strict cold: no marked item has train rows");
    int few = check_slice(cache, 3, &excl3);
    cr_assert_gt(few, 0, "k = 3 marks the few-shot items (1..3 train rows)");
    cr_assert_gt(excl3, 0, "k = 3 leaves the warm items out");
    cr_assert_lt(excl3, excl0);
    unlink(cache);
    rmdir(dir);
}

Test(cold_slice, manifest_key_is_a_nonnegative_int_defaulting_to_strict_cold) {
    const kgm_key_spec *s = kgm_manifest_key("evaluation.cold_max_train");
    cr_assert(s);
    cr_assert_eq(s->type, KGM_KEY_INT);
    cr_assert_eq(s->min, 0);
    cr_assert(s->min <= s->max);
    kgm_run_config c;
    kgm_run_config_default(&c);
    cr_assert_eq(c.eval.cold_max_train, 0);
}
