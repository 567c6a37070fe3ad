/* Context rules of the manifest: a key set to a non-default value where it
 * cannot change what runs is an error at its position ("no effect in this
 * context"), never a silent no-op (issue 12). Each rule names the key, the
 * condition under which the key takes effect, and the words that say so.
 *
 * "Set" means the resolved value differs from the default: writing a key's
 * default value explicitly is harmless and accepted. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "experiments/manifest.h"
#include "experiments/manifest_internal.h"

#define IS(a, b) (strcmp((a), (b)) == 0)

static bool src_generated(const kgm_run_config *c) { return IS(c->data.source, "world") || IS(c->data.source, "mmoe"); }
static bool src_world(const kgm_run_config *c) { return IS(c->data.source, "world"); }
static bool src_mmoe(const kgm_run_config *c) { return IS(c->data.source, "mmoe"); }
static bool src_loaded(const kgm_run_config *c) { return !src_generated(c); }
static bool src_not_world(const kgm_run_config *c) { return !src_world(c); }
static bool src_tabular_possible(const kgm_run_config *c) { return !src_world(c); }
static bool kg_on(const kgm_run_config *c) { return c->encoder.kg; }
static bool social_on(const kgm_run_config *c) { return c->encoder.social; }
static bool ui_on(const kgm_run_config *c) { return c->encoder.ui_graph; }
static bool text_hash(const kgm_run_config *c) { return IS(c->encoder.text, "hash"); }
static bool text_file(const kgm_run_config *c) { return IS(c->encoder.text, "vectors") || IS(c->encoder.text, "npy"); }
static bool text_on(const kgm_run_config *c) { return !IS(c->encoder.text, "off"); }
static bool history_on(const kgm_run_config *c) { return c->encoder.history; }
static bool mixer_bottom(const kgm_run_config *c) {
    return IS(c->mixer.kind, "shared_bottom") || IS(c->mixer.kind, "separate") || IS(c->mixer.kind, "cross_stitch");
}
static bool mixer_experts(const kgm_run_config *c) {
    return IS(c->mixer.kind, "mmoe") || IS(c->mixer.kind, "omoe") || IS(c->mixer.kind, "ple");
}
static bool mixer_ple(const kgm_run_config *c) { return IS(c->mixer.kind, "ple"); }
static bool mixer_cs(const kgm_run_config *c) { return IS(c->mixer.kind, "cross_stitch"); }
static bool alternating(const kgm_run_config *c) { return IS(c->train.mode, "alternating"); }
static bool w_gradnorm(const kgm_run_config *c) { return IS(c->train.weighting, "gradnorm"); }
static bool w_dwa(const kgm_run_config *c) { return IS(c->train.weighting, "dwa"); }
static bool opt_sgd(const kgm_run_config *c) { return IS(c->train.optimizer, "sgd"); }
static bool fusion_on(const kgm_run_config *c) { return !IS(c->eval.fusion, "off"); }
static bool fusion_weighted(const kgm_run_config *c) {
    return IS(c->eval.fusion, "weighted") || IS(c->eval.fusion, "power");
}
static bool cold_on(const kgm_run_config *c) { return c->eval.cold; }

typedef struct {
    const char *key;
    bool (*applies)(const kgm_run_config *c);
    const char *needs; /* completes "... has an effect only ..." */
} ctx_rule;

static const ctx_rule rules[] = {
    {"dataset.path", src_loaded, "for loaded data (dataset.source other than world and mmoe, which are generated)"},
    {"dataset.cache", src_loaded, "for loaded data (generated sources are rebuilt from their seed, never cached)"},
    {"dataset.exclude_columns", src_tabular_possible, "for tabular data (source world gives user-item interactions)"},
    {"dataset.train_negatives", src_loaded, "for loaded implicit-feedback data (generated data has explicit labels)"},
    {"dataset.n_users", src_world, "with dataset.source: world"},
    {"dataset.n_items", src_world, "with dataset.source: world"},
    {"dataset.latent_dim", src_world, "with dataset.source: world"},
    {"dataset.interactions_per_user", src_world, "with dataset.source: world"},
    {"dataset.cold_user_frac", src_world, "with dataset.source: world"},
    {"dataset.cold_item_frac", src_world, "with dataset.source: world"},
    {"dataset.noise", src_world, "with dataset.source: world"},
    {"dataset.mmoe_dim", src_mmoe, "with dataset.source: mmoe"},
    {"dataset.mmoe_corr", src_mmoe, "with dataset.source: mmoe"},
    {"dataset.mmoe_n_train", src_mmoe, "with dataset.source: mmoe"},
    {"dataset.mmoe_n_valid", src_mmoe, "with dataset.source: mmoe"},
    {"dataset.mmoe_n_test", src_mmoe, "with dataset.source: mmoe"},
    {"encoder.kg_layer", kg_on, "with encoder.kg: true"},
    {"encoder.kg_hops", kg_on, "with encoder.kg: true"},
    {"encoder.social_layer", social_on, "with encoder.social: true"},
    {"encoder.social_hops", social_on, "with encoder.social: true"},
    {"encoder.ui_hops", ui_on, "with encoder.ui_graph: true"},
    {"encoder.text_path", text_file, "with encoder.text: vectors or npy"},
    {"encoder.text_buckets", text_hash, "with encoder.text: hash"},
    {"encoder.text_char_ngram", text_hash, "with encoder.text: hash"},
    {"encoder.text_frozen", text_on, "with encoder.text on (hash, vectors or npy)"},
    {"encoder.history_len", history_on, "with encoder.history: true"},
    {"encoder.history_pool", history_on, "with encoder.history: true"},
    {"encoder.tab_cat_dim", src_not_world, "for tabular data with categorical columns (source world has none)"},
    {"mixer.bottom_hidden", mixer_bottom, "with mixer.kind shared_bottom, separate or cross_stitch"},
    {"mixer.n_experts", mixer_experts, "with mixer.kind mmoe, omoe or ple"},
    {"mixer.expert_hidden", mixer_experts, "with mixer.kind mmoe, omoe or ple"},
    {"mixer.task_experts", mixer_ple, "with mixer.kind: ple"},
    {"mixer.levels", mixer_ple, "with mixer.kind: ple"},
    {"mixer.cross_stitch_per_channel", mixer_cs, "with mixer.kind: cross_stitch"},
    {"optimisation.schedule", alternating, "with optimisation.mode: alternating"},
    {"optimisation.gradnorm_alpha", w_gradnorm, "with optimisation.weighting: gradnorm"},
    {"optimisation.dwa_temperature", w_dwa, "with optimisation.weighting: dwa"},
    {"optimisation.momentum", opt_sgd, "with optimisation.optimizer: sgd"},
    {"evaluation.fusion_tasks", fusion_on, "with evaluation.fusion on (sum, product, weighted or power)"},
    {"evaluation.fusion_weights", fusion_weighted, "with evaluation.fusion: weighted or power"},
    {"evaluation.cold_max_train", cold_on, "with evaluation.cold: true"},
};

