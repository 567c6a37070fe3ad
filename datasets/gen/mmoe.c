/* The MMoE synthetic regression benchmark (Ma et al., KDD 2018, Section 3),
 * exactly as BASELINES.md §1 describes it; alpha_i = i, beta_i = (i - 1)^2
 * as in Google's public re-implementation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/gen.h"
#include "core/base/rng.h"
#include "core/base/status.h"

void kgm_gen_mmoe_cfg_default(kgm_gen_mmoe_cfg *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->d = 100;
    cfg->m = 10;
    cfg->c = 1.0;
    cfg->p = 0.9;
    cfg->noise_std = 0.01;
    cfg->n_train = 10000;
    cfg->n_valid = 1000;
    cfg->n_test = 1000;
    cfg->seed = 1;
}

static kgm_status check_cfg(const kgm_gen_mmoe_cfg *c) {
    if (!c) return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: NULL configuration");
    if (c->d < 2) return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: d = %d, expected >= 2", c->d);
    if (c->m < 0 || c->m > KGM_GEN_MMOE_MAX_M)
        return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: m = %d, expected 0..%d", c->m, KGM_GEN_MMOE_MAX_M);
    if (!isfinite(c->c)) return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: c = %g, expected a finite number", c->c);
    if (!(c->p >= -1.0 && c->p <= 1.0)) return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: p = %g, expected -1..1", c->p);
    if (!(c->noise_std >= 0.0) || !isfinite(c->noise_std))
        return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: noise_std = %g, expected >= 0", c->noise_std);
    if (c->n_train < 0 || c->n_valid < 0 || c->n_test < 0)
        return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: negative row count");
    if (c->n_train + c->n_valid + c->n_test >= INT32_MAX)
        return KGM_ERR(KGM_ERR_ARG, "gen-mmoe: %lld rows, expected fewer than 2^31",
                       (long long)(c->n_train + c->n_valid + c->n_test));
    return KGM_OK;
}

/* Two orthonormal vectors by Gram–Schmidt on Gaussian vectors (twice, for
 * orthogonality to rounding error). */
static void draw_orthonormal(uint64_t seed, int32_t d, double *u1, double *u2) {
    kgm_rng r;
    kgm_rng_init(&r, seed, kgm_rng_stream_id("gen-mmoe/u", 0));
    for (;;) {
        double n1 = 0, n2 = 0;
        for (int32_t j = 0; j < d; j++) {
            u1[j] = kgm_rng_normal(&r);
            n1 += u1[j] * u1[j];
        }
        for (int32_t j = 0; j < d; j++) u2[j] = kgm_rng_normal(&r);
        n1 = sqrt(n1);
        if (n1 < 1e-8) continue;
        for (int32_t j = 0; j < d; j++) u1[j] /= n1;
        for (int pass = 0; pass < 2; pass++) {
            double dot = 0;
            for (int32_t j = 0; j < d; j++) dot += u1[j] * u2[j];
            for (int32_t j = 0; j < d; j++) u2[j] -= dot * u1[j];
        }
        for (int32_t j = 0; j < d; j++) n2 += u2[j] * u2[j];
        n2 = sqrt(n2);
        if (n2 < 1e-8) continue;
        for (int32_t j = 0; j < d; j++) u2[j] /= n2;
        return;
    }
}

kgm_status kgm_gen_mmoe_weights(const kgm_gen_mmoe_cfg *cfg, double *u1, double *u2, double *w1,
                                double *w2) {
    KGM_TRY(check_cfg(cfg));
    int32_t d = cfg->d;
    double *buf = malloc((size_t)d * 2 * sizeof *buf);
    if (!buf) return KGM_ERR(KGM_ERR_NOMEM, "gen-mmoe: vectors");
    double *a = buf, *b = buf + d;
    draw_orthonormal(cfg->seed, d, a, b);
    double q = sqrt(fmax(0.0, 1.0 - cfg->p * cfg->p));
    for (int32_t j = 0; j < d; j++) {
        if (u1) u1[j] = a[j];
        if (u2) u2[j] = b[j];
        if (w1) w1[j] = cfg->c * a[j];
        if (w2) w2[j] = cfg->c * (cfg->p * a[j] + q * b[j]);
    }
    free(buf);
    return KGM_OK;
}

/* y = s + Σ_{i=1..m} sin(alpha_i·s + beta_i) with s = wᵀx. */
static double mmoe_target(double s, int32_t m) {
    double y = s;
    for (int32_t i = 1; i <= m; i++) y += sin((double)i * s + (double)(i - 1) * (double)(i - 1));
    return y;
}

