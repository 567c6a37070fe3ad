/* The schema walk: every manifest key, and every option of every built-in
 * plugin, has an observable effect or is rejected in context (issue 12).
 *
 * For each entry of `walk` below, two manifests differing only in that key are
 * run through the real `kgmtl` binary on a tiny generated world (or a tiny
 * fixture written here), and the test checks the stated outcome:
 *   FX_RUN      both runs succeed, their resolved configurations differ and so
 *               do their metrics (every metrics.csv of the sweep, concatenated);
 *   FX_FILE     both succeed and the named file of the runs differs (keys whose
 *               effect is not a number, e.g. optimisation.log_steps: weights.csv);
 *   FX_CONTAINS both succeed and B's named file contains `needle`, A's does not;
 *   FX_SAME     both succeed, the resolved configurations differ and the
 *               metrics are bit-identical: a pure performance setting (chunk
 *               sizes, arena size) whose invariance is the property to show;
 *   FX_REJECT   A succeeds; B exits 2 naming the manifest file and a line
 *               ("m.yaml:LINE"), i.e. the key is refused in that context.
 * Values are set either as a one-value ablation axis (`ablate: {KEY: [V]}`,
 * which reaches every table key, task field and plugin option) or, for keys
 * an axis cannot reach (name, base, seeds, tasks, ...), as a YAML snippet.
 *
 * The coverage test fails when a key of the schema (kgm_manifest_schema) or an
 * option of a built-in plugin has no entry here: a new key must come with a
 * demonstration of its effect. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/experiments/exp_util.h"
#include "core/plugin/host.h"
#include "experiments/manifest.h"
#include "kgmtl/plugin.h"

typedef enum { FX_RUN, FX_FILE, FX_CONTAINS, FX_SAME, FX_REJECT } fx_kind;

typedef struct {
    const char *key;    /* schema key, or "plugin:NAME.OPTION" */
    const char *ctx;    /* context manifest (name in `contexts`) */
    const char *axis;   /* ablation axis for the value; NULL: a and b are YAML snippets */
    const char *a, *b;  /* the two values (or snippets) */
    fx_kind fx;
    const char *file;   /* FX_FILE / FX_CONTAINS: basename of the compared file */
    const char *needle; /* FX_CONTAINS */
} walk_entry;

/* ---- contexts ------------------------------------------------------------------ */

#define WORLD "dataset: {source: world, n_users: 80, n_items: 60, interactions_per_user: 12}\n"
#define RUN2 "optimisation: {epochs: 2, batch_size: 64}\nseeds: [1]\noutput: out\n"
#define MMOE_DATA                                                                                                  \
    "dataset: {source: mmoe, mmoe_dim: 12, mmoe_n_train: 400, mmoe_n_valid: 100, mmoe_n_test: 100}\n"
#define MMOE_TASKS                                                                                                 \
    "tasks:\n  - {plugin: rating, name: t1, label: y1}\n  - {plugin: rating, name: t2, label: y2}\n"

typedef struct {
    const char *name, *text;
} context;

