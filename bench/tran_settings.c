/* bench/tran_settings: what the transient's integration settings cost and
 * what they change, on one layout, in this process (one libngspice
 * instance: the work of one pool worker).
 *
 *   usage: bench_tran_settings LAYOUT [DENSE=20] [SPARSE=20] [REPS=2]
 *                              [SETTING ...]
 *
 * Patterns (seeded): DENSE with all 16 rows on at uniform random widths,
 * then SPARSE like a network's activations (each row on with probability
 * 0.5, width u^3). Weights uniform in [0,1] (seed 1), programmed by the
 * model inversion, as bench_cosim.
 *
 * A SETTING is a comma-separated list of key=value: reltol=R (the deck's
 * own nl_deck_spec.reltol), step=F (nl_deck_spec.max_step_scale), and any
 * other ngspice option (trtol=, method=gear, vntol=, abstol=, minbreak=,
 * maxord=, ...), written as one more `.options` line after the deck's own
 * (a later .options line overrides an earlier one). "default" is the deck
 * as written. The first setting is the base of the ratios (default when
 * none is given: a built-in list). Two references, each run once: the
 * 10x finer step at reltol 1e-5 (reltol=1e-5,step=0.1), and, since that
 * one is itself not converged to 0.1 mV on every layout, a 100x finer
 * step at reltol 1e-6 (reltol=1e-6,step=0.01).
 *
 * Per setting: VMM/s of each repetition (wall clock; all settings run once
 * per repetition, in turn, so that load changes show as spread), CPU ms
 * per VMM (this process, the mean over repetitions) and the speed-up over
 * the first setting in CPU time, mean time points and Newton iterations
 * per transient, and max / rms |dV_BL| against the reference, over all
 * patterns and over the dense and the sparse ones. */
#include "bench_common.h"
#include "cosim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SETTINGS 32
#define MAX_REPS 16
#define REF_SETTING "reltol=1e-5,step=0.1,wl=pulse" /* the issue's: 10x finer */
#define REF2_SETTING "reltol=1e-6,step=0.01,wl=pulse" /* 100x, reltol 1e-6 */

static const char *const default_settings[] = {
    "default", "reltol=3e-3", "reltol=1e-2", "trtol=10", "trtol=20",
    "method=gear", "step=2", "step=4", "vntol=1e-5,abstol=1e-11",
    "minbreak=1e-11", "minbreak=1e-10", "minbreak=2e-10",
    "reltol=1e-2,trtol=20,step=2", NULL};

typedef struct {
    const char *name;
    double rate[MAX_REPS]; /* VMM/s per repetition */
    double cpu_s;          /* CPU seconds, all repetitions */
    double points;         /* mean time points per run */
    double iters;          /* mean Newton iterations per run */
    int failed;
    double *v;             /* (P,16) V */
} setting;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}


/* The deck of setting `name` (malloc'd): reltol and step through the spec,
 * every other key into one extra .options line before .temp. */
static char *setting_deck(const char *name, nl_deck_spec *sp)
{
    char opts[512] = "", buf[512];
    nl_deck_spec spec = *sp;
    snprintf(buf, sizeof buf, "%s", name);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv;
         kv = strtok_r(NULL, ",", &save)) {
        if (!strcmp(kv, "default"))
            continue;
        if (!strncmp(kv, "reltol=", 7))
            spec.reltol = atof(kv + 7);
        else if (!strncmp(kv, "step=", 5))
            spec.max_step_scale = atof(kv + 5);
        else if (!strcmp(kv, "wl=pulse"))
            spec.wl_drive = NL_WL_PULSE;
        else if (!strcmp(kv, "wl=fall"))
            spec.wl_drive = NL_WL_FALL_BREAKS;
        else if (strchr(kv, '='))
            snprintf(opts + strlen(opts), sizeof opts - strlen(opts), " %s", kv);
        else {
            fprintf(stderr, "bench_tran_settings: setting '%s': '%s' is not key=value\n",
                    name, kv);
            exit(2);
        }
    }
    char *deck;
    spec.wl_drive = nl_deck_wl_drive(&spec);
    *sp = spec;
    if (nl_deck_build(&spec, &deck) != FG_OK) {
        fprintf(stderr, "bench_tran_settings: %s\n", fg_errmsg());
        exit(1);
    }
    if (!opts[0])
        return deck;
    char *at = strstr(deck, "\n.temp ");
    size_t head = (size_t)(at - deck) + 1, n = strlen(deck) + strlen(opts) + 16;
    char *out = malloc(n);
    if (!at || !out)
        exit(1);
    snprintf(out, n, "%.*s.options%s\n%s", (int)head, deck, opts, deck + head);
    free(deck);
    return out;
}

