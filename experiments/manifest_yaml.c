/* The manifest's YAML reading layer: one read into memory, a UTF-8 check,
 * libfyaml events → a position-carrying tree with bounded depth and size.
 * See manifest_yaml.h. */
#include "experiments/manifest_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================================================================
 * tree
 * ====================================================================== */

ynode *kgm_yaml_node_new(ypool *p, yn_kind kind, const char *file, int line, int col) {
    ynode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->file = file;
    n->line = line;
    n->col = col;
    n->weight = 1;
    n->next = p->nodes;
    p->nodes = n;
    return n;
}

bool kgm_yaml_node_push(ynode *c, ynode *key, ynode *val) {
    if (c->n == c->cap) {
        int32_t cap = c->cap ? c->cap * 2 : 8;
        ynode **v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) return false;
        c->v = v;
        if (c->kind == YN_MAP) {
            ynode **k = realloc(c->k, (size_t)cap * sizeof *k);
            if (!k) return false;
            c->k = k;
        }
        c->cap = cap;
    }
    if (c->kind == YN_MAP) c->k[c->n] = key;
    c->v[c->n++] = val;
    return true;
}

void kgm_yaml_pool_free(ypool *p) {
    for (ynode *n = p->nodes, *nx; n; n = nx) {
        nx = n->next;
        free(n->text);
        free(n->v);
        free(n->k);
        free(n);
    }
    for (int32_t i = 0; i < p->n_files; i++) free(p->files[i]);
    free(p->files);
    memset(p, 0, sizeof *p);
}

static const char *pool_file(ypool *p, const char *path) {
    for (int32_t i = 0; i < p->n_files; i++)
        if (!strcmp(p->files[i], path)) return p->files[i];
    char **f = realloc(p->files, (size_t)(p->n_files + 1) * sizeof *f);
    if (!f) return NULL;
    p->files = f;
    f[p->n_files] = strdup(path);
    return f[p->n_files] ? f[p->n_files++] : NULL;
}

/* Height and expanded weight of a finished container, from its children. */
static void node_finish(ynode *n) {
    int32_t h = 0;
    int64_t w = 1;
    for (int32_t i = 0; i < n->n; i++) {
        if (n->v[i]->height > h) h = n->v[i]->height;
        w += n->v[i]->weight + (n->kind == YN_MAP ? n->k[i]->weight : 0);
    }
    n->height = h + 1;
    n->weight = w;
    n->open = false;
}

/* ======================================================================
 * event-driven builder
 * ====================================================================== */

typedef struct {
    ynode *node;
    ynode *pending_key; /* mappings: the key waiting for its value */
} yframe;

typedef struct {
    char *name;
    ynode *node;
} yanchor;

typedef struct {
    ypool *pool;
    const char *file;
    kgm_diag_list *dl;
    yframe stack[KGM_YAML_MAX_DEPTH];
    int depth;
    ynode *root;
    yanchor *anchors;
    int32_t n_anchors;
    int64_t nodes; /* nodes so far, aliases expanded */
    bool nomem;    /* out of memory */
    bool stop;     /* a problem after which the rest of the file is not read */
} ybuild;

