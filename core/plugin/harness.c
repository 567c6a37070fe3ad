/* The out-of-tree plugin test harness (kgmtl/plugin_test.h): the real loader
 * and host table over the mini backend's synthetic world
 * (tests/plugins/minibackend.c, compiled into libkgmtl-plugin-test.a). */
#include "kgmtl/plugin_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/plugins/minibackend.h"
#include "core/tensor/gradcheck.h"

#define PT_MAX_INPUTS (KGM_TASK_MAX_PARAMS + 4)

struct kgm_plugin_test {
    mb_world world;
    kgm_task_backend be;
    kgm_plugin *pl;
    kgm_params *ps;
    kgm_task_ctx *t;
    kgm_optim *opt;
    kgm_tape *tp;
    kgm_batch all; /* every training row */
    kgm_rng batch_rng;
};

static kgm_status pt_setup(kgm_plugin_test *pt, const char *path, const kgm_plugin_test_option *opts,
                           int32_t n_opts, uint64_t seed, float lr) {
    mb_world_init(&pt->world, seed);
    KGM_TRY(kgm_plugin_load_file(path, &pt->pl));
    KGM_TRY(kgm_params_new(&pt->ps));
    KGM_TRY(mb_world_declare(&pt->world, pt->ps));
    pt->be = mb_backend(&pt->world);
    kgm_opt_kv kv[64];
    if (n_opts < 0 || n_opts > 64) return KGM_ERR(KGM_ERR_ARG, "plugin test: %d options (0..64)", (int)n_opts);
    for (int32_t i = 0; i < n_opts; i++) kv[i] = (kgm_opt_kv){opts[i].name, opts[i].value, "plugin test"};
    kgm_task_cfg cfg = {.params = pt->ps, .param_group = 1, .seed = seed, .backend = &pt->be,
                        .log_level = KGM_LOG_WARN};
    KGM_TRY(kgm_task_new(pt->pl, NULL, kv, n_opts, &cfg, &pt->t));
    KGM_TRY(kgm_task_declare_params(pt->t));
    KGM_TRY(kgm_params_finalize(pt->ps, seed));
    kgm_optim_cfg oc = kgm_optim_defaults(KGM_OPT_ADAM);
    oc.lr = lr;
    KGM_TRY(kgm_optim_new(pt->ps, &oc, &pt->opt));
    KGM_TRY(kgm_tape_new((size_t)32 << 20, &pt->tp));
    KGM_TRY(pt->be.split_rows(&pt->world, pt->t, KGM_SPLIT_TRAIN, &pt->all));
    kgm_rng_init(&pt->batch_rng, seed, kgm_rng_stream_id("plugin_test", 0));
    return KGM_OK;
}

kgm_status kgm_plugin_test_open(const char *path, const kgm_plugin_test_option *opts, int32_t n_opts,
                                uint64_t seed, float lr, kgm_plugin_test **out) {
    *out = NULL;
    if (!path) return KGM_ERR(KGM_ERR_ARG, "plugin test: no plugin path");
    kgm_plugin_test *pt = calloc(1, sizeof *pt);
    if (!pt) return KGM_ERR(KGM_ERR_NOMEM, "plugin test");
    kgm_status st = pt_setup(pt, path, opts, n_opts, seed, lr);
    if (st) {
        kgm_plugin_test_close(pt);
        return st;
    }
    *out = pt;
    return KGM_OK;
}

const kgm_task_plugin *kgm_plugin_test_descriptor(const kgm_plugin_test *pt) { return &pt->pl->desc; }

/* A training batch with batch->h computed by the host (as the trainer does). */
static kgm_status pt_batch(kgm_plugin_test *pt, int32_t n, kgm_batch *b) {
    if (n <= 0) return KGM_ERR(KGM_ERR_ARG, "plugin test: batch of %d rows (needs >= 1)", (int)n);
    KGM_TRY(mb_sample_batch(pt->tp, &pt->all, &pt->batch_rng, n, b));
    if (pt->pl->desc.input != KGM_INPUT_NONE) KGM_TRY(pt->be.represent(&pt->world, pt->t, pt->tp, b, &b->h));
    return KGM_OK;
}