/* Runs all P patterns on setting s's deck; returns the wall seconds. */
static double setting_run(setting *s, nl_deck_spec spec, const double *x, int P)
{
    char *deck = setting_deck(s->name, &spec);
    if (cosim_engine_load(deck) != FG_OK) {
        fprintf(stderr, "bench_tran_settings: %s: %s\n", s->name, fg_errmsg());
        exit(1);
    }
    free(deck);
    long pts = 0, it0 = 0, it1 = 0;
    s->failed = 0;
    if (cosim_engine_tran_iterations(&it0) != FG_OK)
        exit(1);
    double t0 = fg_now(), c0 = cpu_now();
    for (int p = 0; p < P; p++) {
        double *v = s->v + (size_t)p * FG_COLS;
        if (cosim_engine_set_inputs(&spec.op, x + (size_t)p * FG_ROWS, spec.wl_drive) != FG_OK ||
            cosim_engine_run(v) != FG_OK) {
            s->failed++;
            for (int j = 0; j < FG_COLS; j++)
                v[j] = NAN;
        }
        pts += cosim_engine_points();
    }
    double dt = fg_now() - t0;
    s->cpu_s += cpu_now() - c0;
    if (cosim_engine_tran_iterations(&it1) != FG_OK)
        exit(1);
    s->points = (double)pts / P;
    s->iters = (double)(it1 - it0) / P;
    return dt;
}

static void patterns_make(double *x, int dense, int sparse)
{
    fg_rng r;
    fg_rng_seed(&r, 11);
    for (int p = 0; p < dense + sparse; p++)
        for (int i = 0; i < FG_ROWS; i++) {
            double u = fg_rng_uniform(&r);
            if (p >= dense) {
                double on = fg_rng_uniform(&r) < 0.5;
                u = on ? u * u * u : 0.0;
            }
            x[(size_t)p * FG_ROWS + i] = u;
        }
}

