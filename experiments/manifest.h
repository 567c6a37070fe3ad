/* experiments/manifest.h — experiment manifests: YAML → validated runs.
 *
 * A manifest (docs/manifest.md) describes ONE experiment: a base
 * configuration (sections dataset, encoder, mixer, tasks, optimisation,
 * evaluation, plus seed(s), output and published figures), optionally
 * inherited from another manifest with `base:`, and an `ablate:` block whose
 * axes (dotted key → list of values) are expanded as a grid (or zipped, or
 * one axis at a time from the baseline) and crossed with the seeds. Each (grid point, seed) is one run.
 *
 * Loading parses with libfyaml (event API, so every key and value keeps its
 * file:line:column), merges the `base:` chain, and validates EVERYTHING before
 * any run starts: unknown keys (with a "did you mean"), wrong types, values out
 * of range, bad enum values, ablation axes, cross-field rules, and — through a
 * caller-supplied per-task hook — unknown plugins and plugin options. All
 * problems are collected into a kgm_diag_list, one `file:line:column: message`
 * each.
 *
 * The keys map 1:1 onto kgm_run_config (core/train/config.h): dataset.* → data.*,
 * encoder.* → encoder.*, mixer.* → mixer.*, optimisation.* → train.*,
 * evaluation.* → eval.*. The table behind that mapping is public
 * (kgm_manifest_schema) so the documentation can be checked against it. */
#ifndef KGMTL_MANIFEST_H
#define KGMTL_MANIFEST_H

#include <stdio.h>

#include "core/train/config.h"
#include "core/base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- diagnostics ------------------------------------------------------------ */

/* One problem found in a manifest. `where` is "file:line:column" (1-based) or
 * just "file" when no position applies (e.g. a file that cannot be opened). */
typedef struct kgm_diag {
    char where[KGM_PATH + 32];
    char msg[512];
} kgm_diag;

/* A growable list of diagnostics (zero-initialise, then kgm_diag_list_destroy). */
typedef struct kgm_diag_list {
    kgm_diag *items;
    int32_t n, cap;
} kgm_diag_list;

