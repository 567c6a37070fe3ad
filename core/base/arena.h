/* core/base/arena.h — bump allocator for per-step temporaries. */
#ifndef KGMTL_ARENA_H
#define KGMTL_ARENA_H

#include "core/base/status.h"

typedef struct kgm_arena {
    unsigned char *base;
    size_t cap;        /* bytes reserved */
    size_t used;       /* bytes handed out since the last reset */
    size_t high_water; /* maximum of `used` over the arena's life */
} kgm_arena;

/* Reserve `cap` bytes (pages are touched lazily by the OS). */
kgm_status kgm_arena_init(kgm_arena *a, size_t cap);
void kgm_arena_destroy(kgm_arena *a);
/* Allocate `bytes` aligned to 64 bytes; KGM_ERR_ARENA when the arena is full. */
kgm_status kgm_arena_alloc(kgm_arena *a, size_t bytes, void **out);
/* Forget every allocation (memory is reused by the next step). */
void kgm_arena_reset(kgm_arena *a);

#endif
