/* fgcosim demo and fgcosim explore: the design-to-deployment loop on one or
 * several layouts, with a Markdown report, PNG plots and summary.json. */
#include "cmds.h"
#include "app_common.h"
#include "pipeline.h"

#include <cjson/cJSON.h>
#include "plots.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LAYOUTS 8

typedef struct {
    const char *layouts[MAX_LAYOUTS];
    int n;
    const char *dir, *data;
    int patterns, spice_images, hwa_epochs;
    int multi; /* explore (several layouts) */
    fg_corner corner;
} loop_opts;

static void loop_usage(FILE *f, const char *cmd)
{
    fprintf(f,
        "usage: fgcosim %s %s[-o DIR] [--patterns N] [--spice-images N]\n"
        "         [--hwa-epochs N] [--data mnist-lowres[:DIR]]\n"
        "         [--temp C] [--supply S] [--drift-time SECONDS]\n"
        "Simulates calibration data, fits the compact model, trains mlp-lowres\n"
        "digitally, fine-tunes a copy hardware-aware (from the digital weights),\n"
        "evaluates both on the fitted model (hwa)\n"
        "and on the SPICE array (spice); writes DIR/report.md, PNG plots and\n"
        "DIR/summary.json. Defaults: %s, 1200 patterns, 150 SPICE images,\n"
        "15 hardware-aware epochs, nominal corner (27 C, supply 1, no drift;\n"
        "a corner applies to the calibration and the SPICE evaluations).\n",
        cmd, strcmp(cmd, "demo") ? "--layout A --layout B ... " : "[--layout NAME|FILE] ",
        strcmp(cmd, "demo") ? "-o explore-out" : "layout coupled, -o demo-out");
}

static int loop_parse(int argc, char **argv, loop_opts *o, int multi)
{
    static const struct option lo[] = {
        {"layout", required_argument, 0, 'l'}, {"patterns", required_argument, 0, 'p'},
        {"spice-images", required_argument, 0, 's'}, {"data", required_argument, 0, 'd'},
        {"hwa-epochs", required_argument, 0, 'e'}, APP_CORNER_LONGOPTS,
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *o = (loop_opts){.multi = multi, .dir = multi ? "explore-out" : "demo-out", .data = "mnist-lowres",
                     .patterns = 1200, .spice_images = 150, .hwa_epochs = 15,
                     .corner = fg_corner_nominal()};
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (app_corner_opt(argv[0], &o->corner, c, optarg, &bad)) {
            if (bad)
                return 2;
            continue;
        }
        switch (c) {
        case 'l':
            if (o->n == (multi ? MAX_LAYOUTS : 1)) {
                fprintf(stderr, "fgcosim %s: too many --layout\n", argv[0]);
                return 2;
            }
            o->layouts[o->n++] = optarg;
            break;
        case 'p': if (app_parse_int(argv[0], "--patterns", optarg, 800, 100000, &o->patterns)) return 2; break;
        case 's': if (app_parse_int(argv[0], "--spice-images", optarg, 1, 10000, &o->spice_images)) return 2; break;
        case 'd': o->data = optarg; break;
        case 'e': if (app_parse_int(argv[0], "--hwa-epochs", optarg, 1, 1000, &o->hwa_epochs)) return 2; break;
        case 'o': o->dir = optarg; break;
        case 'h': loop_usage(stdout, argv[0]); return -1;
        default: loop_usage(stderr, argv[0]); return 2;
        }
    }
    if (o->n == 0 && multi) {
        fprintf(stderr, "fgcosim explore: give at least one --layout\n");
        return 2;
    }
    if (o->n == 0) /* where naive deployment loses and HWA training recovers */
        o->layouts[o->n++] = "coupled";
    if (fg_corner_check(&o->corner) != FG_OK) {
        fprintf(stderr, "fgcosim %s: %s\n", argv[0], fg_errmsg());
        return 2;
    }
    for (int k = 0; k < o->n; k++) { /* bad layouts fail now, not after an hour */
        nl_layout *l;
        fg_status st = nl_layout_load(o->layouts[k], &l);
        nl_layout_free(l);
        if (st != FG_OK) {
            fprintf(stderr, "fgcosim %s: %s\n", argv[0], fg_errmsg());
            return 2;
        }
    }
    return optind < argc ? 2 : 0;
}

