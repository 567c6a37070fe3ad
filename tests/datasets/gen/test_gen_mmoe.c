/* The MMoE synthetic generator (BASELINES.md §1): layout, orthonormality,
 * correlation of the task projections, the label formula recomputed here,
 * reproducibility and bad configurations. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "datasets/gen.h"
#include "kgmtl/kgmtl.h"

static kgm_gen_mmoe_cfg small_cfg(double p, int64_t n_train) {
    kgm_gen_mmoe_cfg c;
    kgm_gen_mmoe_cfg_default(&c);
    c.p = p;
    c.n_train = n_train;
    c.n_valid = 500;
    c.n_test = 700;
    c.seed = 7;
    return c;
}

static const float *col(const kgm_dataset *ds, const char *name) {
    int32_t c = kgm_table_find(&ds->tabular, name);
    cr_assert(c >= 0, "no column %s", name);
    return ds->tabular.cols[c].num;
}

/* y = s + Σ_{i=1..m} sin(i·s + (i-1)²), written out independently of the generator. */
static double target(double s, int m) {
    double y = s;
    for (int i = 1; i <= m; i++) y += sin(i * s + (double)((i - 1) * (i - 1)));
    return y;
}

static double proj_row(const kgm_dataset *ds, const double *w, int d, int64_t row) {
    double s = 0; /* x0..x{d-1} are the first d columns (layout test) */
    for (int j = 0; j < d; j++) s += w[j] * (double)ds->tabular.cols[j].num[row];
    return s;
}

Test(gen_mmoe, layout_and_provenance) {
    kgm_gen_mmoe_cfg c = small_cfg(0.5, 1000);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(kgm_dataset_validate(&ds), KGM_OK, "%s", kgm_error_message());
    const kgm_table *t = &ds.tabular;
    cr_assert_eq(t->rows, 2200);
    cr_assert_eq(t->ncols, 100 + 3);
    cr_assert_str_eq(t->cols[0].name, "x0");
    cr_assert_str_eq(t->cols[99].name, "x99");
    cr_assert_str_eq(t->cols[100].name, "y1");
    cr_assert_str_eq(t->cols[101].name, "y2");
    const kgm_column *sp = &t->cols[102];
    cr_assert_str_eq(sp->name, "split");
    cr_assert_eq(sp->type, KGM_COL_CATEGORICAL);
    cr_assert_eq(sp->levels.count, 3);
    cr_assert_str_eq(kgm_idmap_name(&sp->levels, 0), "train");
    cr_assert_str_eq(kgm_idmap_name(&sp->levels, 1), "valid");
    cr_assert_str_eq(kgm_idmap_name(&sp->levels, 2), "test");
    for (int64_t r = 0; r < t->rows; r++) {
        int expect = r < 1000 ? 0 : r < 1500 ? 1 : 2;
        cr_assert_eq(sp->cat[r], expect, "row %lld", (long long)r);
    }
    for (int32_t c2 = 0; c2 < 102; c2++) cr_assert_eq(t->cols[c2].missing, 0, "column %d", c2);
    cr_assert_str_eq(ds.prov.loader, "gen-mmoe");
    cr_assert_eq(ds.prov.n_sources, 1);
    cr_assert_not_null(strstr(ds.prov.sources[0].path, "p=0.5"));
    cr_assert_not_null(strstr(ds.prov.sources[0].path, "beta_i=(i-1)^2"));
    cr_assert_not_null(strstr(ds.name, "gen-mmoe"));
    kgm_dataset_destroy(&ds);
}

