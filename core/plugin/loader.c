/* Plugin loader: search path, dlopen + ABI checks + descriptor validation,
 * the registry of everything on a path, and the CLI descriptions. */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/plugin/host.h"
#include "core/plugin/plugin_internal.h"

/* ---- small helpers ------------------------------------------------------- */

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int kgm_plugin_edit_distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64) return 1000;
    int prev[65], cur[65];
    for (size_t j = 0; j <= nb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (nb + 1) * sizeof(int));
    }
    return prev[nb];
}

static bool valid_ident(const char *s) {
    if (!s || !*s || strlen(s) > 63) return false;
    for (const char *p = s; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')) return false;
    return true;
}

static bool enum_has(const char *choices, const char *v) {
    size_t n = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

bool kgm_plugin_parse_opt(const kgm_option_spec *spec, const char *text, kgm_opt_value *v, char *why,
                          size_t n) {
    memset(v, 0, sizeof *v);
    v->type = spec->type;
    if (!text) {
        snprintf(why, n, "has no value");
        return false;
    }
    bool ranged = spec->min <= spec->max;
    switch (spec->type) {
    case KGM_OPTTYPE_INT: {
        errno = 0;
        char *end;
        long long x = strtoll(text, &end, 10);
        if (!*text || *end || errno) {
            snprintf(why, n, "expects an integer, found '%s'", text);
            return false;
        }
        if (ranged && ((double)x < spec->min || (double)x > spec->max)) {
            snprintf(why, n, "is %lld, outside the range [%.17g, %.17g]", x, spec->min, spec->max);
            return false;
        }
        v->i = x;
        v->f = (double)x;
        break;
    }
    case KGM_OPTTYPE_FLOAT: {
        errno = 0;
        char *end;
        double x = strtod(text, &end);
        if (!*text || *end || errno == ERANGE || !isfinite(x)) {
            snprintf(why, n, "expects a finite number, found '%s'", text);
            return false;
        }
        if (ranged && (x < spec->min || x > spec->max)) {
            snprintf(why, n, "is %g, outside the range [%.17g, %.17g]", x, spec->min, spec->max);
            return false;
        }
        v->f = x;
        v->i = (int64_t)x;
        break;
    }
    case KGM_OPTTYPE_BOOL: {
        static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
        int b = -1;
        for (int k = 0; k < 4; k++) {
            if (strcasecmp(text, yes[k]) == 0) b = 1;
            if (strcasecmp(text, no[k]) == 0) b = 0;
        }
        if (b < 0) {
            snprintf(why, n, "expects a boolean (true/false, yes/no, on/off, 1/0), found '%s'", text);
            return false;
        }
        v->i = b;
        v->f = b;
        break;
    }
    case KGM_OPTTYPE_STRING: break;
    case KGM_OPTTYPE_ENUM:
        if (!spec->choices || !enum_has(spec->choices, text)) {
            snprintf(why, n, "is '%s', expected one of %s", text, spec->choices ? spec->choices : "(none)");
            return false;
        }
        break;
    default: snprintf(why, n, "has an unknown type %d", (int)spec->type); return false;
    }
    v->s = xstrdup(text);
    if (!v->s) {
        snprintf(why, n, "out of memory");
        return false;
    }
    return true;
}

const char *kgm_view_name(int32_t view) {
    switch (view) {
    case KGM_VIEW_INTERACTIONS: return "interactions";
    case KGM_VIEW_RATINGS: return "ratings";
    case KGM_VIEW_IMPLICIT: return "implicit";
    case KGM_VIEW_KG: return "kg";
    case KGM_VIEW_SOCIAL: return "social";
    case KGM_VIEW_USER_ATTR: return "user_attr";
    case KGM_VIEW_ITEM_LABELS: return "item_labels";
    case KGM_VIEW_TABULAR: return "tabular";
    case KGM_VIEW_IMPRESSIONS: return "impressions";
    }
    return NULL;
}

const char *kgm_input_name(int32_t input) {
    switch (input) {
    case KGM_INPUT_NONE: return "none";
    case KGM_INPUT_PAIR: return "pair";
    case KGM_INPUT_USER: return "user";
    case KGM_INPUT_ITEM: return "item";
    case KGM_INPUT_TABULAR: return "tabular";
    }
    return NULL;
}

const char *kgm_opt_type_name(kgm_opt_type t) {
    switch (t) {
    case KGM_OPTTYPE_INT: return "int";
    case KGM_OPTTYPE_FLOAT: return "float";
    case KGM_OPTTYPE_BOOL: return "bool";
    case KGM_OPTTYPE_STRING: return "string";
    case KGM_OPTTYPE_ENUM: return "enum";
    }
    return "?";
}

/* ---- search path ---------------------------------------------------------- */

void kgm_plugin_path_init(kgm_plugin_path *sp) { memset(sp, 0, sizeof *sp); }

void kgm_plugin_path_destroy(kgm_plugin_path *sp) {
    for (int32_t i = 0; i < sp->n; i++) free(sp->dirs[i]);
    free(sp->dirs);
    memset(sp, 0, sizeof *sp);
}

kgm_status kgm_plugin_path_add(kgm_plugin_path *sp, const char *dir) {
    if (!dir || !*dir) return KGM_OK;
    for (int32_t i = 0; i < sp->n; i++)
        if (strcmp(sp->dirs[i], dir) == 0) return KGM_OK;
    if (sp->n == sp->cap) {
        int32_t nc = sp->cap ? 2 * sp->cap : 8;
        char **nd = realloc(sp->dirs, (size_t)nc * sizeof *nd);
        if (!nd) return KGM_ERR(KGM_ERR_NOMEM, "plugin search path");
        sp->dirs = nd;
        sp->cap = nc;
    }
    sp->dirs[sp->n] = xstrdup(dir);
    if (!sp->dirs[sp->n]) return KGM_ERR(KGM_ERR_NOMEM, "plugin search path");
    /* Trailing slashes only make messages ugly. */
    size_t len = strlen(sp->dirs[sp->n]);
    while (len > 1 && sp->dirs[sp->n][len - 1] == '/') sp->dirs[sp->n][--len] = '\0';
    sp->n++;
    return KGM_OK;
}

kgm_status kgm_plugin_path_add_env(kgm_plugin_path *sp) {
    const char *env = getenv(KGM_PLUGIN_PATH_ENV);
    if (!env || !*env) return KGM_OK;
    char *copy = xstrdup(env);
    if (!copy) return KGM_ERR(KGM_ERR_NOMEM, "plugin search path");
    kgm_status st = KGM_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ":", &save); tok && !st; tok = strtok_r(NULL, ":", &save))
        st = kgm_plugin_path_add(sp, tok);
    free(copy);
    return st;
}

