/* A pool of worker processes, one ngspice instance each. A crashed or hung
 * worker is killed, replaced, and its run retried once, then reported. */
#include "cosim.h"
#include "fdio.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MSG_LOAD = 1, MSG_DVT, MSG_RUN, MSG_QUIT };

typedef struct {
    int type, id, len; /* len bytes of payload follow */
} msg_head;

typedef struct {
    int id, status;
    double v[FG_COLS];
    cosim_energy e;
    char msg[240];
} msg_reply;

typedef struct {
    pid_t pid;
    int to, from; /* pipe ends in the parent */
    int job;      /* pattern index in flight, -1 when idle */
    double t_start;
} worker;

struct cosim_pool {
    fg_op_point op;       /* what the chip applies: the corner's rails */
    fg_op_point op_nom;
    fg_corner corner;
    cosim_meter meter;    /* V_pre applied */
    char *deck;
    nl_wl_drive wl_drive; /* how the deck drives the word lines */
    double dvt[FG_CELLS];
    double timeout_s;
    int n, restarts;
    volatile const int *stop; /* cosim_pool_set_stop */
    char home[64];
    worker *w;
};

/* ---- byte transport ------------------------------------------------------ */
static int send_msg(int fd, int type, int id, const void *payload, int len)
{
    msg_head h = {type, id, len};
    if (cosim_write_all(fd, &h, sizeof h) != 0)
        return -1;
    return len > 0 ? cosim_write_all(fd, payload, (size_t)len) : 0;
}

/* ---- the worker side ----------------------------------------------------- */
/* Fault injection for tests: FGCOSIM_FAULT="crash:ID", "hang:ID" (once: a
 * marker file FGCOSIM_FAULT_MARK is created first) or "crash-always:ID". */
#ifdef FGCOSIM_TEST_HOOKS
static void fault_inject(int id)
{
    const char *f = getenv("FGCOSIM_FAULT"), *mark = getenv("FGCOSIM_FAULT_MARK");
    int target = -1, always = 0, hang = 0;
    if (!f || !((sscanf(f, "crash:%d", &target) == 1) ||
                (hang = sscanf(f, "hang:%d", &target) == 1) ||
                (always = sscanf(f, "crash-always:%d", &target) == 1)) ||
        target != id)
        return;
    if (!always) {
        if (!mark || access(mark, F_OK) == 0)
            return;
        FILE *m = fopen(mark, "w");
        if (m)
            fclose(m);
    }
    if (hang)
        for (;;)
            pause();
    abort();
}
#else
static void fault_inject(int id) { (void)id; }
#endif

static fg_status worker_handle(const cosim_pool *p, const msg_head *h,
                               char *payload, msg_reply *r)
{
    switch (h->type) {
    case MSG_LOAD: return cosim_engine_load(payload);
    case MSG_DVT: return cosim_engine_set_dvt((const double *)payload);
    case MSG_RUN: {
        fault_inject(h->id);
        fg_status st = cosim_engine_set_inputs(&p->op, (const double *)payload,
                                                 p->wl_drive);
        return st != FG_OK ? st : cosim_engine_run_energy(&p->meter, r->v, &r->e);
    }
    }
    return fg_error(FG_ERR_INTERNAL, "unknown message %d", h->type);
}

static void worker_main(const cosim_pool *p, int in, int out)
{
    setenv("HOME", p->home, 1); /* no user ~/.spiceinit changes results */
    setenv("LC_ALL", "C", 1);
    fg_status init = cosim_engine_init();
    msg_head h;
    while (cosim_read_all(in, &h, sizeof h) == 0 && h.type != MSG_QUIT) {
        char *payload = malloc((size_t)h.len + 1);
        if (!payload || (h.len > 0 && cosim_read_all(in, payload, (size_t)h.len) != 0))
            _exit(3);
        payload[h.len] = '\0';
        msg_reply r = {.id = h.id};
        fg_status st = init != FG_OK ? init : worker_handle(p, &h, payload, &r);
        free(payload);
        r.status = st;
        if (st != FG_OK)
            snprintf(r.msg, sizeof r.msg, "%s", fg_errmsg());
        if (cosim_write_all(out, &r, sizeof r) != 0 || cosim_engine_dead())
            _exit(cosim_engine_dead() ? 4 : 3);
    }
    _exit(0);
}

