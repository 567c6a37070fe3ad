/* kgmtl recommend CHECKPOINT --user ID -k N — top-K items for a user. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kgmtl/kgmtl.h"
#include "core/train/trainer.h"


static void usage(FILE *f) {
    fprintf(f, "usage: kgmtl recommend CHECKPOINT --user ID [-k N] [--task NAME] [-P DIR]\n\n"
               "Scores every item for the user with a task of the checkpoint's run (default:\n"
               "the first task over user-item rows), excludes the user's training items and\n"
               "prints the top N (default 10) with their scores.\n");
}

int kgm_cmd_recommend(int argc, char **argv) {
    static const struct option opts[] = {{"user", required_argument, 0, 'u'}, {"k", required_argument, 0, 'k'},
                                         {"task", required_argument, 0, 't'}, {"plugins", required_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *user = NULL, *task = NULL;
    long k = 10;
    kgm_train_opts o;
    memset(&o, 0, sizeof o);
    kgm_cli_plugin_dirs pd = {0};
    int c;
    while ((c = getopt_long(argc, argv, "u:k:t:P:h", opts, NULL)) != -1) {
        switch (c) {
        case 'u': user = optarg; break;
        case 'k': {
            char *end;
            k = strtol(optarg, &end, 10);
            if (*end || k < 1 || k > 100000) {
                fprintf(stderr, "kgmtl recommend: -k expects an integer in [1, 100000], found '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case 't': task = optarg; break;
        case 'P':
            if (kgm_cli_plugin_dirs_add(&pd, optarg, "recommend")) return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !user) {
        usage(stderr);
        return 2;
    }
    kgm_cli_plugin_dir_list(&pd, o.plugin_dirs);
    o.quiet = true;
    kgm_status st = kgm_recommend(argv[optind], user, (int32_t)k, task, &o, stdout);
    if (st) {
        fprintf(stderr, "kgmtl recommend: %s\n", kgm_error_message());
        return 1;
    }
    return 0;
}
