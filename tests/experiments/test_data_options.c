/* The dataset options the trainer's data side honours (or refuses):
 * dataset.split / valid_frac / test_frac on the generated world,
 * dataset.kg_path, dataset.social_directed and the social link split by
 * unordered pair. Opens the data only (no training): fast (unit). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <math.h>

#include "core/train/trainer_internal.h"
#include "datasets/prep.h"
#include "experiments/manifest.h"
#include "tests/core/train/train_util.h"

static void setup(void) { kgm_init_runtime(); }

/* A small world configuration without cold sets (so every row is warm and
 * the generator's split sizes are exact). */
static void small_world(kgm_run_config *c) {
    kgm_run_config_default(c);
    c->data.n_users = 120;
    c->data.n_items = 150;
    c->data.interactions_per_user = 20;
    c->data.cold_user_frac = 0;
    c->data.cold_item_frac = 0;
}

typedef struct {
    kgm_trainer *tr;
    char *log;
    size_t log_n;
} opened;

/* Open the data of `c`; returns the status, the trainer and its log text. */
static kgm_status open_data(const kgm_run_config *c, opened *o) {
    o->tr = calloc(1, sizeof *o->tr);
    cr_assert(o->tr);
    o->tr->cfg = c;
    o->log = NULL;
    o->tr->log = open_memstream(&o->log, &o->log_n);
    kgm_status st = kgm_trainer_open_data(o->tr);
    fflush(o->tr->log);
    return st;
}

static void close_data(opened *o) {
    kgm_trainer *tr = o->tr;
    for (int k = 0; k < tr->n_tasks; k++) kgm_view_destroy(&tr->t[k].view);
    kgm_dataset_destroy(&tr->ds);
    free(tr->kg_h), free(tr->kg_r), free(tr->kg_t), free(tr->cold_users), free(tr->cold_items);
    fclose(tr->log);
    free(o->log);
    free(tr);
}

Test(data_options, world_generator_split_follows_the_fractions, .init = setup) {
    kgm_run_config c;
    small_world(&c);
    c.data.valid_frac = 0.15;
    c.data.test_frac = 0.3;
    opened o;
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    const kgm_dataset *ds = &o.tr->ds;
    int64_t n = ds->inter.n;
    cr_assert_gt(n, 1000);
    cr_assert_eq(ds->split.n_test, llround(0.3 * n), "test %lld of %lld rows", (long long)ds->split.n_test, (long long)n);
    cr_assert_eq(ds->split.n_valid, llround(0.15 * n));
    cr_assert_eq(ds->prov.prep.split, KGM_SPLIT_GIVEN, "the generator's split");
    close_data(&o);
}

/* Rows per split (0/1/2) of every interaction. */
static int8_t *split_of_rows(const kgm_dataset *ds) {
    int8_t *s = malloc((size_t)ds->inter.n);
    const int64_t *rows[3] = {ds->split.train, ds->split.valid, ds->split.test};
    int64_t nr[3] = {ds->split.n_train, ds->split.n_valid, ds->split.n_test};
    memset(s, -1, (size_t)ds->inter.n);
    for (int k = 0; k < 3; k++)
        for (int64_t j = 0; j < nr[k]; j++) s[rows[k][j]] = (int8_t)k;
    return s;
}

