/* abi_guard — a plugin that checks the host keeps to the plugin's kgm_batch.
 *
 * Built twice: as an ABI 1.0 plugin (abi_guard.so; its kgm_batch is the 1.0
 * struct) and against the simulated next minor (abi_guard_next.so,
 * -DKGM_ABI_SIMULATE_NEXT_MINOR, a larger kgm_batch). Each batch it hands to
 * the host is followed by a guard: eval() fails when host->split_rows wrote
 * past the plugin's struct (the guard changed), and the guard after the batch
 * given to host->represent holds ABI_GUARD_CANARY, which a host reading past
 * the plugin's struct would see as its appended field (tests/plugins/
 * test_abi_next.c checks that the backend saw 0 there). The model itself is
 * the template's: a linear click model on batch->h, AUC on the split. */
#include <string.h>

#include "abi_guard.h"
#include "kgmtl/plugin.h"

#ifdef KGM_ABI_SIMULATE_NEXT_MINOR
#define GUARD_NAME "abi_guard_next"
#define GUARD_MINOR KGM_ABI_MINOR
#else
#define GUARD_NAME "abi_guard"
#define GUARD_MINOR 0 /* uses nothing after 1.0 */
#endif

#define G_ERR(H, st, ...) (H)->error_set((st), __FILE__, __LINE__, __VA_ARGS__)

typedef struct {
    const kgm_host_api *H;
    int32_t w, b;
} guard_state;

/* A batch with a guard right behind it, as the plugin's stack holds it. */
typedef struct {
    kgm_batch b;
    uint64_t guard[4];
} guarded_batch;

static void guard_fill(guarded_batch *g, uint64_t v) {
    for (int i = 0; i < 4; i++) g->guard[i] = v;
}

static int guard_intact(const guarded_batch *g, uint64_t v) {
    for (int i = 0; i < 4; i++)
        if (g->guard[i] != v) return 0;
    return 1;
}

static kgm_status g_create(const kgm_host_api *H, kgm_task_ctx *ctx, void **self) {
    (void)ctx;
    guard_state *s = H->calloc(1, sizeof *s);
    if (!s) return G_ERR(H, KGM_ERR_NOMEM, "abi_guard: out of memory");
    s->H = H;
    *self = s;
    return KGM_OK;
}

static kgm_status g_declare(void *self, kgm_task_ctx *ctx) {
    guard_state *s = self;
    int64_t in = s->H->count(ctx, KGM_COUNT_HIDDEN);
    kgm_init xav = {KGM_INIT_XAVIER_UNIFORM, 0.0f}, zero = {KGM_INIT_ZEROS, 0.0f};
    kgm_status st = s->H->param_declare(ctx, "w", (int32_t)in, 1, xav, 0, &s->w);
    return st ? st : s->H->param_declare(ctx, "b", 1, 1, zero, 0, &s->b);
}

static kgm_status g_logits(guard_state *s, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **z) {
    return s->H->op_linear(tp, b->h, s->H->param(ctx, s->w), s->H->param(ctx, s->b), z);
}

static kgm_status g_forward(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **loss) {
    guard_state *s = self;
    kgm_tensor *z;
    kgm_status st = g_logits(s, ctx, tp, b, &z);
    return st ? st : s->H->op_bce_logits(tp, z, b->label, NULL, loss);
}

static kgm_status g_predict(void *self, kgm_task_ctx *ctx, kgm_tape *tp, const kgm_batch *b, kgm_tensor **out) {
    guard_state *s = self;
    kgm_tensor *z;
    kgm_status st = g_logits(s, ctx, tp, b, &z);
    return st ? st : s->H->op_sigmoid(tp, z, out);
}

static kgm_status g_eval(void *self, kgm_task_ctx *ctx, kgm_tape *tp, kgm_split_id split, double *m) {
    guard_state *s = self;
    const kgm_host_api *H = s->H;
    guarded_batch rows;
    guard_fill(&rows, ABI_GUARD_FILL);
    kgm_status st = H->split_rows(ctx, split, &rows.b);
    if (st) return st;
    if (!guard_intact(&rows, ABI_GUARD_FILL))
        return G_ERR(H, KGM_ERR_STATE, "abi_guard: split_rows wrote past the plugin's kgm_batch (%zu bytes)",
                     sizeof rows.b);
    if (rows.b.struct_size != sizeof rows.b)
        return G_ERR(H, KGM_ERR_STATE, "abi_guard: split_rows says struct_size %u, the plugin's batch has %zu bytes",
                     rows.b.struct_size, sizeof rows.b);
    if (rows.b.n == 0) return KGM_OK;
    guarded_batch cb = rows;
    guard_fill(&cb, ABI_GUARD_CANARY);
#ifdef KGM_ABI_SIMULATE_NEXT_MINOR
    cb.b.next_minor_field = ABI_GUARD_CANARY_NEXT; /* a field this plugin does know */
#endif
    kgm_tensor *p = NULL;
    st = H->represent(ctx, tp, &cb.b, &cb.b.h);
    if (!st) st = g_predict(s, ctx, tp, &cb.b, &p);
    if (!st && !guard_intact(&cb, ABI_GUARD_CANARY))
        st = G_ERR(H, KGM_ERR_STATE, "abi_guard: represent wrote past the plugin's kgm_batch");
    if (!st) {
        kgm_status a = H->metrics->auc(p->data, rows.b.label, rows.b.n, &m[0]);
        if (a != KGM_OK && a != KGM_ERR_ARG) st = a;
    }
    return st;
}

static void g_destroy(void *self) {
    guard_state *s = self;
    s->H->free(s);
}

static const kgm_metric_spec metrics[] = {{"auc", 1}};

static const kgm_task_plugin plugin = {
    .abi_major = KGM_ABI_MAJOR,
    .abi_minor = GUARD_MINOR,
    .struct_size = sizeof(kgm_task_plugin),
    .name = GUARD_NAME,
    .version = "1.0",
    .description = "checks that the host stays inside the plugin's kgm_batch",
    .view = KGM_VIEW_INTERACTIONS,
    .input = KGM_INPUT_PAIR,
    .loss_form = KGM_LOSS_CLASSIFICATION,
    .n_metrics = 1,
    .metrics = metrics,
    .create = g_create,
    .declare_params = g_declare,
    .forward_loss = g_forward,
    .predict = g_predict,
    .eval = g_eval,
    .destroy = g_destroy,
};

KGM_PLUGIN_EXPORT const kgm_task_plugin *kgm_task_entry(const kgm_host_api *host) {
    if (!host || host->abi_major != KGM_ABI_MAJOR || host->struct_size < KGM_HOST_API_SIZE_1_0) return NULL;
    return &plugin;
}
