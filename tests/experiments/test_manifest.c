/* Manifests: every section, defaults, inheritance, ablation expansion, and
 * bad manifests with exact positions (all errors at once). */
#include <glob.h>
#include <math.h>

#include "tests/experiments/exp_util.h"
#include "core/plugin/host.h"
#include "kgmtl/kgmtl.h"
#include "experiments/manifest.h"

static char dir[KGM_PATH];
static kgm_run_config *cfg;

static void setup(void) {
    kgm_init_runtime();
    eu_tmpdir(dir, sizeof dir);
    cfg = malloc(sizeof *cfg);
    cr_assert_not_null(cfg);
}

static void teardown(void) {
    free(cfg);
    eu_rm_rf(dir);
}

TestSuite(manifest, .init = setup, .fini = teardown);

/* Load dir/name; on failure print the diagnostics and fail. */
static kgm_manifest *load_ok(const char *name) {
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    kgm_status st = kgm_manifest_load(p, NULL, &dl, &m);
    if (st != KGM_OK) kgm_diag_print(&dl, stderr);
    cr_assert_eq(st, KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(dl.n, 0);
    kgm_diag_list_destroy(&dl);
    return m;
}

/* Load dir/name expecting failure; returns the diagnostics. */
static kgm_diag_list load_bad(const char *name, const kgm_manifest_opts *o) {
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    kgm_diag_list dl = {0};
    kgm_manifest *m = (kgm_manifest *)1;
    kgm_status st = kgm_manifest_load(p, o, &dl, &m);
    cr_assert_eq(st, KGM_ERR_ARG);
    cr_assert_null(m);
    cr_assert_gt(dl.n, 0);
    return dl;
}

/* Assert diagnostic i is at "NAME:line:col" and its message contains `part`. */
static void expect_diag(const kgm_diag_list *dl, int i, const char *name, int line, int col, const char *part) {
    cr_assert_lt(i, dl->n, "only %d diagnostics", dl->n);
    char w[2 * KGM_PATH];
    snprintf(w, sizeof w, "%s/%s:%d:%d", dir, name, line, col);
    cr_expect_str_eq(dl->items[i].where, w, "diag %d: %s: %s", i, dl->items[i].where, dl->items[i].msg);
    cr_expect_not_null(strstr(dl->items[i].msg, part), "diag %d message '%s' lacks '%s'", i, dl->items[i].msg, part);
}

Test(manifest, every_section_maps_onto_the_config) {
    eu_write(dir, "all.yaml",
             "name: every section\n"
             "description: all keys\n"
             "seed: 7\n"
             "output: out/all\n"
             "published: {ctr.auc: 0.917, acc: 0.843}\n"
             "dataset:\n"
             "  source: movielens\n" /* a loaded source: threshold, split and fractions apply */
             "  path: data/x\n"
             "  rating_threshold: 4\n"
             "  split: random\n"
             "  valid_frac: 0.15\n"
             "  test_frac: 0.25\n"
             "  eval_negatives: 99\n"
             "  data_seed: 12345678901\n"
             "encoder:\n"
             "  dim: 24\n"
             "  id: false\n"
             "  kg: yes\n"
             "  kg_layer: kgat\n"
             "  social: on\n"
             "  text: hash\n"
             "  text_buckets: 1024\n"
             "  history: true\n"
             "  history_pool: attention\n"
             "  fusion: gated\n"
             "  dropout: 0.1\n"
             "mixer:\n"
             "  kind: mmoe\n"
             "  n_experts: 8\n"
             "  expert_hidden: 16\n"
             "  tower_hidden: 8\n"
             "tasks:\n"
             "  - plugin: ctr\n"
             "    options:\n"
             "      hidden: 16\n"
             "      dropout: 0.2\n"
             "  - plugin: kge\n"
             "    name: kg\n"
             "    weight: 0.5\n"
             "    lr_mult: 0.5\n"
             "    every: 3\n"
             "    batch_size: 512\n"
             "    label: y\n"
             "optimisation:\n"
             "  mode: alternating\n"
             "  schedule: every\n"
             "  weighting: uncertainty\n"
             "  optimizer: adamw\n"
             "  lr: 0.02\n"
             "  weight_decay: 1e-4\n"
             "  epochs: 20\n"
             "  batch_size: 64\n"
             "  patience: 3\n"
             "  threads: 2\n"
             "  frozen: text,id\n"
             "  log_steps: true\n"
             "evaluation:\n"
             "  select: kg.mrr\n"
             "  test: false\n"
             "  cold: no\n");
    kgm_manifest *m = load_ok("all.yaml");
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert_str_eq(p->title, "every section");
    cr_assert_str_eq(p->description, "all keys");
    cr_assert_str_eq(p->output, "out/all");
    cr_assert_eq(p->n_runs, 1);
    cr_assert_eq(p->n_seeds, 1);
    cr_assert_eq(p->runs[0].seed, 7);
    cr_assert_str_eq(p->runs[0].dir, "out/all/seed-7");
    cr_assert(p->runs[0].baseline);
    cr_assert_eq(kgm_manifest_materialize(m, 0, cfg), KGM_OK);
    cr_assert_eq(cfg->seed, 7);
    cr_assert_str_eq(cfg->output, "out/all/seed-7");
    cr_assert_str_eq(cfg->published, "ctr.auc=0.917,acc=0.843");
    cr_assert_str_eq(cfg->data.source, "movielens");
    cr_assert_str_eq(cfg->data.path, "data/x");
    cr_assert_float_eq(cfg->data.rating_threshold, 4.0, 1e-12);
    cr_assert_str_eq(cfg->data.split, "random");
    cr_assert_float_eq(cfg->data.valid_frac, 0.15, 1e-12);
    cr_assert_float_eq(cfg->data.test_frac, 0.25, 1e-12);
    cr_assert_eq(cfg->data.eval_negatives, 99);
    cr_assert_eq(cfg->data.data_seed, 12345678901ull);
    cr_assert_eq(cfg->encoder.dim, 24);
    cr_assert_not(cfg->encoder.id);
    cr_assert(cfg->encoder.kg);
    cr_assert_str_eq(cfg->encoder.kg_layer, "kgat");
    cr_assert(cfg->encoder.social);
    cr_assert_str_eq(cfg->encoder.text, "hash");
    cr_assert_eq(cfg->encoder.text_buckets, 1024);
    cr_assert(cfg->encoder.history);
    cr_assert_str_eq(cfg->encoder.history_pool, "attention");
    cr_assert_str_eq(cfg->encoder.fusion, "gated");
    cr_assert_float_eq(cfg->encoder.dropout, 0.1, 1e-12);
    cr_assert_str_eq(cfg->mixer.kind, "mmoe");
    cr_assert_eq(cfg->mixer.n_experts, 8);
    cr_assert_eq(cfg->mixer.expert_hidden, 16);
    cr_assert_eq(cfg->mixer.tower_hidden, 8);
    cr_assert_eq(cfg->n_tasks, 2);
    cr_assert_str_eq(cfg->tasks[0].name, "ctr");
    cr_assert_str_eq(cfg->tasks[0].plugin, "ctr");
    cr_assert_float_eq(cfg->tasks[0].weight, 1.0, 0);
    cr_assert_eq(cfg->tasks[0].n_opts, 2);
    cr_assert_str_eq(cfg->tasks[0].opts[0].key, "hidden");
    cr_assert_str_eq(cfg->tasks[0].opts[0].value, "16");
    cr_assert_str_eq(cfg->tasks[0].opts[1].key, "dropout");
    cr_assert_str_eq(cfg->tasks[0].opts[1].value, "0.2");
    char w[2 * KGM_PATH];
    snprintf(w, sizeof w, "%s/all.yaml:35:15", dir);
    cr_assert_str_eq(cfg->tasks[0].opts[0].where, w);
    snprintf(w, sizeof w, "%s/all.yaml:33:5", dir);
    cr_assert_str_eq(cfg->tasks[0].where, w);
    cr_assert_str_eq(cfg->tasks[1].name, "kg");
    cr_assert_str_eq(cfg->tasks[1].plugin, "kge");
    cr_assert_float_eq(cfg->tasks[1].weight, 0.5, 1e-12);
    cr_assert_float_eq(cfg->tasks[1].lr_mult, 0.5, 1e-12);
    cr_assert_eq(cfg->tasks[1].every, 3);
    cr_assert_eq(cfg->tasks[1].batch_size, 512);
    cr_assert_str_eq(cfg->tasks[1].label, "y");
    cr_assert_str_eq(cfg->train.mode, "alternating");
    cr_assert_str_eq(cfg->train.schedule, "every");
    cr_assert_str_eq(cfg->train.weighting, "uncertainty");
    cr_assert_str_eq(cfg->train.optimizer, "adamw");
    cr_assert_float_eq(cfg->train.lr, 0.02, 1e-12);
    cr_assert_float_eq(cfg->train.weight_decay, 1e-4, 1e-15);
    cr_assert_eq(cfg->train.epochs, 20);
    cr_assert_eq(cfg->train.batch_size, 64);
    cr_assert_eq(cfg->train.patience, 3);
    cr_assert_eq(cfg->train.threads, 2);
    cr_assert_str_eq(cfg->train.frozen, "text,id");
    cr_assert(cfg->train.log_steps);
    cr_assert_str_eq(cfg->eval.select, "kg.mrr");
    cr_assert_not(cfg->eval.test);
    cr_assert_not(cfg->eval.cold);
    kgm_manifest_free(m);
}

Test(manifest, unset_keys_keep_the_documented_defaults) {
    eu_write(dir, "min.yaml", "tasks:\n  - plugin: /opt/plugins/libmytask.so\n");
    kgm_manifest *m = load_ok("min.yaml");
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert_str_eq(p->title, "min");
    cr_assert_str_eq(p->output, "results/min");
    cr_assert_eq(kgm_manifest_materialize(m, 0, cfg), KGM_OK);
    kgm_run_config *d = malloc(sizeof *d);
    kgm_run_config_default(d);
    cr_assert_eq(memcmp(&cfg->data, &d->data, sizeof d->data), 0);
    cr_assert_eq(memcmp(&cfg->encoder, &d->encoder, sizeof d->encoder), 0);
    cr_assert_eq(memcmp(&cfg->mixer, &d->mixer, sizeof d->mixer), 0);
    cr_assert_eq(memcmp(&cfg->train, &d->train, sizeof d->train), 0);
    cr_assert_eq(memcmp(&cfg->eval, &d->eval, sizeof d->eval), 0);
    cr_assert_eq(cfg->seed, d->seed);
    cr_assert_str_eq(cfg->tasks[0].name, "mytask"); /* stem of the .so path */
    cr_assert_float_eq(cfg->tasks[0].weight, 1.0, 0);
    cr_assert_eq(cfg->tasks[0].every, 1);
    free(d);
    kgm_manifest_free(m);
}

/* The documented default of every schema key equals kgm_run_config_default. */
Test(manifest, select_accepts_the_mean_over_tasks) {
    eu_write(dir, "mean.yaml",
             "tasks:\n  - plugin: /opt/plugins/liba.so\n  - plugin: /opt/plugins/libb.so\nevaluation:\n  select: mean.rmse\n");
    kgm_manifest *m = load_ok("mean.yaml");
    cr_assert_eq(kgm_manifest_materialize(m, 0, cfg), KGM_OK);
    cr_assert_str_eq(cfg->eval.select, "mean.rmse");
    kgm_manifest_free(m);
}

/* A manifest must be UTF-8 text: the first bad byte is reported at its
 * position (and libfyaml 0.7.12, which loops forever on some malformed bytes
 * in a directive line, never sees it). */
Test(manifest, non_utf8_bytes_are_reported_at_their_position, .timeout = 120) {
    static const struct {
        const char *text, *msg;
        int line, col;
    } cases[] = {
        {"tasks:\n  - plugin: ctr\n  # caf\xe9\n", "expected UTF-8 text, found the invalid byte 0xe9", 3, 8},
        {"%x \xb4\n", "expected UTF-8 text, found the invalid byte 0xb4", 1, 4},     /* the libfyaml hang */
        {"tasks: [\xc3", "expected UTF-8 text, found the invalid byte 0xc3", 1, 9},     /* cut at the end */
        {"a: \xed\xa0\x80\n", "expected UTF-8 text, found the invalid byte 0xed", 1, 4}, /* a surrogate */
    };
    for (int i = 0; i < 4; i++) {
        eu_write(dir, "u.yaml", cases[i].text);
        kgm_diag_list dl = load_bad("u.yaml", NULL);
        cr_assert_eq(dl.n, 1, "case %d", i);
        expect_diag(&dl, 0, "u.yaml", cases[i].line, cases[i].col, cases[i].msg);
        kgm_diag_list_destroy(&dl);
    }
    /* valid multi-byte text and a BOM still load */
    eu_write(dir, "v.yaml", "\xef\xbb\xbfname: caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x93\x88\ntasks:\n  - plugin: /x/libt.so\n");
    kgm_manifest *m = load_ok("v.yaml");
    kgm_manifest_free(m);
}

Test(manifest, schema_defaults_match_the_config_defaults) {
    kgm_run_config *d = malloc(sizeof *d);
    kgm_run_config_default(d);
    kgm_task_spec t;
    kgm_task_spec_default(&t);
    int32_t n;
    const kgm_key_spec *s = kgm_manifest_schema(&n);
    cr_assert_gt(n, 80);
    for (int32_t i = 0; i < n; i++) {
        if (s[i].type == KGM_KEY_SPECIAL) continue;
        const char *base = !strncmp(s[i].key, "tasks[].", 8) ? (const char *)&t : (const char *)d;
        const char *field = base + s[i].offset;
        const char *def = s[i].def;
        switch (s[i].type) {
        case KGM_KEY_INT: cr_expect_eq(*(const int32_t *)field, atoi(def), "%s", s[i].key); break;
        case KGM_KEY_U64: cr_expect_eq(*(const uint64_t *)field, strtoull(def, NULL, 10), "%s", s[i].key); break;
        case KGM_KEY_FLOAT:
            if (!strcmp(def, ".nan")) cr_expect(isnan(*(const double *)field), "%s", s[i].key);
            else cr_expect_float_eq(*(const double *)field, strtod(def, NULL), 1e-12, "%s", s[i].key);
            break;
        case KGM_KEY_BOOL: cr_expect_eq(*(const bool *)field, !strcmp(def, "true"), "%s", s[i].key); break;
        case KGM_KEY_ENUM:
            cr_expect_str_eq(field, def, "%s", s[i].key);
            cr_expect(strstr(s[i].choices, def) != NULL, "%s default not among the choices", s[i].key);
            break;
        case KGM_KEY_STRING:
            if (!strncmp(def, "\"\"", 2)) cr_expect_str_eq(field, "", "%s", s[i].key);
            break;
        default: break;
        }
    }
    free(d);
}

/* docs/manifest.md names every key of the schema. */
Test(manifest, docs_cover_every_schema_key) {
    const char *src = getenv("KGMTL_SOURCE_DIR");
    cr_assert_not_null(src, "KGMTL_SOURCE_DIR is not set");
    char p[KGM_PATH];
    snprintf(p, sizeof p, "%s/docs/manifest.md", src);
    char *doc = eu_read(p, NULL);
    cr_assert_not_null(doc, "cannot read %s", p);
    int32_t n;
    const kgm_key_spec *s = kgm_manifest_schema(&n);
    for (int32_t i = 0; i < n; i++) {
        char k[160];
        snprintf(k, sizeof k, "`%s`", s[i].key);
        cr_expect_not_null(strstr(doc, k), "docs/manifest.md does not document %s", k);
        /* exactly one table row per key */
        char row[170];
        snprintf(row, sizeof row, "\n| `%s` |", s[i].key);
        const char *first = strstr(doc, row);
        cr_expect(!first || !strstr(first + 1, row), "docs/manifest.md has two table rows for %s", k);
    }
    free(doc);
}

/* Every "# example: NAME" YAML block of docs/manifest.md is a valid manifest. */
Test(manifest, docs_examples_validate) {
    const char *src = getenv("KGMTL_SOURCE_DIR");
    cr_assert_not_null(src, "KGMTL_SOURCE_DIR is not set");
    char p[KGM_PATH];
    snprintf(p, sizeof p, "%s/docs/manifest.md", src);
    char *doc = eu_read(p, NULL);
    cr_assert_not_null(doc, "cannot read %s", p);
    char names[16][64];
    int n = 0;
    const char *tag = "```yaml\n# example: ";
    for (const char *b = strstr(doc, tag); b && n < 16; b = strstr(b + 1, tag)) {
        const char *name = b + strlen(tag), *eol = strchr(name, '\n'), *end = strstr(name, "```");
        cr_assert(eol && end && eol < end);
        snprintf(names[n], sizeof names[n], "%.*s.yaml", (int)(eol - name), name);
        char *text = strndup(b + 8, (size_t)(end - (b + 8)));
        eu_write(dir, names[n++], text);
        free(text);
    }
    cr_assert_geq(n, 5, "the use-case examples");
    for (int i = 0; i < n; i++) {
        kgm_manifest *m = load_ok(names[i]);
        cr_assert_gt(kgm_manifest_plan(m)->n_runs, 0);
        kgm_manifest_free(m);
    }
    free(doc);
}

Test(manifest, base_inheritance_overrides_and_relative_paths) {
    eu_write(dir, "root.yaml",
             "dataset: {source: world, n_users: 100, n_items: 200}\n"
             "encoder: {dim: 8, kg: true, social: true}\n"
             "tasks:\n  - plugin: ctr\n"
             "seeds: [1, 2, 3]\n"
             "ablate:\n  encoder.kg: [true, false]\n");
    eu_write(dir, "common/base.yaml",
             "base: ../root.yaml\n"
             "encoder: {dim: 16}\n"
             "optimisation: {epochs: 5, lr: 0.05}\n");
    eu_write(dir, "exp/child.yaml",
             "base: ../common/base.yaml\n"
             "encoder:\n  social: ~\n  text: hash\n"
             "optimisation: {epochs: 7}\n"
             "seed: 9\n"
             "ablate:\n  optimisation.weighting: [equal, uncertainty]\n");
    kgm_manifest *m = load_ok("exp/child.yaml");
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert_str_eq(p->title, "child");
    cr_assert_eq(p->n_seeds, 1, "seed: in the child replaces the base's seeds");
    cr_assert_eq(p->n_axes, 1, "ablate: is replaced as a whole");
    cr_assert_str_eq(p->axes[0].key, "optimisation.weighting");
    cr_assert_eq(p->n_runs, 2);
    cr_assert_eq(kgm_manifest_materialize(m, 1, cfg), KGM_OK);
    cr_assert_eq(cfg->seed, 9);
    cr_assert_eq(cfg->data.n_users, 100);          /* root */
    cr_assert_eq(cfg->encoder.dim, 16);            /* base over root */
    cr_assert(cfg->encoder.kg);                    /* root */
    cr_assert_not(cfg->encoder.social);            /* child's null removes root's value */
    cr_assert_str_eq(cfg->encoder.text, "hash");   /* child */
    cr_assert_eq(cfg->train.epochs, 7);            /* child over base */
    cr_assert_float_eq(cfg->train.lr, 0.05, 1e-12); /* base */
    cr_assert_str_eq(cfg->train.weighting, "uncertainty");
    cr_assert_eq(cfg->n_tasks, 1);
    kgm_manifest_free(m);
}

Test(manifest, base_errors_point_into_the_right_file) {
    eu_write(dir, "b.yaml", "encoder: {dim: -4}\ntasks:\n  - plugin: ctr\n");
    eu_write(dir, "a.yaml", "base: b.yaml\nmixer: {kind: moe}\n");
    kgm_diag_list dl = load_bad("a.yaml", NULL);
    cr_assert_eq(dl.n, 2);
    /* grouped by file in the order the files were read: the base first */
    expect_diag(&dl, 0, "b.yaml", 1, 16, "encoder.dim: -4 is out of range");
    expect_diag(&dl, 1, "a.yaml", 2, 15, "'moe' is not one of");
    kgm_diag_list_destroy(&dl);

    eu_write(dir, "c1.yaml", "base: c2.yaml\n");
    eu_write(dir, "c2.yaml", "base: c1.yaml\n");
    dl = load_bad("c1.yaml", NULL);
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "c2.yaml", 1, 7, "inheritance cycle");
    kgm_diag_list_destroy(&dl);

    eu_write(dir, "m.yaml", "base: missing.yaml\n");
    dl = load_bad("m.yaml", NULL);
    expect_diag(&dl, 0, "m.yaml", 1, 7, "cannot open");
    kgm_diag_list_destroy(&dl);
}