static const context contexts[] = {
    {"w", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"wr", "dataset: {source: world, n_users: 80, n_items: 60, interactions_per_user: 12, split: random}\n"
           "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"kg", WORLD "encoder: {dim: 8, kg: true}\ntasks:\n  - {plugin: ctr}\n  - {plugin: kge}\n" RUN2},
    {"alt", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: kge}\n"
            "optimisation: {epochs: 2, batch_size: 64, mode: alternating}\nseeds: [1]\noutput: out\n"},
    {"alte", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: kge, every: 2}\n"
             "optimisation: {epochs: 2, batch_size: 64, mode: alternating, schedule: every}\nseeds: [1]\noutput: out\n"},
    {"soc", WORLD "encoder: {dim: 8, social: true}\ntasks:\n  - {plugin: ctr}\n  - {plugin: social}\n" RUN2},
    {"ui", WORLD "encoder: {dim: 8, ui_graph: true}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"txt", WORLD "encoder: {dim: 8, text: hash, text_buckets: 64}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"vec", WORLD "encoder: {dim: 8, text: npy, text_path: emb1.npy}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"hist", WORLD "encoder: {dim: 8, history: true}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"histtxt", WORLD "encoder: {dim: 8, history: true, text: hash, text_buckets: 64}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"topk", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: topk}\n" RUN2},
    {"ml", "dataset: {source: movielens, path: ml, split: random}\nencoder: {dim: 8}\ntasks:\n  - {plugin: rating}\n" RUN2},
    {"mlc", "dataset: {source: movielens, path: ml, split: random, rating_threshold: 4}\nencoder: {dim: 8}\n"
            "tasks:\n  - {plugin: ctr}\n" RUN2},
    {"mls", "dataset: {source: movielens, path: ml, split: random, social_path: socw.tsv}\nencoder: {dim: 8, social: true}\n"
            "tasks:\n  - {plugin: rating}\n  - {plugin: social}\n" RUN2},
    {"tab", "dataset: {source: kernlab-income, path: tab, split: random}\nencoder: {dim: 8}\n"
            "tasks:\n  - {plugin: ctr, label: income}\n" RUN2},
    {"mm", MMOE_DATA "mixer: {kind: mmoe, n_experts: 2, expert_hidden: 4, tower_hidden: 4}\n" MMOE_TASKS RUN2},
    {"ple", MMOE_DATA "mixer: {kind: ple, n_experts: 2, expert_hidden: 4, tower_hidden: 4}\n" MMOE_TASKS RUN2},
    {"cs", MMOE_DATA "mixer: {kind: cross_stitch, bottom_hidden: 8}\n" MMOE_TASKS RUN2},
    {"two", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: ctr, name: cvr}\n" RUN2},
    {"cons", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: ctr, name: cvr, consistency_with: ctr}\n" RUN2},
    {"fus", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: esmm}\n"
            "evaluation: {fusion: weighted, fusion_tasks: \"ctr,esmm\", fusion_weights: \"1,3\"}\n" RUN2},
    {"eq", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: kge}\n"
           "optimisation: {epochs: 2, batch_size: 64, weighting: equal}\nseeds: [1]\noutput: out\n"},
    {"mn", WORLD "encoder: {dim: 8}\nmixer: {kind: none}\ntasks:\n  - {plugin: ctr}\n" RUN2},
    {"gn", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: kge}\n"
           "optimisation: {epochs: 3, batch_size: 64, weighting: gradnorm}\nseeds: [1]\noutput: out\n"},
    {"dwa", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: kge}\n"
            "optimisation: {epochs: 3, batch_size: 64, weighting: dwa}\nseeds: [1]\noutput: out\n"},
    {"sgd", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n"
            "optimisation: {epochs: 2, batch_size: 64, optimizer: sgd, lr: 0.1}\nseeds: [1]\noutput: out\n"},
    {"long", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n"
             "optimisation: {epochs: 8, batch_size: 16, lr: 0.1}\nseeds: [1]\noutput: out\n"},
    {"ilab", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: itemlabels}\n" RUN2},
    {"uatt", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: userattr}\n" RUN2},
    {"esmm", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: esmm}\n" RUN2},
    {"con", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n  - {plugin: contrastive}\n" RUN2},
    {"tpl", WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: template}\n" RUN2},
    {"-", ""}, /* no base: the snippets are whole manifests */
};

/* ---- the walk ------------------------------------------------------------------ */

#define AX(key, ctx, a, b) {key, ctx, key, a, b, FX_RUN, NULL, NULL}
#define AXF(key, ctx, a, b, file) {key, ctx, key, a, b, FX_FILE, file, NULL}
#define AXC(key, ctx, a, b, file, needle) {key, ctx, key, a, b, FX_CONTAINS, file, needle}
#define AXS(key, ctx, a, b) {key, ctx, key, a, b, FX_SAME, NULL, NULL}
#define AXR(key, ctx, a, b) {key, ctx, key, a, b, FX_REJECT, NULL, NULL}
#define TX(key, ctx, axis, a, b) {key, ctx, axis, a, b, FX_RUN, NULL, NULL}
#define SN(key, ctx, a, b) {key, ctx, NULL, a, b, FX_RUN, NULL, NULL}
#define SNC(key, ctx, a, b, file, needle) {key, ctx, NULL, a, b, FX_CONTAINS, file, needle}
#define POS(plugin, opt, ctx, task, a, b) {"plugin:" plugin "." opt, ctx, "tasks." task ".options." opt, a, b, FX_SAME, NULL, NULL}
#define PO(plugin, opt, ctx, task, a, b) {"plugin:" plugin "." opt, ctx, "tasks." task ".options." opt, a, b, FX_RUN, NULL, NULL}