kgm_status kgm_plugin_path_init_default(kgm_plugin_path *sp, const char *explicit_dir, const char *build_dir,
                                        const char *install_dir) {
    kgm_plugin_path_init(sp);
    kgm_status st = kgm_plugin_path_add(sp, explicit_dir);
    if (!st) st = kgm_plugin_path_add_env(sp);
    if (!st) st = kgm_plugin_path_add(sp, build_dir);
    if (!st) st = kgm_plugin_path_add(sp, install_dir);
    if (st) kgm_plugin_path_destroy(sp);
    return st;
}

/* ---- loading -------------------------------------------------------------- */

/* Validate a descriptor copy; `path` names the file in messages. */
static kgm_status validate_desc(const char *path, const kgm_task_plugin *d) {
    if (!valid_ident(d->name))
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: descriptor name %s%s%s is not a valid plugin name ([a-z0-9_]+, "
                                       "at most 63 characters)",
                       path, d->name ? "'" : "", d->name ? d->name : "(NULL)", d->name ? "'" : "");
    const char *nm = d->name;
    if (!d->version || !d->description)
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s' has no %s", path, nm, d->version ? "description" : "version");
    if (!kgm_view_name(d->view))
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s' declares an unknown data view %d", path, nm, (int)d->view);
    if (!kgm_input_name(d->input))
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s' declares an unknown input kind %d", path, nm, (int)d->input);
    if (d->loss_form != KGM_LOSS_CLASSIFICATION && d->loss_form != KGM_LOSS_REGRESSION)
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s' declares an unknown loss form %d", path, nm,
                       (int)d->loss_form);
    if (d->n_metrics < 1 || !d->metrics)
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s' declares no metrics (n_metrics %d, metrics %s)", path, nm,
                       (int)d->n_metrics, d->metrics ? "set" : "NULL");
    for (int32_t i = 0; i < d->n_metrics; i++) {
        if (!d->metrics[i].name || !*d->metrics[i].name)
            return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': metric %d has no name", path, nm, (int)i);
        if (d->metrics[i].higher_is_better != 0 && d->metrics[i].higher_is_better != 1)
            return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': metric '%s' has higher_is_better %d (must be 0 or 1)",
                           path, nm, d->metrics[i].name, (int)d->metrics[i].higher_is_better);
    }
    if (d->select_metric < 0 || d->select_metric >= d->n_metrics)
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': select_metric %d is outside [0, %d)", path, nm,
                       (int)d->select_metric, (int)d->n_metrics);
    if (d->n_options < 0 || (d->n_options > 0 && !d->options))
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': n_options %d with options %s", path, nm, (int)d->n_options,
                       d->options ? "set" : "NULL");
    for (int32_t i = 0; i < d->n_options; i++) {
        const kgm_option_spec *o = &d->options[i];
        if (!valid_ident(o->name))
            return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': option %d has an invalid name", path, nm, (int)i);
        for (int32_t j = 0; j < i; j++)
            if (strcmp(d->options[j].name, o->name) == 0)
                return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': option '%s' declared twice", path, nm, o->name);
        if (o->type == KGM_OPTTYPE_ENUM && (!o->choices || !*o->choices))
            return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': enum option '%s' has no choices", path, nm, o->name);
        kgm_opt_value v;
        char why[256];
        if (!kgm_plugin_parse_opt(o, o->default_value, &v, why, sizeof why))
            return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s': the default of option '%s' %s", path, nm, o->name, why);
        free(v.s);
    }
    const char *missing = !d->create           ? "create"
                          : !d->declare_params ? "declare_params"
                          : !d->forward_loss   ? "forward_loss"
                          : !d->predict        ? "predict"
                          : !d->eval           ? "eval"
                          : !d->destroy        ? "destroy"
                                               : NULL;
    if (missing)
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: plugin '%s' has no %s() callback (all six are required)", path, nm,
                       missing);
    return KGM_OK;
}