Test(manifest, grid_ablation_times_seeds) {
    eu_write(dir, "grid.yaml",
             "tasks:\n  - plugin: ctr\n  - plugin: kge\n"
             "output: out\n"
             "seeds: [1, 2, 3]\n"
             "ablate:\n"
             "  encoder.kg: [true, false]\n"
             "  optimisation.weighting: [equal, uncertainty, dwa]\n");
    kgm_manifest *m = load_ok("grid.yaml");
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert_eq(p->n_axes, 2);
    cr_assert_not(p->zip);
    cr_assert_eq(p->n_points, 6);
    cr_assert_eq(p->n_runs, 18);
    cr_assert_str_eq(p->axes[0].label, "kg");
    cr_assert_str_eq(p->axes[1].label, "weighting");
    static const char *const names[] = {"kg=true,weighting=equal",  "kg=true,weighting=uncertainty",
                                        "kg=true,weighting=dwa",    "kg=false,weighting=equal",
                                        "kg=false,weighting=uncertainty", "kg=false,weighting=dwa"};
    for (int32_t i = 0; i < p->n_runs; i++) {
        cr_assert_str_eq(p->runs[i].group, names[i / 3]);
        cr_assert_eq(p->runs[i].seed, (uint64_t)(i % 3 + 1));
        cr_assert_eq(p->runs[i].baseline, i < 3);
        char d[KGM_PATH];
        snprintf(d, sizeof d, "out/%s/seed-%d", names[i / 3], i % 3 + 1);
        cr_assert_str_eq(p->runs[i].dir, d);
        cr_assert_eq(kgm_manifest_materialize(m, i, cfg), KGM_OK);
        cr_assert_eq(cfg->encoder.kg, i < 9);
        static const char *const weighting[] = {"equal", "uncertainty", "dwa"};
        cr_assert_str_eq(cfg->train.weighting, weighting[(i / 3) % 3]);
        cr_assert_str_eq(cfg->name, names[i / 3]);
        cr_assert_eq(cfg->seed, (uint64_t)(i % 3 + 1));
    }
    kgm_manifest_free(m);
}

