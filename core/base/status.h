/* core/base/status.h — status codes and the thread-local error buffer. */
#ifndef KGMTL_STATUS_H
#define KGMTL_STATUS_H

#include "kgmtl/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record an error: formats "file:line: message" into the calling thread's
 * error buffer and returns `st` so it can be used as `return KGM_ERR(...)`. */
kgm_status kgm_error_set(kgm_status st, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record an error in a data file: "path:line: message" with `path` as given
 * (kgm_error_set shortens its `file`, a source location, to the base name). */
kgm_status kgm_error_at(kgm_status st, const char *path, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Append context to the current message ("outer: inner"), keeping the status. */
kgm_status kgm_error_wrap(kgm_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last error message recorded on this thread ("" if none). */
const char *kgm_error_message(void);

/* Clear this thread's error buffer. */
void kgm_error_clear(void);

/* A short stable name for a status ("shape mismatch", ...). */
const char *kgm_status_str(kgm_status st);

#define KGM_ERR(st, ...) kgm_error_set((st), __FILE__, __LINE__, __VA_ARGS__)
#define KGM_TRY(expr)                                                                              \
    do {                                                                                           \
        kgm_status kgm_try_s_ = (expr);                                                            \
        if (kgm_try_s_ != KGM_OK) return kgm_try_s_;                                               \
    } while (0)
/* Invariant check: a broken invariant is a bug in kgmtl, not bad input. */
#define KGM_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) kgm_assert_fail(#cond, __FILE__, __LINE__);                                   \
    } while (0)
_Noreturn void kgm_assert_fail(const char *expr, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif
