/* kgmtl report — placeholder until its issue lands. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int kgm_cmd_report(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: kgmtl report ...\n(not built yet)\n");
        return 0;
    }
    return kgm_cli_not_built("report", "see the open issues");
}
