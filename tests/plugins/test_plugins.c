/* Plugin ABI, loader and built-in plugins.
 *
 * Every built-in plugin is loaded from the build directory through the same
 * loader a user's plugin goes through, trained end to end against the mini
 * backend (tiny planted world) and must beat chance clearly. The bad-plugin
 * cases each check their own message. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/plugin/host.h"
#include "kgmtl/kgmtl.h"
#include "tests/plugins/minibackend.h"

#ifndef MB_PLUGIN_DIR
#error "MB_PLUGIN_DIR must point at <builddir>/plugins"
#endif
#ifndef MB_BAD_DIR
#error "MB_BAD_DIR must point at the bad-plugin build directory"
#endif

static void show(const char *tag, const mb_result *r) {
    fprintf(stderr, "%-22s loss %.4f -> %.4f |", tag, r->first_loss, r->last_loss);
    for (int i = 0; i < r->n_metrics; i++) fprintf(stderr, " %s %.3f->%.3f", r->names[i], r->before[i], r->after[i]);
    fprintf(stderr, "\n");
}

static mb_result train(const char *plugin, const kgm_opt_kv *opts, int n_opts, int steps, int batch, float lr) {
    mb_result r;
    kgm_status st = mb_train(MB_PLUGIN_DIR, plugin, opts, n_opts, steps, batch, lr, 7, &r);
    cr_assert_eq(st, KGM_OK, "training %s failed: %s", plugin, kgm_error_message());
    show(plugin, &r);
    cr_expect_lt(r.last_loss, r.first_loss, "%s: the loss did not decrease", plugin);
    return r;
}

static double M(const mb_result *r, const char *name) {
    int i = mb_metric(r, name);
    cr_assert_geq(i, 0, "no metric %s", name);
    return r->after[i];
}

static double B(const mb_result *r, const char *name) {
    int i = mb_metric(r, name);
    cr_assert_geq(i, 0, "no metric %s", name);
    return r->before[i];
}

TestSuite(plugins_e2e, .timeout = 120);

Test(plugins_e2e, ctr) {
    kgm_opt_kv o[] = {{"dropout", "0.3", "test"}};
    mb_result r = train("ctr", o, 1, 100, 64, 0.01f);
    cr_expect_gt(M(&r, "auc"), 0.75, "auc %.3f", M(&r, "auc"));
    /* below log 2, the logloss of a coin flip (the mini world is small enough to overfit) */
    cr_expect_lt(M(&r, "logloss"), 0.69, "logloss %.3f", M(&r, "logloss"));
    cr_expect_gt(M(&r, "accuracy"), 0.65);
    cr_expect_gt(M(&r, "f1"), 0.6);
}

Test(plugins_e2e, template) {
    mb_result r = train("template", NULL, 0, 150, 64, 0.01f);
    cr_expect_gt(M(&r, "auc"), 0.75, "auc %.3f", M(&r, "auc"));
    cr_expect_gt(M(&r, "accuracy"), 0.65);
}

Test(plugins_e2e, rating) {
    mb_result r = train("rating", NULL, 0, 400, 64, 0.01f);
    /* The ratings have noise std 0.3 (plus clipping): a model that learned
     * the affinity gets close to it; predicting the mean gives the std of
     * the ratings (about 1). */
    cr_expect_lt(M(&r, "rmse"), 0.6, "rmse %.3f", M(&r, "rmse"));
    cr_expect_lt(M(&r, "mae"), 0.5);
    cr_expect_lt(M(&r, "rmse"), B(&r, "rmse") - 0.2);
}

static void check_topk(const mb_result *r) {
    /* 1 test item per user among MB_I - 7 candidates: chance recall@20 is
     * 20/73 ≈ 0.27, chance MRR about 0.07. */
    cr_expect_gt(M(r, "recall@k"), 0.5, "recall %.3f", M(r, "recall@k"));
    cr_expect_gt(M(r, "mrr"), 0.15, "mrr %.3f", M(r, "mrr"));
    cr_expect_gt(M(r, "ndcg@k"), 0.2);
    /* one relevant item per user: hit@k equals recall@k */
    cr_expect_float_eq(M(r, "hit@k"), M(r, "recall@k"), 1e-12);
}

Test(plugins_e2e, topk_bpr) {
    mb_result r = train("topk", NULL, 0, 600, 64, 0.02f);
    check_topk(&r);
}

Test(plugins_e2e, topk_softmax) {
    kgm_opt_kv o[] = {{"loss", "softmax", "test"}, {"negatives", "32", "test"}, {"temperature", "0.5", "test"}};
    mb_result r = train("topk", o, 3, 600, 64, 0.02f);
    check_topk(&r);
}

