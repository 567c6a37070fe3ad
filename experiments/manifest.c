/* Experiment manifests: YAML (libfyaml events) → position-carrying tree →
 * `base:` merge → table-driven validation → expanded plan. See
 * experiments/manifest.h and docs/manifest.md. */
#include "experiments/manifest.h"
#include "experiments/manifest_internal.h"

#include "core/plugin/host.h"
#include "core/model/weighting.h"
#include "experiments/manifest_yaml.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_RUNS 100000
#define MAX_BASE_DEPTH 32

/* ======================================================================
 * diagnostics
 * ====================================================================== */

void kgm_diag_add(kgm_diag_list *dl, const char *where, const char *fmt, ...) {
    if (!dl) return;
    kgm_diag d;
    snprintf(d.where, sizeof d.where, "%s", where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d.msg, sizeof d.msg, fmt, ap);
    va_end(ap);
    for (int32_t i = 0; i < dl->n; i++)
        if (!strcmp(dl->items[i].where, d.where) && !strcmp(dl->items[i].msg, d.msg)) return;
    if (dl->n == dl->cap) {
        int32_t cap = dl->cap ? dl->cap * 2 : 16;
        kgm_diag *p = realloc(dl->items, (size_t)cap * sizeof *p);
        if (!p) return; /* out of memory: the diagnostic is dropped, the count stays right */
        dl->items = p;
        dl->cap = cap;
    }
    dl->items[dl->n++] = d;
}

/* Split "file:line:col" into its file part and numbers (0 when absent). */
static void split_where(const char *w, size_t *flen, long *line, long *col) {
    *line = *col = 0;
    *flen = strlen(w);
    const char *c2 = strrchr(w, ':');
    if (!c2) return;
    char *end;
    long b = strtol(c2 + 1, &end, 10);
    if (*end || end == c2 + 1) return;
    const char *c1 = c2;
    while (c1 > w && c1[-1] != ':') c1--;
    if (c1 == w) return;
    long a = strtol(c1, &end, 10);
    if (end != c2 || end == c1) return;
    *line = a;
    *col = b;
    *flen = (size_t)(c1 - 1 - w);
}

typedef struct {
    kgm_diag d;
    int32_t file_rank, seq;
    long line, col;
} diag_key;

