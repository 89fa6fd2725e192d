/* The sweep's report.md and heat maps. */
#include "sweep.h"
#include "plots.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const sweep_grid *g;
    const double *acc; /* (total) accuracy, NAN where missing */
} sweep_table;

/* mean accuracy over the configurations with axis a at value ia and axis b
 * (b < 0: none) at value ib; NAN when none finished */
static double mean_at(const sweep_table *t, int a, int ia, int b, int ib)
{
    const sweep_grid *g = t->g;
    double s = 0;
    int n = 0;
    for (int i = 0; i < sweep_grid_size(g); i++) {
        int rest = i, k[SWEEP_MAX_AXES];
        for (int x = g->naxes - 1; x >= 0; x--)
            k[x] = rest % g->ax[x].n, rest /= g->ax[x].n;
        if (k[a] != ia || (b >= 0 && k[b] != ib) || isnan(t->acc[i]))
            continue;
        s += t->acc[i], n++;
    }
    return n ? s / n : NAN;
}

static fg_status heat_data(const plot_stage *ps, const void *ctx)
{
    const sweep_table *t = ctx;
    const sweep_grid *g = t->g;
    fg_status st = FG_OK;
    for (int a = 0; a < g->naxes && st == FG_OK; a++)
        for (int b = a + 1; b < g->naxes && st == FG_OK; b++) {
            char name[96];
            FILE *f;
            snprintf(name, sizeof name, "heat_%s_%s.dat", g->ax[a].key, g->ax[b].key);
            if ((st = plot_stage_fopen(ps, name, &f)) != FG_OK)
                break;
            for (int i = 0; i < g->ax[a].n; i++) {
                for (int j = 0; j < g->ax[b].n; j++) {
                    double m = mean_at(t, a, i, b, j);
                    fprintf(f, "%d %d %g\n", i, j, isnan(m) ? 0.0 : 100 * m);
                }
                fprintf(f, "\n");
            }
            st = plot_stage_fclose(ps, name, f);
        }
    return st;
}

/* gnuplot tics "(\"v0\" 0, \"v1\" 1, ...)" of axis a */
static size_t tics(const sweep_axis *ax, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ax->n && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s\"%g\" %d", i ? ", " : "",
                                ax->v[i], i);
    len += (size_t)snprintf(buf + len, n - len, ")");
    return len;
}

/* One gnuplot script (a printf format with one %s, the folder) for every
 * pair of axes: heat_A_B.png. */
static char *heat_script(const sweep_grid *g)
{
    size_t cap = 16384, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    len += (size_t)snprintf(s, cap, "cd '%%s'\nset terminal pngcairo size 640,520\n"
                            "set termoption noenhanced\nset palette rgbformulae 22,13,-31\n"
                            "set cbrange [0:100]\n"
                            "set cblabel 'test accuracy %%%%'\n");
    for (int a = 0; a < g->naxes; a++)
        for (int b = a + 1; b < g->naxes && len < cap - 2048; b++) {
            char tx[1024], ty[1024];
            tics(&g->ax[a], ty, sizeof ty);
            tics(&g->ax[b], tx, sizeof tx);
            len += (size_t)snprintf(s + len, cap - len,
                "set output 'heat_%s_%s.png'\nset title 'mean test accuracy over the "
                "other axes'\nset xlabel '%s'\nset ylabel '%s'\nset xtics %s\n"
                "set ytics %s\nplot 'heat_%s_%s.dat' using 2:1:3 with image notitle, "
                "'' using 2:1:(sprintf('%%%%.1f',$3)) with labels notitle\n",
                g->ax[a].key, g->ax[b].key, g->ax[b].key, g->ax[a].key, tx, ty,
                g->ax[a].key, g->ax[b].key);
        }
    return s;
}