Test(plugins_e2e, topk_kgat_ndcg_is_not_smaller) {
    kgm_opt_kv a[] = {{"k", "10", "t"}}, b[] = {{"k", "10", "t"}, {"kgat_ndcg", "true", "t"}};
    mb_result ra = train("topk", a, 1, 300, 64, 0.02f), rb = train("topk", b, 2, 300, 64, 0.02f);
    /* same seed, same training: only the NDCG definition differs */
    cr_expect_float_eq(M(&ra, "recall@k"), M(&rb, "recall@k"), 1e-12);
    cr_expect_geq(M(&rb, "ndcg@k"), M(&ra, "ndcg@k"));
}

static void check_kge(const char *model, int steps, float lr) {
    kgm_opt_kv o[] = {{"model", model, "test"}};
    mb_result r = train("kge", o, 1, steps, 64, lr);
    /* 90 entities: chance filtered MRR is about 0.06 (measured before training) */
    cr_expect_lt(B(&r, "mrr"), 0.1, "%s: mrr before training %.3f", model, B(&r, "mrr"));
    cr_expect_gt(M(&r, "mrr"), 0.2, "%s: mrr %.3f", model, M(&r, "mrr"));
    cr_expect_gt(M(&r, "hits@10"), 0.5, "%s: hits@10 %.3f", model, M(&r, "hits@10"));
    cr_expect_leq(M(&r, "hits@1"), M(&r, "hits@3"));
    cr_expect_leq(M(&r, "hits@3"), M(&r, "hits@10"));
}

Test(plugins_e2e, kge_transe) { check_kge("transe", 600, 0.02f); }
Test(plugins_e2e, kge_transr) { check_kge("transr", 600, 0.02f); }
Test(plugins_e2e, kge_distmult) { check_kge("distmult", 600, 0.02f); }
Test(plugins_e2e, kge_rotate) { check_kge("rotate", 600, 0.02f); }

Test(plugins_e2e, social) {
    mb_result r = train("social", NULL, 0, 500, 64, 0.02f);
    cr_expect_gt(M(&r, "auc"), 0.75, "auc %.3f", M(&r, "auc"));
}

Test(plugins_e2e, userattr) {
    mb_result r = train("userattr", NULL, 0, 300, 32, 0.01f);
    /* 3 balanced classes: chance accuracy 1/3 */
    cr_expect_gt(M(&r, "accuracy"), 0.7, "accuracy %.3f", M(&r, "accuracy"));
    cr_expect_gt(M(&r, "macro_f1"), 0.6);
}

Test(plugins_e2e, itemlabels) {
    mb_result r = train("itemlabels", NULL, 0, 400, 32, 0.01f);
    cr_expect_gt(M(&r, "micro_f1"), 0.7, "micro %.3f", M(&r, "micro_f1"));
    cr_expect_gt(M(&r, "macro_f1"), 0.6, "macro %.3f", M(&r, "macro_f1"));
}

Test(plugins_e2e, esmm) {
    mb_result r = train("esmm", NULL, 0, 500, 64, 0.01f);
    cr_expect_gt(M(&r, "ctr_auc"), 0.7, "ctr_auc %.3f", M(&r, "ctr_auc"));
    cr_expect_gt(M(&r, "ctcvr_auc"), 0.65, "ctcvr_auc %.3f", M(&r, "ctcvr_auc"));
    cr_expect_gt(M(&r, "cvr_auc"), 0.6, "cvr_auc %.3f", M(&r, "cvr_auc"));
}

Test(plugins_e2e, contrastive) {
    mb_result r = train("contrastive", NULL, 0, 300, 64, 0.02f);
    /* chance accuracy is 1 / (distinct test items) ≈ 1/60 */
    cr_expect_gt(M(&r, "infonce_acc"), 0.3, "acc %.3f", M(&r, "infonce_acc"));
    cr_expect_lt(M(&r, "infonce"), B(&r, "infonce"), "InfoNCE %.3f -> %.3f", B(&r, "infonce"), M(&r, "infonce"));
    cr_expect_lt(M(&r, "uniformity"), 0.0);
}

/* ---- exactness of composite formulas ------------------------------------------ */

/* A task of `plugin` over a fresh mini world, parameters finalised. */
typedef struct fixture {
    mb_world w;
    kgm_plugin *pl;
    kgm_params *ps;
    kgm_task_ctx *t;
    kgm_tape *tp;
    kgm_task_backend be;
} fixture;

