/* The configuration sweep: grid, resumable CSV, worker processes, report. */
#include "sweep.h"
#include "app_common.h"
#include "plots.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the grid ------------------------------------------------------------ */
static fg_status axis_range(sweep_axis *ax, const char *spec)
{
    char *e1, *e2, *e3;
    double lo = strtod(spec, &e1);
    double hi = *e1 == ':' ? strtod(e1 + 1, &e2) : NAN;
    double step = *e1 == ':' && *e2 == ':' ? strtod(e2 + 1, &e3) : NAN;
    if (*e1 != ':' || *e2 != ':' || *e3 || !isfinite(lo) || !isfinite(hi) ||
        !isfinite(step) || e2 == e1 + 1 || e3 == e2 + 1)
        return fg_error(FG_ERR_PARSE, "'%s' is not LO:HI:STEP", spec);
    if (step <= 0 || hi < lo)
        return fg_error(FG_ERR_RANGE, "'%s': need STEP > 0 and HI >= LO", spec);
    double n = floor((hi - lo) / step + 1e-9) + 1;
    if (n > SWEEP_MAX_VALUES)
        return fg_error(FG_ERR_RANGE, "'%s': %g values, at most %d", spec, n,
                        SWEEP_MAX_VALUES);
    for (int i = 0; i < (int)n; i++) {
        double v = lo + i * step;
        ax->v[ax->n++] = fabs(v) < 1e-12 * step ? 0.0 : v; /* 0, not 1e-17 */
    }
    return FG_OK;
}

static fg_status axis_list(sweep_axis *ax, const char *spec)
{
    const char *s = spec;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || (*end && *end != ',') || !isfinite(v))
            return fg_error(FG_ERR_PARSE, "'%s' is not a list of numbers", spec);
        if (ax->n == SWEEP_MAX_VALUES)
            return fg_error(FG_ERR_RANGE, "'%s': at most %d values", spec, SWEEP_MAX_VALUES);
        ax->v[ax->n++] = v;
        s = *end ? end + 1 : end;
        if (*end && !*s)
            return fg_error(FG_ERR_PARSE, "'%s' ends with a comma", spec);
    }
    return FG_OK;
}

fg_status sweep_grid_add(sweep_grid *g, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return fg_error(FG_ERR_PARSE, "expected KEY=LO:HI:STEP or KEY=V1,V2,...");
    if (g->naxes == SWEEP_MAX_AXES)
        return fg_error(FG_ERR_RANGE, "at most %d axes", SWEEP_MAX_AXES);
    sweep_axis *ax = &g->ax[g->naxes];
    *ax = (sweep_axis){0};
    size_t kn = (size_t)(eq - arg);
    fg_perturb p;
    fg_perturb_init(&p);
    if (kn >= sizeof ax->key)
        return fg_error(FG_ERR_RANGE, "unknown perturbation '%.*s'", (int)kn, arg);
    memcpy(ax->key, arg, kn);
    if (isnan(fg_perturb_get(&p, ax->key)))
        return fg_error(FG_ERR_RANGE, "unknown perturbation '%s'", ax->key);
    for (int i = 0; i < g->naxes; i++)
        if (!strcmp(g->ax[i].key, ax->key))
            return fg_error(FG_ERR_RANGE, "axis '%s' given twice", ax->key);
    fg_status st = strchr(eq + 1, ':') ? axis_range(ax, eq + 1) : axis_list(ax, eq + 1);
    for (int i = 0; st == FG_OK && i < ax->n; i++)
        st = fg_perturb_set(&p, ax->key, ax->v[i]); /* range of each value */
    if (st == FG_OK)
        g->naxes++;
    return st;
}

int sweep_grid_size(const sweep_grid *g)
{
    int n = g->naxes ? 1 : 0;
    for (int a = 0; a < g->naxes; a++)
        n *= g->ax[a].n;
    return n;
}

void sweep_grid_values(const sweep_grid *g, int idx, double *vals)
{
    for (int a = g->naxes - 1; a >= 0; a--) {
        vals[a] = g->ax[a].v[idx % g->ax[a].n];
        idx /= g->ax[a].n;
    }
}

