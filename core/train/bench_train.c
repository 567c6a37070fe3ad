/* kgmtl bench train — end-to-end training throughput (samples/s) with 1 and
 * 2 threads for (a) MMoE on the MMoE synthetic data and (b) a KG + social
 * encoder with a CTR task on a large generated recommendation world. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor/bench.h"
#include "kgmtl/kgmtl.h"
#include "core/train/trainer_internal.h"

#ifndef KGM_BUILD_PLUGIN_DIR
#define KGM_BUILD_PLUGIN_DIR NULL
#endif

static void add_task(kgm_run_config *c, const char *plugin, const char *name, const char *label) {
    kgm_task_spec *t = &c->tasks[c->n_tasks++];
    kgm_task_spec_default(t);
    snprintf(t->plugin, sizeof t->plugin, "%s", plugin);
    snprintf(t->name, sizeof t->name, "%s", name);
    if (label) snprintf(t->label, sizeof t->label, "%s", label);
}

static void add_opt(kgm_run_config *c, int k, const char *key, const char *v) {
    kgm_opt_entry *e = &c->tasks[k].opts[c->tasks[k].n_opts++];
    snprintf(e->key, sizeof e->key, "%s", key);
    snprintf(e->value, sizeof e->value, "%s", v);
}

/* Time `steps` training steps after `warm` warm-up steps; samples/s. */
static kgm_status measure(kgm_trainer *tr, int warm, int steps, double *sps) {
    kgm_trainer_begin_epoch(tr);
    for (int i = 0; i < warm; i++) KGM_TRY(kgm_trainer_step(tr));
    int64_t s0 = tr->samples;
    double t0 = kgm_now();
    for (int i = 0; i < steps; i++) KGM_TRY(kgm_trainer_step(tr));
    double dt = kgm_now() - t0;
    *sps = (double)(tr->samples - s0) / dt;
    return KGM_OK;
}

static kgm_status run_case(const kgm_run_config *cfg, const char *plugin_dir, int warm, int steps, const int *threads,
                           int nthr, double *sps, double *setup_s) {
    kgm_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return KGM_ERR(KGM_ERR_NOMEM, "trainer");
    kgm_train_opts o;
    memset(&o, 0, sizeof o);
    o.plugin_dirs[0] = plugin_dir;
    double t0 = kgm_now();
    kgm_status st = kgm_trainer_setup(tr, cfg, &o);
    *setup_s = kgm_now() - t0;
    if (!st) st = kgm_trainer_alloc_perms(tr);
    for (int i = 0; i < nthr && !st; i++) {
        kgm_set_threads(threads[i]);
        st = measure(tr, warm, steps, &sps[i]);
    }
    kgm_trainer_destroy(tr);
    free(tr);
    return st;
}

static void usage(FILE *f) {
    fprintf(f, "usage: kgmtl bench train [--csv] [--threads N] [--steps N] [--small]\n\n"
               "Training throughput (samples/s) with 1 and 2 threads (or 1 and N) for:\n"
               "  mmoe      MMoE on the MMoE synthetic data (d=100, 8 experts x 16, towers 8, batch 256)\n"
               "  kg_social KG + social encoder with a CTR task on a generated world\n"
               "            (100k users, 50k items, ~1M interactions, ~500k KG triples,\n"
               "            ~1M social edges, d=64); --small uses a 10x smaller world.\n");
}

