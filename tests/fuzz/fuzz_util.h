/* fuzz_util.h — helpers shared by the libFuzzer targets in tests/fuzz.
 *
 * Readers that take a path get the fuzz input through a unique temporary
 * file (mkstemp in $TMPDIR or /tmp), removed after each input. Readers that
 * take text get a NUL-terminated copy. Header-only: every target is one
 * .c file and links the libraries it exercises. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes d[0..n) to a fresh temporary file whose name ends in `suffix`;
 * path (at least 4096 bytes) gets its name. Returns 0, or -1 (no file). */
static inline int fuzz_tmpfile(const uint8_t *d, size_t n, const char *suffix,
                               char *path)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 4096, "%s/fgfuzz-XXXXXX%s", dir && *dir ? dir : "/tmp", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    if (fd < 0) {
        perror("fuzz: mkstemps");
        abort(); /* not the input's fault: stop rather than fuzz nothing */
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, d + done, n - done);
        if (w <= 0) {
            perror("fuzz: write");
            close(fd);
            unlink(path);
            abort();
        }
        done += (size_t)w;
    }
    close(fd);
    return 0;
}

/* A NUL-terminated copy of the input (caller frees). */
static inline char *fuzz_text(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

#endif
