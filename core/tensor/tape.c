/* The eager tape: records, arena tensors, reverse walk. */
#include "core/tensor/tape.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor/params.h"

struct kgm_tape {
    kgm_arena arena;
    kgm_node *nodes;
    int64_t n, cap;
    bool grad_enabled;
    bool training;
    uint64_t generation; /* bumped by reset and rewind: tensors of older generations may be gone */
};

/* Generations are unique over the process, not per tape: a cache keyed on
 * (tape pointer, generation) must not match a new tape that happens to be
 * allocated at a freed tape's address. */
static _Atomic uint64_t next_generation = 1;
static uint64_t new_generation(void) { return next_generation++; }

kgm_status kgm_tape_new(size_t arena_bytes, kgm_tape **out) {
    *out = NULL;
    kgm_tape *tp = calloc(1, sizeof *tp);
    if (!tp) return KGM_ERR(KGM_ERR_NOMEM, "tape");
    kgm_status st = kgm_arena_init(&tp->arena, arena_bytes);
    if (st) {
        free(tp);
        return st;
    }
    tp->grad_enabled = true;
    tp->training = true;
    tp->generation = new_generation();
    *out = tp;
    return KGM_OK;
}

void kgm_tape_free(kgm_tape *tp) {
    if (!tp) return;
    kgm_arena_destroy(&tp->arena);
    free(tp->nodes);
    free(tp);
}

void kgm_tape_reset(kgm_tape *tp) {
    tp->n = 0;
    tp->generation = new_generation();
    kgm_arena_reset(&tp->arena);
}

void kgm_tape_set_grad(kgm_tape *tp, bool enabled) { tp->grad_enabled = enabled; }
bool kgm_tape_grad_enabled(const kgm_tape *tp) { return tp->grad_enabled; }
void kgm_tape_set_training(kgm_tape *tp, bool training) { tp->training = training; }
bool kgm_tape_training(const kgm_tape *tp) { return tp->training; }
int64_t kgm_tape_size(const kgm_tape *tp) { return tp->n; }
size_t kgm_tape_arena_used(const kgm_tape *tp) { return tp->arena.used; }
size_t kgm_tape_arena_high_water(const kgm_tape *tp) { return tp->arena.high_water; }

kgm_status kgm_tape_alloc(kgm_tape *tp, size_t bytes, void **out) {
    return kgm_arena_alloc(&tp->arena, bytes, out);
}

/* Zero a float buffer; large ones are split over the OpenMP threads so that a
 * multi-threaded graph layer does not wait on a serial memset of its
 * (nodes x d) gradient, and the pages of fresh mmap'ed arenas are first
 * touched by the threads that will use them. */
static void zero_floats(float *p, size_t n) {
    enum { PAR_MIN = 1 << 18, CHUNK = 1 << 14 };
    if (n < PAR_MIN || omp_in_parallel() || omp_get_max_threads() < 2) {
        memset(p, 0, n * sizeof(float));
        return;
    }
    int64_t nchunks = (int64_t)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        size_t lo = (size_t)c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        memset(p + lo, 0, len * sizeof(float));
    }
}

kgm_status kgm_tape_tensor(kgm_tape *tp, int32_t rows, int32_t cols, bool zero, bool with_grad,
                           kgm_tensor **out) {
    *out = NULL;
    if (rows < 0 || cols < 0)
        return KGM_ERR(KGM_ERR_SHAPE, "negative tensor shape (%d, %d)", rows, cols);
    size_t n = (size_t)rows * (size_t)cols;
    kgm_tensor *t;
    KGM_TRY(kgm_arena_alloc(&tp->arena, sizeof *t, (void **)&t));
    memset(t, 0, sizeof *t);
    t->rows = rows;
    t->cols = cols;
    t->param_id = -1;
    KGM_TRY(kgm_arena_alloc(&tp->arena, (n ? n : 1) * sizeof(float), (void **)&t->data));
    if (zero) zero_floats(t->data, n);
    if (with_grad && tp->grad_enabled) {
        KGM_TRY(kgm_arena_alloc(&tp->arena, (n ? n : 1) * sizeof(float), (void **)&t->grad));
        zero_floats(t->grad, n);
    }
    *out = t;
    return KGM_OK;
}

