/* Block line reader, field splitting, number parsing and data-file errors. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datasets/data_internal.h"

#define READ_BLOCK (4u << 20)
#define MAX_LINE (256u << 20)
#define PROGRESS_MIN_BYTES (64u << 20)

void kgm__prefault(void *p, size_t bytes) {
#if defined(__linux__)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
    if (!p || bytes < (1u << 20)) return;
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
    if (e > a) (void)madvise((void *)a, e - a, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)bytes;
#endif
}

kgm_status kgm__grow(void **p, int64_t *cap, int64_t need, size_t size) {
    if (need <= *cap) return KGM_OK;
    int64_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > INT64_MAX / 2) return KGM_ERR(KGM_ERR_NOMEM, "array of %lld elements", (long long)need);
        nc *= 2;
    }
    if ((uint64_t)nc > SIZE_MAX / size) return KGM_ERR(KGM_ERR_NOMEM, "array of %lld elements", (long long)nc);
    void *q = realloc(*p, (size_t)nc * size);
    if (!q) return KGM_ERR(KGM_ERR_NOMEM, "cannot grow an array to %lld elements", (long long)nc);
    kgm__prefault((char *)q + (size_t)*cap * size, (size_t)(nc - *cap) * size);
    *p = q;
    *cap = nc;
    return KGM_OK;
}

char *kgm__strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

/* ---- reader ---------------------------------------------------------------- */

static void progress_start(kgm_reader *r) {
    r->show_progress = r->opts && r->opts->progress && r->size >= PROGRESS_MIN_BYTES;
    if (r->show_progress) {
        const char *base = strrchr(r->path, '/');
        kgm_progress_begin(&r->prog, stderr, base ? base + 1 : r->path, (int64_t)(r->size >> 20));
    }
}

kgm_status kgm_reader_open(kgm_reader *r, const char *path, const kgm_load_opts *o) {
    memset(r, 0, sizeof *r);
    r->path = path;
    r->opts = o;
    r->fd = -1;
    kgm_hasher_init(&r->hash);
    int fd;
    KGM_TRY(kgm_file_open_regular(path, &fd, &r->size));
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    r->buf = malloc(READ_BLOCK);
    if (!r->buf) {
        close(fd);
        return KGM_ERR(KGM_ERR_NOMEM, "read buffer for %s", path);
    }
    kgm__prefault(r->buf, READ_BLOCK);
    r->cap = READ_BLOCK;
    r->fd = fd;
    progress_start(r);
    return KGM_OK;
}

void kgm_reader_open_mem(kgm_reader *r, const char *name, const void *data, size_t n,
                         const kgm_load_opts *o) {
    memset(r, 0, sizeof *r);
    r->path = name;
    r->opts = o;
    r->fd = -1;
    r->mem = data ? data : "";
    r->mem_len = n;
    r->size = n;
    kgm_hasher_init(&r->hash);
    kgm_hasher_update(&r->hash, r->mem, n);
}

void kgm_reader_close(kgm_reader *r) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    free(r->buf);
    r->buf = NULL;
}

static kgm_status fill(kgm_reader *r) {
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= MAX_LINE)
            return KGM_ERR(KGM_ERR_PARSE, "%s:%lld: expected a line shorter than %u MiB, found a longer one",
                           r->path, (long long)r->line_no + 1, MAX_LINE >> 20);
        char *nb = realloc(r->buf, r->cap * 2);
        if (!nb) return KGM_ERR(KGM_ERR_NOMEM, "read buffer for %s", r->path);
        r->buf = nb;
        r->cap *= 2;
    }
    for (;;) {
        ssize_t k = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (k < 0) {
            if (errno == EINTR) continue;
            return KGM_ERR(KGM_ERR_IO, "cannot read %s: %s", r->path, strerror(errno));
        }
        if (k == 0) r->eof = true;
        else kgm_hasher_update(&r->hash, r->buf + r->end, (size_t)k);
        r->end += (size_t)k;
        return KGM_OK;
    }
}

kgm_status kgm_reader_next(kgm_reader *r, const char **line, size_t *len, bool *got) {
    const char *p;
    size_t n;
    if (r->mem) {
        if (r->bytes >= r->mem_len) {
            *got = false;
            return KGM_OK;
        }
        p = r->mem + r->bytes;
        size_t rest = r->mem_len - r->bytes;
        const char *nl = memchr(p, '\n', rest);
        n = nl ? (size_t)(nl - p) : rest;
        r->bytes += n + (nl ? 1 : 0);
    } else {
        for (;;) {
            const char *s = r->buf + r->start;
            const char *nl = memchr(s, '\n', r->end - r->start);
            if (nl) {
                p = s;
                n = (size_t)(nl - s);
                r->start += n + 1;
                r->bytes += n + 1;
                break;
            }
            if (r->eof) {
                if (r->start < r->end) { /* last line without a newline */
                    p = s;
                    n = r->end - r->start;
                    r->start = r->end;
                    r->bytes += n;
                    break;
                }
                *got = false;
                if (r->show_progress) {
                    kgm_progress_update(&r->prog, (int64_t)(r->bytes >> 20), r->rows, NULL);
                }
                return KGM_OK;
            }
            KGM_TRY(fill(r));
        }
    }
    r->line_no++;
    if (!r->started) {
        r->started = true;
        if (n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
            (unsigned char)p[2] == 0xBF) {
            p += 3;
            n -= 3;
        }
    }
    if (n > 0 && p[n - 1] == '\r') n--;
    if (r->show_progress && (r->line_no & 0xFFFF) == 0)
        kgm_progress_update(&r->prog, (int64_t)(r->bytes >> 20), r->rows, NULL);
    *line = p;
    *len = n;
    *got = true;
    return KGM_OK;
}

