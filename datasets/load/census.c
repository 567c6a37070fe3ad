/* UCI Census-Income (KDD): 40 features, instance weight and the income label
 * per line, comma-separated with a blank after each comma, '?' = missing. */
#include <string.h>

#include "datasets/data_internal.h"

#define CENSUS_FIELDS 42

/* Column names and types as in census-income.names (the file order). The
 * coded industry/occupation recodes, "own business", "veterans benefits" and
 * "year" are nominal although written as numbers. */
static const struct {
    const char *name;
    bool numeric;
} census_cols[CENSUS_FIELDS] = {
    {"age", true},
    {"class_of_worker", false},
    {"detailed_industry_recode", false},
    {"detailed_occupation_recode", false},
    {"education", false},
    {"wage_per_hour", true},
    {"enroll_in_edu_inst_last_wk", false},
    {"marital_stat", false},
    {"major_industry_code", false},
    {"major_occupation_code", false},
    {"race", false},
    {"hispanic_origin", false},
    {"sex", false},
    {"member_of_a_labor_union", false},
    {"reason_for_unemployment", false},
    {"full_or_part_time_employment_stat", false},
    {"capital_gains", true},
    {"capital_losses", true},
    {"dividends_from_stocks", true},
    {"tax_filer_stat", false},
    {"region_of_previous_residence", false},
    {"state_of_previous_residence", false},
    {"detailed_household_and_family_stat", false},
    {"detailed_household_summary_in_household", false},
    {"instance_weight", true},
    {"migration_code_change_in_msa", false},
    {"migration_code_change_in_reg", false},
    {"migration_code_move_within_reg", false},
    {"live_in_this_house_1_year_ago", false},
    {"migration_prev_res_in_sunbelt", false},
    {"num_persons_worked_for_employer", true},
    {"family_members_under_18", false},
    {"country_of_birth_father", false},
    {"country_of_birth_mother", false},
    {"country_of_birth_self", false},
    {"citizenship", false},
    {"own_business_or_self_employed", false},
    {"fill_inc_questionnaire_for_veterans_admin", false},
    {"veterans_benefits", false},
    {"weeks_worked_in_year", true},
    {"year", false},
    {"income", false},
};

kgm_status kgm__load_census_rd(kgm_reader *r, kgm_dataset *ds, const char *split) {
    kgm_table *t = &ds->tabular;
    int32_t col[CENSUS_FIELDS], c_split;
    for (int c = 0; c < CENSUS_FIELDS; c++) {
        col[c] = kgm_table_find(t, census_cols[c].name);
        if (col[c] < 0)
            KGM_TRY(kgm_table_add_column(t, census_cols[c].name,
                                         census_cols[c].numeric ? KGM_COL_NUMERIC : KGM_COL_CATEGORICAL, &col[c]));
        else if (t->cols[col[c]].type != (census_cols[c].numeric ? KGM_COL_NUMERIC : KGM_COL_CATEGORICAL))
            return KGM_ERR(KGM_ERR_ARG, "tabular column %s exists with another type", census_cols[c].name);
    }
    c_split = kgm_table_find(t, "split");
    if (c_split < 0) KGM_TRY(kgm_table_add_column(t, "split", KGM_COL_CATEGORICAL, &c_split));
    kgm_field f[CENSUS_FIELDS + 1];
    float num[CENSUS_FIELDS];
    const char *line;
    size_t len;
    bool got;
    for (;;) {
        KGM_TRY(kgm_reader_next(r, &line, &len, &got));
        if (!got) break;
        if (len == 0) continue;
        int nf = kgm__split(line, len, ',', false, f, CENSUS_FIELDS + 1, NULL);
        if (nf != CENSUS_FIELDS) {
            KGM_TRY(kgm_reader_bad(r, "expected %d comma-separated fields (40 features, weight, label), found %d",
                                   CENSUS_FIELDS, nf));
            continue;
        }
        bool ok = true;
        for (int c = 0; c < CENSUS_FIELDS && ok; c++) {
            f[c] = kgm__trim(f[c]);
            if (c == CENSUS_FIELDS - 1 && f[c].n && f[c].p[f[c].n - 1] == '.') f[c].n--; /* "- 50000." */
            if (census_cols[c].numeric) {
                num[c] = __builtin_nanf("");
                if (!kgm__is_missing(f[c].p, f[c].n) && !kgm__parse_f32(f[c].p, f[c].n, &num[c])) {
                    char q[80];
                    KGM_TRY(kgm_reader_bad(r, "expected a number in field %d (%s), found %s", c + 1,
                                           census_cols[c].name, kgm__quote(q, sizeof q, f[c].p, f[c].n)));
                    ok = false;
                }
            } else if (c == CENSUS_FIELDS - 1 && f[c].n == 0) {
                KGM_TRY(kgm_reader_bad(r, "expected the income label in field %d, found an empty field", c + 1));
                ok = false;
            }
        }
        if (!ok) continue;
        int64_t row = t->rows;
        for (int c = 0; c < CENSUS_FIELDS; c++) {
            if (census_cols[c].numeric) KGM_TRY(kgm_table_set_num(t, col[c], row, num[c]));
            else if (!kgm__is_missing(f[c].p, f[c].n)) KGM_TRY(kgm_table_set_cat(t, col[c], row, f[c].p, f[c].n));
            else KGM_TRY(kgm_table_reserve_rows(t, row + 1));
        }
        KGM_TRY(kgm_table_set_cat(t, c_split, row, split, strlen(split)));
        r->rows++;
    }
    return KGM_OK;
}

typedef struct {
    kgm_dataset *ds;
    const char *split;
} census_ctx;

static kgm_status body_census(kgm_reader *r, void *v) {
    census_ctx *c = v;
    return kgm__load_census_rd(r, c->ds, c->split);
}

kgm_status kgm_load_census_kdd(const char *dir, const kgm_load_opts *o, kgm_dataset *ds) {
    char path[4096];
    if (!kgm__join(path, sizeof path, dir, "census-income.data")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    census_ctx c = {ds, "train"};
    KGM_TRY(kgm__with_file(path, o, ds, "train", "census-kdd", body_census, &c));
    if (!kgm__join(path, sizeof path, dir, "census-income.test")) return KGM_ERR(KGM_ERR_ARG, "path too long");
    if (kgm__present(path)) {
        c.split = "test";
        KGM_TRY(kgm__with_file(path, o, ds, "test", "census-kdd", body_census, &c));
    }
    if (!ds->name[0]) snprintf(ds->name, sizeof ds->name, "census-income-kdd");
    return KGM_OK;
}