Test(gen_mmoe, orthonormal_vectors_and_task_weights) {
    double ps[] = {-0.3, 0.0, 0.5, 0.9, 1.0};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        kgm_gen_mmoe_cfg c = small_cfg(ps[k], 10);
        c.c = 1.5;
        double u1[100], u2[100], w1[100], w2[100];
        cr_assert_eq(kgm_gen_mmoe_weights(&c, u1, u2, w1, w2), KGM_OK);
        double n1 = 0, n2 = 0, d12 = 0, ww = 0, w11 = 0, w22 = 0;
        for (int j = 0; j < 100; j++) {
            n1 += u1[j] * u1[j];
            n2 += u2[j] * u2[j];
            d12 += u1[j] * u2[j];
            ww += w1[j] * w2[j];
            w11 += w1[j] * w1[j];
            w22 += w2[j] * w2[j];
            cr_assert_float_eq(w1[j], 1.5 * u1[j], 1e-12);
            cr_assert_float_eq(w2[j], 1.5 * (ps[k] * u1[j] + sqrt(1 - ps[k] * ps[k]) * u2[j]), 1e-12);
        }
        cr_assert_float_eq(n1, 1.0, 1e-12);
        cr_assert_float_eq(n2, 1.0, 1e-12);
        cr_assert_float_eq(d12, 0.0, 1e-12);
        cr_assert_float_eq(w11, 1.5 * 1.5, 1e-10);
        cr_assert_float_eq(w22, 1.5 * 1.5, 1e-10);
        cr_assert_float_eq(ww / sqrt(w11 * w22), ps[k], 1e-10, "cos(w1, w2) = p");
    }
}

/* Pearson correlation of w1ᵀx and w2ᵀx over the training rows is ≈ p. */
Test(gen_mmoe, projection_correlation_matches_p) {
    double ps[] = {0.0, 0.5, 0.9, 1.0};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        kgm_gen_mmoe_cfg c = small_cfg(ps[k], 8000);
        kgm_dataset ds;
        kgm_dataset_init(&ds);
        cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_OK, "%s", kgm_error_message());
        double w1[100], w2[100];
        cr_assert_eq(kgm_gen_mmoe_weights(&c, NULL, NULL, w1, w2), KGM_OK);
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        int64_t n = c.n_train;
        for (int64_t r = 0; r < n; r++) {
            double a = proj_row(&ds, w1, 100, r), b = proj_row(&ds, w2, 100, r);
            sa += a, sb += b, saa += a * a, sbb += b * b, sab += a * b;
        }
        double cov = sab / n - (sa / n) * (sb / n);
        double corr = cov / sqrt((saa / n - (sa / n) * (sa / n)) * (sbb / n - (sb / n) * (sb / n)));
        cr_assert(fabs(corr - ps[k]) < 0.03, "p = %g: empirical correlation %g", ps[k], corr);
        cr_assert(fabs(saa / n - 1.0) < 0.05, "var(w1ᵀx) = %g, expected c² = 1", saa / n);
        kgm_dataset_destroy(&ds);
    }
}

/* y_k recomputed from x and w_k: residuals are the label noise. */
Test(gen_mmoe, label_formula) {
    for (int noisy = 0; noisy < 2; noisy++) {
        kgm_gen_mmoe_cfg c = small_cfg(0.7, 2000);
        c.noise_std = noisy ? 0.01 : 0.0;
        kgm_dataset ds;
        kgm_dataset_init(&ds);
        cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_OK, "%s", kgm_error_message());
        double w1[100], w2[100];
        cr_assert_eq(kgm_gen_mmoe_weights(&c, NULL, NULL, w1, w2), KGM_OK);
        const float *y1 = col(&ds, "y1"), *y2 = col(&ds, "y2");
        double ss = 0, maxd = 0;
        for (int64_t r = 0; r < ds.tabular.rows; r++) {
            double e1 = y1[r] - target(proj_row(&ds, w1, 100, r), 10);
            double e2 = y2[r] - target(proj_row(&ds, w2, 100, r), 10);
            ss += e1 * e1 + e2 * e2;
            maxd = fmax(maxd, fmax(fabs(e1), fabs(e2)));
        }
        double rms = sqrt(ss / (2.0 * ds.tabular.rows));
        if (noisy) {
            cr_assert(rms > 0.009 && rms < 0.011, "noise rms %g, expected 0.01", rms);
            cr_assert(maxd < 0.06, "largest residual %g", maxd);
        } else {
            cr_assert(maxd < 1e-4, "noise-free residual %g", maxd);
        }
        kgm_dataset_destroy(&ds);
    }
}

