/* Internal helpers shared by the plugin loader and the plugin host. */
#ifndef KGMTL_PLUGIN_INTERNAL_H
#define KGMTL_PLUGIN_INTERNAL_H

#include "kgmtl/host.h"

/* Levenshtein distance of two short strings (capped at 64 characters each;
 * longer strings compare as far apart). */
int kgm_plugin_edit_distance(const char *a, const char *b);

/* Parse `text` as a value of option `spec` into `v` (type, i, f, s set; s is
 * a heap copy of the text). On failure returns false and writes the reason
 * ("expects an integer, found 'x'") into why[n]; v->s is then NULL. */
bool kgm_plugin_parse_opt(const kgm_option_spec *spec, const char *text, kgm_opt_value *v, char *why,
                          size_t n);

#endif