static void fx_open(fixture *f, const char *plugin, const kgm_opt_kv *o, int n) {
    memset(f, 0, sizeof *f);
    mb_world_init(&f->w, 5);
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    kgm_plugin_path_add(&sp, MB_PLUGIN_DIR);
    cr_assert_eq(kgm_plugin_open(&sp, plugin, &f->pl), KGM_OK, "%s", kgm_error_message());
    kgm_plugin_path_destroy(&sp);
    kgm_params_new(&f->ps);
    mb_world_declare(&f->w, f->ps);
    f->be = mb_backend(&f->w);
    kgm_task_cfg c = {.params = f->ps, .param_group = 1, .seed = 5, .backend = &f->be};
    cr_assert_eq(kgm_task_new(f->pl, NULL, o, n, &c, &f->t), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_task_declare_params(f->t), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_params_finalize(f->ps, 5), KGM_OK);
    kgm_tape_new((size_t)16 << 20, &f->tp);
}

static void fx_close(fixture *f) {
    kgm_tape_free(f->tp);
    kgm_task_free(f->t);
    kgm_params_free(f->ps);
    kgm_plugin_close(f->pl);
    mb_world_destroy(&f->w);
}

Test(plugins_e2e, esmm_ctcvr_is_the_product) {
    fixture *f = calloc(1, sizeof *f);
    fx_open(f, "esmm", NULL, 0);
    /* make the towers' logits large and varied so the identity is tested in the tails too */
    for (int32_t i = 0; i < f->t->n_params; i++) {
        kgm_tensor *p = kgm_params_tensor(f->ps, f->t->param_ids[i]);
        for (int64_t k = 0; k < kgm_tensor_numel(p); k++) p->data[k] *= 6.0f;
    }
    const mb_split *s = &f->w.views[KGM_VIEW_IMPRESSIONS].sp[KGM_SPLIT_TEST];
    kgm_batch b = {.struct_size = sizeof b, .n = s->n, .user = s->user, .item = s->item, .label = s->label,
                   .label2 = s->label2};
    kgm_tape_set_grad(f->tp, false);
    kgm_tape_set_training(f->tp, false);
    cr_assert_eq(f->be.represent(f->be.self, f->t, f->tp, &b, &b.h), KGM_OK);
    kgm_tensor *out;
    cr_assert_eq(kgm_task_predict(f->t, f->tp, &b, &out), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(out->cols, 3);
    for (int32_t i = 0; i < b.n; i++) {
        double ctr = out->data[3 * i], cvr = out->data[3 * i + 1], ctcvr = out->data[3 * i + 2];
        cr_expect(fabs(ctcvr - ctr * cvr) <= 1e-6 + 1e-5 * ctr * cvr, "row %d: %g vs %g * %g", i, ctcvr, ctr, cvr);
    }
    fx_close(f);
    free(f);
}

Test(plugins_e2e, rotate_keeps_distances) {
    /* A RotatE relation is a rotation: the score of (h, r, t) equals minus the
     * distance between rotated h and t, so rotating h by r and scoring h
     * against itself must give the distance |h∘r - h| computed by hand. We
     * check the simplest consequence: rotation preserves norms, hence with
     * norm l2sq s(h, r, 0-vector entity) = -|h|^2 for every relation. */
    kgm_opt_kv o[] = {{"model", "rotate", "t"}, {"norm", "l2sq", "t"}};
    fixture *f = calloc(1, sizeof *f);
    fx_open(f, "kge", o, 2);
    kgm_tensor *ent = kgm_params_tensor(f->ps, f->w.p_ent);
    memset(ent->data + (size_t)(MB_E - 1) * MB_D, 0, MB_D * sizeof(float)); /* entity MB_E-1 := 0 */
    int32_t head[4] = {0, 1, 2, 3}, rel[4] = {0, 1, 0, 1}, tail[4] = {MB_E - 1, MB_E - 1, MB_E - 1, MB_E - 1};
    kgm_batch b = {.struct_size = sizeof b, .n = 4, .head = head, .rel = rel, .tail = tail};
    kgm_tensor *out;
    cr_assert_eq(kgm_task_predict(f->t, f->tp, &b, &out), KGM_OK, "%s", kgm_error_message());
    for (int i = 0; i < 4; i++) {
        double n2 = 0;
        for (int j = 0; j < MB_D; j++) n2 += (double)ent->data[i * MB_D + j] * ent->data[i * MB_D + j];
        cr_expect(fabs(out->data[i] + n2) < 1e-5, "row %d: %g vs %g", i, out->data[i], -n2);
    }
    fx_close(f);
    free(f);
}