/* max and rms |a - b| over patterns [p0, p1), V */
static void diff_stats(const double *a, const double *b, int p0, int p1, double *mx,
                       double *rms)
{
    double m = 0, ss = 0;
    long n = 0;
    for (size_t k = (size_t)p0 * FG_COLS; k < (size_t)p1 * FG_COLS; k++) {
        double d = fabs(a[k] - b[k]);
        if (!(d == d))
            d = INFINITY;
        m = fmax(m, d);
        ss += d * d;
        n++;
    }
    *mx = m;
    *rms = n ? sqrt(ss / n) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_tran_settings LAYOUT [DENSE=20] [SPARSE=20] "
                        "[REPS=2] [SETTING ...]\n");
        return 2;
    }
    int dense = argc > 2 ? atoi(argv[2]) : 20, sparse = argc > 3 ? atoi(argv[3]) : 20;
    int reps = argc > 4 ? atoi(argv[4]) : 2, P = dense + sparse;
    if (dense < 0 || sparse < 0 || P < 1 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "bench_tran_settings: bad counts\n");
        return 2;
    }
    setting set[MAX_SETTINGS + 2];
    int S = 0;
    for (int a = 5; a < argc && S < MAX_SETTINGS; a++)
        set[S++] = (setting){.name = argv[a]};
    if (S == 0)
        while (default_settings[S] && S < MAX_SETTINGS) {
            set[S] = (setting){.name = default_settings[S]};
            S++;
        }
    set[S] = (setting){.name = REF_SETTING};
    set[S + 1] = (setting){.name = REF2_SETTING};

    nl_layout *lay;
    if (nl_layout_load(argv[1], &lay) != FG_OK) {
        fprintf(stderr, "bench_tran_settings: %s\n", fg_errmsg());
        return 2;
    }
    fg_op_point op = nl_layout_op_point(lay);
    double w[FG_CELLS], dvt[FG_CELLS];
    bench_random_weights(w, 1);
    double *x = malloc((size_t)P * FG_ROWS * sizeof *x);
    if (!x || cosim_weights_to_dvt(&op, w, 0.0, 1, dvt) != FG_OK || cosim_engine_init() != FG_OK) {
        fprintf(stderr, "bench_tran_settings: %s\n", fg_errmsg());
        return 1;
    }
    patterns_make(x, dense, sparse);
    nl_deck_spec spec = {.layout = lay, .op = op, .dvt = dvt, .x = x, .max_step_scale = 1.0};
    for (int s = 0; s <= S + 1; s++)
        if (!(set[s].v = malloc((size_t)P * FG_COLS * sizeof *set[s].v)))
            return 1;

    double load0 = bench_load_avg(), t_start = fg_now();
    setting_run(&set[S], spec, x, P); /* the references, once */
    setting_run(&set[S + 1], spec, x, P);
    for (int rep = 0; rep < reps; rep++)
        for (int s = 0; s < S; s++)
            set[s].rate[rep] = P / setting_run(&set[s], spec, x, P);

    printf("layout %s: %d dense + %d sparse patterns, %d repetitions, one libngspice "
           "instance; load average %.2f at start, %.2f at end (%.0f s)\n",
           argv[1], dense, sparse, reps, load0, bench_load_avg(), fg_now() - t_start);
    for (int k = S; k <= S + 1; k++)
        printf("reference %s: %.1f points, %.1f iterations per run%s\n", set[k].name,
               set[k].points, set[k].iters, set[k].failed ? " (FAILED runs)" : "");
    double rmx, rrms;
    diff_stats(set[S].v, set[S + 1].v, 0, P, &rmx, &rrms);
    printf("10x reference against the 100x one: max |dV| %.4f mV, rms %.4f mV\n\n",
           1e3 * rmx, 1e3 * rrms);
    printf("| setting | VMM/s (per repetition) | CPU ms/VMM | speed-up (CPU) | points | iterations "
           "| max / rms |dV| mV, 10x ref | max / rms |dV| mV, 100x ref "
           "| max dense / sparse, 100x | failed |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    double base_cpu = set[0].cpu_s;
    for (int s = 0; s < S; s++) {
        double mx, rms, mx2, rms2, mxd, mxs, dummy;
        diff_stats(set[s].v, set[S].v, 0, P, &mx, &rms);
        diff_stats(set[s].v, set[S + 1].v, 0, P, &mx2, &rms2);
        diff_stats(set[s].v, set[S + 1].v, 0, dense, &mxd, &dummy);
        diff_stats(set[s].v, set[S + 1].v, dense, P, &mxs, &dummy);
        char rates[256] = "";
        for (int rep = 0; rep < reps; rep++)
            snprintf(rates + strlen(rates), sizeof rates - strlen(rates), "%s%.2f",
                     rep ? " " : "", set[s].rate[rep]);
        printf("| %s | %s | %.1f | %.2f | %.1f | %.1f | %.4f / %.4f | %.4f / %.4f "
               "| %.4f / %.4f | %d |\n",
               set[s].name, rates, 1e3 * set[s].cpu_s / (reps * P), base_cpu / set[s].cpu_s,
               set[s].points, set[s].iters, 1e3 * mx, 1e3 * rms, 1e3 * mx2, 1e3 * rms2,
               1e3 * mxd, 1e3 * mxs, set[s].failed);
    }
    for (int s = 0; s <= S + 1; s++)
        free(set[s].v);
    free(x);
    nl_layout_free(lay);
    return 0;
}
