/* The training loop: set-up from a configuration, joint / alternating steps,
 * validation, best-model selection, checkpoints, final test evaluation. */
#include "core/train/trainer.h"

#include <errno.h>
#include <math.h>
#include <cblas.h>
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/train/checkpoint_internal.h"
#include "kgmtl/kgmtl.h"
#include "core/base/rng.h"
#include "core/train/rundir.h"
#include "core/train/trainer_internal.h"

/* ---- small utilities ----------------------------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = (b->cap + (size_t)k + 1) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns) return;
        b->s = ns;
        b->cap = nc;
    }
}

/* Flush a finished file to disk (end of run). */
static void fsync_path(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fsync(fileno(f));
    fclose(f);
}

static kgm_status mkdir_p(const char *path) {
    char buf[KGM_PATH];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) return KGM_ERR(KGM_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return KGM_ERR(KGM_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
    return KGM_OK;
}

static void out_path(char *buf, size_t n, const kgm_run_config *cfg, const char *name) {
    snprintf(buf, n, "%s/%s", cfg->output, name);
}

#define tlog kgm_trainer_log
void kgm_trainer_log(kgm_trainer *tr, const char *fmt, ...) {
    if (!tr->log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(tr->log, fmt, ap);
    va_end(ap);
    fputc('\n', tr->log);
    fflush(tr->log);
}

static void plugin_log(void *user, kgm_log_level level, const char *task, const char *msg) {
    kgm_trainer *tr = user;
    static const char *lv[] = {"debug", "info", "warn", "error"};
    if (tr->log) {
        fprintf(tr->log, "[%s] %s: %s\n", lv[level & 3], task, msg);
        fflush(tr->log);
    }
    if (level >= KGM_LOG_WARN) fprintf(stderr, "kgmtl: %s: %s\n", task, msg);
}

/* ---- set-up ---------------------------------------------------------------------------- */

void kgm_trainer_destroy(kgm_trainer *tr) {
    for (int k = 0; k < tr->n_tasks; k++) {
        kgm_task_free(tr->t[k].ctx);
        kgm_plugin_close(tr->t[k].pl);
        kgm_view_destroy(&tr->t[k].view);
        free(tr->t[k].perm);
        free(tr->t[k].cold_split.row);
        free(tr->t[k].cold_split.user);
        free(tr->t[k].cold_split.item);
        free(tr->t[k].cold_split.label);
        free(tr->t[k].cold_split.label2);
        free(tr->t[k].cold_split.up_ptr);
        free(tr->t[k].cold_split.up_col);
        free(tr->t[k].cold_split.neg);
    }
    kgm_encoder_destroy(&tr->enc);
    kgm_optim_free(tr->opt);
    kgm_params_free(tr->ps);
    kgm_tape_free(tr->tp);
    kgm_plugin_path_destroy(&tr->sp);
    kgm_dataset_destroy(&tr->ds);
    free(tr->kg_h);
    free(tr->kg_r);
    free(tr->kg_t);
    free(tr->cold_users);
    free(tr->cold_items);
}

static kgm_status parse_optim(const kgm_train_cfg *c, kgm_optim_cfg *o) {
    kgm_optim_kind k;
    if (strcmp(c->optimizer, "adam") == 0) k = KGM_OPT_ADAM;
    else if (strcmp(c->optimizer, "adamw") == 0) k = KGM_OPT_ADAMW;
    else if (strcmp(c->optimizer, "sgd") == 0) k = KGM_OPT_SGD;
    else if (strcmp(c->optimizer, "adagrad") == 0) k = KGM_OPT_ADAGRAD;
    else return KGM_ERR(KGM_ERR_ARG, "unknown optimisation.optimizer '%s' (adam, adamw, sgd, adagrad)", c->optimizer);
    *o = kgm_optim_defaults(k);
    o->lr = (float)c->lr;
    o->weight_decay = (float)c->weight_decay;
    o->momentum = (float)c->momentum;
    o->clip_norm = (float)c->clip_norm;
    return KGM_OK;
}

static int find_task(const kgm_trainer *tr, const char *name, size_t len) {
    for (int k = 0; k < tr->n_tasks; k++)
        if (strlen(tr->t[k].ctx->name) == len && strncmp(tr->t[k].ctx->name, name, len) == 0) return k;
    return -1;
}

/* Cross-task components that couple tasks need the tasks to see the same rows. */
static kgm_status require_same_stream(const kgm_trainer *tr, int a, int b, const char *what) {
    if (tr->t[a].stream != tr->t[b].stream)
        return KGM_ERR(KGM_ERR_ARG, "%s: tasks '%s' and '%s' do not train on the same rows (different views or batch sizes)",
                       what, tr->t[a].ctx->name, tr->t[b].ctx->name);
    return KGM_OK;
}

static kgm_status setup_cross_task(kgm_trainer *tr) {
    const kgm_run_config *cfg = tr->cfg;
    /* mixer connections "from>to[:kind];..." */
    if (cfg->mixer.connections[0]) {
        if (!tr->has_mixer) return KGM_ERR(KGM_ERR_ARG, "mixer.connections needs tasks that use the mixer");
        char buf[KGM_STR];
        snprintf(buf, sizeof buf, "%s", cfg->mixer.connections);
        for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
            while (*tok == ' ') tok++;
            char *gt = strchr(tok, '>');
            if (!gt) return KGM_ERR(KGM_ERR_ARG, "mixer.connections: expected \"from>to[:kind]\", found \"%s\"", tok);
            char *colon = strchr(gt, ':');
            kgm_connection_kind kind = KGM_CONN_AITM;
            if (colon) {
                *colon = 0;
                KGM_TRY(kgm_connection_kind_parse(colon + 1, &kind));
            }
            int a = find_task(tr, tok, (size_t)(gt - tok)), b = find_task(tr, gt + 1, strlen(gt + 1));
            if (a < 0 || b < 0) return KGM_ERR(KGM_ERR_ARG, "mixer.connections: unknown task in \"%s\"", tok);
            if (tr->t[a].slot < 0 || tr->t[b].slot < 0)
                return KGM_ERR(KGM_ERR_ARG, "mixer.connections: '%s' and '%s' must both use the mixer", tr->t[a].ctx->name,
                               tr->t[b].ctx->name);
            KGM_TRY(require_same_stream(tr, a, b, "mixer.connections"));
            KGM_TRY(kgm_mixer_add_connection(&tr->mix, kind, tr->t[a].slot, tr->t[b].slot, tr->ps, KGM_GROUP_TASK0 + b));
        }
    }
    if (tr->has_mixer && tr->mix.kind == KGM_MIXER_CROSS_STITCH) {
        int first = -1;
        for (int k = 0; k < tr->n_tasks; k++) {
            if (tr->t[k].slot < 0) continue;
            if (first < 0) first = k;
            else KGM_TRY(require_same_stream(tr, first, k, "mixer.kind cross_stitch"));
        }
    }
    /* consistency regularisation */
    for (int k = 0; k < tr->n_tasks; k++) {
        kgm_run_task *t = &tr->t[k];
        t->cons_with = -1;
        const char *w = t->spec->consistency_with;
        if (!w[0]) continue;
        int j = find_task(tr, w, strlen(w));
        if (j < 0 || j == k) return KGM_ERR(KGM_ERR_ARG, "task '%s': consistency_with names no other task ('%s')", t->ctx->name, w);
        KGM_TRY(require_same_stream(tr, j, k, "consistency"));
        kgm_consistency_distance d;
        KGM_TRY(kgm_consistency_distance_parse(t->spec->consistency_distance, &d));
        t->cons = kgm_consistency_defaults(d);
        t->cons.weight = (float)t->spec->consistency_weight;
        t->cons.logits = false; /* plugins' predict() returns probabilities / values */
        t->cons_with = j;
    }
    return KGM_OK;
}

static bool same_rows(const kgm_view_split *a, const kgm_view_split *b) {
    if (a->n != b->n) return false;
    if (a->row && b->row && memcmp(a->row, b->row, (size_t)a->n * sizeof(int64_t)) != 0) return false;
    if ((a->user == NULL) != (b->user == NULL) || (a->item == NULL) != (b->item == NULL)) return false;
    if (a->user && memcmp(a->user, b->user, (size_t)a->n * sizeof(int32_t))) return false;
    if (a->item && memcmp(a->item, b->item, (size_t)a->n * sizeof(int32_t))) return false;
    return true;
}

kgm_status kgm_trainer_setup(kgm_trainer *tr, const kgm_run_config *cfg, const kgm_train_opts *opts) {
    tr->cfg = cfg;
    if (cfg->n_tasks < 1 || cfg->n_tasks > KGM_MAX_TASKS) return KGM_ERR(KGM_ERR_ARG, "a run needs 1..%d tasks, found %d", KGM_MAX_TASKS, cfg->n_tasks);
    if (cfg->train.threads > 0) kgm_set_threads(cfg->train.threads);
    /* The model's matrices are small: OpenBLAS's own threads would only spin
     * against the OpenMP kernels (measured: most of the run in sched_yield),
     * so BLAS runs single-threaded inside training; kernels use OpenMP. */
    openblas_set_num_threads(1);
    bool implied;
    KGM_TRY(kgm_weighting_resolve(cfg, &tr->weighting, &implied));
    tlog(tr, "weighting: %s%s", kgm_weighting_name(tr->weighting),
         implied ? " (optimisation.weighting not set and a tasks[].weight is not 1)" : "");
    bool alternating = strcmp(cfg->train.mode, "alternating") == 0;
    if (!alternating && strcmp(cfg->train.mode, "joint") != 0) return KGM_ERR(KGM_ERR_ARG, "unknown optimisation.mode '%s' (joint, alternating)", cfg->train.mode);
    bool per_epoch = strcmp(cfg->train.schedule, "every_epoch") == 0;
    if (per_epoch && (!alternating || cfg->train.steps_per_epoch > 0))
        return KGM_ERR(KGM_ERR_ARG, "optimisation.schedule every_epoch needs mode alternating and no steps_per_epoch "
                                    "(an epoch is a full pass of each due task)");
    if (alternating && (tr->weighting == KGM_W_GRADNORM || tr->weighting == KGM_W_PCGRAD))
        return KGM_ERR(KGM_ERR_ARG, "optimisation.weighting '%s' needs optimisation.mode joint", cfg->train.weighting);
    if (cfg->train.epochs < 1 || cfg->train.batch_size < 1) return KGM_ERR(KGM_ERR_ARG, "optimisation.epochs and batch_size must be >= 1");
    kgm_rng_init(&tr->rng_order, cfg->seed, kgm_rng_stream_id("trainer-order", 0));
    kgm_rng_init(&tr->rng_drop, cfg->seed, kgm_rng_stream_id("trainer-dropout", 0));
    KGM_TRY(kgm_trainer_open_data(tr));
    tlog(tr, "data: %d users, %d items, %lld interactions, %lld KG triples, %lld social edges, %lld tabular rows",
         tr->ds.users.count, tr->ds.items.count, (long long)tr->ds.inter.n, (long long)tr->ds.kg.n, (long long)tr->ds.social.n,
         (long long)tr->ds.tabular.rows);
    KGM_TRY(kgm_params_new(&tr->ps));
    /* plugins */
    kgm_plugin_path_init(&tr->sp);
    for (int i = 0; opts && i < 8 && opts->plugin_dirs[i]; i++) KGM_TRY(kgm_plugin_path_add(&tr->sp, opts->plugin_dirs[i]));
    KGM_TRY(kgm_plugin_path_add_env(&tr->sp));
    const char *bd = getenv("KGMTL_BUILD_DIR");
    if (bd) {
        char p[KGM_PATH];
        snprintf(p, sizeof p, "%s/plugins", bd);
        KGM_TRY(kgm_plugin_path_add(&tr->sp, p));
    }
    tr->n_tasks = cfg->n_tasks;
    for (int k = 0; k < cfg->n_tasks; k++) {
        kgm_run_task *t = &tr->t[k];
        const kgm_task_spec *sp = &cfg->tasks[k];
        t->tr = tr;
        t->index = k;
        t->spec = sp;
        t->slot = -1;
        t->batch = sp->batch_size > 0 ? sp->batch_size : cfg->train.batch_size;
        KGM_TRY(kgm_plugin_open(&tr->sp, opts && opts->plugin_files[k] ? opts->plugin_files[k] : sp->plugin, &t->pl));
        kgm_opt_kv kv[KGM_MAX_TASK_OPTS];
        for (int i = 0; i < sp->n_opts; i++) kv[i] = (kgm_opt_kv){sp->opts[i].key, sp->opts[i].value, sp->opts[i].where[0] ? sp->opts[i].where : NULL};
        kgm_task_backend be = kgm_trainer_backend;
        be.self = t;
        kgm_task_cfg tc = {.params = tr->ps, .param_group = KGM_GROUP_TASK0 + k, .seed = cfg->seed, .backend = &be,
                           .log = plugin_log, .log_user = tr, .log_level = KGM_LOG_INFO};
        KGM_TRY(kgm_task_new(t->pl, sp->name[0] ? sp->name : NULL, kv, sp->n_opts, &tc, &t->ctx));
    }
    KGM_TRY(kgm_trainer_build_views(tr));
    for (int k = 0; k < tr->n_tasks; k++)
        if (strcmp(cfg->tasks[k].split, "none") == 0)
            tlog(tr, "task '%s': split none: trains on all %lld rows; it has no valid/test rows, so its metrics are not "
                     "reported and it takes no part in model selection", tr->t[k].ctx->name, (long long)tr->t[k].view.s[0].n);
    /* streams: tasks whose training rows coincide share batches */
    for (int k = 0; k < tr->n_tasks; k++) {
        tr->t[k].stream = k;
        for (int j = 0; j < k; j++)
            if (tr->t[j].view.tabular == tr->t[k].view.tabular && tr->t[j].batch == tr->t[k].batch &&
                same_rows(&tr->t[j].view.s[0], &tr->t[k].view.s[0])) {
                tr->t[k].stream = tr->t[j].stream;
                break;
            }
    }
    /* encoder: looks only at training rows */
    bool tabular = tr->ds.tabular.rows > 0 && tr->ds.inter.n == 0;
    const char *excl[2 * KGM_MAX_TASKS + 2 + KGM_MAX_EXCLUDED_COLUMNS];
    char excl_src[KGM_MAX_TASKS][sizeof cfg->tasks[0].label];
    int ne = 0;
    for (int k = 0; k < tr->n_tasks; k++)
        if (cfg->tasks[k].label[0]) {
            excl[ne++] = cfg->tasks[k].label;
            size_t n = kgm_label_source(&tr->ds.tabular, cfg->tasks[k].label); /* COLUMN=LEVELS: COLUMN too */
            snprintf(excl_src[k], sizeof excl_src[k], "%.*s", (int)n, cfg->tasks[k].label);
            excl[ne++] = excl_src[k];
        }
    excl[ne++] = "split";
    KGM_TRY(kgm_tabular_exclude_columns(&tr->ds.tabular, cfg->data.exclude_columns, excl, ne + KGM_MAX_EXCLUDED_COLUMNS, &ne));
    excl[ne] = NULL;
    const int64_t *train_rows = tr->ds.split.train;
    int64_t n_train = tr->ds.split.n_train;
    if (tabular) {
        train_rows = tr->t[0].view.s[0].row;
        n_train = tr->t[0].view.s[0].n;
    }
    KGM_TRY(kgm_encoder_build(&tr->enc, &cfg->encoder, &tr->ds, train_rows, n_train, excl, tr->ps));
    /* mixer slots for tasks with PAIR / TABULAR inputs */
    for (int k = 0; k < tr->n_tasks; k++) {
        int32_t in = tr->t[k].pl->desc.input;
        if (in == KGM_INPUT_PAIR || in == KGM_INPUT_TABULAR || (tabular && tr->t[k].view.tabular)) tr->t[k].slot = tr->n_slots++;
    }
    if (tr->n_slots > 0) {
        int32_t in_dim = tabular ? kgm_encoder_tab_dim(&tr->enc) : kgm_encoder_pair_dim(&tr->enc);
        int32_t first = tr->ps->n;
        KGM_TRY(kgm_mixer_declare(&tr->mix, &cfg->mixer, in_dim, tr->n_slots, tr->ps, KGM_GROUP_TASK0));
        tr->has_mixer = true;
        /* the mixer's groups are per slot: map slot -> the owning task's group (lr_mult) */
        for (int32_t i = first; i < tr->ps->n; i++)
            for (int k = 0; k < tr->n_tasks; k++)
                if (tr->ps->p[i].group >= KGM_GROUP_TASK0 && tr->t[k].slot == tr->ps->p[i].group - KGM_GROUP_TASK0) {
                    tr->ps->p[i].group = KGM_GROUP_TASK0 + k;
                    break;
                }
    }
    KGM_TRY(setup_cross_task(tr));
    for (int k = 0; k < tr->n_tasks; k++) KGM_TRY(kgm_task_declare_params(tr->t[k].ctx));
    KGM_TRY(kgm_weighting_declare(tr));
    KGM_TRY(kgm_params_finalize(tr->ps, cfg->seed));
    KGM_TRY(kgm_encoder_after_finalize(&tr->enc, tr->ps));
    tr->gn_param = tr->has_mixer ? kgm_mixer_last_shared(&tr->mix) : -1;
    /* frozen parameter prefixes */
    if (cfg->train.frozen[0]) {
        char buf[KGM_STR];
        snprintf(buf, sizeof buf, "%s", cfg->train.frozen);
        for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
            int hits = 0;
            for (int32_t i = 0; i < tr->ps->n; i++)
                if (strncmp(tr->ps->p[i].name, tok, strlen(tok)) == 0) {
                    tr->ps->p[i].t.flags |= KGM_TENSOR_FROZEN;
                    tr->ps->p[i].t.grad = NULL;
                    hits++;
                }
            if (!hits) return KGM_ERR(KGM_ERR_ARG, "optimisation.frozen: no parameter starts with '%s'", tok);
        }
    }
    kgm_optim_cfg oc;
    KGM_TRY(parse_optim(&cfg->train, &oc));
    KGM_TRY(kgm_optim_new(tr->ps, &oc, &tr->opt));
    /* joint: tasks[].lr_mult scales the task's own parameters (alternating: its whole step) */
    for (int k = 0; k < tr->n_tasks && !alternating; k++)
        KGM_TRY(kgm_optim_set_group_lr(tr->opt, KGM_GROUP_TASK0 + k, (float)cfg->tasks[k].lr_mult));
    KGM_TRY(kgm_tape_new((size_t)(cfg->train.arena_mb > 0 ? cfg->train.arena_mb : 256) << 20, &tr->tp));
    tlog(tr, "model: %d parameter tensors, %zu values; %d tasks, %d mixer slots", tr->ps->n, tr->ps->total, tr->n_tasks, tr->n_slots);
    tlog(tr, "threads: %d OpenMP thread%s, arena %d MiB", kgm_get_threads(), kgm_get_threads() == 1 ? "" : "s",
         cfg->train.arena_mb);
    return KGM_OK;
}