static const walk_entry walk[] = {
    /* top level */
    SNC("name", "w", "name: alpha", "name: beta-title", "report.html", "beta-title"),
    SNC("description", "w", "description: one", "description: a-walk-description", "report.html", "a-walk-description"),
    SN("base", "-", "base: w.yaml", "base: w3.yaml"),
    SN("seed", "w", "seed: 1", "seed: 2"),
    SN("seeds", "w", "seeds: [1]", "seeds: [1, 2]"),
    SNC("output", "w", "output: out", "output: elsewhere", "stdout.txt", "output elsewhere"),
    SNC("published", "w", "", "published: {ctr.auc: 0.7771}", "report.html", "0.7771"),
    SN("ablate", "w", "", "ablate: {encoder.dim: [8, 12]}"),
    SN("ablate_mode", "w", "ablate: {encoder.dim: [8, 12], optimisation.lr: [0.01, 0.02]}\nablate_mode: grid",
       "ablate: {encoder.dim: [8, 12], optimisation.lr: [0.01, 0.02]}\nablate_mode: zip"),
    SN("tasks", "w", "tasks: [{plugin: ctr}]", "tasks: [{plugin: ctr}, {plugin: kge}]"),

    /* dataset */
    SN("dataset.source", "w", "", MMOE_DATA MMOE_TASKS),
    AX("dataset.path", "ml", "ml", "ml2"),
    AXC("dataset.cache", "ml", "\"\"", "c.bin", "run.log", "cache: dataset written to c.bin"),
    AXR("dataset.cache", "w", "\"\"", "c.bin"),
    AX("dataset.social_path", "mls", "socw.tsv", "socw2.tsv"),
    AXR("dataset.social_path", "soc", "\"\"", "soc.tsv"),
    AX("dataset.kg_path", "kg", "\"\"", "kgx.tsv"),
    AXR("dataset.kg_path", "mm", "\"\"", "kgx.tsv"),
    AX("dataset.social_directed", "mls", "false", "true"),
    AXR("dataset.social_directed", "w", "false", "true"),
    AX("dataset.exclude_columns", "tab", "\"\"", "city"),
    AXR("dataset.exclude_columns", "w", "\"\"", "x1"),
    AX("dataset.min_user_interactions", "ml", "0", "11"),
    AXR("dataset.min_user_interactions", "w", "0", "3"),
    AX("dataset.min_item_interactions", "ml", "0", "14"),
    AX("dataset.rating_threshold", "mlc", "4", "3"),
    AXR("dataset.rating_threshold", "w", ".nan", "0.5"),
    AX("dataset.split", "w", "generator", "random"),
    AX("dataset.valid_frac", "wr", "0.1", "0.3"),
    AX("dataset.test_frac", "wr", "0.2", "0.3"),
    AX("dataset.eval_negatives", "topk", "0", "20"),
    AX("dataset.train_negatives", "mlc", "0", "2"),
    AXR("dataset.train_negatives", "w", "0", "1"),
    AXR("dataset.n_users", "mm", "600", "90"),
    AXR("dataset.mmoe_dim", "w", "100", "10"),
    AX("dataset.n_users", "w", "80", "90"),
    AX("dataset.n_items", "w", "60", "70"),
    AX("dataset.latent_dim", "w", "8", "4"),
    AX("dataset.interactions_per_user", "w", "12", "14"),
    AX("dataset.cold_user_frac", "w", "0.1", "0.3"),
    AX("dataset.cold_item_frac", "w", "0.1", "0.3"),
    AX("dataset.noise", "w", "0.1", "0.4"),
    AX("dataset.mmoe_dim", "mm", "12", "10"),
    AX("dataset.mmoe_corr", "mm", "0.5", "0.9"),
    AX("dataset.mmoe_n_train", "mm", "400", "300"),
    AX("dataset.mmoe_n_valid", "mm", "100", "80"),
    AX("dataset.mmoe_n_test", "mm", "100", "80"),
    AX("dataset.data_seed", "w", "0", "7"),

    /* encoder */
    AX("encoder.dim", "w", "8", "12"),
    AX("encoder.id", "histtxt", "true", "false"),
    AX("encoder.kg", "w", "false", "true"),
    AX("encoder.kg_layer", "kg", "gcn", "sage"),
    AX("encoder.kg_hops", "kg", "2", "1"),
    AXR("encoder.kg_hops", "w", "2", "1"),
    AX("encoder.social", "w", "false", "true"),
    AX("encoder.social_layer", "soc", "diffnet", "gcn"),
    AX("encoder.social_hops", "soc", "2", "1"),
    AX("encoder.ui_graph", "w", "false", "true"),
    AX("encoder.ui_hops", "ui", "2", "1"),
    AX("encoder.text", "w", "\"off\"", "hash"),
    AX("encoder.text_path", "vec", "emb1.npy", "emb2.npy"),
    AX("encoder.text_buckets", "txt", "64", "128"),
    AX("encoder.text_char_ngram", "txt", "0", "3"),
    AX("encoder.text_frozen", "txt", "false", "true"),
    AX("encoder.history", "w", "false", "true"),
    AX("encoder.history_len", "hist", "20", "3"),
    AX("encoder.history_pool", "hist", "mean", "attention"),
    AX("encoder.fusion", "txt", "concat", "sum"),
    AX("encoder.tab_cat_dim", "tab", "8", "4"),
    AXR("encoder.tab_cat_dim", "w", "8", "4"),
    AX("encoder.dropout", "w", "0", "0.3"),
    AX("encoder.cross_compress", "kg", "0", "1"),

    /* mixer */
    AX("mixer.kind", "w", "shared_bottom", "mmoe"),
    AX("mixer.bottom_hidden", "w", "64", "16"),
    AX("mixer.n_experts", "mm", "2", "3"),
    AXR("mixer.n_experts", "w", "4", "3"),
    AX("mixer.task_experts", "ple", "1", "2"),
    AX("mixer.expert_hidden", "mm", "4", "8"),
    AX("mixer.levels", "ple", "1", "2"),
    AX("mixer.tower_hidden", "w", "16", "4"),
    AX("mixer.dropout", "w", "0", "0.3"),
    AX("mixer.cross_stitch_per_channel", "cs", "false", "true"),
    AX("mixer.connections", "mm", "\"\"", "\"t1>t2\""),

    /* tasks[] */
    {"tasks[].plugin", "-", NULL, "base: w.yaml", "base: w.yaml\ntasks: [{plugin: template, name: ctr}]", FX_RUN, NULL, NULL},
    SNC("tasks[].name", "w", "tasks: [{plugin: ctr}]", "tasks: [{plugin: ctr, name: click}]", "metrics.csv", "click"),
    TX("tasks[].weight", "kg", "tasks.kge.weight", "1", "0.01"),
    {"tasks[].weight", "eq", "tasks.kge.weight", "1", "0.01", FX_REJECT, NULL, NULL},
    TX("tasks[].lr_mult", "kg", "tasks.kge.lr_mult", "1", "0.1"),
    TX("tasks[].every", "alte", "tasks.kge.every", "2", "3"),
    {"tasks[].every", "alt", "tasks.kge.every", "1", "3", FX_REJECT, NULL, NULL},
    TX("tasks[].batch_size", "kg", "tasks.kge.batch_size", "0", "16"),
    TX("tasks[].label", "mm", "tasks.t1.label", "y1", "y2"),
    SN("tasks[].consistency_with", "two", "", "tasks:\n  - {plugin: ctr}\n  - {plugin: ctr, name: cvr, consistency_with: ctr}"),
    SN("tasks[].consistency_weight", "two",
       "tasks:\n  - {plugin: ctr}\n  - {plugin: ctr, name: cvr, consistency_with: ctr, consistency_weight: 0.1}",
       "tasks:\n  - {plugin: ctr}\n  - {plugin: ctr, name: cvr, consistency_with: ctr, consistency_weight: 2}"),
    SN("tasks[].consistency_distance", "two",
       "tasks:\n  - {plugin: ctr}\n  - {plugin: ctr, name: cvr, consistency_with: ctr, consistency_distance: sq}",
       "tasks:\n  - {plugin: ctr}\n  - {plugin: ctr, name: cvr, consistency_with: ctr, consistency_distance: abs}"),
    SN("tasks[].split", "kg", "tasks:\n  - {plugin: ctr}\n  - {plugin: kge}",
       "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, split: none}"),
    TX("tasks[].options", "w", "tasks.ctr.options.hidden", "32", "4"),

    /* optimisation */
    AX("optimisation.mode", "kg", "joint", "alternating"),
    AX("optimisation.schedule", "alte", "every", "round_robin"),
    AXR("optimisation.schedule", "w", "round_robin", "every"),
    AX("optimisation.weighting", "kg", "equal", "uncertainty"),
    /* GradNorm's weight update follows the sign of G_k - target_k (the paper's L1 loss), so on this
     * tiny world only a large alpha flips a sign within 3 epochs (0 and 1.5 give the same run) */
    AX("optimisation.gradnorm_alpha", "gn", "1.5", "50"),
    AXR("optimisation.gradnorm_alpha", "kg", "1.5", "0.1"),
    AX("optimisation.dwa_temperature", "dwa", "2", "0.1"),
    AX("optimisation.optimizer", "w", "adam", "sgd"),
    AX("optimisation.lr", "w", "0.01", "0.05"),
    AX("optimisation.weight_decay", "w", "0", "0.01"),
    AX("optimisation.momentum", "sgd", "0", "0.9"),
    AXR("optimisation.momentum", "w", "0", "0.9"),
    AX("optimisation.clip_norm", "w", "0", "0.01"),
    AX("optimisation.epochs", "w", "2", "3"),
    AX("optimisation.batch_size", "w", "64", "32"),
    AX("optimisation.steps_per_epoch", "w", "0", "3"),
    AXC("optimisation.patience", "long", "0", "1", "run.log", "early stopping"),
    AXC("optimisation.threads", "w", "2", "1", "run.log", "threads: 1 OpenMP thread,"),
    AXS("optimisation.arena_mb", "w", "256", "64"),
    AX("optimisation.frozen", "w", "\"\"", "encoder"),
    AXF("optimisation.log_steps", "w", "false", "true", "weights.csv"),

    /* evaluation */
    AXC("evaluation.select", "kg", "ctr.auc", "kge.mrr", "run.log", "kge.mrr ="),
    AXF("evaluation.test", "w", "true", "false", "metrics.csv"),
    AXF("evaluation.cold", "w", "true", "false", "metrics.csv"),
    AX("evaluation.cold_max_train", "w", "0", "3"),
    AXF("evaluation.fusion", "fus", "\"off\"", "sum", "metrics.csv"),
    AX("evaluation.fusion_tasks", "fus", "\"ctr,esmm\"", "\"esmm,ctr\""),
    AX("evaluation.fusion_weights", "fus", "\"1,3\"", "\"1,1\""),
    AXR("evaluation.fusion_tasks", "w", "\"\"", "\"ctr,ctr\""),

    /* plugin options: every option of every built-in plugin */
    PO("ctr", "hidden", "w", "ctr", "32", "4"),
    PO("ctr", "dropout", "w", "ctr", "0", "0.5"),
    PO("ctr", "head", "mn", "ctr", "tower", "mkr"),
    {"plugin:ctr.user_layers", "mn", NULL, "tasks: [{plugin: ctr, options: {head: mkr}}]",
     "tasks: [{plugin: ctr, options: {head: mkr, user_layers: 2}}]", FX_RUN, NULL, NULL},
    PO("ctr", "threshold", "w", "ctr", "0.5", "0.2"),
    PO("esmm", "hidden", "esmm", "esmm", "32", "4"),
    PO("esmm", "dropout", "esmm", "esmm", "0", "0.5"),
    PO("itemlabels", "hidden", "ilab", "itemlabels", "32", "4"),
    PO("itemlabels", "dropout", "ilab", "itemlabels", "0", "0.5"),
    PO("itemlabels", "threshold", "ilab", "itemlabels", "0.5", "0.2"),
    PO("kge", "model", "kg", "kge", "transe", "distmult"),
    PO("kge", "norm", "kg", "kge", "l1", "l2sq"),
    PO("kge", "loss", "kg", "kge", "auto", "logistic"),
    PO("kge", "margin", "kg", "kge", "1", "3"),
    PO("kge", "negatives", "kg", "kge", "1", "4"),
    {"plugin:kge.rel_dim", "kg", NULL, "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: transr}}",
     "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: transr, rel_dim: 4}}", FX_RUN, NULL, NULL},
    {"plugin:kge.layers", "kg", NULL, "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr}}",
     "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr, layers: 2}}", FX_RUN, NULL, NULL},
    {"plugin:kge.tail_layers", "kg", NULL, "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr}}",
     "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr, tail_layers: 0}}", FX_RUN, NULL, NULL},
    {"plugin:kge.query_act", "kg", NULL, "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr}}",
     "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr, query_act: linear}}", FX_RUN, NULL, NULL},
    {"plugin:kge.l2", "kg", NULL, "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr}}",
     "tasks:\n  - {plugin: ctr}\n  - {plugin: kge, options: {model: mkr, l2: 0.5}}", FX_RUN, NULL, NULL},
    PO("rating", "hidden", "ml", "rating", "32", "4"),
    PO("rating", "dropout", "ml", "rating", "0", "0.5"),
    {"plugin:rating.min_rating", "ml", NULL, "tasks: [{plugin: rating, options: {max_rating: 5}}]",
     "tasks: [{plugin: rating, options: {min_rating: 3, max_rating: 5}}]", FX_RUN, NULL, NULL},
    {"plugin:rating.max_rating", "ml", NULL, "tasks: [{plugin: rating, options: {min_rating: 1}}]",
     "tasks: [{plugin: rating, options: {min_rating: 1, max_rating: 3}}]", FX_RUN, NULL, NULL},
    PO("social", "negatives", "soc", "social", "1", "4"),
    PO("social", "use_weights", "mls", "social", "false", "true"),
    PO("social", "eval_seed", "soc", "social", "12345", "7"),
    PO("topk", "loss", "topk", "topk", "bpr", "softmax"),
    PO("topk", "k", "topk", "topk", "10", "5"),
    {"plugin:topk.negatives", "topk", NULL, "tasks: [{plugin: topk, options: {loss: softmax}}]",
     "tasks: [{plugin: topk, options: {loss: softmax, negatives: 8}}]", FX_RUN, NULL, NULL},
    {"plugin:topk.temperature", "topk", NULL, "tasks: [{plugin: topk, options: {loss: softmax}}]",
     "tasks: [{plugin: topk, options: {loss: softmax, temperature: 0.1}}]", FX_RUN, NULL, NULL},
    PO("topk", "kgat_ndcg", "topk", "topk", "false", "true"),
    POS("topk", "eval_chunk", "topk", "topk", "256", "7"),
    PO("userattr", "hidden", "uatt", "userattr", "32", "4"),
    PO("userattr", "dropout", "uatt", "userattr", "0", "0.5"),
    PO("contrastive", "side", "con", "contrastive", "item", "user"),
    PO("contrastive", "dropout", "con", "contrastive", "0.3", "0.6"),
    PO("contrastive", "temperature", "con", "contrastive", "0.2", "1"),
    PO("contrastive", "eval_chunk", "con", "contrastive", "256", "16"),
    PO("contrastive", "eval_seed", "con", "contrastive", "4242", "7"),
    PO("template", "threshold", "tpl", "template", "0.5", "0.2"),
};

