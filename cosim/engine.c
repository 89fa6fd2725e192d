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
    int points;             /* time points of the last run (0: none yet) */
    long tran_iter;         /* "Transient iterations = N" seen on stdout */
    double v_high[FG_ROWS]; /* word-line pulse amplitudes of this run, V */
    double t_on[FG_ROWS], t_off[FG_ROWS]; /* pulse start, falling edge start */
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
    const char *it = strstr(line, "Transient iterations = ");
    if (it && !strncmp(line, "stdout ", 7))
        eng.tran_iter = strtol(it + 23, NULL, 10);
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

int cosim_engine_points(void) { return eng.points; }

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

fg_status cosim_engine_tran_iterations(long *n)
{
    eng.tran_iter = -1;
    fg_status st = command("rusage traniter");
    if (st == FG_OK && eng.tran_iter < 0)
        st = fg_error(FG_ERR_SPICE, "ngspice printed no transient iteration count");
    *n = eng.tran_iter;
    return st;
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

fg_status cosim_engine_set_inputs(const fg_op_point *op, const double *x, nl_wl_drive d)
{
    if (d == NL_WL_AUTO)
        return fg_error(FG_ERR_INTERNAL, "inputs of an unresolved word-line drive");
    eng.t_read = nl_t_read(op);
    for (int i = 0; i < FG_ROWS; i++) {
        double p[7];
        char cmds[512];
        nl_pulse_params(op, x[i], p);
        eng.v_high[i] = p[1];
        eng.t_on[i] = p[2];
        eng.t_off[i] = p[2] + p[3] + p[5];
        if (nl_wl_alters(op, i, x[i], d, cmds, sizeof cmds) >= sizeof cmds)
            return fg_error(FG_ERR_INTERNAL, "alter commands of row %d too long", i);
        for (char *save = NULL, *c = strtok_r(cmds, "\n", &save); c;
             c = strtok_r(NULL, "\n", &save)) {
            fg_status st = command("%s", c);
            if (st != FG_OK)
                return st;
        }
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

/* Copies the last point of each vector names[k] into vals[k]. */
static fg_status read_last(const char *const *names, int n, double *vals)
{
    for (int k = 0; k < n; k++) {
        pvector_info vi = ngGet_Vec_Info((char *)names[k]);
        if (!vi || !vi->v_realdata || vi->v_length < 1)
            return fg_error(FG_ERR_SPICE, "no vector %s after the run", names[k]);
        vals[k] = vi->v_realdata[vi->v_length - 1];
    }
    return FG_OK;
}

/* Destroys the run's plot; st is the status of what was read from it.
 * Notes the run's time points first (the length of its time vector). */
static fg_status run_finish(fg_status st)
{
    pvector_info vt = ngGet_Vec_Info("time");
    eng.points = vt ? vt->v_length : 0;
    fg_status dst = command("destroy all");
    /* ngspice logs every command it is sent (~200 bytes each); a NULL
     * command clears the log, without which a worker grows ~14 KiB a run. */
    ngSpice_Command(NULL);
    return st != FG_OK ? st : dst;
}

fg_status cosim_engine_run_vectors(const char *const *names, int n, double *vals)
{
    fg_status st = command("run");
    if (st == FG_OK)
        st = read_last(names, n, vals);
    return run_finish(st);
}

static const char *const bl_names[FG_COLS] = {
    "bl0", "bl1", "bl2", "bl3", "bl4", "bl5", "bl6", "bl7",
    "bl8", "bl9", "bl10", "bl11", "bl12", "bl13", "bl14", "bl15"};

fg_status cosim_engine_run(double *v_bl)
{
    return cosim_engine_run_vectors(bl_names, FG_COLS, v_bl);
}

/* ---- energy of the run -------------------------------------------------- */
const char *const cosim_src_name[COSIM_NSRC] = {"precharge", "wordline"};

double cosim_energy_total(const cosim_energy *e)
{
    double s = 0;
    for (int k = 0; k < COSIM_NSRC; k++)
        s += e->supply[k];
    return s;
}

/* Real data of vector `name` of the current plot, n points (time's). */
static fg_status vec_data(const char *name, int n, const double **out)
{
    pvector_info vi = ngGet_Vec_Info((char *)name);
    if (!vi || !vi->v_realdata || vi->v_length != n)
        return fg_error(FG_ERR_SPICE, "no vector %s of %d points after the run", name, n);
    *out = vi->v_realdata;
    return FG_OK;
}

/* f(t) at a by linear interpolation between the run's points (a point of
 * the run itself when a is one of its breakpoints). */
static double at_time(const double *t, const double *f, int n, double a)
{
    if (a <= t[0])
        return f[0];
    for (int k = 1; k < n; k++)
        if (t[k] >= a)
            return f[k - 1] + (f[k] - f[k - 1]) * (a - t[k - 1]) / (t[k] - t[k - 1]);
    return f[n - 1];
}

/* Word-line driver i, from its charge meter q (v(qw<i>) / NL_METER_GAIN:
 * the charge it has sourced, C) and its voltage v: out[0] += V_high * the
 * charge it sources while it drives high (from the start of its pulse to
 * the start of the falling edge: a CMOS driver's pull-up window), out[1] +=
 * the net energy it delivers, the sum over the steps of each step's charge
 * times the mean voltage. */
static fg_status driver_energy(int i, const double *t, int n, double out[2])
{
    char qname[32], vname[32];
    snprintf(qname, sizeof qname, "qw%d", i);
    snprintf(vname, sizeof vname, "wld%d", i);
    const double *q = NULL, *v = NULL;
    fg_status st = vec_data(qname, n, &q);
    if (st == FG_OK)
        st = vec_data(vname, n, &v);
    if (st != FG_OK)
        return st;
    if (eng.v_high[i] > 0)
        out[0] += eng.v_high[i] *
                  (at_time(t, q, n, eng.t_off[i]) - at_time(t, q, n, eng.t_on[i])) /
                  NL_METER_GAIN;
    double e = 0;
    for (int k = 1; k < n; k++)
        e += 0.5 * (v[k] + v[k - 1]) * (q[k] - q[k - 1]);
    out[1] += e / NL_METER_GAIN;
    return FG_OK;
}

/* From the deck's charge meters (see cosim.h). */
static fg_status run_energy(const cosim_meter *m, cosim_energy *e)
{
    *e = (cosim_energy){0};
    pvector_info vt = ngGet_Vec_Info("time");
    if (!vt || !vt->v_realdata || vt->v_length < 2)
        return fg_error(FG_ERR_SPICE, "no time vector after the run");
    int n = vt->v_length;
    const double *t = vt->v_realdata, *qsl = NULL;
    fg_status st = vec_data("qsl", n, &qsl);
    /* charge through the source-line strap, C */
    double q = st == FG_OK ? (qsl[n - 1] - qsl[0]) / NL_METER_GAIN : 0;
    e->supply[COSIM_SRC_PRECHARGE] = e->delivered[COSIM_SRC_PRECHARGE] = m->v_pre * q;
    for (int i = 0; i < FG_ROWS && st == FG_OK; i++) {
        double wl[2] = {0, 0};
        st = driver_energy(i, t, n, wl);
        e->supply[COSIM_SRC_WORDLINE] += wl[0];
        e->delivered[COSIM_SRC_WORDLINE] += wl[1];
    }
    return st;
}

fg_status cosim_engine_run_energy(const cosim_meter *m, double *v_bl, cosim_energy *e)
{
    fg_status st = command("run");
    if (st == FG_OK)
        st = read_last(bl_names, FG_COLS, v_bl);
    if (st == FG_OK && e)
        st = run_energy(m, e);
    return run_finish(st);
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