/* Bar chart of the accuracies (gnuplot), one group per layout. */
static void plot_accuracy(const char *dir, const pipe_opts *po, const pipe_result *r, int n)
{
    char path[600];
    snprintf(path, sizeof path, "%s/accuracy.dat", dir);
    FILE *d = fopen(path, "w");
    if (!d)
        return;
    for (int k = 0; k < n; k++)
        fprintf(d, "\"%s\" %.2f %.2f %.2f %.2f %.2f %.2f\n", po[k].layout,
                100 * r[k].digital, 100 * r[k].ideal_on_hwa, 100 * r[k].hwa_on_hwa,
                100 * r[k].digital_first, 100 * r[k].ideal_on_spice,
                100 * r[k].hwa_on_spice);
    fclose(d);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (!g)
        return;
    fprintf(g, "set terminal png size 1000,500\nset output '%s/accuracy.png'\n"
               "set style data histogram\nset style histogram clustered\n"
               "set style fill solid 0.8\nset ylabel 'test accuracy (%%)'\n"
               "set yrange [50:100]\nset key bottom right\nset grid y\n"
               "set title 'mlp-lowres: full test set on ideal/hwa; first %d images on spice'\n"
               "plot '%s' using 2:xtic(1) title 'digital', '' using 3 title 'ideal-trained on hwa', "
               "'' using 4 title 'HWA-trained on hwa', '' using 5 title 'digital (spice images)', "
               "'' using 6 title 'ideal-trained on spice', '' using 7 title 'HWA-trained on spice'\n",
            dir, po[0].spice_images, path);
    pclose(g);
}

/* Accuracy on the SPICE chip against the energy per MAC, one point per
 * layout (accuracy_energy.dat and .png, all or nothing). */
typedef struct {
    const pipe_opts *po;
    const pipe_result *r;
    int n;
} energy_plot;

static fg_status energy_data(const plot_stage *ps, const void *ctx)
{
    const energy_plot *c = ctx;
    FILE *f;
    fg_status st = plot_stage_fopen(ps, "accuracy_energy.dat", &f);
    if (st != FG_OK)
        return st;
    fprintf(f, "# layout energy_per_mac_fJ ideal_on_spice_%% hwa_on_spice_%% hwa_on_hwa_%%\n");
    for (int k = 0; k < c->n; k++)
        fprintf(f, "\"%s\" %.6g %.3f %.3f %.3f\n", c->po[k].layout, 1e15 * c->r[k].energy_mac,
                100 * c->r[k].ideal_on_spice, 100 * c->r[k].hwa_on_spice,
                100 * c->r[k].hwa_on_hwa);
    return plot_stage_fclose(ps, "accuracy_energy.dat", f);
}

static const char *energy_script =
    "set terminal pngcairo size 900,600 noenhanced\n"
    "cd '%s'\n"
    "set output 'accuracy_energy.png'\n"
    "set title 'mlp-lowres accuracy against energy per MAC (calibration patterns)'\n"
    "set xlabel 'energy per MAC (fJ; one MAC = one cell of the 16x16 array)'\n"
    "set ylabel 'test accuracy (%%)'\nset grid\nset key bottom left\n"
    "set xrange [0:*]\nset yrange [50:101]\nset offsets 0, graph 0.15, 0, 0\n"
    "plot 'accuracy_energy.dat' u 2:4 w p pt 7 ps 1.5 t 'HWA-trained on spice',"
    " '' u 2:3 w p pt 5 ps 1.5 t 'ideal-trained on spice',"
    " '' u 2:4:1 w labels offset 0,-1.2 t ''\n";

static void plot_energy(const char *dir, const pipe_opts *po, const pipe_result *r, int n)
{
    energy_plot c = {po, r, n};
    if (plot_make(dir, energy_data, &c, energy_script) != FG_OK)
        fprintf(stderr, "fgcosim: no accuracy-energy plot: %s\n", fg_errmsg());
}

static void write_parasitics(FILE *f, const char *layout)
{
    nl_layout *l;
    if (nl_layout_load(layout, &l) != FG_OK)
        return;
    fg_op_point op = nl_layout_op_point(l);
    nl_parasitics p;
    if (nl_extract(l, &op, &p) == FG_OK) {
        fprintf(f, "\nExtracted parasitics of `%s`:\n\n```\n", layout);
        nl_parasitics_print(&p, f);
        fprintf(f, "```\n");
    }
    nl_layout_free(l);
}

/* Writes DIR/name atomically from what fn prints into a memory stream. */
static fg_status write_out(const char *dir, const char *name,
                           void (*fn)(FILE *f, const loop_opts *o, const pipe_opts *po,
                                      const pipe_result *r, int n),
                           const loop_opts *o, const pipe_opts *po, const pipe_result *r,
                           int n)
{
    char path[600], *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return fg_error(FG_ERR_NOMEM, "out of memory");
    fn(f, o, po, r, n);
    fclose(f);
    fg_status st = fg_file_write_atomic(path, buf, len);
    free(buf);
    return st;
}