static int diag_cmp(const void *pa, const void *pb) {
    const diag_key *a = pa, *b = pb;
    if (a->file_rank != b->file_rank) return a->file_rank < b->file_rank ? -1 : 1;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    if (a->col != b->col) return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void kgm_diag_sort(kgm_diag_list *dl) {
    if (!dl || dl->n < 2) return;
    diag_key *k = calloc((size_t)dl->n, sizeof *k);
    if (!k) return;
    for (int32_t i = 0; i < dl->n; i++) {
        k[i].d = dl->items[i];
        k[i].seq = i;
        size_t fl;
        split_where(k[i].d.where, &fl, &k[i].line, &k[i].col);
        k[i].file_rank = i;
        for (int32_t j = 0; j < i; j++) {
            size_t fj;
            long l, c;
            split_where(dl->items[j].where, &fj, &l, &c);
            if (fj == fl && !strncmp(dl->items[j].where, k[i].d.where, fl)) {
                k[i].file_rank = k[j].file_rank;
                break;
            }
        }
    }
    qsort(k, (size_t)dl->n, sizeof *k, diag_cmp);
    for (int32_t i = 0; i < dl->n; i++) dl->items[i] = k[i].d;
    free(k);
}

void kgm_diag_print(const kgm_diag_list *dl, FILE *f) {
    for (int32_t i = 0; dl && i < dl->n; i++) fprintf(f, "%s: %s\n", dl->items[i].where, dl->items[i].msg);
}

void kgm_diag_list_destroy(kgm_diag_list *dl) {
    if (!dl) return;
    free(dl->items);
    memset(dl, 0, sizeof *dl);
}

/* Levenshtein distance (short strings; longer ones are capped). */
static int edit_distance(const char *a, const char *b) {
    enum { M = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > M || lb > M) return M;
    int prev[M + 1], cur[M + 1];
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

/* Tracks the closest candidate to `word` seen so far. */
typedef struct {
    const char *word;
    char best[128];
    int dist;
} suggester;

static void sug_init(suggester *s, const char *word) {
    s->word = word;
    s->best[0] = '\0';
    s->dist = INT_MAX;
}

static void sug_offer(suggester *s, const char *cand, size_t len) {
    char tmp[128];
    if (len >= sizeof tmp) return;
    memcpy(tmp, cand, len);
    tmp[len] = '\0';
    int d = edit_distance(s->word, tmp);
    if (d < s->dist) {
        s->dist = d;
        memcpy(s->best, tmp, len + 1);
    }
}

/* " (did you mean 'x'?)" when the best candidate is close enough, else "". */
static const char *sug_text(const suggester *s, char *buf, size_t n) {
    size_t l = strlen(s->word);
    int limit = l <= 3 ? 1 : (int)(l / 3) + 1;
    if (s->best[0] && s->dist <= limit && s->dist > 0) snprintf(buf, n, " (did you mean '%s'?)", s->best);
    else buf[0] = '\0';
    return buf;
}

/* ======================================================================
 * schema
 * ====================================================================== */

#define OFF(f) offsetof(kgm_run_config, f), sizeof(((kgm_run_config *)0)->f)
#define TOFF(f) offsetof(kgm_task_spec, f), sizeof(((kgm_task_spec *)0)->f)
#define NOOFF 0, 0
#define NR 1, 0, 0                         /* no range */
#define GE(a) (a), 1e300, 0                 /* >= a */
#define GT(a) (a), 1e300, KGM_KEY_MIN_OPEN  /* > a */
#define IN(a, b) (a), (b), 0                /* [a, b] */
#define INO(a, b) (a), (b), KGM_KEY_MAX_OPEN /* [a, b) */

static const kgm_key_spec schema[] = {
    /* top level */
    {"name", KGM_KEY_SPECIAL, NOOFF, "the file stem", NR, NULL, "experiment title shown in the plan and the report"},
    {"description", KGM_KEY_SPECIAL, NOOFF, "\"\"", NR, NULL, "free text shown under the report title"},
    {"base", KGM_KEY_SPECIAL, NOOFF, "none", NR, NULL,
     "manifest file to inherit from (not a directory; path relative to this file, or to the current directory when this "
     "manifest is an unnamed pipe); keys here override it"},
    {"seed", KGM_KEY_U64, OFF(seed), "1", GE(0), NULL, "seed of a single-seed experiment"},
    {"seeds", KGM_KEY_SPECIAL, NOOFF, "[seed]", NR, NULL, "list of seeds (or a count N meaning 1..N); every grid point runs once per seed"},
    {"output", KGM_KEY_SPECIAL, NOOFF, "results/<manifest stem>", NR, NULL,
     "experiment output directory (relative to the working directory)"},
    {"published", KGM_KEY_SPECIAL, NOOFF, "\"\"", NR, NULL,
     "published figures to show beside ours: mapping task.metric: value, or \"metric=value,...\""},
    {"ablate", KGM_KEY_SPECIAL, NOOFF, "none", NR, NULL, "ablation axes: dotted key -> list of values"},
    {"ablate_mode", KGM_KEY_SPECIAL, NOOFF, "grid", NR, "grid|zip|one_at_a_time",
     "grid: every combination; zip: i-th values together; one_at_a_time: the baseline, then one axis changed at a time"},
    {"tasks", KGM_KEY_SPECIAL, NOOFF, "none (required)", NR, NULL, "list of task entries (at least one)"},

    /* dataset -> data */
    {"dataset.source", KGM_KEY_ENUM, OFF(data.source), "world", NR,
     "world|mmoe|movielens-small|movielens|mkr|kgat|census-kdd|kernlab-income|wordnet|social-small/*|cache|auto",
     "where the data comes from (world and mmoe are generated; social-small/NAME is a shared edge list)"},
    {"dataset.path", KGM_KEY_STRING, OFF(data.path), "\"\"", NR, NULL, "directory or file read by the loader"},
    {"dataset.cache", KGM_KEY_STRING, OFF(data.cache), "\"\"", NR, NULL, "binary cache of the prepared dataset (\"\" = none)"},
    {"dataset.social_path", KGM_KEY_STRING, OFF(data.social_path), "\"\"", NR, NULL,
     "optional `user friend [weight]` edge list"},
    {"dataset.kg_path", KGM_KEY_STRING, OFF(data.kg_path), "\"\"", NR, NULL,
     "extra `head relation tail` KG triples file, merged into the source's KG (sources with a KG)"},
    {"dataset.social_directed", KGM_KEY_BOOL, OFF(data.social_directed), "false", NR, NULL,
     "social edge lists are directed (false: (a, b) and (b, a) are one undirected edge, merged)"},
    {"dataset.exclude_columns", KGM_KEY_STRING, OFF(data.exclude_columns), "\"\"", NR, NULL,
     "tabular columns kept out of the model inputs, comma-separated (e.g. \"instance_weight\"); each must exist"},
    {"dataset.min_user_interactions", KGM_KEY_INT, OFF(data.min_user_interactions), "0", GE(0), NULL,
     "drop users with fewer interactions"},
    {"dataset.min_item_interactions", KGM_KEY_INT, OFF(data.min_item_interactions), "0", GE(0), NULL,
     "drop items with fewer interactions"},
    {"dataset.rating_threshold", KGM_KEY_FLOAT, OFF(data.rating_threshold), ".nan", 1, 0, KGM_KEY_NAN_OK, NULL,
     "ratings >= threshold become positives (.nan = keep labels)"},
    {"dataset.split", KGM_KEY_ENUM, OFF(data.split), "generator", NR, "random|loo|temporal|mkr|given|generator",
     "how rows are split into train/valid/test (world: generator keeps its own split, the others re-split it)"},
    {"dataset.valid_frac", KGM_KEY_FLOAT, OFF(data.valid_frac), "0.1", INO(0, 1), NULL, "validation fraction (random, temporal, world's generator split)"},
    {"dataset.test_frac", KGM_KEY_FLOAT, OFF(data.test_frac), "0.2", INO(0, 1), NULL, "test fraction (random, temporal, world's generator split)"},
    {"dataset.eval_negatives", KGM_KEY_INT, OFF(data.eval_negatives), "0", GE(0), NULL,
     "top-K protocol: K > 0 ranks each valid/test positive against its K stored uniform negatives (non-positives "
     "of the user, drawn once from the data seed; K above a user's non-positives is an error; needs a ranking task "
     "such as topk); 0 = full ranking"},
    {"dataset.train_negatives", KGM_KEY_INT, OFF(data.train_negatives), "0", GE(0), NULL,
     "sampled negatives per positive for implicit CTR data (MKR: 1)"},
    {"dataset.n_users", KGM_KEY_INT, OFF(data.n_users), "600", GE(1), NULL, "world: users"},
    {"dataset.n_items", KGM_KEY_INT, OFF(data.n_items), "800", GE(1), NULL, "world: items"},
    {"dataset.latent_dim", KGM_KEY_INT, OFF(data.latent_dim), "8", GE(1), NULL, "world: latent factor size"},
    {"dataset.interactions_per_user", KGM_KEY_INT, OFF(data.interactions_per_user), "30", GE(1), NULL,
     "world: mean interactions per user"},
    {"dataset.cold_user_frac", KGM_KEY_FLOAT, OFF(data.cold_user_frac), "0.1", INO(0, 1), NULL, "world: cold-start users"},
    {"dataset.cold_item_frac", KGM_KEY_FLOAT, OFF(data.cold_item_frac), "0.1", INO(0, 1), NULL, "world: cold-start items"},
    {"dataset.noise", KGM_KEY_FLOAT, OFF(data.noise), "0.1", GE(0), NULL, "world: label noise"},
    {"dataset.mmoe_dim", KGM_KEY_INT, OFF(data.mmoe_dim), "100", GE(1), NULL, "mmoe: input dimension d"},
    {"dataset.mmoe_corr", KGM_KEY_FLOAT, OFF(data.mmoe_corr), "0.5", IN(-1, 1), NULL, "mmoe: task correlation p"},
    {"dataset.mmoe_n_train", KGM_KEY_INT, OFF(data.mmoe_n_train), "8000", GE(1), NULL, "mmoe: training rows"},
    {"dataset.mmoe_n_valid", KGM_KEY_INT, OFF(data.mmoe_n_valid), "1000", GE(1), NULL, "mmoe: validation rows"},
    {"dataset.mmoe_n_test", KGM_KEY_INT, OFF(data.mmoe_n_test), "1000", GE(1), NULL, "mmoe: test rows"},
    {"dataset.data_seed", KGM_KEY_U64, OFF(data.data_seed), "0", GE(0), NULL, "generator seed (0 = the run's seed)"},

    /* encoder */
    {"encoder.dim", KGM_KEY_INT, OFF(encoder.dim), "32", IN(1, 4096), NULL, "embedding size d"},
    {"encoder.id", KGM_KEY_BOOL, OFF(encoder.id), "true", NR, NULL, "user/item ID embeddings"},
    {"encoder.kg", KGM_KEY_BOOL, OFF(encoder.kg), "false", NR, NULL, "KG propagation on the item/entity side"},
    {"encoder.kg_layer", KGM_KEY_ENUM, OFF(encoder.kg_layer), "gcn", NR, "gcn|sage|lightgcn|rgcn|kgat", "KG message-passing layer"},
    {"encoder.kg_hops", KGM_KEY_INT, OFF(encoder.kg_hops), "2", IN(0, 8), NULL, "KG propagation layers"},
    {"encoder.social", KGM_KEY_BOOL, OFF(encoder.social), "false", NR, NULL, "social propagation on the user side"},
    {"encoder.social_layer", KGM_KEY_ENUM, OFF(encoder.social_layer), "diffnet", NR, "diffnet|gcn|sage|lightgcn",
     "social message-passing layer"},
    {"encoder.social_hops", KGM_KEY_INT, OFF(encoder.social_hops), "2", IN(0, 8), NULL, "social propagation layers"},
    {"encoder.ui_graph", KGM_KEY_BOOL, OFF(encoder.ui_graph), "false", NR, NULL, "user-item graph propagation (LightGCN)"},
    {"encoder.ui_hops", KGM_KEY_INT, OFF(encoder.ui_hops), "2", IN(0, 8), NULL, "user-item propagation layers"},
    {"encoder.text", KGM_KEY_ENUM, OFF(encoder.text), "off", NR, "off|hash|vectors|npy", "item text embeddings"},
    {"encoder.text_path", KGM_KEY_STRING, OFF(encoder.text_path), "\"\"", NR, NULL,
     "word vectors (vectors) or an (n_items, k) float32 .npy matrix (npy)"},
    {"encoder.text_buckets", KGM_KEY_INT, OFF(encoder.text_buckets), "4096", IN(1, 16777216), NULL,
     "hash: hashed n-gram buckets"},
    {"encoder.text_char_ngram", KGM_KEY_INT, OFF(encoder.text_char_ngram), "0", IN(0, 8), NULL,
     "hash: character n-gram length (0 = words only)"},
    {"encoder.text_frozen", KGM_KEY_BOOL, OFF(encoder.text_frozen), "false", NR, NULL, "do not train text embeddings"},
    {"encoder.history", KGM_KEY_BOOL, OFF(encoder.history), "false", NR, NULL,
     "behaviour embedding from the user's recent items"},
    {"encoder.history_len", KGM_KEY_INT, OFF(encoder.history_len), "20", IN(1, 10000), NULL, "recent items pooled"},
    {"encoder.history_pool", KGM_KEY_ENUM, OFF(encoder.history_pool), "mean", NR, "mean|attention", "history pooling"},
    {"encoder.fusion", KGM_KEY_ENUM, OFF(encoder.fusion), "concat", NR, "concat|sum|gated", "how encoder parts are fused"},
    {"encoder.tab_cat_dim", KGM_KEY_INT, OFF(encoder.tab_cat_dim), "8", IN(1, 1024), NULL,
     "tabular: embedding size of categorical columns"},
    {"encoder.dropout", KGM_KEY_FLOAT, OFF(encoder.dropout), "0", INO(0, 1), NULL, "dropout on the fused representation"},
    {"encoder.cross_compress", KGM_KEY_INT, OFF(encoder.cross_compress), "0", IN(0, 8), NULL,
     "MKR cross&compress units between each item's vector and its KG entity's vector (0 = off)"},

    /* mixer */
    {"mixer.kind", KGM_KEY_ENUM, OFF(mixer.kind), "shared_bottom", NR, "shared_bottom|mmoe|omoe|ple|separate|cross_stitch|none",
     "shared MTL architecture (none: each task reads the encoder output itself; no other mixer.* key then)"},
    {"mixer.bottom_hidden", KGM_KEY_INT, OFF(mixer.bottom_hidden), "64", IN(1, 65536), NULL,
     "shared-bottom / separate towers: hidden units"},
    {"mixer.n_experts", KGM_KEY_INT, OFF(mixer.n_experts), "4", IN(1, 256), NULL, "MMoE/OMoE experts; PLE shared experts"},
    {"mixer.task_experts", KGM_KEY_INT, OFF(mixer.task_experts), "1", IN(0, 256), NULL, "PLE: experts per task"},
    {"mixer.expert_hidden", KGM_KEY_INT, OFF(mixer.expert_hidden), "32", IN(1, 65536), NULL, "hidden units of each expert"},
    {"mixer.levels", KGM_KEY_INT, OFF(mixer.levels), "1", IN(1, 8), NULL, "PLE extraction levels"},
    {"mixer.tower_hidden", KGM_KEY_INT, OFF(mixer.tower_hidden), "16", IN(0, 65536), NULL,
     "per-task tower hidden units (0 = no tower layer)"},
    {"mixer.dropout", KGM_KEY_FLOAT, OFF(mixer.dropout), "0", INO(0, 1), NULL, "dropout inside the mixer"},
    {"mixer.cross_stitch_per_channel", KGM_KEY_BOOL, OFF(mixer.cross_stitch_per_channel), "false", NR, NULL,
     "cross_stitch: one T x T mixing per channel instead of one per layer"},
    {"mixer.connections", KGM_KEY_STRING, OFF(mixer.connections), "\"\"", NR, NULL,
     "task-to-task transfer after the towers: \"from>to[:aitm|gate]\", several separated by ';'"},

    /* tasks[] -> kgm_task_spec */
    {"tasks[].plugin", KGM_KEY_STRING, TOFF(plugin), "none (required)", NR, NULL,
     "plugin name on the search path, or a path to a .so"},
    {"tasks[].name", KGM_KEY_STRING, TOFF(name), "the plugin name", NR, NULL,
     "task instance name ([A-Za-z0-9_-], unique; used in metrics.csv and evaluation.select)"},
    {"tasks[].weight", KGM_KEY_FLOAT, TOFF(weight), "1", GE(0), NULL, "task weight: the static weight (optimisation.weighting static, or unset = auto), the initial weight of uncertainty (exp(-s_k)) and gradnorm; an error with equal, dwa and pcgrad unless 1"},
    {"tasks[].lr_mult", KGM_KEY_FLOAT, TOFF(lr_mult), "1", GT(0), NULL, "learning-rate multiplier: joint mode, of the task's own parameters (its plugin's, its mixer tower/gates/experts, its uncertainty s_k); alternating, of the task's whole step"},
    {"tasks[].every", KGM_KEY_INT, TOFF(every), "1", GE(1), NULL,
     "alternating schedule: run every k steps (schedule every) or every k epochs (schedule every_epoch)"},
    {"tasks[].batch_size", KGM_KEY_INT, TOFF(batch_size), "0", GE(0), NULL, "batch size (0 = optimisation.batch_size)"},
    {"tasks[].label", KGM_KEY_STRING, TOFF(label), "\"\"", NR, NULL, "tabular data: label column, or COLUMN=LEVEL[|LEVEL...] (derived 0/1 label; COLUMN is not an input)"},
    {"tasks[].consistency_with", KGM_KEY_STRING, TOFF(consistency_with), "\"\"", NR, NULL,
     "consistency regularisation: penalise disagreement with this task's predictions on the same rows"},
    {"tasks[].consistency_weight", KGM_KEY_FLOAT, TOFF(consistency_weight), "0.1", GE(0), NULL, "weight of the consistency penalty"},
    {"tasks[].consistency_distance", KGM_KEY_ENUM, TOFF(consistency_distance), "sq", NR, "sq|abs|sym_kl|cosine|order",
     "distance between the two tasks' outputs"},
    {"tasks[].split", KGM_KEY_ENUM, TOFF(split), "default", NR, "default|none",
     "none: the task trains on all its rows (no valid/test rows, no metrics, not selectable); only for views with a split "
     "of their own (KG triples, social edges, user attributes, item labels), e.g. MKR's KG task"},
    {"tasks[].options", KGM_KEY_SPECIAL, NOOFF, "{}", NR, NULL,
     "plugin options (checked against the plugin's schema: `kgmtl plugins describe NAME`)"},

    /* optimisation -> train */
    {"optimisation.mode", KGM_KEY_ENUM, OFF(train.mode), "joint", NR, "joint|alternating", "joint or alternating optimisation"},
    {"optimisation.schedule", KGM_KEY_ENUM, OFF(train.schedule), "round_robin", NR, "round_robin|every|every_epoch",
     "alternating: round robin; every: each task every tasks[].every steps; every_epoch: each task a full pass over its "
     "training rows every tasks[].every epochs (MKR's kge_interval)"},
    {"optimisation.weighting", KGM_KEY_ENUM, OFF(train.weighting), "auto", NR,
     "auto|equal|static|uncertainty|gradnorm|dwa|pcgrad",
     "task weighting (docs/weighting.md); auto: static when a tasks[].weight is not 1, else equal"},
    {"optimisation.gradnorm_alpha", KGM_KEY_FLOAT, OFF(train.gradnorm_alpha), "1.5", GE(0), NULL, "GradNorm asymmetry alpha"},
    {"optimisation.dwa_temperature", KGM_KEY_FLOAT, OFF(train.dwa_temperature), "2", GT(0), NULL, "DWA temperature"},
    {"optimisation.optimizer", KGM_KEY_ENUM, OFF(train.optimizer), "adam", NR, "adam|adamw|sgd|adagrad", "optimiser"},
    {"optimisation.lr", KGM_KEY_FLOAT, OFF(train.lr), "0.01", GT(0), NULL, "learning rate"},
    {"optimisation.weight_decay", KGM_KEY_FLOAT, OFF(train.weight_decay), "0", GE(0), NULL, "weight decay (L2; decoupled for adamw)"},
    {"optimisation.momentum", KGM_KEY_FLOAT, OFF(train.momentum), "0", INO(0, 1), NULL, "SGD momentum"},
    {"optimisation.clip_norm", KGM_KEY_FLOAT, OFF(train.clip_norm), "0", GE(0), NULL, "gradient clipping norm (0 = off)"},
    {"optimisation.epochs", KGM_KEY_INT, OFF(train.epochs), "10", IN(1, 100000), NULL, "training epochs"},
    {"optimisation.batch_size", KGM_KEY_INT, OFF(train.batch_size), "256", IN(1, 16777216), NULL, "rows per batch"},
    {"optimisation.steps_per_epoch", KGM_KEY_INT, OFF(train.steps_per_epoch), "0", GE(0), NULL,
     "steps per epoch (0 = one pass over the largest task's training rows)"},
    {"optimisation.patience", KGM_KEY_INT, OFF(train.patience), "0", GE(0), NULL,
     "early stopping after this many epochs without improvement on validation (0 = off)"},
    {"optimisation.threads", KGM_KEY_INT, OFF(train.threads), "0", IN(0, 1024), NULL,
     "OpenMP threads per run (0 = cores / --jobs)"},
    {"optimisation.arena_mb", KGM_KEY_INT, OFF(train.arena_mb), "256", IN(1, 1048576), NULL, "per-step arena size (MiB)"},
    {"optimisation.frozen", KGM_KEY_STRING, OFF(train.frozen), "\"\"", NR, NULL,
     "comma-separated parameter-name prefixes to freeze"},
    {"optimisation.log_steps", KGM_KEY_BOOL, OFF(train.log_steps), "false", NR, NULL,
     "weights.csv per step (else per epoch)"},

    /* evaluation -> eval */
    {"evaluation.select", KGM_KEY_STRING, OFF(eval.select), "\"\" (first task's selection metric)", NR, NULL,
     "\"task.metric\" used for model selection on validation, or \"mean.metric\": its mean over the tasks that report it"},
    {"evaluation.test", KGM_KEY_BOOL, OFF(eval.test), "true", NR, NULL, "evaluate the selected model on test"},
    {"evaluation.cold", KGM_KEY_BOOL, OFF(eval.cold), "true", NR, NULL, "also report cold-start metrics"},
    {"evaluation.cold_max_train", KGM_KEY_INT, OFF(eval.cold_max_train), "0", IN(0, 1000000), NULL,
     "cold-start slices: users/items with interactions but at most this many training rows (0 = strict cold)"},
    {"evaluation.fusion", KGM_KEY_ENUM, OFF(eval.fusion), "off", NR, "off|sum|product|weighted|power",
     "report a fused score of several tasks' outputs (e.g. p(click)·p(convert)^alpha) as task \"fusion\""},
    {"evaluation.fusion_tasks", KGM_KEY_STRING, OFF(eval.fusion_tasks), "\"\"", NR, NULL,
     "comma-separated tasks to fuse; the first one's labels score the fusion"},
    {"evaluation.fusion_weights", KGM_KEY_STRING, OFF(eval.fusion_weights), "\"\"", NR, NULL,
     "weighted: comma-separated weights; power: exponents"},
};

#define N_SCHEMA ((int32_t)(sizeof schema / sizeof *schema))

static const char *const sections[] = {"dataset", "encoder", "mixer", "optimisation", "evaluation"};
#define N_SECTIONS ((int)(sizeof sections / sizeof *sections))

const kgm_key_spec *kgm_manifest_schema(int32_t *n) {
    if (n) *n = N_SCHEMA;
    return schema;
}

const kgm_key_spec *kgm_manifest_key(const char *key) {
    for (int32_t i = 0; i < N_SCHEMA; i++)
        if (!strcmp(schema[i].key, key)) return &schema[i];
    return NULL;
}

static void fmt_num(char *buf, size_t n, double v, kgm_key_type t) {
    if (t == KGM_KEY_FLOAT) snprintf(buf, n, "%g", v);
    else snprintf(buf, n, "%.0f", v);
}

void kgm_key_range_text(const kgm_key_spec *s, char *buf, size_t n) {
    buf[0] = '\0';
    if (s->min > s->max) return;
    char a[64], b[64];
    fmt_num(a, sizeof a, s->min, s->type);
    if (s->max >= 1e299) {
        snprintf(buf, n, "%s %s", (s->flags & KGM_KEY_MIN_OPEN) ? ">" : ">=", a);
        return;
    }
    fmt_num(b, sizeof b, s->max, s->type);
    snprintf(buf, n, "%c%s, %s%c", (s->flags & KGM_KEY_MIN_OPEN) ? '(' : '[', a, b,
             (s->flags & KGM_KEY_MAX_OPEN) ? ')' : ']');
}

/* ======================================================================
 * typed values
 * ====================================================================== */

static const char *type_word(kgm_key_type t) {
    switch (t) {
    case KGM_KEY_INT: return "an integer";
    case KGM_KEY_U64: return "a non-negative integer";
    case KGM_KEY_FLOAT: return "a number";
    case KGM_KEY_BOOL: return "true or false";
    case KGM_KEY_STRING: return "a string";
    case KGM_KEY_ENUM: return "one of the listed words";
    case KGM_KEY_SPECIAL: return "a value";
    }
    return "a value";
}

static bool in_choices(const char *choices, const char *v) {
    size_t lv = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == lv && !strncmp(p, v, len)) return true;
        /* a choice ending in an asterisk accepts any non-empty name with that prefix */
        if (len > 1 && p[len - 1] == '*' && lv > len - 1 && !strncmp(p, v, len - 1)) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

static void choices_list(const char *choices, char *buf, size_t n) {
    size_t o = 0;
    for (const char *p = choices; *p && o + 2 < n; p++) {
        if (*p == '|') {
            buf[o++] = ',';
            if (o + 1 < n) buf[o++] = ' ';
        } else buf[o++] = *p;
    }
    buf[o] = '\0';
}

static void choices_suggest(suggester *s, const char *choices) {
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        sug_offer(s, p, len);
        if (!bar) break;
        p = bar + 1;
    }
}

static bool parse_bool_word(const char *t, bool *out) {
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(t, yes[i])) { *out = true; return true; }
        if (!strcasecmp(t, no[i])) { *out = false; return true; }
    }
    return false;
}