static bool same_numbers(const kgm_dataset *a, const kgm_dataset *b) {
    if (a->tabular.rows != b->tabular.rows || a->tabular.ncols != b->tabular.ncols) return false;
    for (int32_t c = 0; c < a->tabular.ncols; c++)
        if (a->tabular.cols[c].type == KGM_COL_NUMERIC &&
            memcmp(a->tabular.cols[c].num, b->tabular.cols[c].num, (size_t)a->tabular.rows * sizeof(float)) != 0)
            return false;
    return true;
}

Test(gen_mmoe, reproducible_for_a_seed) {
    kgm_gen_mmoe_cfg c = small_cfg(0.9, 300);
    kgm_dataset a, b, d;
    kgm_dataset_init(&a);
    kgm_dataset_init(&b);
    kgm_dataset_init(&d);
    cr_assert_eq(kgm_gen_mmoe(&c, &a), KGM_OK);
    cr_assert_eq(kgm_gen_mmoe(&c, &b), KGM_OK);
    cr_assert(same_numbers(&a, &b));
    cr_assert_eq(kgm_dataset_fingerprint(&a), kgm_dataset_fingerprint(&b));
    c.seed = 8;
    cr_assert_eq(kgm_gen_mmoe(&c, &d), KGM_OK);
    cr_assert(!same_numbers(&a, &d));
    cr_assert_neq(kgm_dataset_fingerprint(&a), kgm_dataset_fingerprint(&d));
    kgm_dataset_destroy(&a);
    kgm_dataset_destroy(&b);
    kgm_dataset_destroy(&d);
}

/* Each split has its own stream: the test rows do not move with n_train. */
Test(gen_mmoe, test_rows_independent_of_train_size) {
    kgm_gen_mmoe_cfg c1 = small_cfg(0.5, 100), c2 = small_cfg(0.5, 250);
    kgm_dataset a, b;
    kgm_dataset_init(&a);
    kgm_dataset_init(&b);
    cr_assert_eq(kgm_gen_mmoe(&c1, &a), KGM_OK);
    cr_assert_eq(kgm_gen_mmoe(&c2, &b), KGM_OK);
    int64_t off_a = 100 + 500, off_b = 250 + 500;
    for (int32_t c = 0; c < 102; c++)
        cr_assert_eq(memcmp(a.tabular.cols[c].num + off_a, b.tabular.cols[c].num + off_b, 700 * sizeof(float)), 0,
                     "column %d", c);
    kgm_dataset_destroy(&a);
    kgm_dataset_destroy(&b);
}

Test(gen_mmoe, empty_splits_keep_level_codes) {
    kgm_gen_mmoe_cfg c = small_cfg(0.5, 0);
    c.n_valid = 0;
    c.n_test = 5;
    c.d = 3;
    c.m = 0;
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_OK, "%s", kgm_error_message());
    const kgm_column *sp = &ds.tabular.cols[kgm_table_find(&ds.tabular, "split")];
    cr_assert_eq(sp->levels.count, 3);
    for (int r = 0; r < 5; r++) cr_assert_eq(sp->cat[r], 2);
    kgm_dataset_destroy(&ds);
}

Test(gen_mmoe, bad_configurations) {
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    kgm_gen_mmoe_cfg c = small_cfg(1.2, 10);
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_ERR_ARG);
    cr_assert_not_null(strstr(kgm_error_message(), "p = 1.2"));
    c = small_cfg(NAN, 10);
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_ERR_ARG);
    c = small_cfg(0.5, -1);
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_ERR_ARG);
    c = small_cfg(0.5, 10);
    c.d = 1;
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_ERR_ARG);
    c.d = 100;
    c.m = KGM_GEN_MMOE_MAX_M + 1;
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_ERR_ARG);
    c.m = 10;
    c.noise_std = -1;
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_ERR_ARG);
    cr_assert_eq(ds.tabular.ncols, 0, "nothing written on a bad configuration");
    c.noise_std = 0.01;
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_OK);
    cr_assert_eq(kgm_gen_mmoe(&c, &ds), KGM_ERR_STATE, "a second run into the same dataset");
    kgm_dataset_destroy(&ds);
}
