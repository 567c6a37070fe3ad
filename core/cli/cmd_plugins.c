/* kgmtl plugins — list the task plugins on the search path, or describe one. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/plugin/host.h"


static void usage(FILE *f) {
    fprintf(f,
            "usage: kgmtl plugins [-P DIR]... [list]\n"
            "       kgmtl plugins [-P DIR]... describe NAME|PATH.so\n\n"
            "List the task plugins found on the search path (name, version, data view,\n"
            "metrics, file), or describe one: its data view, input, options (type, default,\n"
            "range, help) and metrics (higher or lower is better).\n\n"
            "options:\n"
            "  -P, --plugin-path DIR  search DIR first (repeatable)\n"
            "  -h, --help             show this help\n\n"
            "search path: -P directories, $%s (colon-separated),\n"
            "  the build directory (%s),\n"
            "  the install directory (%s).\n"
            "exit codes: 0 ok, 1 a plugin failed to load or was not found, 2 usage error\n",
            KGM_PLUGIN_PATH_ENV, kgm_cli_build_plugin_dir() ? kgm_cli_build_plugin_dir() : "none",
            kgm_cli_install_plugin_dir() ? kgm_cli_install_plugin_dir() : "none");
}

static int do_list(const kgm_plugin_path *sp) {
    kgm_registry reg;
    if (kgm_registry_scan(&reg, sp) != KGM_OK) {
        fprintf(stderr, "kgmtl plugins: %s\n", kgm_error_message());
        return 1;
    }
    int failed = 0, shown = 0;
    printf("%-12s %-8s %-12s %-42s %s\n", "NAME", "VERSION", "VIEW", "METRICS", "PATH");
    for (int32_t i = 0; i < reg.n; i++) {
        const kgm_registry_entry *e = &reg.e[i];
        if (!e->plugin) {
            failed++;
            continue;
        }
        if (e->shadowed) continue;
        kgm_plugin_print_line(stdout, e->plugin);
        shown++;
    }
    for (int32_t i = 0; i < reg.n; i++) {
        const kgm_registry_entry *e = &reg.e[i];
        if (e->shadowed) fprintf(stderr, "note: %s is shadowed by an earlier plugin named '%s'\n", e->path, e->name);
        if (!e->plugin) fprintf(stderr, "kgmtl plugins: cannot load %s\n  %s\n", e->path, e->error);
    }
    if (!shown && !failed) {
        fprintf(stderr, "no plugins found; searched:");
        for (int32_t i = 0; i < sp->n; i++) fprintf(stderr, " %s", sp->dirs[i]);
        fprintf(stderr, "\n");
    }
    kgm_registry_destroy(&reg);
    return failed ? 1 : 0;
}

static int do_describe(const kgm_plugin_path *sp, const char *what) {
    kgm_plugin *pl;
    if (kgm_plugin_open(sp, what, &pl) != KGM_OK) {
        fprintf(stderr, "kgmtl plugins describe: %s\n", kgm_error_message());
        return 1;
    }
    kgm_plugin_print_describe(stdout, pl);
    kgm_plugin_close(pl);
    return 0;
}

int kgm_cmd_plugins(int argc, char **argv) {
    static const struct option opts[] = {
        {"plugin-path", required_argument, 0, 'P'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    kgm_cli_plugin_dirs pd = {0};
    int c;
    while ((c = getopt_long(argc, argv, "+P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'P':
            if (kgm_cli_plugin_dirs_add(&pd, optarg, "plugins")) return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *sub = optind < argc ? argv[optind] : "list";
    int rest = argc - optind - (optind < argc);
    kgm_plugin_path sp;
    kgm_status st = kgm_cli_plugin_path(&pd, &sp);
    if (st) {
        fprintf(stderr, "kgmtl plugins: %s\n", kgm_error_message());
        kgm_plugin_path_destroy(&sp);
        return 1;
    }
    int rc;
    if (strcmp(sub, "list") == 0) {
        if (rest != 0) {
            fprintf(stderr, "kgmtl plugins list: unexpected argument '%s'\n", argv[optind + 1]);
            rc = 2;
        } else {
            rc = do_list(&sp);
        }
    } else if (strcmp(sub, "describe") == 0) {
        if (rest != 1) {
            fprintf(stderr, "kgmtl plugins describe: expected one plugin NAME or PATH\n");
            usage(stderr);
            rc = 2;
        } else {
            rc = do_describe(&sp, argv[optind + 1]);
        }
    } else {
        fprintf(stderr, "kgmtl plugins: unknown subcommand '%s' (expected list or describe)\n", sub);
        rc = 2;
    }
    kgm_plugin_path_destroy(&sp);
    return rc;
}
