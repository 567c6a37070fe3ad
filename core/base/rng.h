/* core/base/rng.h — reproducible random streams.
 *
 * A stream is identified by (seed, stream id): kgm_rng_init hashes both with
 * splitmix64 into a xoshiro256** state, so component k of a run with seed s
 * always draws the same numbers whatever other components do. Per-thread
 * streams use stream ids derived with kgm_rng_stream_id(component, thread). */
#ifndef KGMTL_RNG_H
#define KGMTL_RNG_H

#include "kgmtl/types.h"

void kgm_rng_init(kgm_rng *r, uint64_t seed, uint64_t stream);
/* Stable stream id for a named component and a sub-index (thread, task, ...). */
uint64_t kgm_rng_stream_id(const char *component, uint64_t sub);
uint64_t kgm_rng_u64(kgm_rng *r);
/* Uniform in [0, 1). */
double kgm_rng_uniform(kgm_rng *r);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint64_t kgm_rng_below(kgm_rng *r, uint64_t n);
/* Standard normal (Box–Muller, caches the second value). */
double kgm_rng_normal(kgm_rng *r);
/* Fisher–Yates shuffle of an int32 array. */
void kgm_rng_shuffle_i32(kgm_rng *r, int32_t *a, int64_t n);

#endif