static void yb_error(ybuild *b, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void yb_error(ybuild *b, int line, int col, const char *fmt, ...) {
    char w[KGM_PATH + 32], msg[512];
    snprintf(w, sizeof w, "%s:%d:%d", b->file, line, col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kgm_diag_add(b->dl, w, "%s", msg);
}

/* Count `k` more nodes; past the limit, report at (line, col) and stop (an
 * alias bomb would otherwise make every later walk exponential). */
static bool yb_count(ybuild *b, int64_t k, int line, int col, const char *alias, size_t alen) {
    b->nodes += k;
    if (b->nodes <= KGM_YAML_MAX_NODES) return true;
    if (alias)
        yb_error(b, line, col, "alias *%.*s: expected at most %d YAML nodes with aliases expanded, found more (an alias bomb?)",
                 (int)alen, alias, KGM_YAML_MAX_NODES);
    else yb_error(b, line, col, "expected at most %d YAML nodes, found more", KGM_YAML_MAX_NODES);
    b->stop = true;
    return false;
}

static void yb_anchor(ybuild *b, struct fy_token *anchor, ynode *n) {
    if (!anchor) return;
    size_t len = 0;
    const char *t = fy_token_get_text(anchor, &len);
    if (!t) return;
    yanchor *a = realloc(b->anchors, (size_t)(b->n_anchors + 1) * sizeof *a);
    if (!a) {
        b->nomem = true;
        return;
    }
    b->anchors = a;
    a[b->n_anchors].name = strndup(t, len);
    a[b->n_anchors].node = n;
    if (a[b->n_anchors].name) b->n_anchors++;
    else b->nomem = true;
}

static void yb_attach(ybuild *b, ynode *n) {
    if (b->depth == 0) {
        if (!b->root) b->root = n;
        return;
    }
    yframe *f = &b->stack[b->depth - 1];
    if (f->node->kind == YN_SEQ) {
        if (!kgm_yaml_node_push(f->node, NULL, n)) b->nomem = true;
        return;
    }
    if (!f->pending_key) {
        if (n->kind != YN_SCALAR && n->kind != YN_NULL)
            yb_error(b, n->line, n->col, "expected a plain word as a mapping key, found %s", kind_name(n));
        f->pending_key = n;
        return;
    }
    ynode *key = f->pending_key;
    f->pending_key = NULL;
    if (key->kind != YN_SCALAR && key->kind != YN_NULL) return;
    ynode *kn = NULL;
    if (yn_get(f->node, key->text, &kn)) {
        yb_error(b, key->line, key->col, "duplicate key '%s' (first given at line %d)", key->text, kn->line);
        return;
    }
    if (!kgm_yaml_node_push(f->node, key, n)) b->nomem = true;
}

/* Scalar node from an event (null detection on plain scalars). */
static ynode *yb_scalar(ybuild *b, struct fy_event *e, const struct fy_mark *m) {
    size_t len = 0;
    const char *t = e->scalar.value ? fy_token_get_text(e->scalar.value, &len) : "";
    if (!t) t = "";
    bool quoted = e->scalar.value && fy_token_scalar_style(e->scalar.value) != FYSS_PLAIN;
    bool null = !quoted && (len == 0 || (len == 1 && t[0] == '~') ||
                            (len == 4 && (!strncmp(t, "null", 4) || !strncmp(t, "Null", 4) ||
                                          !strncmp(t, "NULL", 4))));
    int col = m ? m->column + 1 : 0;
    enum fy_scalar_style style = e->scalar.value ? fy_token_scalar_style(e->scalar.value) : FYSS_PLAIN;
    if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && col > 1) col--; /* point at the quote */
    ynode *n = kgm_yaml_node_new(b->pool, null ? YN_NULL : YN_SCALAR, b->file, m ? m->line + 1 : 0, col);
    if (!n) return NULL;
    n->quoted = quoted;
    n->text = strndup(t, len);
    if (!n->text) return NULL;
    return n;
}

/* A null stand-in for a rejected alias, so the keys and values after it keep
 * their places (and are still checked). */
static void yb_placeholder(ybuild *b, int line, int col) {
    ynode *n = kgm_yaml_node_new(b->pool, YN_NULL, b->file, line, col);
    if (!n || !(n->text = strdup(""))) {
        b->nomem = true;
        return;
    }
    yb_attach(b, n);
}

/* An alias shares its anchored node; it must name an anchor defined before
 * it, of a node already complete (else the tree would contain itself), and
 * keep the depth and the expanded size within bounds. */
static void yb_alias(ybuild *b, struct fy_event *e, int line, int col) {
    size_t len = 0;
    const char *t = e->alias.anchor ? fy_token_get_text(e->alias.anchor, &len) : NULL;
    ynode *target = NULL;
    for (int32_t i = b->n_anchors - 1; i >= 0 && t; i--)
        if (strlen(b->anchors[i].name) == len && !strncmp(b->anchors[i].name, t, len)) {
            target = b->anchors[i].node;
            break;
        }
    if (!t) t = "", len = 0;
    if (col > 1) col--; /* libfyaml marks the anchor name; point at the '*' */
    if (!target) {
        yb_error(b, line, col, "expected an alias to an anchor defined before it (&%.*s), found the undefined alias *%.*s",
                 (int)len, t, (int)len, t);
    } else if (target->open) {
        yb_error(b, line, col,
                 "alias *%.*s: expected an alias to a complete node, found one inside the node it names (a recursive alias)",
                 (int)len, t);
    } else if (b->depth + target->height > KGM_YAML_MAX_DEPTH) {
        yb_error(b, line, col, "alias *%.*s: expected at most %d levels of nested lists and mappings, found %d with the alias expanded",
                 (int)len, t, KGM_YAML_MAX_DEPTH, b->depth + target->height);
    } else {
        if (yb_count(b, target->weight, line, col, t, len)) yb_attach(b, target);
        return;
    }
    yb_placeholder(b, line, col);
}

static void yb_start(ybuild *b, struct fy_event *e, int line, int col) {
    bool map = e->type == FYET_MAPPING_START;
    if (b->depth >= KGM_YAML_MAX_DEPTH) {
        yb_error(b, line, col, "expected at most %d levels of nested lists and mappings, found deeper nesting",
                 KGM_YAML_MAX_DEPTH);
        b->stop = true;
        return;
    }
    if (!yb_count(b, 1, line, col, NULL, 0)) return;
    ynode *n = kgm_yaml_node_new(b->pool, map ? YN_MAP : YN_SEQ, b->file, line, col);
    if (!n) {
        b->nomem = true;
        return;
    }
    n->open = true;
    yb_anchor(b, map ? e->mapping_start.anchor : e->sequence_start.anchor, n);
    b->stack[b->depth++] = (yframe){n, NULL};
}

/* One event of the first document into the tree. */
static void yb_event(ybuild *b, struct fy_event *e, int line, int col) {
    const struct fy_mark *m = fy_event_start_mark(e);
    switch (e->type) {
    case FYET_SCALAR: {
        if (!yb_count(b, 1, line, col, NULL, 0)) return;
        ynode *n = yb_scalar(b, e, m);
        if (!n) {
            b->nomem = true;
            return;
        }
        yb_anchor(b, e->scalar.anchor, n);
        yb_attach(b, n);
        return;
    }
    case FYET_ALIAS: yb_alias(b, e, line, col); return;
    case FYET_SEQUENCE_START:
    case FYET_MAPPING_START: yb_start(b, e, line, col); return;
    case FYET_SEQUENCE_END:
    case FYET_MAPPING_END:
        if (b->depth == 0) return;
        ynode *n = b->stack[--b->depth].node;
        node_finish(n);
        yb_attach(b, n);
        return;
    default: return;
    }
}

/* ======================================================================
 * reading the file
 * ====================================================================== */

/* Length of the UTF-8 sequence at p (at most n bytes), 0 when it is not
 * well-formed (bad lead or continuation byte, truncated, overlong, surrogate,
 * above U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t len;
    unsigned min, cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000, cp = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/* A manifest is UTF-8 text without NUL bytes (YAML is Unicode; libfyaml
 * 0.7.12 also loops forever on some malformed bytes in a directive line).
 * Reports the first offending byte as file:line:column. */
static bool check_text(const unsigned char *p, size_t n, const char *file, kgm_diag_list *dl) {
    long line = 1, col = 1;
    for (size_t i = 0; i < n;) {
        size_t len = p[i] ? utf8_seq(p + i, n - i) : 0;
        if (len == 0) {
            char w[KGM_PATH + 32];
            snprintf(w, sizeof w, "%s:%ld:%ld", file, line, col);
            kgm_diag_add(dl, w, "expected UTF-8 text, found %s byte 0x%02x", p[i] ? "the invalid" : "a NUL", p[i]);
            return false;
        }
        if (p[i] == '\n') line++, col = 1;
        else col++;
        i += len;
    }
    return true;
}

/* "file:line:col" of byte `off` of `text` (the column counts bytes). */
static void pos_of(const char *file, const char *text, size_t off, char *w, size_t n) {
    long line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') line++, col = 1;
        else col++;
    }
    snprintf(w, n, "%s:%ld:%ld", file, line, col);
}

