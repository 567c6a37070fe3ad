/* Word vectors (word2vec / GloVe text) and .npy float32 matrices. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datasets/data_internal.h"

#define MAX_DIM 65536

void kgm_wordvecs_destroy(kgm_wordvecs *w) {
    kgm_idmap_destroy(&w->words);
    free(w->data);
    memset(w, 0, sizeof *w);
}

const float *kgm_wordvecs_get(const kgm_wordvecs *w, const char *word, size_t len) {
    int32_t id = kgm_idmap_find(&w->words, word, len);
    return id < 0 ? NULL : w->data + (int64_t)id * w->dim;
}

kgm_status kgm__load_wordvecs_rd(kgm_reader *r, kgm_wordvecs *out) {
    memset(out, 0, sizeof *out);
    kgm_idmap_init(&out->words);
    int64_t cap = 0, declared_n = -1;
    int32_t declared_dim = -1;
    const char *line;
    size_t len;
    bool got;
    kgm_status st = KGM_OK;
    char q[80];
    while ((st = kgm_reader_next(r, &line, &len, &got)) == KGM_OK && got) {
        if (len == 0) continue;
        /* word, then blank-separated values */
        const char *p = line, *end = line + len;
        while (p < end && *p == ' ') p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t') p++;
        size_t wn = (size_t)(p - w);
        if (out->n == 0 && out->dim == 0 && declared_dim < 0 && r->line_no == 1) {
            /* optional "N D" header */
            const char *s2 = p;
            while (s2 < end && *s2 == ' ') s2++;
            const char *e2 = s2;
            while (e2 < end && *e2 != ' ') e2++;
            const char *rest = e2;
            while (rest < end && *rest == ' ') rest++;
            int64_t hn;
            int32_t hd;
            if (rest == end && kgm__parse_i64(w, wn, &hn) && kgm__parse_i32(s2, (size_t)(e2 - s2), &hd)) {
                if (hn < 0 || hd <= 0 || hd > MAX_DIM) {
                    st = kgm_reader_bad(r, "expected a header \"count dim\" with 0 < dim <= %d, found %s", MAX_DIM,
                                        kgm__quote(q, sizeof q, line, len));
                    if (st != KGM_OK) break;
                    continue;
                }
                declared_n = hn;
                declared_dim = hd;
                continue;
            }
        }
        if (wn == 0) {
            st = kgm_reader_bad(r, "expected a word followed by its values, found a blank field");
            if (st != KGM_OK) break;
            continue;
        }
        int32_t dim = out->dim ? out->dim : declared_dim;
        if (dim <= 0) { /* first vector decides the dimension */
            int32_t k = 0;
            for (const char *s = p; s < end;) {
                while (s < end && (*s == ' ' || *s == '\t')) s++;
                if (s >= end) break;
                while (s < end && *s != ' ' && *s != '\t') s++;
                k++;
            }
            if (k == 0 || k > MAX_DIM) {
                st = kgm_reader_bad(r, "expected between 1 and %d values after the word, found %d", MAX_DIM, k);
                if (st != KGM_OK) break;
                continue;
            }
            dim = k;
        }
        if ((st = KGM_GROW(out->data, &cap, (out->n + 1) * (int64_t)dim)) != KGM_OK) break;
        float *row = out->data + out->n * (int64_t)dim;
        int32_t k = 0;
        bool ok = true;
        for (const char *s = p; s < end;) {
            while (s < end && (*s == ' ' || *s == '\t')) s++;
            if (s >= end) break;
            const char *t = s;
            while (s < end && *s != ' ' && *s != '\t') s++;
            if (k >= dim) {
                k++;
                continue;
            }
            if (!kgm__parse_f32(t, (size_t)(s - t), &row[k])) {
                char q2[80];
                st = kgm_reader_bad(r, "expected a number as value %d of %s, found %s", k + 1,
                                    kgm__quote(q, sizeof q, w, wn), kgm__quote(q2, sizeof q2, t, (size_t)(s - t)));
                ok = false;
                break;
            }
            k++;
        }
        if (ok && k != dim) {
            st = kgm_reader_bad(r, "expected %d values after %s, found %d", dim, kgm__quote(q, sizeof q, w, wn), k);
            ok = false;
        }
        if (st != KGM_OK) break;
        if (!ok) continue;
        int32_t before = out->words.count, id;
        if ((st = kgm_idmap_intern(&out->words, w, wn, &id)) != KGM_OK) break;
        if (out->words.count == before) { /* a repeated word keeps its first vector */
            r->duplicates++;
            continue;
        }
        out->dim = dim;
        out->n++;
        r->rows++;
    }
    if (st == KGM_OK && out->n == 0 && declared_n != 0)
        st = kgm_error_at(KGM_ERR_PARSE, r->path, r->line_no + 1,
                           "expected word vectors (\"word v1 ... vD\"), found none");
    if (st == KGM_OK && declared_n >= 0 && declared_n != out->n + r->duplicates + r->skipped)
        st = kgm_error_at(KGM_ERR_PARSE, r->path, r->line_no,
                           "expected %lld vectors as the header says, found %lld", (long long)declared_n,
                           (long long)(out->n + r->duplicates + r->skipped));
    if (st == KGM_OK && declared_dim > 0) out->dim = declared_dim;
    if (st != KGM_OK) kgm_wordvecs_destroy(out);
    return st;
}

