/* The plugin ABI, frozen: _Static_asserts on the size and every offset of
 * each struct that crosses the host/plugin boundary, as ABI 1.0 laid them out
 * on LP64 (x86-64, aarch64 Linux), and the prefix rules by minor.
 *
 * An edit of kgmtl/plugin.h or kgmtl/types.h that moves a 1.0 member fails
 * to build here. Appending is allowed only where a receiver honours a size:
 * kgm_host_api and kgm_metrics_api (struct_size, checked by the plugin),
 * kgm_task_plugin (struct_size, the host copies the plugin's prefix) and
 * kgm_batch (the host uses the prefix of the plugin's minor,
 * kgm_abi_batch_size). The others are passed by value or indexed in arrays
 * (kgm_option_spec, kgm_metric_spec) with the host's stride, so their layout
 * is fixed for the whole of major 1: extending one means a new struct. */
#include <stdint.h>

#include "kgmtl/plugin.h"
#include "core/plugin/plugin_internal.h"

/* Members of the 1.0 tables, in order (X-macros for the offset checks). */
#define KGM_HOST_API_1_0(X) \
    X(alloc) X(calloc) X(free) X(log) X(error_set) X(error_message) \
    X(opt_int) X(opt_float) X(opt_bool) X(opt_string) X(param_declare) X(param) \
    X(count) X(split_rows) X(user_items) X(kg_true_tails) X(embed) X(embed_all) \
    X(represent) X(rng) X(rng_below) X(rng_uniform) X(rng_normal) X(tape_tensor) \
    X(tape_input) X(tape_alloc) X(tape_training) X(tape_get_mark) X(tape_rewind) X(op_matmul) \
    X(op_linear) X(op_bias_add) X(op_add) X(op_sub) X(op_mul) X(op_scale) \
    X(op_mul_bcast) X(op_concat_cols) X(op_slice_cols) X(op_relu) X(op_leaky_relu) X(op_sigmoid) \
    X(op_tanh) X(op_exp) X(op_softplus) X(op_softmax) X(op_dropout) X(op_layernorm) \
    X(op_gather) X(op_segment_sum) X(op_segment_mean) X(op_segment_softmax) X(op_rowdot) X(op_rowcos) \
    X(op_spmm) X(op_sum) X(op_mean) X(op_bce_logits) X(op_softmax_ce) X(op_mse) \
    X(op_bpr) X(op_margin_ranking) X(metrics) X(gradcheck) \

#define KGM_METRICS_API_1_0(X) \
    X(auc) X(logloss) X(accuracy) X(f1) X(rmse) X(mae) \
    X(mc_accuracy) X(mc_macro_f1) X(ml_micro_f1) X(ml_macro_f1) X(rank_user) X(filtered_rank) \

#define KGM_SIZE(T, n) _Static_assert(sizeof(T) == (n), "ABI 1.0: sizeof(" #T ") changed")
#define KGM_OFF(T, f, n) _Static_assert(offsetof(T, f) == (n), "ABI 1.0: offset of " #T "." #f " changed")

#if UINTPTR_MAX == 0xffffffffffffffffu && !defined(KGM_ABI_SIMULATE_NEXT_MINOR)
/* types.h */
KGM_SIZE(kgm_tensor, 40);
KGM_OFF(kgm_tensor, rows, 0); KGM_OFF(kgm_tensor, cols, 4); KGM_OFF(kgm_tensor, data, 8);
KGM_OFF(kgm_tensor, grad, 16); KGM_OFF(kgm_tensor, flags, 24); KGM_OFF(kgm_tensor, param_id, 28);
KGM_OFF(kgm_tensor, owner, 32);
KGM_SIZE(kgm_init, 8);
KGM_OFF(kgm_init, kind, 0); KGM_OFF(kgm_init, a, 4);
KGM_SIZE(kgm_csr, 64);
KGM_OFF(kgm_csr, rows, 0); KGM_OFF(kgm_csr, cols, 4); KGM_OFF(kgm_csr, nnz, 8); KGM_OFF(kgm_csr, rowptr, 16);
KGM_OFF(kgm_csr, col, 24); KGM_OFF(kgm_csr, val, 32); KGM_OFF(kgm_csr, t_rowptr, 40); KGM_OFF(kgm_csr, t_col, 48);
KGM_OFF(kgm_csr, t_perm, 56);
KGM_SIZE(kgm_tape_mark, 16);
KGM_OFF(kgm_tape_mark, arena_used, 0); KGM_OFF(kgm_tape_mark, n_records, 8);
KGM_SIZE(kgm_rng, 48);
KGM_OFF(kgm_rng, s, 0); KGM_OFF(kgm_rng, spare_normal, 32); KGM_OFF(kgm_rng, has_spare, 40);
KGM_OFF(kgm_rng, pad_, 44);

/* plugin.h: the batch (1.1 and 1.2 added nothing; a field appended later changes
 * this size and needs a line in kgm_abi_batch_size) */
KGM_SIZE(kgm_batch, 128);
_Static_assert(KGM_BATCH_SIZE_1_0 == 128, "ABI 1.0: kgm_batch prefix changed");
KGM_OFF(kgm_batch, struct_size, 0); KGM_OFF(kgm_batch, n, 4); KGM_OFF(kgm_batch, split, 8);
KGM_OFF(kgm_batch, n_labels, 12); KGM_OFF(kgm_batch, row, 16); KGM_OFF(kgm_batch, user, 24);
KGM_OFF(kgm_batch, item, 32); KGM_OFF(kgm_batch, label, 40); KGM_OFF(kgm_batch, label2, 48);
KGM_OFF(kgm_batch, head, 56); KGM_OFF(kgm_batch, rel, 64); KGM_OFF(kgm_batch, tail, 72);
KGM_OFF(kgm_batch, src, 80); KGM_OFF(kgm_batch, dst, 88); KGM_OFF(kgm_batch, weight, 96);
KGM_OFF(kgm_batch, cls, 104); KGM_OFF(kgm_batch, multi, 112); KGM_OFF(kgm_batch, h, 120);