/* base with the values of configuration idx */
static fg_status config_perturb(const sweep_grid *g, const fg_perturb *base, int idx,
                                fg_perturb *p)
{
    double v[SWEEP_MAX_AXES];
    sweep_grid_values(g, idx, v);
    *p = *base;
    fg_status st = FG_OK;
    for (int a = 0; a < g->naxes && st == FG_OK; a++)
        st = fg_perturb_set(p, g->ax[a].key, v[a]);
    return st;
}

fg_status sweep_grid_check(const sweep_grid *g, const fg_perturb *base,
                           const char *backend)
{
    fg_perturb p;
    fg_status st = FG_OK;
    for (int i = 0; i < sweep_grid_size(g) && st == FG_OK; i++)
        if ((st = config_perturb(g, base, i, &p)) == FG_OK)
            st = app_perturb_check(backend, &p);
    return st;
}

void sweep_grid_describe(const sweep_grid *g, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int a = 0; a < g->naxes && len < n; a++) {
        len += (size_t)snprintf(buf + len, n - len, "%s%s=", a ? ";" : "", g->ax[a].key);
        for (int i = 0; i < g->ax[a].n && len < n; i++)
            len += (size_t)snprintf(buf + len, n - len, "%s%g", i ? "," : "", g->ax[a].v[i]);
    }
}

/* ---- the CSV --------------------------------------------------------------- */
static void csv_header(const sweep_grid *g, char *buf, size_t n)
{
    size_t len = 0;
    for (int a = 0; a < g->naxes; a++)
        len += (size_t)snprintf(buf + len, n - len, "%s,", g->ax[a].key);
    snprintf(buf + len, n - len, "test_accuracy,final_loss,diverged,seconds,error");
}

static void csv_path(const char *dir, char *path, size_t n)
{
    snprintf(path, n, "%s/sweep.csv", dir);
}

static fg_status rows_push(sweep_rows *rows, const sweep_row *r)
{
    if (rows->n == rows->cap) {
        int cap = rows->cap ? 2 * rows->cap : 64;
        sweep_row *nr = realloc(rows->r, (size_t)cap * sizeof *nr);
        if (!nr)
            return fg_error(FG_ERR_NOMEM, "sweep: out of memory");
        rows->r = nr, rows->cap = cap;
    }
    rows->r[rows->n++] = *r;
    return FG_OK;
}

void sweep_rows_free(sweep_rows *rows)
{
    free(rows->r);
    *rows = (sweep_rows){0};
}

/* Index of the configuration with values v (naxes), -1 when off the grid;
 * *bad_axis: the first axis whose value is not on it. */
static int config_index(const sweep_grid *g, const double *v, int *bad_axis)
{
    int idx = 0;
    for (int a = 0; a < g->naxes; a++) {
        int k = -1;
        for (int i = 0; i < g->ax[a].n && k < 0; i++)
            if (fabs(v[a] - g->ax[a].v[i]) <= 1e-9 * (1 + fabs(v[a])))
                k = i;
        if (k < 0) {
            *bad_axis = a;
            return -1;
        }
        idx = idx * g->ax[a].n + k;
    }
    return idx;
}

/* One data line: the axis values, accuracy, loss, diverged, seconds,
 * error (the rest of the line). */
static fg_status csv_row(const sweep_grid *g, char *line, const char *path, int ln,
                         sweep_row *r)
{
    double v[SWEEP_MAX_AXES + 4];
    char *s = line, *end;
    *r = (sweep_row){0};
    for (int k = 0; k < g->naxes + 4; k++) {
        v[k] = strtod(s, &end);
        if (end == s || *end != ',')
            return fg_error(FG_ERR_FORMAT, "%s: line %d: field %d is not a number", path,
                            ln, k + 1);
        s = end + 1;
    }
    snprintf(r->error, sizeof r->error, "%s", s);
    int bad = 0;
    if ((r->idx = config_index(g, v, &bad)) < 0)
        return fg_error(FG_ERR_FORMAT, "%s: line %d: %s = %g is not on this grid (a sweep "
                        "from another grid: use another -o DIR)", path, ln, g->ax[bad].key,
                        v[bad]);
    r->acc = v[g->naxes], r->loss = v[g->naxes + 1];
    r->diverged = v[g->naxes + 2] != 0, r->seconds = v[g->naxes + 3];
    return FG_OK;
}

