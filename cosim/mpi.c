/* The MPI split of a pattern list (the MPI build only): blocks of patterns
 * dealt round-robin to the ranks, each run on the rank's own pool, the
 * outputs sent to rank 0 in messages of doubles. */
#include "cosim.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TAG_BLOCK = 1 };
/* One pattern's record: v (16), ok, energy supply and delivered. */
enum { REC_V = 0, REC_OK = FG_COLS, REC_E = FG_COLS + 1,
       REC_N = FG_COLS + 1 + 2 * COSIM_NSRC };
/* A block message: [status, block index, n patterns], then n records, or
 * after a failure the error text in the records' place. */
enum { HEAD_N = 3, MSG_TEXT = 240 };
enum { SEND_RING = 8 }; /* blocks in flight from one rank */

static volatile int mpi_stop; /* SIGTERM / SIGINT seen (rank 0) */

static void mpi_on_signal(int sig) { mpi_stop = sig; }

static void mpi_nap(void)
{
    struct timespec t = {0, 2000000};
    nanosleep(&t, NULL);
}

/* MPI_Wait without spinning: the cores belong to the ngspice workers. */
static int mpi_wait_quiet(MPI_Request *r)
{
    int done = 0;
    while (!done) {
        if (MPI_Test(r, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (!done)
            mpi_nap();
    }
    return 0;
}

fg_status cosim_mpi_init(int *argc, char ***argv)
{
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return fg_error(FG_ERR_INTERNAL, "MPI_Init failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return FG_OK;
}

void cosim_mpi_finalize(void) { MPI_Finalize(); }
void cosim_mpi_abort(int rc) { MPI_Abort(MPI_COMM_WORLD, rc); }

int cosim_mpi_rank(void)
{
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int cosim_mpi_size(void)
{
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

fg_status cosim_mpi_agree(fg_status st, int *who)
{
    int me = cosim_mpi_rank(), n = cosim_mpi_size();
    int mine = st != FG_OK ? me : n, first = n;
    MPI_Request r;
    if (MPI_Iallreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &r) != MPI_SUCCESS ||
        mpi_wait_quiet(&r) != 0)
        return fg_error(FG_ERR_INTERNAL, "MPI_Allreduce failed");
    if (first == n)
        return FG_OK;
    int code = (int)st;
    if (MPI_Ibcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD, &r) != MPI_SUCCESS ||
        mpi_wait_quiet(&r) != 0)
        return fg_error(FG_ERR_INTERNAL, "MPI_Bcast failed");
    if (who)
        *who = first;
    return (fg_status)code;
}

fg_status cosim_mpi_bcast(void *buf, size_t n)
{
    char *b = buf;
    while (n > 0) { /* MPI counts are int */
        int k = n > (1u << 30) ? 1 << 30 : (int)n;
        MPI_Request r;
        if (MPI_Ibcast(b, k, MPI_BYTE, 0, MPI_COMM_WORLD, &r) != MPI_SUCCESS ||
            mpi_wait_quiet(&r) != 0)
            return fg_error(FG_ERR_INTERNAL, "MPI_Bcast failed");
        b += k;
        n -= (size_t)k;
    }
    return FG_OK;
}

/* ---- the block plan ------------------------------------------------------ */
typedef struct {
    int P, first, block, nblocks, size;
} mpi_plan;

static mpi_plan plan_make(const cosim_mpi_job *job, int size)
{
    mpi_plan p = {.P = job->P, .first = job->first, .block = job->block, .size = size};
    int todo = job->P - job->first;
    p.nblocks = todo > 0 ? (todo + job->block - 1) / job->block : 0;
    return p;
}

static int plan_start(const mpi_plan *p, int k) { return p->first + k * p->block; }

static int plan_count(const mpi_plan *p, int k)
{
    int s = plan_start(p, k);
    return s + p->block <= p->P ? p->block : p->P - s;
}

/* Runs block k on the pool into records rec (count x REC_N). */
static fg_status block_run(cosim_pool *pool, const cosim_mpi_job *job,
                           const mpi_plan *pl, int k, double *rec)
{
    int s = plan_start(pl, k), n = plan_count(pl, k);
    double *v = malloc((size_t)n * FG_COLS * sizeof *v);
    int *ok = calloc((size_t)n, sizeof *ok);
    cosim_energy *e = malloc((size_t)n * sizeof *e);
    fg_status st = v && ok && e ? FG_OK : fg_error(FG_ERR_NOMEM, "out of memory");
    if (st == FG_OK)
        st = cosim_pool_run_energy(pool, job->x + (size_t)s * FG_ROWS, n, v, ok, e, NULL);
    for (int i = 0; i < n && st == FG_OK; i++) {
        double *r = rec + (size_t)i * REC_N;
        memcpy(r + REC_V, v + (size_t)i * FG_COLS, FG_COLS * sizeof *r);
        r[REC_OK] = ok[i];
        memcpy(r + REC_E, e[i].supply, COSIM_NSRC * sizeof *r);
        memcpy(r + REC_E + COSIM_NSRC, e[i].delivered, COSIM_NSRC * sizeof *r);
    }
    free(v);
    free(ok);
    free(e);
    return st;
}

/* Records of block k into rank 0's outputs. */
static void block_store(const cosim_mpi_job *job, const mpi_plan *pl, int k,
                        const double *rec)
{
    int s = plan_start(pl, k), n = plan_count(pl, k);
    for (int i = 0; i < n; i++) {
        const double *r = rec + (size_t)i * REC_N;
        memcpy(job->v + (size_t)(s + i) * FG_COLS, r + REC_V, FG_COLS * sizeof *r);
        job->ok[s + i] = r[REC_OK] != 0;
        memcpy(job->e[s + i].supply, r + REC_E, COSIM_NSRC * sizeof *r);
        memcpy(job->e[s + i].delivered, r + REC_E + COSIM_NSRC, COSIM_NSRC * sizeof *r);
    }
}

/* ---- ranks other than 0 ---------------------------------------------------- */
static int fault_after(int rank)
{
    const char *f = getenv("FGCOSIM_MPI_FAULT");
    int r, n;
    if (f && sscanf(f, "die:%d:%d", &r, &n) == 2 && r == rank)
        return n;
    return -1;
}

static fg_status worker_rank_run(cosim_pool *pool, const cosim_mpi_job *job,
                                 const mpi_plan *pl, int rank)
{
    size_t len = HEAD_N + (size_t)pl->block * REC_N;
    if (len < HEAD_N + MSG_TEXT / sizeof(double) + 1)
        len = HEAD_N + MSG_TEXT / sizeof(double) + 1;
    double *ring = malloc(SEND_RING * len * sizeof *ring);
    MPI_Request req[SEND_RING];
    for (int i = 0; i < SEND_RING; i++)
        req[i] = MPI_REQUEST_NULL;
    fg_status st = ring ? FG_OK : fg_error(FG_ERR_NOMEM, "out of memory");
    int die = fault_after(rank), sent = 0;
    for (int k = rank; k < pl->nblocks && st == FG_OK; k += pl->size, sent++) {
        int slot = sent % SEND_RING;
        double *m = ring + (size_t)slot * len;
        if (mpi_wait_quiet(&req[slot]) != 0) {
            st = fg_error(FG_ERR_INTERNAL, "MPI send to rank 0 failed");
            break;
        }
        st = block_run(pool, job, pl, k, m + HEAD_N);
        m[0] = st;
        m[1] = k;
        m[2] = plan_count(pl, k);
        int count = (int)len;
        if (st != FG_OK) /* the message instead of records */
            snprintf((char *)(m + HEAD_N), MSG_TEXT, "%s", fg_errmsg());
        else
            count = HEAD_N + plan_count(pl, k) * REC_N;
        if (MPI_Isend(m, count, MPI_DOUBLE, 0, TAG_BLOCK, MPI_COMM_WORLD, &req[slot]) !=
            MPI_SUCCESS)
            st = fg_error(FG_ERR_INTERNAL, "MPI send to rank 0 failed");
        if (die >= 0 && sent + 1 == die) {
            mpi_wait_quiet(&req[slot]);
            raise(SIGKILL);
        }
    }
    for (int i = 0; i < SEND_RING; i++)
        mpi_wait_quiet(&req[i]);
    free(ring);
    return st;
}

/* ---- rank 0 ---------------------------------------------------------------- */
typedef struct {
    int next;        /* block expected next from this rank, or >= nblocks */
    MPI_Request req;
    double *buf;
    double t_last;   /* when it last delivered (or the start) */
} mpi_peer;

typedef struct {
    const cosim_mpi_job *job;
    mpi_plan pl;
    mpi_peer *peer;     /* (size); peer[0] unused */
    unsigned char *got; /* (nblocks) */
    int prefix_blocks, prefix, done;
    size_t len;
    double t_save, gap; /* last save; least seconds to the next */
} mpi_root;

static fg_status peer_post(mpi_root *r, int q)
{
    mpi_peer *pe = &r->peer[q];
    if (pe->next >= r->pl.nblocks)
        return FG_OK;
    if (MPI_Irecv(pe->buf, (int)r->len, MPI_DOUBLE, q, TAG_BLOCK, MPI_COMM_WORLD,
                  &pe->req) != MPI_SUCCESS)
        return fg_error(FG_ERR_INTERNAL, "MPI receive from rank %d failed", q);
    return FG_OK;
}

/* Lists the patterns rank q has not delivered into buf (ranges). */
static void peer_missing(const mpi_root *r, int q, char *buf, size_t n)
{
    size_t at = 0;
    int ranges = 0, count = 0;
    buf[0] = '\0';
    for (int k = q; k < r->pl.nblocks; k += r->pl.size) {
        if (r->got[k])
            continue;
        int s = plan_start(&r->pl, k), c = plan_count(&r->pl, k);
        count += c;
        if (++ranges <= 6 && at < n)
            at += (size_t)snprintf(buf + at, n - at, "%s%d-%d", ranges > 1 ? "," : "",
                                   s, s + c - 1);
    }
    if (ranges > 6 && at < n)
        at += (size_t)snprintf(buf + at, n - at, ",...");
    if (at < n)
        snprintf(buf + at, n - at, " (%d patterns)", count);
}

/* The error naming every rank (but 0) with patterns not delivered. */
static fg_status root_lost(const mpi_root *r, const char *why)
{
    char list[1024] = "", one[320];
    size_t at = 0;
    for (int q = 1; q < r->pl.size; q++) {
        if (r->peer[q].next >= r->pl.nblocks)
            continue;
        peer_missing(r, q, one, sizeof one);
        if (at < sizeof list)
            at += (size_t)snprintf(list + at, sizeof list - at, "; rank %d held patterns %s",
                                   q, one);
    }
    return fg_error(FG_ERR_INTERNAL, "%s%s; the partial file keeps patterns 0-%d, a "
                    "re-run finishes the rest", why, list, r->prefix - 1);
}

static void root_mark(mpi_root *r, int k)
{
    r->got[k] = 1;
    r->done += plan_count(&r->pl, k);
    while (r->prefix_blocks < r->pl.nblocks && r->got[r->prefix_blocks])
        r->prefix_blocks++;
    r->prefix = r->prefix_blocks < r->pl.nblocks
                    ? plan_start(&r->pl, r->prefix_blocks) : r->pl.P;
}

/* Receives whatever has arrived; a failure message from a rank ends it. */
static fg_status root_poll(mpi_root *r)
{
    for (int q = 1; q < r->pl.size; q++) {
        mpi_peer *pe = &r->peer[q];
        int flag = 0;
        while (pe->next < r->pl.nblocks) {
            if (MPI_Test(&pe->req, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
                return fg_error(FG_ERR_INTERNAL, "MPI receive from rank %d failed", q);
            if (!flag)
                break;
            pe->t_last = fg_now();
            if (pe->buf[0] != FG_OK) {
                ((char *)(pe->buf + HEAD_N))[MSG_TEXT - 1] = '\0';
                return fg_error((fg_status)pe->buf[0], "rank %d: %s", q,
                                (char *)(pe->buf + HEAD_N));
            }
            if ((int)pe->buf[1] != pe->next)
                return fg_error(FG_ERR_INTERNAL, "rank %d sent block %d, expected %d",
                                q, (int)pe->buf[1], pe->next);
            block_store(r->job, &r->pl, pe->next, pe->buf + HEAD_N);
            root_mark(r, pe->next);
            pe->next += r->pl.size;
            fg_status st = peer_post(r, q);
            if (st != FG_OK)
                return st;
        }
    }
    return FG_OK;
}

static void root_save(mpi_root *r, int force)
{
    const cosim_mpi_job *job = r->job;
    if (!job->save || r->prefix <= job->first)
        return;
    double t0 = fg_now();
    if (!force && t0 - r->t_save < r->gap)
        return;
    job->save(job->save_ud, r->prefix);
    r->t_save = fg_now();
    /* a big file: save no more often than 20 writes' time (<= 5 % of rank 0) */
    r->gap = job->save_s > 20 * (r->t_save - t0) ? job->save_s : 20 * (r->t_save - t0);
}

static int root_silent(const mpi_root *r)
{
    double now = fg_now();
    for (int q = 1; q < r->pl.size; q++)
        if (r->peer[q].next < r->pl.nblocks &&
            now - r->peer[q].t_last > r->job->silence_s)
            return q;
    return 0;
}

static fg_status root_loop(mpi_root *r, cosim_pool *pool, int *lost)
{
    const cosim_mpi_job *job = r->job;
    double *rec = malloc((size_t)job->block * REC_N * sizeof *rec);
    fg_status st = rec ? FG_OK : fg_error(FG_ERR_NOMEM, "out of memory");
    int own = 0;
    char why[96];
    for (int q = 1; q < r->pl.size && st == FG_OK; q++)
        st = peer_post(r, q);
    while (st == FG_OK && r->done < r->pl.P - r->pl.first) {
        if ((st = root_poll(r)) != FG_OK)
            break;
        root_save(r, 0);
        if (job->progress)
            fg_progress_update(job->progress, (uint64_t)(job->first + r->done));
        int q = root_silent(r);
        if (mpi_stop || q) {
            if (q)
                snprintf(why, sizeof why, "rank %d silent for %.0f s: taken as dead", q,
                         job->silence_s);
            else
                snprintf(why, sizeof why, "stopped by signal %d (a rank died? mpirun "
                         "names it)", mpi_stop);
            *lost = 1;
            break;
        }
        if (own < r->pl.nblocks) {
            st = block_run(pool, job, &r->pl, own, rec);
            if (st == FG_OK) {
                block_store(job, &r->pl, own, rec);
                root_mark(r, own);
            } else if (mpi_stop) { /* the pool stopped on the signal */
                st = FG_OK;
                continue;
            }
            own += r->pl.size;
        } else if (r->done < r->pl.P - r->pl.first)
            mpi_nap();
    }
    free(rec);
    if (*lost)
        st = root_lost(r, why);
    root_save(r, 1);
    return st;
}

static fg_status root_run(cosim_pool *pool, const cosim_mpi_job *job, const mpi_plan *pl,
                          int *prefix, int *lost)
{
    mpi_root r = {.job = job, .pl = *pl, .prefix = job->first, .t_save = fg_now(),
                  .gap = job->save_s};
    r.len = HEAD_N + (size_t)pl->block * REC_N;
    if (r.len < HEAD_N + MSG_TEXT / sizeof(double) + 1)
        r.len = HEAD_N + MSG_TEXT / sizeof(double) + 1;
    r.peer = calloc((size_t)pl->size, sizeof *r.peer);
    r.got = calloc((size_t)pl->nblocks + 1, 1);
    fg_status st = r.peer && r.got ? FG_OK : fg_error(FG_ERR_NOMEM, "out of memory");
    for (int q = 1; q < pl->size && st == FG_OK; q++) {
        r.peer[q] = (mpi_peer){.next = q, .req = MPI_REQUEST_NULL, .t_last = fg_now()};
        r.peer[q].buf = malloc(r.len * sizeof(double));
        if (!r.peer[q].buf)
            st = fg_error(FG_ERR_NOMEM, "out of memory");
    }
    struct sigaction sa = {.sa_handler = mpi_on_signal}, old_term, old_int;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    cosim_pool_set_stop(pool, &mpi_stop);
    if (st == FG_OK)
        st = root_loop(&r, pool, lost);
    cosim_pool_set_stop(pool, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    *prefix = r.prefix;
    /* after a failure receives may still be posted: the caller aborts */
    for (int q = 1; r.peer && q < pl->size && st == FG_OK; q++)
        free(r.peer[q].buf);
    free(r.peer);
    free(r.got);
    return st;
}

fg_status cosim_mpi_run(cosim_pool *pool, const cosim_mpi_job *job, int *prefix,
                        int *lost)
{
    int rank = cosim_mpi_rank();
    mpi_plan pl = plan_make(job, cosim_mpi_size());
    *lost = 0;
    *prefix = job->first;
    if (job->block < 1 || job->first < 0 || job->first > job->P)
        return fg_error(FG_ERR_RANGE, "MPI split: bad block or first pattern");
    if (rank == 0)
        return root_run(pool, job, &pl, prefix, lost);
    return worker_rank_run(pool, job, &pl, rank);
}
