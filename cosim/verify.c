/* Program-and-verify on the deck itself: the array's own DC verify deck
 * (netlists: nl_deck_spec.verify) is loaded once into an ngspice instance
 * of a child process (the caller may own no instance, or a pool of them:
 * one instance per process), and the cells are read a row at a time, then
 * corrected, until each on-cell carries its target current w * I_unit at
 * the read conditions (V_DS = V_pre at the sense node, V_GS = V_read - dVT,
 * the corner's temperature and rails), through the array's own device
 * card, mismatch and parasitics.
 *
 * Read: every bit line is held at V_pre through its ammeter; one .op with
 * all word lines at 0 V gives each column's background (leakage of the off
 * rows and the junctions' gmin), then one .op per row with that row at
 * V_read; a cell's current is its column's current minus the background.
 * Correct: Newton in log current, ln I(dVT) falls with slope
 * -1/(n kT/q) in subthreshold (about 80 mV/decade for nfg at 27 C, scaled
 * with the absolute temperature); once a cell has two reads, the measured
 * secant replaces it (kept within 4x of the nominal slope); each step is
 * clamped to VERIFY_STEP_MAX. Only cells outside the tolerance are
 * rewritten, as a write-verify controller does. */
#include "cosim.h"
#include "fdio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERIFY_STEP_MAX 0.1      /* V, largest correction of one write   */
#define VERIFY_SWING 0.080       /* V/decade of nfg at 27 C              */
#define VERIFY_DVT_MIN (-1.0)    /* V, lowest threshold shift written    */

typedef struct {
    const cosim_pool_config *cfg;
    const double *target;        /* (16,16) A, 0 = off cell; NULL = read only */
    double tol;
    int max_iter;
} verify_job;

typedef struct {
    int status;
    char msg[240];
    cosim_verify_report rep;
    double dvt[FG_CELLS];        /* in: start; out: last written        */
    double i_cell[FG_CELLS];     /* A, last read                        */
} verify_reply;

typedef struct {                 /* the previous write of each cell     */
    double dvt[FG_CELLS], i[FG_CELLS];
    unsigned char have[FG_CELLS];
} verify_history;

/* ---- the child: reads and corrections ----------------------------------- */
static const char *const am_names[FG_COLS] = {
    "vam0#branch", "vam1#branch", "vam2#branch", "vam3#branch",
    "vam4#branch", "vam5#branch", "vam6#branch", "vam7#branch",
    "vam8#branch", "vam9#branch", "vam10#branch", "vam11#branch",
    "vam12#branch", "vam13#branch", "vam14#branch", "vam15#branch"};

/* One read of the whole array: background, then row by row. */
static fg_status read_array(double v_read, double *i_cell, long *reads)
{
    double bg[FG_COLS], col[FG_COLS];
    fg_status st = cosim_engine_run_vectors(am_names, FG_COLS, bg);
    ++*reads;
    for (int i = 0; i < FG_ROWS && st == FG_OK; i++) {
        st = cosim_engine_set_wl_dc(i, v_read);
        if (st == FG_OK)
            st = cosim_engine_run_vectors(am_names, FG_COLS, col);
        ++*reads;
        if (st == FG_OK)
            st = cosim_engine_set_wl_dc(i, 0.0);
        for (int j = 0; j < FG_COLS && st == FG_OK; j++)
            i_cell[i * FG_COLS + j] = col[j] - bg[j];
    }
    return st;
}

static double rel_err(double i, double target) { return fabs(i / target - 1.0); }

/* Worst relative error and number of on-cells outside the tolerance. */
static void score(const verify_job *j, verify_reply *r)
{
    r->rep.worst_rel_err = 0.0;
    r->rep.cells_missed = 0;
    for (int k = 0; k < FG_CELLS; k++) {
        if (!(j->target[k] > 0))
            continue;
        double e = rel_err(r->i_cell[k], j->target[k]);
        if (isnan(e)) /* counts as the worst */
            e = INFINITY;
        if (e > r->rep.worst_rel_err)
            r->rep.worst_rel_err = e;
        r->rep.cells_missed += !(e <= j->tol);
    }
}

