/* Shared-bottom, MMoE, OMoE, PLE and separate towers. */
#include "core/model/mixer.h"

#include <string.h>

#include "core/tensor/ops.h"

kgm_status kgm_mixer_kind_parse(const char *s, kgm_mixer_kind *out) {
    static const char *names[] = {"shared_bottom", "mmoe", "omoe", "ple", "separate", "cross_stitch", "none"};
    for (int i = 0; i < 7; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (kgm_mixer_kind)i;
            return KGM_OK;
        }
    return KGM_ERR(KGM_ERR_ARG, "unknown mixer kind '%s' (expected shared_bottom, mmoe, omoe, ple, separate, cross_stitch or none)", s);
}

static kgm_status decl(kgm_params *ps, const char *name, int32_t r, int32_t c, kgm_init_kind ik, int32_t group,
                       int32_t *id) {
    return kgm_params_declare(ps, name, r, c, (kgm_init){ik, 0}, 0, group, id);
}

kgm_status kgm_mixer_declare(kgm_mixer *m, const kgm_mixer_cfg *cfg, int32_t in_dim, int32_t n_tasks,
                             kgm_params *ps, int32_t g0) {
    memset(m, 0xff, sizeof *m); /* all ids -1 */
    KGM_TRY(kgm_mixer_kind_parse(cfg->kind, &m->kind));
    if (n_tasks < 1 || n_tasks > KGM_MAX_TASKS) return KGM_ERR(KGM_ERR_ARG, "mixer: %d tasks outside [1, %d]", n_tasks, KGM_MAX_TASKS);
    m->in_dim = in_dim;
    m->n_tasks = n_tasks;
    m->hidden = (m->kind == KGM_MIXER_SHARED_BOTTOM || m->kind == KGM_MIXER_SEPARATE || m->kind == KGM_MIXER_CROSS_STITCH)
                    ? cfg->bottom_hidden
                    : cfg->expert_hidden;
    m->n_conn = 0;
    if (m->kind == KGM_MIXER_NONE) { /* identity: no parameters, no tower (the manifest rejects mixer.* keys) */
        m->out_dim = in_dim;
        m->tower = 0;
        m->hidden = 0;
        m->dropout = 0.0f;
        return KGM_OK;
    }
    m->n_experts = cfg->n_experts;
    m->n_task_exp = cfg->task_experts;
    m->levels = cfg->levels;
    m->tower = cfg->tower_hidden;
    m->dropout = (float)cfg->dropout;
    if (m->hidden <= 0) return KGM_ERR(KGM_ERR_ARG, "mixer: hidden units must be > 0");
    if ((m->kind == KGM_MIXER_MMOE || m->kind == KGM_MIXER_OMOE || m->kind == KGM_MIXER_PLE) && m->n_experts < 1)
        return KGM_ERR(KGM_ERR_ARG, "mixer: n_experts must be >= 1");
    if (m->kind == KGM_MIXER_PLE && (m->levels < 1 || m->levels > KGM_MIXER_MAX_LEVELS || m->n_task_exp < 1))
        return KGM_ERR(KGM_ERR_ARG, "mixer: PLE needs 1..%d levels and task_experts >= 1", KGM_MIXER_MAX_LEVELS);
    int H = m->hidden, E = m->n_experts;
    char nm[KGM_PARAM_NAME_MAX];
    switch (m->kind) {
    case KGM_MIXER_SHARED_BOTTOM:
        KGM_TRY(decl(ps, "mixer/bottom_w", in_dim, H, KGM_INIT_KAIMING_UNIFORM, 0, &m->bottom_w[0]));
        KGM_TRY(decl(ps, "mixer/bottom_b", 1, H, KGM_INIT_ZEROS, 0, &m->bottom_b[0]));
        break;
    case KGM_MIXER_SEPARATE:
    case KGM_MIXER_CROSS_STITCH:
        for (int k = 0; k < n_tasks; k++) {
            snprintf(nm, sizeof nm, "mixer/t%d/bottom_w", k);
            KGM_TRY(decl(ps, nm, in_dim, H, KGM_INIT_KAIMING_UNIFORM, g0 + k, &m->bottom_w[k]));
            snprintf(nm, sizeof nm, "mixer/t%d/bottom_b", k);
            KGM_TRY(decl(ps, nm, 1, H, KGM_INIT_ZEROS, g0 + k, &m->bottom_b[k]));
        }
        break;
    case KGM_MIXER_MMOE:
    case KGM_MIXER_OMOE:
        KGM_TRY(decl(ps, "mixer/experts_w", in_dim, E * H, KGM_INIT_KAIMING_UNIFORM, 0, &m->exp_w));
        KGM_TRY(decl(ps, "mixer/experts_b", 1, E * H, KGM_INIT_ZEROS, 0, &m->exp_b));
        for (int k = 0; k < (m->kind == KGM_MIXER_OMOE ? 1 : n_tasks); k++) {
            snprintf(nm, sizeof nm, m->kind == KGM_MIXER_OMOE ? "mixer/gate_w" : "mixer/t%d/gate_w", k);
            KGM_TRY(decl(ps, nm, in_dim, E, KGM_INIT_XAVIER_UNIFORM, m->kind == KGM_MIXER_OMOE ? 0 : g0 + k,
                         &m->gate_w[k]));
        }
        break;
    case KGM_MIXER_PLE: {
        int K = m->n_task_exp;
        for (int l = 0; l < m->levels; l++) {
            int fin = l == 0 ? in_dim : H;
            bool last = l == m->levels - 1;
            snprintf(nm, sizeof nm, "mixer/l%d/shared_w", l);
            KGM_TRY(decl(ps, nm, fin, E * H, KGM_INIT_KAIMING_UNIFORM, 0, &m->ple_sw[l]));
            snprintf(nm, sizeof nm, "mixer/l%d/shared_b", l);
            KGM_TRY(decl(ps, nm, 1, E * H, KGM_INIT_ZEROS, 0, &m->ple_sb[l]));
            for (int k = 0; k < n_tasks; k++) {
                snprintf(nm, sizeof nm, "mixer/l%d/t%d/experts_w", l, k);
                KGM_TRY(decl(ps, nm, fin, K * H, KGM_INIT_KAIMING_UNIFORM, g0 + k, &m->ple_tw[l][k]));
                snprintf(nm, sizeof nm, "mixer/l%d/t%d/experts_b", l, k);
                KGM_TRY(decl(ps, nm, 1, K * H, KGM_INIT_ZEROS, g0 + k, &m->ple_tb[l][k]));
                snprintf(nm, sizeof nm, "mixer/l%d/t%d/gate_w", l, k);
                KGM_TRY(decl(ps, nm, fin, K + E, KGM_INIT_XAVIER_UNIFORM, g0 + k, &m->ple_gw[l][k]));
            }
            if (!last) {
                snprintf(nm, sizeof nm, "mixer/l%d/shared_gate_w", l);
                KGM_TRY(decl(ps, nm, fin, n_tasks * K + E, KGM_INIT_XAVIER_UNIFORM, 0, &m->ple_sgw[l]));
            }
        }
        break;
    }
    case KGM_MIXER_NONE: break; /* returned above */
    }
    m->out_dim = H;
    if (m->tower > 0) {
        for (int k = 0; k < n_tasks; k++) {
            snprintf(nm, sizeof nm, "mixer/t%d/tower_w", k);
            KGM_TRY(decl(ps, nm, H, m->tower, KGM_INIT_KAIMING_UNIFORM, g0 + k, &m->tower_w[k]));
            snprintf(nm, sizeof nm, "mixer/t%d/tower_b", k);
            KGM_TRY(decl(ps, nm, 1, m->tower, KGM_INIT_ZEROS, g0 + k, &m->tower_b[k]));
        }
        m->out_dim = m->tower;
    }
    if (m->kind == KGM_MIXER_CROSS_STITCH) {
        /* the mixing matrices are shared parameters (group 0) */
        KGM_TRY(kgm_cross_stitch_declare(&m->cs_bottom, "mixer/cross_stitch_bottom", n_tasks, H, cfg->cross_stitch_per_channel,
                                         0.9f, ps, 0));
        if (m->tower > 0)
            KGM_TRY(kgm_cross_stitch_declare(&m->cs_tower, "mixer/cross_stitch_tower", n_tasks, m->tower,
                                             cfg->cross_stitch_per_channel, 0.9f, ps, 0));
    }
    return KGM_OK;
}

