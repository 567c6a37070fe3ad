/* Export a dataset as the plain TSV files of ../shared/datasets. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "datasets/data_internal.h"
#include "datasets/tools.h"

static kgm_status open_out(const char *dir, const char *name, FILE **f, char *path, size_t n) {
    if (!kgm__join(path, n, dir, name)) return KGM_ERR(KGM_ERR_ARG, "path too long");
    *f = fopen(path, "w");
    if (!*f) return KGM_ERR(KGM_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return KGM_OK;
}

static kgm_status close_out(FILE *f, const char *path) {
    bool bad = ferror(f);
    if (fclose(f) != 0 || bad) return KGM_ERR(KGM_ERR_IO, "cannot write %s", path);
    return KGM_OK;
}

kgm_status kgm_dataset_export_tsv(const kgm_dataset *ds, const char *dir) {
    KGM_TRY(kgm_dataset_validate(ds));
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return KGM_ERR(KGM_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    char path[4096];
    FILE *f = NULL;
    if (ds->inter.n) {
        KGM_TRY(open_out(dir, "ratings.tsv", &f, path, sizeof path));
        const kgm_interactions *it = &ds->inter;
        fprintf(f, it->ts ? "userId\titemId\trating\ttimestamp\n" : "userId\titemId\trating\n");
        for (int64_t i = 0; i < it->n; i++) {
            fprintf(f, "%s\t%s\t%.9g", kgm_idmap_name(&ds->users, it->user[i]), kgm_idmap_name(&ds->items, it->item[i]),
                    (double)it->label[i]);
            if (it->ts) fprintf(f, "\t%lld", (long long)it->ts[i]);
            fputc('\n', f);
        }
        KGM_TRY(close_out(f, path));
    }
    if (ds->kg.n) {
        KGM_TRY(open_out(dir, "triples.tsv", &f, path, sizeof path));
        for (int64_t i = 0; i < ds->kg.n; i++)
            fprintf(f, "%s\t%s\t%s\n", kgm_idmap_name(&ds->entities, ds->kg.h[i]),
                    kgm_idmap_name(&ds->relations, ds->kg.r[i]), kgm_idmap_name(&ds->entities, ds->kg.t[i]));
        KGM_TRY(close_out(f, path));
    }
    int32_t cl = kgm_table_find(&ds->entity_attrs, "lemma");
    if (ds->entity_text.n || cl >= 0) {
        KGM_TRY(open_out(dir, "entities.tsv", &f, path, sizeof path));
        for (int32_t e = 0; e < ds->entities.count; e++) {
            /* entities only mentioned as pointer targets have no row of their own */
            bool has_text = e < ds->entity_text.n && ds->entity_text.off[e] >= 0;
            if (!has_text) continue;
            fprintf(f, "%s\t%s\t%s\n", kgm_idmap_name(&ds->entities, e),
                    cl >= 0 ? kgm_strings_get(&ds->entity_attrs.cols[cl].text, e, NULL) : "",
                    kgm_strings_get(&ds->entity_text, e, NULL));
        }
        KGM_TRY(close_out(f, path));
    }
    if (ds->social.n) {
        KGM_TRY(open_out(dir, "edges.tsv", &f, path, sizeof path));
        fprintf(f, ds->social.weight ? "src\tdst\tweight\n" : "src\tdst\n");
        for (int64_t i = 0; i < ds->social.n; i++) {
            fprintf(f, "%s\t%s", kgm_idmap_name(&ds->users, ds->social.src[i]),
                    kgm_idmap_name(&ds->users, ds->social.dst[i]));
            if (ds->social.weight) fprintf(f, "\t%.9g", (double)ds->social.weight[i]);
            fputc('\n', f);
        }
        KGM_TRY(close_out(f, path));
    }
    return KGM_OK;
}