/* The ABI checks on the descriptor's three leading words, the only ones read
 * before them. */
static kgm_status check_abi(const char *path, const kgm_task_plugin *d) {
    if (d->abi_major != KGM_ABI_MAJOR)
        return KGM_ERR(KGM_ERR_ABI,
                       "%s: plugin ABI mismatch: the plugin was built for ABI %u.%u, this host implements ABI %d.%d "
                       "(rebuild the plugin against this kgmtl's plugin.h)",
                       path, d->abi_major, d->abi_minor, KGM_ABI_MAJOR, KGM_ABI_MINOR);
    /* A newer minor may hand the host structs (kgm_batch) larger than the
     * host's own and expect members the host table lacks. */
    if (d->abi_minor > KGM_ABI_MINOR)
        return KGM_ERR(KGM_ERR_ABI,
                       "%s: plugin ABI too new: the plugin was built for ABI %u.%u, this host implements ABI %d.%d "
                       "(upgrade kgmtl, or rebuild the plugin against this kgmtl's plugin.h)",
                       path, d->abi_major, d->abi_minor, KGM_ABI_MAJOR, KGM_ABI_MINOR);
    if (d->struct_size < KGM_TASK_PLUGIN_MIN_SIZE)
        return KGM_ERR(KGM_ERR_ABI,
                       "%s: truncated plugin descriptor: struct_size is %u bytes, an ABI %d.0 descriptor has at "
                       "least %zu",
                       path, d->struct_size, KGM_ABI_MAJOR, (size_t)KGM_TASK_PLUGIN_MIN_SIZE);
    return KGM_OK;
}

/* dlopen, kgm_task_entry, ABI checks and validation; stage bytes go to
 * stage_fd (-1 in the host, the pipe in a probe child). */