/* d ln I / d dVT of cell k: the measured secant once there are two reads,
 * else the subthreshold slope s0 (< 0). */
static double cell_slope(const verify_history *h, int k, double dvt, double i,
                         double s0)
{
    if (!h->have[k] || fabs(dvt - h->dvt[k]) < 1e-6 || !(h->i[k] > 0))
        return s0;
    double s = (log(i) - log(h->i[k])) / (dvt - h->dvt[k]);
    return s <= s0 / 4 && s >= 4 * s0 ? s : s0;
}

/* Rewrites every on-cell outside the tolerance. */
static void correct(const verify_job *j, verify_history *h, verify_reply *r,
                    double s0)
{
    for (int k = 0; k < FG_CELLS; k++) {
        double t = j->target[k], i = r->i_cell[k], dvt = r->dvt[k];
        if (!(t > 0) || rel_err(i, t) <= j->tol)
            continue;
        double step = -VERIFY_STEP_MAX; /* no current: lower the threshold */
        if (i > 0)
            step = (log(t) - log(i)) / cell_slope(h, k, dvt, i, s0);
        if (fabs(step) > VERIFY_STEP_MAX)
            step = copysign(VERIFY_STEP_MAX, step);
        h->dvt[k] = dvt;
        h->i[k] = i;
        h->have[k] = i > 0;
        dvt += step;
        r->dvt[k] = dvt < VERIFY_DVT_MIN ? VERIFY_DVT_MIN
                    : dvt > COSIM_DVT_OFF ? COSIM_DVT_OFF : dvt;
    }
}

static fg_status verify_loop(const verify_job *j, verify_reply *r)
{
    fg_op_point at = fg_corner_op(j->cfg->corner, &j->cfg->op);
    double temp = j->cfg->corner ? j->cfg->corner->temp_c : FG_TEMP_NOMINAL_C;
    double s0 = -log(10.0) / (VERIFY_SWING * (temp + 273.15) / (FG_TEMP_NOMINAL_C + 273.15));
    verify_history h;
    memset(&h, 0, sizeof h);
    for (;;) {
        fg_status st = cosim_engine_set_dvt(r->dvt);
        if (st == FG_OK)
            st = read_array(at.v_read, r->i_cell, &r->rep.reads);
        if (st != FG_OK || !j->target)
            return st;
        score(j, r);
        if (r->rep.cells_missed == 0 || r->rep.iterations >= j->max_iter)
            return FG_OK;
        correct(j, &h, r, s0);
        r->rep.iterations++;
    }
}

static void verify_child(const verify_job *j, const char *deck, const char *home,
                         verify_reply *r, int fd)
{
    setenv("HOME", home, 1); /* no user ~/.spiceinit changes results */
    setenv("LC_ALL", "C", 1);
    fg_status st = cosim_engine_init();
    if (st == FG_OK)
        st = cosim_engine_load(deck);
    if (st == FG_OK)
        st = verify_loop(j, r);
    r->status = (int)st;
    if (st != FG_OK)
        snprintf(r->msg, sizeof r->msg, "%s", fg_errmsg());
    _exit(cosim_write_all(fd, r, sizeof *r) == 0 ? 0 : 1);
}

/* ---- the parent ----------------------------------------------------------- */
static fg_status read_reply(int fd, pid_t pid, verify_reply *r)
{
    int got = cosim_read_all(fd, r, sizeof *r) == 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!got)
        return fg_error(FG_ERR_SPICE, "program-verify: the ngspice child died");
    if (r->status != FG_OK)
        return fg_error((fg_status)r->status, "program-verify: %s", r->msg);
    return FG_OK;
}

static fg_status fork_child(const verify_job *j, const char *deck, const char *home,
                            verify_reply *r)
{
    int fds[2];
    if (pipe(fds) != 0)
        return fg_error(FG_ERR_IO, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        verify_child(j, deck, home, r, fds[1]);
    }
    close(fds[1]);
    fg_status st = pid < 0 ? fg_error(FG_ERR_IO, "fork: %s", strerror(errno))
                           : read_reply(fds[0], pid, r);
    close(fds[0]);
    return st;
}