#define N_WALK ((int)(sizeof walk / sizeof *walk))

/* ---- fixtures ------------------------------------------------------------------ */

static char g_bin[EU_PATH];
static char g_plugins[EU_PATH];

static void find_binary(void) {
    const char *b = getenv("KGMTL_BUILD_DIR");
    cr_assert(b && *b, "KGMTL_BUILD_DIR is not set (run through meson test)");
    snprintf(g_bin, sizeof g_bin, "%s/kgmtl", b);
    snprintf(g_plugins, sizeof g_plugins, "%s/plugins", b);
}

/* An (n, k) float32 .npy file with values v(i, j) = sin(s*(i+1) + j). */
static void write_npy(const char *dir, const char *name, int n, int k, double s) {
    char p[EU_PATH];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    cr_assert(f);
    char hdr[128];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, k);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    uint16_t hlen = (uint16_t)(hl + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fwrite(&hlen, 2, 1, f);
    fwrite(hdr, 1, (size_t)hl, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            float v = (float)__builtin_sin(s * (i + 1) + j);
            fwrite(&v, sizeof v, 1, f);
        }
    fclose(f);
}

/* A MovieLens-100K folder: `u.data` (user item rating timestamp), 40 users x 30 items. */
static void write_movielens(const char *dir, const char *name, unsigned salt) {
    char buf[65536];
    size_t o = 0;
    for (int u = 1; u <= 40; u++)
        for (int i = 1; i <= 30; i++) {
            unsigned h = (unsigned)(u * 2654435761u) ^ (unsigned)(i * 40503u) ^ salt;
            if (h % 3) continue;
            int r = 1 + (int)((h / 7 + (unsigned)u + (unsigned)i) % 5);
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%d\t%d\t%d\t%d\n", u, i, r, 880000000 + u * 100 + i);
        }
    char p[EU_PATH];
    snprintf(p, sizeof p, "%s/u.data", name);
    eu_write(dir, p, buf);
}