static void print_report(FILE *f, const loop_opts *o, const pipe_opts *po,
                         const pipe_result *r, int n)
{
    fprintf(f, "# fgcosim: calibrate, train, deploy\n\n"
               "mlp-lowres on %s; %d calibration patterns per layout (25%% held out "
               "for the SER); accuracies on the full test set for `ideal`/`hwa`, on "
               "the first %d test images for `spice` (the SPICE \"chip\").\n\n",
            o->data, o->patterns, o->spice_images);
    pipeline_table_head(f);
    for (int k = 0; k < n; k++)
        pipeline_table_row(f, &po[k], &r[k]);
    fprintf(f, "\n![accuracy](accuracy.png)\n\n"
               "Energy per VMM: what the precharge (V_pre) and word-line (V_read) supplies "
               "deliver in one VMM of the SPICE array, the mean over the calibration "
               "patterns; per MAC: over the 256 cells of the 16x16 array; latency: "
               "precharge + T_max + read, from the deck's timing.\n\n"
               "![accuracy against energy per MAC](accuracy_energy.png)\n");
    for (int k = 0; k < n; k++) {
        const char *sub = o->multi ? strrchr(po[k].dir, '/') + 1 : ".";
        fprintf(f, "\n## Layout `%s`\n", po[k].layout);
        write_parasitics(f, po[k].layout);
        fprintf(f, "\nFitted model vs SPICE (held out): ![scatter](%s/fit_scatter.png)\n"
                   "![SER per column](%s/fit_ser_columns.png)\n"
                   "![crosstalk](%s/fit_kappa.png) ![weights](%s/fit_weights.png)\n",
                sub, sub, sub, sub);
    }
}

/* One object (demo) or an array of them (explore). */
static void print_summary(FILE *f, const loop_opts *o, const pipe_opts *po,
                          const pipe_result *r, int n)
{
    cJSON *all = o->multi ? cJSON_CreateArray() : NULL, *one = NULL;
    for (int k = 0; k < n; k++) {
        one = pipeline_json(&po[k], &r[k]);
        if (all)
            cJSON_AddItemToArray(all, one);
    }
    char *text = cJSON_Print(all ? all : one);
    fprintf(f, "%s\n", text ? text : "null");
    free(text);
    cJSON_Delete(all ? all : one);
}

static int loop_main(int argc, char **argv, int multi)
{
    loop_opts o;
    int rc = loop_parse(argc, argv, &o, multi);
    if (rc)
        return rc < 0 ? 0 : rc;
    mkdir(o.dir, 0777);
    pipe_opts po[MAX_LAYOUTS];
    pipe_result r[MAX_LAYOUTS];
    char dirs[MAX_LAYOUTS][512];
    fg_status st = FG_OK;
    for (int k = 0; k < o.n && st == FG_OK; k++) {
        const char *base = strrchr(o.layouts[k], '/');
        snprintf(dirs[k], sizeof dirs[k], "%s/%s", o.dir, base ? base + 1 : o.layouts[k]);
        po[k] = (pipe_opts){.layout = o.layouts[k], .dir = multi ? dirs[k] : o.dir,
                            .data = o.data, .patterns = o.patterns,
                            .spice_images = o.spice_images, .hwa_epochs = o.hwa_epochs,
                            .corner = o.corner};
        st = pipeline_run(&po[k], &r[k]);
    }
    if (st == FG_OK) {
        plot_accuracy(o.dir, po, r, o.n);
        plot_energy(o.dir, po, r, o.n);
        st = write_out(o.dir, "report.md", print_report, &o, po, r, o.n);
    }
    if (st == FG_OK)
        st = write_out(o.dir, "summary.json", print_summary, &o, po, r, o.n);
    if (st != FG_OK) {
        fprintf(stderr, "fgcosim %s: %s\n", argv[0], fg_errmsg());
        return fg_status_exit_code(st);
    }
    pipeline_table_head(stdout);
    for (int k = 0; k < o.n; k++)
        pipeline_table_row(stdout, &po[k], &r[k]);
    fprintf(stderr, "fgcosim %s: report in %s/report.md\n", argv[0], o.dir);
    return 0;
}

int cmd_demo(int argc, char **argv) { return loop_main(argc, argv, 0); }
int cmd_explore(int argc, char **argv) { return loop_main(argc, argv, 1); }