/* Task fields: rules on one task entry. */
static bool task_every_applies(const kgm_run_config *c, const kgm_task_spec *t) {
    (void)t;
    return alternating(c) && (IS(c->train.schedule, "every") || IS(c->train.schedule, "every_epoch"));
}
static bool task_consistency_applies(const kgm_run_config *c, const kgm_task_spec *t) {
    (void)c;
    return t->consistency_with[0] != '\0';
}

typedef struct {
    const char *key; /* "tasks[].FIELD" */
    bool (*applies)(const kgm_run_config *c, const kgm_task_spec *t);
    const char *needs;
} task_rule;

static const task_rule task_rules[] = {
    {"tasks[].every", task_every_applies, "with optimisation.mode: alternating and optimisation.schedule every or every_epoch"},
    {"tasks[].consistency_weight", task_consistency_applies, "with consistency_with set on the same task"},
    {"tasks[].consistency_distance", task_consistency_applies, "with consistency_with set on the same task"},
};

/* Whether field `s` differs between two structs (type-aware: strings up to
 * their NUL, floats with NaN equal to NaN). */
static bool field_differs(const kgm_key_spec *s, const void *a, const void *b) {
    const char *pa = (const char *)a + s->offset, *pb = (const char *)b + s->offset;
    switch (s->type) {
    case KGM_KEY_STRING:
    case KGM_KEY_ENUM: return strncmp(pa, pb, s->size) != 0;
    case KGM_KEY_FLOAT: {
        double x, y;
        memcpy(&x, pa, sizeof x);
        memcpy(&y, pb, sizeof y);
        if (isnan(x) && isnan(y)) return false;
        return x != y;
    }
    default: return memcmp(pa, pb, s->size) != 0;
    }
}

/* The last part of a dotted key, for messages ("kg_hops"). */
static const char *leaf(const char *key) {
    const char *d = strrchr(key, '.');
    return d ? d + 1 : key;
}

void kgm__manifest_context_visit(const kgm_run_config *c, const kgm_run_config *def, kgm__context_fn visit, void *u) {
    char msg[400];
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        const kgm_key_spec *s = kgm_manifest_key(rules[i].key);
        KGM_ASSERT(s && s->size > 0);
        if (!field_differs(s, c, def)) continue;
        snprintf(msg, sizeof msg, "%s: has no effect in this context: it applies only %s; remove it", rules[i].key,
                 rules[i].needs);
        visit(u, rules[i].key, NULL, rules[i].applies(c), msg);
    }
    kgm_task_spec tdef;
    kgm_task_spec_default(&tdef);
    for (int32_t k = 0; k < c->n_tasks; k++) {
        const kgm_task_spec *t = &c->tasks[k];
        for (size_t i = 0; i < sizeof task_rules / sizeof *task_rules; i++) {
            const kgm_key_spec *s = kgm_manifest_key(task_rules[i].key);
            KGM_ASSERT(s && s->size > 0);
            if (!field_differs(s, t, &tdef)) continue;
            char axis[160];
            snprintf(axis, sizeof axis, "tasks.%s.%s", t->name, leaf(task_rules[i].key));
            snprintf(msg, sizeof msg, "tasks[].%s of task '%s': has no effect in this context: it applies only %s; remove it",
                     leaf(task_rules[i].key), t->name, task_rules[i].needs);
            visit(u, axis, t->where, task_rules[i].applies(c, t), msg);
        }
    }
}