/* Builds the verify deck with the start dvt and runs the job in a child. */
static fg_status verify_run(const verify_job *j, verify_reply *r)
{
    const cosim_pool_config *cfg = j->cfg;
    nl_deck_spec spec = {.layout = cfg->layout, .array_netlist = cfg->array_netlist,
                         .op = cfg->op, .corner = cfg->corner, .dvt = r->dvt,
                         .verify = 1, .verify_row = -1};
    char *deck = NULL, home[] = "/tmp/fgcosim-home-XXXXXX";
    fg_status st = nl_deck_build(&spec, &deck);
    int have_home = 0;
    if (st == FG_OK && !(have_home = mkdtemp(home) != NULL))
        st = fg_error(FG_ERR_IO, "mkdtemp: %s", strerror(errno));
    if (st == FG_OK)
        st = fork_child(j, deck, home, r);
    if (have_home)
        rmdir(home);
    free(deck);
    return st;
}

static fg_status check_dvt(const double *dvt)
{
    for (int k = 0; k < FG_CELLS; k++)
        if (!isfinite(dvt[k]))
            return fg_error(FG_ERR_RANGE, "dVT(%d,%d) is not finite", k / FG_COLS,
                            k % FG_COLS);
    return FG_OK;
}

fg_status cosim_verify_read(const cosim_pool_config *cfg, const double *dvt,
                            double *i_cell)
{
    verify_job j = {.cfg = cfg};
    verify_reply *r = calloc(1, sizeof *r);
    fg_status st = r ? check_dvt(dvt) : fg_error(FG_ERR_NOMEM, "out of memory");
    if (st == FG_OK) {
        memcpy(r->dvt, dvt, sizeof r->dvt);
        st = verify_run(&j, r);
    }
    if (st == FG_OK)
        memcpy(i_cell, r->i_cell, sizeof r->i_cell);
    free(r);
    return st;
}

static fg_status verify_targets(const cosim_pool_config *cfg, const double *w,
                                double *target, double *dvt)
{
    for (int k = 0; k < FG_CELLS; k++) {
        if (!(w[k] >= 0.0 && w[k] <= 1.0))
            return fg_error(FG_ERR_RANGE, "weight (%d,%d) = %g is outside [0,1]",
                            k / FG_COLS, k % FG_COLS, w[k]);
        target[k] = w[k] * cfg->op.i_unit;
        if (w[k] == 0.0)
            dvt[k] = COSIM_DVT_OFF;
    }
    return check_dvt(dvt);
}

static fg_status verify_opts_resolve(const cosim_verify_opts *vo, verify_job *j)
{
    j->tol = vo && vo->tol > 0 ? vo->tol : COSIM_VERIFY_TOL_DEFAULT;
    j->max_iter = vo && vo->max_iter > 0 ? vo->max_iter : COSIM_VERIFY_ITER_DEFAULT;
    if (!(j->tol < 1.0))
        return fg_error(FG_ERR_RANGE, "--verify-tol %g is not in (0,1)", j->tol);
    if (j->max_iter > COSIM_VERIFY_ITER_MAX)
        return fg_error(FG_ERR_RANGE, "--verify-iter %d is not in [1,%d]", j->max_iter,
                        COSIM_VERIFY_ITER_MAX);
    return FG_OK;
}

fg_status cosim_program_verify(const cosim_pool_config *cfg, const double *w,
                               const cosim_verify_opts *vo, double *dvt,
                               cosim_verify_report *rep)
{
    double t0 = fg_now();
    verify_job j = {.cfg = cfg};
    double target[FG_CELLS];
    verify_reply *r = calloc(1, sizeof *r);
    fg_status st = r ? verify_opts_resolve(vo, &j) : fg_error(FG_ERR_NOMEM, "out of memory");
    if (st == FG_OK) {
        memcpy(r->dvt, dvt, sizeof r->dvt);
        st = verify_targets(cfg, w, target, r->dvt);
    }
    j.target = target;
    if (st == FG_OK)
        st = verify_run(&j, r);
    if (st == FG_OK) {
        memcpy(dvt, r->dvt, sizeof r->dvt);
        *rep = r->rep;
        rep->seconds = fg_now() - t0;
    }
    free(r);
    return st;
}