static kgm_status load_here(const char *path, int stage_fd, kgm_plugin **out) {
    /* dlopen searches the library path for names without a slash. */
    char *dlpath = malloc(strlen(path) + 3);
    if (!dlpath) return KGM_ERR(KGM_ERR_NOMEM, "plugin path");
    sprintf(dlpath, "%s%s", strchr(path, '/') ? "" : "./", path);
    dlerror();
    kgm_plugin_probe_stage(stage_fd, KGM_PROBE_DLOPEN);
    void *h = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
    free(dlpath);
    if (!h) {
        const char *e = dlerror();
        bool undef = e && strstr(e, "undefined symbol");
        return KGM_ERR(KGM_ERR_PLUGIN, "%s: not a loadable shared object (%s)%s", path, e ? e : "dlopen failed",
                       undef ? "; a plugin must reach kgmtl through the kgm_host_api table, not link against it"
                             : "");
    }
    kgm_status st = KGM_OK;
    dlerror();
    kgm_task_entry_fn entry;
    void *sym = dlsym(h, KGM_TASK_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer without a cast warning */
    if (!sym) {
        st = KGM_ERR(KGM_ERR_PLUGIN,
                     "%s: no '%s' symbol: not a kgmtl task plugin (export it with KGM_PLUGIN_EXPORT)", path,
                     KGM_TASK_ENTRY_SYMBOL);
        goto fail;
    }
    kgm_plugin_probe_stage(stage_fd, KGM_PROBE_ENTRY);
    const kgm_task_plugin *d = entry(kgm_host_api_get());
    kgm_plugin_probe_stage(stage_fd, KGM_PROBE_DESC);
    if (!d) {
        st = KGM_ERR(KGM_ERR_PLUGIN, "%s: %s() returned NULL (the plugin refused to load)", path,
                     KGM_TASK_ENTRY_SYMBOL);
        goto fail;
    }
    if ((st = check_abi(path, d))) goto fail;
    kgm_plugin *pl = calloc(1, sizeof *pl);
    if (!pl) {
        st = KGM_ERR(KGM_ERR_NOMEM, "plugin");
        goto fail;
    }
    size_t take = d->struct_size < sizeof pl->desc ? d->struct_size : sizeof pl->desc;
    memcpy(&pl->desc, d, take);
    pl->plugin_size = d->struct_size;
    pl->handle = h;
    pl->path = xstrdup(path);
    if (!pl->path) {
        free(pl);
        st = KGM_ERR(KGM_ERR_NOMEM, "plugin");
        goto fail;
    }
    if ((st = validate_desc(path, &pl->desc))) {
        free(pl->path);
        free(pl);
        goto fail;
    }
    *out = pl;
    return KGM_OK;
fail:
    dlclose(h);
    return st;
}

/* What a probe child runs: the same load, its outcome thrown away. */
static void probe_child(const char *path, int stage_fd) {
    kgm_plugin *pl = NULL;
    (void)load_here(path, stage_fd, &pl);
}

kgm_status kgm_plugin_load_file(const char *path, kgm_plugin **out) {
    *out = NULL;
    if (!path || !*path) return KGM_ERR(KGM_ERR_ARG, "plugin path is empty");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return KGM_ERR(KGM_ERR_IO, "%s: cannot open plugin: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return KGM_ERR(KGM_ERR_IO, "%s: cannot open plugin: not a regular file", path);
    /* First in a child: a plugin that crashes, exits or hangs while loading
     * must not take the host (a whole sweep) with it. */
    KGM_TRY(kgm_plugin_probe(path, probe_child, KGM_PLUGIN_PROBE_TIMEOUT));
    return load_here(path, -1, out);
}

void kgm_plugin_close(kgm_plugin *pl) {
    if (!pl) return;
    if (pl->handle) dlclose(pl->handle);
    free(pl->path);
    free(pl->shadows);
    free(pl);
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static bool file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* A later directory of the path with the same <name>.so: the file loaded
 * from dir `found` hides it. Recorded in pl->shadows and warned about, since
 * e.g. a plugin named like a built-in silently replaces it otherwise. */
static kgm_status note_shadowed(const kgm_plugin_path *sp, int32_t found, const char *name, kgm_plugin *pl) {
    for (int32_t j = found + 1; j < sp->n; j++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s.so", sp->dirs[j], name);
        if (!file_exists(p)) continue;
        pl->shadows = xstrdup(p);
        if (!pl->shadows) {
            kgm_plugin_close(pl);
            return KGM_ERR(KGM_ERR_NOMEM, "plugin");
        }
        fprintf(stderr, "kgmtl: warning: plugin '%s' is loaded from %s, which shadows %s (earlier directories of "
                        "the plugin path win)\n", name, pl->path, p);
        break;
    }
    return KGM_OK;
}

kgm_status kgm_plugin_open(const kgm_plugin_path *sp, const char *name, kgm_plugin **out) {
    *out = NULL;
    if (!name || !*name) return KGM_ERR(KGM_ERR_ARG, "plugin name is empty");
    if (strchr(name, '/') || ends_with(name, ".so")) return kgm_plugin_load_file(name, out);
    if (!valid_ident(name))
        return KGM_ERR(KGM_ERR_ARG, "'%s' is neither a plugin name ([a-z0-9_]+) nor a path to a .so file", name);
    for (int32_t i = 0; sp && i < sp->n; i++) {
        size_t len = strlen(sp->dirs[i]) + strlen(name) + 5;
        char *p = malloc(len);
        if (!p) return KGM_ERR(KGM_ERR_NOMEM, "plugin path");
        snprintf(p, len, "%s/%s.so", sp->dirs[i], name);
        if (!file_exists(p)) {
            free(p);
            continue;
        }
        kgm_status st = kgm_plugin_load_file(p, out);
        if (!st && strcmp((*out)->desc.name, name) != 0) {
            st = KGM_ERR(KGM_ERR_PLUGIN, "%s: the file declares plugin '%s', not '%s'", p, (*out)->desc.name, name);
            kgm_plugin_close(*out);
            *out = NULL;
        }
        free(p);
        if (!st) st = note_shadowed(sp, i, name, *out);
        return st;
    }
    /* Not found: say where we looked and suggest a close name. */
    char dirs[1024] = "", best[64] = "";
    int best_d = 3;
    for (int32_t i = 0; sp && i < sp->n; i++) {
        size_t used = strlen(dirs);
        snprintf(dirs + used, sizeof dirs - used, "%s%s", i ? ", " : "", sp->dirs[i]);
        DIR *dp = opendir(sp->dirs[i]);
        if (!dp) continue;
        struct dirent *de;
        while ((de = readdir(dp))) {
            if (!ends_with(de->d_name, ".so")) continue;
            char stem[64];
            size_t sl = strlen(de->d_name) - 3;
            if (sl >= sizeof stem) continue;
            memcpy(stem, de->d_name, sl);
            stem[sl] = '\0';
            int dd = kgm_plugin_edit_distance(stem, name);
            if (dd < best_d) {
                best_d = dd;
                snprintf(best, sizeof best, "%s", stem);
            }
        }
        closedir(dp);
    }
    char hint[128] = "";
    if (*best) snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
    return KGM_ERR(KGM_ERR_PLUGIN,
                   "plugin '%s' not found%s; searched %s (add a directory with $%s, or give the path of the "
                   ".so file)",
                   name, hint, *dirs ? dirs : "no directories", KGM_PLUGIN_PATH_ENV);
}

/* ---- registry ------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static kgm_status reg_push(kgm_registry *reg, kgm_registry_entry *e) {
    if (reg->n == reg->cap) {
        int32_t nc = reg->cap ? 2 * reg->cap : 16;
        kgm_registry_entry *ne = realloc(reg->e, (size_t)nc * sizeof *ne);
        if (!ne) return KGM_ERR(KGM_ERR_NOMEM, "plugin registry");
        reg->e = ne;
        reg->cap = nc;
    }
    reg->e[reg->n++] = *e;
    return KGM_OK;
}

kgm_status kgm_registry_scan(kgm_registry *reg, const kgm_plugin_path *sp) {
    memset(reg, 0, sizeof *reg);
    for (int32_t di = 0; di < sp->n; di++) {
        DIR *dp = opendir(sp->dirs[di]);
        if (!dp) continue;
        char **files = NULL;
        size_t nf = 0, cf = 0;
        struct dirent *de;
        kgm_status st = KGM_OK;
        while ((de = readdir(dp))) {
            if (!ends_with(de->d_name, ".so") || de->d_name[0] == '.') continue;
            if (nf == cf) {
                cf = cf ? 2 * cf : 16;
                char **nfp = realloc(files, cf * sizeof *nfp);
                if (!nfp) {
                    st = KGM_ERR(KGM_ERR_NOMEM, "plugin registry");
                    break;
                }
                files = nfp;
            }
            files[nf] = xstrdup(de->d_name);
            if (!files[nf]) {
                st = KGM_ERR(KGM_ERR_NOMEM, "plugin registry");
                break;
            }
            nf++;
        }
        closedir(dp);
        if (!st) qsort(files, nf, sizeof *files, cmp_str);
        for (size_t k = 0; k < nf && !st; k++) {
            kgm_registry_entry e = {0};
            size_t len = strlen(sp->dirs[di]) + strlen(files[k]) + 2;
            e.path = malloc(len);
            if (!e.path) {
                st = KGM_ERR(KGM_ERR_NOMEM, "plugin registry");
                break;
            }
            snprintf(e.path, len, "%s/%s", sp->dirs[di], files[k]);
            if (!file_exists(e.path)) {
                free(e.path);
                continue;
            }
            e.status = kgm_plugin_load_file(e.path, &e.plugin);
            if (e.status) {
                e.error = xstrdup(kgm_error_message());
                files[k][strlen(files[k]) - 3] = '\0';
                e.name = xstrdup(files[k]);
            } else {
                e.name = xstrdup(e.plugin->desc.name);
                for (int32_t j = 0; j < reg->n; j++)
                    if (reg->e[j].plugin && strcmp(reg->e[j].name, e.name) == 0) e.shadowed = true;
            }
            if (!e.name || (e.status && !e.error)) {
                free(e.name);
                free(e.error);
                free(e.path);
                kgm_plugin_close(e.plugin);
                st = KGM_ERR(KGM_ERR_NOMEM, "plugin registry");
                break;
            }
            if ((st = reg_push(reg, &e))) {
                free(e.name);
                free(e.error);
                free(e.path);
                kgm_plugin_close(e.plugin);
            }
        }
        for (size_t k = 0; k < nf; k++) free(files[k]);
        free(files);
        if (st) {
            kgm_registry_destroy(reg);
            return st;
        }
    }
    return KGM_OK;
}

const kgm_registry_entry *kgm_registry_find(const kgm_registry *reg, const char *name) {
    for (int32_t i = 0; i < reg->n; i++)
        if (reg->e[i].plugin && !reg->e[i].shadowed && strcmp(reg->e[i].name, name) == 0) return &reg->e[i];
    return NULL;
}

void kgm_registry_destroy(kgm_registry *reg) {
    for (int32_t i = 0; i < reg->n; i++) {
        kgm_plugin_close(reg->e[i].plugin);
        free(reg->e[i].name);
        free(reg->e[i].path);
        free(reg->e[i].error);
    }
    free(reg->e);
    memset(reg, 0, sizeof *reg);
}

/* ---- descriptions --------------------------------------------------------- */

void kgm_plugin_print_line(FILE *f, const kgm_plugin *pl) {
    const kgm_task_plugin *d = &pl->desc;
    fprintf(f, "%-12s %-8s %-12s ", d->name, d->version, kgm_view_name(d->view));
    int w = 0;
    for (int32_t i = 0; i < d->n_metrics; i++) w += fprintf(f, "%s%s", i ? "," : "", d->metrics[i].name);
    fprintf(f, "%*s %s\n", w < 42 ? 42 - w : 0, "", pl->path);
}

static void print_range(FILE *f, const kgm_option_spec *o) {
    if (o->type == KGM_OPTTYPE_ENUM) {
        fprintf(f, "  one of: ");
        for (const char *p = o->choices; *p; p++) {
            if (*p == '|')
                fputs(", ", f);
            else
                fputc(*p, f);
        }
        return;
    }
    if ((o->type == KGM_OPTTYPE_INT || o->type == KGM_OPTTYPE_FLOAT) && o->min <= o->max)
        fprintf(f, "  range: [%g, %g]", o->min, o->max);
}

void kgm_plugin_print_describe(FILE *f, const kgm_plugin *pl) {
    const kgm_task_plugin *d = &pl->desc;
    fprintf(f, "%s %s — %s\n", d->name, d->version, d->description);
    fprintf(f, "  file:       %s\n", pl->path);
    fprintf(f, "  ABI:        %u.%u (descriptor %u bytes)\n", d->abi_major, d->abi_minor, pl->plugin_size);
    fprintf(f, "  data view:  %s\n", kgm_view_name(d->view));
    fprintf(f, "  input:      %s\n", kgm_input_name(d->input));
    fprintf(f, "  loss form:  %s (for uncertainty weighting)\n",
            d->loss_form == KGM_LOSS_REGRESSION ? "regression" : "classification");
    fprintf(f, "\noptions:\n");
    if (d->n_options == 0) fprintf(f, "  (none)\n");
    for (int32_t i = 0; i < d->n_options; i++) {
        const kgm_option_spec *o = &d->options[i];
        fprintf(f, "  %-14s %-6s default %s", o->name, kgm_opt_type_name(o->type), o->default_value);
        print_range(f, o);
        fprintf(f, "\n      %s\n", o->help ? o->help : "");
    }
    fprintf(f, "\nmetrics (↑ higher is better, ↓ lower is better; * = model selection):\n");
    for (int32_t i = 0; i < d->n_metrics; i++)
        fprintf(f, "  %s %s%s\n", d->metrics[i].higher_is_better ? "↑" : "↓", d->metrics[i].name,
                i == d->select_metric ? " *" : "");
}