static fg_status csv_parse(const sweep_grid *g, char *text, const char *path,
                           sweep_rows *rows, size_t *complete)
{
    char header[1024];
    csv_header(g, header, sizeof header);
    char *nl = strchr(text, '\n');
    if (!nl || (size_t)(nl - text) != strlen(header) || strncmp(text, header, strlen(header)))
        return fg_error(FG_ERR_FORMAT, "%s: line 1: the header is not this grid's (%s): a "
                        "sweep from another grid (use another -o DIR)", path, header);
    *complete = (size_t)(nl - text) + 1;
    int ln = 1;
    for (char *line = nl + 1; *line; ln++) {
        char *e = strchr(line, '\n');
        if (!e)
            break; /* cut short by an interruption: removed */
        *e = 0;
        sweep_row r;
        fg_status st = csv_row(g, line, path, ln + 1, &r);
        if (st != FG_OK)
            return st;
        if (!r.error[0] && (st = rows_push(rows, &r)) != FG_OK)
            return st;
        *complete = (size_t)(e - text) + 1;
        line = e + 1;
    }
    return FG_OK;
}

fg_status sweep_csv_load(const char *dir, const sweep_grid *g, sweep_rows *rows)
{
    char path[4096], header[1024];
    csv_path(dir, path, sizeof path);
    csv_header(g, header, sizeof header);
    if (access(path, F_OK) != 0) {
        strcat(header, "\n");
        return fg_file_write_atomic(path, header, strlen(header));
    }
    char *text;
    size_t len, complete = 0;
    fg_status st = fg_file_read(path, &text, &len);
    if (st != FG_OK)
        return st;
    st = csv_parse(g, text, path, rows, &complete);
    free(text);
    if (st == FG_OK && complete < len && truncate(path, (off_t)complete) != 0)
        st = fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    return st;
}

static fg_status csv_append(const char *dir, const sweep_grid *g, const sweep_row *r)
{
    char path[4096], line[1024];
    double v[SWEEP_MAX_AXES];
    csv_path(dir, path, sizeof path);
    sweep_grid_values(g, r->idx, v);
    size_t len = 0;
    for (int a = 0; a < g->naxes; a++)
        len += (size_t)snprintf(line + len, sizeof line - len, "%.10g,", v[a]);
    snprintf(line + len, sizeof line - len, "%.6f,%.6g,%d,%.2f,%s\n", r->acc, r->loss,
             r->diverged, r->seconds, r->error);
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0)
        return fg_error(FG_ERR_IO, "%s: %s", path, strerror(errno));
    ssize_t w = write(fd, line, strlen(line)); /* one write: a whole line */
    int err = w != (ssize_t)strlen(line) || close(fd) != 0;
    return err ? fg_error(FG_ERR_IO, "%s: write failed", path) : FG_OK;
}

/* ---- the workers ----------------------------------------------------------- */
/* In the child: trains and evaluates configuration idx; the row goes to fd. */
static void worker(const sweep_run_cfg *c, int idx, int fd)
{
    sweep_row r = {.idx = idx};
    double t0 = fg_now();
    nn_cli_backend_opts bo = *c->backend;
    fg_backend *be = NULL;
    nn_train_result res;
    fg_status st = config_perturb(c->g, &c->backend->perturb, idx, &bo.perturb);
    if (st == FG_OK)
        st = app_backend_new(bo.name, bo.model, bo.layout, bo.array_netlist, &bo.corner,
                             bo.reprogram, bo.jobs, &bo.perturb,
                             bo.grad == NN_CLI_GRAD_SAMPLE, &be);
    if (st == FG_OK)
        st = nn_train(c->train, be, NULL, &res);
    fg_backend_free(be);
    if (st == FG_OK) {
        r.acc = res.test_accuracy, r.loss = res.train_loss;
        r.diverged = !isfinite(res.train_loss);
    } else {
        snprintf(r.error, sizeof r.error, "%s", fg_errmsg());
        for (char *e = r.error; *e; e++)
            *e = *e == ',' || *e == '\n' ? ';' : *e; /* one CSV field */
    }
    r.seconds = fg_now() - t0;
    ssize_t w = write(fd, &r, sizeof r);
    _exit(w == (ssize_t)sizeof r ? 0 : 1);
}

