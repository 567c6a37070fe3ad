/* Status strings and the thread-local error buffer. */
#include "core/base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KGM_ERRBUF 2048
static _Thread_local char errbuf[KGM_ERRBUF];

static kgm_status error_vset(kgm_status st, const char *where, long long line, const char *fmt, va_list ap) {
    int n = snprintf(errbuf, sizeof errbuf, "%s:%lld: ", where, line);
    if (n < 0 || n >= KGM_ERRBUF) n = 0;
    vsnprintf(errbuf + n, sizeof errbuf - (size_t)n, fmt, ap);
    return st;
}

/* Source locations (__FILE__) are shortened to their base name. */
kgm_status kgm_error_set(kgm_status st, const char *file, int line, const char *fmt, ...) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    va_list ap;
    va_start(ap, fmt);
    error_vset(st, base, line, fmt, ap);
    va_end(ap);
    return st;
}

/* Data files keep the path the user gave. */
kgm_status kgm_error_at(kgm_status st, const char *path, int64_t line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_vset(st, path, (long long)line, fmt, ap);
    va_end(ap);
    return st;
}

kgm_status kgm_error_wrap(kgm_status st, const char *fmt, ...) {
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* "prefix: old message", cut at the buffer's end */
    char tmp[KGM_ERRBUF];
    size_t n = 0, pl = strlen(prefix), ml = strlen(errbuf);
    if (pl > sizeof tmp - 1) pl = sizeof tmp - 1;
    memcpy(tmp, prefix, pl);
    n = pl;
    for (const char *sep = ": "; *sep && n < sizeof tmp - 1; sep++) tmp[n++] = *sep;
    if (ml > sizeof tmp - 1 - n) ml = sizeof tmp - 1 - n;
    memcpy(tmp + n, errbuf, ml);
    tmp[n + ml] = '\0';
    memcpy(errbuf, tmp, sizeof errbuf);
    return st;
}

const char *kgm_error_message(void) { return errbuf; }

void kgm_error_clear(void) { errbuf[0] = '\0'; }

const char *kgm_status_str(kgm_status st) {
    switch (st) {
    case KGM_OK: return "ok";
    case KGM_ERR_NOMEM: return "out of memory";
    case KGM_ERR_SHAPE: return "shape mismatch";
    case KGM_ERR_INDEX: return "index out of range";
    case KGM_ERR_ARG: return "invalid argument";
    case KGM_ERR_IO: return "i/o error";
    case KGM_ERR_PARSE: return "parse error";
    case KGM_ERR_ARENA: return "arena exhausted";
    case KGM_ERR_NUMERIC: return "non-finite value";
    case KGM_ERR_GRAPH: return "graph error";
    case KGM_ERR_PLUGIN: return "plugin error";
    case KGM_ERR_ABI: return "plugin ABI mismatch";
    case KGM_ERR_STATE: return "invalid state";
    case KGM_ERR_UNSUPPORTED: return "unsupported";
    case KGM_ERR_FORMAT: return "corrupt or stale file";
    case KGM_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

_Noreturn void kgm_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "kgmtl: internal invariant violated: %s (%s:%d)\n", expr, file, line);
    abort();
}
