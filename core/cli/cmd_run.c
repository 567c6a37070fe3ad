/* kgmtl run — validate a manifest, run its sweep (one process per run), then
 * write the report. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/plugin/host.h"
#include "experiments/manifest.h"
#include "reports/report.h"
#include "experiments/runner.h"
#include "core/train/trainer.h"


/* The built-in demo: two tasks on a small generated world, KG encoder on/off,
 * three seeds. Small enough for a minute on two cores. */
static const char demo_manifest[] =
    "# kgmtl run --demo: the built-in demo manifest\n"
    "name: kgmtl demo\n"
    "description: >-\n"
    "  CTR prediction with a KG-embedding auxiliary task on a small generated\n"
    "  recommendation world; the ablation switches the KG encoder on and off.\n"
    "dataset:\n"
    "  source: world\n"
    "  n_users: 200\n"
    "  n_items: 300\n"
    "  interactions_per_user: 20\n"
    "encoder:\n"
    "  dim: 16\n"
    "  kg: true\n"
    "  kg_hops: 1\n"
    "mixer:\n"
    "  kind: shared_bottom\n"
    "  bottom_hidden: 32\n"
    "tasks:\n"
    "  - plugin: ctr\n"
    "    options: {hidden: 16}\n"
    "  - plugin: kge\n"
    "    weight: 0.5\n"
    "optimisation:\n"
    "  epochs: 4\n"
    "  batch_size: 128\n"
    "  lr: 0.02\n"
    "evaluation:\n"
    "  select: ctr.auc\n"
    "seeds: [1, 2, 3]\n"
    "ablate:\n"
    "  encoder.kg: [true, false]\n"
    "output: results/demo\n";

static void usage(FILE *f) {
    fprintf(f,
            "usage: kgmtl run [OPTIONS] MANIFEST\n"
            "       kgmtl run --demo [OPTIONS]\n\n"
            "Validate an experiment manifest (docs/manifest.md), expand its ablation grid x seeds,\n"
            "run each run in its own process, and write summary.csv and report.html into the\n"
            "output directory.\n\n"
            "options:\n"
            "  -j, --jobs N          runs in parallel (default 1); threads per run default to\n"
            "                        cores / N unless optimisation.threads is set\n"
            "  -r, --resume          skip finished runs (a DONE of this configuration whose files\n"
            "                        verify), continue half-done and failed ones from last.ckpt;\n"
            "                        refuses when a finished run's configuration changed\n"
            "      --rerun-changed   (implies --resume) move finished runs whose configuration\n"
            "                        changed or whose files do not verify to OUTPUT/.superseded/\n"
            "                        and run them again\n"
            "      --retry-failed    (implies --resume) move failed runs to OUTPUT/.superseded/\n"
            "                        and run them again from scratch\n"
            "  -n, --dry-run         validate and print the plan; run nothing\n"
            "      --only PATTERN    run only groups matching PATTERN (shell wildcards), or GROUP/seed-S\n"
            "  -q, --quiet           no per-run progress line (run output goes to <run>/console.log)\n"
            "  -o, --output DIR      write results to DIR instead of the manifest's output:\n"
            "  -t, --threads N       threads per run (overrides the cores / jobs default)\n"
            "  -P, --plugin-path DIR search DIR for task plugins first (repeatable)\n"
            "      --no-report       do not write the report after the sweep\n"
            "      --demo            run the built-in demo manifest on generated data (implies --resume;\n"
            "                        output results/demo)\n"
            "  -h, --help            show this help\n\n"
            "exit codes: 0 every run succeeded, 1 a run failed (see <run>/FAILED), 2 usage or\n"
            "manifest error (every problem is listed as file:line:column: message)\n");
}

static kgm_status train_work(void *user, const kgm_run_config *cfg, const kgm_train_opts *opts, kgm_train_result *res) {
    (void)user;
    return kgm_train_run(cfg, opts, res);
}

