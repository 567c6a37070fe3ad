/* dataset.eval_negatives through the trainer: the sampled top-K protocol
 * changes the metrics (and raises them: 101 candidates instead of every item),
 * its candidate lists are drawn once from the dataset seed — the same in every
 * epoch and for every model — and exclude the user's positives in every
 * split; a K the data cannot supply, and a K nothing ranks against, are
 * refused. Small generated world, a few seconds. */
#include <criterion/criterion.h>
#include <math.h>

#include "core/train/trainer_internal.h"
#include "datasets/prep.h"
#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

static void topk_config(kgm_run_config *c, const char *out, int32_t eval_negatives) {
    kgm_run_config_default(c);
    c->data.n_users = 150;
    c->data.n_items = 300;
    c->data.interactions_per_user = 20;
    c->data.data_seed = 7;
    c->data.eval_negatives = eval_negatives;
    c->encoder.dim = 16;
    tu_add_task(c, "topk", "rec", NULL);
    tu_opt(c, 0, "k", "10");
    c->train.epochs = 4;
    c->train.lr = 0.01;
    c->train.batch_size = 128;
    c->train.steps_per_epoch = 25;
    c->eval.cold = false;
    snprintf(c->output, sizeof c->output, "%s", out);
}

/* A copy of task 0's stored negatives of `split` as the plugin sees them (*k per row). */
static int32_t *fetch_negatives(kgm_trainer *tr, kgm_split_id split, int32_t *k, int64_t *n) {
    const int32_t *items;
    const kgm_host_api *H = kgm_host_api_get();
    cr_assert_eq(H->eval_negatives(tr->t[0].ctx, split, k, &items), KGM_OK, "%s", kgm_error_message());
    *n = tr->t[0].view.s[split].n;
    cr_assert(*k > 0 && items);
    int32_t *copy = malloc((size_t)*n * (size_t)*k * sizeof *copy);
    memcpy(copy, items, (size_t)*n * (size_t)*k * sizeof *copy);
    return copy;
}

Test(eval_negatives, sampled_metrics_differ_from_full_ranking_and_are_higher, .init = setup, .timeout = 120) {
    char dir[128], full[200], sampled[200];
    tu_tmpdir(dir, sizeof dir, "evalneg");
    snprintf(full, sizeof full, "%s/full", dir);
    snprintf(sampled, sizeof sampled, "%s/sampled", dir);
    kgm_run_config c;
    kgm_train_opts o = {.quiet = true};
    topk_config(&c, full, 0);
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    topk_config(&c, sampled, 100);
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    const char *names[] = {"recall@k", "ndcg@k", "hit@k", "mrr"};
    for (int i = 0; i < 4; i++) {
        double f = tu_metric(full, -1, "test", "rec", names[i]), s = tu_metric(sampled, -1, "test", "rec", names[i]);
        cr_log_info("test %s: full ranking %.4f, sampled-100 %.4f", names[i], f, s);
        cr_expect(isfinite(f) && isfinite(s), "%s: %g %g", names[i], f, s);
        cr_expect_gt(fabs(s - f), 1e-3, "%s: eval_negatives 0 and 100 give %.4f and %.4f", names[i], f, s);
        /* recall@k and ndcg@k average the same thing in both protocols (the
         * share of positives in the top k, normalised): with 101 candidates
         * instead of ~280 a positive's rank can only improve. hit@k and MRR are
         * per user (best of the user's ~4 test items) under full ranking but
         * per positive when sampled, so they are not ordered. */
        if (i < 2) cr_expect_gt(s, f * 1.3, "%s: sampled %.4f should be above full %.4f", names[i], s, f);
    }
}