Test(manifest, zip_ablation_task_axes_and_seed_count) {
    eu_write(dir, "zip.yaml",
             "tasks:\n  - plugin: ctr\n  - plugin: kge\n"
             "seeds: 2\n"
             "ablate_mode: zip\n"
             "ablate:\n"
             "  mixer.kind: [shared_bottom, mmoe, ple]\n"
             "  tasks.kge.weight: [1, 0.5, 0.25]\n"
             "  tasks.kge.options.model: [transe, distmult, rotate]\n"
             "  encoder.dropout: [0, 0.1, 0.2]\n"
             "  mixer.dropout: [0, 0.1, 0.2]\n");
    kgm_manifest *m = load_ok("zip.yaml");
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert(p->zip);
    cr_assert_eq(p->n_points, 3);
    cr_assert_eq(p->n_seeds, 2);
    cr_assert_eq(p->n_runs, 6);
    cr_assert_eq(p->seeds[0], 1);
    cr_assert_eq(p->seeds[1], 2);
    cr_assert_str_eq(p->axes[1].label, "kge.weight");
    cr_assert_str_eq(p->axes[2].label, "kge.model");
    cr_assert_str_eq(p->axes[3].label, "encoder.dropout", "clashing labels use the full key");
    cr_assert_str_eq(p->runs[2].group,
                     "kind=mmoe,kge.weight=0.5,kge.model=distmult,encoder.dropout=0.1,mixer.dropout=0.1");
    cr_assert_eq(kgm_manifest_materialize(m, 5, cfg), KGM_OK);
    cr_assert_str_eq(cfg->mixer.kind, "ple");
    cr_assert_float_eq(cfg->tasks[1].weight, 0.25, 1e-12);
    cr_assert_eq(cfg->tasks[1].n_opts, 1);
    cr_assert_str_eq(cfg->tasks[1].opts[0].key, "model");
    cr_assert_str_eq(cfg->tasks[1].opts[0].value, "rotate");
    cr_assert_float_eq(cfg->encoder.dropout, 0.2, 1e-12);
    cr_assert_float_eq(cfg->mixer.dropout, 0.2, 1e-12);
    cr_assert_eq(cfg->seed, 2);
    kgm_manifest_free(m);
}