/* ---- one step -------------------------------------------------------------------------- */

static void begin_step(kgm_trainer *tr) {
    kgm_tape_reset(tr->tp);
    kgm_encoder_begin_step(&tr->enc);
    tr->cache_rows = NULL;
    memset(tr->cache_out, 0, sizeof tr->cache_out);
}

/* Rows of the next training batch of task k's stream (shared streams advance once per step). */
static const int64_t *next_rows(kgm_trainer *tr, kgm_run_task *t, int64_t step, int32_t *n_out) {
    kgm_run_task *owner = &tr->t[t->stream];
    int64_t n = owner->view.s[0].n;
    int32_t B = owner->batch;
    if (B > n) B = (int32_t)n;
    int64_t start = (step * B) % n;
    if (start + B > n) start = n - B; /* last partial window: keep full batches */
    *n_out = B;
    return owner->perm + start;
}

static kgm_status forward_rows(kgm_trainer *tr, kgm_run_task *t, const int64_t *rows, int32_t n) {
    kgm_batch b;
    KGM_TRY(kgm_trainer_make_batch(tr, t, &t->view.s[0], KGM_SPLIT_TRAIN, rows, n, &b));
    /* Tasks sharing a stream must see the same row pointer for the mixer cache. */
    if (t->stream != t->index) {
        kgm_run_task *owner = &tr->t[t->stream];
        if (tr->cache_rows && tr->cache_stream == t->stream && owner->view.s[0].n == t->view.s[0].n) b.row = tr->cache_rows;
    }
    int32_t in = t->pl->desc.input;
    if (in != KGM_INPUT_NONE) KGM_TRY(kgm_trainer_represent(tr, t, tr->tp, &b, &b.h));
    KGM_TRY(kgm_task_forward_loss(t->ctx, tr->tp, &b, &t->loss));
    t->last_b = b;
    if (!isfinite(t->loss->data[0]))
        return KGM_ERR(KGM_ERR_NUMERIC, "step %lld: task '%s' produced a non-finite loss (%g)", (long long)tr->step, t->spec->name,
                       (double)t->loss->data[0]);
    t->last_loss = t->loss->data[0];
    t->loss_sum += t->loss->data[0];
    t->loss_n++;
    tr->samples += n;
    return KGM_OK;
}

