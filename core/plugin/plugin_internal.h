/* Internal helpers shared by the plugin loader and the plugin host. */
#ifndef KGMTL_PLUGIN_INTERNAL_H
#define KGMTL_PLUGIN_INTERNAL_H

#include "core/plugin/host.h"

/* Levenshtein distance of two short strings (capped at 64 characters each;
 * longer strings compare as far apart). */
int kgm_plugin_edit_distance(const char *a, const char *b);

/* Parse `text` as a value of option `spec` into `v` (type, i, f, s set; s is
 * a heap copy of the text). On failure returns false and writes the reason
 * ("expects an integer, found 'x'") into why[n]; v->s is then NULL. */
bool kgm_plugin_parse_opt(const kgm_option_spec *spec, const char *text, kgm_opt_value *v, char *why,
                          size_t n);

/* Bytes of a kgm_batch the host reads from / writes to a plugin built for
 * ABI minor `plugin_minor` (<= the host's): the prefix that minor defines. */
size_t kgm_abi_batch_size(uint32_t plugin_minor);

/* Stages of a probed load, written by the child as it reaches them. */
#define KGM_PROBE_DLOPEN 'o'
#define KGM_PROBE_ENTRY 'e'
#define KGM_PROBE_DESC 'd'
#define KGM_PROBE_DONE 'k'

/* Seconds a probe waits for a plugin's dlopen + kgm_task_entry. */
#define KGM_PLUGIN_PROBE_TIMEOUT 60.0

/* Write one stage byte to fd (nothing when fd < 0: loading in the host). */
void kgm_plugin_probe_stage(int fd, char stage);

/* The load to try in the child: must report its stages on `stage_fd`. */
typedef void (*kgm_plugin_probe_fn)(const char *path, int stage_fd);

/* Run `run(path, fd)` in a forked child. KGM_OK when it returned normally;
 * KGM_ERR_PLUGIN naming `path`, the stage and the signal when the child was
 * killed by a signal ("plugin F crashed in kgm_task_entry (signal 11, ...)"),
 * ended it (exit()), or did not finish within timeout_s seconds (it is killed). */
kgm_status kgm_plugin_probe(const char *path, kgm_plugin_probe_fn run, double timeout_s);

#endif