Test(manifest, one_at_a_time_ablation) {
    eu_write(dir, "oat.yaml",
             "tasks:\n  - plugin: ctr\n"
             "seeds: [1, 2, 3]\n"
             "ablate_mode: one_at_a_time\n"
             "ablate:\n"
             "  encoder.kg: [true, false]\n"
             "  encoder.text: [hash, \"off\", vectors]\n"
             "  encoder.text_path: [vec.txt]\n"
             "  optimisation.weighting: [equal, uncertainty]\n");
    kgm_manifest *m = load_ok("oat.yaml");
    const kgm_plan *p = kgm_manifest_plan(m);
    cr_assert(p->one_at_a_time);
    cr_assert_eq(p->n_points, 1 + 1 + 2 + 0 + 1);
    cr_assert_eq(p->n_runs, 15);
    static const char *const names[] = {"baseline", "kg=false", "text=off", "text=vectors", "weighting=uncertainty"};
    for (int32_t i = 0; i < p->n_runs; i++) {
        cr_assert_str_eq(p->runs[i].group, names[i / 3]);
        cr_assert_eq(p->runs[i].baseline, i < 3);
    }
    cr_assert_eq(kgm_manifest_materialize(m, 9, cfg), KGM_OK); /* text=vectors */
    cr_assert(cfg->encoder.kg);
    cr_assert_str_eq(cfg->encoder.text, "vectors");
    cr_assert_str_eq(cfg->encoder.text_path, "vec.txt");
    cr_assert_str_eq(cfg->train.weighting, "equal");
    cr_assert_eq(kgm_manifest_materialize(m, 3, cfg), KGM_OK); /* kg=false */
    cr_assert_not(cfg->encoder.kg);
    cr_assert_str_eq(cfg->encoder.text, "hash");
    kgm_manifest_free(m);
}

