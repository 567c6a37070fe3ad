/* core/plugin/host.h — the host side of the task-plugin ABI: loader, registry,
 * option validation, task instances and the backend the trainer supplies.
 *
 * A plugin (kgmtl/plugin.h) sees only an opaque kgm_task_ctx and the host API
 * table. This header defines that context for host code (trainer, CLI,
 * tests): the loaded plugin, the task instance's name, its validated option
 * values, its parameter group, its random stream, a log sink, and a BACKEND —
 * a small vtable through which the trainer answers the plugin's data and
 * encoder requests (host->count, split_rows, user_items, kg_true_tails, embed,
 * embed_all, represent). The host-table functions forward to the backend of
 * the calling ctx; a NULL backend member is reported as KGM_ERR_UNSUPPORTED.
 *
 * Typical use:
 *
 *     kgm_plugin_path sp;   kgm_plugin_path_init(&sp);
 *     kgm_plugin_path_add_env(&sp);                        // $KGMTL_PLUGIN_PATH
 *     kgm_plugin_path_add(&sp, build_dir); kgm_plugin_path_add(&sp, install_dir);
 *     kgm_plugin *pl;       kgm_plugin_open(&sp, "ctr", &pl);   // or a path to a .so
 *     kgm_task_ctx *t;      kgm_task_new(pl, "ctr", opts, n_opts, &cfg, &t);  // create()
 *     kgm_task_declare_params(t);  ... kgm_params_finalize ...
 *     kgm_task_forward_loss(t, tp, &batch, &loss);  kgm_task_eval(t, tp, split, values);
 *     kgm_task_free(t);     kgm_plugin_close(pl);       // tasks before their plugin
 *
 * Loading never calls into a plugin before its descriptor's abi_major and
 * struct_size have been checked, and every failure is a kgm_status whose
 * message names the file and the cause. */
#ifndef KGMTL_HOST_H
#define KGMTL_HOST_H

#include <stdio.h>

#include "core/tensor/params.h"
#include "kgmtl/plugin.h"
#include "core/base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Environment variable with extra plugin directories (colon-separated). */
#define KGM_PLUGIN_PATH_ENV "KGMTL_PLUGIN_PATH"

/* Size of the 1.0 descriptor up to its last callback: the smallest
 * struct_size the loader accepts. */
#define KGM_TASK_PLUGIN_MIN_SIZE offsetof(kgm_task_plugin, reserved)

/* ---- search path ------------------------------------------------------- */

/* An ordered list of directories searched for `<name>.so`. */
typedef struct kgm_plugin_path {
    char **dirs;
    int32_t n, cap;
} kgm_plugin_path;

/* Empty search path. */
void kgm_plugin_path_init(kgm_plugin_path *sp);
/* Free the directory strings. */
void kgm_plugin_path_destroy(kgm_plugin_path *sp);
/* Append one directory (ignored when NULL or empty; duplicates are kept once). */
kgm_status kgm_plugin_path_add(kgm_plugin_path *sp, const char *dir);
/* Append every entry of $KGMTL_PLUGIN_PATH (colon-separated, empty entries skipped). */
kgm_status kgm_plugin_path_add_env(kgm_plugin_path *sp);
/* The standard order: `explicit_dir` (may be NULL), $KGMTL_PLUGIN_PATH, the
 * build directory, the install directory (either may be NULL). The CLI passes
 * KGM_BUILD_PLUGIN_DIR / KGM_INSTALL_PLUGIN_DIR, which only it knows. */
kgm_status kgm_plugin_path_init_default(kgm_plugin_path *sp, const char *explicit_dir,
                                        const char *build_dir, const char *install_dir);

/* ---- loaded plugins ---------------------------------------------------- */

/* A plugin shared object, loaded and validated. `desc` is a zero-extended
 * copy of the plugin's descriptor (only the prefix its struct_size covers is
 * read), so host code may read every member of the host's kgm_task_plugin.
 * Its strings and arrays point into the shared object: a kgm_plugin must
 * outlive every task created from it. */
typedef struct kgm_plugin {
    char *path;              /* file that was loaded */
    void *handle;            /* dlopen handle */
    kgm_task_plugin desc;    /* validated descriptor (zero-extended copy) */
    uint32_t plugin_size;    /* the plugin's own struct_size */
    char *shadows;           /* kgm_plugin_open by name: a file of the same name in a later
                              * directory that this one hides (warned about), or NULL */
} kgm_plugin;

/* Load and validate the plugin in file `path`: the file must exist, be a
 * loadable shared object exporting kgm_task_entry, return a descriptor of ABI
 * major KGM_ABI_MAJOR whose struct_size is at least KGM_TASK_PLUGIN_MIN_SIZE,
 * and the descriptor must be well-formed (name [a-z0-9_]+, version, view and
 * input kind known, metric and option arrays present, option defaults valid
 * for their type and range, select_metric in range, every callback set). On
 * failure nothing stays loaded and the message names the file and the cause. */
