/* Whole-buffer reads and writes on pipes. */
#include "fdio.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

int cosim_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        /* a socket: no SIGPIPE for a peer that is gone (EPIPE instead);
         * a pipe or file: write */
        ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
        if (k < 0 && errno == ENOTSOCK)
            k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

int cosim_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t k = read(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}
