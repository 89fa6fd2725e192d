/* Whole-file reads, atomic writes and strict CSV parsing. */
#include "fgcore.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

fg_status fg_file_read(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf)
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", path);
    if (err) {
        free(buf);
        return fg_error(FG_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len)
        *len = n;
    return FG_OK;
}

char *fg_tmp_name(const char *path)
{
    size_t n = strlen(path) + 32;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
    return t;
}

fg_status fg_file_write_atomic(const char *path, const void *data, size_t len)
{
    char *tmp = fg_tmp_name(path);
    if (!tmp)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    FILE *f = fopen(tmp, "wb");
    fg_status st = FG_OK;
    if (!f)
        st = fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    else if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
        st = fg_error(FG_ERR_IO, "%s: write failed", path);
    else if (rename(tmp, path) != 0)
        st = fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    if (st != FG_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

/* Parses one CSV line of exactly `cols` numbers into out. */
static fg_status csv_line(const char *path, int lineno, char *line, int cols,
                          double lo, double hi, double *out)
{
    char *p = line;
    for (int c = 0; c < cols; c++) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno)
            return fg_error(FG_ERR_PARSE, "%s:%d: column %d: not a number",
                            path, lineno, c + 1);
        if (!isfinite(v) || v < lo || v > hi)
            return fg_error(FG_ERR_RANGE, "%s:%d: column %d: %g outside [%g,%g]",
                            path, lineno, c + 1, v, lo, hi);
        out[c] = v;
        while (*end == ' ' || *end == '\t' || *end == '\r')
            end++;
        if (c < cols - 1 && *end != ',')
            return fg_error(FG_ERR_PARSE, "%s:%d: %d values, expected %d",
                            path, lineno, c + 1, cols);
        p = end + (c < cols - 1);
    }
    if (*p != '\0')
        return fg_error(FG_ERR_PARSE, "%s:%d: more than %d values", path,
                        lineno, cols);
    return FG_OK;
}

fg_status fg_csv_read(const char *path, int cols, double lo, double hi,
                      double **vals, int *rows)
{
    char *text;
    fg_status st = fg_file_read(path, &text, NULL);
    if (st != FG_OK)
        return st;
    int n = 0, cap = 64, lineno = 0;
    double *v = malloc((size_t)cap * cols * sizeof *v);
    for (char *line = text, *next; line && st == FG_OK && v; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (line[strspn(line, " \t\r")] == '\0' || line[0] == '#')
            continue;
        if (n == cap) {
            double *nv = realloc(v, (size_t)(cap *= 2) * cols * sizeof *v);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        st = csv_line(path, lineno, line, cols, lo, hi, v + (size_t)n * cols);
        n++;
    }
    free(text);
    if (!v)
        return fg_error(FG_ERR_NOMEM, "%s: out of memory", path);
    if (st == FG_OK && n == 0)
        st = fg_error(FG_ERR_PARSE, "%s: no data rows", path);
    if (st != FG_OK) {
        free(v);
        return st;
    }
    *vals = v;
    *rows = n;
    return FG_OK;
}
