/* Helpers shared by the test files. */
#include "testutil.h"
#include "suites.h"
#include "fgcore.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void tu_ngspice_values(const char *deck, const char *fmt, double *v)
{
    char dir[] = "/tmp/fgcosim-ngb-XXXXXX", path[96], cmd[256], line[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/deck.cir", dir);
    ck_assert_int_eq(fg_file_write_atomic(path, deck, strlen(deck)), FG_OK);
    snprintf(cmd, sizeof cmd, "cd %s && HOME=%s LC_ALL=C ngspice -b deck.cir 2>&1", dir, dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int seen = 0;
    while (fgets(line, sizeof line, p)) {
        int j;
        double val;
        if (sscanf(line, fmt, &j, &val) == 2 && j >= 0 && j < 16) {
            v[j] = val;
            seen |= 1 << j;
        }
    }
    pclose(p);
    unlink(path);
    rmdir(dir);
    ck_assert_msg(seen == 0xffff, "ngspice printed %04x of the 16 values '%s'", seen, fmt);
}

void tu_ngspice_program(const char *deck, double *v)
{
    tu_ngspice_values(deck, " vbl%d = %lf", v);
}

const char *tu_err_file(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/fgcosim-test-err.%ld.txt", (long)getpid());
    return path;
}

char *tu_tmp(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/tmp/fgcosim-test-%ld-%s", (long)getpid(), name);
    return buf;
}

const char *tu_tmp_path(const char *name)
{
    static char buf[160];
    return tu_tmp(buf, sizeof buf, name);
}

int tu_run_fgcosimf(const char *fmt, ...)
{
    char args[1536]; /* room for it in tu_run_fgcosim's command line */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_run_fgcosim(args);
}

int tu_run_fgcosim(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/apps/fgcosim %s >/dev/null 2>%s", FG_BUILD_DIR, args,
             TU_ERR_FILE);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int tu_run_fgcosim_out(const char *args, char *out, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/apps/fgcosim %s 2>%s", FG_BUILD_DIR, args, TU_ERR_FILE);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = fread(out, 1, n - 1, p);
    out[got] = 0;
    while (fgetc(p) != EOF) {}
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int tu_err_lines(char *line, size_t n)
{
    FILE *f = fopen(TU_ERR_FILE, "r");
    ck_assert_ptr_nonnull(f);
    char buf[4096];
    int lines = 0;
    line[0] = 0;
    while (fgets(buf, sizeof buf, f))
        if (lines++ == 0)
            snprintf(line, n, "%s", buf);
    fclose(f);
    return lines;
}

char *tu_write_tmp(const char *text, const char *suffix)
{
    char *path = malloc(64);
    snprintf(path, 64, "/tmp/fgtest_XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}
