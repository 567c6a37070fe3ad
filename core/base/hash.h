/* core/base/hash.h — the 64-bit hash of files, configurations and checkpoints. */
#ifndef KGMTL_BASE_HASH_H
#define KGMTL_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/status.h"

/* Streaming 64-bit non-cryptographic hash (file checksums, fingerprints). */
typedef struct kgm_hasher {
    uint64_t lane[4]; /* four independent lanes over 32-byte blocks */
    uint64_t total;
    uint8_t tail[32];
    uint32_t ntail;
} kgm_hasher;
void kgm_hasher_init(kgm_hasher *s);
void kgm_hasher_update(kgm_hasher *s, const void *data, size_t n);
uint64_t kgm_hasher_final(const kgm_hasher *s);
uint64_t kgm_hash64(const void *data, size_t n);
/* Checksum and size of a whole file. */
kgm_status kgm_file_checksum(const char *path, uint64_t *out_bytes, uint64_t *out_sum);

#endif