/* The whole of `fd` (at most KGM_YAML_MAX_BYTES), or NULL with a diagnostic
 * at `at` ("base: " before it when a base file is read). */
static char *slurp(int fd, const char *path, const char *at, const char *pre, size_t *len, kgm_diag_list *dl) {
    size_t cap = 1 << 14, n = 0;
    char *buf = malloc(cap);
    int err = 0;
    while (buf && n <= KGM_YAML_MAX_BYTES) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR) continue; /* a signal (a timer, a child) is no read error */
        if (k < 0) err = errno;
        if (k <= 0) break;
        n += (size_t)k;
    }
    if (!buf) kgm_diag_add(dl, at, "out of memory while reading the manifest");
    else if (err) kgm_diag_add(dl, at, "%scannot read '%s': %s", pre, path, strerror(err));
    else if (n > KGM_YAML_MAX_BYTES) {
        char w[KGM_PATH + 32];
        pos_of(path, buf, KGM_YAML_MAX_BYTES, w, sizeof w);
        kgm_diag_add(dl, w, "expected a manifest of at most %d MiB, found more", KGM_YAML_MAX_BYTES >> 20);
    } else {
        *len = n;
        return buf;
    }
    free(buf);
    return NULL;
}

/* Read `path` once into memory: regular files, FIFOs and pipes alike (a
 * second open of a FIFO would block, of `<(...)` would find it drained). */