static bool range_ok(const kgm_key_spec *s, double v) {
    if (s->min > s->max) return true;
    if ((s->flags & KGM_KEY_MIN_OPEN) ? !(v > s->min) : !(v >= s->min)) return false;
    if ((s->flags & KGM_KEY_MAX_OPEN) ? !(v < s->max) : !(v <= s->max)) return false;
    return true;
}

/* Parse node `v` as a value of `s` and store it at base + s->offset.
 * `name` is the key used in messages. Returns false (with a diagnostic) on error.
 * A null node leaves the field at its default. */
static bool set_value(const kgm_key_spec *s, void *base, const ynode *v, const char *name, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    WHERE(v, w);
    if (v->kind == YN_NULL) return true;
    if (v->kind != YN_SCALAR) {
        kgm_diag_add(dl, w, "%s: expected %s, found %s", name, type_word(s->type), kind_name(v));
        return false;
    }
    char *field = (char *)base + s->offset;
    const char *t = v->text;
    bool numeric = s->type == KGM_KEY_INT || s->type == KGM_KEY_U64 || s->type == KGM_KEY_FLOAT;
    if ((numeric || s->type == KGM_KEY_BOOL) && v->quoted) {
        kgm_diag_add(dl, w, "%s: expected %s, found the string \"%s\"", name, type_word(s->type), t);
        return false;
    }
    char range[96];
    kgm_key_range_text(s, range, sizeof range);
    switch (s->type) {
    case KGM_KEY_INT:
    case KGM_KEY_U64: {
        char *end;
        errno = 0;
        double d;
        if (s->type == KGM_KEY_INT) {
            long long x = strtoll(t, &end, 10);
            d = (double)x;
            if (*end || end == t) goto wrong_type;
            if (errno == ERANGE || x < INT32_MIN || x > INT32_MAX) goto out_of_range;
            if (!range_ok(s, d)) goto out_of_range;
            *(int32_t *)field = (int32_t)x;
        } else {
            if (t[0] == '-') goto out_of_range;
            unsigned long long x = strtoull(t, &end, 10);
            if (*end || end == t) goto wrong_type;
            if (errno == ERANGE) goto out_of_range;
            *(uint64_t *)field = (uint64_t)x;
        }
        return true;
    }
    case KGM_KEY_FLOAT: {
        double d;
        if ((s->flags & KGM_KEY_NAN_OK) && (!strcasecmp(t, ".nan") || !strcasecmp(t, "nan"))) {
            *(double *)field = NAN;
            return true;
        }
        char *end;
        errno = 0;
        d = strtod(t, &end);
        if (*end || end == t || isnan(d) || !strcasecmp(t, "inf") || !strcasecmp(t, "infinity"))
            goto wrong_type;
        if (errno == ERANGE || !isfinite(d) || !range_ok(s, d)) goto out_of_range;
        *(double *)field = d;
        return true;
    }
    case KGM_KEY_BOOL: {
        bool b;
        if (!parse_bool_word(t, &b)) goto wrong_type;
        *(bool *)field = b;
        return true;
    }
    case KGM_KEY_STRING:
        if (strlen(t) >= s->size) {
            kgm_diag_add(dl, w, "%s: too long (at most %zu characters)", name, s->size - 1);
            return false;
        }
        memcpy(field, t, strlen(t) + 1);
        return true;
    case KGM_KEY_ENUM:
        if (!in_choices(s->choices, t)) {
            suggester sg;
            sug_init(&sg, t);
            choices_suggest(&sg, s->choices);
            char list[512], sug[160];
            choices_list(s->choices, list, sizeof list);
            kgm_diag_add(dl, w, "%s: '%s' is not one of %s%s", name, t, list, sug_text(&sg, sug, sizeof sug));
            return false;
        }
        memcpy(field, t, strlen(t) + 1);
        return true;
    case KGM_KEY_SPECIAL: return true;
    }
    return true;
wrong_type:
    kgm_diag_add(dl, w, "%s: expected %s, found '%s'", name, type_word(s->type), t);
    return false;
out_of_range:
    kgm_diag_add(dl, w, "%s: %s is out of range (allowed: %s)", name, t, range[0] ? range : ">= 0");
    return false;
}

/* ======================================================================
 * manifest object
 * ====================================================================== */

/* An ablation axis as loaded: how to apply each value. */
typedef struct axis_impl {
    const kgm_key_spec *spec; /* NULL for task options and `published` */
    int kind;                 /* 0 config key, 1 task field, 2 task option, 3 published */
    int32_t task;             /* task index for kinds 1/2 */
    char opt[64];             /* option name for kind 2 */
    ynode *key_node;
    int32_t n;
    ynode **vals;
} axis_impl;

struct kgm_manifest {
    ypool pool;
    ynode *root;              /* merged tree */
    kgm_run_config *base;     /* base configuration (no ablation applied) */
    kgm_plan plan;
    axis_impl *axes;
    int32_t *point_vals;      /* (n_points, n_axes) value index per axis */
    int32_t n_axes_alloc;     /* plan.axes entries holding allocations */
    char path[KGM_PATH];
};

const kgm_plan *kgm_manifest_plan(const kgm_manifest *m) { return &m->plan; }

/* ---- base: merge ---- */

/* Child overrides base: mappings merge key by key (recursively), everything
 * else is replaced; a null child value removes the key. At the top level
 * `ablate` is replaced as a whole and `seed`/`seeds` exclude each other. */
