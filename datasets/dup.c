/* Duplicate detection by a stable LSD radix sort of packed row keys. */
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

typedef struct {
    uint64_t key;
    uint64_t row;
} keyed;

static int bits_for(const int32_t *a, int64_t n) {
    if (!a) return 0;
    uint32_t mx = 0;
    for (int64_t i = 0; i < n; i++) mx |= (uint32_t)a[i];
    int b = 0;
    while (b < 32 && (mx >> b)) b++;
    return b;
}

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Stable sort by key, 8 bits per pass, skipping bytes that are constant. */
static bool radix_sort(keyed *v, int64_t n) {
    if (n < 2) return true;
    keyed *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) return false;
    kgm__prefault(tmp, (size_t)n * sizeof *tmp);
    int64_t (*cnt)[256] = calloc(8, sizeof *cnt);
    if (!cnt) {
        free(tmp);
        return false;
    }
    for (int64_t i = 0; i < n; i++) {
        uint64_t k = v[i].key;
        for (int b = 0; b < 8; b++) cnt[b][(k >> (8 * b)) & 0xFF]++;
    }
    keyed *src = v, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        int64_t *c = cnt[b];
        if (c[(src[0].key >> (8 * b)) & 0xFF] == n) continue; /* constant byte */
        int64_t sum = 0;
        for (int d = 0; d < 256; d++) {
            int64_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (int64_t i = 0; i < n; i++) dst[c[(src[i].key >> (8 * b)) & 0xFF]++] = src[i];
        keyed *t = src;
        src = dst;
        dst = t;
    }
    if (src != v) memcpy(v, src, (size_t)n * sizeof *v);
    free(cnt);
    free(tmp);
    return true;
}

/* Keys only (counting, no rows to mark): half the memory of keyed pairs. */
static bool radix_sort_keys(uint64_t *v, int64_t n, int bits) {
    int nb = (bits + 7) / 8; /* only the bytes keys can use */
    if (n < 2) return true;
    uint64_t *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) return false;
    kgm__prefault(tmp, (size_t)n * sizeof *tmp);
    int64_t(*cnt)[256] = calloc(8, sizeof *cnt);
    if (!cnt) {
        free(tmp);
        return false;
    }
    for (int64_t i = 0; i < n; i++)
        for (int b = 0; b < nb; b++) cnt[b][(v[i] >> (8 * b)) & 0xFF]++;
    uint64_t *src = v, *dst = tmp;
    for (int b = 0; b < nb; b++) {
        int64_t *c = cnt[b];
        if (c[(src[0] >> (8 * b)) & 0xFF] == n) continue;
        int64_t sum = 0;
        for (int d = 0; d < 256; d++) {
            int64_t x = c[d];
            c[d] = sum;
            sum += x;
        }
        for (int64_t i = 0; i < n; i++) dst[c[(src[i] >> (8 * b)) & 0xFF]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v) memcpy(v, src, (size_t)n * sizeof *v);
    free(cnt);
    free(tmp);
    return true;
}

/* Pairs with dense non-negative ids: group rows by `a` (stable counting
 * sort, 4 bytes per row) and find repeats of `b` within each group with a
 * stamp array indexed by `b` (small enough to stay in cache for item ids).
 * Linear time, and a quarter of the memory of sorting keyed rows. Returns -2
 * when the ids are not dense enough for it. */
static int64_t dups_grouped(const int32_t *a, const int32_t *b, int64_t n, uint8_t *dup_out) {
    int32_t amax = -1, bmax = -1;
    for (int64_t i = 0; i < n; i++) {
        if (a[i] < 0 || b[i] < 0) return -2;
        if (a[i] > amax) amax = a[i];
        if (b[i] > bmax) bmax = b[i];
    }
    if (n > INT32_MAX || (int64_t)amax + bmax > 4 * n + (1 << 22)) return -2;
    int64_t *ptr = calloc((size_t)amax + 2, sizeof *ptr);
    int32_t *rows = malloc((size_t)n * sizeof *rows), *stamp = malloc(((size_t)bmax + 1) * sizeof *stamp);
    if (!ptr || !rows || !stamp) {
        free(ptr);
        free(rows);
        free(stamp);
        return -1;
    }
    kgm__prefault(rows, (size_t)n * sizeof *rows);
    for (int64_t i = 0; i < n; i++) ptr[a[i] + 1]++;
    for (int32_t u = 0; u <= amax; u++) ptr[u + 1] += ptr[u];
    for (int64_t i = 0; i < n; i++) rows[ptr[a[i]]++] = (int32_t)i; /* ptr[u] ends at the start of u+1 */
    memset(stamp, 0xff, ((size_t)bmax + 1) * sizeof *stamp);
    int64_t d = 0, k = 0;
    for (int32_t u = 0; u <= amax; u++) {
        for (; k < ptr[u]; k++) {
            int32_t r = rows[k], it = b[r];
            if (stamp[it] == u) {
                d++;
                if (dup_out) dup_out[r] = 1;
            } else {
                stamp[it] = u;
            }
        }
    }
    free(ptr);
    free(rows);
    free(stamp);
    return d;
}

