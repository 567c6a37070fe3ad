/* core/tensor/tape.h — eager reverse-mode autodiff.
 *
 * Each op (core/tensor/ops.h) computes its output immediately into the tape's arena
 * and, when gradients are enabled and an input carries a gradient, appends a
 * record {backward, inputs, output, saved}. kgm_tape_backward walks the records
 * in reverse; every backward kernel ACCUMULATES into its inputs' gradients.
 * kgm_tape_reset drops the records and recycles the arena (once per step). */
#ifndef KGMTL_TAPE_H
#define KGMTL_TAPE_H

#include "core/base/arena.h"
#include "core/base/status.h"

typedef struct kgm_node kgm_node;
typedef void (*kgm_backward_fn)(kgm_tape *tp, kgm_node *n);

/* One tape record. Ops keep their arguments in the small fixed slots or in
 * `saved` (arena memory). */
struct kgm_node {
    kgm_backward_fn backward;
    kgm_tensor *out;
    kgm_tensor *in[4];
    void *saved;
    const void *ptr[3];
    int64_t iarg[4];
    float farg[4];
};

/* Create a tape whose arena holds `arena_bytes` of per-step temporaries. */
kgm_status kgm_tape_new(size_t arena_bytes, kgm_tape **out);
void kgm_tape_free(kgm_tape *tp);
/* Drop all records and recycle the arena. Tensors made by ops become invalid. */
void kgm_tape_reset(kgm_tape *tp);
/* Gradient recording on/off (off for evaluation: no records, no grad buffers). */
void kgm_tape_set_grad(kgm_tape *tp, bool enabled);
bool kgm_tape_grad_enabled(const kgm_tape *tp);
/* Training mode (dropout active) on/off. */
void kgm_tape_set_training(kgm_tape *tp, bool training);
bool kgm_tape_training(const kgm_tape *tp);
/* Number of records and arena bytes in use (diagnostics). */
int64_t kgm_tape_size(const kgm_tape *tp);
size_t kgm_tape_arena_used(const kgm_tape *tp);
size_t kgm_tape_arena_high_water(const kgm_tape *tp);

/* Arena allocation for op implementations and plugins. */
kgm_status kgm_tape_alloc(kgm_tape *tp, size_t bytes, void **out);
/* A new arena tensor (data uninitialised unless `zero`); `with_grad` attaches
 * a zeroed gradient buffer (ignored when gradients are disabled). */
kgm_status kgm_tape_tensor(kgm_tape *tp, int32_t rows, int32_t cols, bool zero, bool with_grad,
                           kgm_tensor **out);
/* An arena tensor holding a copy of `data` (rows*cols), without gradient. */
kgm_status kgm_tape_input(kgm_tape *tp, int32_t rows, int32_t cols, const float *data,
                          kgm_tensor **out);
/* Append a record; returns NULL-free node pointer in *out (valid until reset).
 * Marks parameter inputs as having received a gradient, and makes any sparse
 * parameter input dense-touched unless `sparse_aware`. */
kgm_status kgm_tape_record(kgm_tape *tp, kgm_backward_fn bw, kgm_tensor *out, kgm_tensor *const *in,
                           int n_in, bool sparse_aware, kgm_node **node);
/* Backpropagate from a (1,1) loss tensor: its gradient is seeded with 1. */
kgm_status kgm_tape_backward(kgm_tape *tp, kgm_tensor *loss);
/* Backpropagate from an arbitrary tensor with a caller-filled seed gradient
 * (out->grad already set). Used for gradient checks and GradNorm. */
kgm_status kgm_tape_backward_from(kgm_tape *tp, kgm_tensor *out);

/* Remember the current position; kgm_tape_rewind releases every tensor and
 * record made after it (e.g. per-chunk scores in a long evaluation loop). */
kgm_tape_mark kgm_tape_get_mark(const kgm_tape *tp);
void kgm_tape_rewind(kgm_tape *tp, kgm_tape_mark m);

/* The tape's generation, renewed by every reset and rewind: a cache of tape
 * tensors is valid only while the generation it was made in is current.
 * Generations are unique in the process (never shared by two tapes, even one
 * allocated where a freed tape was). */
uint64_t kgm_tape_generation(const kgm_tape *tp);

/* Zero the gradient buffers of every recorded op output (not parameters), so
 * that a second backward pass over the same tape starts clean (per-task
 * gradients for PCGrad / GradNorm). */
void kgm_tape_zero_grads(kgm_tape *tp);

/* True if the op output needs a gradient given its inputs. */
bool kgm_tape_needs_grad(const kgm_tape *tp, kgm_tensor *const *in, int n_in);

#endif
