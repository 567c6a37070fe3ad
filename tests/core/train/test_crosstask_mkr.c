/* MKR's claim on the generated recommendation world: recommendation + KG
 * embedding sharing item/entity vectors through cross&compress units,
 * trained alternately, against the same model without the KG task, on the
 * cold items of the test split, paired over seeds.
 *
 * Each seed generates its own world (docs/generators.md §2; its KG tails are
 * quantised projections of the item factors), saves it as a cache and trains
 * both models on it with identical settings; the difference is the kge task.
 * Knobs can be overridden from the environment for investigation
 * (MKR_SEEDS, MKR_SEED0, MKR_USERS, MKR_ITEMS, MKR_KG_NOISE, MKR_KG_RELATIONS,
 * MKR_KG_VALUES, MKR_MODEL, MKR_LOSS, MKR_QUERY_ACT, MKR_EVERY, MKR_KGE_WEIGHT,
 * MKR_KGE_LR_MULT, MKR_EPOCHS, MKR_LR, MKR_DIM, MKR_NEG, MKR_CC).
 * MKR_COLD_TRAIN_MAX = k (default 0) makes the cold items few-shot: the
 * generator's cold_train_max lets a planted cold item keep up to k train rows,
 * and the trainer's cold slice (evaluation.cold_max_train = k) is the items
 * with at most k train rows; k = 0 is strict cold (no training rows).
 *
 * Strict cold items (no training rows): THE CLAIM DOES NOT HOLD (measured,
 * docs/baselines.md §3). Published MKR settings (lr 0.02, KGE every 3 at
 * half the lr, kge model mkr with the authors' loss): paired cold-item AUC
 * difference over seeds 1-8 -0.0032 (sd 0.0090, t -1.0); the best of eight
 * variants on seeds 1-8 (lr 0.005, t 1.95) gives -0.0004 on seeds 9-16.
 * Few-shot cold items (k = 1, 3, 5 x three settings): all nine |t| < 1.2 on
 * seeds 1-8; published settings at k = 3 lean positive on seeds 1-16 (+0.0047,
 * t 1.49) and were then confirmed on 40 fresh seeds 17-56 (+0.0085, sd
 * 0.0149, t 3.61): the test kg_task_helps_few_shot_cold_items asserts that
 * (seeds 1-56). Those numbers are for the earlier model (MKR_EXACT=0: the
 * default mixer, a 64-unit shared layer and a 16-unit tower, between the
 * encoder and a ctr linear logit; KGE every 3rd STEP on 90% of the triples).
 *
 * MKR_EXACT=1 (the default since issue 12 defect 10) runs the authors' model
 * and loop: mixer.kind none, ctr head mkr (<relu(W u + b), v'>), a KG pass
 * over ALL triples (tasks[].split none) every 3rd EPOCH (schedule
 * every_epoch). Few-shot cold items (k = 3), seed sets fixed beforehand:
 * exploration seeds 1-16 +0.0024 (sd 0.0098, t 1.00); fresh confirmation
 * seeds 17-56 +0.0034 (sd 0.0115, t 1.87); pooled 1-56 +0.0031 (sd 0.0110,
 * t 2.13). Strict cold (k = 0), seeds 1-56: -0.0015 (sd 0.0077, t -1.43).
 * So the exact model's gain is about a third of the earlier model's and not
 * confirmed at t > 2 on the fresh seeds alone; exact_mkr_leans_positive_on_
 * few_shot_cold_items asserts only what 1-56 show (mean > 0, t > 1.5).
 * The first test is the investigation harness (asserts the claim only with
 * MKR_ASSERT_CLAIM=1). All are in the 'slow' suite. */
#include <criterion/criterion.h>
#include <math.h>

#include "datasets/gen.h"
#include "datasets/dataset.h"
#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

static const char *env_s(const char *k, const char *def) {
    const char *v = getenv(k);
    return v && *v ? v : def;
}
static double env_f(const char *k, double def) { return atof(env_s(k, "")) != 0 || getenv(k) ? atof(env_s(k, "0")) : def; }
static int env_i(const char *k, int def) { return getenv(k) ? atoi(getenv(k)) : def; }

/* Generates and saves seed's world; *n_cold / *n_cold_test: items in the cold
 * slice (at most MKR_COLD_TRAIN_MAX train rows) and their test rows. */
