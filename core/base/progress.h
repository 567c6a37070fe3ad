/* core/base/progress.h — progress reporting for long loops.
 *
 * On a TTY a single live line is redrawn (at most ~10 times per second) with
 * the label, epoch/step, samples/s, ETA and the current losses. Otherwise a
 * plain line is printed every `interval_s` seconds (default 10) and at the end,
 * so logs stay readable. Output goes to the given stream (stderr by default). */
#ifndef KGMTL_PROGRESS_H
#define KGMTL_PROGRESS_H

#include <stdio.h>

#include "kgmtl/types.h"

typedef struct kgm_progress {
    FILE *out;
    char label[64];
    int64_t total;       /* total steps (0 = unknown) */
    int64_t done;
    int64_t samples;     /* samples processed */
    double t_start, t_last_print;
    double interval_s;   /* non-TTY print period */
    bool tty;
    bool quiet;
    int last_len;
} kgm_progress;

/* Start a progress report of `total` steps (0 if unknown). */
void kgm_progress_begin(kgm_progress *p, FILE *out, const char *label, int64_t total);
/* Advance to step `done`, having processed `samples` in total; `extra` is a
 * short free-form status (epoch, losses), may be NULL. Prints when due. */
void kgm_progress_update(kgm_progress *p, int64_t done, int64_t samples, const char *extra);
/* Final line (always printed unless quiet). */
void kgm_progress_end(kgm_progress *p, const char *extra);
/* Monotonic wall clock in seconds. */
double kgm_now(void);

#endif