static ynode *merge(ypool *p, ynode *b, ynode *c, bool top) {
    if (!b) return c;
    if (!c) return b;
    if (b->kind != YN_MAP || c->kind != YN_MAP) return c;
    ynode *r = kgm_yaml_node_new(p, YN_MAP, c->file, c->line, c->col);
    if (!r) return NULL;
    for (int32_t i = 0; i < b->n; i++) {
        const char *k = b->k[i]->text;
        if (top && !strcmp(k, "base")) continue;
        if (top && !strcmp(k, "seeds") && yn_get(c, "seed", NULL)) continue;
        if (top && !strcmp(k, "seed") && yn_get(c, "seeds", NULL)) continue;
        ynode *ck = NULL, *cv = yn_get(c, k, &ck);
        if (!cv) {
            if (!kgm_yaml_node_push(r, b->k[i], b->v[i])) return NULL;
        } else if (cv->kind == YN_NULL) {
            continue;
        } else {
            ynode *mv = (top && !strcmp(k, "ablate")) ? cv : merge(p, b->v[i], cv, false);
            if (!mv || !kgm_yaml_node_push(r, ck, mv)) return NULL;
        }
    }
    for (int32_t i = 0; i < c->n; i++) {
        const char *k = c->k[i]->text;
        if (top && !strcmp(k, "base")) continue;
        if (yn_get(b, k, NULL) || c->v[i]->kind == YN_NULL) continue;
        if (!kgm_yaml_node_push(r, c->k[i], c->v[i])) return NULL;
    }
    return r;
}

static void dir_of(const char *path, char *out, size_t n) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, n, ".");
    else if (slash == path) snprintf(out, n, "/");
    else snprintf(out, n, "%.*s", (int)(slash - path), path);
}

/* Load `path` and its base chain; `chain` holds the real paths already open,
 * `where` the `base:` value that named `path` (NULL for the manifest itself). */
static ynode *load_chain(ypool *p, const char *path, const char *where, char chain[][PATH_MAX], int depth,
                         kgm_diag_list *dl) {
    kgm_yaml_source src = {0};
    ynode *root = kgm_yaml_read(p, path, where, &src, dl);
    if (!root) return NULL;
    char w[KGM_PATH + 32];
    if (root->kind != YN_MAP) {
        WHERE(root, w);
        kgm_diag_add(dl, w, "a manifest is a mapping of sections (dataset:, encoder:, tasks:, ...), found %s",
                     kind_name(root));
        return NULL;
    }
    if (!realpath(path, chain[depth])) snprintf(chain[depth], PATH_MAX, "%s", path);
    ynode *bk = NULL, *bv = yn_get(root, "base", &bk);
    if (!bv || bv->kind == YN_NULL) return root;
    WHERE(bv, w);
    if (bv->kind != YN_SCALAR) {
        kgm_diag_add(dl, w, "base: expected a file name, found %s", kind_name(bv));
        return NULL;
    }
    char dir[KGM_PATH], bpath[2 * KGM_PATH + 2];
    if (src.has_dir) dir_of(path, dir, sizeof dir);
    else snprintf(dir, sizeof dir, "."); /* `<(...)`: /dev/fd is no place to look for a base */
    if (bv->text[0] == '/' || !strcmp(dir, ".")) snprintf(bpath, sizeof bpath, "%s", bv->text);
    else snprintf(bpath, sizeof bpath, "%s/%s", dir, bv->text);
    char real[PATH_MAX];
    if (!realpath(bpath, real)) {
        kgm_diag_add(dl, w, "base: cannot open '%s': %s", bpath, strerror(errno));
        return NULL;
    }
    for (int i = 0; i <= depth; i++)
        if (!strcmp(chain[i], real)) {
            kgm_diag_add(dl, w, "base: inheritance cycle: '%s' is already being loaded", bv->text);
            return NULL;
        }
    if (depth + 1 >= MAX_BASE_DEPTH) {
        kgm_diag_add(dl, w, "base: inheritance deeper than %d files", MAX_BASE_DEPTH);
        return NULL;
    }
    ynode *broot = load_chain(p, bpath, w, chain, depth + 1, dl);
    if (!broot) return NULL;
    return merge(p, broot, root, true);
}

/* ---- applying the tree to a configuration ---- */

static void unknown_key(kgm_diag_list *dl, const ynode *key, const char *section) {
    char w[KGM_PATH + 32], sug[160];
    WHERE(key, w);
    suggester sg;
    sug_init(&sg, key->text);
    const char *belongs = NULL;
    if (section) {
        size_t pl = strlen(section);
        for (int32_t i = 0; i < N_SCHEMA; i++) {
            const char *k = schema[i].key;
            if (!strncmp(k, section, pl) && k[pl] == '.') sug_offer(&sg, k + pl + 1, strlen(k + pl + 1));
            const char *dot = strchr(k, '.');
            if (dot && !strcmp(dot + 1, key->text) && strncmp(k, "tasks[]", 7)) belongs = k;
        }
        sug_text(&sg, sug, sizeof sug);
        if (!sug[0] && belongs)
            kgm_diag_add(dl, w, "unknown key '%s' in %s (it belongs in another section: %s)", key->text, section, belongs);
        else kgm_diag_add(dl, w, "unknown key '%s' in %s%s", key->text, section, sug);
        return;
    }
    for (int i = 0; i < N_SECTIONS; i++) sug_offer(&sg, sections[i], strlen(sections[i]));
    for (int32_t i = 0; i < N_SCHEMA; i++)
        if (!strchr(schema[i].key, '.')) sug_offer(&sg, schema[i].key, strlen(schema[i].key));
    for (int32_t i = 0; i < N_SCHEMA; i++) {
        const char *dot = strchr(schema[i].key, '.');
        if (dot && !strcmp(dot + 1, key->text) && strncmp(schema[i].key, "tasks[]", 7)) belongs = schema[i].key;
    }
    sug_text(&sg, sug, sizeof sug);
    if (!sug[0] && belongs)
        kgm_diag_add(dl, w, "unknown top-level key '%s' (did you mean '%s'?)", key->text, belongs);
    else kgm_diag_add(dl, w, "unknown top-level key '%s'%s", key->text, sug);
}

static void apply_section(kgm_run_config *c, const char *section, const ynode *m, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    if (m->kind == YN_NULL) return;
    if (m->kind != YN_MAP) {
        WHERE(m, w);
        kgm_diag_add(dl, w, "%s: expected a mapping of keys, found %s", section, kind_name(m));
        return;
    }
    for (int32_t i = 0; i < m->n; i++) {
        char key[160];
        snprintf(key, sizeof key, "%s.%s", section, m->k[i]->text);
        const kgm_key_spec *s = kgm_manifest_key(key);
        if (!s) unknown_key(dl, m->k[i], section);
        else set_value(s, c, m->v[i], key, dl);
    }
}