kgm_status kgm_plugin_load_file(const char *path, kgm_plugin **out);

/* Resolve `name_or_path` and load it: a string containing '/' or ending in
 * ".so" is a file path; anything else is a plugin name looked up as
 * `<dir>/<name>.so` in the directories of `sp`, first match wins; a file of the
 * same name in a later directory is recorded in (*out)->shadows and warned
 * about on stderr. A name not found lists the directories searched (and a
 * close name when there is one). */
kgm_status kgm_plugin_open(const kgm_plugin_path *sp, const char *name_or_path, kgm_plugin **out);

/* dlclose and free (NULL is fine). */
void kgm_plugin_close(kgm_plugin *pl);

/* The host API table handed to every plugin (one static instance). */
const kgm_host_api *kgm_host_api_get(void);

/* Short names of descriptor enums, for listings ("interactions", "pair", ...). */
const char *kgm_view_name(int32_t view);
const char *kgm_input_name(int32_t input);
const char *kgm_opt_type_name(kgm_opt_type t);

/* ---- registry: everything on a search path ----------------------------- */

typedef struct kgm_registry_entry {
    char *name;         /* plugin name from the descriptor, or the file stem on failure */
    char *path;
    kgm_plugin *plugin; /* NULL when loading failed */
    kgm_status status;  /* KGM_OK or why loading failed */
    char *error;        /* message of the failure, or NULL */
    bool shadowed;      /* an earlier directory already provides this name */
} kgm_registry_entry;

typedef struct kgm_registry {
    kgm_registry_entry *e;
    int32_t n, cap;
} kgm_registry;

/* Load every `*.so` of every directory of `sp` (directories in order, files
 * sorted by name). Files that fail to load are listed with their error rather
 * than failing the scan; missing directories are skipped. */
kgm_status kgm_registry_scan(kgm_registry *reg, const kgm_plugin_path *sp);
/* The first loaded (not shadowed) entry named `name`, or NULL. */
const kgm_registry_entry *kgm_registry_find(const kgm_registry *reg, const char *name);
/* Close every plugin and free the entries. */
void kgm_registry_destroy(kgm_registry *reg);

/* ---- option values ----------------------------------------------------- */

/* One option given by the caller (manifest or command line): the value is
 * text, parsed with the schema's type; `where` (may be NULL) is the source
 * position used in messages, e.g. "manifest.yaml:12:5". */
typedef struct kgm_opt_kv {
    const char *name;
    const char *value;
    const char *where;
} kgm_opt_kv;

/* A parsed option value (one per schema entry, in schema order). */
typedef struct kgm_opt_value {
    kgm_opt_type type;
    int64_t i;      /* INT, BOOL (0/1) */
    double f;       /* FLOAT, and INT as double */
    char *s;        /* the text of the value (every type); STRING/ENUM content */
    const char *where; /* "default" or the caller's position (copied into `where_buf`) */
    char *where_buf;
} kgm_opt_value;

/* Parse and validate `opts` against the schema of `pl` into `vals`
 * (pl->desc.n_options entries, defaults filled for options not given). All
 * problems are collected — unknown name (with "did you mean"), given twice,
 * wrong type, out of range, not one of the choices — and reported together in
 * one KGM_ERR_ARG message, one line per problem, each prefixed by its
 * position. `vals` is freed with kgm_opt_values_free on success and failure. */
kgm_status kgm_opt_parse(const kgm_plugin *pl, const char *task_name, const kgm_opt_kv *opts,
                         int32_t n_opts, kgm_opt_value **vals);
void kgm_opt_values_free(kgm_opt_value *vals, int32_t n);

/* ---- task instances and the backend ----------------------------------- */

/* What the trainer provides to answer a task's data and encoder requests.
 * Every function receives `self` and the calling task's ctx (read
 * ctx->plugin->desc.view / .input and ctx->name to know which view and
 * representation are meant). Semantics are those of the same-named members of
 * kgm_host_api (kgmtl/plugin.h); in addition, for the SOCIAL view user_items
 * returns the friend lists (dst users of each src user) of the split. Arrays
 * returned by split_rows, user_items and kg_true_tails are owned by the
 * backend and stay valid and unchanged for the life of the task. Any member may be NULL
 * (the plugin then gets KGM_ERR_UNSUPPORTED, or count() == -1). */