static void write_fixtures(const char *dir) {
    for (size_t c = 0; c < sizeof contexts / sizeof *contexts; c++) {
        if (!strcmp(contexts[c].name, "-")) continue;
        char n[64];
        snprintf(n, sizeof n, "%s.yaml", contexts[c].name);
        eu_write(dir, n, contexts[c].text);
    }
    eu_write(dir, "w3.yaml",
             WORLD "encoder: {dim: 8}\ntasks:\n  - {plugin: ctr}\n"
                   "optimisation: {epochs: 3, batch_size: 64}\nseeds: [1]\noutput: out\n");
    write_npy(dir, "emb1.npy", 60, 4, 0.7);
    write_npy(dir, "emb2.npy", 60, 4, 1.3);
    write_movielens(dir, "ml", 0);
    write_movielens(dir, "ml2", 0x5bd1e995u);
    /* extra KG triples over the world's item entities ("item:N"), a new relation */
    char kg[8192];
    size_t o = 0;
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(kg + o, sizeof kg - o, "item:%d\textra_rel\tx%d\n", i, i % 5);
    eu_write(dir, "kgx.tsv", kg);
    /* extra social edges over the world's users */
    char so[8192];
    o = 0;
    for (int u = 0; u < 80; u++) o += (size_t)snprintf(so + o, sizeof so - o, "user:%d\tuser:%d\n", u, (u * 7 + 3) % 80);
    eu_write(dir, "soc.tsv", so);
    /* weighted social edges over the MovieLens fixture's users ("1".."40") */
    for (int v = 0; v < 2; v++) {
        o = 0;
        for (int u = 1; u <= 40; u++)
            for (int j = 1; j <= 3; j++)
                o += (size_t)snprintf(so + o, sizeof so - o, "%d\t%d\t%d\n", u, 1 + (u * (j + 2 + v) + j) % 40,
                                      1 + (u + j * (3 + v)) % 9);
        eu_write(dir, v ? "socw2.tsv" : "socw.tsv", so);
    }
    /* a kernlab-income style table: a numeric, two categorical columns, the label */
    char tb[16384];
    o = (size_t)snprintf(tb, sizeof tb, "age\tcolor\tcity\tincome\n");
    static const char *const colors[] = {"red", "green", "blue", "black"}, *const cities[] = {"a", "b", "c"};
    for (int i = 0; i < 300; i++) {
        unsigned h = (unsigned)(i + 1) * 2654435761u;
        int age = 18 + (int)(h % 53), col = (int)((h >> 8) % 4), city = (int)((h >> 12) % 3);
        int y = ((age > 40) ^ (col == 0) ^ (city == 2 && (h >> 16) % 3 == 0)) ? 1 : 0;
        o += (size_t)snprintf(tb + o, sizeof tb - o, "%d\t%s\t%s\t%d\n", age, colors[col], cities[city], y);
    }
    eu_write(dir, "tab/kernlab-income/income.tsv", tb);
}