static bool task_name_ok(const char *n) {
    if (!*n) return false;
    for (const char *p = n; *p; p++)
        if (!(*p == '_' || *p == '-' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z')))
            return false;
    return true;
}

/* Default task name: the plugin name, or the file stem of a plugin path. */
static void plugin_stem(const char *plugin, char *out, size_t n) {
    const char *b = strrchr(plugin, '/');
    b = b ? b + 1 : plugin;
    if (!strncmp(b, "lib", 3) && strchr(plugin, '/')) b += 3;
    size_t len = strlen(b);
    if (len > 3 && !strcmp(b + len - 3, ".so")) len -= 3;
    snprintf(out, n, "%.*s", (int)len, b);
}

static void set_option(kgm_task_spec *t, const char *key, const ynode *v, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    WHERE(v, w);
    if (v->kind == YN_SEQ || v->kind == YN_MAP) {
        kgm_diag_add(dl, w, "options.%s: expected a single value, found %s", key, kind_name(v));
        return;
    }
    if (strlen(key) >= sizeof t->opts[0].key || strlen(v->text) >= sizeof t->opts[0].value) {
        kgm_diag_add(dl, w, "options.%s: name or value too long", key);
        return;
    }
    int32_t k = 0;
    while (k < t->n_opts && strcmp(t->opts[k].key, key)) k++;
    if (k == t->n_opts) {
        if (t->n_opts >= KGM_MAX_TASK_OPTS) {
            kgm_diag_add(dl, w, "options: more than %d options", KGM_MAX_TASK_OPTS);
            return;
        }
        t->n_opts++;
    }
    snprintf(t->opts[k].key, sizeof t->opts[k].key, "%s", key);
    snprintf(t->opts[k].value, sizeof t->opts[k].value, "%s", v->text);
    snprintf(t->opts[k].where, sizeof t->opts[k].where, "%.*s", (int)sizeof t->opts[k].where - 1, w);
}

static void apply_task(kgm_task_spec *t, int32_t idx, const ynode *m, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    WHERE(m, w);
    kgm_task_spec_default(t);
    snprintf(t->where, sizeof t->where, "%.*s", (int)sizeof t->where - 1, w);
    if (m->kind != YN_MAP) {
        kgm_diag_add(dl, w, "tasks[%d]: expected a mapping (plugin:, name:, options:, ...), found %s", idx,
                     kind_name(m));
        return;
    }
    for (int32_t i = 0; i < m->n; i++) {
        const char *k = m->k[i]->text;
        char key[96], name[96];
        snprintf(key, sizeof key, "tasks[].%s", k);
        snprintf(name, sizeof name, "tasks[%d].%s", idx, k);
        const kgm_key_spec *s = kgm_manifest_key(key);
        if (!strcmp(k, "options")) {
            const ynode *o = m->v[i];
            if (o->kind == YN_NULL) continue;
            if (o->kind != YN_MAP) {
                WHERE(o, w);
                kgm_diag_add(dl, w, "%s: expected a mapping of option: value, found %s", name, kind_name(o));
                continue;
            }
            for (int32_t j = 0; j < o->n; j++) set_option(t, o->k[j]->text, o->v[j], dl);
        } else if (s) {
            set_value(s, t, m->v[i], name, dl);
        } else {
            suggester sg;
            char sug[160];
            sug_init(&sg, k);
            for (int32_t j = 0; j < N_SCHEMA; j++)
                if (!strncmp(schema[j].key, "tasks[].", 8)) sug_offer(&sg, schema[j].key + 8, strlen(schema[j].key + 8));
            WHERE(m->k[i], w);
            kgm_diag_add(dl, w, "unknown key '%s' in a task entry%s", k, sug_text(&sg, sug, sizeof sug));
        }
    }
    if (!t->plugin[0]) {
        WHERE(m, w);
        kgm_diag_add(dl, w, "tasks[%d]: 'plugin' is required (a plugin name or a path to a .so)", idx);
        return;
    }
    if (!t->name[0]) plugin_stem(t->plugin, t->name, sizeof t->name);
    if (!task_name_ok(t->name)) {
        ynode *kn = NULL, *nv = yn_get(m, "name", &kn);
        WHERE(nv ? nv : m, w);
        kgm_diag_add(dl, w, "tasks[%d].name: '%s' may only contain letters, digits, '_' and '-'", idx, t->name);
    }
}

static void apply_tasks(kgm_run_config *c, const ynode *v, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    WHERE(v, w);
    if (v->kind == YN_NULL) return;
    if (v->kind != YN_SEQ) {
        kgm_diag_add(dl, w, "tasks: expected a list of task entries (- plugin: ...), found %s", kind_name(v));
        return;
    }
    if (v->n > KGM_MAX_TASKS) kgm_diag_add(dl, w, "tasks: at most %d tasks, found %d", KGM_MAX_TASKS, v->n);
    c->n_tasks = v->n < KGM_MAX_TASKS ? v->n : KGM_MAX_TASKS;
    for (int32_t i = 0; i < c->n_tasks; i++) apply_task(&c->tasks[i], i, v->v[i], dl);
}

/* `published:` as a string "k=v,..." or a mapping k: v. */
static void apply_published(kgm_run_config *c, const ynode *v, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    WHERE(v, w);
    char buf[sizeof c->published];
    size_t o = 0;
    buf[0] = '\0';
    if (v->kind == YN_NULL) return;
    if (v->kind == YN_MAP) {
        for (int32_t i = 0; i < v->n; i++) {
            char wv[KGM_PATH + 32];
            WHERE(v->v[i], wv);
            char *end;
            if (v->v[i]->kind != YN_SCALAR || (strtod(v->v[i]->text, &end), *end || end == v->v[i]->text)) {
                kgm_diag_add(dl, wv, "published.%s: expected a number", v->k[i]->text);
                continue;
            }
            int k = snprintf(buf + o, sizeof buf - o, "%s%s=%s", o ? "," : "", v->k[i]->text, v->v[i]->text);
            if (k < 0 || (size_t)k >= sizeof buf - o) {
                kgm_diag_add(dl, w, "published: too long (at most %zu characters)", sizeof buf - 1);
                return;
            }
            o += (size_t)k;
        }
    } else if (v->kind == YN_SCALAR) {
        if (strlen(v->text) >= sizeof buf) {
            kgm_diag_add(dl, w, "published: too long (at most %zu characters)", sizeof buf - 1);
            return;
        }
        snprintf(buf, sizeof buf, "%s", v->text);
        /* every item must be name=number */
        char tmp[sizeof buf];
        snprintf(tmp, sizeof tmp, "%s", buf);
        char *save = NULL;
        for (char *it = strtok_r(tmp, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(it, '='), *end;
            if (!eq || eq == it || (strtod(eq + 1, &end), *end || end == eq + 1)) {
                kgm_diag_add(dl, w, "published: '%s' is not metric=value", it);
                return;
            }
        }
    } else {
        kgm_diag_add(dl, w, "published: expected a mapping metric: value, found %s", kind_name(v));
        return;
    }
    snprintf(c->published, sizeof c->published, "%s", buf);
}

static void file_stem(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strlen(b);
    const char *dot = strrchr(b, '.');
    if (dot && dot != b) len = (size_t)(dot - b);
    snprintf(out, n, "%.*s", (int)len, b);
}

/* Top level: everything except ablate/ablate_mode/seeds (handled by the plan). */
static void apply_root(kgm_manifest *m, const ynode *root, kgm_diag_list *dl) {
    kgm_run_config *c = m->base;
    char w[KGM_PATH + 32];
    if (yn_get(root, "seed", NULL) && yn_get(root, "seeds", NULL)) {
        ynode *k = NULL;
        yn_get(root, "seeds", &k);
        WHERE(k, w);
        kgm_diag_add(dl, w, "give either 'seed' or 'seeds', not both");
    }
    for (int32_t i = 0; i < root->n; i++) {
        const char *k = root->k[i]->text;
        const ynode *v = root->v[i];
        WHERE(v, w);
        bool section = false;
        for (int s = 0; s < N_SECTIONS; s++)
            if (!strcmp(k, sections[s])) {
                apply_section(c, k, v, dl);
                section = true;
            }
        if (section) continue;
        if (!strcmp(k, "tasks")) apply_tasks(c, v, dl);
        else if (!strcmp(k, "seed")) set_value(kgm_manifest_key("seed"), c, v, "seed", dl);
        else if (!strcmp(k, "published")) apply_published(c, v, dl);
        else if (!strcmp(k, "name") || !strcmp(k, "description") || !strcmp(k, "output")) {
            if (v->kind == YN_NULL) continue;
            if (v->kind != YN_SCALAR) {
                kgm_diag_add(dl, w, "%s: expected a string, found %s", k, kind_name(v));
                continue;
            }
            char *dst = !strcmp(k, "name") ? m->plan.title : !strcmp(k, "description") ? m->plan.description : m->plan.output;
            size_t cap = !strcmp(k, "name") ? sizeof m->plan.title
                                           : !strcmp(k, "description") ? sizeof m->plan.description : sizeof m->plan.output;
            if (strlen(v->text) >= cap) kgm_diag_add(dl, w, "%s: too long (at most %zu characters)", k, cap - 1);
            else memcpy(dst, v->text, strlen(v->text) + 1);
        } else if (!strcmp(k, "ablate") || !strcmp(k, "ablate_mode") || !strcmp(k, "seeds") || !strcmp(k, "base")) {
            continue;
        } else unknown_key(dl, root->k[i], NULL);
    }
}

/* ---- ablation ---- */

static bool axis_resolve(kgm_manifest *m, axis_impl *a, const char *key, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    WHERE(a->key_node, w);
    const kgm_run_config *c = m->base;
    if (!strncmp(key, "tasks.", 6)) {
        const char *name = key + 6, *dot = strchr(name, '.');
        if (!dot) {
            kgm_diag_add(dl, w, "ablate: '%s' should be tasks.NAME.FIELD or tasks.NAME.options.OPTION", key);
            return false;
        }
        size_t nl = (size_t)(dot - name);
        a->task = -1;
        for (int32_t i = 0; i < c->n_tasks; i++)
            if (strlen(c->tasks[i].name) == nl && !strncmp(c->tasks[i].name, name, nl)) a->task = i;
        if (a->task < 0) {
            char names[512] = "";
            for (int32_t i = 0; i < c->n_tasks; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", c->tasks[i].name);
            kgm_diag_add(dl, w, "ablate: no task named '%.*s' (tasks: %s)", (int)nl, name, names[0] ? names : "none");
            return false;
        }
        const char *field = dot + 1;
        if (!strncmp(field, "options.", 8) && field[8]) {
            a->kind = 2;
            snprintf(a->opt, sizeof a->opt, "%s", field + 8);
            return true;
        }
        char tk[96];
        snprintf(tk, sizeof tk, "tasks[].%s", field);
        a->spec = kgm_manifest_key(tk);
        if (!a->spec || a->spec->type == KGM_KEY_SPECIAL || !strcmp(field, "name") || !strcmp(field, "plugin")) {
            suggester sg;
            char sug[160];
            sug_init(&sg, field);
            for (int32_t j = 0; j < N_SCHEMA; j++)
                if (!strncmp(schema[j].key, "tasks[].", 8) && schema[j].type != KGM_KEY_SPECIAL)
                    sug_offer(&sg, schema[j].key + 8, strlen(schema[j].key + 8));
            kgm_diag_add(dl, w, "ablate: '%s' is not a task field that can be ablated%s", key, sug_text(&sg, sug, sizeof sug));
            return false;
        }
        a->kind = 1;
        return true;
    }
    if (!strcmp(key, "published")) {
        a->kind = 3;
        return true;
    }
    a->spec = kgm_manifest_key(key);
    if (!a->spec || a->spec->type == KGM_KEY_SPECIAL || !strcmp(key, "seed")) {
        suggester sg;
        char sug[160];
        sug_init(&sg, key);
        for (int32_t j = 0; j < N_SCHEMA; j++)
            if (schema[j].type != KGM_KEY_SPECIAL && strncmp(schema[j].key, "tasks[]", 7) && strcmp(schema[j].key, "seed"))
                sug_offer(&sg, schema[j].key, strlen(schema[j].key));
        if (!strcmp(key, "seed") || !strcmp(key, "seeds"))
            kgm_diag_add(dl, w, "ablate: seeds are not an axis; list them under 'seeds:' instead");
        else kgm_diag_add(dl, w, "ablate: unknown key '%s'%s", key, sug_text(&sg, sug, sizeof sug));
        return false;
    }
    a->kind = 0;
    return true;
}

/* Apply value `v` of axis `a` to configuration `c`. */
static bool axis_apply(const axis_impl *a, kgm_run_config *c, const ynode *v, const char *key, kgm_diag_list *dl) {
    switch (a->kind) {
    case 0: return set_value(a->spec, c, v, key, dl);
    case 1: return set_value(a->spec, &c->tasks[a->task], v, key, dl);
    case 2: {
        int32_t before = dl ? dl->n : 0;
        set_option(&c->tasks[a->task], a->opt, v, dl);
        return !dl || dl->n == before;
    }
    case 3: {
        int32_t before = dl ? dl->n : 0;
        apply_published(c, v, dl);
        return !dl || dl->n == before;
    }
    }
    return false;
}

/* Directory-safe copy of a run name. */
static void sanitize(const char *in, char *out, size_t n) {
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < n; p++) {
        char ch = *p;
        bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  strchr("._=,+-@", ch);
        out[o++] = ok ? ch : '_';
    }
    out[o] = '\0';
    if (!strcmp(out, ".") || !strcmp(out, "..") || !out[0]) snprintf(out, n, "_");
}

static kgm_status load_seeds(kgm_manifest *m, const ynode *root, kgm_diag_list *dl) {
    kgm_plan *p = &m->plan;
    ynode *sv = yn_get(root, "seeds", NULL);
    char w[KGM_PATH + 32];
    if (!sv || sv->kind == YN_NULL) {
        p->seeds = malloc(sizeof *p->seeds);
        if (!p->seeds) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
        p->seeds[0] = m->base->seed;
        p->n_seeds = 1;
        return KGM_OK;
    }
    WHERE(sv, w);
    if (sv->kind == YN_SCALAR) {
        char *end;
        long long nseed = sv->quoted ? -1 : strtoll(sv->text, &end, 10);
        if (sv->quoted || *end || nseed < 1 || nseed > 10000) {
            kgm_diag_add(dl, w, "seeds: expected a list of seeds or a count between 1 and 10000, found '%s'", sv->text);
            return KGM_OK;
        }
        p->seeds = malloc((size_t)nseed * sizeof *p->seeds);
        if (!p->seeds) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
        for (long long i = 0; i < nseed; i++) p->seeds[i] = (uint64_t)(i + 1);
        p->n_seeds = (int32_t)nseed;
        return KGM_OK;
    }
    if (sv->kind != YN_SEQ || sv->n == 0) {
        kgm_diag_add(dl, w, "seeds: expected a non-empty list of seeds, found %s", sv->kind == YN_SEQ ? "an empty list" : kind_name(sv));
        return KGM_OK;
    }
    p->seeds = calloc((size_t)sv->n, sizeof *p->seeds);
    if (!p->seeds) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    const kgm_key_spec *ss = kgm_manifest_key("seed");
    for (int32_t i = 0; i < sv->n; i++) {
        kgm_run_config *tmp = m->base; /* parse into a scratch field, then restore */
        uint64_t keep = tmp->seed;
        char name[32];
        snprintf(name, sizeof name, "seeds[%d]", i);
        if (sv->v[i]->kind == YN_NULL) {
            WHERE(sv->v[i], w);
            kgm_diag_add(dl, w, "%s: expected a non-negative integer, found null", name);
        } else if (set_value(ss, tmp, sv->v[i], name, dl)) {
            for (int32_t j = 0; j < p->n_seeds; j++)
                if (p->seeds[j] == tmp->seed) {
                    WHERE(sv->v[i], w);
                    kgm_diag_add(dl, w, "%s: seed %llu is listed twice", name, (unsigned long long)tmp->seed);
                }
            p->seeds[p->n_seeds++] = tmp->seed;
        }
        tmp->seed = keep;
    }
    return KGM_OK;
}

static kgm_status load_ablation(kgm_manifest *m, const ynode *root, kgm_diag_list *dl) {
    kgm_plan *p = &m->plan;
    char w[KGM_PATH + 32];
    ynode *mode = yn_get(root, "ablate_mode", NULL);
    if (mode && mode->kind != YN_NULL) {
        WHERE(mode, w);
        if (mode->kind != YN_SCALAR || !in_choices("grid|zip|one_at_a_time", mode->text)) {
            suggester sg;
            char sug[160];
            sug_init(&sg, mode->kind == YN_SCALAR ? mode->text : "");
            choices_suggest(&sg, "grid|zip|one_at_a_time");
            kgm_diag_add(dl, w, "ablate_mode: '%s' is not one of grid, zip, one_at_a_time%s",
                         mode->kind == YN_SCALAR ? mode->text : "?", sug_text(&sg, sug, sizeof sug));
        } else {
            p->zip = !strcmp(mode->text, "zip");
            p->one_at_a_time = !strcmp(mode->text, "one_at_a_time");
        }
    }
    ynode *ab = yn_get(root, "ablate", NULL);
    if (!ab || ab->kind == YN_NULL || (ab->kind == YN_MAP && ab->n == 0)) return KGM_OK;
    WHERE(ab, w);
    if (ab->kind != YN_MAP) {
        kgm_diag_add(dl, w, "ablate: expected a mapping of key: [values], found %s", kind_name(ab));
        return KGM_OK;
    }
    m->axes = calloc((size_t)ab->n, sizeof *m->axes);
    p->axes = calloc((size_t)ab->n, sizeof *p->axes);
    if (!m->axes || !p->axes) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    bool ok = true;
    kgm_run_config *scratch = malloc(sizeof *scratch);
    if (!scratch) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < ab->n; i++) {
        axis_impl *a = &m->axes[p->n_axes];
        kgm_plan_axis *pa = &p->axes[p->n_axes];
        a->key_node = ab->k[i];
        const ynode *vals = ab->v[i];
        const char *key = ab->k[i]->text;
        bool axis_ok = axis_resolve(m, a, key, dl);
        WHERE(vals, w);
        if (vals->kind != YN_SEQ || vals->n == 0) {
            kgm_diag_add(dl, w, "ablate.%s: expected a non-empty list of values [a, b, ...], found %s", key,
                         vals->kind == YN_SEQ ? "an empty list" : kind_name(vals));
            ok = false;
            continue;
        }
        if (!axis_ok) {
            ok = false;
            continue;
        }
        snprintf(pa->key, sizeof pa->key, "%s", key);
        a->n = vals->n;
        a->vals = vals->v;
        pa->n_values = vals->n;
        pa->values = calloc((size_t)vals->n, sizeof *pa->values);
        if (!pa->values) {
            free(scratch);
            return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
        }
        p->n_axes++;
        m->n_axes_alloc = p->n_axes;
        for (int32_t j = 0; j < vals->n; j++) {
            const ynode *v = vals->v[j];
            pa->values[j] = strdup(v->kind == YN_SCALAR || v->kind == YN_NULL ? v->text : "?");
            if (!pa->values[j]) {
                free(scratch);
                return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
            }
            *scratch = *m->base;
            char name[192];
            snprintf(name, sizeof name, "ablate.%s[%d]", key, j);
            if (v->kind == YN_NULL) {
                WHERE(v, w);
                kgm_diag_add(dl, w, "%s: an ablation value cannot be null", name);
                ok = false;
            } else if (!axis_apply(a, scratch, v, name, dl)) ok = false;
        }
        /* label: last dotted component (task keys keep the task name) */
        const char *lab = key;
        if (a->kind == 1 || a->kind == 2) lab = key + 6;
        else if (strrchr(key, '.')) lab = strrchr(key, '.') + 1;
        if (a->kind == 2) {
            snprintf(pa->label, sizeof pa->label, "%s.%s", m->base->tasks[a->task].name, a->opt);
        } else snprintf(pa->label, sizeof pa->label, "%s", lab);
    }
    free(scratch);
    /* colliding labels fall back to the full key */
    for (int32_t i = 0; i < p->n_axes; i++)
        for (int32_t j = 0; j < p->n_axes; j++)
            if (i != j && !strcmp(p->axes[i].label, p->axes[j].label) && strcmp(p->axes[i].key, p->axes[j].key)) {
                snprintf(p->axes[i].label, sizeof p->axes[i].label, "%s", p->axes[i].key);
                snprintf(p->axes[j].label, sizeof p->axes[j].label, "%s", p->axes[j].key);
            }
    if (p->zip && p->n_axes > 1) {
        for (int32_t i = 1; i < p->n_axes; i++)
            if (p->axes[i].n_values != p->axes[0].n_values) {
                WHERE(ab, w);
                kgm_diag_add(dl, w, "ablate (zip): every axis needs the same number of values; '%s' has %d, '%s' has %d",
                             p->axes[0].key, p->axes[0].n_values, p->axes[i].key, p->axes[i].n_values);
                ok = false;
                break;
            }
    }
    if (!ok) p->n_axes = 0; /* errors are reported; expand the base point only */
    return KGM_OK;
}

static kgm_status expand(kgm_manifest *m, kgm_diag_list *dl) {
    kgm_plan *p = &m->plan;
    int64_t points = 1;
    if (p->n_axes > 0) {
        if (p->zip) points = p->axes[0].n_values;
        else if (p->one_at_a_time)
            for (int32_t i = 0; i < p->n_axes; i++) points += p->axes[i].n_values - 1;
        else
            for (int32_t i = 0; i < p->n_axes && points <= MAX_RUNS; i++) points *= p->axes[i].n_values;
    }
    if (points * p->n_seeds > MAX_RUNS) {
        kgm_diag_add(dl, m->path, "the ablation expands to more than %d runs", MAX_RUNS);
        return KGM_OK;
    }
    p->n_points = (int32_t)points;
    int32_t na = p->n_axes;
    m->point_vals = calloc((size_t)(points * (na ? na : 1)), sizeof *m->point_vals);
    p->n_runs = p->n_points * p->n_seeds;
    p->runs = calloc((size_t)(p->n_runs ? p->n_runs : 1), sizeof *p->runs);
    if (!m->point_vals || !p->runs) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    char(*names)[128] = calloc((size_t)points, sizeof *names);
    if (!names) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    for (int32_t pt = 0; pt < p->n_points; pt++) {
        int32_t *idx = &m->point_vals[pt * na];
        /* grid: first axis outermost (slowest), so point 0 is all first values;
         * one at a time: point 0 is all first values, then each later value of
         * each axis alone */
        int32_t rem = pt, varied = -1;
        for (int32_t a = na - 1; a >= 0; a--) {
            if (p->zip) idx[a] = pt;
            else if (p->one_at_a_time) idx[a] = 0;
            else {
                idx[a] = rem % p->axes[a].n_values;
                rem /= p->axes[a].n_values;
            }
        }
        for (int32_t a = 0, k = pt - 1; p->one_at_a_time && pt > 0 && a < na; a++) {
            if (k < p->axes[a].n_values - 1) {
                idx[a] = k + 1;
                varied = a;
                break;
            }
            k -= p->axes[a].n_values - 1;
        }
        char raw[512] = "";
        size_t o = 0;
        for (int32_t a = 0; a < na; a++) {
            if (m->axes[a].kind == 3 && na > 1) continue; /* published values do not name runs */
            if (p->one_at_a_time && a != varied) continue;  /* named by the one changed axis */
            int k = snprintf(raw + o, sizeof raw - o, "%s%s=%s", o ? "," : "", p->axes[a].label,
                             p->axes[a].values[idx[a]]);
            if (k > 0) o = o + (size_t)k < sizeof raw ? o + (size_t)k : sizeof raw - 1;
        }
        if (na == 0) snprintf(raw, sizeof raw, "default");
        else if (p->one_at_a_time && pt == 0) snprintf(raw, sizeof raw, "baseline");
        char safe[128];
        sanitize(raw, safe, 100);
        /* unique names: append the point number on a clash */
        for (int32_t q = 0; q < pt; q++)
            if (!strcmp(names[q], safe)) {
                char tmp[128];
                snprintf(tmp, sizeof tmp, "%.100s-%d", safe, pt + 1);
                memcpy(safe, tmp, sizeof safe);
                break;
            }
        memcpy(names[pt], safe, sizeof safe);
        for (int32_t s = 0; s < p->n_seeds; s++) {
            kgm_plan_run *r = &p->runs[pt * p->n_seeds + s];
            snprintf(r->group, sizeof r->group, "%s", safe);
            r->seed = p->seeds[s];
            r->point = pt;
            r->baseline = pt == 0;
            if (na == 0) snprintf(r->rel, sizeof r->rel, "seed-%llu", (unsigned long long)r->seed);
            else snprintf(r->rel, sizeof r->rel, "%s/seed-%llu", safe, (unsigned long long)r->seed);
            int k = snprintf(r->dir, sizeof r->dir, "%s/%s", p->output, r->rel);
            if (k < 0 || (size_t)k >= sizeof r->dir) kgm_diag_add(dl, m->path, "output path too long: %s", p->output);
        }
    }
    free(names);
    return KGM_OK;
}

/* ---- materialisation and cross-field checks ---- */

static kgm_status materialize_point(const kgm_manifest *m, int32_t pt, kgm_run_config *out, kgm_diag_list *dl) {
    *out = *m->base;
    const kgm_plan *p = &m->plan;
    for (int32_t a = 0; a < p->n_axes; a++) {
        const ynode *v = m->axes[a].vals[m->point_vals[pt * p->n_axes + a]];
        char name[192];
        snprintf(name, sizeof name, "ablate.%s", p->axes[a].key);
        if (!axis_apply(&m->axes[a], out, v, name, dl))
            return KGM_ERR(KGM_ERR_ARG, "ablation value of %s does not apply", p->axes[a].key);
    }
    return KGM_OK;
}

kgm_status kgm_manifest_materialize(const kgm_manifest *m, int32_t i, kgm_run_config *out) {
    const kgm_plan *p = &m->plan;
    if (i < 0 || i >= p->n_runs) return KGM_ERR(KGM_ERR_INDEX, "run %d of %d", i, p->n_runs);
    const kgm_plan_run *r = &p->runs[i];
    KGM_TRY(materialize_point(m, r->point, out, NULL));
    out->seed = r->seed;
    snprintf(out->name, sizeof out->name, "%s", r->group);
    snprintf(out->output, sizeof out->output, "%s", r->dir);
    snprintf(out->manifest, sizeof out->manifest, "%s", m->path);
    return KGM_OK;
}

/* Where a dotted key was set: the point's ablation value, else the base tree. */
static void key_where(const kgm_manifest *m, int32_t pt, const char *key, char *w, size_t n) {
    const kgm_plan *p = &m->plan;
    for (int32_t a = 0; a < p->n_axes; a++)
        if (!strcmp(p->axes[a].key, key)) {
            where_of(m->axes[a].vals[m->point_vals[pt * p->n_axes + a]], w, n);
            return;
        }
    const char *dot = strchr(key, '.');
    ynode *v = NULL;
    if (dot) {
        char sec[64];
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - key), key);
        ynode *s = yn_get(m->root, sec, NULL);
        v = yn_get(s, dot + 1, NULL);
        if (!v) v = s;
    } else v = yn_get(m->root, key, NULL);
    if (v) where_of(v, w, n);
    else snprintf(w, n, "%s", m->path);
}