Test(manifest, output_override_and_plain_runs) {
    eu_write(dir, "one.yaml", "tasks:\n  - plugin: ctr\nseeds: [5, 6]\noutput: r/x\n");
    char p[2 * KGM_PATH];
    snprintf(p, sizeof p, "%s/one.yaml", dir);
    kgm_manifest_opts o = {.output = "elsewhere/"};
    kgm_manifest *m = NULL;
    cr_assert_eq(kgm_manifest_load(p, &o, NULL, &m), KGM_OK);
    const kgm_plan *pl = kgm_manifest_plan(m);
    cr_assert_eq(pl->n_runs, 2);
    cr_assert_str_eq(pl->runs[1].dir, "elsewhere/seed-6");
    cr_assert_str_eq(pl->runs[1].group, "default");
    kgm_manifest_free(m);
}

/* One file with many problems: all are reported, in file order, with positions. */
Test(manifest, every_error_at_once_with_positions) {
    eu_write(dir, "bad.yaml",
             "encodr:\n"                       /* 1 */
             "  dim: 16\n"                     /* 2 */
             "encoder:\n"                      /* 3 */
             "  dim: abc\n"                    /* 4 */
             "  kg_hops: 99\n"                 /* 5 */
             "  droput: 0.1\n"                 /* 6 */
             "  kg: maybe\n"                   /* 7 */
             "mixer:\n"                        /* 8 */
             "  kind: mmoee\n"                 /* 9 */
             "optimisation:\n"                 /* 10 */
             "  lr: -1\n"                      /* 11 */
             "  epochs: \"10\"\n"              /* 12 */
             "  batch_size: [1, 2]\n"          /* 13 */
             "tasks:\n"                        /* 14 */
             "  - plugin: ctr\n"               /* 15 */
             "    wieght: 2\n"                 /* 16 */
             "  - name: lonely\n"              /* 17 */
             "ablate:\n"                       /* 18 */
             "  encoder.kgg: [true]\n"         /* 19 */
             "  tasks.ctr.weight: [1, -2]\n"   /* 20 */
             "seeds: [1, 1]\n"                 /* 21 */
             "lr: 0.3\n");                     /* 22 */
    kgm_diag_list dl = load_bad("bad.yaml", NULL);
    int i = 0;
    expect_diag(&dl, i++, "bad.yaml", 1, 1, "unknown top-level key 'encodr' (did you mean 'encoder'?)");
    expect_diag(&dl, i++, "bad.yaml", 4, 8, "encoder.dim: expected an integer, found 'abc'");
    expect_diag(&dl, i++, "bad.yaml", 5, 12, "encoder.kg_hops: 99 is out of range (allowed: [0, 8])");
    expect_diag(&dl, i++, "bad.yaml", 6, 3, "unknown key 'droput' in encoder (did you mean 'dropout'?)");
    expect_diag(&dl, i++, "bad.yaml", 7, 7, "encoder.kg: expected true or false, found 'maybe'");
    expect_diag(&dl, i, "bad.yaml", 9, 9, "mixer.kind: 'mmoee' is not one of shared_bottom, mmoe");
    expect_diag(&dl, i++, "bad.yaml", 9, 9, "(did you mean 'mmoe'?)");
    expect_diag(&dl, i++, "bad.yaml", 11, 7, "optimisation.lr: -1 is out of range (allowed: > 0)");
    expect_diag(&dl, i++, "bad.yaml", 12, 11, "optimisation.epochs: expected an integer, found the string \"10\"");
    expect_diag(&dl, i++, "bad.yaml", 13, 15, "optimisation.batch_size: expected an integer, found a list");
    expect_diag(&dl, i++, "bad.yaml", 16, 5, "unknown key 'wieght' in a task entry (did you mean 'weight'?)");
    expect_diag(&dl, i++, "bad.yaml", 17, 5, "tasks[1]: 'plugin' is required");
    expect_diag(&dl, i++, "bad.yaml", 19, 3, "ablate: unknown key 'encoder.kgg' (did you mean 'encoder.kg'?)");
    expect_diag(&dl, i++, "bad.yaml", 20, 25, "ablate.tasks.ctr.weight[1]: -2 is out of range");
    expect_diag(&dl, i++, "bad.yaml", 21, 12, "seeds[1]: seed 1 is listed twice");
    expect_diag(&dl, i++, "bad.yaml", 22, 1, "unknown top-level key 'lr' (did you mean 'optimisation.lr'?)");
    cr_assert_eq(dl.n, i, "exactly these problems, found %d", dl.n);
    kgm_diag_list_destroy(&dl);
}