static kgm_status forward_task(kgm_trainer *tr, kgm_run_task *t, int64_t step) {
    int32_t n;
    const int64_t *rows = next_rows(tr, t, step, &n);
    return forward_rows(tr, t, rows, n);
}

static kgm_status optimiser_step(kgm_trainer *tr, float lr_scale) {
    kgm_status st = kgm_optim_step(tr->opt, lr_scale, NULL);
    if (st) return kgm_error_wrap(st, "step %lld", (long long)tr->step);
    kgm_params_zero_grad(tr->ps);
    return KGM_OK;
}

static void log_weights_step(kgm_trainer *tr, sbuf *wcsv, const bool *active) {
    for (int k = 0; k < tr->n_tasks; k++) {
        if (!active[k]) continue;
        kgm_run_task *t = &tr->t[k];
        t->w_sum += t->weight;
        t->w_n++;
        if (tr->cfg->train.log_steps && wcsv)
            sb_add(wcsv, "%lld,%d,%s,%.6g,%.6g\n", (long long)tr->step, tr->epoch, t->spec->name, t->weight, t->last_loss);
    }
}

static kgm_status train_step(kgm_trainer *tr, sbuf *wcsv) {
    const kgm_train_cfg *c = &tr->cfg->train;
    bool active[KGM_MAX_TASKS] = {0};
    int T = tr->n_tasks;
    if (strcmp(c->mode, "joint") == 0) {
        begin_step(tr);
        for (int k = 0; k < T; k++) {
            active[k] = true;
            KGM_TRY(forward_task(tr, &tr->t[k], tr->step));
        }
        /* consistency: penalise disagreement with the partner task on the same rows */
        for (int k = 0; k < T; k++) {
            kgm_run_task *t = &tr->t[k];
            if (t->cons_with < 0) continue;
            kgm_run_task *o = &tr->t[t->cons_with];
            kgm_tensor *pa, *pb, *pen;
            KGM_TRY(kgm_task_predict(o->ctx, tr->tp, &o->last_b, &pa));
            KGM_TRY(kgm_task_predict(t->ctx, tr->tp, &t->last_b, &pb));
            if (pa->cols != pb->cols)
                return KGM_ERR(KGM_ERR_SHAPE, "consistency: outputs of '%s' (%d cols) and '%s' (%d cols) differ", o->ctx->name,
                               pa->cols, t->ctx->name, pb->cols);
            KGM_TRY(kgm_consistency_penalty(tr->tp, &t->cons, pa, pb, &pen));
            KGM_TRY(kgm_op_add(tr->tp, t->loss, pen, &t->loss));
        }
        KGM_TRY(kgm_weighting_backward(tr, active));
        KGM_TRY(optimiser_step(tr, 1.0f));
        log_weights_step(tr, wcsv, active);
        return KGM_OK;
    }
    if (strcmp(c->schedule, "every_epoch") == 0) { /* one batch of the epoch's passes (trainer_schedule.c) */
        int32_t k, n;
        int64_t start;
        if (!kgm_schedule_epoch_locate(tr, tr->epoch, tr->epoch_step++, &k, &start, &n))
            return KGM_ERR(KGM_ERR_STATE, "epoch %d has no step %lld", tr->epoch, (long long)tr->epoch_step - 1);
        kgm_run_task *t = &tr->t[k];
        active[k] = true;
        begin_step(tr);
        KGM_TRY(forward_rows(tr, t, tr->t[t->stream].perm + start, n));
        KGM_TRY(kgm_weighting_backward(tr, active));
        KGM_TRY(optimiser_step(tr, (float)t->spec->lr_mult));
        log_weights_step(tr, wcsv, active);
        return KGM_OK;
    }
    /* alternating: each scheduled task takes its own optimiser step */
    for (int k = 0; k < T; k++) {
        kgm_run_task *t = &tr->t[k];
        bool run = strcmp(c->schedule, "every") == 0 ? (tr->step % (t->spec->every > 0 ? t->spec->every : 1)) == 0
                                                      : (tr->step % T) == k;
        if (!run) continue;
        bool one[KGM_MAX_TASKS] = {0};
        one[k] = true;
        active[k] = true;
        begin_step(tr);
        KGM_TRY(forward_task(tr, t, tr->step));
        KGM_TRY(kgm_weighting_backward(tr, one));
        KGM_TRY(optimiser_step(tr, (float)t->spec->lr_mult));
    }
    log_weights_step(tr, wcsv, active);
    return KGM_OK;
}