kgm_status kgm_tape_input(kgm_tape *tp, int32_t rows, int32_t cols, const float *data,
                          kgm_tensor **out) {
    KGM_TRY(kgm_tape_tensor(tp, rows, cols, false, false, out));
    memcpy((*out)->data, data, (size_t)rows * (size_t)cols * sizeof(float));
    return KGM_OK;
}

bool kgm_tape_needs_grad(const kgm_tape *tp, kgm_tensor *const *in, int n_in) {
    if (!tp->grad_enabled) return false;
    for (int i = 0; i < n_in; i++)
        if (in[i] && in[i]->grad) return true;
    return false;
}

static void note_param_input(kgm_tensor *t, bool sparse_aware) {
    if (!t || !t->grad || !(t->flags & KGM_TENSOR_PARAM) || !t->owner) return;
    kgm_param *p = t->owner;
    p->has_grad = true;
    if ((t->flags & KGM_TENSOR_SPARSE) && !sparse_aware) kgm_param_touch_all(p);
}

kgm_status kgm_tape_record(kgm_tape *tp, kgm_backward_fn bw, kgm_tensor *out, kgm_tensor *const *in,
                           int n_in, bool sparse_aware, kgm_node **node) {
    if (node) *node = NULL;
    if (tp->n == tp->cap) {
        int64_t nc = tp->cap ? tp->cap * 2 : 256;
        kgm_node *nn = realloc(tp->nodes, (size_t)nc * sizeof *nn);
        if (!nn) return KGM_ERR(KGM_ERR_NOMEM, "tape records");
        tp->nodes = nn;
        tp->cap = nc;
    }
    kgm_node *nd = &tp->nodes[tp->n++];
    memset(nd, 0, sizeof *nd);
    nd->backward = bw;
    nd->out = out;
    for (int i = 0; i < n_in; i++) {
        if (i < 4) nd->in[i] = in[i];
        note_param_input(in[i], sparse_aware);
    }
    if (node) *node = nd;
    return KGM_OK;
}

kgm_status kgm_tape_backward_from(kgm_tape *tp, kgm_tensor *out) {
    if (!out->grad)
        return KGM_ERR(KGM_ERR_STATE, "backward from a tensor without gradient "
                                      "(no parameter contributed to it, or gradients are disabled)");
    /* Walk in reverse. Records created before `out` are all that can
     * contribute; records after it have zero output gradient and are cheap
     * to skip but we still call them for simplicity of bookkeeping. */
    for (int64_t i = tp->n - 1; i >= 0; i--) {
        kgm_node *nd = &tp->nodes[i];
        if (nd->out && nd->out->grad && nd->backward) nd->backward(tp, nd);
    }
    return KGM_OK;
}

kgm_status kgm_tape_backward(kgm_tape *tp, kgm_tensor *loss) {
    if (loss->rows != 1 || loss->cols != 1)
        return KGM_ERR(KGM_ERR_SHAPE, "backward expects a (1,1) loss, found (%d, %d)", loss->rows,
                       loss->cols);
    if (!loss->grad)
        return KGM_ERR(KGM_ERR_STATE, "the loss has no gradient: no parameter contributed to it, "
                                      "or gradients are disabled on this tape");
    loss->grad[0] += 1.0f;
    return kgm_tape_backward_from(tp, loss);
}

void kgm_tape_zero_grads(kgm_tape *tp) {
    for (int64_t i = 0; i < tp->n; i++) {
        kgm_tensor *o = tp->nodes[i].out;
        if (o && o->grad && !(o->flags & KGM_TENSOR_PARAM))
            zero_floats(o->grad, (size_t)kgm_tensor_numel(o));
    }
}

kgm_tape_mark kgm_tape_get_mark(const kgm_tape *tp) {
    kgm_tape_mark m = {tp->arena.used, tp->n};
    return m;
}

void kgm_tape_rewind(kgm_tape *tp, kgm_tape_mark m) {
    tp->generation = new_generation();
    if (m.n_records <= tp->n) tp->n = m.n_records;
    if (m.arena_used <= tp->arena.used) tp->arena.used = m.arena_used;
}

uint64_t kgm_tape_generation(const kgm_tape *tp) { return tp->generation; }