/* ---- running one side ---------------------------------------------------------- */

typedef struct {
    int rc;
    char *err;      /* stderr */
    char *metrics;  /* every metrics.csv of the sweep, in path order */
    char *resolved; /* every resolved.yaml, without comment and name lines */
    char *file;     /* every file with the entry's basename */
} side;

static void append(char **acc, size_t *n, const char *s) {
    size_t l = strlen(s);
    *acc = realloc(*acc, *n + l + 1);
    cr_assert(*acc);
    memcpy(*acc + *n, s, l + 1);
    *n += l;
}

typedef struct {
    char *buf;
    size_t n;
} strbuf;

/* Concatenate every file named `base` below `dir` (sorted walk); for
 * resolved.yaml drop the lines that name the run (comment, name:). */
static void collect(const char *dir, const char *base, strbuf *out) {
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0) return;
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (nm[0] == '.') {
            free(ents[i]);
            continue;
        }
        char p[EU_PATH];
        snprintf(p, sizeof p, "%s/%s", dir, nm);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) collect(p, base, out);
        else if (!strcmp(nm, base)) {
            char *t = eu_read(p, NULL);
            if (t) {
                bool resolved = !strcmp(base, "resolved.yaml");
                for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
                    if (resolved && (line[0] == '#' || !strncmp(line, "name:", 5) || !strncmp(line, "manifest:", 9)))
                        continue;
                    append(&out->buf, &out->n, line);
                    append(&out->buf, &out->n, "\n");
                }
                free(t);
            }
        }
        free(ents[i]);
    }
    free(ents);
}