kgm_status kgm_trainer_alloc_perms(kgm_trainer *tr) {
    for (int k = 0; k < tr->n_tasks; k++) {
        kgm_run_task *t = &tr->t[k];
        if (t->stream != k) continue;
        t->perm = malloc((size_t)t->view.s[0].n * sizeof *t->perm + 1);
        if (!t->perm) return KGM_ERR(KGM_ERR_NOMEM, "permutation");
    }
    return KGM_OK;
}

void kgm_trainer_begin_epoch(kgm_trainer *tr) {
    tr->epoch_step = 0;
    for (int k = 0; k < tr->n_tasks; k++) {
        kgm_run_task *t = &tr->t[k];
        t->loss_sum = t->w_sum = 0;
        t->loss_n = t->w_n = 0;
        if (t->stream == k) {
            int64_t n = t->view.s[0].n;
            for (int64_t i = 0; i < n; i++) t->perm[i] = i;
            for (int64_t i = n - 1; i > 0; i--) { /* Fisher–Yates on int64 */
                int64_t j = (int64_t)kgm_rng_below(&tr->rng_order, (uint64_t)i + 1), x = t->perm[i];
                t->perm[i] = t->perm[j];
                t->perm[j] = x;
            }
        }
    }
}

kgm_status kgm_trainer_step(kgm_trainer *tr) {
    kgm_status st = train_step(tr, NULL);
    tr->step++;
    return st;
}

/* ---- evaluation ----------------------------------------------------------------------- */

static kgm_status split_loss(kgm_trainer *tr, kgm_run_task *t, int split, double *out) {
    const kgm_view_split *vs = &t->view.s[split];
    double acc = 0;
    int64_t cnt = 0;
    kgm_tape_set_grad(tr->tp, false);
    kgm_tape_set_training(tr->tp, false);
    kgm_status st = KGM_OK;
    int64_t *idx = malloc((size_t)(t->batch > 0 ? t->batch : 1) * sizeof *idx);
    if (!idx) st = KGM_ERR(KGM_ERR_NOMEM, "eval rows");
    for (int64_t s = 0; s < vs->n && !st; s += t->batch) {
        int32_t n = (int32_t)(vs->n - s < t->batch ? vs->n - s : t->batch);
        for (int32_t i = 0; i < n; i++) idx[i] = s + i;
        begin_step(tr);
        kgm_batch b;
        st = kgm_trainer_make_batch(tr, t, vs, split, idx, n, &b);
        if (!st && t->pl->desc.input != KGM_INPUT_NONE) st = kgm_trainer_represent(tr, t, tr->tp, &b, &b.h);
        kgm_tensor *l = NULL;
        if (!st) st = kgm_task_forward_loss(t->ctx, tr->tp, &b, &l);
        if (!st) {
            acc += (double)l->data[0] * n;
            cnt += n;
        }
    }
    free(idx);
    kgm_tape_set_grad(tr->tp, true);
    kgm_tape_set_training(tr->tp, true);
    *out = cnt ? acc / (double)cnt : NAN;
    return st;
}

static kgm_status eval_task(kgm_trainer *tr, kgm_run_task *t, kgm_split_id split, double *m) {
    begin_step(tr);
    t->neg_asked = false;
    kgm_status st = kgm_task_eval(t->ctx, tr->tp, split, m);
    begin_step(tr);
    /* Stored negatives a ranking task never read would leave full-ranking
     * numbers under a sampled-protocol configuration. */
    if (!st && t->view.s[split].neg && !t->neg_asked)
        st = KGM_ERR(KGM_ERR_UNSUPPORTED,
                     "dataset.eval_negatives = %d: task '%s' (plugin %s) ranks the implicit view but does not read the "
                     "stored evaluation negatives (host->eval_negatives, ABI 1.2); set dataset.eval_negatives: 0",
                     tr->cfg->data.eval_negatives, t->ctx->name, t->pl->desc.name);
    return st;
}

static void add_metric_rows(kgm_trainer *tr, sbuf *mcsv, int epoch, const char *split, const char *task,
                            const kgm_run_task *t, const double *m) {
    for (int i = 0; i < t->pl->desc.n_metrics; i++)
        sb_add(mcsv, "%d,%s,%s,%s,%.10g\n", epoch, split, task, t->pl->desc.metrics[i].name, m[i]);
    (void)tr;
}

/* Task fusion (evaluation.fusion): score the split's rows by fusing the
 * listed tasks' predictions and report the AUC against the first task's labels. */
