/* fgcosim netlist: a complete deck that `ngspice -b DECK.cir` runs as is. */
#include "cmds.h"
#include "app_common.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void netlist_usage(FILE *f)
{
    fprintf(f,
        "usage: fgcosim netlist [--layout NAME|FILE] [--array-netlist FILE]\n"
        "         [--weights FILE | --weights-seed S] [--sigma-vt V]\n"
        "         [--program model|verify] [--verify-tol F] [--verify-iter N]\n"
        "         [--inputs FILE] [--parasitics] [corner options] -o DECK.cir\n"
        "Writes the deck of one VMM; ngspice prints vbl0..vbl15 (volts) at\n"
        "read time. --inputs: CSV, 16 values in [0,1] per line (the first line\n"
        "is used; default all 0.5). --weights: CSV, 16 rows of 16 weights in\n"
        "[0,1] (w = I_cell / I_unit), programmed at the nominal point by:\n"
        APP_PROGRAM_HELP
        "--parasitics prints the extracted\n"
        "elements on stderr. The corner (written into the deck: .temp, the\n"
        "rails, the drifted dVT, and a header line) is set by:\n" APP_CORNER_HELP);
}

typedef struct {
    app_array_opts arr;
    const char *inputs, *out;
    int parasitics;
} netlist_opts;

static int netlist_parse(int argc, char **argv, netlist_opts *o)
{
    static const struct option lo[] = {
        APP_ARRAY_LONGOPTS,
        {"inputs", required_argument, 0, 'i'},
        {"parasitics", no_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *o = (netlist_opts){0};
    app_array_opts_init(&o->arr, "netlist");
    int c;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (app_array_opt(&o->arr, c, optarg))
            continue;
        switch (c) {
        case 'i': o->inputs = optarg; break;
        case 'p': o->parasitics = 1; break;
        case 'o': o->out = optarg; break;
        case 'h': netlist_usage(stdout); return -1;
        default: netlist_usage(stderr); return 2;
        }
    }
    if (optind < argc || !o->out) {
        fprintf(stderr, "fgcosim netlist: %s\n",
                optind < argc ? "unexpected argument" : "-o DECK.cir is required");
        return 2;
    }
    return o->arr.bad;
}

static fg_status netlist_inputs(const char *path, double *x /*(16)*/)
{
    if (!path) {
        for (int i = 0; i < FG_ROWS; i++)
            x[i] = 0.5;
        return FG_OK;
    }
    double *v;
    int rows;
    fg_status st = fg_csv_read(path, FG_ROWS, 0.0, 1.0, &v, &rows);
    if (st == FG_OK) {
        memcpy(x, v, FG_ROWS * sizeof *x);
        free(v);
    }
    return st;
}

static fg_status netlist_write(const netlist_opts *o, app_array *a)
{
    double x[FG_ROWS];
    fg_status st = netlist_inputs(o->inputs, x); /* nl_deck_build checks an external array */
    if (st == FG_OK && o->parasitics) {
        nl_parasitics p;
        if ((st = nl_extract(a->layout, &a->op, &p)) == FG_OK)
            nl_parasitics_print(&p, stderr);
    }
    nl_deck_spec spec = {.layout = a->layout, .array_netlist = o->arr.array_netlist,
                         .op = a->op, .corner = &o->arr.corner, .dvt = a->dvt, .x = x,
                         .max_step_scale = o->arr.max_step_scale, .reltol = o->arr.reltol,
                         .wl_drive = o->arr.wl_drive};
    char *deck = NULL;
    if (st == FG_OK)
        st = nl_deck_build(&spec, &deck);
    if (st == FG_OK)
        st = fg_file_write_atomic(o->out, deck, strlen(deck));
    free(deck);
    return st;
}

int cmd_netlist(int argc, char **argv)
{
    netlist_opts o;
    int rc = netlist_parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    app_array a;
    fg_status st = app_array_load(&o.arr, &a);
    if (st == FG_OK)
        st = netlist_write(&o, &a);
    app_array_free(&a);
    if (st != FG_OK) {
        fprintf(stderr, "fgcosim netlist: %s\n", fg_errmsg());
        return fg_status_exit_code(st);
    }
    return 0;
}