static void make_world(const char *path, uint64_t seed, int32_t *n_cold, int64_t *n_cold_test) {
    kgm_gen_world_cfg g;
    kgm_gen_world_cfg_default(&g);
    g.seed = seed;
    g.n_users = env_i("MKR_USERS", 400);
    g.n_items = env_i("MKR_ITEMS", 400);
    g.kg_noise = env_f("MKR_KG_NOISE", g.kg_noise);
    g.kg_relations = env_i("MKR_KG_RELATIONS", g.kg_relations);
    g.kg_values = env_i("MKR_KG_VALUES", g.kg_values);
    g.cold_train_max = env_i("MKR_COLD_TRAIN_MAX", 0);
    g.social_degree = 0;
    g.text_len = 0;
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_gen_world(&g, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_dataset_save(&ds, path), KGM_OK, "%s", kgm_error_message());
    uint8_t *ci = calloc((size_t)ds.items.count + 1, 1);
    cr_assert_eq(kgm_gen_cold_from_split(&ds, g.cold_train_max, NULL, ci, NULL, n_cold), KGM_OK);
    *n_cold_test = 0;
    for (int64_t j = 0; j < ds.split.n_test; j++) *n_cold_test += ci[ds.inter.item[ds.split.test[j]]];
    free(ci);
    kgm_dataset_destroy(&ds);
}

static double run(const char *cache, const char *out, uint64_t seed, bool with_kge, double *all_auc) {
    kgm_run_config c;
    kgm_run_config_default(&c);
    c.seed = seed;
    snprintf(c.data.source, sizeof c.data.source, "cache");
    snprintf(c.data.path, sizeof c.data.path, "%s", cache);
    snprintf(c.data.split, sizeof c.data.split, "given");
    c.encoder.dim = env_i("MKR_DIM", 8);
    c.encoder.kg = false;
    c.encoder.cross_compress = env_i("MKR_CC", 1);
    bool exact = env_i("MKR_EXACT", 1) != 0; /* the authors' head and loop (header) */
    tu_add_task(&c, "ctr", "rec", NULL);
    if (exact) {
        snprintf(c.mixer.kind, sizeof c.mixer.kind, "none");
        tu_opt(&c, 0, "head", "mkr");
        tu_opt(&c, 0, "user_layers", env_s("MKR_CC", "1"));
    } else
        tu_opt(&c, 0, "hidden", "0");
    if (with_kge) {
        tu_add_task(&c, "kge", "kge", NULL);
        if (exact) snprintf(c.tasks[1].split, sizeof c.tasks[1].split, "none");
        c.tasks[1].every = env_i("MKR_EVERY", 3);
        c.tasks[1].lr_mult = env_f("MKR_KGE_LR_MULT", 0.5);
        c.tasks[1].weight = env_f("MKR_KGE_WEIGHT", 1.0);
        tu_opt(&c, 1, "model", env_s("MKR_MODEL", "mkr"));
        tu_opt(&c, 1, "loss", env_s("MKR_LOSS", "auto"));
        tu_opt(&c, 1, "query_act", env_s("MKR_QUERY_ACT", "relu_sigmoid"));
        tu_opt(&c, 1, "negatives", env_s("MKR_NEG", "1"));
    }
    snprintf(c.train.mode, sizeof c.train.mode, "alternating");
    snprintf(c.train.schedule, sizeof c.train.schedule, "%s", exact ? "every_epoch" : "every");
    c.train.lr = env_f("MKR_LR", 0.02);
    c.train.weight_decay = 1e-6;
    c.train.epochs = env_i("MKR_EPOCHS", 30);
    c.train.batch_size = 256;
    c.train.threads = 1;
    c.eval.cold = true;
    c.eval.cold_max_train = env_i("MKR_COLD_TRAIN_MAX", 0); /* the slice matching the planted cold set */
    snprintf(c.eval.select, sizeof c.eval.select, "rec.auc");
    snprintf(c.output, sizeof c.output, "%s", out);
    kgm_train_opts o = {.quiet = true};
    cr_assert_eq(kgm_train_run(&c, &o, NULL), KGM_OK, "%s", kgm_error_message());
    *all_auc = tu_metric(out, -1, "test", "rec", "auc");
    return tu_metric(out, -1, "test", "rec@cold_items", "auc");
}