static kgm_status eval_fusion(kgm_trainer *tr, kgm_split_id split, double *auc) {
    const kgm_eval_cfg *ec = &tr->cfg->eval;
    int ids[KGM_MAX_TASKS], n = 0;
    char buf[KGM_STR];
    snprintf(buf, sizeof buf, "%s", ec->fusion_tasks);
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int k = find_task(tr, tok, strlen(tok));
        if (k < 0) return KGM_ERR(KGM_ERR_ARG, "evaluation.fusion_tasks: no task '%s'", tok);
        if (n && tr->t[k].stream != tr->t[ids[0]].stream)
            return KGM_ERR(KGM_ERR_ARG, "evaluation.fusion_tasks: '%s' does not score the same rows as '%s'", tok, tr->t[ids[0]].ctx->name);
        ids[n++] = k;
    }
    if (n < 2) return KGM_ERR(KGM_ERR_ARG, "evaluation.fusion needs at least two tasks in evaluation.fusion_tasks");
    kgm_fusion_kind kind;
    KGM_TRY(kgm_fusion_kind_parse(ec->fusion, &kind));
    kgm_fusion_cfg fc = kgm_fusion_defaults(kind, n);
    if (ec->fusion_weights[0]) {
        snprintf(buf, sizeof buf, "%s", ec->fusion_weights);
        int i = 0;
        for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok && i < n; tok = strtok_r(NULL, ", ", &save))
            fc.coef[i++] = (float)strtod(tok, NULL);
        if (i != n) return KGM_ERR(KGM_ERR_ARG, "evaluation.fusion_weights: expected %d numbers", n);
    }
    kgm_fusion f;
    KGM_TRY(kgm_fusion_declare(&f, &fc, "fusion", NULL, 0));
    const kgm_view_split *vs = &tr->t[ids[0]].view.s[split];
    int64_t N = vs->n;
    float *sc = malloc(((size_t)N + 1) * (size_t)n * sizeof(float)), *lab = malloc(((size_t)N + 1) * sizeof(float)),
          *fused = malloc(((size_t)N + 1) * sizeof(float));
    int64_t *idx = malloc(1024 * sizeof(int64_t));
    kgm_status st = (!sc || !lab || !fused || !idx) ? KGM_ERR(KGM_ERR_NOMEM, "fusion") : KGM_OK;
    kgm_tape_set_grad(tr->tp, false);
    kgm_tape_set_training(tr->tp, false);
    for (int64_t lo = 0; !st && lo < N; lo += 1024) {
        int32_t m = (int32_t)(N - lo < 1024 ? N - lo : 1024);
        for (int32_t i = 0; i < m; i++) idx[i] = lo + i;
        begin_step(tr);
        for (int q = 0; q < n && !st; q++) {
            kgm_run_task *t = &tr->t[ids[q]];
            kgm_batch b;
            kgm_tensor *y;
            st = kgm_trainer_make_batch(tr, t, &t->view.s[split], split, idx, m, &b);
            if (!st && t->pl->desc.input != KGM_INPUT_NONE) st = kgm_trainer_represent(tr, t, tr->tp, &b, &b.h);
            if (!st) st = kgm_task_predict(t->ctx, tr->tp, &b, &y);
            for (int32_t i = 0; !st && i < m; i++) {
                sc[(size_t)q * (size_t)N + (size_t)(lo + i)] = y->data[(size_t)i * y->cols];
                if (q == 0) lab[lo + i] = b.label ? b.label[i] : 0.0f;
            }
        }
    }
    kgm_tape_set_grad(tr->tp, true);
    kgm_tape_set_training(tr->tp, true);
    begin_step(tr);
    if (!st) {
        const float *cols[KGM_MAX_TASKS];
        for (int q = 0; q < n; q++) cols[q] = sc + (size_t)q * (size_t)N;
        st = kgm_fusion_score(&f, NULL, N, cols, fused);
    }
    if (!st) st = kgm_metric_auc(fused, lab, N, auc);
    free(sc);
    free(lab);
    free(fused);
    free(idx);
    return st;
}

/* Build the cold-start subset of task t's test rows; false if none applies. */
static bool make_cold_split(kgm_trainer *tr, kgm_run_task *t, bool users) {
    const kgm_view_split *v = &t->view.s[2];
    const uint8_t *mark = users ? tr->cold_users : tr->cold_items;
    const int32_t *key = users ? v->user : v->item;
    if (!mark || !key || (users ? tr->n_cold_users : tr->n_cold_items) == 0) return false;
    kgm_view_split *c = &t->cold_split;
    free(c->row);
    free(c->user);
    free(c->item);
    free(c->label);
    free(c->label2);
    free(c->up_ptr);
    free(c->up_col);
    free(c->neg);
    memset(c, 0, sizeof *c);
    c->row = calloc((size_t)v->n + 1, sizeof *c->row);
    c->user = v->user ? calloc((size_t)v->n + 1, sizeof *c->user) : NULL;
    c->item = v->item ? calloc((size_t)v->n + 1, sizeof *c->item) : NULL;
    c->label = v->label ? calloc((size_t)v->n + 1, sizeof *c->label) : NULL;
    c->label2 = v->label2 ? calloc((size_t)v->n + 1, sizeof *c->label2) : NULL;
    c->neg_k = v->neg_k;
    c->neg = v->neg ? calloc((size_t)v->n * (size_t)v->neg_k + 1, sizeof *c->neg) : NULL;
    if (!c->row || (v->neg && !c->neg)) return false;
    for (int64_t i = 0; i < v->n; i++) {
        if (!mark[key[i]]) continue;
        if (c->neg) memcpy(c->neg + c->n * c->neg_k, v->neg + i * v->neg_k, (size_t)v->neg_k * sizeof *c->neg);
        c->row[c->n] = v->row[i];
        if (c->user) c->user[c->n] = v->user[i];
        if (c->item) c->item[c->n] = v->item[i];
        if (c->label) c->label[c->n] = v->label[i];
        if (c->label2) c->label2[c->n] = v->label2[i];
        c->n++;
    }
    /* relevant lists (full-ranking tasks) restricted to the cold rows */
    if (c->n > 0 && v->up_ptr && c->user && c->item && kgm_view_split_user_lists(c, tr->ds.users.count) != KGM_OK) return false;
    return c->n > 0;
}

/* ---- the run ----------------------------------------------------------------------------- */

/* evaluation.select: "TASK.METRIC", or "mean.METRIC" (when no task is called
 * "mean"): the mean of METRIC over every task that reports it, so that a
 * multi-task model is not chosen for one task alone. Fills metric_of[k] with
 * the metric index of task k (-1: not part of the selection); returns -1
 * when nothing matches. */
static int32_t find_select(const kgm_trainer *tr, int metric_of[KGM_MAX_TASKS], int *first) {
    const char *sel = tr->cfg->eval.select;
    for (int k = 0; k < KGM_MAX_TASKS; k++) metric_of[k] = -1;
    *first = 0;
    if (!sel[0]) {
        metric_of[0] = tr->t[0].pl->desc.select_metric;
        return 0;
    }
    const char *dot = strrchr(sel, '.');
    if (!dot) return -1;
    size_t ln = (size_t)(dot - sel);
    bool mean = ln == 4 && strncmp(sel, "mean", 4) == 0;
    for (int k = 0; k < tr->n_tasks; k++)
        if (strlen(tr->t[k].ctx->name) == ln && strncmp(tr->t[k].ctx->name, sel, ln) == 0) mean = false;
    int found = 0;
    for (int k = 0; k < tr->n_tasks; k++) {
        if (!mean && !(strlen(tr->t[k].ctx->name) == ln && strncmp(tr->t[k].ctx->name, sel, ln) == 0)) continue;
        for (int i = 0; i < tr->t[k].pl->desc.n_metrics; i++)
            if (strcmp(tr->t[k].pl->desc.metrics[i].name, dot + 1) == 0) {
                if (!found++) *first = k;
                metric_of[k] = i;
            }
    }
    if (!found) return -1;
    /* a mean needs one direction: every selected metric must agree */
    for (int k = 0; k < tr->n_tasks; k++)
        if (metric_of[k] >= 0 && tr->t[k].pl->desc.metrics[metric_of[k]].higher_is_better !=
                                     tr->t[*first].pl->desc.metrics[metric_of[*first]].higher_is_better)
            return -1;
    return 0;
}

/* The rows of a run's CSV up to `epoch` into b, without test rows (a run
 * that was stopped after its test evaluation evaluates again). They must
 * reach `epoch`: a file cut at a row boundary would lose the last epochs. */
static kgm_status load_rows(sbuf *b, const kgm_run_config *cfg, const char *name, kgm_csv_kind kind, int32_t epoch) {
    char path[KGM_PATH + 64], *rows = NULL;
    int64_t last = 0;
    out_path(path, sizeof path, cfg, name);
    KGM_TRY(kgm_rundir_read_csv(path, kind, epoch, &rows, NULL, &last));
    for (char *line = rows, *next; line && *line; line = next) {
        next = strchr(line, '\n') + 1; /* every row read ends in a newline */
        const char *split = strchr(line, ',') + 1;
        if (kind == KGM_CSV_METRICS && strncmp(split, "test,", 5) == 0) continue;
        sb_add(b, "%.*s", (int)(next - line), line);
    }
    free(rows);
    if (last < epoch)
        return KGM_ERR(KGM_ERR_FORMAT, "%s: the rows end at epoch %lld, last.ckpt is after epoch %d (the file was cut short)",
                       path, (long long)last, epoch);
    return KGM_OK;
}