int64_t kgm__find_dups(const int32_t *a, const int32_t *b, const int32_t *c, int64_t n, uint8_t *dup_out) {
    if (dup_out) memset(dup_out, 0, (size_t)(n > 0 ? n : 0));
    if (n < 2) return 0;
    if (b && !c) {
        int64_t d = dups_grouped(a, b, n, dup_out);
        if (d != -2) return d;
    }
    int ba = bits_for(a, n), bb = bits_for(b, n), bc = bits_for(c, n);
    bool packed = ba + bb + bc <= 64;
    if (packed && !dup_out) {
        uint64_t *k = malloc((size_t)n * sizeof *k);
        if (!k) return -1;
        kgm__prefault(k, (size_t)n * sizeof *k);
        for (int64_t i = 0; i < n; i++) {
            uint64_t x = (uint32_t)a[i];
            if (b) x = (x << bb) | (uint32_t)b[i];
            if (c) x = (x << bc) | (uint32_t)c[i];
            k[i] = x;
        }
        if (!radix_sort_keys(k, n, ba + bb + bc)) {
            free(k);
            return -1;
        }
        int64_t d = 0;
        for (int64_t i = 1; i < n; i++) d += k[i] == k[i - 1];
        free(k);
        return d;
    }
    keyed *v = malloc((size_t)n * sizeof *v);
    if (!v) return -1;
    kgm__prefault(v, (size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
        uint64_t k;
        if (packed) {
            k = (uint64_t)(uint32_t)a[i];
            if (b) k = (k << bb) | (uint32_t)b[i];
            if (c) k = (k << bc) | (uint32_t)c[i];
        } else {
            k = mix64((uint64_t)(uint32_t)a[i] * 0x9E3779B97F4A7C15ull ^ (b ? (uint32_t)b[i] : 0));
            k = mix64(k ^ (c ? (uint64_t)(uint32_t)c[i] << 17 : 0));
        }
        v[i] = (keyed){k, (uint64_t)i};
    }
    if (!radix_sort(v, n)) {
        free(v);
        return -1;
    }
    int64_t dups = 0;
    for (int64_t s = 0; s < n;) {
        int64_t e = s + 1;
        while (e < n && v[e].key == v[s].key) e++;
        for (int64_t i = s + 1; i < e; i++) {
            bool is_dup = packed;
            if (!packed) { /* hashed keys: compare the rows for real */
                int64_t ri = (int64_t)v[i].row;
                for (int64_t j = s; j < i && !is_dup; j++) {
                    int64_t rj = (int64_t)v[j].row;
                    is_dup = a[ri] == a[rj] && (!b || b[ri] == b[rj]) && (!c || c[ri] == c[rj]);
                }
            }
            if (is_dup) {
                dups++;
                if (dup_out) dup_out[v[i].row] = 1;
            }
        }
        s = e;
    }
    free(v);
    return dups;
}

/* ---- social edges ------------------------------------------------------------------ */

/* Keys of the social edges (src << 32 | dst, with src <= dst when undirected)
 * into v, sorted stably; false when out of memory. */
static bool radix_sort_fill(const kgm_social *s, keyed *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t a = (uint32_t)s->src[i], b = (uint32_t)s->dst[i];
        if (!s->directed && b < a) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        v[i] = (keyed){(uint64_t)a << 32 | b, (uint64_t)i};
    }
    return radix_sort(v, n);
}

/* Drop rows [k] of the social arrays where drop[k] is set, keeping order. */
static void social_compact(kgm_social *s, const uint8_t *drop) {
    int64_t w = 0;
    for (int64_t i = 0; i < s->n; i++) {
        if (drop[i]) continue;
        s->src[w] = s->src[i];
        s->dst[w] = s->dst[i];
        if (s->weight) s->weight[w] = s->weight[i];
        w++;
    }
    s->n = w;
}

kgm_status kgm_social_merge(kgm_social *s, kgm_social_merged *out) {
    memset(out, 0, sizeof *out);
    int64_t n = s->n;
    if (n < 2) return KGM_OK;
    /* key: the ordered pair (directed) or the unordered one (min, max); a
     * stable sort keeps each group's rows in file order, so the first listing
     * of a pair is the one kept */
    keyed *v = malloc((size_t)n * sizeof *v);
    uint8_t *drop = calloc((size_t)n, 1);
    if (!v || !drop || !radix_sort_fill(s, v, n)) {
        free(v);
        free(drop);
        return KGM_ERR(KGM_ERR_NOMEM, "merging %lld social edges", (long long)n);
    }
    for (int64_t g = 0; g < n;) {
        int64_t e = g + 1;
        while (e < n && v[e].key == v[g].key) e++;
        int64_t keep = (int64_t)v[g].row;
        bool reverse_seen = false;
        for (int64_t j = g + 1; j < e; j++) {
            int64_t i = (int64_t)v[j].row;
            drop[i] = 1;
            bool reverse = s->src[i] != s->src[keep];
            if (reverse && !reverse_seen) out->reciprocal++, reverse_seen = true;
            else out->duplicates++;
            if (s->weight && s->weight[i] != s->weight[keep]) out->weight_conflicts++;
        }
        g = e;
    }
    social_compact(s, drop);
    free(v);
    free(drop);
    return KGM_OK;
}