Test(manifest, missing_file_and_yaml_syntax_error) {
    kgm_diag_list dl = load_bad("nope.yaml", NULL);
    char w[2 * KGM_PATH];
    snprintf(w, sizeof w, "%s/nope.yaml", dir);
    cr_assert_eq(dl.n, 1);
    cr_assert_str_eq(dl.items[0].where, w);
    cr_assert_not_null(strstr(dl.items[0].msg, "cannot open the manifest"));
    kgm_diag_list_destroy(&dl);

    eu_write(dir, "syntax.yaml", "tasks:\n  - plugin: ctr\nencoder: {dim: 8\nmixer:\n  kind: mmoe\n");
    dl = load_bad("syntax.yaml", NULL);
    cr_assert_geq(dl.n, 1);
    cr_assert_not_null(strstr(dl.items[0].msg, "YAML syntax error"), "%s", dl.items[0].msg);
    snprintf(w, sizeof w, "%s/syntax.yaml:", dir);
    cr_assert_eq(strncmp(dl.items[0].where, w, strlen(w)), 0, "%s", dl.items[0].where);
    long line = strtol(dl.items[0].where + strlen(w), NULL, 10);
    cr_assert(line >= 3 && line <= 6, "syntax error reported at line %ld", line);
    kgm_diag_list_destroy(&dl);

    eu_write(dir, "dup.yaml", "tasks:\n  - plugin: ctr\nencoder:\n  dim: 8\n  dim: 9\n");
    dl = load_bad("dup.yaml", NULL);
    expect_diag(&dl, 0, "dup.yaml", 5, 3, "duplicate key 'dim' (first given at line 4)");
    kgm_diag_list_destroy(&dl);

    eu_write(dir, "list.yaml", "- a\n- b\n");
    dl = load_bad("list.yaml", NULL);
    expect_diag(&dl, 0, "list.yaml", 1, 1, "a manifest is a mapping");
    kgm_diag_list_destroy(&dl);
}

Test(manifest, cross_field_and_ablation_structure_errors) {
    eu_write(dir, "x.yaml",
             "tasks:\n"                                  /* 1 */
             "  - plugin: ctr\n"                         /* 2 */
             "  - plugin: ctr\n"                         /* 3 */
             "dataset:\n"                                /* 4 */
             "  valid_frac: 0.5\n"                       /* 5 */
             "  test_frac: 0.6\n"                        /* 6 */
             "evaluation:\n"                             /* 7 */
             "  select: nosuch.auc\n"                    /* 8 */
             "ablate_mode: zip\n"                        /* 9 */
             "ablate:\n"                                 /* 10 */
             "  encoder.dim: [8, 16]\n"                  /* 11 */
             "  mixer.kind: [mmoe, ple, omoe]\n"         /* 12 */
             "  encoder.kg: true\n"                      /* 13 */
             "  tasks.nosuch.weight: [1]\n");            /* 14 */
    kgm_diag_list dl = load_bad("x.yaml", NULL);
    int i = 0;
    expect_diag(&dl, i++, "x.yaml", 3, 5, "the name 'ctr' is used twice");
    expect_diag(&dl, i++, "x.yaml", 6, 14, "valid_frac + test_frac must be below 1");
    expect_diag(&dl, i++, "x.yaml", 8, 11, "evaluation.select: 'nosuch.auc'");
    expect_diag(&dl, i++, "x.yaml", 11, 3, "ablate (zip): every axis needs the same number of values");
    expect_diag(&dl, i++, "x.yaml", 13, 15, "ablate.encoder.kg: expected a non-empty list");
    expect_diag(&dl, i++, "x.yaml", 14, 3, "ablate: no task named 'nosuch' (tasks: ctr, ctr)");
    cr_assert_eq(dl.n, i);
    kgm_diag_list_destroy(&dl);
}

/* tasks[].weight: with weighting unset (auto) it is accepted (a static weight);
 * with a method that would ignore it, an error at the weight's position, or at
 * the ablation value that makes the point ignore it. */
Test(manifest, task_weight_rules_by_weighting) {
    eu_write(dir, "ok.yaml", "tasks:\n  - plugin: ctr\n  - plugin: kge\n    weight: 0.5\n");
    kgm_manifest *m = load_ok("ok.yaml");
    cr_assert_eq(kgm_manifest_materialize(m, 0, cfg), KGM_OK);
    cr_expect_str_eq(cfg->train.weighting, "auto");
    kgm_manifest_free(m);
    eu_write(dir, "w.yaml",
             "tasks:\n"                                   /* 1 */
             "  - plugin: ctr\n"                          /* 2 */
             "  - plugin: kge\n"                          /* 3 */
             "    weight: 0.5\n"                          /* 4 */
             "optimisation:\n"                            /* 5 */
             "  weighting: pcgrad\n");                    /* 6 */
    kgm_diag_list dl = load_bad("w.yaml", NULL);
    expect_diag(&dl, 0, "w.yaml", 4, 13, "tasks[1].weight: 0.5 has no effect with weighting pcgrad");
    cr_assert_eq(dl.n, 1);
    kgm_diag_list_destroy(&dl);
    eu_write(dir, "a.yaml",
             "tasks:\n"                                   /* 1 */
             "  - plugin: ctr\n"                          /* 2 */
             "  - plugin: kge\n"                          /* 3 */
             "optimisation: {weighting: equal}\n"         /* 4 */
             "ablate:\n"                                  /* 5 */
             "  tasks.kge.weight: [1, 0.25]\n");          /* 6 */
    dl = load_bad("a.yaml", NULL);
    expect_diag(&dl, 0, "a.yaml", 6, 25, "tasks[1].weight: 0.25 has no effect with weighting equal");
    cr_assert_eq(dl.n, 1);
    kgm_diag_list_destroy(&dl);
}