static char *collect_all(const char *dir, const char *base) {
    strbuf b = {0};
    append(&b.buf, &b.n, "");
    collect(dir, base, &b);
    return b.buf;
}

static void side_run(const char *root, const walk_entry *e, bool second, side *s) {
    memset(s, 0, sizeof *s);
    char dir[EU_PATH];
    snprintf(dir, sizeof dir, "%s-%s", root, second ? "b" : "a");
    eu_mkdirs(dir);
    const char *val = second ? e->b : e->a;
    char m[8192];
    size_t o = 0;
    if (strcmp(e->ctx, "-")) o += (size_t)snprintf(m + o, sizeof m - o, "base: ../%s.yaml\n", e->ctx);
    if (e->axis) o += (size_t)snprintf(m + o, sizeof m - o, "ablate: {%s: [%s]}\n", e->axis, val);
    else {
        /* base: lines of whole-manifest snippets point at the fixtures one level up */
        if (!strncmp(val, "base: ", 6)) o += (size_t)snprintf(m + o, sizeof m - o, "base: ../%s", val + 6);
        else o += (size_t)snprintf(m + o, sizeof m - o, "%s\n", val);
    }
    eu_write(dir, "m.yaml", m);
    /* fixtures referenced by relative paths in the contexts (npy, ml, tsv) are one level up */
    char cmd[4 * EU_PATH];
    bool report = e->fx == FX_CONTAINS && !strcmp(e->file, "report.html");
    snprintf(cmd, sizeof cmd,
             "cd '%s' && for f in ../*.npy ../*.tsv; do ln -sf \"$f\" .; done; ln -sfn ../ml ml; ln -sfn ../ml2 ml2; ln -sfn ../tab tab; "
             "'%s' run -q %s -P '%s' m.yaml > stdout.txt 2> stderr.txt",
             dir, g_bin, report ? "" : "--no-report", g_plugins);
    int rc = system(cmd);
    s->rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    s->err = eu_read(dir, "stderr.txt");
    if (!s->err) s->err = strdup("");
    s->metrics = collect_all(dir, "metrics.csv");
    s->resolved = collect_all(dir, "resolved.yaml");
    s->file = e->file ? collect_all(dir, e->file) : strdup("");
}

static void side_free(side *s) {
    free(s->err);
    free(s->metrics);
    free(s->resolved);
    free(s->file);
}