/* schema arrays: indexed with the host's stride, frozen for major 1 */
KGM_SIZE(kgm_option_spec, 56);
KGM_OFF(kgm_option_spec, name, 0); KGM_OFF(kgm_option_spec, type, 8); KGM_OFF(kgm_option_spec, default_value, 16);
KGM_OFF(kgm_option_spec, min, 24); KGM_OFF(kgm_option_spec, max, 32); KGM_OFF(kgm_option_spec, choices, 40);
KGM_OFF(kgm_option_spec, help, 48);
KGM_SIZE(kgm_metric_spec, 16);
KGM_OFF(kgm_metric_spec, name, 0); KGM_OFF(kgm_metric_spec, higher_is_better, 8);

/* the descriptor */
KGM_SIZE(kgm_task_plugin, 200);
KGM_OFF(kgm_task_plugin, abi_major, 0); KGM_OFF(kgm_task_plugin, abi_minor, 4);
KGM_OFF(kgm_task_plugin, struct_size, 8); KGM_OFF(kgm_task_plugin, name, 16);
KGM_OFF(kgm_task_plugin, version, 24); KGM_OFF(kgm_task_plugin, description, 32);
KGM_OFF(kgm_task_plugin, view, 40); KGM_OFF(kgm_task_plugin, input, 44); KGM_OFF(kgm_task_plugin, loss_form, 48);
KGM_OFF(kgm_task_plugin, select_metric, 52); KGM_OFF(kgm_task_plugin, n_options, 56);
KGM_OFF(kgm_task_plugin, options, 64); KGM_OFF(kgm_task_plugin, n_metrics, 72); KGM_OFF(kgm_task_plugin, metrics, 80);
KGM_OFF(kgm_task_plugin, create, 88); KGM_OFF(kgm_task_plugin, declare_params, 96);
KGM_OFF(kgm_task_plugin, forward_loss, 104); KGM_OFF(kgm_task_plugin, predict, 112);
KGM_OFF(kgm_task_plugin, eval, 120); KGM_OFF(kgm_task_plugin, destroy, 128); KGM_OFF(kgm_task_plugin, reserved, 136);

/* the host table: a 16-byte header, then one pointer per member in 1.0 order */
KGM_OFF(kgm_host_api, abi_major, 0); KGM_OFF(kgm_host_api, abi_minor, 4);
KGM_OFF(kgm_host_api, struct_size, 8); KGM_OFF(kgm_host_api, reserved0, 12);
enum {
#define KGM_IDX(m) kgm_abi_idx_##m,
    KGM_HOST_API_1_0(KGM_IDX)
#undef KGM_IDX
    kgm_abi_n_1_0
};
#define KGM_HOFF(m) KGM_OFF(kgm_host_api, m, 16 + 8 * kgm_abi_idx_##m);
KGM_HOST_API_1_0(KGM_HOFF)
_Static_assert(kgm_abi_n_1_0 == 64 && KGM_HOST_API_SIZE_1_0 == 528, "ABI 1.0: the host table has 64 members");
KGM_OFF(kgm_host_api, op_mixture, 528); KGM_OFF(kgm_host_api, op_abs, 536); KGM_OFF(kgm_host_api, op_log, 544);
KGM_OFF(kgm_host_api, op_sqrt, 552); KGM_OFF(kgm_host_api, op_clamp, 560); KGM_OFF(kgm_host_api, opt_where, 568);
KGM_OFF(kgm_host_api, op_min, 576); KGM_OFF(kgm_host_api, op_max, 584);
_Static_assert(KGM_HOST_API_SIZE_1_1 == 592,
               "ABI 1.1: the host table is 1.0 + op_mixture, op_abs, op_log, op_sqrt, op_clamp, opt_where, op_min, op_max");
KGM_OFF(kgm_host_api, eval_negatives, 592);
_Static_assert(KGM_HOST_API_SIZE_1_2 == 600 && sizeof(kgm_host_api) == KGM_HOST_API_SIZE_1_2,
               "ABI 1.2: the host table is 1.1 + eval_negatives");

KGM_SIZE(kgm_metrics_api, 112); /* 1.0: 104 bytes; 1.2 appended rank_sampled */
_Static_assert(KGM_METRICS_API_SIZE_1_0 == 104 && KGM_METRICS_API_SIZE_1_2 == 112, "metrics table sizes per minor");
KGM_OFF(kgm_metrics_api, rank_sampled, 104);
KGM_OFF(kgm_metrics_api, struct_size, 0);
enum {
#define KGM_IDX(m) kgm_abi_midx_##m,
    KGM_METRICS_API_1_0(KGM_IDX)
#undef KGM_IDX
    kgm_abi_mn_1_0
};
#define KGM_MOFF(m) KGM_OFF(kgm_metrics_api, m, 8 + 8 * kgm_abi_midx_##m);
KGM_METRICS_API_1_0(KGM_MOFF)
#endif

size_t kgm_abi_batch_size(uint32_t plugin_minor) {
    /* kgm_batch has not grown since 1.0; a minor that appends a field adds
     * `if (plugin_minor >= N) return KGM_BATCH_SIZE_1_N;` above this line. */
    if (plugin_minor >= KGM_ABI_MINOR) return sizeof(kgm_batch);
    return KGM_BATCH_SIZE_1_0;
}