typedef struct kgm_task_backend {
    void *self;
    int64_t (*count)(void *self, kgm_task_ctx *ctx, kgm_count_kind what);
    kgm_status (*split_rows)(void *self, kgm_task_ctx *ctx, kgm_split_id split, kgm_batch *out);
    kgm_status (*user_items)(void *self, kgm_task_ctx *ctx, kgm_split_id split, const int64_t **rowptr,
                             const int32_t **col);
    kgm_status (*kg_true_tails)(void *self, kgm_task_ctx *ctx, int32_t head, int32_t rel,
                                const int32_t **tails, int32_t *n);
    kgm_status (*embed)(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind, const int32_t *ids,
                        int32_t n, kgm_tensor **out /* (n, d) */);
    kgm_status (*embed_all)(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_kind kind,
                            kgm_tensor **out /* (count(kind), d) */);
    kgm_status (*represent)(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b,
                            kgm_tensor **h /* (b->n, H) */);
    /* May be NULL (no evaluation negatives); see kgm_host_api.eval_negatives. */
    kgm_status (*eval_negatives)(void *self, kgm_task_ctx *ctx, kgm_split_id split, int32_t *k,
                                 const int32_t **items /* (n, k) */);
} kgm_task_backend;

/* Where host->log lines go. `task` is the task instance name. */
typedef void (*kgm_log_sink)(void *user, kgm_log_level level, const char *task, const char *msg);

/* Settings of a task instance. */
typedef struct kgm_task_cfg {
    kgm_params *params;      /* store receiving the task's parameters (required) */
    int32_t param_group;     /* group of the task's parameters */
    uint64_t seed;           /* run seed: the task's rng stream is derived from (seed, name) */
    const kgm_task_backend *backend; /* may be NULL now and set later (kgm_task_set_backend) */
    kgm_log_sink log;        /* NULL: lines of level >= log_level go to stderr */
    void *log_user;
    kgm_log_level log_level; /* minimum level of the default sink (DEBUG, the zero
                              * value, means INFO there; a custom sink gets every line) */
} kgm_task_cfg;

#define KGM_TASK_MAX_PARAMS 256

/* The context handed to plugins as an opaque pointer (one per task instance). */
struct kgm_task_ctx {
    const kgm_plugin *plugin;
    const kgm_host_api *host;
    char *name;               /* task instance name, prefix of its parameter names */
    void *self;               /* the plugin's state from create() */
    kgm_opt_value *opts;      /* plugin->desc.n_options parsed values */
    kgm_params *params;
    int32_t param_group;
    int32_t n_params;
    int32_t param_ids[KGM_TASK_MAX_PARAMS]; /* ids declared by this task */
    kgm_rng rng;
    kgm_task_backend backend; /* copied; zeroed when none */
    kgm_log_sink log;
    void *log_user;
    kgm_log_level log_level;
    bool params_declared;
};

/* Create a task instance: validates `opts` (kgm_opt_parse), seeds the task's
 * rng, then calls the plugin's create(). `name` NULL means the plugin's name.
 * Errors of create() are wrapped with the task and file names. */
kgm_status kgm_task_new(const kgm_plugin *pl, const char *name, const kgm_opt_kv *opts, int32_t n_opts,
                        const kgm_task_cfg *cfg, kgm_task_ctx **out);
/* Install or replace the backend (copied). */
void kgm_task_set_backend(kgm_task_ctx *t, const kgm_task_backend *be);
/* Call declare_params() once (before the store is finalised). */
kgm_status kgm_task_declare_params(kgm_task_ctx *t);
/* forward_loss(): checks that the loss is a finite (1,1) tensor. */
kgm_status kgm_task_forward_loss(kgm_task_ctx *t, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss);
/* predict(). */
kgm_status kgm_task_predict(kgm_task_ctx *t, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out);
/* eval(): gradients and training mode are switched off during the call and
 * restored after it; `metrics` receives plugin->desc.n_metrics values. */
kgm_status kgm_task_eval(kgm_task_ctx *t, kgm_tape *tp, kgm_split_id split, double *metrics);
/* destroy() and free (NULL is fine). */
void kgm_task_free(kgm_task_ctx *t);

/* Typed access to a task's validated options from host code (same rules as
 * host->opt_*). */
const kgm_opt_value *kgm_task_option(const kgm_task_ctx *t, const char *name);

/* ---- descriptions (CLI) ------------------------------------------------ */

/* One line: "name  version  view  metrics  path". */
void kgm_plugin_print_line(FILE *f, const kgm_plugin *pl);
/* Multi-line description: description, view, input, loss form, options with
 * type/default/range/choices/help, metrics with ↑/↓ and the selection metric. */
void kgm_plugin_print_describe(FILE *f, const kgm_plugin *pl);

#ifdef __cplusplus
}
#endif
/* A kgm_metric_dir_fn (reports/report.h) that reads the direction from the plugin's metric
 * specs; `plugin_path` is a kgm_plugin_path *. Returns -1
 * when the plugin cannot be loaded or does not list the metric (a suffix
 * "@k" matches a spec of the same stem). */
int kgm_plugin_metric_direction(void *plugin_path, const char *plugin, const char *metric);

#endif