Test(eval_negatives, same_candidates_every_epoch_and_every_model, .init = setup, .timeout = 120) {
    kgm_run_config ca, cb;
    topk_config(&ca, "/tmp/unused", 50);
    topk_config(&cb, "/tmp/unused", 50);
    /* a different model: other loss, embedding size and seed of the run */
    cb.encoder.dim = 8;
    cb.seed = 99;
    tu_opt(&cb, 0, "loss", "softmax");
    kgm_train_opts o = {.quiet = true};
    kgm_trainer *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    cr_assert_eq(kgm_trainer_setup(a, &ca, &o), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_trainer_setup(b, &cb, &o), KGM_OK, "%s", kgm_error_message());
    for (kgm_split_id s = KGM_SPLIT_VALID; s <= KGM_SPLIT_TEST; s++) {
        int32_t ka, kb;
        int64_t na, nb;
        int32_t *before = fetch_negatives(a, s, &ka, &na);
        /* train model a for two epochs: its candidate lists must not move */
        cr_assert_eq(kgm_trainer_alloc_perms(a), KGM_OK);
        for (int e = 0; e < 2; e++) {
            kgm_trainer_begin_epoch(a);
            for (int st = 0; st < 5; st++) cr_assert_eq(kgm_trainer_step(a), KGM_OK, "%s", kgm_error_message());
        }
        int32_t *after = fetch_negatives(a, s, &ka, &na);
        int32_t *other = fetch_negatives(b, s, &kb, &nb);
        cr_assert_eq(ka, 50);
        cr_assert_eq(kb, 50);
        cr_assert_eq(na, nb);
        cr_expect_eq(memcmp(before, after, (size_t)na * 50 * sizeof *before), 0, "split %d: lists changed in training", s);
        cr_expect_eq(memcmp(before, other, (size_t)na * 50 * sizeof *before), 0, "split %d: another model sees other lists", s);
        /* every list: K distinct items, none a positive of the row's user in any split */
        kgm_user_items pos;
        cr_assert_eq(kgm_user_items_build(&a->ds, NULL, 0, &pos), KGM_OK);
        const kgm_view_split *v = &a->t[0].view.s[s];
        for (int64_t r = 0; r < na; r++)
            for (int32_t j = 0; j < 50; j++) {
                int32_t it = before[r * 50 + j];
                cr_assert(!kgm_user_items_has(&pos, v->user[r], it), "row %lld: negative %d is a positive", (long long)r, it);
                for (int32_t q = 0; q < j; q++) cr_assert_neq(before[r * 50 + q], it, "row %lld: repeated %d", (long long)r, it);
            }
        kgm_user_items_destroy(&pos);
        free(before), free(after), free(other);
    }
    kgm_trainer_destroy(a);
    kgm_trainer_destroy(b);
    free(a), free(b);
}

Test(eval_negatives, other_dataset_seed_other_candidates, .init = setup, .timeout = 60) {
    kgm_run_config ca, cb;
    topk_config(&ca, "/tmp/unused", 20);
    topk_config(&cb, "/tmp/unused", 20);
    cb.data.data_seed = 8;
    kgm_train_opts o = {.quiet = true};
    kgm_trainer *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    cr_assert_eq(kgm_trainer_setup(a, &ca, &o), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_trainer_setup(b, &cb, &o), KGM_OK, "%s", kgm_error_message());
    int32_t k;
    int64_t na, nb;
    int32_t *x = fetch_negatives(a, KGM_SPLIT_TEST, &k, &na), *y = fetch_negatives(b, KGM_SPLIT_TEST, &k, &nb);
    cr_expect(na != nb || memcmp(x, y, (size_t)na * 20 * sizeof *x) != 0, "data seeds 7 and 8 give the same lists");
    free(x), free(y);
    kgm_trainer_destroy(a);
    kgm_trainer_destroy(b);
    free(a), free(b);
}

Test(eval_negatives, more_than_a_users_non_positives_is_refused, .init = setup, .timeout = 60) {
    kgm_run_config c;
    topk_config(&c, "/tmp/unused", 0);
    c.data.n_items = 40; /* 20 interactions per user: at most ~20 non-positives left */
    c.data.eval_negatives = 39;
    kgm_train_opts o = {.quiet = true};
    kgm_trainer *tr = calloc(1, sizeof *tr);
    kgm_status st = kgm_trainer_setup(tr, &c, &o);
    cr_assert_eq(st, KGM_ERR_ARG, "expected a refusal, got %d", st);
    const char *msg = kgm_error_message();
    cr_expect(strstr(msg, "dataset.eval_negatives: expected at most") && strstr(msg, "found 39"), "%s", msg);
    kgm_error_clear();
    kgm_trainer_destroy(tr);
    free(tr);
}

Test(eval_negatives, refused_when_no_task_ranks_against_them, .init = setup, .timeout = 60) {
    kgm_run_config c;
    topk_config(&c, "/tmp/unused", 10);
    snprintf(c.tasks[0].plugin, sizeof c.tasks[0].plugin, "ctr");
    snprintf(c.tasks[0].name, sizeof c.tasks[0].name, "ctr");
    c.tasks[0].n_opts = 0;
    kgm_train_opts o = {.quiet = true};
    kgm_trainer *tr = calloc(1, sizeof *tr);
    cr_assert_eq(kgm_trainer_setup(tr, &c, &o), KGM_ERR_ARG);
    cr_expect(strstr(kgm_error_message(), "expected a top-K ranking task"), "%s", kgm_error_message());
    kgm_error_clear();
    kgm_trainer_destroy(tr);
    free(tr);
    /* and on data without interactions (MMoE synthetic) */
    topk_config(&c, "/tmp/unused", 10);
    snprintf(c.data.source, sizeof c.data.source, "mmoe");
    tr = calloc(1, sizeof *tr);
    cr_assert_eq(kgm_trainer_setup(tr, &c, &o), KGM_ERR_ARG);
    cr_expect(strstr(kgm_error_message(), "expected user-item interactions"), "%s", kgm_error_message());
    kgm_error_clear();
    kgm_trainer_destroy(tr);
    free(tr);
}
