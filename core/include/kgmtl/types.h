/* kgmtl/types.h — the small set of types shared by the host and task plugins.
 *
 * This header is part of the plugin ABI (installed beside plugin.h). Everything
 * here is append-only: fields are never reordered or removed, only added at the
 * end of structs that carry a struct_size. */
#ifndef KGMTL_TYPES_H
#define KGMTL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Every fallible function returns one; the message is in the
 * thread-local error buffer (kgm_error_message()). Values are stable. */
typedef enum kgm_status {
    KGM_OK = 0,
    KGM_ERR_NOMEM = 1,       /* allocation failed */
    KGM_ERR_SHAPE = 2,       /* tensor shapes do not agree */
    KGM_ERR_INDEX = 3,       /* an index is out of range */
    KGM_ERR_ARG = 4,         /* invalid argument / option value */
    KGM_ERR_IO = 5,          /* file system error */
    KGM_ERR_PARSE = 6,       /* malformed input file */
    KGM_ERR_ARENA = 7,       /* the per-step arena is exhausted */
    KGM_ERR_NUMERIC = 8,     /* NaN/Inf or other numerical failure */
    KGM_ERR_GRAPH = 9,       /* igraph reported an error */
    KGM_ERR_PLUGIN = 10,     /* a plugin failed to load or misbehaved */
    KGM_ERR_ABI = 11,        /* plugin ABI mismatch */
    KGM_ERR_STATE = 12,      /* call made in the wrong state */
    KGM_ERR_UNSUPPORTED = 13,/* not implemented / not available */
    KGM_ERR_FORMAT = 14,     /* binary file (cache/checkpoint) is corrupt or stale */
    KGM_ERR_INTERRUPTED = 15 /* stopped on request */
} kgm_status;

/* Tensor flags. */
#define KGM_TENSOR_PARAM  (1u << 0) /* lives in a parameter store */
#define KGM_TENSOR_SPARSE (1u << 1) /* embedding table: row-sparse gradient */
#define KGM_TENSOR_FROZEN (1u << 2) /* parameter receives no update */

/* A 2-D float32 row-major tensor (rows, cols); a vector is (n, 1).
 * `grad` is NULL when no gradient flows into this tensor. Tensors produced by
 * tape ops live in the tape's arena and are valid until the tape is reset. */
typedef struct kgm_tensor {
    int32_t rows;
    int32_t cols;
    float *data;      /* rows*cols values */
    float *grad;      /* rows*cols gradient accumulator or NULL */
    uint32_t flags;   /* KGM_TENSOR_* */
    int32_t param_id; /* index in the owning parameter store, or -1 */
    void *owner;      /* host-private (parameter record); plugins must not touch */
} kgm_tensor;

static inline int64_t kgm_tensor_numel(const kgm_tensor *t) {
    return (int64_t)t->rows * (int64_t)t->cols;
}

/* Parameter initialisation schemes (kgm_init.kind). `a` is the scheme's
 * argument: std for NORMAL, half-range for UNIFORM, value for CONST, gain for
 * XAVIER_* / KAIMING_* (0 means the default gain 1 / sqrt(2)). Fan-in is
 * `rows`, fan-out is `cols` (weights are stored (in, out)). */
typedef enum kgm_init_kind {
    KGM_INIT_ZEROS = 0,
    KGM_INIT_CONST = 1,
    KGM_INIT_NORMAL = 2,
    KGM_INIT_UNIFORM = 3,
    KGM_INIT_XAVIER_UNIFORM = 4,
    KGM_INIT_XAVIER_NORMAL = 5,
    KGM_INIT_KAIMING_UNIFORM = 6,
    KGM_INIT_KAIMING_NORMAL = 7
} kgm_init_kind;

typedef struct kgm_init {
    kgm_init_kind kind;
    float a;
} kgm_init;

/* A CSR sparse matrix (rows x cols, nnz entries) used by kgm_op_spmm and the
 * segment ops. `val` may be NULL (all ones). The transpose arrays are optional;
 * when present the backward pass runs over them without atomics:
 * t_rowptr (cols+1), t_col[k] = original row of transposed entry k,
 * t_perm[k] = index of that entry in the original arrays. */
typedef struct kgm_csr {
    int32_t rows;
    int32_t cols;
    int64_t nnz;
    const int64_t *rowptr; /* rows+1 */
    const int32_t *col;    /* nnz */
    const float *val;      /* nnz or NULL */
    const int64_t *t_rowptr;
    const int32_t *t_col;
    const int64_t *t_perm;
} kgm_csr;

/* A position on a tape (arena offset and record count), for releasing
 * temporaries made after it (kgm_tape_rewind). */
typedef struct kgm_tape_mark {
    size_t arena_used;
    int64_t n_records;
} kgm_tape_mark;

/* Opaque host objects handed to plugins through the host API. */
typedef struct kgm_tape kgm_tape;
typedef struct kgm_params kgm_params;

/* Seedable random stream (xoshiro256**). Plain data so that it can be
 * checkpointed; create independent streams with kgm_rng_init(seed, stream). */
typedef struct kgm_rng {
    uint64_t s[4];
    double spare_normal;
    int32_t has_spare;
    int32_t pad_;
} kgm_rng;

#ifdef __cplusplus
}
#endif
#endif
