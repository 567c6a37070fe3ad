/* core/tensor/params.h — the parameter store.
 *
 * Parameters are declared by name and shape first, then kgm_params_finalize
 * places them all in ONE contiguous float buffer (and one gradient buffer), as
 * in llm.c, so zeroing, optimisers and checkpoints are flat loops. Each
 * parameter is initialised from its own random stream derived from (seed,
 * name), so adding a parameter never changes another one's initial values.
 *
 * Embedding tables are declared with KGM_TENSOR_SPARSE: only the rows touched
 * by kgm_op_gather since the last zero_grad are zeroed and updated. */
#ifndef KGMTL_PARAMS_H
#define KGMTL_PARAMS_H

#include "core/base/status.h"

#define KGM_PARAM_NAME_MAX 96

typedef struct kgm_param {
    char name[KGM_PARAM_NAME_MAX];
    kgm_tensor t;      /* view into the store (valid after finalize) */
    kgm_init init;
    int32_t group;     /* parameter group (learning rate / freezing) */
    size_t offset;     /* element offset in the store buffers */
    bool has_grad;     /* received a gradient since the last zero_grad */
    /* row-sparse bookkeeping (KGM_TENSOR_SPARSE only) */
    bool all_touched;
    int32_t n_touched;
    int32_t *touched;  /* rows touched since last zero_grad */
    uint8_t *mark;     /* per-row touched flag */
} kgm_param;

struct kgm_params {
    kgm_param *p;
    int32_t n, cap;
    float *data;   /* all values, contiguous */
    float *grad;   /* all gradients, contiguous */
    size_t total;  /* number of floats */
    bool finalized;
};

kgm_status kgm_params_new(kgm_params **out);
void kgm_params_free(kgm_params *ps);
/* Declare a parameter (before finalize). Names must be unique. */
kgm_status kgm_params_declare(kgm_params *ps, const char *name, int32_t rows, int32_t cols,
                              kgm_init init, uint32_t flags, int32_t group, int32_t *id_out);
/* Allocate the contiguous buffers and initialise every parameter from `seed`. */
kgm_status kgm_params_finalize(kgm_params *ps, uint64_t seed);
/* Re-initialise one parameter from `seed` (as finalize would). */
kgm_status kgm_params_reinit(kgm_params *ps, int32_t id, uint64_t seed);
kgm_tensor *kgm_params_tensor(kgm_params *ps, int32_t id);
/* Id of a parameter by name, or -1. */
int32_t kgm_params_find(const kgm_params *ps, const char *name);
/* Zero gradients: dense parameters fully, sparse ones only on touched rows. */
void kgm_params_zero_grad(kgm_params *ps);
/* Zero the gradient values only, keeping the marks of this step (has_grad,
 * touched rows, all_touched): a weighting method that runs several backward
 * passes over one tape (GradNorm, PCGrad) clears the values between them, and
 * the optimiser must still see every parameter the step's tape used. */
void kgm_params_zero_grad_values(kgm_params *ps);
/* Record rows of a sparse parameter as touched (called by gather backward). */
void kgm_param_touch_rows(kgm_param *p, const int32_t *rows, int64_t n);
/* Mark a sparse parameter as fully touched (a dense op used it). */
void kgm_param_touch_all(kgm_param *p);
/* Number of floats in the store. */
size_t kgm_params_numel(const kgm_params *ps);

#endif