typedef struct {
    pid_t pid;
    int fd, idx;
} sweep_slot;

static fg_status spawn(const sweep_run_cfg *c, int idx, sweep_slot *s)
{
    int fds[2];
    if (pipe(fds) != 0)
        return fg_error(FG_ERR_IO, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]), close(fds[1]);
        return fg_error(FG_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* an interrupted sweep stops its workers */
        close(fds[0]);
        worker(c, idx, fds[1]);
    }
    close(fds[1]);
    *s = (sweep_slot){.pid = pid, .fd = fds[0], .idx = idx};
    return FG_OK;
}

/* The row of a finished worker (an error row if it died). */
static void reap(sweep_slot *s, int status, sweep_row *r)
{
    ssize_t n = read(s->fd, r, sizeof *r);
    close(s->fd);
    if (n != (ssize_t)sizeof *r || r->idx != s->idx) {
        *r = (sweep_row){.idx = s->idx};
        snprintf(r->error, sizeof r->error, "worker died (%s %d)",
                 WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    s->pid = 0;
}

static void progress(const sweep_run_cfg *c, const sweep_row *r, int done, int todo,
                     double t0)
{
    double v[SWEEP_MAX_AXES];
    sweep_grid_values(c->g, r->idx, v);
    fprintf(stderr, "[%d/%d]", done, todo);
    for (int a = 0; a < c->g->naxes; a++)
        fprintf(stderr, " %s=%g", c->g->ax[a].key, v[a]);
    double el = fg_now() - t0;
    if (r->error[0])
        fprintf(stderr, ": failed: %s", r->error);
    else
        fprintf(stderr, ": %.2f%%%s (%.0f s)", 100 * r->acc, r->diverged ? " diverged" : "",
                r->seconds);
    fprintf(stderr, ", ETA %.0f min\n", el / done * (todo - done) / 60);
}

fg_status sweep_run(const sweep_run_cfg *c, sweep_rows *rows)
{
    const int total = sweep_grid_size(c->g);
    char *done = calloc((size_t)total, 1);
    sweep_slot *slot = calloc((size_t)c->parallel, sizeof *slot);
    if (!done || !slot) {
        free(done), free(slot);
        return fg_error(FG_ERR_NOMEM, "sweep: out of memory");
    }
    for (int i = 0; i < rows->n; i++)
        done[rows->r[i].idx] = 1;
    int todo = 0, finished = 0, running = 0, next = 0;
    for (int i = 0; i < total; i++)
        todo += !done[i];
    fprintf(stderr, "fgcosim sweep: %d configurations, %d done, %d to run, %d at a time\n",
            total, total - todo, todo, c->parallel);
    fg_status st = FG_OK;
    const double t0 = fg_now();
    while (st == FG_OK && (running > 0 || next < total)) {
        for (int k = 0; k < c->parallel && st == FG_OK; k++) {
            while (next < total && done[next])
                next++;
            if (!slot[k].pid && next < total && (st = spawn(c, next++, &slot[k])) == FG_OK)
                running++;
        }
        int status;
        pid_t pid = running ? wait(&status) : -1;
        for (int k = 0; pid > 0 && k < c->parallel; k++) {
            if (slot[k].pid != pid)
                continue;
            sweep_row r;
            reap(&slot[k], status, &r);
            running--;
            progress(c, &r, ++finished, todo, t0);
            if (st == FG_OK)
                st = csv_append(c->dir, c->g, &r);
            if (st == FG_OK && !r.error[0])
                st = rows_push(rows, &r);
        }
    }
    for (int k = 0; k < c->parallel; k++) /* after an error: stop the others */
        if (slot[k].pid) {
            kill(slot[k].pid, SIGTERM);
            waitpid(slot[k].pid, NULL, 0);
            close(slot[k].fd);
        }
    free(done);
    free(slot);
    return st;
}