/* Where field `field` of task i was set: its ablation axis (tasks.NAME.FIELD)
 * for this point, else the task entry's key, else the task entry. */
static void task_key_where(const kgm_manifest *m, int32_t pt, const kgm_run_config *c, int32_t i, const char *field,
                           char *w, size_t n) {
    char key[160];
    snprintf(key, sizeof key, "tasks.%s.%s", c->tasks[i].name, field);
    const kgm_plan *p = &m->plan;
    for (int32_t a = 0; a < p->n_axes; a++)
        if (!strcmp(p->axes[a].key, key)) {
            where_of(m->axes[a].vals[m->point_vals[pt * p->n_axes + a]], w, n);
            return;
        }
    const ynode *tasks = yn_get(m->root, "tasks", NULL);
    const ynode *v = tasks && tasks->kind == YN_SEQ && i < tasks->n ? yn_get(tasks->v[i], field, NULL) : NULL;
    if (v) where_of(v, w, n);
    else snprintf(w, n, "%s", c->tasks[i].where[0] ? c->tasks[i].where : m->path);
}

/* Context rules over the whole sweep: a key is reported when it is set in
 * the manifest file itself (or an ablation value) and takes effect in none of
 * the sweep's runs. Keys inherited from a base file are not reported: a base
 * serves several children, each using part of it. */
