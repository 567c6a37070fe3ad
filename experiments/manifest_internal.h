/* Internal interfaces between the manifest's files (not installed). */
#ifndef KGMTL_MANIFEST_INTERNAL_H
#define KGMTL_MANIFEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/train/config.h"
#include "experiments/manifest.h"

/* Called by kgm__manifest_context_visit for every context-dependent key whose
 * value differs from the default: `key` is the dotted key (task fields as
 * "tasks.NAME.FIELD", the spelling of an ablation axis), `task_where` the task
 * entry's position for task fields (else NULL), `applies` whether the key can
 * change what runs under the rest of the configuration, `msg` the error text
 * for when it cannot. */
typedef void (*kgm__context_fn)(void *u, const char *key, const char *task_where, bool applies, const char *msg);

/* The context rules (manifest_context.c): a world-only key with another
 * source, gradnorm_alpha without gradnorm, a task's `every` without the every
 * schedule, ... Visits every rule whose key is set to a non-default value in
 * `c` (`def` holds the defaults). The manifest reports a key that applies in
 * no run of the sweep (so an ablation that switches a component off may keep
 * its settings for the runs that have it on). */
void kgm__manifest_context_visit(const kgm_run_config *c, const kgm_run_config *def, kgm__context_fn visit, void *u);

#endif
