/* Weight programming: target cell current -> threshold shift dVT, by
 * inverting the nfg cell's I-V curve. The curve comes from one DC sweep of a
 * single cell through ngspice (in a child process, since the caller may own
 * no instance or a pool of them), once per model card and operating point. */
#include "cosim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define IV_LO (-0.3)          /* sweep of dVT, V */
#define IV_HI COSIM_DVT_OFF
#define IV_STEP 2e-3
#define IV_N 651              /* (IV_HI - IV_LO) / IV_STEP + 1 */

static struct {
    char key[65];             /* sha256 of model card + op point */
    double i[IV_N];           /* cell current at dvt = IV_LO + k*IV_STEP, A */
    char version[64];
} iv_cache;

static char *iv_deck(const fg_op_point *op)
{
    const char *card = nl_model_card();
    size_t n = strlen(card) + 1024;
    char *d = malloc(n);
    if (d)
        snprintf(d, n,
                 "* fgcosim: nfg cell I-V sweep at V_DS = V_pre\n"
                 "vd d 0 DC %.9g\nvg g 0 DC %.9g\nvfg g gi DC 0\n"
                 "m1 d gi 0 0 nfg %s\n%s\n.dc vfg %.6g %.6g %.6g\n.end\n",
                 op->v_pre, op->v_read, nl_cell_instance_params(), card,
                 IV_LO, IV_HI, IV_STEP);
    return d;
}

/* Child: runs the sweep and writes IV_N currents + version to fd. */
static void iv_child(const char *deck, int fd)
{
    double *v = NULL;
    int n = 0;
    char ver[64] = {0};
    fg_status st = cosim_engine_init();
    if (st == FG_OK)
        st = cosim_engine_load(deck);
    if (st == FG_OK)
        st = cosim_engine_run_vector("vd#branch", &v, &n);
    if (st != FG_OK || n != IV_N) {
        dprintf(fd, "E%s", st != FG_OK ? fg_errmsg() : "sweep has wrong length");
        _exit(1);
    }
    snprintf(ver, sizeof ver, "%s", cosim_engine_version());
    for (int k = 0; k < n; k++)
        v[k] = fabs(v[k]);
    if (write(fd, "K", 1) != 1 || write(fd, v, sizeof(double) * IV_N) < 0 ||
        write(fd, ver, sizeof ver) < 0)
        _exit(1);
    _exit(0);
}

static fg_status iv_read_child(int fd, pid_t pid)
{
    char buf[sizeof iv_cache.i + sizeof iv_cache.version + 1];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf && (k = read(fd, buf + got, sizeof buf - got)) > 0)
        got += (size_t)k;
    close(fd);
    waitpid(pid, NULL, 0);
    if (got == sizeof buf && buf[0] == 'K') {
        memcpy(iv_cache.i, buf + 1, sizeof iv_cache.i);
        memcpy(iv_cache.version, buf + 1 + sizeof iv_cache.i, sizeof iv_cache.version);
        iv_cache.version[sizeof iv_cache.version - 1] = '\0';
        return FG_OK;
    }
    buf[got < sizeof buf ? got : sizeof buf - 1] = '\0';
    return fg_error(FG_ERR_SPICE, "I-V sweep of model nfg failed: %s",
                    got > 1 ? buf + 1 : "ngspice died");
}

static fg_status iv_curve(const fg_op_point *op)
{
    char *deck = iv_deck(op);
    if (!deck)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    char key[65];
    fg_sha256_hex(deck, strlen(deck), key);
    if (!strcmp(key, iv_cache.key)) {
        free(deck);
        return FG_OK;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        free(deck);
        return fg_error(FG_ERR_IO, "pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        iv_child(deck, fds[1]);
    }
    close(fds[1]);
    free(deck);
    if (pid < 0) {
        close(fds[0]);
        return fg_error(FG_ERR_IO, "fork: %s", strerror(errno));
    }
    fg_status st = iv_read_child(fds[0], pid);
    if (st == FG_OK)
        memcpy(iv_cache.key, key, sizeof key);
    return st;
}

const char *cosim_ngspice_version(void)
{
    return iv_cache.version[0] ? iv_cache.version : "unknown";
}

/* dVT at which the cell carries current i (A): log-linear interpolation on
 * the monotonically falling I(dVT) curve. */
static double iv_invert(double i)
{
    if (i >= iv_cache.i[0])
        return IV_LO;
    for (int k = 1; k < IV_N; k++)
        if (iv_cache.i[k] <= i) {
            double l0 = log(iv_cache.i[k - 1]), l1 = log(iv_cache.i[k]);
            double t = l0 == l1 ? 0.0 : (l0 - log(i)) / (l0 - l1);
            return IV_LO + (k - 1 + t) * IV_STEP;
        }
    return IV_HI;
}

fg_status cosim_weights_to_dvt(const fg_op_point *op, const double *w,
                               double sigma_v, uint64_t seed, double *dvt)
{
    fg_status st = iv_curve(op);
    if (st != FG_OK)
        return st;
    if (iv_cache.i[0] < op->i_unit)
        return fg_error(FG_ERR_RANGE,
                        "model nfg carries %.3g A at dVT = %g V, below I_unit %.3g A",
                        iv_cache.i[0], IV_LO, op->i_unit);
    fg_rng r;
    fg_rng_seed(&r, seed ^ 0x5eedf00dULL);
    for (int k = 0; k < FG_CELLS; k++) {
        if (!(w[k] >= 0.0 && w[k] <= 1.0))
            return fg_error(FG_ERR_RANGE, "weight (%d,%d) = %g is outside [0,1]",
                            k / FG_COLS, k % FG_COLS, w[k]);
        double err = sigma_v > 0 ? sigma_v * fg_rng_normal(&r) : 0.0;
        dvt[k] = w[k] > 0 ? iv_invert(w[k] * op->i_unit) + err : COSIM_DVT_OFF;
    }
    return FG_OK;
}

/* ---- the programming method ------------------------------------------------ */
cosim_program_method cosim_program_method_resolve(cosim_program_method m,
                                                  const cosim_pool_config *cfg)
{
    if (m != COSIM_PROGRAM_AUTO)
        return m;
    return cfg->array_netlist ? COSIM_PROGRAM_VERIFY : COSIM_PROGRAM_MODEL;
}

const char *cosim_program_method_name(cosim_program_method m)
{
    return m == COSIM_PROGRAM_MODEL ? "model" : m == COSIM_PROGRAM_VERIFY ? "verify" : "auto";
}

fg_status cosim_program(const cosim_pool_config *cfg, const cosim_program_opts *po,
                        const double *w, double *dvt, cosim_verify_report *rep)
{
    static const cosim_program_opts defaults = {.seed = 1};
    double t0 = fg_now();
    if (!po)
        po = &defaults;
    *rep = (cosim_verify_report){.worst_rel_err = NAN};
    int verify = cosim_program_method_resolve(po->method, cfg) == COSIM_PROGRAM_VERIFY;
    /* verify's first write: the inversion at the rails it will read with */
    fg_op_point op = verify ? fg_corner_op(cfg->corner, &cfg->op) : cfg->op;
    fg_status st = cosim_weights_to_dvt(&op, w, po->sigma_v, po->seed, dvt);
    if (st == FG_OK && verify)
        st = cosim_program_verify(cfg, w, &po->verify, dvt, rep);
    rep->seconds = fg_now() - t0; /* the first write included */
    return st;
}