static kgm_status body_wv(kgm_reader *r, void *v) { return kgm__load_wordvecs_rd(r, v); }

kgm_status kgm_wordvecs_load(const char *path, const kgm_load_opts *o, kgm_wordvecs *out) {
    return kgm__with_file(path, o, NULL, NULL, NULL, body_wv, out);
}

/* ---- .npy ------------------------------------------------------------------------- */

/* The header is a Python dict literal, e.g.
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * parsed here key by key; unknown keys are an error. */
typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n')) c->p++;
}

static bool take(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool pystr(cursor *c, char *out, size_t n) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
    char qch = *c->p++;
    size_t k = 0;
    while (c->p < c->end && *c->p != qch) {
        if (k + 1 >= n) return false;
        out[k++] = *c->p++;
    }
    if (c->p >= c->end) return false;
    c->p++;
    out[k] = '\0';
    return true;
}

kgm_status kgm__npy_parse(const char *name, const void *data, size_t n, kgm_tensor **out) {
    const unsigned char *b = data;
    *out = NULL;
    if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return KGM_ERR(KGM_ERR_PARSE, "%s: expected the .npy magic \\x93NUMPY, found %s", name,
                       n < 6 ? "a shorter file" : "other bytes");
    unsigned major = b[6];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12) return KGM_ERR(KGM_ERR_PARSE, "%s: expected a 12-byte .npy preamble, found %zu bytes", name, n);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else {
        return KGM_ERR(KGM_ERR_PARSE, "%s: expected .npy format version 1, 2 or 3, found %u", name, major);
    }
    if (hlen > n - hoff)
        return KGM_ERR(KGM_ERR_PARSE, "%s: expected a %zu-byte header, found %zu bytes", name, hlen, n - hoff);
    cursor c = {(const char *)b + hoff, (const char *)b + hoff + hlen};
    char descr[32] = "", key[32];
    int fortran = -1;
    int64_t shape[8];
    int ndim = -1;
    if (!take(&c, '{')) return KGM_ERR(KGM_ERR_PARSE, "%s: expected a header dict '{', found other text", name);
    while (!take(&c, '}')) {
        if (!pystr(&c, key, sizeof key) || !take(&c, ':'))
            return KGM_ERR(KGM_ERR_PARSE, "%s: expected 'key': in the header, found other text", name);
        if (strcmp(key, "descr") == 0) {
            if (!pystr(&c, descr, sizeof descr))
                return KGM_ERR(KGM_ERR_PARSE, "%s: expected a dtype string for 'descr'", name);
        } else if (strcmp(key, "fortran_order") == 0) {
            skip_ws(&c);
            if ((size_t)(c.end - c.p) >= 4 && memcmp(c.p, "True", 4) == 0) {
                fortran = 1;
                c.p += 4;
            } else if ((size_t)(c.end - c.p) >= 5 && memcmp(c.p, "False", 5) == 0) {
                fortran = 0;
                c.p += 5;
            } else {
                return KGM_ERR(KGM_ERR_PARSE, "%s: expected True or False for 'fortran_order'", name);
            }
        } else if (strcmp(key, "shape") == 0) {
            if (!take(&c, '(')) return KGM_ERR(KGM_ERR_PARSE, "%s: expected a tuple for 'shape'", name);
            ndim = 0;
            while (!take(&c, ')')) {
                skip_ws(&c);
                const char *s = c.p;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') c.p++;
                int64_t v;
                if (ndim >= 8 || !kgm__parse_i64(s, (size_t)(c.p - s), &v))
                    return KGM_ERR(KGM_ERR_PARSE, "%s: expected non-negative integers in 'shape'", name);
                shape[ndim++] = v;
                take(&c, ',');
            }
        } else {
            return KGM_ERR(KGM_ERR_PARSE, "%s: expected the keys descr, fortran_order, shape, found '%s'", name, key);
        }
        take(&c, ',');
        if (c.p >= c.end) return KGM_ERR(KGM_ERR_PARSE, "%s: expected '}' closing the header", name);
    }
    if (!descr[0] || fortran < 0 || ndim < 0)
        return KGM_ERR(KGM_ERR_PARSE, "%s: expected descr, fortran_order and shape in the header", name);
    if (strcmp(descr, "<f4") != 0)
        return KGM_ERR(KGM_ERR_UNSUPPORTED, "%s: expected dtype '<f4' (little-endian float32), found '%s'", name,
                       descr);
    if (fortran)
        return KGM_ERR(KGM_ERR_UNSUPPORTED, "%s: expected fortran_order False (C order), found True", name);
    if (ndim > 2) return KGM_ERR(KGM_ERR_UNSUPPORTED, "%s: expected a 1-D or 2-D array, found %d dimensions", name, ndim);
    int64_t rows = ndim >= 1 ? shape[0] : 1, cols = ndim == 2 ? shape[1] : 1;
    if (rows > INT32_MAX || cols > INT32_MAX || (cols && rows > INT64_MAX / 4 / cols))
        return KGM_ERR(KGM_ERR_PARSE, "%s: expected a shape within int32 rows and cols, found (%lld, %lld)", name,
                       (long long)rows, (long long)cols);
    if (rows == 0 || cols == 0)
        return KGM_ERR(KGM_ERR_SHAPE, "%s: expected a non-empty matrix, found shape (%lld, %lld)", name,
                       (long long)rows, (long long)cols);
    size_t body = n - hoff - hlen, need = (size_t)(rows * cols) * 4;
    if (body != need)
        return KGM_ERR(KGM_ERR_PARSE, "%s: expected %zu data bytes for shape (%lld, %lld), found %zu", name, need,
                       (long long)rows, (long long)cols, body);
    kgm_tensor *t;
    KGM_TRY(kgm_tensor_new((int32_t)rows, (int32_t)cols, &t));
    if (need) memcpy(t->data, b + hoff + hlen, need);
    /* checked here: a NaN or 3e38 would surface much later as a non-finite
     * gradient of the embedding table, naming neither the file nor the value */
    for (int64_t i = 0; i < rows * cols; i++) {
        float x = t->data[i];
        if (!isfinite(x) || fabsf(x) > KGM_NPY_MAX_ABS) {
            kgm_tensor_free(t);
            return KGM_ERR(KGM_ERR_PARSE,
                           "%s: expected finite values with |x| <= %g, found %g at element %lld (row %lld, col %lld)",
                           name, KGM_NPY_MAX_ABS, (double)x, (long long)i, (long long)(i / cols), (long long)(i % cols));
        }
    }
    *out = t;
    return KGM_OK;
}

