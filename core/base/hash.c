/* Streaming 64-bit hash for file checksums and fingerprints: multiply-rotate
 * mixing over 8-byte words in four lanes (several GB/s), so checksumming a
 * source while parsing it costs little. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/file.h"
#include "core/base/hash.h"

#define P1 0x9E3779B97F4A7C15ull
#define P2 0xBF58476D1CE4E5B9ull

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static inline uint64_t load64(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w; /* little-endian hosts only: the checksum is a cache key, not a format */
}
static inline uint64_t fmix(uint64_t z) {
    z = (z ^ (z >> 30)) * P2;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline uint64_t step(uint64_t h, uint64_t w) { return rotl64(h ^ (w * P2), 31) * P1; }

void kgm_hasher_init(kgm_hasher *s) {
    memset(s, 0, sizeof *s);
    s->lane[0] = 0x243F6A8885A308D3ull;
    s->lane[1] = 0x13198A2E03707344ull;
    s->lane[2] = 0xA4093822299F31D0ull;
    s->lane[3] = 0x082EFA98EC4E6C89ull;
}

static inline void block(uint64_t lane[4], const uint8_t *p) {
    lane[0] = step(lane[0], load64(p));
    lane[1] = step(lane[1], load64(p + 8));
    lane[2] = step(lane[2], load64(p + 16));
    lane[3] = step(lane[3], load64(p + 24));
}

/* 32-byte blocks over four lanes (independent multiplies run in parallel);
 * partial blocks wait in `tail`, so the result does not depend on how the
 * input is cut into update() calls. */
void kgm_hasher_update(kgm_hasher *s, const void *data, size_t n) {
    const uint8_t *p = data;
    s->total += n;
    if (s->ntail) {
        size_t take = 32 - s->ntail;
        if (take > n) take = n;
        memcpy(s->tail + s->ntail, p, take);
        s->ntail += (uint32_t)take;
        p += take;
        n -= take;
        if (s->ntail < 32) return;
        block(s->lane, s->tail);
        s->ntail = 0;
    }
    uint64_t l[4] = {s->lane[0], s->lane[1], s->lane[2], s->lane[3]};
    while (n >= 32) {
        block(l, p);
        p += 32;
        n -= 32;
    }
    memcpy(s->lane, l, sizeof l);
    memcpy(s->tail, p, n);
    s->ntail = (uint32_t)n;
}

uint64_t kgm_hasher_final(const kgm_hasher *s) {
    uint64_t h = rotl64(s->lane[0], 1) + rotl64(s->lane[1], 7) + rotl64(s->lane[2], 12) + rotl64(s->lane[3], 18);
    uint32_t i = 0;
    for (; i + 8 <= s->ntail; i += 8) h = step(h, load64(s->tail + i));
    if (i < s->ntail) {
        uint8_t w[8] = {0};
        memcpy(w, s->tail + i, s->ntail - i);
        h = step(h, load64(w) ^ ((uint64_t)(s->ntail - i) << 56));
    }
    return fmix(h ^ s->total);
}

uint64_t kgm_hash64(const void *data, size_t n) {
    kgm_hasher s;
    kgm_hasher_init(&s);
    kgm_hasher_update(&s, data, n);
    return kgm_hasher_final(&s);
}

kgm_status kgm_file_checksum(const char *path, uint64_t *out_bytes, uint64_t *out_sum) {
    int fd;
    KGM_TRY(kgm_file_open_regular(path, &fd, NULL));
    enum { BUF = 1 << 20 };
    uint8_t *buf = malloc(BUF);
    if (!buf) {
        close(fd);
        return KGM_ERR(KGM_ERR_NOMEM, "checksum buffer");
    }
    kgm_hasher s;
    kgm_hasher_init(&s);
    for (;;) {
        ssize_t k = read(fd, buf, BUF);
        if (k < 0) {
            if (errno == EINTR) continue;
            free(buf);
            close(fd);
            return KGM_ERR(KGM_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        }
        if (k == 0) break;
        kgm_hasher_update(&s, buf, (size_t)k);
    }
    free(buf);
    close(fd);
    if (out_bytes) *out_bytes = s.total;
    if (out_sum) *out_sum = kgm_hasher_final(&s);
    return KGM_OK;
}