typedef struct {
    char key[160];
    char where[KGM_PATH + 32];
    char msg[400];
    bool used, unused;
} ctx_seen;

typedef struct {
    const kgm_manifest *m;
    int32_t pt;
    const kgm_run_config *c; /* the point's configuration */
    ctx_seen *e;
    int32_t n, cap;
    bool oom;
} ctx_agg;

static void context_where(const kgm_manifest *m, int32_t pt, const char *key, const char *fallback, char *w, size_t n) {
    const kgm_plan *p = &m->plan;
    for (int32_t a = 0; a < p->n_axes; a++)
        if (!strcmp(p->axes[a].key, key)) {
            where_of(m->axes[a].vals[m->point_vals[pt * p->n_axes + a]], w, n);
            return;
        }
    if (fallback && fallback[0]) snprintf(w, n, "%s", fallback);
    else key_where(m, pt, key, w, n);
}

static void context_visit(void *u, const char *key, const char *task_where, bool applies, const char *msg) {
    ctx_agg *g = u;
    ctx_seen *e = NULL;
    for (int32_t i = 0; i < g->n && !e; i++)
        if (!strcmp(g->e[i].key, key)) e = &g->e[i];
    if (!e) {
        if (g->n == g->cap) {
            int32_t cap = g->cap ? 2 * g->cap : 16;
            ctx_seen *ne = realloc(g->e, (size_t)cap * sizeof *ne);
            if (!ne) {
                g->oom = true;
                return;
            }
            g->e = ne;
            g->cap = cap;
        }
        e = &g->e[g->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    if (applies) e->used = true;
    else if (!e->unused) {
        e->unused = true;
        context_where(g->m, g->pt, key, task_where, e->where, sizeof e->where);
        /* a task field written in its task entry: the field's own position */
        const char *dot = !strncmp(key, "tasks.", 6) ? strrchr(key, '.') : NULL;
        for (int32_t i = 0; dot && i < g->c->n_tasks; i++)
            if ((size_t)(dot - key - 6) == strlen(g->c->tasks[i].name) && !strncmp(key + 6, g->c->tasks[i].name, (size_t)(dot - key - 6)))
                task_key_where(g->m, g->pt, g->c, i, dot + 1, e->where, sizeof e->where);
        snprintf(e->msg, sizeof e->msg, "%s", msg);
    }
}

static void context_report(ctx_agg *g, kgm_diag_list *dl) {
    size_t pl = strlen(g->m->path);
    if (g->oom) kgm_diag_add(dl, g->m->path, "out of memory while checking the manifest");
    for (int32_t i = 0; i < g->n; i++) {
        const ctx_seen *e = &g->e[i];
        bool here = !strncmp(e->where, g->m->path, pl) && e->where[pl] == ':';
        if (e->unused && !e->used && here)
            kgm_diag_add(dl, e->where, "%s%s", e->msg,
                         g->m->plan.n_points > 1 ? " (it has no effect in any run of the sweep)" : "");
    }
    free(g->e);
}

/* True when `key` (section.name) is written in the manifest or is an
 * ablation axis, i.e. the user chose its value. */
static bool key_given(const kgm_manifest *m, const char *key) {
    for (int32_t a = 0; a < m->plan.n_axes; a++)
        if (!strcmp(m->plan.axes[a].key, key)) return true;
    const char *dot = strchr(key, '.');
    char sec[64];
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - key), key);
    return yn_get(yn_get(m->root, sec, NULL), dot + 1, NULL) != NULL;
}

/* dataset.* keys that the chosen source would ignore are errors. */
static void dataset_check(const kgm_manifest *m, int32_t pt, const kgm_run_config *c, const char *suffix,
                          kgm_diag_list *dl) {
    const kgm_data_cfg *d = &c->data;
    char w[KGM_PATH + 32];
    bool world = !strcmp(d->source, "world"), mmoe = !strcmp(d->source, "mmoe");
    bool social_set = !strncmp(d->source, "social-small/", 13);
    bool no_kg = mmoe || social_set || !strcmp(d->source, "census-kdd") || !strcmp(d->source, "kernlab-income");
    if (d->kg_path[0] && no_kg) {
        key_where(m, pt, "dataset.kg_path", w, sizeof w);
        kgm_diag_add(dl, w, "dataset.kg_path: expected a source with a knowledge graph to merge the triples into, found "
                     "source '%s' (no KG)%s", d->source, suffix);
    }
    if (world || mmoe) {
        static const char *const loaded_only[] = {"dataset.social_path", "dataset.min_user_interactions",
                                                  "dataset.min_item_interactions", "dataset.rating_threshold"};
        bool set[4] = {d->social_path[0] != 0, d->min_user_interactions > 0, d->min_item_interactions > 0,
                       !isnan(d->rating_threshold)};
        for (int k = 0; k < 4; k++)
            if (set[k]) {
                key_where(m, pt, loaded_only[k], w, sizeof w);
                kgm_diag_add(dl, w, "%s: applies to loaded data; source '%s' is generated (expected it unset)%s",
                             loaded_only[k], d->source, suffix);
            }
    }
    if (mmoe && strcmp(d->split, "generator") && strcmp(d->split, "given")) {
        key_where(m, pt, "dataset.split", w, sizeof w);
        kgm_diag_add(dl, w, "dataset.split: source mmoe comes split by mmoe_n_train/mmoe_n_valid/mmoe_n_test; "
                     "expected generator, found '%s'%s", d->split, suffix);
    }
    for (int k = 0; mmoe && k < 2; k++) {
        const char *key = k ? "dataset.test_frac" : "dataset.valid_frac";
        if (!key_given(m, key)) continue;
        key_where(m, pt, key, w, sizeof w);
        kgm_diag_add(dl, w, "%s: source mmoe sizes its splits with dataset.mmoe_n_valid / mmoe_n_test; expected "
                     "%s unset%s", key, key + 8, suffix);
    }
    bool has_edges = social_set || d->social_path[0] || !strcmp(d->source, "auto") || !strcmp(d->source, "cache");
    if (d->social_directed && !has_edges) {
        key_where(m, pt, "dataset.social_directed", w, sizeof w);
        kgm_diag_add(dl, w, "dataset.social_directed: applies to a social edge list (dataset.social_path or source "
                     "social-small/NAME); source '%s'%s has %s%s", d->source, world ? "'s generated graph" : "",
                     world ? "undirected edges" : "no edge list", suffix);
    }
}

/* True when the dotted key is written (not null) in the manifest tree or is
 * an ablation axis of this point; *w is then where. */
static bool key_written(const kgm_manifest *m, int32_t pt, const char *key, char *w, size_t n) {
    for (int32_t a = 0; a < m->plan.n_axes; a++)
        if (!strcmp(m->plan.axes[a].key, key)) {
            key_where(m, pt, key, w, n);
            return true;
        }
    const char *dot = strchr(key, '.');
    char sec[64];
    snprintf(sec, sizeof sec, "%.*s", dot ? (int)(dot - key) : 0, key);
    ynode *v = dot ? yn_get(yn_get(m->root, sec, NULL), dot + 1, NULL) : NULL;
    if (!v || v->kind == YN_NULL) return false;
    where_of(v, w, n);
    return true;
}

/* mixer.kind none has no layers: a mixer.* key would change nothing. */
static void check_mixer_none(const kgm_manifest *m, int32_t pt, const kgm_run_config *c, const char *suffix,
                             kgm_diag_list *dl) {
    if (strcmp(c->mixer.kind, "none") != 0) return;
    char w[KGM_PATH + 32];
    for (int32_t i = 0; i < N_SCHEMA; i++) {
        const char *k = schema[i].key;
        if (strncmp(k, "mixer.", 6) || !strcmp(k, "mixer.kind") || !key_written(m, pt, k, w, sizeof w)) continue;
        kgm_diag_add(dl, w, "%s: has no effect with mixer.kind none (the tasks read the encoder output; there is no "
                            "shared layer, expert, tower or connection); remove it or choose another mixer.kind%s", k, suffix);
    }
}

static void cross_check(const kgm_manifest *m, int32_t pt, const kgm_run_config *c, kgm_diag_list *dl) {
    char w[KGM_PATH + 32];
    const char *suffix = "";
    char sfx[200] = "";
    if (m->plan.n_axes) {
        snprintf(sfx, sizeof sfx, " (in ablation run '%s')", m->plan.runs[pt * m->plan.n_seeds].group);
        suffix = sfx;
    }
    if (c->n_tasks == 0) {
        key_where(m, pt, "tasks", w, sizeof w);
        kgm_diag_add(dl, w, "tasks: at least one task is required");
    }
    for (int32_t i = 0; i < c->n_tasks; i++) {
        char name[sizeof c->tasks[i].name];
        memcpy(name, c->tasks[i].name, sizeof name);
        for (int32_t j = 0; j < i; j++)
            if (name[0] && !strcmp(name, c->tasks[j].name))
                kgm_diag_add(dl, c->tasks[i].where, "tasks: the name '%s' is used twice; give each task a distinct 'name:'",
                             name);
    }
    if (c->eval.select[0]) {
        const char *dot = strchr(c->eval.select, '.');
        bool found = false;
        for (int32_t i = 0; dot && i < c->n_tasks; i++)
            if (strlen(c->tasks[i].name) == (size_t)(dot - c->eval.select) &&
                !strncmp(c->tasks[i].name, c->eval.select, (size_t)(dot - c->eval.select)))
                found = true;
        if (dot && dot - c->eval.select == 4 && !strncmp(c->eval.select, "mean", 4)) found = true;
        if (!dot || !dot[1] || !found) {
            key_where(m, pt, "evaluation.select", w, sizeof w);
            kgm_diag_add(dl, w,
                         "evaluation.select: '%s' should be TASK.METRIC with TASK one of the task names, or "
                         "mean.METRIC%s",
                         c->eval.select, suffix);
        }
    }
    dataset_check(m, pt, c, suffix, dl);
    if (c->data.valid_frac + c->data.test_frac >= 1.0) {
        key_where(m, pt, "dataset.test_frac", w, sizeof w);
        kgm_diag_add(dl, w, "dataset: valid_frac + test_frac must be below 1 (%g + %g)%s", c->data.valid_frac,
                     c->data.test_frac, suffix);
    }
    if (c->data.eval_negatives > 0 && !strcmp(c->data.source, "mmoe")) {
        key_where(m, pt, "dataset.eval_negatives", w, sizeof w);
        kgm_diag_add(dl, w,
                     "dataset.eval_negatives: expected 0 for source mmoe (tabular rows, no items to rank), found %d%s",
                     c->data.eval_negatives, suffix);
    }
    if ((!strcmp(c->encoder.text, "vectors") || !strcmp(c->encoder.text, "npy")) && !c->encoder.text_path[0]) {
        key_where(m, pt, "encoder.text", w, sizeof w);
        kgm_diag_add(dl, w, "encoder.text: '%s' needs encoder.text_path%s", c->encoder.text, suffix);
    }
    for (int32_t i = 0; i < c->n_tasks; i++) {
        const char *why = kgm_weighting_weight_rule(c->train.weighting, c->tasks[i].weight);
        if (!why) continue;
        task_key_where(m, pt, c, i, "weight", w, sizeof w);
        kgm_diag_add(dl, w, "tasks[%d].weight: %g %s%s", i, c->tasks[i].weight, why, suffix);
    }
    check_mixer_none(m, pt, c, suffix, dl);
    if (!strcmp(c->train.schedule, "every_epoch")) {
        if (strcmp(c->train.mode, "alternating")) {
            key_where(m, pt, "optimisation.schedule", w, sizeof w);
            kgm_diag_add(dl, w, "optimisation.schedule: every_epoch needs mode: alternating (found mode %s)%s", c->train.mode,
                         suffix);
        }
        if (key_written(m, pt, "optimisation.steps_per_epoch", w, sizeof w) && c->train.steps_per_epoch > 0)
            kgm_diag_add(dl, w, "optimisation.steps_per_epoch: has no effect with schedule every_epoch (an epoch is one "
                                "full pass of each due task); remove it%s", suffix);
    }
    if (!strcmp(c->train.mode, "alternating") &&
        (!strcmp(c->train.weighting, "pcgrad") || !strcmp(c->train.weighting, "gradnorm"))) {
        key_where(m, pt, "optimisation.weighting", w, sizeof w);
        kgm_diag_add(dl, w, "optimisation.weighting: %s combines the tasks' gradients of one step and needs mode: joint%s",
                     c->train.weighting, suffix);
    }
}