/* The plugin hook: unknown plugins and options come back at their positions. */
static void fake_check(void *user, const kgm_task_spec *t, kgm_diag_list *dl) {
    int *calls = user;
    (*calls)++;
    if (!strcmp(t->plugin, "nope")) kgm_diag_add(dl, t->where, "unknown plugin '%s'", t->plugin);
    for (int32_t k = 0; k < t->n_opts; k++)
        if (!strcmp(t->opts[k].key, "hiden"))
            kgm_diag_add(dl, t->opts[k].where, "unknown option 'hiden' (did you mean 'hidden'?)");
}

Test(manifest, plugin_hook_reports_unknown_plugins_and_options) {
    eu_write(dir, "p.yaml",
             "tasks:\n"
             "  - plugin: ctr\n"
             "    options: {hiden: 3}\n"
             "  - plugin: nope\n"
             "ablate:\n"
             "  encoder.kg: [true, false]\n");
    int calls = 0;
    kgm_manifest_opts o = {.check_task = fake_check, .check_user = &calls};
    kgm_diag_list dl = load_bad("p.yaml", &o);
    cr_assert_eq(calls, 4, "two tasks x two grid points");
    cr_assert_eq(dl.n, 2, "duplicates across grid points are dropped");
    expect_diag(&dl, 0, "p.yaml", 3, 22, "unknown option 'hiden'");
    expect_diag(&dl, 1, "p.yaml", 4, 5, "unknown plugin 'nope'");
    kgm_diag_list_destroy(&dl);
}

Test(manifest, published_forms) {
    eu_write(dir, "pub.yaml", "tasks:\n  - plugin: ctr\npublished: \"auc=0.9,acc=0.8\"\n");
    kgm_manifest *m = load_ok("pub.yaml");
    cr_assert_eq(kgm_manifest_materialize(m, 0, cfg), KGM_OK);
    cr_assert_str_eq(cfg->published, "auc=0.9,acc=0.8");
    kgm_manifest_free(m);
    eu_write(dir, "pub2.yaml", "tasks:\n  - plugin: ctr\npublished: \"auc:0.9\"\n");
    kgm_diag_list dl = load_bad("pub2.yaml", NULL);
    expect_diag(&dl, 0, "pub2.yaml", 3, 12, "is not metric=value");
    kgm_diag_list_destroy(&dl);
}

/* The built plugins, for the checks that use real option schemas. */
static bool build_plugins(kgm_plugin_path *sp) {
    const char *bd = getenv("KGMTL_BUILD_DIR");
    if (!bd) return false;
    char p[KGM_PATH];
    snprintf(p, sizeof p, "%s/plugins", bd);
    kgm_plugin_path_init(sp);
    cr_assert_eq(kgm_plugin_path_add(sp, p), KGM_OK);
    return true;
}

Test(manifest, real_plugin_schemas_are_checked_at_their_positions) {
    kgm_plugin_path sp;
    if (!build_plugins(&sp)) cr_skip_test("KGMTL_BUILD_DIR is not set");
    kgm_plugin_checker *pc;
    cr_assert_eq(kgm_plugin_checker_new(&sp, &pc), KGM_OK);
    eu_write(dir, "plug.yaml",
             "tasks:\n"
             "  - plugin: ctr\n"
             "    options:\n"
             "      hiden: 16\n"
             "      dropout: 2\n"
             "  - plugin: nope\n"
             "  - plugin: kge\n"
             "    options: {model: transx, margin: 2}\n");
    kgm_manifest_opts o = {.check_task = kgm_plugin_check_task, .check_user = pc};
    kgm_diag_list dl = load_bad("plug.yaml", &o);
    cr_assert_eq(dl.n, 4);
    expect_diag(&dl, 0, "plug.yaml", 4, 14, "task 'ctr' (plugin ctr): unknown option 'hiden' (did you mean 'hidden'?)");
    expect_diag(&dl, 1, "plug.yaml", 5, 16, "option 'dropout'");
    expect_diag(&dl, 2, "plug.yaml", 6, 5, "unknown plugin 'nope'");
    expect_diag(&dl, 3, "plug.yaml", 8, 22, "option 'model'");
    cr_assert_null(strstr(dl.items[2].msg, ".c:"), "no source positions of kgmtl itself: %s", dl.items[2].msg);
    kgm_diag_list_destroy(&dl);
    kgm_plugin_checker_free(pc);
    kgm_plugin_path_destroy(&sp);
}

/* evaluation.select is checked against the metrics the plugins report. */
Test(manifest, select_metric_is_checked_against_the_plugins) {
    kgm_plugin_path sp;
    if (!build_plugins(&sp)) cr_skip_test("KGMTL_BUILD_DIR is not set");
    kgm_plugin_checker *pc;
    cr_assert_eq(kgm_plugin_checker_new(&sp, &pc), KGM_OK);
    kgm_manifest_opts o = {.check_task = kgm_plugin_check_task, .check_config = kgm_plugin_check_select, .check_user = pc};
    static const char *const bad[][2] = {
        {"  select: ctr.aucc\n", "task 'ctr' (plugin ctr) reports no metric 'aucc'; it reports: auc, logloss"},
        {"  select: mean.rmse\n", "no task reports the metric 'rmse' that 'mean.rmse' averages"},
    };
    for (int i = 0; i < 2; i++) {
        char text[512];
        snprintf(text, sizeof text, "tasks:\n  - plugin: ctr\n  - plugin: kge\nevaluation:\n%s", bad[i][0]);
        eu_write(dir, "sel.yaml", text);
        kgm_diag_list dl = load_bad("sel.yaml", &o);
        cr_assert_eq(dl.n, 1, "case %d: %d diagnostics", i, dl.n);
        expect_diag(&dl, 0, "sel.yaml", 5, 11, bad[i][1]);
        kgm_diag_list_destroy(&dl);
    }
    /* the same manifest with a metric both tasks report validates */
    eu_write(dir, "sel.yaml", "tasks:\n  - plugin: ctr\n  - plugin: ctr\n    name: ctr2\nevaluation:\n  select: mean.auc\n");
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    char path[KGM_PATH + 16];
    snprintf(path, sizeof path, "%s/sel.yaml", dir);
    cr_assert_eq(kgm_manifest_load(path, &o, &dl, &m), KGM_OK);
    kgm_manifest_free(m);
    kgm_diag_list_destroy(&dl);
    kgm_plugin_checker_free(pc);
    kgm_plugin_path_destroy(&sp);
}

