/* Run configuration: defaults, hash, YAML echo. */
#include "core/train/config.h"

#include <math.h>
#include <string.h>

#include "datasets/dataset.h"

#define SET(dst, s) snprintf((dst), sizeof(dst), "%s", (s))

void kgm_run_config_default(kgm_run_config *c) {
    memset(c, 0, sizeof *c);
    SET(c->name, "run");
    c->seed = 1;
    kgm_data_cfg *d = &c->data;
    SET(d->source, "world");
    d->rating_threshold = NAN;
    SET(d->split, "generator");
    d->valid_frac = 0.1;
    d->test_frac = 0.2;
    d->train_negatives = 0;
    d->n_users = 600;
    d->n_items = 800;
    d->latent_dim = 8;
    d->interactions_per_user = 30;
    d->cold_user_frac = 0.1;
    d->cold_item_frac = 0.1;
    d->noise = 0.1;
    d->mmoe_dim = 100;
    d->mmoe_corr = 0.5;
    d->mmoe_n_train = 8000;
    d->mmoe_n_valid = 1000;
    d->mmoe_n_test = 1000;
    kgm_encoder_cfg *e = &c->encoder;
    e->dim = 32;
    e->id = true;
    SET(e->kg_layer, "gcn");
    e->kg_hops = 2;
    SET(e->social_layer, "diffnet");
    e->social_hops = 2;
    e->ui_hops = 2;
    SET(e->text, "off");
    e->text_buckets = 4096;
    e->text_char_ngram = 0;
    e->history_len = 20;
    SET(e->history_pool, "mean");
    SET(e->fusion, "concat");
    e->tab_cat_dim = 8;
    kgm_mixer_cfg *m = &c->mixer;
    SET(m->kind, "shared_bottom");
    m->bottom_hidden = 64;
    m->n_experts = 4;
    m->task_experts = 1;
    m->expert_hidden = 32;
    m->levels = 1;
    m->tower_hidden = 16;
    kgm_train_cfg *t = &c->train;
    SET(t->mode, "joint");
    SET(t->schedule, "round_robin");
    SET(t->weighting, "auto");
    t->gradnorm_alpha = 1.5;
    t->dwa_temperature = 2.0;
    SET(t->optimizer, "adam");
    t->lr = 1e-2;
    t->epochs = 10;
    t->batch_size = 256;
    t->patience = 0;
    t->arena_mb = 256;
    c->eval.test = true;
    c->eval.cold = true;
    SET(c->eval.fusion, "off");
    SET(c->output, "results/run");
}


void kgm_task_spec_default(kgm_task_spec *t) {
    memset(t, 0, sizeof *t);
    t->weight = 1.0;
    t->lr_mult = 1.0;
    t->every = 1;
    t->consistency_weight = 0.1;
    snprintf(t->consistency_distance, sizeof t->consistency_distance, "sq");
    snprintf(t->split, sizeof t->split, "default");
}

uint64_t kgm_run_config_hash(const kgm_run_config *c) {
    kgm_run_config tmp = *c;
    memset(tmp.output, 0, sizeof tmp.output);
    memset(tmp.name, 0, sizeof tmp.name);
    memset(tmp.manifest, 0, sizeof tmp.manifest);
    memset(tmp.published, 0, sizeof tmp.published);
    for (int i = 0; i < KGM_MAX_TASKS; i++) {
        memset(tmp.tasks[i].where, 0, sizeof tmp.tasks[i].where);
        for (int k = 0; k < KGM_MAX_TASK_OPTS; k++) memset(tmp.tasks[i].opts[k].where, 0, KGM_STR);
    }
    return kgm_hash64(&tmp, sizeof tmp);
}

