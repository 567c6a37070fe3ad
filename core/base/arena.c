/* Bump allocator: one reservation, 64-byte aligned allocations, O(1) reset. */
#include "core/base/arena.h"

#include <stdlib.h>
#include <sys/mman.h>

/* Reservations of at least this size are mapped directly: pages are touched
 * only when used, and malloc debugging fills (MALLOC_PERTURB_) do not write
 * gigabytes the arena never uses. */
#define KGM_ARENA_MMAP_MIN ((size_t)1 << 20)

kgm_status kgm_arena_init(kgm_arena *a, size_t cap) {
    a->base = NULL;
    a->cap = a->used = a->high_water = 0;
    if (cap == 0) return KGM_ERR(KGM_ERR_ARG, "arena capacity must be > 0");
    cap = (cap + 63) & ~(size_t)63;
    if (cap >= KGM_ARENA_MMAP_MIN) {
        void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        a->base = p == MAP_FAILED ? NULL : p;
    } else {
        a->base = aligned_alloc(64, cap);
    }
    if (!a->base) return KGM_ERR(KGM_ERR_NOMEM, "cannot reserve %zu bytes for the arena", cap);
    a->cap = cap;
    return KGM_OK;
}

void kgm_arena_destroy(kgm_arena *a) {
    if (a->base && a->cap >= KGM_ARENA_MMAP_MIN) munmap(a->base, a->cap);
    else free(a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

kgm_status kgm_arena_alloc(kgm_arena *a, size_t bytes, void **out) {
    *out = NULL;
    size_t need = (bytes + 63) & ~(size_t)63;
    if (need < bytes || a->used > a->cap || need > a->cap - a->used)
        return KGM_ERR(KGM_ERR_ARENA,
                       "arena exhausted: %zu bytes requested, %zu of %zu in use "
                       "(raise the arena size, e.g. optimisation.arena_mb, or lower the batch size)",
                       bytes, a->used, a->cap);
    *out = a->base + a->used;
    a->used += need;
    if (a->used > a->high_water) a->high_water = a->used;
    return KGM_OK;
}

void kgm_arena_reset(kgm_arena *a) { a->used = 0; }
