/* Issue 13, robust input: streams and non-regular paths, header detection,
 * format auto-detection, empty files, bad cells in tables. Each test uses its
 * own input and checks the outcome (rows loaded, the error's file:line). */
#include <pthread.h>
#include <sys/types.h>

#include "datasets/data_internal.h"
#include "tests/datasets/data_test.h"

static const char *fifo_at(const char *name) {
    static char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmp_dir(), name);
    unlink(p);
    cr_assert_eq(mkfifo(p, 0600), 0, "mkfifo %s", p);
    return p;
}

static void assert_msg(const char *want) {
    cr_assert(strstr(kgm_error_message(), want), "expected \"%s\" in: %s", want, kgm_error_message());
}

/* ---- streams and non-regular paths (item 3, movies.dat of item 9) ------------- */

/* No writer ever opens the FIFOs: the old loaders blocked in open() (or in the
 * second, checksum read) forever; the timeout turns that into a failure. */
Test(robust, fifo_inputs_are_refused_naming_the_file, .timeout = 10) {
    const char *f = fifo_at("table.fifo");
    kgm_table t;
    cr_assert_eq(kgm_load_table(f, NULL, NULL, 0, NULL, &t), KGM_ERR_IO);
    assert_msg("table.fifo is a FIFO or pipe (process substitution), expected a regular file");
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_interactions(f, NULL, NULL, &ds), KGM_ERR_IO);
    assert_msg("table.fifo is a FIFO");
    cr_assert_eq(kgm_load_auto(f, NULL, &ds), KGM_ERR_IO);
    assert_msg("table.fifo is a FIFO");
    cr_assert_eq(kgm_dataset_load(f, NULL, &ds), KGM_ERR_IO);
    assert_msg("table.fifo is a FIFO");
    kgm_tensor *m = NULL;
    cr_assert_eq(kgm_npy_load(f, &m), KGM_ERR_IO);
    assert_msg("table.fifo is a FIFO");
    uint64_t b, sum;
    cr_assert_eq(kgm_file_checksum(f, &b, &sum), KGM_ERR_IO);
    kgm_dataset_destroy(&ds);
    tmp_cleanup();
}

/* kernlab-income was read once for the table and once more for its checksum. */
Test(robust, fifo_named_table_is_refused, .timeout = 10) {
    tmp_subdir("root");
    tmp_subdir("root/kernlab-income");
    fifo_at("root/kernlab-income/income.tsv");
    char root[1024];
    snprintf(root, sizeof root, "%s/root", tmp_dir());
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_named("kernlab-income", root, NULL, &ds), KGM_ERR_IO);
    assert_msg("income.tsv is a FIFO");
    kgm_dataset_destroy(&ds);
    /* a regular file: one pass gives the table and the source checksum */
    char fp[1024];
    snprintf(fp, sizeof fp, "%s/root/kernlab-income/income.tsv", tmp_dir());
    cr_assert_eq(unlink(fp), 0);
    const char *p = tmp_file("root/kernlab-income/income.tsv", "age\tjob\n31\tcook\n40\tpilot\n", (size_t)-1);
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_named("kernlab-income", root, NULL, &ds), KGM_OK, "%s", kgm_error_message());
    cr_assert_eq(ds.tabular.rows, 2);
    cr_assert_eq(ds.prov.n_sources, 1);
    uint64_t b, sum;
    cr_assert_eq(kgm_file_checksum(p, &b, &sum), KGM_OK);
    cr_assert_eq(ds.prov.sources[0].checksum, sum);
    cr_assert_eq(ds.prov.sources[0].bytes, b);
    cr_assert_str_eq(ds.prov.loader, "table");
    kgm_dataset_destroy(&ds);
    tmp_cleanup();
}

/* `kgmtl data inspect <(cat f.tsv)` hands the loader /dev/fd/N, a pipe. */
Test(robust, process_substitution_pipe_is_refused, .timeout = 10) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(write(fds[1], "1\t2\t3\n", 6), 6);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_interactions(path, NULL, NULL, &ds), KGM_ERR_IO);
    assert_msg("is a FIFO or pipe");
    assert_msg(path);
    kgm_dataset_destroy(&ds);
    close(fds[0]);
    close(fds[1]);
}

/* movies.dat that is a folder or a FIFO was skipped: the titles were lost. */
Test(robust, movies_file_that_is_not_a_file_is_an_error, .timeout = 10) {
    char d[1024];
    snprintf(d, sizeof d, "%s", tmp_subdir("ml1m"));
    tmp_file("ml1m/ratings.dat", "1::1193::5::978300760\n", (size_t)-1);
    tmp_subdir("ml1m/movies.dat");
    kgm_dataset ds;
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_movielens(d, NULL, &ds), KGM_ERR_IO);
    assert_msg("movies.dat is a directory, expected a regular file");
    kgm_dataset_destroy(&ds);
    char p[1024];
    snprintf(p, sizeof p, "%s/ml1m/movies.dat", tmp_dir());
    cr_assert_eq(rmdir(p), 0);
    fifo_at("ml1m/movies.dat");
    kgm_dataset_init(&ds);
    cr_assert_eq(kgm_load_movielens(d, NULL, &ds), KGM_ERR_IO);
    assert_msg("movies.dat is a FIFO");
    kgm_dataset_destroy(&ds);
    tmp_cleanup();
}