int kgm_cmd_run(int argc, char **argv) {
    static const struct option lo[] = {
        {"jobs", required_argument, 0, 'j'},  {"resume", no_argument, 0, 'r'},
        {"dry-run", no_argument, 0, 'n'},     {"only", required_argument, 0, 'O'},
        {"quiet", no_argument, 0, 'q'},       {"output", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'}, {"plugin-path", required_argument, 0, 'P'},
        {"no-report", no_argument, 0, 'R'},   {"demo", no_argument, 0, 'D'},
        {"retry-failed", no_argument, 0, 'F'}, {"rerun-changed", no_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    kgm_runner_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.jobs = 1;
    const char *output = NULL;
    kgm_cli_plugin_dirs pd = {0};
    bool no_report = false, demo = false;
    /* optind = 0 re-initialises glibc getopt, so options may follow the operand even
     * though the dispatcher parsed its own options in "+" (stop-at-operand) mode */
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "j:rnqo:t:P:h", lo, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'j':
            ro.jobs = (int32_t)strtol(optarg, &end, 10);
            if (*end || ro.jobs < 1 || ro.jobs > 1024) {
                fprintf(stderr, "kgmtl run: --jobs expects a number from 1 to 1024, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            ro.threads = (int32_t)strtol(optarg, &end, 10);
            if (*end || ro.threads < 1 || ro.threads > 1024) {
                fprintf(stderr, "kgmtl run: --threads expects a number from 1 to 1024, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'r': ro.resume = true; break;
        case 'F': ro.resume = ro.retry_failed = true; break;
        case 'C': ro.resume = ro.rerun_changed = true; break;
        case 'n': ro.dry_run = true; break;
        case 'O': ro.only = optarg; break;
        case 'q': ro.quiet = true; break;
        case 'o': output = optarg; break;
        case 'P':
            if (kgm_cli_plugin_dirs_add(&pd, optarg, "run")) return 2;
            break;
        case 'R': no_report = true; break;
        case 'D': demo = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (demo ? optind != argc : optind != argc - 1) {
        fprintf(stderr, demo ? "kgmtl run: --demo takes no manifest\n" : "kgmtl run: expected one MANIFEST\n");
        usage(stderr);
        return 2;
    }
    char demo_path[KGM_PATH] = "";
    const char *path = demo ? NULL : argv[optind];
    if (demo) {
        const char *tmpdir = getenv("TMPDIR");
        snprintf(demo_path, sizeof demo_path, "%s/kgmtl-demo-XXXXXX.yaml", tmpdir && *tmpdir ? tmpdir : "/tmp");
        int fd = mkstemps(demo_path, 5);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f || fputs(demo_manifest, f) == EOF || fclose(f) != 0) {
            fprintf(stderr, "kgmtl run --demo: cannot write %s: %s\n", demo_path, strerror(errno));
            return 1;
        }
        path = demo_path;
        ro.resume = true;
    }

    /* plugin search path: -P dirs, $KGMTL_PLUGIN_PATH, build dir, install dir */
    kgm_plugin_path sp;
    kgm_status st = kgm_cli_plugin_path(&pd, &sp);
    kgm_cli_plugin_dir_list(&pd, ro.plugin_dirs);

    kgm_plugin_checker *pc = NULL;
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    int rc = 0;
    if (!st) st = kgm_plugin_checker_new(&sp, &pc);
    if (st) {
        fprintf(stderr, "kgmtl run: %s\n", kgm_error_message());
        rc = 1;
        goto out;
    }
    kgm_manifest_opts mo = {
        .output = output, .check_task = kgm_plugin_check_task, .check_config = kgm_plugin_check_select, .check_user = pc};
    st = kgm_manifest_load(path, &mo, &dl, &m);
    kgm_plugin_checker_free(pc);
    pc = NULL;
    if (st != KGM_OK) {
        kgm_diag_print(&dl, stderr);
        if (dl.n == 0) fprintf(stderr, "kgmtl run: %s\n", kgm_error_message());
        else fprintf(stderr, "kgmtl run: %d problem%s in %s; nothing was run\n", dl.n, dl.n == 1 ? "" : "s",
                     demo ? "the demo manifest" : path);
        rc = 2;
        goto out;
    }
    const kgm_plan *plan = kgm_manifest_plan(m);
    ro.work = train_work;
    kgm_sweep_stats ss;
    st = kgm_runner_run(m, &ro, &ss);
    if (st == KGM_ERR_STATE || (st == KGM_OK && ro.only && ss.selected == 0)) {
        if (st == KGM_OK) fprintf(stderr, "kgmtl run: no run matches --only '%s'\n", ro.only);
        else fprintf(stderr, "kgmtl run: %s\n", kgm_diag_strip_source(kgm_error_message()));
        rc = 2;
        goto out;
    }
    if (st != KGM_OK && st != KGM_ERR_INTERRUPTED) {
        fprintf(stderr, "kgmtl run: %s\n", kgm_diag_strip_source(kgm_error_message()));
        rc = 1;
        goto out;
    }
    if (ro.dry_run) goto out;
    rc = (st == KGM_OK && ss.failed == 0) ? 0 : 1;
    if (!no_report && st == KGM_OK) {
        kgm_report_opts rep = {.direction = kgm_plugin_metric_direction, .direction_user = &sp};
        char html[KGM_PATH + 32];
        printf("\n");
        if (kgm_report_generate(plan->output, &rep, stdout, html, sizeof html) != KGM_OK) {
            fprintf(stderr, "kgmtl run: report: %s\n", kgm_diag_strip_source(kgm_error_message()));
            rc = 1;
        } else printf("\nreport: %s\n", html);
    }
    if (ss.failed) fprintf(stderr, "kgmtl run: %d run%s failed; see FAILED in %s\n", ss.failed, ss.failed == 1 ? "" : "s",
                           ss.failed == 1 ? "its run directory" : "their run directories");
out:
    kgm_manifest_free(m);
    kgm_diag_list_destroy(&dl);
    kgm_plugin_checker_free(pc);
    kgm_plugin_path_destroy(&sp);
    if (demo) unlink(demo_path);
    return rc;
}
