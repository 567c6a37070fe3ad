/* xoshiro256** seeded through splitmix64 (Blackman & Vigna). */
#include "core/base/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void kgm_rng_init(kgm_rng *r, uint64_t seed, uint64_t stream) {
    /* Mix the stream id through its own splitmix step so that nearby
     * (seed, stream) pairs give unrelated states. */
    uint64_t sm = stream;
    uint64_t x = seed ^ splitmix64(&sm);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
    r->has_spare = 0;
    r->spare_normal = 0.0;
    r->pad_ = 0;
}

uint64_t kgm_rng_stream_id(const char *component, uint64_t sub) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)component; p && *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    uint64_t x = h ^ (sub * 0x9E3779B97F4A7C15ull);
    return splitmix64(&x);
}

uint64_t kgm_rng_u64(kgm_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kgm_rng_uniform(kgm_rng *r) { return (double)(kgm_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t kgm_rng_below(kgm_rng *r, uint64_t n) {
    /* Lemire's nearly-divisionless method, with rejection for exactness. */
    uint64_t x = kgm_rng_u64(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = kgm_rng_u64(r);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double kgm_rng_normal(kgm_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare_normal;
    }
    double u1, u2;
    do u1 = kgm_rng_uniform(r);
    while (u1 <= 0.0);
    u2 = kgm_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 2.0 * M_PI * u2;
    r->spare_normal = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

void kgm_rng_shuffle_i32(kgm_rng *r, int32_t *a, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)kgm_rng_below(r, (uint64_t)i + 1);
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
