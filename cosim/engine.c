/* The one libngspice instance of this process: load, alter, run, read. */
#include <stdbool.h>

#include <ngspice/sharedspice.h>

#include "cosim.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int inited, dead;
    char first_err[512];   /* first error line of the current command */
    char version[64];
    double t_read;
} eng;

/* Solver notes that ngspice prints on stderr but that are not errors. */
static int benign(const char *msg)
{
    static const char *const notes[] = {
        "gmin stepping", "source stepping", "Note:", "Warning:", "warning",
        "Using SPARSE", "Using KLU", "Trying", "Supplies reduced",
        "Reference value", "No. of Data Rows", "Circuit:", "Doing analysis",
        "Initial Transient Solution", "Total analysis time", "-----",
    };
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
        if (strstr(msg, notes[i]))
            return 1;
    return msg[strspn(msg, " \t")] == '\0';
}

static int on_char(char *line, int id, void *ud)
{
    const char *ver = strstr(line, "** ngspice-");
    if (ver && !eng.version[0])
        snprintf(eng.version, sizeof eng.version, "%.*s",
                 (int)strcspn(ver + 3, " :\n"), ver + 3);
    if (strncmp(line, "stderr ", 7) != 0)
        return 0;
    const char *msg = line + 7;
    if (!benign(msg) && !eng.first_err[0])
        snprintf(eng.first_err, sizeof eng.first_err, "%s", msg);
    return 0;
}

static int on_stat(char *s, int id, void *ud) { return 0; }

static int on_ngexit(int status, NG_BOOL unload, NG_BOOL quit, int id, void *ud)
{
    eng.dead = 1;
    return 0;
}

int cosim_engine_dead(void) { return eng.dead; }

const char *cosim_engine_version(void)
{
    return eng.version[0] ? eng.version : "ngspice (version unknown)";
}

static fg_status command(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static fg_status command(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (eng.dead)
        return fg_error(FG_ERR_SPICE, "ngspice instance has exited");
    eng.first_err[0] = '\0';
    int rc = ngSpice_Command(buf);
    if (eng.dead)
        return fg_error(FG_ERR_SPICE, "ngspice exited during '%.60s'", buf);
    if (rc != 0 || eng.first_err[0])
        return fg_error(FG_ERR_SPICE, "ngspice: '%.60s': %s", buf,
                        eng.first_err[0] ? eng.first_err : "command failed");
    return FG_OK;
}

fg_status cosim_engine_init(void)
{
    if (eng.inited)
        return FG_OK;
    if (ngSpice_Init(on_char, on_stat, on_ngexit, NULL, NULL, NULL, NULL) != 0)
        return fg_error(FG_ERR_SPICE, "ngSpice_Init failed");
    eng.inited = 1;
    fg_status st = command("set noaskquit");
    if (st == FG_OK)
        st = command("set nomoremode");
    if (st == FG_OK)
        st = command("unset interactive");
    /* One thread per instance: parallelism is the worker pool; ngspice's
     * OpenMP device loading in two processes on two cores spins and runs
     * eight times slower. */
    if (st == FG_OK)
        st = command("set num_threads=1");
    if (st == FG_OK)
        command("version -s"); /* fills eng.version via on_char */
    return st;
}

fg_status cosim_engine_load(const char *deck)
{
    size_t n = 1;
    for (const char *p = deck; *p; p++)
        n += *p == '\n';
    char *copy = strdup(deck);
    char **lines = calloc(n + 1, sizeof *lines);
    if (!copy || !lines) {
        free(copy);
        free(lines);
        return fg_error(FG_ERR_NOMEM, "out of memory loading deck");
    }
    size_t k = 0;
    for (char *p = copy, *nl; p && k < n; p = nl) {
        nl = strchr(p, '\n');
        if (nl)
            *nl++ = '\0';
        lines[k++] = p;
    }
    command("destroy all");
    command("remcirc");
    eng.first_err[0] = '\0';
    int rc = ngSpice_Circ(lines);
    free(lines);
    free(copy);
    if (eng.dead || rc != 0 || eng.first_err[0])
        return fg_error(FG_ERR_SPICE, "ngspice rejected the deck: %s",
                        eng.first_err[0] ? eng.first_err : "load failed");
    return FG_OK;
}

fg_status cosim_engine_set_inputs(const fg_op_point *op, const double *x)
{
    eng.t_read = nl_t_read(op);
    for (int i = 0; i < FG_ROWS; i++) {
        double p[7];
        nl_pulse_params(op, x[i], p);
        fg_status st = command("alter @vwl%d[pulse] = [ %.9g %.9g %.9g %.9g %.9g %.9g %.9g ]",
                               i, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
        if (st != FG_OK)
            return st;
    }
    return FG_OK;
}

fg_status cosim_engine_set_dvt(const double *dvt)
{
    for (int k = 0; k < FG_CELLS; k++) {
        fg_status st = command("alter @vfg_%d_%d[dc] = %.9g", k / FG_COLS,
                               k % FG_COLS, dvt[k]);
        if (st != FG_OK)
            return st;
    }
    return FG_OK;
}

fg_status cosim_engine_set_wl_dc(int row, double v)
{
    return command("alter @vwl%d[dc] = %.9g", row, v);
}

fg_status cosim_engine_run_vectors(const char *const *names, int n, double *vals)
{
    fg_status st = command("run");
    for (int k = 0; k < n && st == FG_OK; k++) {
        pvector_info vi = ngGet_Vec_Info((char *)names[k]);
        if (!vi || !vi->v_realdata || vi->v_length < 1)
            st = fg_error(FG_ERR_SPICE, "no vector %s after the run", names[k]);
        else
            vals[k] = vi->v_realdata[vi->v_length - 1];
    }
    fg_status dst = command("destroy all");
    /* ngspice logs every command it is sent (~200 bytes each); a NULL
     * command clears the log, without which a worker grows ~14 KiB a run. */
    ngSpice_Command(NULL);
    return st != FG_OK ? st : dst;
}

fg_status cosim_engine_run(double *v_bl)
{
    static const char *const names[FG_COLS] = {
        "bl0", "bl1", "bl2", "bl3", "bl4", "bl5", "bl6", "bl7",
        "bl8", "bl9", "bl10", "bl11", "bl12", "bl13", "bl14", "bl15"};
    return cosim_engine_run_vectors(names, FG_COLS, v_bl);
}

fg_status cosim_engine_run_vector(const char *name, double **vals, int *n)
{
    fg_status st = command("run");
    if (st != FG_OK)
        return st;
    pvector_info vi = ngGet_Vec_Info((char *)name);
    if (!vi || !vi->v_realdata || vi->v_length < 1)
        st = fg_error(FG_ERR_SPICE, "no vector %s after the run", name);
    else if (!(*vals = malloc((size_t)vi->v_length * sizeof **vals)))
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    else {
        memcpy(*vals, vi->v_realdata, (size_t)vi->v_length * sizeof **vals);
        *n = vi->v_length;
    }
    command("destroy all");
    return st;
}