kgm_status kgm_mixer_add_connection(kgm_mixer *m, kgm_connection_kind kind, int32_t from, int32_t to, kgm_params *ps,
                                    int32_t group) {
    if (m->kind == KGM_MIXER_NONE)
        return KGM_ERR(KGM_ERR_ARG, "task connections need task towers; mixer.kind none has none (the tasks read the encoder output)");
    if (m->n_conn >= KGM_MIXER_MAX_CONN) return KGM_ERR(KGM_ERR_ARG, "at most %d task connections", KGM_MIXER_MAX_CONN);
    if (from < 0 || from >= m->n_tasks || to < 0 || to >= m->n_tasks || from == to)
        return KGM_ERR(KGM_ERR_ARG, "connection %d -> %d: both ends must be different tasks of the mixer", from, to);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "mixer/conn%d", m->n_conn);
    KGM_TRY(kgm_connection_declare(&m->conn[m->n_conn], kind, prefix, from, to, m->out_dim, m->out_dim, ps, group));
    m->n_conn++;
    return KGM_OK;
}

bool kgm_mixer_couples_tasks(const kgm_mixer *m) { return m->kind == KGM_MIXER_CROSS_STITCH || m->n_conn > 0; }

int32_t kgm_mixer_last_shared(const kgm_mixer *m) {
    switch (m->kind) {
    case KGM_MIXER_SHARED_BOTTOM: return m->bottom_w[0];
    case KGM_MIXER_MMOE:
    case KGM_MIXER_OMOE: return m->exp_w;
    case KGM_MIXER_PLE: return m->ple_sw[m->levels - 1];
    default: return -1;
    }
}