Test(data_options, world_resplit_random_loo_temporal, .init = setup) {
    kgm_run_config c;
    small_world(&c);
    opened g;
    cr_assert_eq(open_data(&c, &g), KGM_OK, "%s", kgm_error_message());
    int8_t *gen = split_of_rows(&g.tr->ds);
    /* random: the preparation's exact fractions, another assignment than the generator's */
    snprintf(c.data.split, sizeof c.data.split, "random");
    c.data.valid_frac = 0.05;
    c.data.test_frac = 0.25;
    opened o;
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    const kgm_dataset *ds = &o.tr->ds;
    int64_t n = ds->inter.n;
    cr_assert_eq(n, g.tr->ds.inter.n, "the same interactions");
    cr_assert_eq(ds->split.n_test, llround(0.25 * n));
    cr_assert_eq(ds->split.n_valid, llround(0.05 * n));
    cr_assert_eq(ds->split.n_train + ds->split.n_valid + ds->split.n_test, n);
    cr_assert_eq(ds->prov.prep.split, KGM_SPLIT_RANDOM);
    int8_t *rs = split_of_rows(ds);
    int64_t moved = 0;
    for (int64_t j = 0; j < n; j++) moved += rs[j] != gen[j];
    cr_assert_gt(moved, n / 10, "a re-split, not the generator's (%lld rows moved)", (long long)moved);
    cr_assert(strstr(o.log, "dataset.split random: the world's interactions re-split"), "%s", o.log);
    cr_assert_eq(kgm_table_find(&ds->tabular, "conversion") >= 0 && ds->tabular.rows == n, true, "rows stay aligned");
    free(rs);
    close_data(&o);
    /* loo: each user's latest row is its test row, the one before valid */
    snprintf(c.data.split, sizeof c.data.split, "loo");
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    ds = &o.tr->ds;
    cr_assert_eq(ds->split.n_test, ds->users.count, "one test row per user");
    for (int64_t j = 0; j < ds->split.n_test; j++) {
        int64_t r = ds->split.test[j];
        for (int64_t i = 0; i < ds->inter.n; i++)
            if (ds->inter.user[i] == ds->inter.user[r]) cr_assert_leq(ds->inter.ts[i], ds->inter.ts[r]);
    }
    close_data(&o);
    /* temporal: every test row is at least as late as every train row */
    snprintf(c.data.split, sizeof c.data.split, "temporal");
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    ds = &o.tr->ds;
    int64_t max_train = INT64_MIN, min_test = INT64_MAX;
    for (int64_t j = 0; j < ds->split.n_train; j++) max_train = fmax(max_train, ds->inter.ts[ds->split.train[j]]);
    for (int64_t j = 0; j < ds->split.n_test; j++) min_test = fmin(min_test, ds->inter.ts[ds->split.test[j]]);
    cr_assert_leq(max_train, min_test);
    cr_assert_eq(ds->split.n_test, llround(0.25 * ds->inter.n));
    close_data(&o);
    free(gen);
    close_data(&g);
}

Test(data_options, generated_sources_refuse_what_they_would_ignore, .init = setup) {
    kgm_run_config c;
    small_world(&c);
    c.data.min_user_interactions = 5;
    opened o;
    cr_assert_eq(open_data(&c, &o), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "dataset.min_user_interactions applies to loaded data"), "%s", kgm_error_message());
    close_data(&o);
    kgm_run_config_default(&c);
    snprintf(c.data.source, sizeof c.data.source, "mmoe");
    snprintf(c.data.split, sizeof c.data.split, "random");
    cr_assert_eq(open_data(&c, &o), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "does not apply to source mmoe"), "%s", kgm_error_message());
    close_data(&o);
    small_world(&c);
    c.data.social_directed = true;
    cr_assert_eq(open_data(&c, &o), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "dataset.social_directed is true but the social graph of source 'world' is undirected"),
              "%s", kgm_error_message());
    close_data(&o);
}