/* Continue a run from its files, each verified: last.ckpt (checksum), the
 * metrics and weights rows up to its epoch, and best.ckpt when an epoch
 * improved the selection metric (that epoch wrote it). */
static kgm_status resume_from(kgm_trainer *tr, const kgm_run_config *cfg, kgm_ckpt_state *cs, float *best, sbuf *mcsv,
                              sbuf *wcsv) {
    char path[KGM_PATH + 64];
    out_path(path, sizeof path, cfg, "last.ckpt");
    KGM_TRY(kgm_checkpoint_load(path, tr, cs, best));
    tr->step = cs->step;
    if (isfinite(cs->best_value)) {
        kgm_ckpt_info bi;
        out_path(path, sizeof path, cfg, "best.ckpt");
        KGM_TRY(kgm_checkpoint_info(path, &bi));
        if (bi.config_hash != kgm_run_config_hash(cfg) || bi.epoch != cs->best_epoch)
            return KGM_ERR(KGM_ERR_FORMAT, "%s: holds epoch %d%s, last.ckpt says the best epoch is %d", path, bi.epoch,
                           bi.config_hash != kgm_run_config_hash(cfg) ? " of another configuration" : "", cs->best_epoch);
    }
    KGM_TRY(load_rows(mcsv, cfg, "metrics.csv", KGM_CSV_METRICS, cs->epoch));
    return load_rows(wcsv, cfg, "weights.csv", KGM_CSV_WEIGHTS, cs->epoch);
}

/* resolved.yaml again, now with the plugin files the tasks were loaded from. */
static kgm_status write_resolved(const kgm_trainer *tr, const kgm_run_config *cfg, char *path, size_t n) {
    char *yaml = NULL;
    size_t ylen = 0;
    FILE *ym = open_memstream(&yaml, &ylen);
    if (!ym) return KGM_ERR(KGM_ERR_NOMEM, "resolved.yaml");
    kgm_run_config_write_yaml(cfg, ym);
    kgm_plugin_record_yaml(tr, ym);
    fclose(ym);
    snprintf(path, n, "%s/resolved.yaml", cfg->output);
    kgm_status st = kgm_rundir_write_atomic(path, yaml, ylen);
    free(yaml);
    return st;
}