int kgm_bench_train(int argc, char **argv) {
    static const struct option opts[] = {{"csv", no_argument, 0, 'c'}, {"threads", required_argument, 0, 't'},
                                         {"steps", required_argument, 0, 's'}, {"small", no_argument, 0, 'm'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool csv = false, small = false;
    int maxthr = 2, steps = 200, c;
    while ((c = getopt_long(argc, argv, "ct:s:mh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': csv = true; break;
        case 't':
            if (!kgm_bench_parse_threads("bench train", optarg, &maxthr)) return 2;
            break;
        case 's': steps = atoi(optarg) > 0 ? atoi(optarg) : 200; break;
        case 'm': small = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    const char *pdir = getenv("KGMTL_BUILD_DIR") ? NULL : KGM_BUILD_PLUGIN_DIR;
    char pbuf[1100];
    if (!pdir) {
        snprintf(pbuf, sizeof pbuf, "%s/plugins", getenv("KGMTL_BUILD_DIR"));
        pdir = pbuf;
    }
    kgm_bench_out out;
    kgm_bench_begin(&out, stdout, csv, "kgmtl bench train: training throughput");
    kgm_bench_figure(&out, "load_1min", kgm_bench_load_1min(), "load", "1-minute load average at the start");
    int thr[2] = {1, maxthr};
    double sps[2], setup = 0;
    kgm_run_config *cfg = malloc(sizeof *cfg);
    if (!cfg) return 1;
    /* (a) MMoE synthetic */
    kgm_run_config_default(cfg);
    snprintf(cfg->data.source, sizeof cfg->data.source, "mmoe");
    cfg->data.mmoe_n_train = 100000;
    snprintf(cfg->mixer.kind, sizeof cfg->mixer.kind, "mmoe");
    cfg->mixer.n_experts = 8;
    cfg->mixer.expert_hidden = 16;
    cfg->mixer.tower_hidden = 8;
    add_task(cfg, "rating", "y1", "y1");
    add_task(cfg, "rating", "y2", "y2");
    add_opt(cfg, 0, "hidden", "0");
    add_opt(cfg, 1, "hidden", "0");
    cfg->train.batch_size = 256;
    snprintf(cfg->output, sizeof cfg->output, "/tmp/kgmtl-bench-train");
    kgm_status st = run_case(cfg, pdir, 20, steps, thr, 2, sps, &setup);
    if (st) {
        fprintf(stderr, "kgmtl bench train: mmoe: %s\n", kgm_error_message());
        free(cfg);
        return 1;
    }
    kgm_bench_figure(&out, "train.mmoe.samples_per_s.1t", sps[0], "samples/s", "MMoE synthetic, 1 thread");
    kgm_bench_figure(&out, "train.mmoe.samples_per_s.2t", sps[1], "samples/s", "MMoE synthetic, 2 threads");
    kgm_bench_figure(&out, "train.mmoe.speedup", sps[1] / sps[0], "x", NULL);
    /* (b) KG + social world */
    kgm_run_config_default(cfg);
    int scale = small ? 10 : 1;
    cfg->data.n_users = 100000 / scale;
    cfg->data.n_items = 50000 / scale;
    cfg->data.interactions_per_user = 10;
    cfg->encoder.dim = 64;
    cfg->encoder.kg = true;
    cfg->encoder.kg_hops = 1;
    cfg->encoder.social = true;
    cfg->encoder.social_hops = 1;
    snprintf(cfg->encoder.kg_layer, sizeof cfg->encoder.kg_layer, "lightgcn");
    snprintf(cfg->encoder.social_layer, sizeof cfg->encoder.social_layer, "lightgcn");
    cfg->mixer.bottom_hidden = 64;
    add_task(cfg, "ctr", "ctr", NULL);
    cfg->train.batch_size = 1024;
    snprintf(cfg->output, sizeof cfg->output, "/tmp/kgmtl-bench-train");
    kgm_bench_note(&out, "generating the %s world (%d users, %d items) ...", small ? "small" : "full", cfg->data.n_users, cfg->data.n_items);
    st = run_case(cfg, pdir, 3, steps / 10 > 5 ? steps / 10 : 5, thr, 2, sps, &setup);
    free(cfg);
    if (st) {
        fprintf(stderr, "kgmtl bench train: kg_social: %s\n", kgm_error_message());
        return 1;
    }
    kgm_bench_figure(&out, "train.kg_social.setup_s", setup, "s", "data generation + graph/CSR build");
    kgm_bench_figure(&out, "train.kg_social.samples_per_s.1t", sps[0], "samples/s", "KG+social encoder, CTR, 1 thread");
    kgm_bench_figure(&out, "train.kg_social.samples_per_s.2t", sps[1], "samples/s", "KG+social encoder, CTR, 2 threads");
    kgm_bench_figure(&out, "train.kg_social.speedup", sps[1] / sps[0], "x", NULL);
    return 0;
}