/* The entry's verdict: NULL when it holds, else what went wrong. */
static const char *check_entry(const char *root, const walk_entry *e, char *why, size_t n) {
    side a, b;
    side_run(root, e, false, &a);
    side_run(root, e, true, &b);
    const char *bad = NULL;
    if (a.rc != 0) {
        snprintf(why, n, "value A (%s) failed with exit %d: %.300s", e->a, a.rc, a.err);
        bad = why;
    } else if (e->fx == FX_REJECT) {
        if (b.rc != 2 || !strstr(b.err, "m.yaml:")) {
            snprintf(why, n, "value B (%s) should be rejected (exit 2, m.yaml:LINE); exit %d: %.300s", e->b, b.rc, b.err);
            bad = why;
        }
    } else if (b.rc != 0) {
        snprintf(why, n, "value B (%s) failed with exit %d: %.300s", e->b, b.rc, b.err);
        bad = why;
    } else if (e->fx == FX_RUN) {
        if (!strcmp(a.resolved, b.resolved)) {
            snprintf(why, n, "resolved configurations are identical for %s and %s", e->a, e->b);
            bad = why;
        } else if (!strcmp(a.metrics, b.metrics) || !a.metrics[0]) {
            snprintf(why, n, "metrics are identical for %s and %s (silent no-op)", e->a, e->b);
            bad = why;
        }
    } else if (e->fx == FX_SAME) {
        if (!strcmp(a.resolved, b.resolved)) {
            snprintf(why, n, "resolved configurations are identical for %s and %s", e->a, e->b);
            bad = why;
        } else if (strcmp(a.metrics, b.metrics) || !a.metrics[0]) {
            snprintf(why, n, "a performance setting changed the metrics (%s vs %s)", e->a, e->b);
            bad = why;
        }
    } else if (e->fx == FX_FILE) {
        if (!strcmp(a.file, b.file)) {
            snprintf(why, n, "%s is identical for %s and %s", e->file, e->a, e->b);
            bad = why;
        }
    } else if (e->fx == FX_CONTAINS) {
        if (!strstr(b.file, e->needle) || strstr(a.file, e->needle)) {
            snprintf(why, n, "%s: '%s' should appear with %s only (with A: %s, with B: %s)", e->file, e->needle, e->b,
                     strstr(a.file, e->needle) ? "yes" : "no", strstr(b.file, e->needle) ? "yes" : "no");
            bad = why;
        }
    }
    side_free(&a);
    side_free(&b);
    return bad;
}

static const walk_entry *find_entry(const char *key) {
    for (int i = 0; i < N_WALK; i++)
        if (!strcmp(walk[i].key, key)) return &walk[i];
    return NULL;
}

/* ---- tests --------------------------------------------------------------------- */

Test(schema_walk, every_key_and_plugin_option_has_an_entry) {
    find_binary();
    int32_t n = 0;
    const kgm_key_spec *keys = kgm_manifest_schema(&n);
    char missing[8192] = "";
    size_t o = 0;
    for (int32_t i = 0; i < n; i++)
        if (!find_entry(keys[i].key)) o += (size_t)snprintf(missing + o, sizeof missing - o, " %s", keys[i].key);
    kgm_plugin_path sp;
    kgm_plugin_path_init(&sp);
    cr_assert_eq(kgm_plugin_path_add(&sp, g_plugins), KGM_OK);
    static const char *const builtins[] = {"ctr", "esmm", "itemlabels", "kge", "rating", "social",
                                           "topk", "userattr", "contrastive", "template"};
    for (size_t p = 0; p < sizeof builtins / sizeof *builtins; p++) {
        kgm_plugin *pl = NULL;
        cr_assert_eq(kgm_plugin_open(&sp, builtins[p], &pl), KGM_OK, "open %s: %s", builtins[p], kgm_error_message());
        const kgm_task_plugin *d = &pl->desc;
        for (int32_t k = 0; k < d->n_options; k++) {
            char key[160];
            snprintf(key, sizeof key, "plugin:%s.%s", builtins[p], d->options[k].name);
            if (!find_entry(key)) o += (size_t)snprintf(missing + o, sizeof missing - o, " %s", key);
        }
        kgm_plugin_close(pl);
    }
    kgm_plugin_path_destroy(&sp);
    cr_expect_str_empty(missing, "keys without a schema-walk entry (add one that shows the key's effect):%s", missing);
    /* and no stale entries */
    for (int i = 0; i < N_WALK; i++)
        if (strncmp(walk[i].key, "plugin:", 7))
            cr_expect(kgm_manifest_key(walk[i].key) != NULL, "walk entry '%s' is not a schema key", walk[i].key);
}

Test(schema_walk, every_key_changes_the_run_or_is_rejected, .timeout = 600) {
    find_binary();
    char root[EU_PATH];
    eu_tmpdir(root, sizeof root);
    write_fixtures(root);
    const char *only = getenv("KGM_WALK_ONLY"); /* debugging: one key */
    int failures = 0;
    for (int i = 0; i < N_WALK; i++) {
        if (only && *only && strcmp(only, walk[i].key)) continue;
        char dir[EU_PATH], why[1024];
        snprintf(dir, sizeof dir, "%s/e%03d", root, i);
        const char *bad = check_entry(dir, &walk[i], why, sizeof why);
        if (bad) {
            failures++;
            cr_log_error("%s (context %s): %s", walk[i].key, walk[i].ctx, bad);
        }
    }
    cr_expect_eq(failures, 0, "%d of %d keys have no observable effect and are not rejected (see above)", failures,
                 N_WALK);
    if (!getenv("KGM_KEEP_TMP")) {
        char cmd[EU_PATH + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        (void)system(cmd);
    }
}