/* Every manifest shipped under experiments/ validates, plugins and options included. */
Test(manifest, shipped_manifests_validate) {
    const char *src = getenv("KGMTL_SOURCE_DIR");
    kgm_plugin_path sp;
    if (!src || !build_plugins(&sp)) cr_skip_test("KGMTL_SOURCE_DIR / KGMTL_BUILD_DIR are not set");
    kgm_plugin_checker *pc;
    cr_assert_eq(kgm_plugin_checker_new(&sp, &pc), KGM_OK);
    kgm_manifest_opts o = {.check_task = kgm_plugin_check_task, .check_config = kgm_plugin_check_select, .check_user = pc};
    int n = 0;
    static const char *const patterns[] = {"%s/experiments/*.yaml", "%s/experiments/*/*.yaml"};
    for (int k = 0; k < 2; k++) {
        char pat[KGM_PATH];
        snprintf(pat, sizeof pat, patterns[k], src);
        glob_t g;
        if (glob(pat, 0, NULL, &g) != 0) continue;
        for (size_t i = 0; i < g.gl_pathc; i++, n++) {
            kgm_diag_list dl = {0};
            kgm_manifest *m = NULL;
            kgm_status st = kgm_manifest_load(g.gl_pathv[i], &o, &dl, &m);
            if (st != KGM_OK) kgm_diag_print(&dl, stderr);
            cr_expect_eq(st, KGM_OK, "%s does not validate", g.gl_pathv[i]);
            kgm_manifest_free(m);
            kgm_diag_list_destroy(&dl);
        }
        globfree(&g);
    }
    cr_assert_gt(n, 0, "no manifests under %s/experiments", src);
    kgm_plugin_checker_free(pc);
    kgm_plugin_path_destroy(&sp);
}

Test(manifest, eval_negatives_on_mmoe_data_is_refused_at_its_line) {
    eu_write(dir, "en.yaml",
             "tasks:\n"                                  /* 1 */
             "  - plugin: rating\n"                      /* 2 */
             "dataset:\n"                                /* 3 */
             "  source: mmoe\n"                          /* 4 */
             "  eval_negatives: 100\n");                 /* 5 */
    kgm_diag_list dl = load_bad("en.yaml", NULL);
    expect_diag(&dl, 0, "en.yaml", 5, 19, "dataset.eval_negatives: expected 0 for source mmoe");
    cr_assert_eq(dl.n, 1);
    kgm_diag_list_destroy(&dl);
}

/* Context rules: a key that takes effect in no run of the sweep is refused at
 * its position; an ablation that switches its component off in some runs
 * keeps it; a key inherited from a base file is not refused. */
Test(manifest, context_rules_over_the_sweep) {
    eu_write(dir, "c1.yaml",
             "encoder:\n"                                 /* 1 */
             "  social: false\n"                          /* 2 */
             "  social_hops: 1\n"                         /* 3 */
             "tasks:\n"                                   /* 4 */
             "  - plugin: ctr\n"                          /* 5 */
             "optimisation: {gradnorm_alpha: 0.5}\n");    /* 6 */
    kgm_diag_list dl = load_bad("c1.yaml", NULL);
    cr_assert_eq(dl.n, 2);
    expect_diag(&dl, 0, "c1.yaml", 3, 16, "encoder.social_hops: has no effect in this context");
    expect_diag(&dl, 1, "c1.yaml", 6, 32, "optimisation.gradnorm_alpha: has no effect in this context");
    kgm_diag_list_destroy(&dl);
    /* the same key kept for the runs of an ablation that have the component on */
    eu_write(dir, "c2.yaml",
             "encoder: {social: true, social_hops: 1}\n"
             "tasks:\n  - plugin: ctr\n"
             "ablate: {encoder.social: [true, false]}\n");
    kgm_manifest *m = load_ok("c2.yaml");
    kgm_manifest_free(m);
    /* but refused when no run of the sweep has it on */
    eu_write(dir, "c3.yaml",
             "encoder: {social: false, social_hops: 1}\n"
             "tasks:\n  - plugin: ctr\n"
             "ablate: {encoder.dim: [8, 16]}\n");
    dl = load_bad("c3.yaml", NULL);
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "c3.yaml", 1, 39, "encoder.social_hops: has no effect in this context");
    cr_expect(strstr(dl.items[0].msg, "in any run of the sweep") != NULL, "%s", dl.items[0].msg);
    kgm_diag_list_destroy(&dl);
    /* inherited from a base: not refused (a base serves several children) */
    eu_write(dir, "c4base.yaml", "encoder: {social_hops: 1}\ntasks:\n  - plugin: ctr\n");
    eu_write(dir, "c4.yaml", "base: c4base.yaml\nencoder: {social: false}\n");
    m = load_ok("c4.yaml");
    kgm_manifest_free(m);
    /* a task field: every without the every schedule */
    eu_write(dir, "c5.yaml",
             "tasks:\n"                                   /* 1 */
             "  - plugin: ctr\n"                          /* 2 */
             "  - plugin: kge\n"                          /* 3 */
             "    every: 3\n"                             /* 4 */
             "optimisation: {mode: alternating}\n");      /* 5 */
    dl = load_bad("c5.yaml", NULL);
    cr_assert_eq(dl.n, 1);
    expect_diag(&dl, 0, "c5.yaml", 4, 12, "tasks[].every of task 'kge': has no effect in this context");
    kgm_diag_list_destroy(&dl);
}
