/* datasets/tools.h — dataset inspection (graph statistics via igraph) and
 * the data benchmark behind `kgmtl bench data`. */
#ifndef KGMTL_DATA_TOOLS_H
#define KGMTL_DATA_TOOLS_H

#include <stdio.h>

#include "datasets/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Print kgm_dataset_summary plus, through igraph, degree statistics
 * (min/median/mean/max) and connected components of the user-item graph,
 * the KG and the social graph, per-relation triple counts, and id coverage
 * between items and KG entities (linked items, items with KG triples, KG
 * entities that are items, items with text). KGM_ERR_GRAPH if igraph fails. */
kgm_status kgm_data_inspect(const kgm_dataset *ds, FILE *out);

/* Write `ds` as plain TSV files into `dir` (created if needed), in the
 * layout of ../shared/datasets: ratings.tsv (header, user item rating
 * [timestamp]), triples.tsv (head relation tail, no header), entities.tsv
 * (entity, lemma, text: entities that have text), edges.tsv (header, src dst
 * [weight]). Rows are in dataset order; the recipes sort them (LC_ALL=C). */
kgm_status kgm_dataset_export_tsv(const kgm_dataset *ds, const char *dir);

/* `kgmtl bench data [--rows N] [--csv] [--keep DIR]`: writes an N-row
 * (default 20M) ratings CSV `user,item,rating,timestamp` to a temporary
 * folder, parses it on one core (MB/s, rows/s), saves and loads the binary
 * cache (seconds, MB/s). Returns the exit code (0 ok, 1 failed, 2 usage). */
int kgm_bench_data(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