static char *read_once(const char *path, const char *where, size_t *len, kgm_yaml_source *src, kgm_diag_list *dl) {
    const char *at = where ? where : path;
    int fd;
    do fd = open(path, O_RDONLY | O_CLOEXEC); /* a FIFO's open waits for its writer: a signal may interrupt it */
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (where) kgm_diag_add(dl, at, "base: cannot open '%s': %s", path, strerror(errno));
        else kgm_diag_add(dl, at, "cannot open the manifest: %s", strerror(errno));
        return NULL;
    }
    struct stat sb;
    bool ok = fstat(fd, &sb) == 0;
    if (!ok) kgm_diag_add(dl, at, "%scannot read '%s': %s", where ? "base: " : "", path, strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        kgm_diag_add(dl, at, "%sexpected a manifest file, found the directory '%s'", where ? "base: " : "", path);
    if (!ok || S_ISDIR(sb.st_mode)) {
        close(fd);
        return NULL;
    }
    char real[PATH_MAX];
    src->has_dir = S_ISREG(sb.st_mode) || realpath(path, real) != NULL; /* an unnamed pipe has no directory */
    char *buf = slurp(fd, path, at, where ? "base: " : "", len, dl);
    close(fd);
    return buf;
}

/* Syntax errors collected by libfyaml, as file:line:col diagnostics. */
static void report_syntax(struct fy_diag *diag, const char *file, kgm_diag_list *dl) {
    int nerr = 0;
    void *it = NULL;
    struct fy_diag_error *er;
    while ((er = fy_diag_errors_iterate(diag, &it)) != NULL) {
        if (er->type < FYET_ERROR) continue;
        char w[KGM_PATH + 32];
        snprintf(w, sizeof w, "%s:%d:%d", file, er->line, er->column);
        kgm_diag_add(dl, w, "YAML syntax error: %s", er->msg ? er->msg : "malformed input");
        nerr++;
    }
    if (!nerr) kgm_diag_add(dl, file, "YAML syntax error");
}

/* Run libfyaml over the text into b; false after a syntax error. */
static bool parse_text(ybuild *b, const char *text, size_t len) {
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag) {
        b->nomem = true;
        return true;
    }
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = {.search_path = NULL, .flags = FYPCF_QUIET, .userdata = NULL, .diag = diag};
    struct fy_parser *fyp = fy_parser_create(&pcfg);
    if (!fyp || fy_parser_set_string(fyp, text, len) != 0) {
        b->nomem = true;
        if (fyp) fy_parser_destroy(fyp);
        fy_diag_destroy(diag);
        return true;
    }
    int docs = 0;
    struct fy_event *e;
    while (!b->stop && (e = fy_parser_parse(fyp)) != NULL) {
        const struct fy_mark *m = fy_event_start_mark(e);
        int line = m ? m->line + 1 : 0, col = m ? m->column + 1 : 0;
        if (e->type == FYET_DOCUMENT_START && ++docs == 2) {
            char w[KGM_PATH + 32];
            snprintf(w, sizeof w, "%s:%d:%d", b->file, line, col);
            kgm_diag_add(b->dl, w, "a manifest holds one YAML document; the rest is ignored");
        }
        if (docs <= 1) yb_event(b, e, line, col);
        fy_parser_event_free(fyp, e);
    }
    bool syntax = !b->stop && fy_parser_get_stream_error(fyp);
    if (syntax) report_syntax(diag, b->file, b->dl);
    fy_parser_destroy(fyp);
    fy_diag_destroy(diag);
    return !syntax;
}

ynode *kgm_yaml_read(ypool *pool, const char *path, const char *where, kgm_yaml_source *src, kgm_diag_list *dl) {
    const char *file = pool_file(pool, path);
    if (!file) return NULL;
    size_t len = 0;
    char *text = read_once(path, where, &len, src, dl);
    if (!text) return NULL;
    if (!check_text((const unsigned char *)text, len, file, dl)) {
        free(text);
        return NULL;
    }
    ybuild b = {.pool = pool, .file = file, .dl = dl};
    bool ok = len == 0 || parse_text(&b, text, len);
    free(text);
    for (int32_t i = 0; i < b.n_anchors; i++) free(b.anchors[i].name);
    free(b.anchors);
    if (b.nomem && ok) kgm_diag_add(dl, file, "out of memory while reading the manifest");
    /* after a key or alias error the tree is still whole (the caller goes on
     * checking it and fails on the diagnostics); after a stop it is not */
    if (!ok || b.nomem || b.stop) return NULL;
    if (!b.root) b.root = kgm_yaml_node_new(pool, YN_MAP, file, 1, 1); /* empty file = empty mapping */
    return b.root;
}