kgm_status kgm_gen_mmoe(const kgm_gen_mmoe_cfg *cfg, kgm_dataset *ds) {
    KGM_TRY(check_cfg(cfg));
    if (ds->users.count || ds->items.count || ds->inter.n || ds->tabular.ncols || ds->tabular.rows)
        return KGM_ERR(KGM_ERR_STATE, "gen-mmoe: the dataset is not empty");
    const int32_t d = cfg->d;
    const int64_t n_split[3] = {cfg->n_train, cfg->n_valid, cfg->n_test};
    const int64_t rows = n_split[0] + n_split[1] + n_split[2];
    static const char *split_names[3] = {"train", "valid", "test"};

    kgm_table *t = &ds->tabular;
    char name[32];
    for (int32_t j = 0; j < d; j++) {
        snprintf(name, sizeof name, "x%d", j);
        KGM_TRY(kgm_table_add_column(t, name, KGM_COL_NUMERIC, NULL));
    }
    int32_t col_y1, col_y2, col_split;
    KGM_TRY(kgm_table_add_column(t, "y1", KGM_COL_NUMERIC, &col_y1));
    KGM_TRY(kgm_table_add_column(t, "y2", KGM_COL_NUMERIC, &col_y2));
    KGM_TRY(kgm_table_add_column(t, "split", KGM_COL_CATEGORICAL, &col_split));
    for (int s = 0; s < 3; s++) { /* fixed codes train 0, valid 1, test 2 */
        int32_t code;
        KGM_TRY(kgm_idmap_intern(&t->cols[col_split].levels, split_names[s], strlen(split_names[s]), &code));
    }
    KGM_TRY(kgm_table_reserve_rows(t, rows));

    double *w = malloc((size_t)d * 2 * sizeof *w);
    float *x = malloc((size_t)d * sizeof *x);
    if (!w || !x) {
        free(w);
        free(x);
        return KGM_ERR(KGM_ERR_NOMEM, "gen-mmoe: buffers");
    }
    kgm_status st = kgm_gen_mmoe_weights(cfg, NULL, NULL, w, w + d);
    int64_t row = 0;
    for (int s = 0; s < 3 && st == KGM_OK; s++) {
        /* one stream per split: the test rows do not depend on n_train */
        kgm_rng rx, rn;
        kgm_rng_init(&rx, cfg->seed, kgm_rng_stream_id("gen-mmoe/x", (uint64_t)s));
        kgm_rng_init(&rn, cfg->seed, kgm_rng_stream_id("gen-mmoe/noise", (uint64_t)s));
        for (int64_t i = 0; i < n_split[s] && st == KGM_OK; i++, row++) {
            double s1 = 0, s2 = 0;
            for (int32_t j = 0; j < d; j++) {
                x[j] = (float)kgm_rng_normal(&rx);
                s1 += w[j] * (double)x[j]; /* from the stored value: labels match the table */
                s2 += w[d + j] * (double)x[j];
                st = kgm_table_set_num(t, j, row, x[j]);
                if (st != KGM_OK) break;
            }
            if (st != KGM_OK) break;
            double e1 = cfg->noise_std * kgm_rng_normal(&rn);
            double e2 = cfg->noise_std * kgm_rng_normal(&rn);
            st = kgm_table_set_num(t, col_y1, row, (float)(mmoe_target(s1, cfg->m) + e1));
            if (st == KGM_OK) st = kgm_table_set_num(t, col_y2, row, (float)(mmoe_target(s2, cfg->m) + e2));
            if (st == KGM_OK) st = kgm_table_set_cat(t, col_split, row, split_names[s], strlen(split_names[s]));
        }
    }
    free(w);
    free(x);
    KGM_TRY(st);

    kgm_hasher h;
    kgm_hasher_init(&h);
    for (int32_t c = 0; c < t->ncols && rows > 0; c++)
        if (t->cols[c].type == KGM_COL_NUMERIC) kgm_hasher_update(&h, t->cols[c].num, (size_t)rows * sizeof(float));
    char settings[512], dsname[128];
    snprintf(settings, sizeof settings,
             "d=%d,m=%d,c=%.15g,p=%.15g,noise_std=%.15g,n_train=%lld,n_valid=%lld,n_test=%lld,seed=%llu,"
             "alpha_i=i,beta_i=(i-1)^2",
             d, cfg->m, cfg->c, cfg->p, cfg->noise_std, (long long)cfg->n_train, (long long)cfg->n_valid,
             (long long)cfg->n_test, (unsigned long long)cfg->seed);
    snprintf(dsname, sizeof dsname, "gen-mmoe-p%g-d%d-s%llu", cfg->p, d, (unsigned long long)cfg->seed);
    return kgm_gen_record(ds, "gen-mmoe", dsname, settings, kgm_hasher_final(&h));
}
