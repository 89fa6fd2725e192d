/* Whole-buffer reads and writes on pipes (pool workers, the verify child);
 * internal to cosim/. Both retry on EINTR; 0 on success, -1 on an error or
 * end of file before len bytes. */
#ifndef COSIM_FDIO_H
#define COSIM_FDIO_H

#include <stddef.h>

int cosim_write_all(int fd, const void *buf, size_t len);
int cosim_read_all(int fd, void *buf, size_t len);

#endif