kgm_status kgm_train_run(const kgm_run_config *cfg, const kgm_train_opts *opts, kgm_train_result *res) {
    kgm_train_opts defo;
    memset(&defo, 0, sizeof defo);
    if (!opts) opts = &defo;
    if (res) memset(res, 0, sizeof *res);
    KGM_TRY(mkdir_p(cfg->output));
    char path[KGM_PATH + 64];
    kgm_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return KGM_ERR(KGM_ERR_NOMEM, "trainer");
    sbuf mcsv = {0}, wcsv = {0};
    float *best = NULL;
    kgm_status st = KGM_OK;
    out_path(path, sizeof path, cfg, "DONE");
    unlink(path);
    out_path(path, sizeof path, cfg, "run.log");
    tr->log = fopen(path, opts->resume ? "a" : "w");
    {
        char *yaml = NULL;
        size_t ylen = 0;
        FILE *ym = open_memstream(&yaml, &ylen);
        if (ym) {
            kgm_run_config_write_yaml(cfg, ym);
            fclose(ym);
            out_path(path, sizeof path, cfg, "resolved.yaml");
            st = kgm_rundir_write_atomic(path, yaml, ylen);
            free(yaml);
        }
    }
    if (!st) st = kgm_trainer_setup(tr, cfg, opts);
    if (!st) st = kgm_plugin_record_fill(tr);
    if (!st) st = write_resolved(tr, cfg, path, sizeof path);
    if (st) goto done;
    for (int k = 0; k < tr->n_tasks; k++)
        if (tr->t[k].view.kind == KGM_VIEW_IMPLICIT) {
            if (cfg->data.eval_negatives > 0)
                tlog(tr, "task %s: top-K protocol sampled-%d (each positive against its %d stored uniform negatives, "
                         "data seed %llu)", tr->t[k].ctx->name, cfg->data.eval_negatives, cfg->data.eval_negatives,
                     (unsigned long long)tr->data_seed);
            else tlog(tr, "task %s: top-K protocol full (every item ranked, known positives masked)", tr->t[k].ctx->name);
        }
    int sel_metric[KGM_MAX_TASKS], sel_first;
    if (find_select(tr, sel_metric, &sel_first) != 0) {
        st = KGM_ERR(KGM_ERR_ARG, "evaluation.select '%s' names no task.metric of this run (TASK.METRIC, or "
                                  "mean.METRIC for the mean over the tasks that report METRIC)", cfg->eval.select);
        goto done;
    }
    bool higher = tr->t[sel_first].pl->desc.metrics[sel_metric[sel_first]].higher_is_better;
    int n_sel = 0; /* tasks without validation rows (tasks[].split none) cannot select */
    for (int k = 0; k < tr->n_tasks; k++)
        if (sel_metric[k] >= 0 && tr->t[k].view.s[1].n == 0) sel_metric[k] = -1;
        else n_sel += sel_metric[k] >= 0;
    if (!n_sel) {
        st = KGM_ERR(KGM_ERR_ARG, "evaluation.select '%s': no selected task has validation rows (tasks[].split none?)",
                     cfg->eval.select[0] ? cfg->eval.select : tr->t[0].ctx->name);
        goto done;
    }
    char sel_name[128];
    if (cfg->eval.select[0] && strncmp(cfg->eval.select, "mean.", 5) == 0 && sel_metric[sel_first] >= 0 &&
        strcmp(tr->t[sel_first].ctx->name, "mean") != 0)
        snprintf(sel_name, sizeof sel_name, "%.127s", cfg->eval.select);
    else
        snprintf(sel_name, sizeof sel_name, "%.63s.%.63s", tr->t[sel_first].ctx->name,
                 tr->t[sel_first].pl->desc.metrics[sel_metric[sel_first]].name);
    best = malloc(tr->ps->total * sizeof(float) + 1);
    if (!best) {
        st = KGM_ERR(KGM_ERR_NOMEM, "best parameters");
        goto done;
    }
    kgm_ckpt_state cs = {.epoch = 0, .step = 0, .best_epoch = 0, .best_value = higher ? -INFINITY : INFINITY};
    bool have_best = false;
    out_path(path, sizeof path, cfg, "last.ckpt");
    if (opts->resume && access(path, F_OK) == 0) {
        if ((st = resume_from(tr, cfg, &cs, best, &mcsv, &wcsv))) {
            kgm_error_wrap(st, "cannot resume run '%s' (kgmtl run --retry-failed starts it over)", cfg->name);
            goto done;
        }
        have_best = cs.has_best;
        tlog(tr, "resumed from %s after epoch %d (step %lld)", path, cs.epoch, (long long)cs.step);
    }
    if ((st = kgm_trainer_alloc_perms(tr))) goto done;
    int64_t steps = cfg->train.steps_per_epoch;
    if (steps <= 0)
        for (int k = 0; k < tr->n_tasks; k++) {
            int64_t s = (tr->t[k].view.s[0].n + tr->t[k].batch - 1) / tr->t[k].batch;
            if (s > steps) steps = s;
        }
    bool per_epoch = strcmp(cfg->train.schedule, "every_epoch") == 0;
    int64_t total = (int64_t)cfg->train.epochs * steps, prog_done = (int64_t)cs.epoch * steps;
    if (per_epoch) { /* epochs differ in length: a task's pass runs on every k-th epoch only */
        total = prog_done = 0;
        for (int e = 1; e <= cfg->train.epochs; e++) {
            total += kgm_schedule_epoch_steps(tr, e);
            if (e <= cs.epoch) prog_done += kgm_schedule_epoch_steps(tr, e);
        }
    }
    kgm_progress pg;
    kgm_progress_begin(&pg, stderr, cfg->name, total);
    pg.quiet = opts->quiet;
    for (int epoch = cs.epoch + 1; epoch <= cfg->train.epochs; epoch++) {
        tr->epoch = epoch;
        kgm_trainer_begin_epoch(tr);
        uint64_t params_before = kgm_weighting_params_hash(tr);
        if (per_epoch) steps = kgm_schedule_epoch_steps(tr, epoch);
        for (int64_t s = 0; s < steps; s++) {
            st = train_step(tr, &wcsv);
            if (st) goto done;
            tr->step++;
            char extra[256];
            int off = snprintf(extra, sizeof extra, "epoch %d", epoch);
            for (int k = 0; k < tr->n_tasks && off < (int)sizeof extra - 40; k++)
                if (tr->t[k].loss_n) off += snprintf(extra + off, sizeof extra - (size_t)off, " %s %.4f", tr->t[k].ctx->name, tr->t[k].loss_sum / (double)tr->t[k].loss_n);
            kgm_progress_update(&pg, ++prog_done, tr->samples, extra);
        }
        if ((st = kgm_weighting_check_moved(tr, params_before))) goto done;
        /* epoch end: losses, weights, validation */
        for (int k = 0; k < tr->n_tasks; k++) {
            kgm_run_task *t = &tr->t[k];
            double tl = t->loss_n ? t->loss_sum / (double)t->loss_n : NAN;
            sb_add(&mcsv, "%d,train,%s,loss,%.10g\n", epoch, t->ctx->name, tl);
            if (!cfg->train.log_steps)
                sb_add(&wcsv, "%lld,%d,%s,%.6g,%.6g\n", (long long)tr->step, epoch, t->ctx->name,
                       t->w_n ? t->w_sum / (double)t->w_n : t->weight, tl);
        }
        kgm_weighting_epoch_end(tr);
        double sel_sum = 0.0;
        int sel_n = 0;
        for (int k = 0; k < tr->n_tasks; k++) {
            kgm_run_task *t = &tr->t[k];
            double vl, m[64];
            if (t->view.s[1].n == 0) continue;
            if ((st = split_loss(tr, t, 1, &vl))) goto done;
            sb_add(&mcsv, "%d,valid,%s,loss,%.10g\n", epoch, t->ctx->name, vl);
            if ((st = eval_task(tr, t, KGM_SPLIT_VALID, m))) goto done;
            add_metric_rows(tr, &mcsv, epoch, "valid", t->ctx->name, t, m);
            if (sel_metric[k] >= 0) sel_sum += m[sel_metric[k]], sel_n++;
        }
        double sel_value = sel_n ? sel_sum / sel_n : NAN;
        bool improved = !isnan(sel_value) && (higher ? sel_value > cs.best_value : sel_value < cs.best_value);
        if (improved || !have_best) {
            if (improved) {
                cs.best_value = sel_value;
                cs.bad_epochs = 0;
            }
            cs.best_epoch = epoch;
            memcpy(best, tr->ps->data, tr->ps->total * sizeof(float));
            have_best = true;
        } else
            cs.bad_epochs++;
        tlog(tr, "epoch %d: %s = %.6g (best %.6g at epoch %d)", epoch, sel_name, sel_value, cs.best_value, cs.best_epoch);
        cs.epoch = epoch;
        cs.step = tr->step;
        cs.best_params = have_best ? best : NULL;
        out_path(path, sizeof path, cfg, "metrics.csv");
        {
            sbuf tmp = {0};
            sb_add(&tmp, "epoch,split,task,metric,value\n%s", mcsv.s ? mcsv.s : "");
            st = kgm_rundir_write_atomic(path, tmp.s, tmp.n);
            free(tmp.s);
        }
        if (!st) {
            sbuf tmp = {0};
            sb_add(&tmp, "step,epoch,task,weight,loss\n%s", wcsv.s ? wcsv.s : "");
            out_path(path, sizeof path, cfg, "weights.csv");
            st = kgm_rundir_write_atomic(path, tmp.s, tmp.n);
            free(tmp.s);
        }
        cs.durable = false; /* a killed process leaves the old or the new file, never half of one */
        if (!st && improved) {
            out_path(path, sizeof path, cfg, "best.ckpt");
            st = kgm_checkpoint_save(path, tr, &cs);
        }
        if (!st) {
            out_path(path, sizeof path, cfg, "last.ckpt");
            st = kgm_checkpoint_save(path, tr, &cs);
        }
        if (st) goto done;
        if (opts->stop_after_epoch > 0 && epoch == opts->stop_after_epoch) {
            st = KGM_ERR(KGM_ERR_INTERRUPTED, "stopped after epoch %d on request", epoch);
            goto done;
        }
        if (cfg->train.patience > 0 && cs.bad_epochs >= cfg->train.patience) {
            tlog(tr, "early stopping after epoch %d (%d epochs without improvement)", epoch, cs.bad_epochs);
            break;
        }
    }
    kgm_progress_end(&pg, NULL);
    /* test evaluation of the selected model only */
    if (have_best) memcpy(tr->ps->data, best, tr->ps->total * sizeof(float));
    if (res) {
        res->best_epoch = cs.best_epoch;
        res->epochs_run = cs.epoch;
        res->best_select = cs.best_value;
        snprintf(res->select, sizeof res->select, "%s", sel_name);
        for (int k = 0; k < tr->n_tasks; k++) res->gradnorm_G[k] = tr->gn_G[k];
    }
    if (cfg->eval.test) {
        for (int k = 0; k < tr->n_tasks; k++) {
            kgm_run_task *t = &tr->t[k];
            double m[64];
            if (t->view.s[2].n == 0) continue;
            if ((st = eval_task(tr, t, KGM_SPLIT_TEST, m))) goto done;
            add_metric_rows(tr, &mcsv, cs.best_epoch, "test", t->ctx->name, t, m);
            for (int i = 0; res && i < t->pl->desc.n_metrics && res->n_test < 64; i++) {
                snprintf(res->test_name[res->n_test], sizeof res->test_name[0], "%s.%s", t->ctx->name, t->pl->desc.metrics[i].name);
                res->test_value[res->n_test++] = m[i];
            }
            if (!cfg->eval.cold) continue;
            for (int cu = 0; cu < 2; cu++) {
                if (!make_cold_split(tr, t, cu == 1)) continue;
                t->use_cold = true;
                kgm_status cst = eval_task(tr, t, KGM_SPLIT_TEST, m);
                t->use_cold = false;
                char nm[96];
                snprintf(nm, sizeof nm, "%s@cold_%s", t->ctx->name, cu ? "users" : "items");
                if (cst == KGM_OK) add_metric_rows(tr, &mcsv, cs.best_epoch, "test", nm, t, m);
                else tlog(tr, "cold-start evaluation %s skipped: %s", nm, kgm_error_message());
            }
        }
        if (strcmp(cfg->eval.fusion, "off") != 0) {
            double auc;
            if ((st = eval_fusion(tr, KGM_SPLIT_TEST, &auc))) goto done;
            sb_add(&mcsv, "%d,test,fusion,auc,%.10g\n", cs.best_epoch, auc);
        }
        out_path(path, sizeof path, cfg, "metrics.csv");
        sbuf tmp = {0};
        sb_add(&tmp, "epoch,split,task,metric,value\n%s", mcsv.s ? mcsv.s : "");
        st = kgm_rundir_write_atomic(path, tmp.s, tmp.n);
        free(tmp.s);
        if (st) goto done;
    }
    static const char *finals[] = {"best.ckpt", NULL}; /* the model the run delivers */
    for (int i = 0; finals[i]; i++) {
        out_path(path, sizeof path, cfg, finals[i]);
        fsync_path(path);
    }
    /* DONE last, recording what a resume will check */
    st = kgm_rundir_write_done(cfg->output, kgm_run_config_hash(cfg));
done:
    if (st && tr->log) fprintf(tr->log, "run failed: %s\n", kgm_error_message());
    if (tr->log) fclose(tr->log);
    kgm_trainer_destroy(tr);
    free(tr);
    free(best);
    free(mcsv.s);
    free(wcsv.s);
    return st;
}