#define P(id) kgm_params_tensor(ps, (id))

/* relu(x W + b), then dropout. */
static kgm_status dense_relu(kgm_tape *tp, kgm_params *ps, kgm_tensor *x, int32_t w, int32_t b, float drop,
                             kgm_rng *rng, kgm_tensor **out) {
    kgm_tensor *h;
    KGM_TRY(kgm_op_linear(tp, x, P(w), P(b), &h));
    KGM_TRY(kgm_op_relu(tp, h, &h));
    if (drop > 0) KGM_TRY(kgm_op_dropout(tp, h, drop, rng, &h));
    *out = h;
    return KGM_OK;
}

static kgm_status gate(kgm_tape *tp, kgm_params *ps, kgm_tensor *x, int32_t w, kgm_tensor **out) {
    kgm_tensor *z;
    KGM_TRY(kgm_op_linear(tp, x, P(w), NULL, &z));
    return kgm_op_softmax(tp, z, out);
}

kgm_status kgm_mixer_forward(const kgm_mixer *m, kgm_tape *tp, kgm_params *ps, kgm_tensor *x, const bool *want,
                             kgm_rng *rng, kgm_tensor **out) {
    if (x->cols != m->in_dim)
        return KGM_ERR(KGM_ERR_SHAPE, "mixer: input has %d columns, the mixer was built for %d", x->cols, m->in_dim);
    int T = m->n_tasks;
    kgm_tensor *mix[KGM_MAX_TASKS] = {0};
    bool want_all[KGM_MAX_TASKS];
    if (m->kind == KGM_MIXER_CROSS_STITCH) { /* every tower takes part in the mixing */
        for (int k = 0; k < T; k++) want_all[k] = true;
        want = want_all;
    } else if (m->n_conn > 0 && want) { /* sources of wanted targets are needed too */
        for (int k = 0; k < T; k++) want_all[k] = want[k];
        kgm_connection_expand_want(m->conn, m->n_conn, T, want_all);
        want = want_all;
    }
    switch (m->kind) {
    case KGM_MIXER_NONE:
        for (int k = 0; k < T; k++) mix[k] = x;
        break;
    case KGM_MIXER_SHARED_BOTTOM: {
        kgm_tensor *h;
        KGM_TRY(dense_relu(tp, ps, x, m->bottom_w[0], m->bottom_b[0], m->dropout, rng, &h));
        for (int k = 0; k < T; k++) mix[k] = h;
        break;
    }
    case KGM_MIXER_SEPARATE:
    case KGM_MIXER_CROSS_STITCH:
        for (int k = 0; k < T; k++)
            if (!want || want[k]) KGM_TRY(dense_relu(tp, ps, x, m->bottom_w[k], m->bottom_b[k], m->dropout, rng, &mix[k]));
        if (m->kind == KGM_MIXER_CROSS_STITCH) KGM_TRY(kgm_cross_stitch_forward(&m->cs_bottom, tp, ps, mix, mix));
        break;
    case KGM_MIXER_MMOE:
    case KGM_MIXER_OMOE: {
        kgm_tensor *ex, *g0 = NULL;
        KGM_TRY(dense_relu(tp, ps, x, m->exp_w, m->exp_b, m->dropout, rng, &ex));
        if (m->kind == KGM_MIXER_OMOE) KGM_TRY(gate(tp, ps, x, m->gate_w[0], &g0));
        for (int k = 0; k < T; k++) {
            if (want && !want[k]) continue;
            kgm_tensor *g = g0;
            if (!g) KGM_TRY(gate(tp, ps, x, m->gate_w[k], &g));
            KGM_TRY(kgm_op_mixture(tp, ex, g, &mix[k]));
        }
        break;
    }
    case KGM_MIXER_PLE: {
        /* CGC levels: task k mixes its own experts and the shared ones with
         * its gate; the shared stream (all levels but the last) mixes every
         * expert with the shared gate. Inputs of level l+1 are level l's
         * outputs per stream. */
        kgm_tensor *tin[KGM_MAX_TASKS], *sin = x;
        for (int k = 0; k < T; k++) tin[k] = x;
        for (int l = 0; l < m->levels; l++) {
            bool last = l == m->levels - 1;
            kgm_tensor *shared_ex, *task_ex[KGM_MAX_TASKS] = {0}, *tout[KGM_MAX_TASKS] = {0};
            KGM_TRY(dense_relu(tp, ps, sin, m->ple_sw[l], m->ple_sb[l], m->dropout, rng, &shared_ex));
            for (int k = 0; k < T; k++) {
                if (last && want && !want[k]) continue;
                KGM_TRY(dense_relu(tp, ps, tin[k], m->ple_tw[l][k], m->ple_tb[l][k], m->dropout, rng, &task_ex[k]));
                kgm_tensor *both[2] = {task_ex[k], shared_ex}, *cat, *g;
                KGM_TRY(kgm_op_concat_cols(tp, 2, both, &cat));
                KGM_TRY(gate(tp, ps, tin[k], m->ple_gw[l][k], &g));
                KGM_TRY(kgm_op_mixture(tp, cat, g, &tout[k]));
            }
            if (!last) {
                kgm_tensor *all[KGM_MAX_TASKS + 1], *cat, *g, *snext;
                for (int k = 0; k < T; k++) all[k] = task_ex[k];
                all[T] = shared_ex;
                KGM_TRY(kgm_op_concat_cols(tp, T + 1, all, &cat));
                KGM_TRY(gate(tp, ps, sin, m->ple_sgw[l], &g));
                KGM_TRY(kgm_op_mixture(tp, cat, g, &snext));
                sin = snext;
                for (int k = 0; k < T; k++) tin[k] = tout[k];
            } else {
                for (int k = 0; k < T; k++) mix[k] = tout[k];
            }
        }
        break;
    }
    }
    for (int k = 0; k < T; k++) {
        out[k] = NULL;
        if (want && !want[k]) continue;
        if (m->tower > 0) KGM_TRY(dense_relu(tp, ps, mix[k], m->tower_w[k], m->tower_b[k], 0.0f, rng, &out[k]));
        else out[k] = mix[k];
    }
    if (m->kind == KGM_MIXER_CROSS_STITCH && m->tower > 0) KGM_TRY(kgm_cross_stitch_forward(&m->cs_tower, tp, ps, out, out));
    if (m->n_conn > 0) KGM_TRY(kgm_connection_apply(m->conn, m->n_conn, tp, ps, T, out));
    return KGM_OK;
}