static void ys(FILE *o, int ind, const char *k, const char *v) { fprintf(o, "%*s%s: \"%s\"\n", ind, "", k, v); }
static void yi(FILE *o, int ind, const char *k, long long v) { fprintf(o, "%*s%s: %lld\n", ind, "", k, v); }
static void yd(FILE *o, int ind, const char *k, double v) {
    if (isnan(v)) fprintf(o, "%*s%s: .nan\n", ind, "", k);
    else fprintf(o, "%*s%s: %.17g\n", ind, "", k, v);
}
static void yb(FILE *o, int ind, const char *k, bool v) { fprintf(o, "%*s%s: %s\n", ind, "", k, v ? "true" : "false"); }

kgm_status kgm_run_config_write_yaml(const kgm_run_config *c, FILE *o) {
    fprintf(o, "# resolved configuration of run '%s' (config hash %016llx)\n", c->name,
            (unsigned long long)kgm_run_config_hash(c));
    ys(o, 0, "name", c->name);
    ys(o, 0, "manifest", c->manifest);
    yi(o, 0, "seed", (long long)c->seed);
    const kgm_data_cfg *d = &c->data;
    fprintf(o, "dataset:\n");
    ys(o, 2, "source", d->source);
    ys(o, 2, "path", d->path);
    ys(o, 2, "cache", d->cache);
    ys(o, 2, "social_path", d->social_path);
    ys(o, 2, "kg_path", d->kg_path);
    yb(o, 2, "social_directed", d->social_directed);
    ys(o, 2, "exclude_columns", d->exclude_columns);
    yi(o, 2, "min_user_interactions", d->min_user_interactions);
    yi(o, 2, "min_item_interactions", d->min_item_interactions);
    yd(o, 2, "rating_threshold", d->rating_threshold);
    ys(o, 2, "split", d->split);
    yd(o, 2, "valid_frac", d->valid_frac);
    yd(o, 2, "test_frac", d->test_frac);
    yi(o, 2, "eval_negatives", d->eval_negatives);
    yi(o, 2, "train_negatives", d->train_negatives);
    yi(o, 2, "n_users", d->n_users);
    yi(o, 2, "n_items", d->n_items);
    yi(o, 2, "latent_dim", d->latent_dim);
    yi(o, 2, "interactions_per_user", d->interactions_per_user);
    yd(o, 2, "cold_user_frac", d->cold_user_frac);
    yd(o, 2, "cold_item_frac", d->cold_item_frac);
    yd(o, 2, "noise", d->noise);
    yi(o, 2, "mmoe_dim", d->mmoe_dim);
    yd(o, 2, "mmoe_corr", d->mmoe_corr);
    yi(o, 2, "mmoe_n_train", d->mmoe_n_train);
    yi(o, 2, "mmoe_n_valid", d->mmoe_n_valid);
    yi(o, 2, "mmoe_n_test", d->mmoe_n_test);
    yi(o, 2, "data_seed", (long long)d->data_seed);
    const kgm_encoder_cfg *e = &c->encoder;
    fprintf(o, "encoder:\n");
    yi(o, 2, "dim", e->dim);
    yb(o, 2, "id", e->id);
    yb(o, 2, "kg", e->kg);
    ys(o, 2, "kg_layer", e->kg_layer);
    yi(o, 2, "kg_hops", e->kg_hops);
    yb(o, 2, "social", e->social);
    ys(o, 2, "social_layer", e->social_layer);
    yi(o, 2, "social_hops", e->social_hops);
    yb(o, 2, "ui_graph", e->ui_graph);
    yi(o, 2, "ui_hops", e->ui_hops);
    ys(o, 2, "text", e->text);
    ys(o, 2, "text_path", e->text_path);
    yi(o, 2, "text_buckets", e->text_buckets);
    yi(o, 2, "text_char_ngram", e->text_char_ngram);
    yb(o, 2, "text_frozen", e->text_frozen);
    yb(o, 2, "history", e->history);
    yi(o, 2, "history_len", e->history_len);
    ys(o, 2, "history_pool", e->history_pool);
    ys(o, 2, "fusion", e->fusion);
    yi(o, 2, "tab_cat_dim", e->tab_cat_dim);
    yd(o, 2, "dropout", e->dropout);
    yi(o, 2, "cross_compress", e->cross_compress);
    const kgm_mixer_cfg *m = &c->mixer;
    fprintf(o, "mixer:\n");
    ys(o, 2, "kind", m->kind);
    yi(o, 2, "bottom_hidden", m->bottom_hidden);
    yi(o, 2, "n_experts", m->n_experts);
    yi(o, 2, "task_experts", m->task_experts);
    yi(o, 2, "expert_hidden", m->expert_hidden);
    yi(o, 2, "levels", m->levels);
    yi(o, 2, "tower_hidden", m->tower_hidden);
    yd(o, 2, "dropout", m->dropout);
    yb(o, 2, "cross_stitch_per_channel", m->cross_stitch_per_channel);
    ys(o, 2, "connections", m->connections);
    fprintf(o, "tasks:\n");
    for (int i = 0; i < c->n_tasks; i++) {
        const kgm_task_spec *t = &c->tasks[i];
        fprintf(o, "  - name: \"%s\"\n", t->name);
        ys(o, 4, "plugin", t->plugin);
        yd(o, 4, "weight", t->weight);
        yd(o, 4, "lr_mult", t->lr_mult);
        yi(o, 4, "every", t->every);
        yi(o, 4, "batch_size", t->batch_size);
        ys(o, 4, "split", t->split);
        if (t->label[0]) ys(o, 4, "label", t->label);
        if (t->consistency_with[0]) {
            ys(o, 4, "consistency_with", t->consistency_with);
            yd(o, 4, "consistency_weight", t->consistency_weight);
            ys(o, 4, "consistency_distance", t->consistency_distance);
        }
        if (t->n_opts) {
            fprintf(o, "    options:\n");
            for (int k = 0; k < t->n_opts; k++) ys(o, 6, t->opts[k].key, t->opts[k].value);
        }
    }
    const kgm_train_cfg *t = &c->train;
    fprintf(o, "optimisation:\n");
    ys(o, 2, "mode", t->mode);
    ys(o, 2, "schedule", t->schedule);
    ys(o, 2, "weighting", t->weighting);
    yd(o, 2, "gradnorm_alpha", t->gradnorm_alpha);
    yd(o, 2, "dwa_temperature", t->dwa_temperature);
    ys(o, 2, "optimizer", t->optimizer);
    yd(o, 2, "lr", t->lr);
    yd(o, 2, "weight_decay", t->weight_decay);
    yd(o, 2, "momentum", t->momentum);
    yd(o, 2, "clip_norm", t->clip_norm);
    yi(o, 2, "epochs", t->epochs);
    yi(o, 2, "batch_size", t->batch_size);
    yi(o, 2, "steps_per_epoch", t->steps_per_epoch);
    yi(o, 2, "patience", t->patience);
    yi(o, 2, "threads", t->threads);
    yi(o, 2, "arena_mb", t->arena_mb);
    ys(o, 2, "frozen", t->frozen);
    yb(o, 2, "log_steps", t->log_steps);
    fprintf(o, "evaluation:\n");
    ys(o, 2, "select", c->eval.select);
    yb(o, 2, "test", c->eval.test);
    yb(o, 2, "cold", c->eval.cold);
    yi(o, 2, "cold_max_train", c->eval.cold_max_train);
    ys(o, 2, "fusion", c->eval.fusion);
    ys(o, 2, "fusion_tasks", c->eval.fusion_tasks);
    ys(o, 2, "fusion_weights", c->eval.fusion_weights);
    ys(o, 0, "output", c->output);
    if (c->published[0]) ys(o, 0, "published", c->published);
    return ferror(o) ? KGM_ERR(KGM_ERR_IO, "writing the resolved configuration failed") : KGM_OK;
}