/* ---- evaluation and recommendation from a checkpoint --------------------------------- */

static kgm_status open_checkpoint(const char *ckpt, const kgm_train_opts *opts, kgm_run_config *cfg, kgm_trainer *tr) {
    KGM_TRY(kgm_checkpoint_read_config(ckpt, cfg));
    /* the plugin files the run used, whatever the working directory now */
    kgm_plugin_record *rec = malloc(sizeof *rec);
    if (!rec) return KGM_ERR(KGM_ERR_NOMEM, "plugin record");
    kgm_train_opts o = {0};
    if (opts) o = *opts;
    kgm_status st = kgm_checkpoint_read_plugins(ckpt, rec);
    if (!st) st = kgm_plugin_record_apply(rec, &o, stderr);
    if (!st) st = kgm_trainer_setup(tr, cfg, &o);
    free(rec);
    KGM_TRY(st);
    kgm_ckpt_state cs;
    memset(&cs, 0, sizeof cs);
    return kgm_checkpoint_load(ckpt, tr, &cs, NULL);
}

kgm_status kgm_eval_checkpoint(const char *ckpt, const kgm_train_opts *opts, unsigned splits, FILE *out) {
    kgm_run_config *cfg = malloc(sizeof *cfg);
    kgm_trainer *tr = calloc(1, sizeof *tr);
    if (!cfg || !tr) {
        free(cfg);
        free(tr);
        return KGM_ERR(KGM_ERR_NOMEM, "eval");
    }
    kgm_status st = open_checkpoint(ckpt, opts, cfg, tr);
    static const char *names[3] = {"train", "valid", "test"};
    if (!st) fprintf(out, "%-24s %-6s %-12s %s\n", "task", "split", "metric", "value");
    for (int k = 0; k < tr->n_tasks && !st; k++) {
        kgm_run_task *t = &tr->t[k];
        for (int s = 0; s < 3 && !st; s++) {
            if (!(splits & (1u << s)) || t->view.s[s].n == 0) continue;
            double m[64];
            st = eval_task(tr, t, (kgm_split_id)s, m);
            for (int i = 0; !st && i < t->pl->desc.n_metrics; i++)
                fprintf(out, "%-24s %-6s %-12s %.6f\n", t->ctx->name, names[s], t->pl->desc.metrics[i].name, m[i]);
        }
    }
    kgm_trainer_destroy(tr);
    free(tr);
    free(cfg);
    return st;
}

typedef struct {
    int32_t item;
    float score;
} scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->item > y->item) - (x->item < y->item);
}

kgm_status kgm_recommend(const char *ckpt, const char *user, int32_t k, const char *task, const kgm_train_opts *opts,
                         FILE *out) {
    if (k < 1) return KGM_ERR(KGM_ERR_ARG, "-k must be >= 1");
    kgm_run_config *cfg = malloc(sizeof *cfg);
    kgm_trainer *tr = calloc(1, sizeof *tr);
    scored *sc = NULL;
    if (!cfg || !tr) {
        free(cfg);
        free(tr);
        return KGM_ERR(KGM_ERR_NOMEM, "recommend");
    }
    kgm_status st = open_checkpoint(ckpt, opts, cfg, tr);
    kgm_run_task *t = NULL;
    for (int i = 0; !st && i < tr->n_tasks && !t; i++) {
        kgm_run_task *c = &tr->t[i];
        bool ui = c->view.s[0].user && c->view.s[0].item && !c->view.tabular;
        if (task ? strcmp(c->ctx->name, task) == 0 : ui) t = c;
    }
    if (!st && !t) st = task ? KGM_ERR(KGM_ERR_ARG, "no task named '%s' in this run", task)
                             : KGM_ERR(KGM_ERR_ARG, "this run has no task over user-item rows to rank items with");
    if (!st && !(t->view.s[0].user && t->view.s[0].item))
        st = KGM_ERR(KGM_ERR_ARG, "task '%s' does not score user-item pairs", t->ctx->name);
    int32_t u = -1;
    if (!st) {
        u = kgm_idmap_find(&tr->ds.users, user, strlen(user));
        if (u < 0) st = KGM_ERR(KGM_ERR_ARG, "unknown user id '%s' (the data has %d users)", user, tr->ds.users.count);
    }
    int32_t n_items = tr->ds.items.count;
    if (!st) {
        sc = malloc((size_t)n_items * sizeof *sc + 1);
        if (!sc) st = KGM_ERR(KGM_ERR_NOMEM, "scores");
    }
    /* training items of the user (from the task's training rows, any label) */
    uint8_t *seen = st ? NULL : calloc((size_t)n_items + 1, 1);
    if (!st && !seen) st = KGM_ERR(KGM_ERR_NOMEM, "mask");
    for (int64_t r = 0; !st && r < t->view.s[0].n; r++)
        if (t->view.s[0].user[r] == u && t->view.s[0].row[r] >= 0) seen[t->view.s[0].item[r]] = 1;
    kgm_tape_set_grad(tr->tp, false);
    kgm_tape_set_training(tr->tp, false);
    const int32_t CH = 1024;
    for (int32_t lo = 0; !st && lo < n_items; lo += CH) {
        int32_t n = n_items - lo < CH ? n_items - lo : CH;
        begin_step(tr);
        int32_t *us, *is;
        int64_t *rows;
        st = kgm_tape_alloc(tr->tp, (size_t)n * sizeof *us, (void **)&us);
        if (!st) st = kgm_tape_alloc(tr->tp, (size_t)n * sizeof *is, (void **)&is);
        if (!st) st = kgm_tape_alloc(tr->tp, (size_t)n * sizeof *rows, (void **)&rows);
        if (st) break;
        for (int32_t i = 0; i < n; i++) {
            us[i] = u;
            is[i] = lo + i;
            rows[i] = -1;
        }
        kgm_batch b = {.struct_size = sizeof b, .n = n, .split = KGM_SPLIT_TEST, .row = rows, .user = us, .item = is};
        if (t->pl->desc.input != KGM_INPUT_NONE) st = kgm_trainer_represent(tr, t, tr->tp, &b, &b.h);
        kgm_tensor *y = NULL;
        if (!st) st = kgm_task_predict(t->ctx, tr->tp, &b, &y);
        for (int32_t i = 0; !st && i < n; i++) {
            sc[lo + i].item = lo + i;
            sc[lo + i].score = y->data[(size_t)i * y->cols];
        }
    }
    int32_t m = 0;
    for (int32_t i = 0; !st && i < n_items; i++)
        if (!seen[i]) sc[m++] = sc[i];
    if (!st) {
        qsort(sc, (size_t)m, sizeof *sc, cmp_scored);
        fprintf(out, "top-%d items for user %s by task '%s' (%d training items excluded)\n", k, user, t->ctx->name, n_items - m);
        fprintf(out, "%-5s %-16s %-10s %s\n", "rank", "item", "score", "text");
        for (int32_t i = 0; i < k && i < m; i++) {
            const char *txt = kgm_strings_get(&tr->ds.item_text, sc[i].item, NULL);
            fprintf(out, "%-5d %-16s %-10.5f %.60s\n", i + 1, kgm_idmap_name(&tr->ds.items, sc[i].item), (double)sc[i].score,
                    txt ? txt : "");
        }
    }
    free(seen);
    free(sc);
    kgm_trainer_destroy(tr);
    free(tr);
    free(cfg);
    return st;
}
