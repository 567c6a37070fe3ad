/* core/base/file.h — opening input files. */
#ifndef KGMTL_BASE_FILE_H
#define KGMTL_BASE_FILE_H

#include <stdint.h>

#include "core/base/status.h"

/* Open a regular file for reading without blocking on a FIFO: anything else
 * (directory, FIFO, pipe, device, socket) is KGM_ERR_IO naming the path and
 * what it is. *size gets the file size (size may be NULL). A source is hashed
 * while it is read and again when a cache built from it is checked, so a
 * stream, which cannot be read twice, is refused. */
kgm_status kgm_file_open_regular(const char *path, int *fd, uint64_t *size);

#endif