/* ---- the parent side ----------------------------------------------------- */
static fg_status worker_wait_reply(cosim_pool *p, worker *w, msg_reply *r)
{
    struct pollfd pfd = {.fd = w->from, .events = POLLIN};
    int ms = (int)(p->timeout_s * 1000);
    int rc;
    do
        rc = poll(&pfd, 1, ms);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return fg_error(FG_ERR_SPICE, "worker %d timed out", (int)w->pid);
    if (cosim_read_all(w->from, r, sizeof *r) != 0)
        return fg_error(FG_ERR_SPICE, "worker %d died", (int)w->pid);
    if (r->status != FG_OK)
        return fg_error((fg_status)r->status, "%s", r->msg);
    return FG_OK;
}

static void worker_stop(worker *w, int force)
{
    if (w->pid <= 0)
        return;
    if (!force)
        send_msg(w->to, MSG_QUIT, 0, NULL, 0);
    close(w->to);
    close(w->from);
    if (force)
        kill(w->pid, SIGKILL);
    waitpid(w->pid, NULL, 0);
    w->pid = 0;
    w->job = -1;
}

/* Forks a worker and programs it with the pool's deck and dvt. */
static fg_status worker_start(cosim_pool *p, worker *w)
{
    /* down: a socket, so that a write to a worker that died returns EPIPE
     * (send with MSG_NOSIGNAL) instead of raising SIGPIPE in the caller */
    int down[2], up[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, down) != 0)
        return fg_error(FG_ERR_IO, "socketpair: %s", strerror(errno));
    if (pipe(up) != 0) {
        close(down[0]), close(down[1]);
        return fg_error(FG_ERR_IO, "pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return fg_error(FG_ERR_IO, "fork: %s", strerror(errno));
    if (pid == 0) {
        for (int k = 0; k < p->n; k++)
            if (p->w[k].pid > 0 && &p->w[k] != w) {
                close(p->w[k].to);
                close(p->w[k].from);
            }
        close(down[1]);
        close(up[0]);
        worker_main(p, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    *w = (worker){.pid = pid, .to = down[1], .from = up[0], .job = -1};
    msg_reply r;
    fg_status st = FG_OK;
    if (send_msg(w->to, MSG_LOAD, 0, p->deck, (int)strlen(p->deck)) != 0 ||
        (st = worker_wait_reply(p, w, &r)) != FG_OK ||
        send_msg(w->to, MSG_DVT, 0, p->dvt, (int)sizeof p->dvt) != 0 ||
        (st = worker_wait_reply(p, w, &r)) != FG_OK) {
        if (st == FG_OK)
            st = fg_error(FG_ERR_SPICE, "worker %d died at start", (int)pid);
        worker_stop(w, 1);
    }
    return st;
}

fg_status cosim_pool_new(const cosim_pool_config *cfg, const double *dvt,
                         cosim_pool **out)
{
    cosim_pool *p = calloc(1, sizeof *p);
    if (!p)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    p->corner = cfg->corner ? *cfg->corner : fg_corner_nominal();
    fg_status st = fg_corner_check(&p->corner);
    if (st != FG_OK) {
        free(p);
        return st;
    }
    p->op = fg_corner_op(&p->corner, &cfg->op);
    p->op_nom = cfg->op;
    p->meter = (cosim_meter){.v_pre = p->op.v_pre};
    p->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 60.0;
    p->n = cfg->jobs > 0 ? cfg->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (p->n < 1)
        p->n = 1;
    fg_corner_drift(&p->corner, dvt, p->dvt);
    double x0[FG_ROWS] = {0};
    nl_deck_spec spec = {
        .layout = cfg->layout, .array_netlist = cfg->array_netlist,
        .op = cfg->op, .corner = &p->corner, .dvt = dvt, .x = x0,
        .max_step_scale = cfg->max_step_scale > 0 ? cfg->max_step_scale : 1.0,
        .reltol = cfg->reltol, .wl_drive = cfg->wl_drive,
    };
    /* resolved once: the deck is built with it, the workers alter it */
    spec.wl_drive = p->wl_drive = nl_deck_wl_drive(&spec);
    st = nl_deck_build(&spec, &p->deck);
    snprintf(p->home, sizeof p->home, "/tmp/fgcosim-home-XXXXXX");
    if (st == FG_OK && !mkdtemp(p->home))
        st = fg_error(FG_ERR_IO, "mkdtemp: %s", strerror(errno));
    p->w = calloc((size_t)p->n, sizeof *p->w);
    if (st == FG_OK && !p->w)
        st = fg_error(FG_ERR_NOMEM, "out of memory");
    for (int k = 0; k < p->n && st == FG_OK; k++)
        st = worker_start(p, &p->w[k]);
    if (st != FG_OK) {
        cosim_pool_free(p);
        return st;
    }
    *out = p;
    return FG_OK;
}

fg_status cosim_pool_set_dvt(cosim_pool *p, const double *dvt)
{
    fg_corner_drift(&p->corner, dvt, p->dvt);
    for (int k = 0; k < p->n; k++)
        if (send_msg(p->w[k].to, MSG_DVT, 0, p->dvt, (int)sizeof p->dvt) != 0)
            return fg_error(FG_ERR_SPICE, "worker %d is gone", (int)p->w[k].pid);
    for (int k = 0; k < p->n; k++) {
        msg_reply r;
        fg_status st = worker_wait_reply(p, &p->w[k], &r);
        if (st != FG_OK)
            return st;
    }
    return FG_OK;
}

int cosim_pool_jobs(const cosim_pool *p) { return p->n; }
void cosim_pool_set_stop(cosim_pool *p, volatile const int *stop) { p->stop = stop; }
int cosim_pool_restarts(const cosim_pool *p) { return p->restarts; }

long cosim_pool_rss_kb(const cosim_pool *p)
{
    long total = 0;
    for (int k = 0; k < p->n; k++) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", (int)p->w[k].pid);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "VmRSS:", 6))
                total += atol(line + 6);
        if (f)
            fclose(f);
    }
    return total;
}
const char *cosim_pool_deck(const cosim_pool *p) { return p->deck; }
fg_op_point cosim_pool_op(const cosim_pool *p) { return p->op; }
nl_vmm_timing cosim_pool_timing(const cosim_pool *p) { return nl_timing(&p->op); }
double cosim_pool_y_from_v(const cosim_pool *p, double v)
{
    return fg_corner_y_from_v(&p->corner, &p->op_nom, v);
}

void cosim_pool_free(cosim_pool *p)
{
    if (!p)
        return;
    for (int k = 0; p->w && k < p->n; k++)
        worker_stop(&p->w[k], p->w[k].job >= 0); /* a stopped run's: kill */
    if (p->home[0] && strcmp(p->home, "/tmp/fgcosim-home-XXXXXX") != 0)
        rmdir(p->home);
    free(p->w);
    free(p->deck);
    free(p);
}

/* ---- scheduling a batch of runs ----------------------------------------- */
typedef struct {
    const double *x; /* (P,16) */
    double *v;       /* (P,16) */
    cosim_energy *e; /* (P) or NULL */
    int *ok;         /* (P) */
    int *tries;      /* (P) */
    int *retry;      /* (P) stack of patterns to run again */
    int P, next, nretry, done;
} run_state;

static int next_job(run_state *s)
{
    if (s->nretry > 0)
        return s->retry[--s->nretry];
    return s->next < s->P ? s->next++ : -1;
}

static void job_failed(run_state *s, int j, const char *why)
{
    for (int c = 0; c < FG_COLS; c++)
        s->v[(size_t)j * FG_COLS + c] = NAN;
    for (int k = 0; s->e && k < COSIM_NSRC; k++)
        s->e[j].supply[k] = s->e[j].delivered[k] = NAN;
    s->ok[j] = 0;
    s->done++;
    fg_warn("pattern %d failed: %s", j, why);
}

/* Replaces a crashed or hung worker; its run is retried once. */
static fg_status worker_replace(cosim_pool *p, worker *w, run_state *s,
                                const char *why)
{
    int j = w->job;
    worker_stop(w, 1);
    p->restarts++;
    if (j >= 0) {
        if (++s->tries[j] < 2)
            s->retry[s->nretry++] = j;
        else {
            char msg[96];
            snprintf(msg, sizeof msg, "worker %s twice", why);
            job_failed(s, j, msg);
        }
    }
    return worker_start(p, w);
}

static fg_status dispatch(cosim_pool *p, worker *w, run_state *s)
{
    int j = next_job(s);
    if (j < 0)
        return FG_OK;
    w->job = j;
    w->t_start = fg_now();
    if (send_msg(w->to, MSG_RUN, j, s->x + (size_t)j * FG_ROWS,
                 FG_ROWS * (int)sizeof(double)) != 0)
        return worker_replace(p, w, s, "died");
    return FG_OK;
}

static fg_status collect(cosim_pool *p, worker *w, run_state *s)
{
    msg_reply r;
    if (cosim_read_all(w->from, &r, sizeof r) != 0 || r.id != w->job)
        return worker_replace(p, w, s, "died");
    w->job = -1;
    if (r.status == FG_OK) {
        memcpy(s->v + (size_t)r.id * FG_COLS, r.v, sizeof r.v);
        if (s->e)
            s->e[r.id] = r.e;
        s->ok[r.id] = 1;
        s->done++;
    } else
        job_failed(s, r.id, r.msg);
    return FG_OK;
}

/* Waits for replies; replaces workers past the per-run timeout. */
static fg_status wait_round(cosim_pool *p, run_state *s)
{
    struct pollfd pfd[p->n];
    double now = fg_now(), wait = p->timeout_s;
    for (int k = 0; k < p->n; k++) {
        pfd[k] = (struct pollfd){.fd = p->w[k].job >= 0 ? p->w[k].from : -1,
                                 .events = POLLIN};
        if (p->w[k].job >= 0 && p->w[k].t_start + p->timeout_s - now < wait)
            wait = p->w[k].t_start + p->timeout_s - now;
    }
    int rc = poll(pfd, (nfds_t)p->n, wait > 0 ? (int)(wait * 1000) + 1 : 0);
    if (rc < 0 && errno != EINTR)
        return fg_error(FG_ERR_IO, "poll: %s", strerror(errno));
    fg_status st = FG_OK;
    now = fg_now();
    for (int k = 0; k < p->n && st == FG_OK; k++) {
        worker *w = &p->w[k];
        if (w->job < 0)
            continue;
        if (rc > 0 && pfd[k].revents)
            st = collect(p, w, s);
        else if (now - w->t_start > p->timeout_s)
            st = worker_replace(p, w, s, "timed out");
    }
    return st;
}

fg_status cosim_pool_run(cosim_pool *p, const double *x, int P, double *v,
                         int *ok, fg_progress *progress)
{
    return cosim_pool_run_energy(p, x, P, v, ok, NULL, progress);
}

fg_status cosim_pool_run_energy(cosim_pool *p, const double *x, int P, double *v,
                                int *ok, cosim_energy *e, fg_progress *progress)
{
    run_state s = {.x = x, .v = v, .e = e, .ok = ok, .P = P};
    s.tries = calloc((size_t)P + 1, sizeof *s.tries);
    s.retry = calloc((size_t)P + 1, sizeof *s.retry);
    fg_status st = s.tries && s.retry ? FG_OK
                                      : fg_error(FG_ERR_NOMEM, "out of memory");
    while (st == FG_OK && s.done < P) {
        for (int k = 0; k < p->n && st == FG_OK; k++)
            if (p->w[k].job < 0)
                st = dispatch(p, &p->w[k], &s);
        if (st == FG_OK)
            st = wait_round(p, &s);
        if (progress)
            fg_progress_update(progress, (uint64_t)s.done);
        if (st == FG_OK && p->stop && *p->stop)
            st = fg_error(FG_ERR_INTERNAL, "interrupted");
    }
    free(s.tries);
    free(s.retry);
    return st;
}

fg_status cosim_pool_run_arrays(cosim_pool *p, const double *x, int P, const int *array,
                                const double *dvts, double *v, int *ok, cosim_energy *e,
                                fg_progress *progress)
{
    if (!array) /* every pattern on the array the workers hold */
        return cosim_pool_run_energy(p, x, P, v, ok, e, progress);
    fg_status st = FG_OK;
    for (int p0 = 0, p1; p0 < P && st == FG_OK; p0 = p1) {
        for (p1 = p0 + 1; p1 < P && array[p1] == array[p0]; p1++)
            ;
        st = cosim_pool_set_dvt(p, dvts + (size_t)array[p0] * FG_CELLS);
        if (st == FG_OK)
            st = cosim_pool_run_energy(p, x + (size_t)p0 * FG_ROWS, p1 - p0,
                                       v + (size_t)p0 * FG_COLS, ok + p0, e ? e + p0 : NULL,
                                       NULL);
        if (progress)
            fg_progress_update(progress, (uint64_t)p1);
    }
    return st;
}
