/* kgmtl eval CHECKPOINT — metrics of a checkpoint on its validation/test splits. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kgmtl/kgmtl.h"
#include "core/train/trainer.h"


static void usage(FILE *f) {
    fprintf(f, "usage: kgmtl eval [--split valid|test|train|all] [-P DIR] CHECKPOINT\n\n"
               "Rebuilds the run a checkpoint (best.ckpt / last.ckpt) belongs to from the\n"
               "configuration stored inside it, loads its parameters and prints every task's\n"
               "metrics. Default splits: valid and test.\n"
               "  -s, --split S     which split(s) to evaluate\n"
               "  -P, --plugins DIR extra plugin directory (repeatable)\n"
               "  -h, --help        this text\n");
}

int kgm_cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"split", required_argument, 0, 's'}, {"plugins", required_argument, 0, 'P'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    unsigned splits = 6;
    kgm_train_opts o;
    memset(&o, 0, sizeof o);
    kgm_cli_plugin_dirs pd = {0};
    int c;
    while ((c = getopt_long(argc, argv, "s:P:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!strcmp(optarg, "valid")) splits = 2;
            else if (!strcmp(optarg, "test")) splits = 4;
            else if (!strcmp(optarg, "train")) splits = 1;
            else if (!strcmp(optarg, "all")) splits = 7;
            else {
                fprintf(stderr, "kgmtl eval: --split expects valid, test, train or all, found '%s'\n", optarg);
                return 2;
            }
            break;
        case 'P':
            if (kgm_cli_plugin_dirs_add(&pd, optarg, "eval")) return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    kgm_cli_plugin_dir_list(&pd, o.plugin_dirs);
    kgm_status st = kgm_eval_checkpoint(argv[optind], &o, splits, stdout);
    if (st) {
        fprintf(stderr, "kgmtl eval: %s\n", kgm_error_message());
        return 1;
    }
    return 0;
}