/* Paired cold-item AUC difference (MKR minus no-KG task) over seeds s0 .. s0+n-1. */
static void paired(const char *tag, int s0, int n, double *mean, double *sd) {
    char dir[128], cache[200], a[200], b[200];
    tu_tmpdir(dir, sizeof dir, tag);
    double sum = 0, sum2 = 0;
    for (int s = s0; s < s0 + n; s++) {
        snprintf(cache, sizeof cache, "%s/world-%d.cache", dir, s);
        snprintf(a, sizeof a, "%s/mkr-%d", dir, s);
        snprintf(b, sizeof b, "%s/nokg-%d", dir, s);
        int32_t nc;
        int64_t nct;
        make_world(cache, (uint64_t)s, &nc, &nct);
        double aa, ab;
        double ca = run(cache, a, (uint64_t)s, true, &aa), cb = run(cache, b, (uint64_t)s, false, &ab);
        cr_assert(!isnan(ca) && !isnan(cb), "no cold-item metrics");
        fprintf(stderr, "seed %d: cold-item AUC mkr %.4f no-kg %.4f diff %+.4f | all %.4f %.4f | %d cold items, %lld test rows\n",
                s, ca, cb, ca - cb, aa, ab, nc, (long long)nct);
        sum += ca - cb;
        sum2 += (ca - cb) * (ca - cb);
    }
    *mean = sum / n;
    *sd = n > 1 ? sqrt((sum2 - n * *mean * *mean) / (n - 1)) : 0;
    fprintf(stderr, "paired cold-item AUC difference: mean %+.4f sd %.4f t %.2f (n %d)\n", *mean, *sd,
            *sd > 0 ? *mean / (*sd / sqrt(n)) : 0.0, n);
}

/* Investigation harness: every knob from the environment (header). */
Test(mkr_world, cold_item_gain_of_the_kg_task_is_measured, .init = setup, .timeout = 600) {
    double m, sd;
    paired("mkrworld", env_i("MKR_SEED0", 1), env_i("MKR_SEEDS", 5), &m, &sd);
    cr_assert(isfinite(m) && fabs(m) < 0.1, "implausible paired difference %+.4f", m);
    if (getenv("MKR_ASSERT_CLAIM"))
        cr_expect_gt(m, 0.0, "MKR does not beat no-KG on cold items: mean paired difference %+.4f", m);
}

/* The claim, on few-shot cold items (at most 3 training rows, the
 * sparse setting of the MKR paper) with the published MKR settings: MKR beats
 * the same model without the KG task, paired over seeds 1-56. The setting was
 * singled out on seeds 1-16 (+0.0047, t 1.49) and then confirmed on fresh
 * seeds 17-56 (+0.0085, sd 0.0149, t 3.61); strict cold items (no training
 * rows) show no gain (header). The earlier model (MKR_EXACT=0, header).
 * About 70 s with 1 thread. Other MKR_* knobs must be unset. */
Test(mkr_world, kg_task_helps_few_shot_cold_items, .init = setup, .timeout = 1800) {
    setenv("MKR_COLD_TRAIN_MAX", "3", 1); /* this test's own process (Criterion forks per test) */
    setenv("MKR_EXACT", "0", 1);
    double m, sd;
    const int n = 56;
    paired("mkrfew", 1, n, &m, &sd);
    double t = sd > 0 ? m / (sd / sqrt(n)) : 0.0;
    cr_expect_gt(m, 0.0, "MKR does not beat no-KG on few-shot cold items: mean paired difference %+.4f", m);
    cr_expect_gt(t, 2.0, "the few-shot cold-item gain is not significant: t %.2f (mean %+.4f, sd %.4f, n %d)", t, m, sd, n);
}

/* The authors' model and loop (MKR_EXACT=1, header) on the same few-shot
 * cold items, seeds 1-56: the KG task's gain is positive but small (+0.0031,
 * t 2.13 pooled; the fresh seeds 17-56 alone gave t 1.87), so only a positive
 * lean is asserted. About 35 s with 1 thread. Other MKR_* knobs must be unset. */
Test(mkr_world, exact_mkr_leans_positive_on_few_shot_cold_items, .init = setup, .timeout = 1800) {
    setenv("MKR_COLD_TRAIN_MAX", "3", 1);
    setenv("MKR_EXACT", "1", 1);
    double m, sd;
    const int n = 56;
    paired("mkrexact", 1, n, &m, &sd);
    double t = sd > 0 ? m / (sd / sqrt(n)) : 0.0;
    cr_expect_gt(m, 0.0, "exact MKR: mean paired few-shot cold-item difference %+.4f", m);
    cr_expect_gt(t, 1.5, "exact MKR: t %.2f (mean %+.4f, sd %.4f, n %d)", t, m, sd, n);
}
