/* Opening input files: a regular file or a clear refusal (used by hashing and every loader). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/file.h"

static const char *file_kind(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO or pipe (process substitution)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

kgm_status kgm_file_open_regular(const char *path, int *out_fd, uint64_t *size) {
    *out_fd = -1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before we can
     * refuse it; it changes nothing for a regular file */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return KGM_ERR(KGM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return KGM_ERR(KGM_ERR_IO, "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        /* a source is hashed while it is read and hashed again whenever a
         * cache built from it is checked for staleness: a stream cannot be
         * read twice, so it is refused rather than half-read or waited on */
        return KGM_ERR(KGM_ERR_IO, "%s is %s, expected a regular file (copy a stream to a file first)", path,
                       file_kind(st.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (size) *size = (uint64_t)st.st_size;
    *out_fd = fd;
    return KGM_OK;
}
