/* kgmtl report — summary.csv and report.html for a results directory. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/plugin/host.h"
#include "experiments/manifest.h"
#include "reports/report.h"


static void usage(FILE *f) {
    fprintf(f,
            "usage: kgmtl report [OPTIONS] DIR\n\n"
            "Summarise the results directory of a sweep (what `kgmtl run` wrote): DIR/summary.csv\n"
            "(mean, std, delta against the baseline and paired t-test per group, task, metric and\n"
            "split) and DIR/report.html (one self-contained page: ablation table, published\n"
            "figures, learning curves, task-weight trajectories, failed runs). See docs/reports.md.\n\n"
            "options:\n"
            "  -t, --title TEXT       report title (default: the manifest's name)\n"
            "  -P, --plugin-path DIR  search DIR for task plugins (metric directions; repeatable)\n"
            "  -q, --quiet            do not print the summary table\n"
            "  -h, --help             show this help\n\n"
            "exit codes: 0 ok, 1 the directory could not be read or written, 2 usage error\n");
}

int kgm_cmd_report(int argc, char **argv) {
    static const struct option lo[] = {{"title", required_argument, 0, 't'},
                                       {"plugin-path", required_argument, 0, 'P'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *title = NULL;
    kgm_cli_plugin_dirs pd = {0};
    int c;
    bool quiet = false;
    /* optind = 0 re-initialises glibc getopt, so options may follow the operand even
     * though the dispatcher parsed its own options in "+" (stop-at-operand) mode */
    optind = 0;
    while ((c = getopt_long(argc, argv, "t:P:qh", lo, NULL)) != -1) {
        switch (c) {
        case 't': title = optarg; break;
        case 'P':
            if (kgm_cli_plugin_dirs_add(&pd, optarg, "report")) return 2;
            break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "kgmtl report: expected one results DIR\n");
        usage(stderr);
        return 2;
    }
    kgm_plugin_path sp;
    kgm_status st = kgm_cli_plugin_path(&pd, &sp);
    char html[4096] = "";
    if (!st) {
        kgm_report_opts ro = {.direction = kgm_plugin_metric_direction, .direction_user = &sp, .title = title};
        st = kgm_report_generate(argv[optind], &ro, quiet ? NULL : stdout, html, sizeof html);
    }
    kgm_plugin_path_destroy(&sp);
    if (st) {
        fprintf(stderr, "kgmtl report: %s\n", kgm_diag_strip_source(kgm_error_message()));
        return 1;
    }
    printf("%sreport: %s\n", quiet ? "" : "\n", html);
    return 0;
}