kgm_status kgm_plugin_test_step(kgm_plugin_test *pt, int32_t batch, double *loss) {
    kgm_tape_reset(pt->tp);
    kgm_tape_set_training(pt->tp, true);
    kgm_batch b;
    KGM_TRY(pt_batch(pt, batch, &b));
    kgm_tensor *l;
    KGM_TRY(kgm_task_forward_loss(pt->t, pt->tp, &b, &l));
    if (loss) *loss = l->data[0];
    KGM_TRY(kgm_tape_backward(pt->tp, l));
    KGM_TRY(kgm_optim_step(pt->opt, 1.0f, NULL));
    kgm_params_zero_grad(pt->ps);
    return KGM_OK;
}

/* What the finite-difference function sees: the batch (h replaced by the
 * checked copy, inputs[0]) and the task's stream at the start. */
typedef struct pt_gc {
    kgm_plugin_test *pt;
    kgm_batch b;
    bool has_h;
    kgm_rng rng0;
} pt_gc;

static kgm_status pt_gc_loss(kgm_tape *tp, kgm_tensor **inputs, void *vc, kgm_tensor **out) {
    pt_gc *c = vc;
    c->pt->t->rng = c->rng0; /* the same negatives / dropout mask every evaluation */
    kgm_batch b = c->b;
    if (c->has_h) b.h = inputs[0];
    return kgm_task_forward_loss(c->pt->t, tp, &b, out);
}

/* The checked inputs: a heap copy of h with a gradient, the task's parameters
 * and, for plugins that embed themselves, the world's tables. */
static kgm_status pt_gc_inputs(kgm_plugin_test *pt, pt_gc *c, kgm_tensor **in, int *n) {
    *n = 0;
    if (c->b.h) {
        kgm_tensor *h;
        KGM_TRY(kgm_tensor_new(c->b.h->rows, c->b.h->cols, &h));
        memcpy(h->data, c->b.h->data, (size_t)kgm_tensor_numel(h) * sizeof(float));
        h->grad = calloc((size_t)kgm_tensor_numel(h), sizeof(float));
        in[(*n)++] = h;
        c->has_h = true;
        if (!h->grad) return KGM_ERR(KGM_ERR_NOMEM, "plugin test: gradient of h");
    }
    for (int32_t i = 0; i < pt->t->n_params; i++) in[(*n)++] = kgm_params_tensor(pt->ps, pt->t->param_ids[i]);
    if (pt->pl->desc.input == KGM_INPUT_NONE) {
        int32_t ids[3] = {pt->world.p_user, pt->world.p_item, pt->world.p_ent};
        for (int k = 0; k < 3; k++) in[(*n)++] = kgm_params_tensor(pt->ps, ids[k]);
    }
    return KGM_OK;
}

kgm_status kgm_plugin_test_gradcheck(kgm_plugin_test *pt, int32_t batch, double *max_rel_err) {
    *max_rel_err = NAN;
    kgm_tape_reset(pt->tp);
    kgm_tape_set_grad(pt->tp, false); /* h is a value here: the checked copy is the leaf */
    pt_gc c = {.pt = pt, .rng0 = pt->t->rng};
    kgm_status bst = pt_batch(pt, batch, &c.b);
    kgm_tape_set_grad(pt->tp, true);
    KGM_TRY(bst);
    kgm_tensor *in[PT_MAX_INPUTS] = {0};
    int n = 0;
    kgm_status st = pt_gc_inputs(pt, &c, in, &n);
    kgm_gradcheck_result r;
    if (!st) st = kgm_gradcheck(pt_gc_loss, in, n, &c, 1e-3, 1e-2, 17, &r);
    if (!st) *max_rel_err = r.max_rel_err;
    if (!st && r.n_checked == 0) st = KGM_ERR(KGM_ERR_STATE, "plugin test: the loss has no gradient to check");
    if (c.has_h) {
        free(in[0]->grad);
        in[0]->grad = NULL;
        kgm_tensor_free(in[0]);
    }
    kgm_params_zero_grad(pt->ps);
    pt->t->rng = c.rng0;
    return st;
}

kgm_status kgm_plugin_test_eval(kgm_plugin_test *pt, kgm_split_id split, double *metrics) {
    kgm_tape_reset(pt->tp);
    return kgm_task_eval(pt->t, pt->tp, split, metrics);
}

const char *kgm_plugin_test_error(void) { return kgm_error_message(); }

void kgm_plugin_test_close(kgm_plugin_test *pt) {
    if (!pt) return;
    kgm_tape_free(pt->tp);
    kgm_optim_free(pt->opt);
    kgm_task_free(pt->t);
    kgm_params_free(pt->ps);
    kgm_plugin_close(pt->pl);
    mb_world_destroy(&pt->world);
    free(pt);
}