static kgm_status read_all(const char *path, char **out, size_t *n) {
    int fd;
    KGM_TRY(kgm_file_open_regular(path, &fd, NULL));
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return KGM_ERR(KGM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (len < cap) break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool err = ferror(f);
    fclose(f);
    if (!buf) return KGM_ERR(KGM_ERR_NOMEM, "reading %s", path);
    if (err) {
        free(buf);
        return KGM_ERR(KGM_ERR_IO, "cannot read %s", path);
    }
    *out = buf;
    *n = len;
    return KGM_OK;
}

kgm_status kgm__read_file(const char *path, char **out, size_t *n) { return read_all(path, out, n); }

kgm_status kgm_npy_load(const char *path, kgm_tensor **out) {
    char *buf;
    size_t n;
    KGM_TRY(read_all(path, &buf, &n));
    kgm_status st = kgm__npy_parse(path, buf, n, out);
    free(buf);
    return st;
}

kgm_status kgm_npy_save(const char *path, const kgm_tensor *t) {
    char hdr[128];
    int k = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", t->rows,
                     t->cols);
    size_t total = 10 + (size_t)k + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(hdr + k, ' ', pad);
    hdr[k + (int)pad] = '\n';
    size_t hlen = (size_t)k + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f) return KGM_ERR(KGM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    size_t nb = (size_t)kgm_tensor_numel(t) * 4;
    bool ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hlen, f) == hlen && fwrite(t->data, 1, nb, f) == nb;
    ok = (fclose(f) == 0) && ok;
    return ok ? KGM_OK : KGM_ERR(KGM_ERR_IO, "cannot write %s", path);
}