const char *kgm__quote(char *buf, size_t n, const char *p, size_t len) {
    size_t o = 0;
    if (n < 8) {
        if (n) buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    size_t lim = len > 48 ? 48 : len;
    for (size_t i = 0; i < lim && o + 6 < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (lim < len && o + 5 < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

kgm_status kgm_reader_bad(kgm_reader *r, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!(r->opts && r->opts->lenient))
        return kgm_error_at(KGM_ERR_PARSE, r->path, r->line_no,
                             "%s", msg);
    r->skipped++;
    kgm_load_report *rep = r->opts->report;
    if (rep && rep->n_messages < KGM_LOAD_MAX_MESSAGES) {
        snprintf(rep->messages[rep->n_messages], sizeof rep->messages[0], "%s:%lld: %s", r->path,
                 (long long)r->line_no, msg);
        rep->n_messages++;
    }
    return KGM_OK;
}

kgm_status kgm_reader_finish(kgm_reader *r, kgm_dataset *ds, const char *role) {
    if (r->show_progress) {
        char extra[64];
        snprintf(extra, sizeof extra, "%lld rows", (long long)r->rows);
        kgm_progress_end(&r->prog, extra);
        r->show_progress = false;
    }
    if (r->opts && r->opts->report) {
        kgm_load_report *rep = r->opts->report;
        rep->lines += r->line_no;
        rep->rows += r->rows;
        rep->skipped += r->skipped;
        rep->duplicates += r->duplicates;
        rep->bytes += r->bytes;
    }
    if (ds) {
        ds->prov.rows_read += r->rows + r->skipped;
        ds->prov.rows_skipped += r->skipped;
        ds->prov.duplicates += r->duplicates;
        if (role)
            KGM_TRY(kgm_dataset_add_source_sum(ds, r->path, role, r->hash.total,
                                               kgm_hasher_final(&r->hash)));
    }
    return KGM_OK;
}

/* ---- fields ---------------------------------------------------------------- */

static inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

int kgm__split(const char *line, size_t len, char delim, bool quotes, kgm_field *out, int max,
               char *scratch) {
    int nf = 0;
    const char *p = line, *end = line + len;
    if (delim == ' ') {
        for (;;) {
            while (p < end && is_blank(*p)) p++;
            if (p >= end) break;
            const char *s = p;
            while (p < end && !is_blank(*p)) p++;
            if (nf < max) out[nf] = (kgm_field){s, (size_t)(p - s)};
            nf++;
        }
        return nf;
    }
    for (;;) {
        if (quotes && p < end && *p == '"') {
            /* quoted field: unquote into scratch */
            char *o = scratch;
            p++;
            for (;;) {
                if (p >= end) return -1;
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *o++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *o++ = *p++;
            }
            if (nf < max) out[nf] = (kgm_field){scratch, (size_t)(o - scratch)};
            nf++;
            scratch = o;
            /* after the closing quote: the delimiter or the end */
            if (p >= end) return nf;
            if (delim == ':') {
                if (p + 1 < end && p[0] == ':' && p[1] == ':') {
                    p += 2;
                    continue;
                }
                return -1;
            }
            if (*p != delim) return -1;
            p++;
            continue;
        }
        const char *s = p, *q;
        if (delim == ':') {
            q = p;
            for (;;) {
                q = memchr(q, ':', (size_t)(end - q));
                if (!q || (q + 1 < end && q[1] == ':')) break;
                q++;
            }
        } else {
            q = memchr(p, delim, (size_t)(end - p));
        }
        if (!q) {
            if (nf < max) out[nf] = (kgm_field){s, (size_t)(end - s)};
            return nf + 1;
        }
        if (nf < max) out[nf] = (kgm_field){s, (size_t)(q - s)};
        nf++;
        p = q + (delim == ':' ? 2 : 1);
    }
}

char kgm__guess_delim(const char *line, size_t len) {
    if (memchr(line, '\t', len)) return '\t';
    for (size_t i = 0; i + 1 < len; i++)
        if (line[i] == ':' && line[i + 1] == ':') return ':';
    if (memchr(line, ',', len)) return ',';
    if (memchr(line, ';', len)) return ';';
    if (memchr(line, '|', len)) return '|';
    return ' ';
}

kgm_field kgm__trim(kgm_field f) {
    while (f.n && is_blank(f.p[0])) {
        f.p++;
        f.n--;
    }
    while (f.n && is_blank(f.p[f.n - 1])) f.n--;
    return f;
}

bool kgm__is_missing(const char *p, size_t n) {
    switch (n) {
    case 0: return true;
    case 1: return p[0] == '?';
    case 2: return memcmp(p, "NA", 2) == 0;
    case 3: return memcmp(p, "NaN", 3) == 0 || memcmp(p, "nan", 3) == 0 || memcmp(p, "N/A", 3) == 0;
    default: return false;
    }
}

/* ---- numbers ------------------------------------------------------------------ */

bool kgm__parse_i64(const char *p, size_t n, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (n && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i >= n) return false;
    uint64_t v = 0;
    const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9) return false;
        if (v > (lim - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

bool kgm__parse_i32(const char *p, size_t n, int32_t *out) {
    int64_t v;
    if (!kgm__parse_i64(p, n, &v) || v < INT32_MIN || v > INT32_MAX) return false;
    *out = (int32_t)v;
    return true;
}

static const double pow10_tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Decimal with optional sign, fraction and exponent. The common case (at most
 * 19 significant digits, mantissa < 2^53, |exponent| <= 22) is exact with one
 * multiplication or division (Clinger's fast path); the rest goes to strtod
 * on a NUL-terminated copy, after the syntax has been checked here. */
bool kgm__parse_f64(const char *p, size_t n, double *out) {
    size_t i = 0;
    bool neg = false;
    if (n && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    uint64_t m = 0;
    int nd = 0, digits = 0;
    int64_t e10 = 0;
    bool inexact = false;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9) break;
        digits++;
        if (nd < 19) {
            m = m * 10 + d;
            if (m) nd++;
        } else {
            e10++;
            if (d) inexact = true;
        }
    }
    if (i < n && p[i] == '.') {
        for (i++; i < n; i++) {
            unsigned d = (unsigned)(unsigned char)p[i] - '0';
            if (d > 9) break;
            digits++;
            if (nd < 19) {
                m = m * 10 + d;
                if (m) nd++;
                e10--;
            } else if (d) {
                inexact = true;
            }
        }
    }
    if (!digits) return false;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '-' || p[i] == '+')) {
            eneg = p[i] == '-';
            i++;
        }
        if (i >= n) return false;
        int64_t ev = 0;
        for (; i < n; i++) {
            unsigned d = (unsigned)(unsigned char)p[i] - '0';
            if (d > 9) return false;
            if (ev < 100000) ev = ev * 10 + d;
        }
        e10 += eneg ? -ev : ev;
    }
    if (i != n) return false;
    double v;
    if (!inexact && m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        v = (double)m;
        v = e10 < 0 ? v / pow10_tab[-e10] : v * pow10_tab[e10];
    } else if (m == 0) {
        v = 0.0;
    } else {
        char tmp[128];
        char *heap = NULL, *s = tmp;
        if (n >= sizeof tmp) {
            heap = malloc(n + 1);
            if (!heap) return false;
            s = heap;
        }
        size_t skip = (p[0] == '-' || p[0] == '+') ? 1 : 0; /* sign applied below */
        memcpy(s, p + skip, n - skip);
        s[n - skip] = '\0';
        v = strtod(s, NULL);
        free(heap);
    }
    if (!isfinite(v)) return false;
    *out = neg ? -v : v;
    return true;
}

bool kgm__parse_f32(const char *p, size_t n, float *out) {
    double v;
    if (!kgm__parse_f64(p, n, &v)) return false;
    if (fabs(v) > (double)3.4028234663852886e38) return false;
    *out = (float)v;
    return true;
}

/* ---- paths and text ------------------------------------------------------------- */

bool kgm__join(char *buf, size_t n, const char *dir, const char *name) {
    int k = snprintf(buf, n, "%s/%s", dir, name);
    return k > 0 && (size_t)k < n;
}

bool kgm__present(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

bool kgm__is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) k = 1;
        else if ((c & 0xF0) == 0xE0) k = 2;
        else if ((c & 0xF8) == 0xF0 && c <= 0xF4) k = 3;
        else return false;
        for (size_t j = 1; j <= k; j++)
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return false;
        i += k + 1;
    }
    return true;
}

size_t kgm__latin1_to_utf8(const char *p, size_t n, char *out) {
    const unsigned char *s = (const unsigned char *)p;
    if (valid_utf8(s, n)) {
        memcpy(out, p, n);
        return n;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c < 0x80) out[o++] = (char)c;
        else {
            out[o++] = (char)(0xC0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    return o;
}

kgm_status kgm__scratch_reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return KGM_OK;
    char *p = realloc(*buf, need);
    if (!p) return KGM_ERR(KGM_ERR_NOMEM, "scratch buffer of %zu bytes", need);
    *buf = p;
    *cap = need;
    return KGM_OK;
}