static void report_axes(FILE *f, const sweep_table *t, int best)
{
    const sweep_grid *g = t->g;
    double bv[SWEEP_MAX_AXES];
    sweep_grid_values(g, best, bv);
    for (int a = 0; a < g->naxes; a++) {
        fprintf(f, "\n### %s\n\n| %s | mean over the other axes | the other axes at the "
                "best configuration's values |\n| --- | --- | --- |\n", g->ax[a].key,
                g->ax[a].key);
        for (int i = 0; i < g->ax[a].n; i++) {
            double v[SWEEP_MAX_AXES];
            memcpy(v, bv, sizeof v);
            v[a] = g->ax[a].v[i];
            int idx = 0; /* the best configuration with axis a moved */
            for (int x = 0; x < g->naxes; x++) {
                int k = 0;
                while (k < g->ax[x].n - 1 && g->ax[x].v[k] != v[x])
                    k++;
                idx = idx * g->ax[x].n + k;
            }
            double m = mean_at(t, a, i, -1, 0), s = t->acc[idx];
            fprintf(f, "| %g | %.2f %% | %.2f %% |\n", g->ax[a].v[i], 100 * m, 100 * s);
        }
    }
}

static fg_status write_report(const char *dir, const sweep_table *t,
                              const sweep_rows *rows, int plots)
{
    const sweep_grid *g = t->g;
    const int total = sweep_grid_size(g);
    int best = -1, finished = 0, diverged = 0;
    for (int i = 0; i < total; i++)
        if (!isnan(t->acc[i])) {
            finished++;
            if (best < 0 || t->acc[i] > t->acc[best])
                best = i;
        }
    for (int i = 0; i < rows->n; i++)
        diverged += rows->r[i].diverged;
    char *buf = NULL, desc[1024];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return fg_error(FG_ERR_NOMEM, "sweep: out of memory");
    sweep_grid_describe(g, desc, sizeof desc);
    fprintf(f, "# fgcosim sweep\n\nGrid: `%s` (%d configurations, %d finished, %d "
            "diverged). Rows: `sweep.csv`; settings: `sweep.json`.\n", desc, total,
            finished, diverged);
    if (best >= 0) {
        double v[SWEEP_MAX_AXES];
        sweep_grid_values(g, best, v);
        fprintf(f, "\nBest configuration: %.2f %% test accuracy at", 100 * t->acc[best]);
        for (int a = 0; a < g->naxes; a++)
            fprintf(f, "%s %s = %g", a ? "," : "", g->ax[a].key, v[a]);
        fprintf(f, ".\n");
        report_axes(f, t, best);
    }
    for (int a = 0; plots && a < g->naxes; a++)
        for (int b = a + 1; b < g->naxes; b++)
            fprintf(f, "\n![%s x %s](heat_%s_%s.png)\n", g->ax[a].key, g->ax[b].key,
                    g->ax[a].key, g->ax[b].key);
    fclose(f);
    char path[4096];
    snprintf(path, sizeof path, "%s/report.md", dir);
    fg_status st = fg_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}

fg_status sweep_report(const char *dir, const sweep_grid *g, const sweep_rows *rows,
                       int plots)
{
    const int total = sweep_grid_size(g);
    double *acc = malloc((size_t)total * sizeof *acc);
    if (!acc)
        return fg_error(FG_ERR_NOMEM, "sweep: out of memory");
    for (int i = 0; i < total; i++)
        acc[i] = NAN;
    for (int i = 0; i < rows->n; i++) /* the last row of a configuration */
        acc[rows->r[i].idx] = rows->r[i].acc;
    sweep_table t = {.g = g, .acc = acc};
    fg_status st = FG_OK;
    if (plots && g->naxes >= 2) {
        char *script = heat_script(g);
        st = script ? plot_make(dir, heat_data, &t, script)
                    : fg_error(FG_ERR_NOMEM, "sweep: out of memory");
        free(script);
    }
    if (st == FG_OK)
        st = write_report(dir, &t, rows, plots && g->naxes >= 2);
    free(acc);
    return st;
}