static const char *write_file(const char *dir, const char *name, const char *text) {
    static char paths[4][1024];
    static int k;
    char *p = paths[k++ & 3];
    snprintf(p, 1024, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    return p;
}

Test(data_options, kg_path_triples_are_merged_into_the_kg, .init = setup) {
    char dir[128];
    tu_tmpdir(dir, sizeof dir, "kgpath");
    /* item:0 and item:1 are the world's entities of items 0 and 1; the
     * director and the relation are new */
    const char *kg = write_file(dir, "extra.tsv", "item:0\tdirected_by\tperson:ann\nitem:1\tdirected_by\tperson:ann\n"
                                                  "item:2\tdirected_by\tperson:bob\n");
    kgm_run_config c;
    small_world(&c);
    opened base;
    cr_assert_eq(open_data(&c, &base), KGM_OK, "%s", kgm_error_message());
    snprintf(c.data.kg_path, sizeof c.data.kg_path, "%s", kg);
    opened o;
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    const kgm_dataset *ds = &o.tr->ds, *b = &base.tr->ds;
    cr_assert_eq(ds->kg.n, b->kg.n + 3, "%lld vs %lld triples", (long long)ds->kg.n, (long long)b->kg.n);
    cr_assert_eq(ds->entities.count, b->entities.count + 2);
    cr_assert_eq(ds->relations.count, b->relations.count + 1);
    int32_t ann = kgm_idmap_find(&ds->entities, "person:ann", 10), i0 = kgm_idmap_find(&ds->entities, "item:0", 6);
    cr_assert_eq(ds->kg.h[b->kg.n], i0, "the first added triple links item 0's entity");
    cr_assert_eq(ds->kg.t[b->kg.n], ann);
    cr_assert_eq(o.tr->kg_n, ds->kg.n, "the KG filter index sees them");
    cr_assert(strstr(o.log, "3 KG triples added (2 new entities, 1 new relations)"), "%s", o.log);
    close_data(&o);
    close_data(&base);
    /* a loaded source without a KG: refused, naming the file */
    const char *inter = write_file(dir, "inter.tsv", "1\t10\t1\n1\t11\t0\n2\t10\t1\n");
    kgm_run_config_default(&c);
    snprintf(c.data.source, sizeof c.data.source, "auto");
    snprintf(c.data.path, sizeof c.data.path, "%s", inter);
    snprintf(c.data.kg_path, sizeof c.data.kg_path, "%s", kg);
    cr_assert_eq(open_data(&c, &o), KGM_ERR_ARG);
    cr_assert(strstr(kgm_error_message(), "extra.tsv): expected a source with a knowledge graph"), "%s", kgm_error_message());
    close_data(&o);
}

Test(data_options, cache_without_the_kg_path_is_rebuilt, .init = setup) {
    char dir[128], cache[256];
    tu_tmpdir(dir, sizeof dir, "kgcache");
    snprintf(cache, sizeof cache, "%s/data.kgd", dir);
    /* MKR's prepared format: item i is entity i */
    write_file(dir, "ratings_final.txt", "0\t0\t1\n0\t1\t0\n1\t0\t1\n1\t2\t0\n2\t1\t1\n2\t2\t1\n");
    write_file(dir, "kg_final.txt", "0\t0\t3\n1\t0\t4\n");
    kgm_run_config c;
    kgm_run_config_default(&c);
    snprintf(c.data.source, sizeof c.data.source, "mkr");
    snprintf(c.data.path, sizeof c.data.path, "%s", dir);
    snprintf(c.data.split, sizeof c.data.split, "random");
    snprintf(c.data.cache, sizeof c.data.cache, "%s", cache);
    opened o;
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(o.tr->ds.kg.n, 2);
    close_data(&o);
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    cr_assert_null(strstr(o.log, "not used"), "the cache is current: %s", o.log);
    close_data(&o);
    const char *kg2 = write_file(dir, "more.tsv", "2\t0\t3\n");
    snprintf(c.data.kg_path, sizeof c.data.kg_path, "%s", kg2);
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(o.tr->ds.kg.n, 3, "the cache built without kg_path is not used");
    cr_assert(strstr(o.log, "not used (built without dataset.kg_path)"), "%s", o.log);
    close_data(&o);
    cr_assert_eq(open_data(&c, &o), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(o.tr->ds.kg.n, 3, "the rebuilt cache has them");
    cr_assert_null(strstr(o.log, "not used"), "%s", o.log);
    close_data(&o);
}

/* 40 users; friendships i ~ i+1 and i ~ i+7 (mod 40), each listed both ways. */
static const char *both_ways_friends(const char *dir) {
    char *text = calloc(1, 1 << 16);
    size_t k = 0;
    for (int i = 0; i < 40; i++)
        for (int s = 0; s < 2; s++) {
            int j = (i + (s ? 7 : 1)) % 40;
            k += (size_t)sprintf(text + k, "u%d\tu%d\nu%d\tu%d\n", i, j, j, i);
        }
    const char *p = write_file(dir, "friends.tsv", text);
    free(text);
    return p;
}

/* Builds the social link view of `c` and checks that no unordered pair has
 * rows in two splits; returns the number of edges of the view. */
static int64_t check_social_view(const kgm_run_config *c, bool symmetric_lists, opened *o) {
    cr_assert_eq(open_data(c, o), KGM_OK, "%s", kgm_error_message());
    kgm_trainer *tr = o->tr;
    static kgm_plugin pl;
    static kgm_task_spec spec;
    memset(&pl, 0, sizeof pl);
    pl.desc.view = KGM_VIEW_SOCIAL;
    kgm_task_spec_default(&spec);
    snprintf(spec.name, sizeof spec.name, "social");
    tr->n_tasks = 1;
    tr->t[0].pl = &pl;
    tr->t[0].spec = &spec;
    cr_assert_eq(kgm_trainer_build_views(tr), KGM_OK, "%s", kgm_error_message());
    int32_t nu = tr->ds.users.count;
    int8_t *where = malloc((size_t)nu * nu);
    memset(where, -1, (size_t)nu * nu);
    int64_t total = 0, straddle = 0;
    for (int s = 0; s < 3; s++) {
        const kgm_view_split *v = &tr->t[0].view.s[s];
        total += v->n;
        for (int64_t i = 0; i < v->n; i++) {
            int32_t a = v->src[i] < v->dst[i] ? v->src[i] : v->dst[i], b = v->src[i] ^ v->dst[i] ^ a;
            int8_t *w = &where[(size_t)a * nu + b];
            if (*w >= 0 && *w != s) straddle++;
            *w = (int8_t)s;
            /* each end of an undirected edge lists the other as a friend */
            if (symmetric_lists) {
                bool found = false;
                for (int64_t q = v->up_ptr[v->dst[i]]; q < v->up_ptr[v->dst[i] + 1]; q++) found |= v->up_col[q] == v->src[i];
                cr_assert(found, "split %d: %d is not in the friend list of %d", s, v->src[i], v->dst[i]);
            }
        }
    }
    cr_assert_eq(straddle, 0, "%lld listings of a pair in another split than its first", (long long)straddle);
    cr_assert_gt(tr->t[0].view.s[1].n + tr->t[0].view.s[2].n, 0, "some links are held out");
    free(where);
    return total;
}

Test(data_options, social_links_split_by_unordered_pair, .init = setup) {
    char dir[128];
    tu_tmpdir(dir, sizeof dir, "social");
    const char *friends = both_ways_friends(dir);
    char text[4096] = "";
    for (int i = 0; i < 40; i++) sprintf(text + strlen(text), "u%d\ti%d\t1\nu%d\ti%d\t0\n", i, i % 9, i, (i + 4) % 9);
    const char *inter = write_file(dir, "inter.tsv", text);
    kgm_run_config c;
    kgm_run_config_default(&c);
    snprintf(c.data.source, sizeof c.data.source, "auto");
    snprintf(c.data.path, sizeof c.data.path, "%s", inter);
    snprintf(c.data.social_path, sizeof c.data.social_path, "%s", friends);
    snprintf(c.data.split, sizeof c.data.split, "random");
    opened o;
    /* undirected (default): 160 lines are 80 friendships, reported */
    cr_assert_eq(check_social_view(&c, true, &o), 80);
    cr_assert_eq(o.tr->ds.social.n, 80);
    cr_assert(strstr(o.log, "social graph (undirected): 80 edges; 80 reciprocal pairs merged, 0 repeated edges dropped"), "%s",
              o.log);
    close_data(&o);
    /* directed: both directions kept, and each pair's two links in one split */
    c.data.social_directed = true;
    cr_assert_eq(check_social_view(&c, false, &o), 160);
    cr_assert(o.tr->ds.social.directed);
    close_data(&o);
}

/* The manifest refuses dataset keys the source would ignore, at file:line:col. */
Test(data_options, manifest_refuses_ignored_dataset_keys_at_their_position, .init = setup) {
    char dir[128];
    tu_tmpdir(dir, sizeof dir, "dsman");
    const char *p = write_file(dir, "m.yaml",
                               "dataset:\n"                     /* 1 */
                               "  source: mmoe\n"               /* 2 */
                               "  split: random\n"              /* 3 */
                               "  test_frac: 0.3\n"             /* 4 */
                               "  kg_path: extra.tsv\n"         /* 5 */
                               "  social_directed: true\n"      /* 6 */
                               "  min_user_interactions: 3\n"   /* 7 */
                               "tasks:\n"
                               "  - plugin: rating\n");
    kgm_diag_list dl = {0};
    kgm_manifest *m = NULL;
    cr_assert_eq(kgm_manifest_load(p, NULL, &dl, &m), KGM_ERR_ARG);
    static const struct {
        int line, col;
        const char *msg;
    } want[] = {{3, 10, "dataset.split: source mmoe comes split by mmoe_n_train"},
                {4, 14, "dataset.test_frac: source mmoe sizes its splits"},
                {5, 12, "dataset.kg_path: expected a source with a knowledge graph"},
                {6, 20, "dataset.social_directed: applies to a social edge list"},
                {7, 26, "dataset.min_user_interactions: applies to loaded data; source 'mmoe' is generated"}};
    cr_assert_eq(dl.n, 5, "%d diagnostics, first: %s", dl.n, dl.n ? dl.items[0].msg : "");
    for (int i = 0; i < 5; i++) {
        char w[512];
        snprintf(w, sizeof w, "%s:%d:%d", p, want[i].line, want[i].col);
        cr_expect_str_eq(dl.items[i].where, w, "%s: %s", dl.items[i].where, dl.items[i].msg);
        cr_expect(strstr(dl.items[i].msg, want[i].msg), "%s", dl.items[i].msg);
    }
    kgm_diag_list_destroy(&dl);
    /* the world takes all split keys and kg_path */
    p = write_file(dir, "w.yaml", "dataset:\n  split: loo\n  test_frac: 0.3\n  kg_path: extra.tsv\ntasks:\n  - plugin: ctr\n");
    cr_assert_eq(kgm_manifest_load(p, NULL, &dl, &m), KGM_OK, "%s", dl.n ? dl.items[0].msg : kgm_error_message());
    kgm_manifest_free(m);
    kgm_diag_list_destroy(&dl);
}
