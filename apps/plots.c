/* Plots through gnuplot, written all or nothing: a staging folder inside
 * DIR, renamed into DIR file by file once gnuplot succeeded. */
#include "plots.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "a/b" in a malloc'd string, NULL when out of memory. */
static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

fg_status plot_stage_open(plot_stage *ps, const char *dir)
{
    *ps = (plot_stage){0};
    char *stage = join(dir, ".plots.tmp.XXXXXX");
    if (!stage || !(ps->dir = strdup(dir))) {
        free(stage);
        return fg_error(FG_ERR_NOMEM, "out of memory");
    }
    if (mkdir(dir, 0777) == 0)
        ps->made_dir = 1;
    else if (errno != EEXIST) {
        free(stage);
        return fg_error(FG_ERR_IO, "%s: %s", dir, strerror(errno));
    }
    if (!mkdtemp(stage)) {
        fg_status st = fg_error(FG_ERR_IO, "%s: %s", dir, strerror(errno));
        free(stage);
        return st;
    }
    ps->stage = stage;
    return FG_OK;
}

fg_status plot_stage_fopen(const plot_stage *ps, const char *name, FILE **f)
{
    char *path = join(ps->stage, name);
    if (!path)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    *f = fopen(path, "w");
    fg_status st = *f ? FG_OK : fg_error(FG_ERR_IO, "%s/%s: %s", ps->dir, name,
                                         strerror(errno));
    free(path);
    return st;
}

fg_status plot_stage_fclose(const plot_stage *ps, const char *name, FILE *f)
{
    int bad = ferror(f);
    bad |= fclose(f);
    return bad ? fg_error(FG_ERR_IO, "%s/%s: write error", ps->dir, name) : FG_OK;
}

fg_status plot_stage_gnuplot(const plot_stage *ps, const char *script)
{
    /* a missing gnuplot closes the pipe early: an error, not a SIGPIPE */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    FILE *gp = popen("gnuplot", "w");
    fg_status st = FG_OK;
    if (!gp)
        st = fg_error(FG_ERR_IO, "--plots: cannot run gnuplot: %s", strerror(errno));
    else {
        fprintf(gp, script, ps->stage);
        int rc = pclose(gp);
        if (rc)
            st = fg_error(FG_ERR_IO, "--plots: gnuplot failed (status %d); is "
                          "gnuplot-nox installed?", rc);
    }
    signal(SIGPIPE, old);
    return st;
}

fg_status plot_stage_commit(plot_stage *ps)
{
    DIR *d = opendir(ps->stage);
    if (!d)
        return fg_error(FG_ERR_IO, "%s: %s", ps->stage, strerror(errno));
    fg_status st = FG_OK;
    struct dirent *e;
    while (st == FG_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *from = join(ps->stage, e->d_name), *to = join(ps->dir, e->d_name);
        if (!from || !to)
            st = fg_error(FG_ERR_NOMEM, "out of memory");
        else if (rename(from, to))
            st = fg_error(FG_ERR_IO, "%s: %s", to, strerror(errno));
        free(from);
        free(to);
    }
    closedir(d);
    if (st == FG_OK) {
        rmdir(ps->stage);
        free(ps->stage);
        ps->stage = NULL;
        ps->made_dir = 0;
    }
    return st;
}

/* Removes the staging folder and its files; leaves the error message be. */
static void remove_stage(const char *stage)
{
    DIR *d = opendir(stage);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *path = join(stage, e->d_name);
        if (path && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(path);
        free(path);
    }
    if (d)
        closedir(d);
    rmdir(stage);
}

void plot_stage_close(plot_stage *ps)
{
    if (ps->stage)
        remove_stage(ps->stage);
    if (ps->made_dir && ps->dir)
        rmdir(ps->dir);
    free(ps->stage);
    free(ps->dir);
    *ps = (plot_stage){0};
}

fg_status plot_make(const char *dir, plot_write_fn write, const void *ctx,
                    const char *script)
{
    plot_stage ps;
    fg_status st = plot_stage_open(&ps, dir);
    if (st == FG_OK)
        st = write(&ps, ctx);
    if (st == FG_OK)
        st = plot_stage_gnuplot(&ps, script);
    if (st == FG_OK)
        st = plot_stage_commit(&ps);
    plot_stage_close(&ps);
    return st;
}