/* Append "where: message" (identical entries are kept once). */
void kgm_diag_add(kgm_diag_list *dl, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sort by file (order of first appearance), line and column. */
void kgm_diag_sort(kgm_diag_list *dl);
/* Print one `where: message` line per diagnostic. */
void kgm_diag_print(const kgm_diag_list *dl, FILE *f);
/* Free the entries. */
void kgm_diag_list_destroy(kgm_diag_list *dl);
/* `msg` without the "file.c:123: " source prefix of kgmtl error messages, for
 * text shown to users (a pointer into msg). */
const char *kgm_diag_strip_source(const char *msg);

/* ---- schema ------------------------------------------------------------------ */

typedef enum kgm_key_type {
    KGM_KEY_INT = 1,      /* int32_t */
    KGM_KEY_U64 = 2,      /* uint64_t (seeds) */
    KGM_KEY_FLOAT = 3,    /* double */
    KGM_KEY_BOOL = 4,     /* bool: true/false (also yes/no, on/off) */
    KGM_KEY_STRING = 5,   /* char[size] */
    KGM_KEY_ENUM = 6,     /* char[size], one of `choices` */
    KGM_KEY_SPECIAL = 7   /* structural key handled by the loader (tasks, ablate, ...) */
} kgm_key_type;

/* Range flags. */
#define KGM_KEY_MIN_OPEN 1u /* value must be > min (else >= min) */
#define KGM_KEY_MAX_OPEN 2u /* value must be < max (else <= max) */
#define KGM_KEY_NAN_OK 4u   /* FLOAT: .nan is allowed (means "unset") */

/* One manifest key. Keys of task entries are spelled "tasks[].weight" and
 * their offset is into kgm_task_spec; all others are into kgm_run_config. */
typedef struct kgm_key_spec {
    const char *key;        /* dotted manifest key, e.g. "encoder.kg_hops" */
    kgm_key_type type;
    size_t offset;          /* into kgm_run_config (or kgm_task_spec for tasks[].*) */
    size_t size;            /* bytes of the field (capacity of strings) */
    const char *def;        /* documented default, as text */
    double min, max;        /* INT/U64/FLOAT range; unchecked when min > max */
    uint32_t flags;         /* KGM_KEY_* range flags */
    const char *choices;    /* ENUM: "a|b|c" */
    const char *doc;        /* one line */
} kgm_key_spec;

/* The whole schema in documentation order (sections, then task keys, then the
 * structural keys). */
const kgm_key_spec *kgm_manifest_schema(int32_t *n);
/* The spec of a dotted key ("encoder.kg", "tasks[].weight"), or NULL. */
const kgm_key_spec *kgm_manifest_key(const char *key);
/* Write "[min, max)"-style range text of a spec into buf ("" when none). */
void kgm_key_range_text(const kgm_key_spec *s, char *buf, size_t n);

/* ---- loading and expansion --------------------------------------------------- */

/* A per-task validation hook, called for every task of every expanded
 * configuration (the plugin host uses it to check that the plugin exists and
 * that the options match its schema). It reports problems with kgm_diag_add,
 * using t->where / t->opts[k].where as positions. */
typedef void (*kgm_task_check_fn)(void *user, const kgm_task_spec *t, kgm_diag_list *diags);

/* The plugin host's check, for kgm_manifest_opts.check_task: the plugin must
 * load from the search path and the options must pass its schema (unknown
 * option with "did you mean", type, range, choices), each problem at the
 * option's position. Plugins are opened once per checker and cached. */
typedef struct kgm_plugin_checker kgm_plugin_checker;
struct kgm_plugin_path;
kgm_status kgm_plugin_checker_new(const struct kgm_plugin_path *sp, kgm_plugin_checker **out);
void kgm_plugin_checker_free(kgm_plugin_checker *pc); /* closes the plugins; NULL is fine */
void kgm_plugin_check_task(void *checker, const kgm_task_spec *t, kgm_diag_list *diags);

/* A whole-configuration hook, called once per expanded configuration after the
 * task checks; `select_where` is the position of evaluation.select (or of the
 * manifest when the key is unset). */
typedef void (*kgm_config_check_fn)(void *user, const kgm_run_config *c, const char *select_where,
                                    kgm_diag_list *diags);

/* The plugin host's check of evaluation.select, for kgm_manifest_opts.check_config:
 * TASK.METRIC must name a metric that task's plugin reports, and mean.METRIC a
 * metric at least one task reports, with one direction (higher or lower is
 * better) over all of them. Uses the same plugin cache as kgm_plugin_check_task. */
void kgm_plugin_check_select(void *checker, const kgm_run_config *c, const char *select_where, kgm_diag_list *diags);

typedef struct kgm_manifest_opts {
    const char *output;          /* override the manifest's `output:` (NULL = keep) */
    kgm_task_check_fn check_task; /* may be NULL */
    kgm_config_check_fn check_config; /* may be NULL; same user pointer */
    void *check_user;
} kgm_manifest_opts;

/* One ablation axis. */
typedef struct kgm_plan_axis {
    char key[128];          /* dotted key as written */
    char label[160];        /* short name used in run names ("kg", "weighting") */
    int32_t n_values;
    char **values;          /* value texts as written */
} kgm_plan_axis;

/* One run: grid point × seed. */
typedef struct kgm_plan_run {
    char group[128];        /* readable name of the grid point ("kg=false,weighting=equal";
                               one_at_a_time: "baseline", "kg=false", ...) */
    char dir[KGM_PATH];     /* output directory of the run */
    char rel[KGM_PATH];     /* the same, relative to the experiment's output */
    uint64_t seed;
    int32_t point;          /* grid point index (0 = baseline) */
    bool baseline;          /* first grid point */
} kgm_plan_run;

/* The expanded experiment. Runs are ordered point-major, seeds inner. */
typedef struct kgm_plan {
    char title[128];        /* `name:` or the manifest's file stem */
    char description[512];
    char manifest[KGM_PATH];
    char output[KGM_PATH];  /* experiment output directory */
    bool zip;               /* ablate_mode: zip */
    bool one_at_a_time;     /* ablate_mode: one_at_a_time */
    int32_t n_axes;
    kgm_plan_axis *axes;
    int32_t n_points;
    int32_t n_seeds;
    uint64_t *seeds;
    int32_t n_runs;
    kgm_plan_run *runs;
} kgm_plan;

typedef struct kgm_manifest kgm_manifest;

/* Load, merge (`base:`), validate and expand the manifest at `path`. Every
 * problem is appended to `diags`; the status is KGM_ERR_ARG ("N problems in
 * MANIFEST") when there is any, and *out is then NULL. `opts` may be NULL. */
kgm_status kgm_manifest_load(const char *path, const kgm_manifest_opts *opts, kgm_diag_list *diags,
                             kgm_manifest **out);
/* Free (NULL is fine). */
void kgm_manifest_free(kgm_manifest *m);
/* The expanded plan (owned by the manifest). */
const kgm_plan *kgm_manifest_plan(const kgm_manifest *m);
/* The full configuration of run `i` (0 <= i < plan->n_runs): the base
 * configuration with the run's axis values, seed, name and output applied. */
kgm_status kgm_manifest_materialize(const kgm_manifest *m, int32_t i, kgm_run_config *out);

#ifdef __cplusplus
}
#endif
#endif