void kgm_manifest_free(kgm_manifest *m) {
    if (!m) return;
    for (int32_t i = 0; i < m->n_axes_alloc; i++) {
        for (int32_t j = 0; j < m->plan.axes[i].n_values; j++) free(m->plan.axes[i].values[j]);
        free(m->plan.axes[i].values);
    }
    free(m->plan.axes);
    free(m->plan.seeds);
    free(m->plan.runs);
    free(m->axes);
    free(m->point_vals);
    free(m->base);
    kgm_yaml_pool_free(&m->pool);
    free(m);
}

kgm_status kgm_manifest_load(const char *path, const kgm_manifest_opts *opts, kgm_diag_list *diags,
                             kgm_manifest **out) {
    *out = NULL;
    kgm_diag_list local = {0};
    kgm_diag_list *dl = diags ? diags : &local;
    int32_t before = dl->n;
    kgm_manifest *m = calloc(1, sizeof *m);
    if (!m) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    m->base = malloc(sizeof *m->base);
    if (!m->base) {
        kgm_manifest_free(m);
        return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    }
    kgm_run_config_default(m->base);
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->plan.manifest, sizeof m->plan.manifest, "%s", path);
    char stem[128];
    file_stem(path, stem, sizeof stem);
    snprintf(m->plan.title, sizeof m->plan.title, "%s", stem);
    snprintf(m->plan.output, sizeof m->plan.output, "results/%s", stem);

    kgm_status st = KGM_OK;
    char(*chain)[PATH_MAX] = calloc(MAX_BASE_DEPTH, PATH_MAX);
    if (!chain) st = KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    else m->root = load_chain(&m->pool, path, NULL, chain, 0, dl);
    free(chain);
    if (st == KGM_OK && m->root) {
        apply_root(m, m->root, dl);
        if (opts && opts->output && opts->output[0]) snprintf(m->plan.output, sizeof m->plan.output, "%s", opts->output);
        /* strip trailing slashes so run paths read well */
        size_t ol = strlen(m->plan.output);
        while (ol > 1 && m->plan.output[ol - 1] == '/') m->plan.output[--ol] = '\0';
        st = load_seeds(m, m->root, dl);
        if (st == KGM_OK) st = load_ablation(m, m->root, dl);
        if (st == KGM_OK && m->plan.n_seeds > 0) st = expand(m, dl);
        if (st == KGM_OK && m->plan.n_runs > 0) {
            kgm_run_config *c = malloc(sizeof *c), *def = malloc(sizeof *def);
            if (!c || !def) st = KGM_ERR(KGM_ERR_NOMEM, "out of memory");
            else kgm_run_config_default(def);
            ctx_agg agg = {.m = m};
            for (int32_t pt = 0; c && def && pt < m->plan.n_points; pt++) {
                if (materialize_point(m, pt, c, NULL) != KGM_OK) continue; /* value errors already reported */
                cross_check(m, pt, c, dl);
                agg.pt = pt;
                agg.c = c;
                kgm__manifest_context_visit(c, def, context_visit, &agg);
                if (opts && opts->check_task)
                    for (int32_t t = 0; t < c->n_tasks; t++)
                        if (c->tasks[t].plugin[0]) opts->check_task(opts->check_user, &c->tasks[t], dl);
                if (opts && opts->check_config) {
                    char w[KGM_PATH + 32];
                    key_where(m, pt, "evaluation.select", w, sizeof w);
                    opts->check_config(opts->check_user, c, w, dl);
                }
            }
            context_report(&agg, dl);
            free(def);
            free(c);
        }
    }
    if (st != KGM_OK) {
        kgm_manifest_free(m);
        kgm_diag_list_destroy(&local);
        return st;
    }
    int32_t nerr = dl->n - before;
    if (nerr > 0 || !m->root) {
        kgm_diag_sort(dl);
        kgm_manifest_free(m);
        kgm_diag_list_destroy(&local);
        return KGM_ERR(KGM_ERR_ARG, "%d problem%s in %s", nerr, nerr == 1 ? "" : "s", path);
    }
    kgm_diag_list_destroy(&local);
    *out = m;
    return KGM_OK;
}

/* ======================================================================
 * plugin checks (the host's option schemas)
 * ====================================================================== */

typedef struct {
    char name[KGM_PATH];
    kgm_plugin *pl;     /* NULL when loading failed */
    char err[1024];
} plugin_entry;

struct kgm_plugin_checker {
    const kgm_plugin_path *sp;
    plugin_entry cache[KGM_MAX_TASKS * 2];
    int n;
};

const char *kgm_diag_strip_source(const char *msg) {
    const char *c = strstr(msg, ".c:");
    if (!c || c - msg > 40) return msg;
    const char *p = c + 3;
    while (*p >= '0' && *p <= '9') p++;
    return (*p == ':' && p[1] == ' ') ? p + 2 : msg;
}

static plugin_entry *checker_open(kgm_plugin_checker *pc, const char *name) {
    for (int i = 0; i < pc->n; i++)
        if (!strcmp(pc->cache[i].name, name)) return &pc->cache[i];
    if (pc->n == (int)(sizeof pc->cache / sizeof *pc->cache)) return NULL;
    plugin_entry *e = &pc->cache[pc->n++];
    snprintf(e->name, sizeof e->name, "%s", name);
    if (kgm_plugin_open(pc->sp, name, &e->pl) != KGM_OK) {
        e->pl = NULL;
        snprintf(e->err, sizeof e->err, "%s", kgm_diag_strip_source(kgm_error_message()));
    }
    return e;
}

kgm_status kgm_plugin_checker_new(const kgm_plugin_path *sp, kgm_plugin_checker **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return KGM_ERR(KGM_ERR_NOMEM, "out of memory");
    (*out)->sp = sp;
    return KGM_OK;
}

void kgm_plugin_checker_free(kgm_plugin_checker *pc) {
    if (!pc) return;
    for (int i = 0; i < pc->n; i++) kgm_plugin_close(pc->cache[i].pl);
    free(pc);
}

void kgm_plugin_check_task(void *user, const kgm_task_spec *t, kgm_diag_list *dl) {
    kgm_plugin_checker *pc = user;
    plugin_entry *e = checker_open(pc, t->plugin);
    if (!e) return;
    if (!e->pl) {
        kgm_diag_add(dl, t->where, "task '%s': unknown plugin '%s': %s", t->name, t->plugin, e->err);
        return;
    }
    int32_t view = e->pl->desc.view;
    if (!strcmp(t->split, "none") && view != KGM_VIEW_KG && view != KGM_VIEW_SOCIAL && view != KGM_VIEW_USER_ATTR &&
        view != KGM_VIEW_ITEM_LABELS)
        kgm_diag_add(dl, t->where, "task '%s' (plugin %s): split none is only for tasks with a split of their own (KG "
                                   "triples, social edges, user attributes, item labels); this one uses the dataset's split",
                     t->name, e->pl->desc.name);
    kgm_opt_kv kv[KGM_MAX_TASK_OPTS];
    for (int32_t k = 0; k < t->n_opts; k++) kv[k] = (kgm_opt_kv){t->opts[k].key, t->opts[k].value, t->opts[k].where};
    kgm_opt_value *vals = NULL;
    if (kgm_opt_parse(e->pl, t->name, kv, t->n_opts, &vals) == KGM_OK) {
        kgm_opt_values_free(vals, e->pl->desc.n_options);
        return;
    }
    /* one problem per line "  WHERE: message"; map each back to its position */
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", kgm_error_message());
    char *save = NULL;
    bool first = true;
    for (char *line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (first) { /* the summary line */
            first = false;
            continue;
        }
        while (*line == ' ') line++;
        const char *where = t->where, *text = line;
        for (int32_t k = 0; k < t->n_opts; k++) {
            size_t wl = strlen(t->opts[k].where);
            if (wl && !strncmp(line, t->opts[k].where, wl) && line[wl] == ':') {
                where = t->opts[k].where;
                text = line + wl + 1;
                while (*text == ' ') text++;
                break;
            }
        }
        kgm_diag_add(dl, where, "task '%s' (plugin %s): %s", t->name, e->pl->desc.name, text);
    }
}

/* Lists the metric names of a plugin, comma-separated, into buf. */
static void metric_list(const kgm_plugin *pl, char *buf, size_t n) {
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < pl->desc.n_metrics && off + 2 < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? ", " : "", pl->desc.metrics[i].name);
}

void kgm_plugin_check_select(void *user, const kgm_run_config *c, const char *where, kgm_diag_list *dl) {
    kgm_plugin_checker *pc = user;
    const char *sel = c->eval.select, *dot = strrchr(sel, '.');
    if (!sel[0] || !dot || !dot[1]) return; /* empty: the first task's default; malformed: cross_check said so */
    size_t ln = (size_t)(dot - sel);
    bool mean = ln == 4 && !strncmp(sel, "mean", 4);
    for (int32_t t = 0; t < c->n_tasks; t++)
        if (strlen(c->tasks[t].name) == ln && !strncmp(c->tasks[t].name, sel, ln)) mean = false;
    int found = 0, dir = -1;
    bool mixed = false;
    for (int32_t t = 0; t < c->n_tasks; t++) {
        if (!mean && !(strlen(c->tasks[t].name) == ln && !strncmp(c->tasks[t].name, sel, ln))) continue;
        if (!c->tasks[t].plugin[0]) continue;
        plugin_entry *e = checker_open(pc, c->tasks[t].plugin);
        if (!e || !e->pl) return; /* the task check reports the plugin */
        bool has = false;
        for (int i = 0; i < e->pl->desc.n_metrics; i++)
            if (!strcmp(e->pl->desc.metrics[i].name, dot + 1)) {
                has = true;
                int d = e->pl->desc.metrics[i].higher_is_better ? 1 : 0;
                if (dir >= 0 && d != dir) mixed = true;
                dir = d;
            }
        found += has;
        if (!mean && !has) {
            char list[512];
            metric_list(e->pl, list, sizeof list);
            kgm_diag_add(dl, where, "evaluation.select: task '%s' (plugin %s) reports no metric '%s'; it reports: %s",
                         c->tasks[t].name, e->pl->desc.name, dot + 1, list);
        }
    }
    if (mean && !found)
        kgm_diag_add(dl, where, "evaluation.select: no task reports the metric '%s' that '%s' averages", dot + 1, sel);
    if (mean && mixed)
        kgm_diag_add(dl, where,
                     "evaluation.select: '%s' averages a metric that is higher-is-better for some tasks and "
                     "lower-is-better for others",
                     sel);
}
